"""A minimal TFLite flatbuffer writer for tests: just enough of the schema to build the odd models that the
bad-input tests need (custom operators, huge weights, unusual dtypes) without TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np

# schema.fbs TensorType values
FLOAT32, FLOAT16, INT32, UINT8, INT64, STRING, BOOL, INT16, INT8 = 0, 1, 2, 3, 4, 5, 6, 7, 9
CUSTOM = 32


@dataclass
class T:
    name: str
    shape: tuple[int, ...]
    type: int = FLOAT32
    data: np.ndarray | None = None  # constant contents (written little-endian as given)
    scale: float | tuple[float, ...] | None = None  # a tuple: per-channel scales along quantized_dimension
    zero_point: int = 0
    quantized_dimension: int = 0


@dataclass
class Op:
    code: int | str  # a BuiltinOperator value, or the name of a custom operator
    inputs: list[int]
    outputs: list[int]
    options_type: int = 0  # BuiltinOptions union tag; the options table holds `options` (none: all defaults)
    custom_options: bytes | None = None
    options: tuple = ()  # fields of the options table, (slot, kind, value) as _table takes them


@dataclass
class Model:
    tensors: list[T]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    extra: dict = field(default_factory=dict)


def _ints(b: flatbuffers.Builder, values, dtype=np.int32) -> int:
    return b.CreateNumpyVector(np.asarray(values, dtype))


def _offsets(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _table(b: flatbuffers.Builder, nfields: int, fields) -> int:
    """fields: (slot, kind, value) with kind 'off', 'u8', 'i8', 'i32', 'u32', 'f32'; written in the order given."""
    b.StartObject(nfields)
    for slot, kind, value in fields:
        if kind == "off":
            b.PrependUOffsetTRelativeSlot(slot, value, 0)
        else:
            # Always written, even when equal to the schema's default.
            getattr(b, {"u8": "PrependUint8", "i8": "PrependInt8", "i32": "PrependInt32", "u32": "PrependUint32",
                        "f32": "PrependFloat32"}[kind])(value)
            b.Slot(slot)
    return b.EndObject()


def write(model: Model) -> bytes:
    b = flatbuffers.Builder(1024)
    # Buffers: 0 is the empty sentinel; each constant tensor gets its own.
    buffer_offsets = [_table(b, 3, [])]
    tensor_buffer = []
    for t in model.tensors:
        if t.data is None:
            tensor_buffer.append(0)
            continue
        data = b.CreateNumpyVector(np.frombuffer(np.ascontiguousarray(t.data).tobytes(), np.uint8))
        buffer_offsets.append(_table(b, 3, [(0, "off", data)]))
        tensor_buffer.append(len(buffer_offsets) - 1)

    tensor_offsets = []
    for t, buf in zip(model.tensors, tensor_buffer):
        name = b.CreateString(t.name)
        shape = _ints(b, t.shape)
        fields = [(0, "off", shape), (3, "off", name), (1, "u8", t.type), (2, "u32", buf)]
        if t.scale is not None:
            scales = np.atleast_1d(np.asarray(t.scale, np.float32))
            scale = b.CreateNumpyVector(scales)
            zp = _ints(b, [t.zero_point] * scales.size, np.int64)
            quant = [(2, "off", scale), (3, "off", zp)]
            if scales.size > 1:
                quant.append((6, "i32", t.quantized_dimension))
            fields.append((4, "off", _table(b, 7, quant)))
        tensor_offsets.append(_table(b, 8, fields))

    codes, op_offsets = [], []
    for op in model.ops:
        if isinstance(op.code, str):
            custom = b.CreateString(op.code)
            key = ("custom", op.code)
            fields = [(1, "off", custom), (0, "i8", CUSTOM), (3, "i32", CUSTOM)]
        else:
            key = ("builtin", op.code)
            fields = [(0, "i8", min(op.code, 127)), (3, "i32", op.code)]
        if key not in [k for k, _ in codes]:
            codes.append((key, _table(b, 4, fields)))
        index = [k for k, _ in codes].index(key)
        ins, outs = _ints(b, op.inputs), _ints(b, op.outputs)
        fields = [(0, "u32", index), (1, "off", ins), (2, "off", outs)]
        if op.options_type:
            nfields = max([4] + [slot + 1 for slot, _, _ in op.options])
            fields += [(3, "u8", op.options_type), (4, "off", _table(b, nfields, op.options))]
        if op.custom_options is not None:
            fields.append((5, "off", b.CreateNumpyVector(np.frombuffer(op.custom_options, np.uint8))))
        op_offsets.append(_table(b, 9, fields))

    subgraph = _table(b, 5, [(0, "off", _offsets(b, tensor_offsets)), (1, "off", _ints(b, model.inputs)),
                             (2, "off", _ints(b, model.outputs)), (3, "off", _offsets(b, op_offsets)),
                             (4, "off", b.CreateString("main"))])
    root = _table(b, 8, [(0, "u32", 3), (1, "off", _offsets(b, [o for _, o in codes])),
                         (2, "off", _offsets(b, [subgraph])), (3, "off", b.CreateString("edgeai test model")),
                         (4, "off", _offsets(b, buffer_offsets))])
    b.Finish(root, file_identifier=b"TFL3")
    return bytes(b.Output())


def fully_connected(n_in: int, n_out: int, batch: int = 1) -> Model:
    """A float32 dense layer y = x W^T + b (weights of n_out x n_in)."""
    rng = np.random.default_rng(0)
    return Model(
        tensors=[T("x", (batch, n_in)), T("dense/weights", (n_out, n_in), data=rng.standard_normal((n_out, n_in),
                                                                                                 np.float32)),
                 T("dense/bias", (n_out,), data=np.zeros(n_out, np.float32)), T("y", (batch, n_out))],
        ops=[Op(9, [0, 1, 2], [3], options_type=8)],  # FULLY_CONNECTED, FullyConnectedOptions
        inputs=[0], outputs=[3])


def add(shape: tuple[int, ...]) -> Model:
    """z = x + y on two float32 inputs of `shape`."""
    return Model(tensors=[T("x", shape), T("y", shape), T("z", shape)],
                 ops=[Op(0, [0, 1], [2], options_type=11)],  # ADD, AddOptions
                 inputs=[0, 1], outputs=[2])
