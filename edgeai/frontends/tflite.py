"""TFLite flatbuffer → Graph. Tensors keep their TFLite names; layout is already NHWC."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from edgeai.errors import ModelError, UnsupportedOpError
from edgeai.frontends import tflite_control
from edgeai.frontends.refusals import Refusal, refusal_error
from edgeai.ir import Graph, Node, Quantization, Tensor, verify

_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
_FLOAT16 = 1  # schema.fbs TensorType
_ACTIVATIONS = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}


def load_tflite(path: str | Path) -> Graph:
    import tflite  # only the frontend knows the file format

    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror})") from None
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError(f"{path}: not a TFLite file (bytes 4-7 are {buf[4:8]!r}, expected b'TFL3')")
    try:
        model = tflite.Model.GetRootAsModel(buf, 0)
        graph = _Reader(tflite, model, buf, path).graph()
    except (ModelError, UnsupportedOpError):
        raise
    except struct.error:  # an offset or a vector length points past the end of the buffer
        raise ModelError(f"{path}: corrupted or truncated TFLite file: an offset points outside its {len(buf):,} "
                         f"bytes") from None
    except Exception as e:  # a truncated or corrupted flatbuffer fails anywhere inside the accessors
        raise ModelError(f"{path}: corrupted or truncated TFLite file ({type(e).__name__}: {e})") from None
    _verify_flatbuffer(buf, path)  # after the reader, whose errors say more where it finds something wrong
    return graph


def _verify_flatbuffer(buf: bytes, path: Path) -> None:
    """LiteRT's flatbuffer verifier: offsets, vector lengths and union tags inside the buffer, strings terminated.
    The tflite package's accessors check none of it, so a file LiteRT refuses could otherwise be read as some
    other model. The verifier runs when an interpreter is built from bytes; only its verdict is used here (an
    operator LiteRT lacks is the importer's to report)."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:  # tflite-runtime is the accepted fallback where it is installed
        from tflite_runtime.interpreter import Interpreter, OpResolverType
    try:
        Interpreter(model_content=buf, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    except ValueError as e:
        if "not a valid flatbuffer" in str(e).lower():
            raise ModelError(f"{path}: corrupted or truncated TFLite file: LiteRT's flatbuffer verifier rejects it "
                             f"(an offset, length or table inside its {len(buf):,} bytes is out of bounds)") from None


class _Reader:
    def __init__(self, tflite, model, buf: bytes, path: Path):
        self.tfl, self.model, self.buf, self.path = tflite, model, buf, path
        if model.SubgraphsLength() < 1:
            raise ModelError(f"{path}: the model has no subgraph")
        self.sg, self.sg_index = model.Subgraphs(0), 0
        self.tensors: dict[int, Tensor] = {}  # the current subgraph's (one loop iteration's), by index
        self.made: dict[str, Tensor] = {}  # every tensor of the graph, by name
        self.shared: dict[tuple[int, int], Tensor] = {}  # constants of called subgraphs, one copy for all calls
        self.scope = ""  # appended to the names of a called subgraph's activations: one set per loop iteration
        self.calling: set[int] = set()  # the subgraphs being imported, innermost call included
        self.float16: set[str] = set()  # float16 constants, read as float32
        self.variables: set[str] = set()  # variable tensors (an LSTM's state): LiteRT allocates them as zeros

    def graph(self) -> Graph:
        nodes, unsupported = [], []
        live = self._live_operators()
        for i in range(self.sg.OperatorsLength()):
            if i not in live or self._fold_float16_dequantize(i):
                continue
            try:
                nodes.extend(self._nodes(i))
            except _Refused as e:
                unsupported.append(e.refusal)
        if unsupported:  # all of them at once, grouped: the user fixes the model once, not op by op
            raise refusal_error(self.path, unsupported)
        inputs = [self.tensor(i).name for i in self.sg.InputsAsNumpy()]
        outputs = [self.tensor(i).name for i in self.sg.OutputsAsNumpy()]
        read = {n for node in nodes for n in node.inputs} | set(outputs)
        tensors = [t for t in self.made.values() if t.name not in self.float16 or t.name in read]  # folded: gone
        graph = Graph.build(self.path.stem, tensors, nodes, inputs, outputs, source=str(self.path))
        return verify(graph.replace())

    def subgraph_nodes(self, index: int, bound: list[Tensor], scope: str) -> tuple[list[Node], list[Tensor]]:
        """Subgraph `index` called with the tensors `bound` as its inputs: its nodes, with its activations named
        with `scope` appended, and the tensors of its outputs. Refused operators raise one grouped error."""
        if not 0 < index < self.model.SubgraphsLength():
            raise ModelError(f"subgraph index {index} out of range ({self.model.SubgraphsLength()} subgraphs)")
        if index in self.calling:  # a loop whose body runs the loop again would never end
            raise ModelError(f"subgraph {index} calls itself (through {sorted(self.calling)})")
        saved = self.sg, self.sg_index, self.tensors, self.scope
        self.sg, self.sg_index, self.tensors, self.scope = self.model.Subgraphs(index), index, {}, scope
        self.calling.add(index)
        try:
            params = [int(i) for i in self.sg.InputsAsNumpy()] if self.sg.InputsLength() else []
            if len(params) != len(bound):
                raise ModelError(f"subgraph {index} takes {len(params)} inputs, called with {len(bound)}")
            for k, (i, t) in enumerate(zip(params, bound)):
                declared = self._static_shape(self.sg.Tensors(i), f"subgraph {index} input {k}")
                if tuple(declared) != t.shape:
                    raise ModelError(f"subgraph {index} input {k} is {list(declared)}, called with {t.name!r} "
                                     f"{list(t.shape)}")
                self.tensors[i] = t
            nodes, unsupported = [], []
            for i in range(self.sg.OperatorsLength()):
                try:
                    nodes.extend(self._nodes(i))
                except _Refused as e:
                    unsupported.append(e.refusal)
            if unsupported:
                raise refusal_error(self.path, unsupported)
            return nodes, [self.tensor(int(i)) for i in self.sg.OutputsAsNumpy()]
        finally:
            self.calling.discard(index)
            self.sg, self.sg_index, self.tensors, self.scope = saved

    def _keep(self, index: int, tensor: Tensor) -> Tensor:
        """Record a tensor made for `index` of the current subgraph. A called subgraph's tensor takes a fresh name
        if its own is taken; two tensors of the main subgraph with one name are an error."""
        name, n = tensor.name, 1
        if self.sg_index:
            while name in self.made:
                n += 1
                name = f"{tensor.name}:{n}"
            tensor = tensor.with_(name=name) if name != tensor.name else tensor
        elif name in self.made:
            raise ModelError(f"{self.path}: tensor name {name!r} is used twice")
        self.tensors[index] = self.made[name] = tensor
        if self.sg_index and tensor.data is not None:
            self.shared[(self.sg_index, index)] = tensor
        return tensor

    # -- tensors ----------------------------------------------------------------------------
    def tensor(self, index: int) -> Tensor:
        if index in self.tensors:
            return self.tensors[index]
        if (self.sg_index, index) in self.shared:  # a called subgraph's constant, made on an earlier call
            self.tensors[index] = self.shared[(self.sg_index, index)]
            return self.tensors[index]
        if not 0 <= index < self.sg.TensorsLength():
            raise ModelError(f"{self.path}: tensor index {index} out of range")
        t = self.sg.Tensors(index)
        # Bytes that are not UTF-8 are kept as \xNN text: two such names stay distinct, and the name stays opaque.
        name = (t.Name() or b"").decode("utf-8", "backslashreplace") or f"tensor_{index}"
        if t.Type() == _FLOAT16:
            return self._float16_constant(index, t, name)
        if t.Type() not in _DTYPES:
            kind = {v: k for k, v in vars(self.tfl.TensorType).items() if not k.startswith("_")}.get(t.Type())
            raise ModelError(f"{self.path}: tensor {name!r} has unsupported type {kind or t.Type()}; supported: "
                             f"{', '.join(sorted(set(_DTYPES.values())))}")
        dtype = _DTYPES[t.Type()]
        shape = self._static_shape(t, name)
        data = self._buffer(t.Buffer(), dtype, shape, name)
        if data is None:
            name += self.scope
        if t.IsVariable():
            self.variables.add(name)
        return self._keep(index, Tensor(name, shape, dtype, data, self._quant(t, name)))

    def _float16_constant(self, index: int, t, name: str) -> Tensor:
        """float16 weights (MediaPipe's, the converter's float16 quantization) as the float32 constant they stand
        for: every float16 value is exactly a float32, and LiteRT computes with DEQUANTIZE's float32 output."""
        shape = self._static_shape(t, name)
        data = self._buffer(t.Buffer(), "float16", shape, name)
        if data is None:
            raise ModelError(f"{self.path}: tensor {name!r} has unsupported type FLOAT16; supported: "
                             f"{', '.join(sorted(set(_DTYPES.values())))} (float16 only as constant weights)")
        tensor = self._keep(index, Tensor(name, shape, "float32", data.astype(np.float32)))
        self.float16.add(tensor.name)
        return tensor

    def _static_shape(self, t, name: str) -> tuple[int, ...]:
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise ModelError(f"{self.path}: tensor {name!r} has dynamic shape {list(shape)}; give it a static shape")
        signature = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else shape
        if any(d < 0 for d in signature[1:]):
            dims = [i for i, d in enumerate(signature) if i and d < 0]
            raise ModelError(f"{self.path}: tensor {name!r} has dynamic dimension(s) {dims} in {list(signature)}; only "
                             f"the batch dimension may be dynamic: export the model with a fixed input shape")
        return shape

    def _buffer(self, index, dtype, shape, name):
        if index == 0 or index >= self.model.BuffersLength():
            return None
        b = self.model.Buffers(index)
        if b.Offset() > 1:  # data stored after the flatbuffer (models over 2 GB)
            raw = self.buf[b.Offset(): b.Offset() + b.Size()]
        elif b.DataLength():
            raw = b.DataAsNumpy().tobytes()
        else:
            return None
        count = int(np.prod(shape, dtype=np.int64))
        itemsize = np.dtype(dtype).itemsize
        if len(raw) != count * itemsize:
            raise ModelError(f"{self.path}: constant {name!r} holds {len(raw)} bytes, its shape {list(shape)} needs "
                             f"{count * itemsize}")
        return np.frombuffer(raw, dtype=dtype).reshape(shape)

    def _quant(self, t, name):
        q = t.Quantization()
        if q is None or q.ScaleLength() == 0:
            return None
        scale = tuple(float(s) for s in q.ScaleAsNumpy())
        zp = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scale)
        try:
            return Quantization(scale, zp, q.QuantizedDimension() if len(scale) > 1 else None)
        except ValueError as e:
            raise ModelError(f"{self.path}: tensor {name!r}: bad quantization: {e}") from None

    # -- operators --------------------------------------------------------------------------
    def _live_operators(self) -> set[int]:
        """The operators the graph's outputs depend on. RESHAPE's new shape is read from its output tensor's static
        shape, not from its shape input, so what computes that input is not needed: Keras's Flatten, exported with
        a dynamic batch, computes it at run time (SHAPE -> STRIDED_SLICE -> PACK), operators a static-shape
        compiler has no use for and does not convert."""
        producer = {}
        for i in range(self.sg.OperatorsLength()):
            op = self.sg.Operators(i)
            for t in (op.OutputsAsNumpy() if op.OutputsLength() else []):
                producer[int(t)] = i
        live, pending = set(), [int(t) for t in self.sg.OutputsAsNumpy()]
        seen = set(pending)
        while pending:
            i = producer.get(pending.pop())
            if i is None or i in live:
                continue
            live.add(i)
            op = self.sg.Operators(i)
            ins = [int(t) for t in (op.InputsAsNumpy() if op.InputsLength() else []) if t >= 0]
            if self._builtin(op) == self.tfl.BuiltinOperator.RESHAPE:
                ins = ins[:1]
            for t in ins:
                if t not in seen:
                    seen.add(t)
                    pending.append(t)
        return live

    def _builtin(self, op) -> int:
        if not 0 <= op.OpcodeIndex() < self.model.OperatorCodesLength():
            raise ModelError(f"{self.path}: operator code index {op.OpcodeIndex()} out of range "
                             f"({self.model.OperatorCodesLength()} operator codes)")
        code = self.model.OperatorCodes(op.OpcodeIndex())
        return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())

    def _fold_float16_dequantize(self, index: int) -> bool:
        """DEQUANTIZE of a float16 constant is that constant in float32, at compile time (lossless): True if
        operator `index` is one, and its output now holds the data."""
        op = self.sg.Operators(index)
        if self._builtin(op) != self.tfl.BuiltinOperator.DEQUANTIZE:
            return False
        if op.InputsLength() != 1 or op.OutputsLength() != 1:
            return False
        src = int(op.Inputs(0))
        if src < 0 or self.tensor(src) is None or self.tensor(src).name not in self.float16:
            return False
        weights, out = self.tensor(src), self.tensor(int(op.Outputs(0)))
        if out.dtype != "float32" or out.shape != weights.shape:
            raise ModelError(f"{self.path}: operator #{index} DEQUANTIZE ({out.name!r}) of float16 {weights.name!r} "
                             f"{list(weights.shape)} gives {out.dtype} {list(out.shape)}; expected float32 of its shape")
        self.tensors[int(op.Outputs(0))] = self.made[out.name] = out.with_(data=weights.data)
        return True

    def _nodes(self, index: int) -> list[Node]:
        """The IR node(s) of operator `index`: one, or one per output for an operator whose outputs are separate
        computations (SPLIT, UNPACK: each output is a slice of its own)."""
        op = self.sg.Operators(index)
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == 32:
            opname = f"custom operator {(code.CustomCode() or b'').decode('utf-8', 'replace')!r}"
        elif builtin in self.tfl.BUILTIN_OPCODE2NAME:
            opname = self.tfl.opcode2name(builtin)
        else:  # a newer schema than the tflite package knows, or a corrupted code
            opname = f"unknown builtin operator {builtin}"
        ins = [self.tensor(i).name if i >= 0 else "" for i in (op.InputsAsNumpy() if op.InputsLength() else [])]
        outs = [self.tensor(i).name for i in op.OutputsAsNumpy()]
        name = outs[0] if outs else f"op{index}"
        if tflite_control.fold(self, opname, op, ins, outs):
            return []
        convert = _CONVERTERS.get(opname)
        where = f"operator #{index}" if not self.sg_index else f"subgraph {self.sg_index} operator #{index}"
        label = f"#{index} {name!r}"
        if convert is None:
            what = f"operator {opname} is not supported"
            raise _Refused(Refusal(opname, what, name, f"{self.path}: {where} {opname} (output {name!r}) "
                                                        f"is not supported", label))
        try:
            converted = convert(self, op, ins, outs)
        except UnsupportedOpError as e:
            raise _Refused(Refusal(opname, f"{opname}: {e}", name, f"{self.path}: {where} {opname} "
                                                                    f"({name!r}): {e}", label)) from None
        except ModelError as e:
            raise ModelError(f"{self.path}: {where} {opname} ({name!r}): {e}") from None
        if isinstance(converted, tflite_control.Inlined):  # nodes the converter made (a loop's body)
            return list(converted)
        if isinstance(converted, list):  # (kind, inputs, output, attrs) per output
            return [Node(out, kind, inputs, [out], attrs) for kind, inputs, out, attrs in converted]
        kind, inputs, attrs = converted
        return [Node(name, kind, inputs, outs, attrs)]

    def options(self, op, cls_name):
        """The operator's options table. Options of another type (a corrupted union tag) or none read as all
        defaults, as in LiteRT (builtin_options_as_X() is null there): a CONV_2D then has stride 0, refused."""
        opts = op.BuiltinOptions()
        obj = getattr(self.tfl, cls_name)()
        if opts is None or op.BuiltinOptionsType() != getattr(self.tfl.BuiltinOptions, cls_name):
            obj.Init(*_empty_table())
        else:
            obj.Init(opts.Bytes, opts.Pos)
        return obj

    def const(self, name) -> np.ndarray:
        t = self.made.get(name)
        if t is not None and t.data is not None:
            return t.data
        raise ModelError(f"input {name!r} must be a constant")

    def shape_of(self, name):
        return self.made[name].shape

    def dtype_of(self, name) -> str:
        return self.made[name].dtype

    def synthetic(self, base: str, shape, dtype: str, data=None) -> str:
        """A tensor of the graph no TFLite tensor stands for (an unrolled layer's steps), under a fresh name."""
        name, n = base, 1
        while name in self.made:
            n += 1
            name = f"{base}:{n}"
        self.made[name] = Tensor(name, tuple(shape), dtype, data)
        return name

    @staticmethod
    def node(name, kind, inputs, outputs, attrs) -> Node:
        return Node(name, kind, inputs, outputs, attrs)

    def constant(self, index: int, data: np.ndarray) -> None:
        """Output `index` of the current operator is known at import: the tensor becomes that constant."""
        t = self.tensor(index)
        self.tensors[index] = self.made[t.name] = t.with_(data=np.array(data, dtype=t.dtype).reshape(t.shape))

    def bind(self, index: int, tensor: Tensor) -> None:
        """Output `index` of the current subgraph is `tensor` (a loop's result, a folded constant)."""
        self.tensors[index] = tensor
        self.made.setdefault(tensor.name, tensor)


