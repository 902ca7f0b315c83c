/*
 * The Python that runs peer runtimes (LiteRT, onnxruntime) under qemu-aarch64
 * for instruction counting: a non-PIE launcher that starts the guest's
 * libpython and exports the two region markers at fixed addresses.
 *
 * The icount plugin needs the markers' addresses on its command line, before
 * the program runs. Functions in a shared library land wherever the loader
 * maps it; functions in a non-PIE executable sit at their link address, which
 * nm reads from this file. -rdynamic exports them, so Python code finds them
 * with ctypes.CDLL(None) and brackets the call it wants counted.
 */
#include <dlfcn.h>
#include <stdio.h>

__attribute__((noinline, used, visibility("default"))) void edgeai_mark_begin(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline, used, visibility("default"))) void edgeai_mark_end(void)
{
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
    void *python = dlopen("libpython3.11.so.1.0", RTLD_NOW | RTLD_GLOBAL);
    if (python == NULL) {
        fprintf(stderr, "peer_python: %s\n", dlerror());
        return 127;
    }
    int (*bytes_main)(int, char **) = (int (*)(int, char **))dlsym(python, "Py_BytesMain");
    if (bytes_main == NULL) {
        fprintf(stderr, "peer_python: %s\n", dlerror());
        return 127;
    }
    return bytes_main(argc, argv);
}
