"""The one table that picks hand-written kernels: instruction set → op → the function that lowers a layer to that
instruction set's kernel.

A target names its instruction sets in target.json "isa", preferred first (cortex-m55 would list "mve" before
"dsp"). A layer goes to the first kernel that takes it; a kernel that cannot take a layer returns None after
saying why (ctx.decline), and the layer falls through to the next instruction set, then to the TVM kernel.
Adding an instruction set is a folder compilers/c/kernels/<isa>/ with its C, a module with its call makers, and a
row here: no rule changes. A row's entry may be a tuple of call makers, tried in order: a specialised kernel for
some shapes first (it returns None, without a decline, for the shapes it does not specialise), then the general one.

The call makers of one op share a signature, the one its rule calls with:
  conv2d, depthwise_conv2d: (ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
                             rounding) with w as the graph stores it (conv [O, KH, KW, C], depthwise [1, KH, KW, C])
  fully_connected: (ctx, node, rows, k, n, w [n, k], bias, in_zp, out_zp, lo, hi, mult, shift, rounding)
  add (two same-shape activations): (ctx, node, size, zp1, zp2, zo, lo, hi, quant, exact)
  avg_pool2d (int8): (ctx, node, x_shape, out_shape, kernel (kh, kw), strides, padding (top, left, bottom, right),
                      lo, hi, rescale) with rescale None for TFLite's (same quantization in and out) or ONNX
                      numerics' (zp_in, zp_out, multiplier, total) as AvgPool2DParams.rescale
  conv2d_f32, depthwise_conv2d_f32 (float32): (ctx, node, x_shape, w, bias, lo, hi, out_shape, attrs) with w as
                             the graph stores it, bias float32 or None, lo/hi the activation's clamp (±inf for none)
  fully_connected_f32 (float32): (ctx, node, rows, k, n, w [n, k], bias, lo, hi)
"""

from __future__ import annotations

from typing import Callable, Iterator

from compilers.lowering import (cortex_m, dsp_pointwise, dsp_pool, dsp_stem, mve_add, mve_conv, mve_dwconv,
                                mve_float, mve_pool, neon_conv, x86_conv, x86_float)
from edgeai.errors import TargetError

KERNELS: dict[str, dict[str, Callable | tuple[Callable, ...]]] = {
    # Armv7E-M DSP extension (SMLAD, SXTB16): Cortex-M4/M7/M33/M55 — compilers/c/kernels/dsp
    "dsp": {
        # the specialised kernels first: 1x1 with C = 8 / 16 (pointwise_s8.c), few input channels (conv_stem_s8.c)
        "conv2d": (dsp_pointwise.conv_call, dsp_stem.conv_call, cortex_m.conv_call),
        "depthwise_conv2d": cortex_m.dwconv_call,
        "fully_connected": cortex_m.fc_call,
        "add": cortex_m.add_call,
        "avg_pool2d": dsp_pool.avgpool_call,
    },
    # Armv8.2-A dot product (SDOT): Cortex-A76 (rpi5) — compilers/c/kernels/neon/conv_s8_dot.c; the layers it has
    # no kernel for fall through to "neon", listed after it
    "dotprod": {
        "conv2d": neon_conv.conv_call_dot,
        "fully_connected": neon_conv.fc_call_dot,
    },
    # Armv8-A Advanced SIMD: Cortex-A72 (rpi4) and later — compilers/c/kernels/neon
    "neon": {
        "conv2d": neon_conv.conv_call_neon,
        "depthwise_conv2d": neon_conv.dwconv_call,
        "fully_connected": neon_conv.fc_call_neon,
        "add": neon_conv.add_call,
    },
    # M-profile Vector Extension (Helium: VMLADAVA, VQRDMULH; MVE-F: VFMA): Cortex-M55/M85 — compilers/c/kernels/mve
    "mve": {
        "conv2d": mve_conv.conv_call,
        "fully_connected": mve_conv.fc_call,
        "depthwise_conv2d": mve_dwconv.dwconv_call,
        "add": mve_add.add_call,
        "avg_pool2d": mve_pool.avgpool_call,
        "conv2d_f32": mve_float.conv_f32_call,
        "depthwise_conv2d_f32": mve_float.dwconv_f32_call,
        "fully_connected_f32": mve_float.fc_f32_call,
    },
    # x86-64: AVX-VNNI / AVX512-VNNI / AVX2 / portable C, picked at run time by each kernel —
    # compilers/c/kernels/x86; the host target lists it when edgeai runs on x86-64 (edgeai/targets.py: "native")
    "x86": {
        "conv2d": x86_conv.conv_call,
        "depthwise_conv2d": x86_conv.dwconv_call,
        "fully_connected": x86_conv.fc_call,
        "add": x86_conv.add_call,
        "conv2d_f32": x86_float.conv_f32_call,
        "depthwise_conv2d_f32": x86_float.dwconv_f32_call,
        "fully_connected_f32": x86_float.fc_f32_call,
    },
}


def kernels_for(target, op: str) -> Iterator[Callable]:
    """The call makers for `op` on `target`, in the target's order of preference (none for a generic build)."""
    for isa in getattr(target, "isa", ()) if target is not None else ():
        if isa not in KERNELS:
            raise TargetError(f"target {target.name}: instruction set {isa!r} has no kernels "
                              f"(known: {', '.join(sorted(KERNELS))})")
        makers = KERNELS[isa].get(op)
        if makers is None:
            continue
        yield from makers if isinstance(makers, tuple) else (makers,)


def first_taker(target, op: str, ctx, node, *args) -> object | None:
    """The first kernel call a maker returns for this layer, or None: every maker declined, and the reasons are
    on record (ctx.decline; the last one is what the compile report shows)."""
    for maker in kernels_for(target, op):
        call = maker(ctx, node, *args)
        if call is not None:
            ctx.generic.pop(node.name, None)  # an earlier instruction set declined, a later one took the layer
            return call
    return None