class _Refused(Exception):
    """An operator we cannot compile; graph() collects them all into one grouped UnsupportedOpError."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.line)
        self.refusal = refusal


def _empty_table() -> tuple[bytes, int]:
    """A flatbuffer table with no fields, whose accessors return the schema's defaults: (bytes, position)."""
    import flatbuffers

    b = flatbuffers.Builder(16)
    b.StartObject(0)
    b.Finish(b.EndObject())
    buf = bytes(b.Output())
    return buf, flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, 0)


def _activation(code):
    if code not in _ACTIVATIONS:
        raise UnsupportedOpError(f"fused activation {code} is not supported")
    return _ACTIVATIONS[code]


def _padding(kind, size_hw, kernel_hw, strides, dilations):
    from edgeai.ops._shapes import same_padding

    if min(*strides, *dilations) < 1:  # LiteRT's prepare refuses them too (options of another type read as 0)
        raise ModelError(f"strides {list(strides)} and dilations {list(dilations)} must be at least 1")
    if kind == 1:  # VALID
        return (0, 0, 0, 0)
    (top, bottom), (left, right) = (same_padding(s, k, st, d) for s, k, st, d in zip(size_hw, kernel_hw, strides, dilations))
    return (top, left, bottom, right)


def _conv(r, op, ins, outs):
    o = r.options(op, "Conv2DOptions")
    x, w = r.shape_of(ins[0]), r.shape_of(ins[1])
    strides, dil = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    pad = _padding(o.Padding(), x[1:3], w[1:3], strides, dil)
    return "conv2d", ins, dict(strides=strides, dilations=dil, padding=pad, activation=_activation(o.FusedActivationFunction()))


