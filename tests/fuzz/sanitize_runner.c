/* Standalone runner for an emitted library, built with -fsanitize=address,undefined: ASan must be the first
 * library loaded, so the sanitized model runs in its own executable rather than through ctypes.
 *
 * Build with -DRUN=<prefix>_run -DINPUT_SIZE=... -DOUTPUT_SIZE=... -DARENA_SIZE=... -DARENA_ALIGN=...
 * and -DOUTPUT_USED=... (the bytes of the output blob that hold tensors; the rest is alignment padding).
 * Usage: sanitize_runner INPUTS OUTPUTS  (INPUTS: input blobs back to back; OUTPUTS: the output blobs written)
 *
 * Input, output and arena are heap blocks of their exact sizes, so any access outside them is an ASan report.
 * Each input runs twice, with the arena filled with two different patterns first: a model whose result
 * depends on arena bytes it did not write gives two different outputs, and the runner fails. */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t RUN(const void *input, void *output, void *arena);

static void *exact(size_t size, size_t align)
{
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : 1) != 0) {
        fprintf(stderr, "sanitize_runner: out of memory\n");
        exit(2);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sanitize_runner INPUTS OUTPUTS\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL) {
        perror("sanitize_runner");
        return 2;
    }
    uint8_t *input = exact(INPUT_SIZE, 16);
    uint8_t *output = exact(OUTPUT_SIZE, 16);
    uint8_t *first = exact(OUTPUT_SIZE, 16);
    uint8_t *arena = exact(ARENA_SIZE, ARENA_ALIGN);
    int count = 0;
    while (fread(input, 1, INPUT_SIZE, in) == INPUT_SIZE) {
        for (int pass = 0; pass < 2; pass++) {
            memset(arena, pass ? 0xA5 : 0x00, ARENA_SIZE);
            memset(output, pass ? 0x5A : 0xFF, OUTPUT_SIZE);
            int32_t status = RUN(input, output, arena);
            if (status != 0) {
                fprintf(stderr, "sanitize_runner: input %d: the model returned %d\n", count, (int)status);
                return 1;
            }
            if (pass == 0) {
                memcpy(first, output, OUTPUT_SIZE);
            } else if (memcmp(first, output, OUTPUT_USED) != 0) {
                fprintf(stderr, "sanitize_runner: input %d: output depends on stale arena or output bytes\n", count);
                return 1;
            }
        }
        fwrite(output, 1, OUTPUT_SIZE, out);
        count++;
    }
    fclose(in);
    fclose(out);
    free(input);
    free(output);
    free(first);
    free(arena);
    printf("%d\n", count);
    return 0;
}
