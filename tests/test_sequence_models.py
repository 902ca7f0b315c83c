"""LSTM and GRU sequence models, the industrial case (a window of a 3-axis vibration signal -> a recurrent layer
-> Dense), against the reference runtimes.

TFLite: what TensorFlow 2.21's converter writes for Keras 3 layers (field_models/make_sequence_models.py): a WHILE
loop over cond and body subgraphs (float32; inlined at import, one body per time step), and Keras's unroll=True
form, plain operators per step, which the converter also quantizes to int8: int8 bit-exact with LiteRT's
reference kernels on the host, on a Cortex-M4 under QEMU and on rpi4 under qemu-aarch64, float32 within 1e-5 of
the output's span. ONNX: LSTM and GRU nodes built with onnx.helper, against onnxruntime.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import onnx
import pytest
import tflite
from onnx import TensorProto, helper

from edgeai import load
from edgeai.compile import compile_model
from edgeai.errors import ModelError, UnsupportedOpError
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession

FIELD = Path(__file__).parent / "field_models" / "sequence_tf2.21"
WHILE = 119  # BuiltinOperator


def _signals(shape, count: int, seed: int) -> list[np.ndarray]:
    """Vibration-like windows [1, T, 3]: a sine per axis (random frequency, phase, amplitude) plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(shape[1])[:, None]
    out = []
    for _ in range(count):
        wave = rng.uniform(0.5, 2.0, 3) * np.sin(2 * np.pi * rng.uniform(0.05, 0.45, 3) * t + rng.uniform(0, 6.3, 3))
        out.append((wave + rng.normal(0, 0.1, wave.shape)).astype(np.float32).reshape(shape))
    return out


def _inputs(spec, count: int = 2, seed: int = 0) -> list[np.ndarray]:
    """Signals (quantized with the input's scale for an int8 model), and for int8 one of every code at random."""
    signals = _signals(spec.shape, count, seed)
    if spec.dtype != "int8":
        return signals
    q = [np.clip(np.rint(s / spec.scale) + spec.zero_point, -128, 127).astype(np.int8) for s in signals]
    return q + [np.random.default_rng(seed).integers(-128, 128, spec.shape, dtype=np.int8)]


def _same(got, want, what: str) -> None:
    assert got.shape == want.shape, what
    if want.dtype == np.int8:
        diff = np.abs(got.astype(int) - want.astype(int))
        assert diff.max() == 0, f"{what}: {np.count_nonzero(diff)}/{diff.size} values differ, max {diff.max()} LSB"
    else:
        span = float(np.abs(want).max()) or 1.0
        assert np.abs(got - want).max() <= 1e-5 * span, f"{what}: max error {np.abs(got - want).max()} (span {span})"


def _matches_litert(session, path: Path, seed: int = 0) -> None:
    reference = LiteRTSession(path)
    for x in _inputs(reference.inputs[0], seed=seed):
        for k, (got, want) in enumerate(zip(session.run([x]), reference.run([x]))):
            _same(got, want, f"{path.name} output {k}")


def _ops(desc) -> list[str]:
    return [layer["op"] for layer in desc["layers"]]


FLOAT, INT8 = FIELD / "sequence_float.tflite", FIELD / "sequence_unrolled_int8.tflite"
FUSED, FUSED_INT8 = FIELD / "lstm_fused_float.tflite", FIELD / "lstm_fused_int8.tflite"


@pytest.fixture(scope="module")
def host(tmp_path_factory, tmp_cache):
    """The float, fused and int8 files compiled once for the host."""
    out = tmp_path_factory.mktemp("sequence")
    return {path: compile_model(path, "host", out / path.stem) for path in (FLOAT, FUSED, INT8, FUSED_INT8)}


@pytest.mark.slow
@pytest.mark.toolchain
def test_fused_lstm_matches_litert_on_the_host(host):
    """Keras 2's LSTM(16) fused by the converter into one UNIDIRECTIONAL_SEQUENCE_LSTM (32 steps, its state in
    variable tensors), unrolled at import; one LiteRT session for all inputs, each run from the zero state."""
    _matches_litert(HostSession(host[FUSED].path), FUSED)
    # a matrix product per gate and step (no forget gate on the zero first state), and the Dense
    assert _ops(host[FUSED].desc).count("fully_connected") == 3 + 4 * 31 + 1


