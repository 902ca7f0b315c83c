/* Host helper of tests/test_mve_classes.py: schedules the 32-bit Thumb instructions of a raw little-endian file as
 * one straight-line run with the plugin's Cortex-M55 beat model (targets/qemu/mve_beats.c) and prints the run's
 * cycles one instruction after another and the cycles its overlap saves. */
#include <stdio.h>

#include "mve_beats.h"
#include "thumb_classes.h"

int main(int argc, char **argv)
{
    FILE *in = argc == 2 ? fopen(argv[1], "rb") : NULL;
    if (in == NULL) {
        fprintf(stderr, "usage: schedule_words <raw instructions>\n");
        return 2;
    }
    struct mve_run run;
    mve_run_reset(&run);
    unsigned char bytes[4];
    while (fread(bytes, 1, sizeof bytes, in) == sizeof bytes) {
        struct thumb_insn insn;
        thumb_classify(bytes, sizeof bytes, &insn);
        mve_run_add(&run, &insn);
    }
    unsigned alone = run.alone;
    unsigned long long saved = mve_run_finish(&run);
    printf("%u %llu\n", alone, saved);
    fclose(in);
    return 0;
}
