"""What lowering hands to the C emitter: an ordered list of kernel calls and the kernels' C source."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class TensorArg:
    """An activation: becomes a pointer into the input blob, the output blob or the arena."""

    tensor: str


@dataclass(frozen=True, eq=False)
class ConstArg:
    """A constant array: emitted once into weights.c as const (flash on a microcontroller)."""

    name: str
    data: np.ndarray


@dataclass(frozen=True)
class ScalarArg:
    value: int | float
    ctype: str = "int32_t"


Arg = TensorArg | ConstArg | ScalarArg


@dataclass(frozen=True)
class KernelCall:
    node: str  # the IR node it computes, for comments and error messages
    op: str
    symbol: str  # C function: int32_t symbol(args...), 0 on success
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class LoweredModel:
    calls: tuple[KernelCall, ...]
    kernel_source: str  # C source defining every symbol the calls name
    prototypes: dict[str, str] = field(default_factory=dict)  # symbol -> C prototype (without ';')
    c_files: tuple = ()  # hand-written kernel sources (Paths) copied into the library with their headers
    generic: dict = field(default_factory=dict)  # node name -> why it runs on a generic, not the target's, kernel
    storage: dict = field(default_factory=dict)  # node name -> weight storage of its hand kernel (int8 / int16)