def test_fused_lstm_imports_one_copy_of_each_weight():
    """32 unrolled steps read the same weights: per gate one [input | recurrent] matrix [16, 3 + 16] and the
    input part alone for the first step, whatever the number of steps."""
    shapes = [t.shape for t in load(FUSED).constants()]
    assert (shapes.count((16, 19)), shapes.count((16, 3))) == (4, 3)


def test_litert_reference_runs_each_inference_from_the_declared_state():
    """LiteRT keeps a fused LSTM's last state in its variable tensors from one Invoke to the next; the reference
    session resets them, so the same input gives the same output, as from the compiled library."""
    reference = LiteRTSession(FUSED)
    x = _signals((1, 32, 3), 1, seed=8)[0]
    np.testing.assert_array_equal(reference.run([x])[0], reference.run([x])[0])


def _random_codes(path: Path, count: int, seed: int) -> list[np.ndarray]:
    spec = LiteRTSession(path).inputs[0]
    return list(np.random.default_rng(seed).integers(-128, 128, (count, *spec.shape), dtype=np.int8))


def _matches_litert_on(session, path: Path, inputs) -> None:
    reference = LiteRTSession(path)
    for x in inputs:
        for k, (got, want) in enumerate(zip(session.run([x]), reference.run([x]))):
            _same(got, want, f"{path.name} output {k}")


def test_int8_fused_lstm_with_a_sigmoid_cell_activation_is_refused_naming_it(tmp_path):
    """LiteRT's integer LSTM applies tanh or sigmoid to the cell gate; the kernel does tanh: another activation
    is refused, naming the operator, not compiled into a silently wrong layer."""
    import flatbuffers

    buf = bytearray(FUSED_INT8.read_bytes())
    options = tflite.Model.GetRootAsModel(bytes(buf), 0).Subgraphs(0).Operators(0).BuiltinOptions()
    table = flatbuffers.table.Table(options.Bytes, options.Pos)
    assert buf[table.Pos + table.Offset(4)] == 4  # fused_activation_function: TANH
    buf[table.Pos + table.Offset(4)] = 6  # SIGMOID
    path = tmp_path / "sigmoid_cell.tflite"
    path.write_bytes(bytes(buf))
    with pytest.raises(UnsupportedOpError, match=r"operator #0 UNIDIRECTIONAL_SEQUENCE_LSTM \('[^']+'\): cell "
                                                 r"activation 6 is not supported in an int8 LSTM \(only tanh\)"):
        load(path)


@pytest.mark.slow
@pytest.mark.toolchain
def test_int8_fused_lstm_bit_exact_with_litert_on_the_host(host):
    """The integer fused LSTM (int8 activations and weights, int16 cell state, cell clip 10; LiteRT's 8x8_16
    kernel) as one layer on lstm_s8.c: bit-exact with LiteRT over 32 steps, on signals and random codes."""
    assert _ops(host[FUSED_INT8].desc) == ["lstm", "strided_slice", "fully_connected"]
    session = HostSession(host[FUSED_INT8].path)
    _matches_litert(session, FUSED_INT8, seed=5)
    _matches_litert_on(session, FUSED_INT8, _random_codes(FUSED_INT8, 8, seed=6))


@pytest.mark.slow
@pytest.mark.toolchain
def test_keras_while_loops_match_litert_on_the_host(host):
    """Keras LSTM(16) and GRU(16) over 32 steps as TF 2.21 writes them: two WHILE loops over 4 subgraphs,
    each inlined 32 times (the input and the recurrent matrix product per step, the first step's recurrent one,
    on the zero state, folded away), within 1e-5 of the span of LiteRT's outputs."""
    _matches_litert(HostSession(host[FLOAT].path), FLOAT)
    assert _ops(host[FLOAT].desc).count("fully_connected") == 2 * (32 + 31 + 1)


