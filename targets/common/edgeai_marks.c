/* Region markers. The QEMU icount plugin counts the instructions executed
 * between the entries of these two functions; they must stay real,
 * out-of-line calls (own file, noinline, a memory clobber). */
#include "edgeai_marks.h"

__attribute__((noinline, used)) void edgeai_mark_begin(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline, used)) void edgeai_mark_end(void)
{
    __asm__ volatile("" ::: "memory");
}
