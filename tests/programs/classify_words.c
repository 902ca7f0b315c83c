/* Host helper of tests/test_mve_classes.py: prints the plugin's class (thumb_classes.c) of every 32-bit Thumb
 * instruction in a raw little-endian file, one name per line. */
#include <stdio.h>

#include "thumb_classes.h"

int main(int argc, char **argv)
{
    FILE *in = argc == 2 ? fopen(argv[1], "rb") : NULL;
    if (in == NULL) {
        fprintf(stderr, "usage: classify_words <raw instructions>\n");
        return 2;
    }
    unsigned char bytes[4];
    while (fread(bytes, 1, sizeof bytes, in) == sizeof bytes) {
        struct thumb_insn insn;
        thumb_classify(bytes, sizeof bytes, &insn);
        printf("%s\n", thumb_class_names[insn.cls]);
    }
    fclose(in);
    return 0;
}