@pytest.mark.slow
@pytest.mark.toolchain
def test_unrolled_int8_bit_exact_with_litert_on_the_host(host):
    """Every int8 operator of the steps (fully connected, LOGISTIC/TANH tables, MUL, ADD, the GRU's SUB of
    1 - z, splits and slices) bit-exact with LiteRT's reference kernels."""
    _matches_litert(HostSession(host[INT8].path), INT8)
    assert {"fully_connected", "sigmoid", "tanh", "mul", "add", "sub", "strided_slice"} <= set(_ops(host[INT8].desc))


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
@pytest.mark.parametrize("target, tool", [("cortex-m4", "qemu-system-arm"), ("rpi4", "qemu-aarch64-static")])
@pytest.mark.parametrize("model", ["unrolled", "fused"])
def test_int8_bit_exact_on_the_device(tmp_cache, model, target, tool):
    """The unrolled steps on the hand-written and generic kernels; the fused LSTM on lstm_s8.c: Cortex-M4 under
    qemu-system-arm, rpi4 under qemu-aarch64."""
    from edgeai.runtime.device import QemuSession, build_firmware

    if shutil.which(tool) is None or shutil.which("cmake") is None:
        pytest.skip(f"needs {tool}")
    path = {"unrolled": INT8, "fused": FUSED_INT8}[model]
    compiled = compile_model(path, target)
    elf = build_firmware(compiled.path, target) if target == "rpi4" else None
    with QemuSession(compiled.path, target, elf=elf) as session:
        _matches_litert(session, path, seed=3 if target == "cortex-m4" else 4)


def _patched(path: Path, tmp_path: Path, subgraph: int, tensor: int) -> Path:
    """A copy whose tensor `tensor` of `subgraph` has no data (buffer 0): a constant becomes a run-time value."""
    buf = bytearray(path.read_bytes())
    table = tflite.Model.GetRootAsModel(bytes(buf), 0).Subgraphs(subgraph).Tensors(tensor)._tab
    struct.pack_into("<I", buf, table.Pos + table.Offset(8), 0)  # Tensor.buffer
    copy = tmp_path / f"{path.stem}_patched.tflite"
    copy.write_bytes(bytes(buf))
    return copy


def test_while_with_a_run_time_trip_count_is_refused_naming_it(tmp_path):
    """The GRU's loop with its sequence length (the cond's constant 32) made a run-time value: refused, naming
    the WHILE and why, not a subgraph count."""
    cond = tflite.Model.GetRootAsModel(FLOAT.read_bytes(), 0).Subgraphs(1)
    assert cond.Name() == b"functional_1/gru_1/while_cond"
    limit = int(cond.Operators(0).Inputs(1))  # LESS(counter, 32)
    with pytest.raises(UnsupportedOpError, match=r"operator #\d WHILE \('functional_1/gru_1/while'\): the trip "
                                                 r"count is not fixed when the model is compiled"):
        load(_patched(FLOAT, tmp_path, 1, limit))


def test_while_with_a_body_index_out_of_range_is_refused_naming_it(tmp_path):
    """A WHILE whose body_subgraph_index points past the model's subgraphs: a ModelError naming the WHILE."""
    import flatbuffers

    buf = bytearray(FLOAT.read_bytes())
    model = tflite.Model.GetRootAsModel(bytes(buf), 0)
    main = model.Subgraphs(0)
    index = next(i for i in range(main.OperatorsLength())
                 if model.OperatorCodes(main.Operators(i).OpcodeIndex()).BuiltinCode() == WHILE)
    options = main.Operators(index).BuiltinOptions()
    table = flatbuffers.table.Table(options.Bytes, options.Pos)
    struct.pack_into("<i", buf, table.Pos + table.Offset(6), 9)  # WhileOptions.body_subgraph_index
    path = tmp_path / "bad_body.tflite"
    path.write_bytes(bytes(buf))
    with pytest.raises(ModelError, match=rf"operator #{index} WHILE \('[^']+'\): in its body \(subgraph 9\): "
                                         rf"subgraph index 9 out of range \(5 subgraphs\)"):
        load(path)


def test_while_imports_one_body_per_iteration_sharing_its_weights():
    """32 iterations: 32 copies of each body operator that computes on the state, and one copy of each weight."""
    graph = load(FLOAT)
    ops = [n.op for n in graph.nodes]
    # GRU: a tanh, a sub, two sigmoids per step; LSTM: two tanh, three sigmoids
    assert (ops.count("tanh"), ops.count("sub"), ops.count("sigmoid")) == (32 * 3, 32, 32 * 5)
    recurrent = [t.shape for t in graph.constants() if t.name.endswith("MatMul_1")]  # the recurrent kernels
    assert sorted(recurrent) == [(48, 16), (64, 16)]


# -- ONNX ------------------------------------------------------------------------------------------------------
STEPS, FEATURES, HIDDEN = 6, 3, 6


