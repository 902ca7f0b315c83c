"""Weights as bytes: <prefix>_weights_<hash>.bin holds every constant array, little-endian, one after the other,
and <prefix>_weights.c places them with the assembler's `.incbin`, one read-only section per array.

Why: as C text a float weight is an exact hex literal of ~24 characters that Python formats one by one and the
compiler parses into a tree node of its own: light_resnet50's 25 M weights (102 MB) made 608 MB of C, written in
169 s (Python peak 2.3 GiB) and compiled by gcc -O2 in 84 s of CPU at a peak of 4.4 GiB. `.incbin` copies the
bytes as they are: the same weights compile in 0.4 s at 103 MiB.

Why `.incbin` in a C file (a top-level `__asm__`) rather than an assembler source or `objcopy -I binary`: every
consumer keeps compiling the same `<prefix>_weights.c` with the C compiler (CMake projects need no ASM language,
objcopy needs no per-toolchain output format, the link map still names `_weights.c.o` for edgeai.elfsize's
model_weights group), and gcc passes its `-I` folders to the assembler (`as -I`), which searches them for the
file, so the include path every consumer already gives (the library's folder) finds the blob wherever the folder
is copied. gcc, aarch64-linux-gnu-gcc and arm-none-eabi-gcc 12 take the same text (checked); clang's integrated
assembler is meant to search its -I folders likewise (not checked: no clang on the machines this was written on).

Each array gets a section `.rodata.<symbol>`, as -fdata-sections would name it: a Cortex-M linker script's
`*(.rodata .rodata.*)` keeps it in flash, and --gc-sections can drop an array nothing uses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

# From this many bytes of weights on, a library's weights are binary. Below it they stay C text that any C compiler
# takes (IAR's or Keil's too, which lack GNU .incbin) and a person can read; 1 MiB of float weights as C text is
# ~3 MB of source, well under a second of gcc.
BINARY_WEIGHTS_MIN_BYTES = 1 << 20


def write_blob(prefix: str, arrays: list[tuple[str, np.ndarray]], out_dir: Path) -> tuple[str, list[tuple]]:
    """Write `arrays` (C symbol, data) one after the other into out_dir/<prefix>_weights_<hash>.bin; return the
    file's name and each array's (symbol, dtype, shape, offset, bytes) in it.

    The name carries a hash of the bytes because the assembler looks for an .incbin file in the folder it runs in
    before the include path: a build run from another library's folder must not pick up that library's weights.
    An empty array is stored as one zero element, as the C text emitter declares it (`name[1]`)."""
    layout, offset, digest = [], 0, hashlib.sha256()
    part = out_dir / f".{prefix}_weights.bin.part"
    with open(part, "wb") as f:
        for name, data in arrays:
            flat = data.reshape(-1) if data.size else np.zeros(1, data.dtype)
            if flat.dtype == np.bool_:
                flat = flat.astype(np.uint8)
            raw = memoryview(np.ascontiguousarray(flat.astype(flat.dtype.newbyteorder("<"), copy=False))).cast("B")
            f.write(raw)  # every target is little-endian
            digest.update(raw)
            layout.append((name, data.dtype.name, data.shape, offset, raw.nbytes))
            offset += raw.nbytes
    name = f"{prefix}_weights_{digest.hexdigest()[:12]}.bin"
    part.rename(out_dir / name)
    return name, layout


def weights_source(banner: str, prefix: str, blob: str, layout: list[tuple], alignment: int) -> str:
    """The text of <prefix>_weights.c: the symbols of `layout` (write_blob's) defined over the bytes of `blob`."""
    lines = []
    for name, dtype, shape, offset, nbytes in layout:
        lines += [f"    /* {name}: {dtype} {'x'.join(map(str, shape)) or 'scalar'} */",
                  f'    "\\t.pushsection .rodata.{name},\\"a\\",%progbits\\n"',
                  f'    "\\t.balign {alignment}\\n"',
                  f'    "\\t.globl {name}\\n"',
                  f'    "\\t.type {name}, %object\\n"',
                  f'    "\\t.size {name}, {nbytes}\\n"',
                  f'    "{name}:\\n"',
                  f'    "\\t.incbin \\"{blob}\\", {offset}, {nbytes}\\n"',
                  '    "\\t.popsection\\n"']
    total = sum(entry[-1] for entry in layout)
    guard = [
        "#if !defined(__GNUC__) || !defined(__ELF__)",
        f'#error "{prefix}_weights.c places {blob} with GNU assembler directives: it needs gcc or clang targeting ELF"',
        "#endif",
        "#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__",
        f'#error "{blob} holds little-endian values"',
        "#endif"]
    head = [banner,
            f"/* The weights are the bytes of {blob} ({total:,} bytes, little-endian), which the",
            " * assembler includes (.incbin) from the include path: compile this file with -I<this folder>, as the",
            f" * CMake package and {prefix}.mk do. Each array is a read-only section .rodata.<name> aligned to "
            f"{alignment} bytes. */",
            f'#include "{prefix}_weights.h"', "", *guard, "", "__asm__("]
    return "\n".join(head + lines + [");", ""])
