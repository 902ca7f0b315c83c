"""TE kernels -> plain C functions -> one TVM module per model -> C source or an object file.

The calling convention (TVM 0.27):
  * a TE PrimFunc's parameters are buffer variables; MakePackedAPI would wrap them in the
    TVM-FFI packed ABI. We rebuild the PrimFunc with one pointer variable per tensor
    (`T.handle("int8")`), bind each buffer to its pointer with a DeclBuffer at the top of the body,
    end the body with `return 0`, declare an int32 return type and set calling_conv=1: MakePackedAPI
    then leaves the function alone and the C backend prints `int32_t name(int8_t* a, ...)`.
  * AnnotateEntryFunc marks the only function of a one-function module as the entry and CodeGenCHost
    then appends `__tvm_ffi_main`, which calls it with the packed arguments; our "edgeai" pipeline
    drops that attribute again.
  * TVM prints neither `const` nor `restrict` for plain pointers: we rewrite each prototype to the
    one KernelSpec declares, and fail loudly if TVM ever prints something else.

The generated C includes tvm/ffi/c_api.h, tvm/ffi/extra/c_env_api.h, tvm/runtime/base.h and
tvm/runtime/c_backend_api.h (see `include_dirs()`) for TVM_DLL and the backend prototypes, and defines
`void* __tvm_ffi__library_ctx`. Our kernels allocate nothing (the requantization is fused into the
reduction loop, the accumulator is a stack scalar), so no TVMBackendAllocWorkspace call is emitted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import tvm
from tvm import ir, te, tirx
from tvm.s_tir import pipeline as _s_tir_pipeline
from tvm.tirx import compilation_pipeline as _tir_pipeline

_C_TYPES = {"int8": "int8_t", "int32": "int32_t", "float32": "float", "uint8": "uint8_t", "int16": "int16_t",
            "int64": "int64_t", "float64": "double"}


@dataclass(frozen=True)
class KernelArg:
    """One pointer parameter: the TE tensor, its C name, and how the C prototype qualifies it."""

    tensor: te.Tensor
    name: str
    const: bool = True
    restrict: bool = False

    def c_decl(self) -> str:
        ctype = _C_TYPES[str(self.tensor.dtype)]
        return f"{'const ' if self.const else ''}{ctype}*{' restrict' if self.restrict else ''} {self.name}"


@dataclass(frozen=True)
class Kernel:
    """A lowered kernel: the PrimFunc TVM builds and the exact C prototype we promise callers."""

    name: str
    func: tirx.PrimFunc
    prototype: str  # e.g. "int32_t edgeai_k3(const int8_t* in, ..., int8_t* restrict out)"
    tvm_prototype: str  # what TVM prints for the same function, rewritten after codegen


def plain_c_kernel(name: str, args: list[KernelArg], func: tirx.PrimFunc | None = None) -> Kernel:
    """Turn a TE kernel into a PrimFunc with a plain C calling convention.

    args are in C argument order and must be exactly the PrimFunc's parameters (the TE tensors given to
    te.create_prim_func). Pass `func` when it was already scheduled.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"kernel name {name!r} is not a C identifier")
    if func is None:
        func = te.create_prim_func([a.tensor for a in args])
    if len(func.params) != len(args):
        raise ValueError(f"{name}: {len(func.params)} parameters but {len(args)} KernelArgs")
    pointers, decls = [], []
    for buf, arg in zip(func.params, args):
        ptr = tirx.Var(arg.name, ir.PointerType(ir.PrimType(str(buf.dtype))))
        pointers.append(ptr)
        decls.append(tirx.DeclBuffer(buf, data=ptr))
    body = tirx.SeqStmt([*decls, func.body, tirx.Return(tirx.IntImm("int32", 0))])
    plain = tirx.PrimFunc(pointers, body, ret_type=ir.PrimType("int32")).with_attrs(
        {"global_symbol": name, "calling_conv": 1, "tirx.noalias": True}
    )
    tvm_params = ", ".join(f"{_C_TYPES[str(a.tensor.dtype)]}* {a.name}" for a in args)
    return Kernel(
        name=name,
        func=plain,
        prototype=f"int32_t {name}({', '.join(a.c_decl() for a in args)})",
        tvm_prototype=f"TVM_DLL int32_t {name}({tvm_params})",
    )


