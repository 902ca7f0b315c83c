/* Region markers, on every target. On QEMU Cortex-M the icount plugin
 * (targets/qemu/icount_plugin.c) counts the instructions executed from the
 * entry of edgeai_mark_begin() to the entry of edgeai_mark_end(); elsewhere
 * they are empty calls. */
#ifndef EDGEAI_MARKS_H
#define EDGEAI_MARKS_H

void edgeai_mark_begin(void);
void edgeai_mark_end(void);

#endif
