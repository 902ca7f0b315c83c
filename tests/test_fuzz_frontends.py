"""Fuzzing the model frontends through `edgeai.load`, for a bounded time.

Real model bytes are mutated (bit flips, truncation, inserted bytes, 32-bit words overwritten with boundary
values; mostly in the flatbuffer / protobuf structure rather than in the weights). Whatever comes out, `load`
must return a verified Graph or raise ModelError (UnsupportedOpError is one): never another exception, never a
crash, never a hang. A loaded graph must also survive analysis and memory planning.
"""

from __future__ import annotations

import signal
import struct
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from conftest import model_path, tflite
from edgeai import REPO_ROOT, load
from edgeai.analyze import analyze
from edgeai.errors import EdgeAIError, ModelError
from edgeai.ir import Graph, verify

HAVE_ONNX_FRONTEND = (REPO_ROOT / "edgeai" / "frontends" / "onnx.py").is_file()
SECONDS_PER_MODEL = 8.0  # two models per frontend: under 20 s each
WORDS = [0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 1, 0x10000, 0xFFFF]

mutation = st.tuples(st.sampled_from(["flip", "truncate", "insert", "word", "delete"]),
                     st.integers(0, 2**31), st.integers(0, 255), st.sampled_from(WORDS), st.booleans())
mutations = st.lists(mutation, min_size=1, max_size=4)


def mutate(data: bytes, steps, structure: list[int]) -> bytes:
    """Apply the steps; `structure` lists the byte positions outside the bulk weight data, which a step
    targets when its flag is set (random positions almost always land in weights, which cannot be wrong)."""
    buf = bytearray(data)
    for kind, where, byte, word, in_structure in steps:
        if not buf:
            break
        pos = structure[where % len(structure)] if in_structure and structure else where % len(buf)
        pos = min(pos, len(buf) - 1)
        if kind == "flip":
            buf[pos] ^= 1 << (byte % 8)
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = bytes([byte]) * (1 + byte % 7)
        elif kind == "delete":
            del buf[pos:pos + 1 + byte % 7]
        elif len(buf) >= 4:
            pos = min(pos & ~3, len(buf) - 4)
            struct.pack_into("<I", buf, pos, word)
    return bytes(buf)


@contextmanager
def hang_guard(seconds: float, what: str):
    def fire(signum, frame):
        raise AssertionError(f"{what}: still running after {seconds} s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_load(path: Path) -> None:
    """The contract: a verified Graph, or ModelError. Anything else propagates and fails the example."""
    with hang_guard(10.0, f"edgeai.load({path.name})"):
        try:
            graph = load(path)
        except ModelError as e:
            assert str(path) in str(e), f"the message does not name the file: {e}"
            return
        assert isinstance(graph, Graph)
        verify(graph)
        try:
            analyze(graph)  # shapes and memory plan of whatever loaded
        except EdgeAIError:
            pass


def for_a_while(seconds: float, strategy, body) -> int:
    """Run the property on `strategy` in batches of reproducible seeds until `seconds` have passed; returns
    the number of examples. A failure is shrunk by hypothesis and reported with its seed."""
    deadline = time.monotonic() + seconds
    count = [0]

    def counted(value):
        count[0] += 1
        body(value)

    batch = 0
    while time.monotonic() < deadline:
        test = settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))(
            seed(batch)(given(strategy)(counted)))
        test()
        batch += 1
    return count[0]


def fuzz(source: Path, structure: list[int], tmp_path: Path, seconds: float) -> int:
    data = source.read_bytes()
    path = tmp_path / f"mutant{source.suffix}"

    def body(steps):
        path.write_bytes(mutate(data, steps, structure))
        check_load(path)

    return for_a_while(seconds, mutations, body)


# -- TFLite -------------------------------------------------------------------------------------------------
def tflite_structure(data: bytes) -> list[int]:
    """Byte positions of a TFLite file outside its constant buffers' data."""
    import tflite as schema

    model = schema.Model.GetRootAsModel(data, 0)
    bulk = bytearray(len(data))
    for i in range(model.BuffersLength()):
        b = model.Buffers(i)
        if b.DataLength() > 64:
            start = b._tab.Vector(b._tab.Offset(4))
            bulk[start: start + b.DataLength()] = b"\1" * b.DataLength()
    return [i for i, flag in enumerate(bulk) if not flag]


@pytest.mark.slow  # bounded: SECONDS_PER_MODEL
@pytest.mark.parametrize("name", ["kws_ref_model", "ad01_int8"])
def test_fuzz_tflite_frontend(name, tmp_path):
    source = tflite(name)
    count = fuzz(source, tflite_structure(source.read_bytes()), tmp_path, SECONDS_PER_MODEL)
    assert count >= 200, f"only {count} examples in {SECONDS_PER_MODEL} s"


