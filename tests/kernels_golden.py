"""Golden values for the kernel tests: every layer of a real TFLite model, run in LiteRT's reference
kernels, paired with the edgeai kernel that computes the same layer, built once per model into a .so."""

from __future__ import annotations

import ctypes
import functools
import math
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tflite

from edgeai import models_root

MODELS_DIR = models_root() / "mlperf_tiny"
REPO = Path(__file__).resolve().parents[1]
C_KERNELS = REPO / "compilers" / "c" / "kernels"
CFLAGS = ["-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-std=c99"]

_OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
FLT_MAX = 3.0e38


@dataclass
class Layer:
    """One operator of the model with LiteRT's real tensors."""

    index: int
    op: str
    options: object  # the tflite *Options table, or None
    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    quant: list[tuple[np.ndarray, np.ndarray]]  # (scales, zero points) of inputs then outputs
    kernel: object = None  # compilers.tvm.build.Kernel, or the name of a hand-written C function
    args: list = field(default_factory=list)  # numpy arrays and ctypes scalars in C argument order
    skipped: str = ""  # why a computing layer has no kernel


def run_reference(model_name: str, seed: int = 0) -> list[Layer]:
    """Run the model in LiteRT BUILTIN_REF on a random input; return every operator with its tensors."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = MODELS_DIR / model_name
    interp = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interp.allocate_tensors()
    rng = np.random.default_rng(seed)
    for d in interp.get_input_details():
        if d["dtype"] == np.int8:
            x = rng.integers(-128, 128, size=d["shape"], dtype=np.int8)
        else:
            x = rng.standard_normal(d["shape"]).astype(d["dtype"])
        interp.set_tensor(d["index"], x)
    interp.invoke()
    details = {d["index"]: d for d in interp.get_tensor_details()}

    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    layers = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = _OP_NAMES[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(t) for t in op.OutputsAsNumpy()]
        tensors = [interp.get_tensor(t) if t >= 0 else None for t in ins + outs]
        quant = [
            (details[t]["quantization_parameters"]["scales"], details[t]["quantization_parameters"]["zero_points"])
            if t >= 0 else None
            for t in ins + outs
        ]
        layers.append(Layer(i, name, _options(op, name), tensors[: len(ins)], tensors[len(ins):], quant))
    return layers


def _options(op, name: str):
    cls = {
        "CONV_2D": tflite.Conv2DOptions,
        "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
        "FULLY_CONNECTED": tflite.FullyConnectedOptions,
        "ADD": tflite.AddOptions,
        "AVERAGE_POOL_2D": tflite.Pool2DOptions,
        "SOFTMAX": tflite.SoftmaxOptions,
    }.get(name)
    table = op.BuiltinOptions()
    if cls is None or table is None:
        return None
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _same_padding(size, kernel, stride, dilation):
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _padding(opts, in_hw, k_hw, stride, dilation):
    if opts.Padding() == tflite.Padding.VALID:
        return (0, 0, 0, 0)
    top, bottom = _same_padding(in_hw[0], k_hw[0], stride[0], dilation[0])
    left, right = _same_padding(in_hw[1], k_hw[1], stride[1], dilation[1])
    return (top, left, bottom, right)


def _activation_range(fused: int, quant) -> tuple[float, float]:
    A = tflite.ActivationFunctionType
    if quant is None:
        lo, hi = {A.NONE: (-FLT_MAX, FLT_MAX), A.RELU: (0.0, FLT_MAX), A.RELU6: (0.0, 6.0)}[fused]
        return lo, hi
    scale, zp = float(quant[0][0]), int(quant[1][0])

    def q(v):  # zero_point + TfLiteRound(f / scale), in float
        return zp + int(math.copysign(math.floor(abs(float(np.float32(v) / np.float32(scale))) + 0.5), v))

    if fused == A.NONE:
        return -128, 127
    if fused == A.RELU:
        return max(-128, q(0.0)), 127
    if fused == A.RELU6:
        return max(-128, q(0.0)), min(127, q(6.0))
    raise NotImplementedError(f"fused activation {fused}")


def lower_layer(layer: Layer, prefix: str) -> None:
    """Choose and configure the edgeai kernel for one layer; fills layer.kernel and layer.args."""
    from compilers.tvm import requant
    from compilers.tvm.kernels import add, avg_pool2d, conv2d, depthwise_conv2d, fully_connected

    name = f"{prefix}_{layer.index}"
    x, out = layer.inputs[0], layer.outputs[0]
    is_int8 = x.dtype == np.int8
    qin, qout = (layer.quant[0], layer.quant[len(layer.inputs)]) if is_int8 else (None, None)
    o = layer.options
    if not is_int8 and any(t is not None and t.dtype == np.int8 for t in layer.inputs[1:]):
        layer.skipped = "hybrid layer (float activations, int8 weights): not lowered yet"
        return
    zp_in = int(qin[1][0]) if is_int8 else 0
    zp_out = int(qout[1][0]) if is_int8 else 0

    if layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w, b = layer.inputs[1], layer.inputs[2]
        stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
        pad = _padding(o, x.shape[1:3], w.shape[1:3], stride, dilation)
        lo, hi = _activation_range(o.FusedActivationFunction(), qout)
        depthwise = layer.op == "DEPTHWISE_CONV_2D"
        mod, P = (depthwise_conv2d, depthwise_conv2d.DepthwiseConv2DParams) if depthwise else (conv2d, conv2d.Conv2DParams)
        p = P(tuple(x.shape), tuple(w.shape), stride, dilation, pad, zp_in, zp_out, lo, hi)
        if is_int8:
            mult, shift = requant.per_channel_multipliers(qin[0][0], layer.quant[1][0], qout[0][0])
            n = w.shape[3] if depthwise else w.shape[0]
            mult, shift = np.broadcast_to(mult, (n,)).copy(), np.broadcast_to(shift, (n,)).copy()
            kernel = (mod.depthwise_conv2d_int8 if depthwise else mod.conv2d_int8)(name, p)
            layer.args = [x, w, b, mult, shift, np.empty_like(out)]
        else:
            kernel = (mod.depthwise_conv2d_float32 if depthwise else mod.conv2d_float32)(name, p)
            layer.args = [x, w, b, np.empty_like(out)]
    elif layer.op == "FULLY_CONNECTED":
        w = layer.inputs[1]
        b = layer.inputs[2] if len(layer.inputs) > 2 and layer.inputs[2] is not None else None
        outf, inf = w.shape
        lo, hi = _activation_range(o.FusedActivationFunction(), qout)
        p = fully_connected.FullyConnectedParams(x.size // inf, inf, outf, zp_in, zp_out, lo, hi)
        if b is None:
            b = np.zeros(outf, np.int32 if is_int8 else np.float32)
        if is_int8:
            wscales = layer.quant[1][0]
            if len(wscales) == 1:
                m, s = requant.per_tensor_fc_multiplier(qin[0][0], wscales[0], qout[0][0])
                mult, shift = np.full(outf, m, np.int32), np.full(outf, s, np.int32)
            else:
                mult, shift = requant.per_channel_multipliers(qin[0][0], wscales, qout[0][0])
                mult, shift = np.broadcast_to(mult, (outf,)).copy(), np.broadcast_to(shift, (outf,)).copy()
            kernel = fully_connected.fully_connected_int8(name, p)
            layer.args = [x, w, b, mult, shift, np.empty_like(out)]
        else:
            kernel = fully_connected.fully_connected_float32(name, p)
            layer.args = [x, w, b, np.empty_like(out)]
    elif layer.op == "ADD":
        a, b2 = layer.inputs
        assert a.shape == b2.shape, "broadcasting add is not lowered yet"
        lo, hi = _activation_range(o.FusedActivationFunction(), qout)
        if is_int8:
            q2 = layer.quant[1]
            qp = requant.add_quant_params(qin[0][0], q2[0][0], qout[0][0])
            p = add.AddParams(tuple(a.shape), zp_in, int(q2[1][0]), zp_out, qp, lo, hi)
            kernel = add.add_int8(name, p)
        else:
            kernel = add.add_float32(name, add.AddParams(tuple(a.shape), act_min=lo, act_max=hi))
        layer.args = [a, b2, np.empty_like(out)]
    elif layer.op == "AVERAGE_POOL_2D":
        k, stride = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
        pad = _padding(o, x.shape[1:3], k, stride, (1, 1))
        lo, hi = _activation_range(o.FusedActivationFunction(), qout)
        p = avg_pool2d.AvgPool2DParams(tuple(x.shape), k, stride, pad, lo, hi)
        kernel = (avg_pool2d.avg_pool2d_int8 if is_int8 else avg_pool2d.avg_pool2d_float32)(name, p)
        layer.args = [x, np.empty_like(out)]
    elif layer.op == "SOFTMAX":
        depth = x.shape[-1]
        outer = ctypes.c_int32(x.size // depth)
        if is_int8:
            sp = requant.softmax_quant_params(qin[0][0], o.Beta(), name)
            kernel = "edgeai_softmax_int8"
            layer.args = [x, np.empty_like(out), outer, ctypes.c_int32(depth), ctypes.c_int32(sp.input_multiplier),
                          ctypes.c_int32(sp.input_left_shift), ctypes.c_int32(sp.diff_min)]
        else:
            kernel = "edgeai_softmax_float"
            layer.args = [x, np.empty_like(out), outer, ctypes.c_int32(depth), ctypes.c_float(o.Beta())]
    else:
        return  # RESHAPE and friends: no kernel
    layer.kernel = kernel


def compile_so(c_files: list[Path], so: Path, extra: list[str] = ()) -> None:
    from compilers.tvm.build import include_dirs

    cmd = ["gcc", *CFLAGS, *extra, *(f"-I{d}" for d in include_dirs()), f"-I{C_KERNELS / 'portable'}", *map(str, c_files),
           "-o", str(so), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@dataclass
class BuiltModel:
    layers: list[Layer]
    lib: ctypes.CDLL
    source: str
    build_seconds: float


@functools.lru_cache(maxsize=None)
def build_model(model_name: str) -> BuiltModel:
    """LiteRT reference run + every layer lowered into ONE TVM module, compiled to one .so (cached)."""
    import time

    from compilers.tvm.build import build_c_source

    t0 = time.perf_counter()
    layers = run_reference(model_name)
    prefix = "m_" + "".join(ch if ch.isalnum() else "_" for ch in Path(model_name).stem)
    for layer in layers:
        lower_layer(layer, prefix)
    tvm_kernels = [lyr.kernel for lyr in layers if lyr.kernel is not None and not isinstance(lyr.kernel, str)]
    source = build_c_source(tvm_kernels)
    tmp = Path(tempfile.mkdtemp(prefix="edgeai_kernels_"))
    (tmp / "kernels.c").write_text(source)
    so = tmp / "kernels.so"
    compile_so([tmp / "kernels.c", C_KERNELS / "portable" / "softmax_int8.c", C_KERNELS / "portable" / "softmax_float.c"], so)
    return BuiltModel(layers, ctypes.CDLL(str(so)), source, time.perf_counter() - t0)


def run_layer(built: BuiltModel, layer: Layer) -> np.ndarray:
    """Call the layer's kernel in the .so on LiteRT's real inputs; return the output array."""
    symbol = layer.kernel if isinstance(layer.kernel, str) else layer.kernel.name
    fn = getattr(built.lib, symbol)
    fn.restype = ctypes.c_int32
    c_args = []
    keep = []
    for a in layer.args:
        if isinstance(a, np.ndarray):
            a = np.ascontiguousarray(a)
            keep.append(a)
            c_args.append(ctypes.c_void_p(a.ctypes.data))
        else:
            c_args.append(a)
    output = next(a for a in reversed(keep) if a is not None) if not isinstance(layer.kernel, str) else keep[1]
    status = fn(*c_args)
    assert status == 0, f"{symbol} returned {status}"
    return output.reshape(layer.outputs[0].shape)
