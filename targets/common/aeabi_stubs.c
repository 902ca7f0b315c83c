/* Symbols objects from LLVM (TVM's llvm target) may reference although no
 * C++ exception ever unwinds through them: their .ARM.exidx entries name
 * the personality routine. Weak, so a real one (libgcc_eh) wins. */
void __aeabi_unwind_cpp_pr0(void);

__attribute__((weak)) void __aeabi_unwind_cpp_pr0(void)
{
}