def test_mutate_reaches_the_interesting_cases(tmp_path):
    """The mutations do reach both outcomes: graphs that load and clean refusals."""
    import random

    source = tflite("kws_ref_model")
    data, structure = source.read_bytes(), tflite_structure(source.read_bytes())
    rng = random.Random(1)
    outcomes = set()
    path = tmp_path / "m.tflite"
    for _ in range(150):
        steps = [(rng.choice(["flip", "word"]), rng.randrange(2**31), rng.randrange(256), rng.choice(WORDS), True)]
        path.write_bytes(mutate(data, steps, structure))
        try:
            load(path)
            outcomes.add("loaded")
        except ModelError as e:
            outcomes.add(type(e).__name__)
    assert {"loaded", "ModelError"} <= outcomes


# -- ONNX ---------------------------------------------------------------------------------------------------
needs_onnx = pytest.mark.skipif(not HAVE_ONNX_FRONTEND, reason="edgeai/frontends/onnx.py has not landed yet")
# These tests found ValueError/IndexError/KeyError/AttributeError escaping the first ONNX frontend
# (99f0675); load_onnx now reports any failure inside an op as a ModelError naming the node.


def onnx_structure(data: bytes) -> list[int]:
    """Byte positions of an ONNX file outside its initializers' raw data."""
    import onnx

    model = onnx.load_from_string(data)
    bulk = bytearray(len(data))
    for init in model.graph.initializer:
        raw = init.raw_data
        if len(raw) > 64:
            start = data.find(raw)
            if start >= 0:
                bulk[start: start + len(raw)] = b"\1" * len(raw)
    return [i for i, flag in enumerate(bulk) if not flag]


@pytest.mark.slow  # bounded: SECONDS_PER_MODEL
@needs_onnx
@pytest.mark.parametrize("name", ["kws_ref_model_float32.onnx", "ad01_int8.onnx"])
def test_fuzz_onnx_frontend_bytes(name, tmp_path):
    source = model_path(name)
    count = fuzz(source, onnx_structure(source.read_bytes()), tmp_path, SECONDS_PER_MODEL / 2)
    assert count >= 50, f"only {count} examples"


# Semantic mutations of the protobuf: what a wrong exporter writes rather than what a bad disk does.
def _edit(model, kind: str, pick: int, value: int):
    from onnx import TensorProto

    g = model.graph
    nodes = list(g.node)
    node = nodes[pick % len(nodes)]
    if kind == "op_type":
        node.op_type = ["Einsum", "Loop", "NonMaxSuppression", "Conv", "Gemm", "Relu", "", "MatMul"][value % 8]
    elif kind == "drop_input" and node.input:
        del node.input[value % len(node.input)]
    elif kind == "dangling_input" and node.input:
        node.input[value % len(node.input)] = "no_such_tensor"
    elif kind == "attribute" and node.attribute:
        a = node.attribute[value % len(node.attribute)]
        if a.ints:
            a.ints[0] = [-1, 0, 2**31 - 1, 7][value % 4]
        else:
            a.i = [-1, 0, 2**31 - 1, 7][value % 4]
    elif kind == "input_dim" and g.input:
        dims = g.input[0].type.tensor_type.shape.dim
        if dims:
            d = dims[value % len(dims)]
            if value % 3 == 0:
                d.dim_param = "n"
            else:
                d.dim_value = [0, 2**31, 3][value % 3]
    elif kind == "dtype" and g.input:
        g.input[0].type.tensor_type.elem_type = [TensorProto.FLOAT16, TensorProto.STRING, TensorProto.DOUBLE,
                                                 TensorProto.COMPLEX64, TensorProto.BFLOAT16][value % 5]
    elif kind == "initializer_dims" and g.initializer:
        init = g.initializer[value % len(g.initializer)]
        if init.dims:
            init.dims[0] += 1  # data no longer matches the shape
    elif kind == "drop_node":
        g.node.remove(node)
    elif kind == "opset":
        model.opset_import[0].version = [1, 6, 99, 10000][value % 4]


@pytest.mark.slow  # bounded: SECONDS_PER_MODEL
@needs_onnx
def test_fuzz_onnx_frontend_semantic(tmp_path):
    import onnx

    data = model_path("kws_ref_model_float32.onnx").read_bytes()
    path = tmp_path / "mutant.onnx"
    kinds = ["op_type", "drop_input", "dangling_input", "attribute", "input_dim", "dtype", "initializer_dims",
             "drop_node", "opset"]

    def body(edits):
        model = onnx.load_from_string(data)
        for kind, pick, value in edits:
            _edit(model, kind, pick, value)
        path.write_bytes(model.SerializeToString())
        check_load(path)

    edits = st.lists(st.tuples(st.sampled_from(kinds), st.integers(0, 1000), st.integers(0, 1000)), min_size=1,
                     max_size=3)
    assert for_a_while(SECONDS_PER_MODEL, edits, body) >= 50