def _depthwise(r, op, ins, outs):
    o = r.options(op, "DepthwiseConv2DOptions")
    x, w = r.shape_of(ins[0]), r.shape_of(ins[1])
    strides, dil = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    pad = _padding(o.Padding(), x[1:3], w[1:3], strides, dil)
    # depth_multiplier in the options is unreliable in old converters; the shapes are not.
    return "depthwise_conv2d", ins, dict(strides=strides, dilations=dil, padding=pad, depth_multiplier=w[3] // x[3],
                                         activation=_activation(o.FusedActivationFunction()))


def _fully_connected(r, op, ins, outs):
    o = r.options(op, "FullyConnectedOptions")
    if o.WeightsFormat() != 0:
        raise UnsupportedOpError("shuffled weights format is not supported")
    return "fully_connected", ins, dict(activation=_activation(o.FusedActivationFunction()), keep_num_dims=o.KeepNumDims())


def _binary(kind, options):
    def convert(r, op, ins, outs):
        return kind, ins, dict(activation=_activation(r.options(op, options).FusedActivationFunction()))
    return convert


def _add_or_sub(kind: str, options: str):
    """ADD or SUB; an int16 one whose options ask for LiteRT's power-of-two path (pot_scale_int16, the schema's
    default, which TFLite's 16x8 converter sets false) computes with shifts instead of multipliers when every scale
    is a power of two and every zero point 0: that path is refused, the general one taken."""
    def convert(r, op, ins, outs):
        o = r.options(op, options)
        tensors = [t for t in r.tensors.values() if t.name in (*ins[:2], outs[0])]
        if o.PotScaleInt16() and tensors and all(t.dtype == "int16" and t.quant is not None for t in tensors):
            if all(_power_of_two(t.quant.scale[0]) and t.quant.zero_point[0] == 0 for t in tensors):
                raise UnsupportedOpError(f"int16 {kind.upper()} with power-of-two scales and pot_scale_int16 set "
                                         f"(LiteRT's shift-only 16-bit path, meant for LSTM cells) is not supported; "
                                         f"TFLite's 16x8 converter writes pot_scale_int16 false")
        return kind, ins, dict(activation=_activation(o.FusedActivationFunction()))
    return convert


