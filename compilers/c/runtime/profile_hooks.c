/* Per-layer instruction counting: with -DEDGEAI_PROFILE the emitted model.c calls these around each
 * layer; they turn every layer into one region of the QEMU icount plugin (edgeai_mark_begin/end).
 * The whole-inference region is then not reported (its begin is superseded by the first layer's). */
#include <stdint.h>

#include "edgeai_marks.h"

void edgeai_layer_begin(int32_t layer)
{
    (void)layer;
    edgeai_mark_begin();
}

void edgeai_layer_end(int32_t layer)
{
    (void)layer;
    edgeai_mark_end();
}