@tvm.transform.module_pass(opt_level=0, name="edgeai.DropEntryFunc")
def _drop_entry_func(mod: tvm.IRModule, _ctx) -> tvm.IRModule:
    updates = {gv: f.without_attr("tirx.is_entry_func") for gv, f in mod.functions.items() if "tirx.is_entry_func" in f.attrs}
    if updates:
        mod = mod.shallow_copy() if hasattr(mod, "shallow_copy") else mod
        mod.update(tvm.IRModule(updates))
    return mod


def _edgeai_pipeline():
    lower, finalize_host, finalize_device = _s_tir_pipeline.default_s_tir_pipeline()
    return tvm.transform.Sequential([lower, _drop_entry_func]), finalize_host, finalize_device


_tir_pipeline.register_tir_pipeline("edgeai", _edgeai_pipeline)


def _module(kernels: list[Kernel]) -> tvm.IRModule:
    names = [k.name for k in kernels]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate kernel names in one module: {sorted(n for n in names if names.count(n) > 1)}")
    return tvm.IRModule({k.name: k.func for k in kernels})


def _build(kernels: list[Kernel], target):
    with tvm.transform.PassContext(config={"tirx.disable_assert": True}):
        return tvm.tirx.build(_module(kernels), target=target, pipeline="edgeai")


# TVM's C printer writes float32 constants with 7 significant digits (std::scientific), which is not enough to
# give back the float32 a kernel asked for (a quantization scale of 1/255 came out 2e-7 off and moved
# roundings); TVMScript prints them exactly, so each printed literal is replaced by the one constant it stands for.
_C_FLOAT = re.compile(r"(?<![\w.])(\d\.\d{6}e[+-]\d\d)f")
_SCRIPT_FLOAT = re.compile(r"T\.float32\((-?[0-9.]+(?:e[+-]?\d+)?)\)")


def _exact_float_literals(src: str, kernels: list[Kernel]) -> str:
    """Each kernel's definition, with its own constants: two kernels may hold constants 7 digits cannot tell apart."""
    starts = sorted((src.find(k.tvm_prototype + " {"), k) for k in kernels if _C_FLOAT.search(src))
    starts = [(i, k) for i, k in starts if i >= 0]
    if not starts:
        return src
    pieces = [src[:starts[0][0]]]
    for n, (i, k) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(src)
        values = sorted({abs(float(np.float32(v))) for v in _SCRIPT_FLOAT.findall(k.func.script())})
        pieces.append(_C_FLOAT.sub(lambda m: _exact(m, values), src[i:end]))
    return "".join(pieces)


def _exact(match, values: list[float]) -> str:
    printed = float(match.group(1))
    near = [v for v in values if abs(v - printed) <= 5e-7 * printed]
    if len(near) != 1 or near[0] == printed:
        return match.group(0)
    return f"{near[0]:.9e}f"


def build_c_source(kernels: list[Kernel]) -> str:
    """All kernels of one model in one module, as freestanding C99 source."""
    src = _exact_float_literals(_build(kernels, "c").inspect_source(), kernels)
    for k in kernels:
        count = src.count(k.tvm_prototype)
        if count == 0:
            raise RuntimeError(f"TVM printed an unexpected prototype for {k.name}; expected {k.tvm_prototype!r}")
        src = src.replace(k.tvm_prototype, "TVM_DLL " + k.prototype)
    if "__tvm_ffi_main" in src:
        raise RuntimeError("TVM emitted a packed entry function: the edgeai pipeline did not drop it")
    return src


def build_object(kernels: list[Kernel], llvm_target: dict, path: str | os.PathLike) -> None:
    """All kernels of one model in one module, compiled by LLVM to an object file at path.

    llvm_target is a Target JSON dict, e.g. {"kind": "llvm", "mtriple": "thumbv7em-none-eabi",
    "mcpu": "cortex-m4", "mfloat-abi": "hard"}. Callers declare the functions with Kernel.prototype.
    """
    _build(kernels, tvm.target.Target(llvm_target)).write_to_file(os.fspath(path))


def include_dirs() -> list[str]:
    """Directories with the TVM headers the generated C includes (both inside the installed wheels)."""
    import tvm_ffi

    tvm_inc = os.path.join(os.path.dirname(tvm.__file__), "include")
    ffi_inc = os.path.join(os.path.dirname(tvm_ffi.__file__), "include")
    return [tvm_inc, ffi_inc]
