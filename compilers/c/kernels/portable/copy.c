#include "copy.h"

#include <string.h>

int32_t edgeai_copy(const uint8_t* source, uint8_t* destination, int32_t count)
{
    if (count > 0 && source != destination) {
        memmove(destination, source, (size_t)count);
    }
    return 0;
}
