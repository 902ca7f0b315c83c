"""Operators the Keras zoo's TFLite files use (MobileNetV3's HARD_SWISH, PRELU, STRIDED_SLICE / SPLIT / SPLIT_V /
UNPACK, UpSampling2D's RESIZE_* and TILE, Conv2DTranspose's TRANSPOSE_CONV), imported and compiled, against
LiteRT's reference kernels.

The models are what TensorFlow 2.21's TFLiteConverter writes for small Keras models (field_models/
make_tf_op_models.py), each as float32 and as full-integer int8: int8 is bit-exact with LiteRT, float32 within
the float tests' tolerance. Hand-written models (fuzz/tflite_writer.py) add what the converter does not write:
an int8 UNPACK (the converter leaves it in float), the HARD_SWISH table over many scales, refusals.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import tflite

from compilers.lowering.hard_swish import tflite_hard_swish_table
from edgeai import load
from edgeai.compile import compile_model
from edgeai.errors import ModelError, UnsupportedOpError
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession
from fuzz import tflite_writer as tw

FIELD = Path(__file__).parent / "field_models" / "ops_tf2.21"
HARD_SWISH, UNPACK, STRIDED_SLICE, SLICE, TILE, TRANSPOSE_CONV = 117, 88, 45, 65, 69, 67  # BuiltinOperator
RELU, RESHAPE, SHAPE, PACK = 19, 22, 77, 83
UNPACK_OPTIONS, STRIDED_SLICE_OPTIONS, SLICE_OPTIONS, TRANSPOSE_CONV_OPTIONS = 64, 32, 48, 49  # BuiltinOptions
SHAPE_OPTIONS, PACK_OPTIONS = 55, 59
ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def _close(got, want, rel=1e-5):
    span = float(np.abs(want).max()) or 1.0
    assert np.abs(got - want).max() <= rel * span, f"max error {np.abs(got - want).max()} (span {span})"


def reference_copy(path: Path, tmp_path: Path) -> Path:
    """The model as LiteRT 2.3's reference kernels accept it. Its reference op resolver registers TILE up to
    version 2, and the converter writes an int8 TILE as version 3; the builtin resolver registers version 3 with
    the same kernel (tile.cc copies bytes whatever the type). The copy declares version 2, so the reference
    kernels run everything else (an int8 RESIZE_BILINEAR's optimized kernel may round otherwise)."""
    buf = bytearray(path.read_bytes())
    model = tflite.Model.GetRootAsModel(bytes(buf), 0)
    changed = False
    for k in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(k)
        slot = code._tab.Offset(8)  # OperatorCode.version
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == TILE and slot and code.Version() > 2:
            struct.pack_into("<i", buf, code._tab.Pos + slot, 2)
            changed = True
    if not changed:
        return path
    copy = tmp_path / f"{path.stem}_reference.tflite"
    copy.write_bytes(bytes(buf))
    return copy


def _inputs(spec, samples: int, seed: int = 0):
    """int8: each sample holds every int8 value (a fresh permutation, repeated to fill the shape), then all -128,
    all 127; float32: uniform in [-5, 5] (past hard_swish's +-3 knees)."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(spec.shape))
    if spec.dtype == "int8":
        out = [np.resize(rng.permutation(ALL_INT8), size).reshape(spec.shape) for _ in range(samples)]
        return out + [np.full(spec.shape, v, np.int8) for v in (-128, 127)]
    return [rng.uniform(-5, 5, spec.shape).astype(np.float32) for _ in range(samples)]


def matches_litert(path: Path, tmp_path: Path, target: str = "host", samples: int = 3) -> dict:
    """Compile for the host, run it and LiteRT's reference kernels on the same inputs, compare every output
    (int8 bit-exact, float32 within 1e-5 of the span); returns the compiled library's description."""
    compiled = compile_model(path, target, tmp_path / f"{path.stem}_lib")
    session, reference = HostSession(compiled.path), LiteRTSession(reference_copy(path, tmp_path))
    assert len(reference.outputs) == len(session.outputs)
    for x in _inputs(reference.inputs[0], samples):
        for k, (got, want) in enumerate(zip(session.run([x]), reference.run([x]))):
            assert got.shape == want.shape, f"output {k}"
            if want.dtype == np.int8:
                diff = np.abs(got.astype(int) - want.astype(int))
                assert diff.max() == 0, f"{path.name} output {k}: {np.count_nonzero(diff)}/{diff.size} values " \
                                        f"differ, max {diff.max()} LSB"
            else:
                _close(got, want)
    return compiled.desc


def _ops(desc) -> set[str]:
    return {layer["op"] for layer in desc["layers"]}


@pytest.mark.toolchain
@pytest.mark.parametrize("kind", ["int8", "float"])
def test_hard_swish_matches_litert(kind, tmp_path, tmp_cache):
    assert "hard_swish" in _ops(matches_litert(FIELD / f"hard_swish_{kind}.tflite", tmp_path))


def _hard_swish_model(path: Path, qin, qout) -> Path:
    model = tw.Model([tw.T("x", (1, 256), tw.INT8, scale=qin[0], zero_point=qin[1]),
                      tw.T("y", (1, 256), tw.INT8, scale=qout[0], zero_point=qout[1])],
                     [tw.Op(HARD_SWISH, [0], [1])], inputs=[0], outputs=[1])
    path.write_bytes(tw.write(model))
    return path


def test_hard_swish_tables_equal_litert_for_many_scales(tmp_path):
    """The compile-time model of LiteRT's 16-bit fixed-point HARD_SWISH against LiteRT itself, on all 256 inputs
    of 120 quantizations: input scales from 0.001 (the reluish multiplier shifts right) to 0.5 (it saturates
    left), output scales down to a tenth of the input's."""
    rng = np.random.default_rng(4)
    for k in range(120):
        s_in = float(np.float32(np.exp(rng.uniform(np.log(0.001), np.log(0.5)))))
        s_out = float(np.float32(s_in * rng.uniform(0.1, 2.0)))
        qin, qout = (s_in, int(rng.integers(-128, 128))), (s_out, int(rng.integers(-128, 128)))
        path = _hard_swish_model(tmp_path / f"hs{k}.tflite", qin, qout)
        want = LiteRTSession(path).run([ALL_INT8.reshape(1, 256)])[0].reshape(-1)
        got = tflite_hard_swish_table(qin, qout)
        assert np.array_equal(got, want), f"scales {qin} -> {qout}: {np.count_nonzero(got != want)} entries differ"


def test_hard_swish_with_an_output_scale_litert_refuses_is_refused(tmp_path):
    """An output scale under input scale / 128 makes LiteRT's Prepare fail; the compiler says so too."""
    path = _hard_swish_model(tmp_path / "hs_tiny_out.tflite", (0.5, 0), (0.001, 0))
    with pytest.raises(ModelError, match="LiteRT cannot load it"):
        LiteRTSession(path)
    with pytest.raises(UnsupportedOpError, match="output multiplier must be below 1"):
        compile_model(path, "host", tmp_path / "lib")


@pytest.mark.toolchain
@pytest.mark.parametrize("kind", ["int8", "float"])
def test_slicing_matches_litert(kind, tmp_path, tmp_cache):
    """STRIDED_SLICE (stride 2, a reversed axis, a shrunk axis), SPLIT, SPLIT_V and UNPACK (float in both files:
    the converter dequantizes around it)."""
    desc = matches_litert(FIELD / f"slicing_{kind}.tflite", tmp_path)
    layers = [layer["op"] for layer in desc["layers"]]
    # the three UNPACK outputs the model reads (the other five are pruned), SPLIT's two, SPLIT_V's two, four slices
    assert layers.count("strided_slice") == 3 + 2 + 2 + 4


def _int8_unpack(path: Path, axis: int) -> Path:
    """UNPACK of an int8 [2, 3, 4] along `axis`, every output a graph output."""
    shape = (2, 3, 4)
    piece = tuple(d for a, d in enumerate(shape) if a != axis % len(shape))
    q = dict(type=tw.INT8, scale=0.05, zero_point=-3)
    outs = [tw.T(f"part{k}", piece, **q) for k in range(shape[axis])]
    model = tw.Model([tw.T("x", shape, **q)] + outs,
                     [tw.Op(UNPACK, [0], list(range(1, len(outs) + 1)), UNPACK_OPTIONS,
                            options=((0, "i32", len(outs)), (1, "i32", axis)))],
                     inputs=[0], outputs=list(range(1, len(outs) + 1)))
    path.write_bytes(tw.write(model))
    return path


@pytest.mark.toolchain
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_int8_unpack_matches_litert(axis, tmp_path, tmp_cache):
    matches_litert(_int8_unpack(tmp_path / f"unpack{axis % 3}.tflite", axis), tmp_path, samples=2)


@pytest.mark.toolchain
def test_int8_slice_with_a_size_to_the_end_matches_litert(tmp_path, tmp_cache):
    """SLICE (tf.slice), begin [0, 1, 2] and size [-1, 2, -1] of an int8 [2, 4, 5]."""
    ints, q = dict(type=tw.INT32), dict(type=tw.INT8, scale=0.1, zero_point=4)
    model = tw.Model([tw.T("x", (2, 4, 5), **q), tw.T("begin", (3,), data=np.array([0, 1, 2], np.int32), **ints),
                      tw.T("size", (3,), data=np.array([-1, 2, -1], np.int32), **ints), tw.T("y", (2, 2, 3), **q)],
                     [tw.Op(SLICE, [0, 1, 2], [3], SLICE_OPTIONS)], inputs=[0], outputs=[3])
    path = tmp_path / "slice.tflite"
    path.write_bytes(tw.write(model))
    matches_litert(path, tmp_path, samples=2)


def test_strided_slice_with_an_ellipsis_is_refused_by_name(tmp_path):
    """A mask the converter resolves for Keras (ellipsis) is refused, naming the operator and the mask."""
    ints = dict(type=tw.INT32)
    model = tw.Model([tw.T("x", (1, 4, 4, 2)), tw.T("b", (2,), data=np.array([0, 1], np.int32), **ints),
                      tw.T("e", (2,), data=np.array([0, 3], np.int32), **ints),
                      tw.T("s", (2,), data=np.array([1, 1], np.int32), **ints), tw.T("y", (1, 4, 4, 2))],
                     [tw.Op(STRIDED_SLICE, [0, 1, 2, 3], [4], STRIDED_SLICE_OPTIONS, options=((2, "i32", 1),))],
                     inputs=[0], outputs=[4])
    path = tmp_path / "ellipsis.tflite"
    path.write_bytes(tw.write(model))
    with pytest.raises(UnsupportedOpError, match=r"#0 STRIDED_SLICE \('y'\): ellipsis_mask 1 / new_axis_mask 0 are not supported"):
        load(path)


def _dynamic_batch_flatten(path: Path) -> Path:
    """Keras's Flatten as the converter writes it for a model with a dynamic batch (MobileNetV3's top): the new
    shape [batch, -1] computed at run time, SHAPE -> STRIDED_SLICE (element 0, shrunk to a scalar) -> PACK with
    -1 -> RESHAPE's shape input; then a RELU of the flattened [1, 12]."""
    ints = dict(type=tw.INT32)
    one = lambda v: np.array([v], np.int32)  # noqa: E731
    model = tw.Model([tw.T("x", (1, 2, 2, 3)), tw.T("shape", (4,), **ints), tw.T("begin", (1,), data=one(0), **ints),
                      tw.T("end", (1,), data=one(1), **ints), tw.T("stride", (1,), data=one(1), **ints),
                      tw.T("batch", (), **ints), tw.T("rest", (), data=np.array(-1, np.int32), **ints),
                      tw.T("new_shape", (2,), **ints), tw.T("flat", (1, 12)), tw.T("y", (1, 12))],
                     [tw.Op(SHAPE, [0], [1], SHAPE_OPTIONS, options=((0, "u8", tw.INT32),)),
                      tw.Op(STRIDED_SLICE, [1, 2, 3, 4], [5], STRIDED_SLICE_OPTIONS, options=((4, "i32", 1),)),
                      tw.Op(PACK, [5, 6], [7], PACK_OPTIONS, options=((0, "i32", 2), (1, "i32", 0))),
                      tw.Op(RESHAPE, [0, 7], [8]), tw.Op(RELU, [8], [9])],
                     inputs=[0], outputs=[9])
    path.write_bytes(tw.write(model))
    return path


@pytest.mark.toolchain
def test_flatten_with_a_run_time_shape_compiles_and_matches_litert(tmp_path, tmp_cache):
    """RESHAPE takes its static output shape; what computes its shape input at run time (SHAPE, PACK: operators
    the compiler does not have) is not needed and not converted."""
    desc = matches_litert(_dynamic_batch_flatten(tmp_path / "flatten.tflite"), tmp_path, samples=2)
    assert [layer["op"] for layer in desc["layers"]] == ["reshape", "relu"]


def test_operator_code_index_out_of_range_is_refused_naming_it(tmp_path):
    """An operator whose opcode_index is past the model's operator codes: refused with the index and the count."""
    model = tw.Model([tw.T("x", (1, 4)), tw.T("h", (1, 4)), tw.T("y", (1, 4))],
                     [tw.Op(RELU, [0], [1]), tw.Op(HARD_SWISH, [1], [2])], inputs=[0], outputs=[2])
    buf = bytearray(tw.write(model))
    op = tflite.Model.GetRootAsModel(bytes(buf), 0).Subgraphs(0).Operators(1)
    struct.pack_into("<I", buf, op._tab.Pos + op._tab.Offset(4), 7)  # Operator.opcode_index
    path = tmp_path / "bad_code.tflite"
    path.write_bytes(bytes(buf))
    with pytest.raises(ModelError, match=r"bad_code.tflite: operator code index 7 out of range \(2 operator codes\)"):
        load(path)


def test_operators_still_missing_are_refused_in_one_grouped_message():
    """A converted model with two CUMSUM and a GELU: one error, a heading and a line per operator type."""
    with pytest.raises(UnsupportedOpError) as refused:
        load(FIELD / "unsupported_float.tflite")
    lines = str(refused.value).splitlines()
    assert lines[0].endswith("3 nodes cannot be compiled, of 2 operator types:"), lines
    assert "operator CUMSUM is not supported: 2 nodes (#0 " in lines[1] and ", #1 " in lines[1], lines
    assert "operator #2 GELU" in lines[2] and len(lines) == 3, lines


@pytest.mark.toolchain
@pytest.mark.parametrize("kind", ["int8", "float"])
def test_prelu_matches_litert(kind, tmp_path, tmp_cache):
    """Keras PReLU: a slope per element ([8, 8, 4]) and one shared over H and W ([1, 1, 4], some negative)."""
    desc = matches_litert(FIELD / f"prelu_{kind}.tflite", tmp_path)
    assert [layer["op"] for layer in desc["layers"]].count("prelu") == 2


SLOW = pytest.mark.slow  # a few seconds each: the larger models' compiles


@pytest.mark.toolchain
@pytest.mark.parametrize("kind", [pytest.param("int8", marks=SLOW), pytest.param("float", marks=SLOW)])
def test_resize_and_tile_match_litert(kind, tmp_path, tmp_cache):
    """UpSampling2D nearest (RESHAPE + TILE) and bilinear, Resizing up and down (half-pixel centres),
    align_corners, neither flag, and a plain TILE."""
    layers = [layer["op"] for layer in matches_litert(FIELD / f"resize_{kind}.tflite", tmp_path)["layers"]]
    assert (layers.count("resize_bilinear"), layers.count("resize_nearest"), layers.count("tile")) == (5, 3, 3)


@pytest.mark.toolchain
@pytest.mark.parametrize("kind", [pytest.param("int8", marks=SLOW), "float"])
def test_transpose_conv_matches_litert(kind, tmp_path, tmp_cache):
    """Conv2DTranspose: stride 2 SAME with a fused ReLU, stride 2 VALID (2x2 kernel), stride 1 VALID (3x3,
    8 -> 10), each with a bias."""
    desc = matches_litert(FIELD / f"transpose_conv_{kind}.tflite", tmp_path, samples=2)
    assert [layer["op"] for layer in desc["layers"]].count("transpose_conv2d") == 3


def test_transpose_conv_bias_of_the_wrong_size_is_refused_naming_the_node(tmp_path):
    """A bias with fewer values than output channels would be read past its end: refused at import."""
    ints = dict(type=tw.INT32)
    model = tw.Model([tw.T("shape", (4,), data=np.array([1, 8, 8, 3], np.int32), **ints),
                      tw.T("w", (3, 3, 3, 2), data=np.ones((3, 3, 3, 2), np.float32)), tw.T("x", (1, 4, 4, 2)),
                      tw.T("b", (2,), data=np.ones(2, np.float32)), tw.T("y", (1, 8, 8, 3))],
                     [tw.Op(TRANSPOSE_CONV, [0, 1, 2, 3], [4], TRANSPOSE_CONV_OPTIONS,
                            options=((0, "i8", 0), (1, "i32", 2), (2, "i32", 2)))],
                     inputs=[2], outputs=[4])
    path = tmp_path / "tconv_bias.tflite"
    path.write_bytes(tw.write(model))
    with pytest.raises(ModelError, match=r"node 'y' \(transpose_conv2d\): bias \[2\] must hold one value per "
                                         r"output channel \(3\)"):
        load(path)


@pytest.mark.toolchain
def test_combined_float_block_matches_litert(tmp_path, tmp_cache):
    matches_litert(FIELD / "combined_float.tflite", tmp_path)


COMBINED_OPS = {"conv2d", "hard_swish", "prelu", "strided_slice", "tile", "resize_bilinear", "add"}


@pytest.fixture(scope="module")
def combined_m4(tmp_path_factory, tmp_cache):
    """The int8 MobileNetV3-shaped block (conv, hard_swish, prelu, split, strided slice, UpSampling2D's tiles,
    bilinear resize, add) compiled once for a Cortex-M4."""
    return compile_model(FIELD / "combined_int8.tflite", "cortex-m4", tmp_path_factory.mktemp("combined") / "m4")


@pytest.mark.toolchain
def test_combined_int8_block_compiles_for_cortex_m4_and_matches_litert_on_the_host(combined_m4, tmp_path):
    assert COMBINED_OPS <= _ops(combined_m4.desc)
    matches_litert(FIELD / "combined_int8.tflite", tmp_path)


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_combined_int8_block_bit_exact_on_cortex_m4_under_qemu(combined_m4, tmp_path):
    from edgeai.runtime.device import QemuSession

    reference = LiteRTSession(reference_copy(FIELD / "combined_int8.tflite", tmp_path))
    with QemuSession(combined_m4.path, "cortex-m4") as session:
        for x in _inputs(reference.inputs[0], 2, seed=7):
            np.testing.assert_array_equal(session.run([x])[0], reference.run([x])[0])
