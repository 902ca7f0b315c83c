#ifndef EDGEAI_COPY_H
#define EDGEAI_COPY_H
#include <stdint.h>

/* Copies count bytes; used where a reshape cannot share its input's memory. Returns 0. */
int32_t edgeai_copy(const uint8_t* source, uint8_t* destination, int32_t count);

#endif