def _power_of_two(scale: float) -> bool:
    """LiteRT's CheckedLog2: log2 of the scale within 1e-3 of an integer."""
    if scale <= 0:
        return False
    x = math.log2(scale)
    return abs(x - round(x)) < 1e-3


def _pool(kind):
    def convert(r, op, ins, outs):
        o = r.options(op, "Pool2DOptions")
        x = r.shape_of(ins[0])
        kernel, strides = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
        return kind, ins, dict(kernel=kernel, strides=strides, padding=_padding(o.Padding(), x[1:3], kernel, strides, (1, 1)),
                               activation=_activation(o.FusedActivationFunction()))
    return convert


def _reshape(r, op, ins, outs):
    return "reshape", ins[:1], dict(shape=r.shape_of(outs[0]))


def _softmax(r, op, ins, outs):
    return "softmax", ins, dict(beta=r.options(op, "SoftmaxOptions").Beta())


def _concat(r, op, ins, outs):
    o = r.options(op, "ConcatenationOptions")
    if o.FusedActivationFunction() != 0:
        raise UnsupportedOpError("fused activation on CONCATENATION is not supported")
    return "concat", ins, dict(axis=o.Axis())


def _pad(r, op, ins, outs):
    pads = r.const(ins[1]).astype(np.int64)  # [rank, 2]: before, after
    return "pad", ins[:1], dict(pads=tuple(pads[:, 0]) + tuple(pads[:, 1]))