def _recurrent_onnx(path: Path, peephole: bool = False) -> Path:
    """x [6, 1, 3] -> a bidirectional LSTM (bias, constant initial h and c; Y, Y_h, Y_c) and beside it a forward
    GRU (linear_before_reset=0) feeding a reverse GRU (linear_before_reset=1, Keras's reset_after) on Y."""
    rng = np.random.default_rng(11)

    def weights(name, *shape):
        return helper.make_tensor(name, TensorProto.FLOAT, shape, rng.uniform(-0.6, 0.6, shape).astype(np.float32))

    def value(name, *shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    H, F = HIDDEN, FEATURES
    inits = [weights("lW", 2, 4 * H, F), weights("lR", 2, 4 * H, H), weights("lB", 2, 8 * H), weights("h0", 2, 1, H),
             weights("c0", 2, 1, H), weights("g1W", 1, 3 * H, F), weights("g1R", 1, 3 * H, H),
             weights("g1B", 1, 6 * H), weights("g2W", 1, 3 * H, H), weights("g2R", 1, 3 * H, H),
             weights("g2B", 1, 6 * H)]
    lstm_inputs = ["x", "lW", "lR", "lB", "", "h0", "c0"]
    if peephole:
        inits.append(weights("P", 2, 3 * H))
        lstm_inputs.append("P")
    nodes = [
        helper.make_node("LSTM", lstm_inputs, ["y", "yh", "yc"], name="lstm", hidden_size=H, direction="bidirectional"),
        helper.make_node("GRU", ["x", "g1W", "g1R", "g1B"], ["g1y"], name="gru1", hidden_size=H),
        helper.make_node("Reshape", ["g1y", "flat"], ["g1seq"], name="squeeze"),
        helper.make_node("GRU", ["g1seq", "g2W", "g2R", "g2B"], ["g2y", "g2h"], name="gru2", hidden_size=H,
                         direction="reverse", linear_before_reset=1),
    ]
    inits.append(helper.make_tensor("flat", TensorProto.INT64, (3,), np.array([STEPS, 1, H], np.int64)))
    graph = helper.make_graph(nodes, "recurrent", [value("x", STEPS, 1, F)],
                              [value("y", STEPS, 2, 1, H), value("yh", 2, 1, H), value("yc", 2, 1, H),
                               value("g2y", STEPS, 1, 1, H), value("g2h", 1, 1, H)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.mark.slow
@pytest.mark.toolchain
def test_onnx_lstm_and_gru_match_onnxruntime(tmp_path, tmp_cache):
    path = _recurrent_onnx(tmp_path / "recurrent.onnx")
    compiled = compile_model(path, "host", tmp_path / "lib")
    session, reference = HostSession(compiled.path), OnnxRuntimeSession(path)
    for x in _signals((1, STEPS, FEATURES), 3, seed=2):
        x = x.reshape(STEPS, 1, FEATURES)
        for k, (got, want) in enumerate(zip(session.run([x]), reference.run([x]))):
            _same(got, want, f"output {reference.outputs[k].name}")


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
@pytest.mark.parametrize("target, tool", [("cortex-m4", "qemu-system-arm"), ("rpi4", "qemu-aarch64-static")])
def test_onnx_lstm_and_gru_on_the_device(tmp_path, tmp_cache, target, tool):
    """The bidirectional LSTM and the two GRUs (both linear_before_reset forms) in float32 on the firmware, against
    onnxruntime: Cortex-M4 under qemu-system-arm, rpi4 under qemu-aarch64."""
    from edgeai.runtime.device import QemuSession, build_firmware

    if shutil.which(tool) is None or shutil.which("cmake") is None:
        pytest.skip(f"needs {tool}")
    path = _recurrent_onnx(tmp_path / "recurrent.onnx")
    compiled = compile_model(path, target, tmp_path / target)
    elf = build_firmware(compiled.path, target) if target == "rpi4" else None
    reference = OnnxRuntimeSession(path)
    with QemuSession(compiled.path, target, elf=elf) as session:
        for x in _signals((1, STEPS, FEATURES), 2, seed=7):
            x = x.reshape(STEPS, 1, FEATURES)
            for k, (got, want) in enumerate(zip(session.run([x]), reference.run([x]))):
                _same(got, want, f"{target} output {reference.outputs[k].name}")


def test_onnx_lstm_with_peepholes_is_refused_naming_the_node(tmp_path):
    with pytest.raises(UnsupportedOpError, match=r"node 'lstm' \(LSTM\): peepholes \(a non-zero P\) are not "
                                                 r"supported"):
        load(_recurrent_onnx(tmp_path / "peephole.onnx", peephole=True))