def _transpose(r, op, ins, outs):
    return "transpose", ins[:1], dict(perm=tuple(r.const(ins[1]).tolist()))


def _mean(r, op, ins, outs):
    return "mean", ins[:1], dict(axes=tuple(np.atleast_1d(r.const(ins[1])).tolist()),
                                 keepdims=r.options(op, "ReducerOptions").KeepDims())


def _plain(kind):
    return lambda r, op, ins, outs: (kind, ins, {})


_CONVERTERS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _add_or_sub("add", "AddOptions"),
    "SUB": _add_or_sub("sub", "SubOptions"),
    "MUL": _binary("mul", "MulOptions"),
    "AVERAGE_POOL_2D": _pool("average_pool2d"),
    "MAX_POOL_2D": _pool("max_pool2d"),
    "RESHAPE": _reshape,
    "SOFTMAX": _softmax,
    "CONCATENATION": _concat,
    "PAD": _pad,
    "TRANSPOSE": _transpose,
    "MEAN": _mean,
    "RELU": _plain("relu"),
    "RELU6": _plain("relu6"),
    "LOGISTIC": _plain("sigmoid"),
    "TANH": _plain("tanh"),
    "QUANTIZE": lambda r, op, ins, outs: ("quantize", ins, {"rounding": "half_away"}),
    "DEQUANTIZE": _plain("dequantize"),
}


def _register_families() -> None:
    """The operator families kept in their own modules (tflite_<family>.py), each with its CONVERTERS."""
    from edgeai.frontends import (tflite_activations, tflite_recurrent, tflite_resize, tflite_slicing,
                                  tflite_transpose_conv)

    for family in (tflite_activations, tflite_control, tflite_recurrent, tflite_resize, tflite_slicing,
                   tflite_transpose_conv):
        _CONVERTERS.update(family.CONVERTERS)


_register_families()
