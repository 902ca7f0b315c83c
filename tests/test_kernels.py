"""Kernel tests: edgeai's TVM kernels against LiteRT's reference kernels, layer by layer on the real
MLPerf Tiny models (int8 bit-exact, float32 within 1e-5 relative), plus the C calling convention."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # compilers/, when not installed
import kernels_golden as kg  # noqa: E402

pytestmark = pytest.mark.toolchain

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

INT8_MODELS = ["kws_ref_model.tflite", "vww_96_int8.tflite", "pretrainedResnet_quant.tflite", "ad01_int8.tflite"]
FLOAT_MODELS = ["kws_ref_model_float32.tflite", "vww_96_float.tflite", "pretrainedResnet.tflite", "ad01_fp32.tflite"]


# --- multiplier math --------------------------------------------------------------------------


def test_quantize_multiplier_matches_tflite_examples():
    from compilers.tvm.requant import quantize_multiplier

    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.25) == (1 << 30, -1)
    # Rounds q * 2**31 half away from zero, and renormalises when that reaches 2**31.
    assert quantize_multiplier(1.0 - 2.0**-40) == (1 << 30, 1)
    assert quantize_multiplier(-0.5) == (-(1 << 30), 0)
    assert quantize_multiplier(2.0**-40) == (0, 0)  # shift < -31 flushes to zero


def test_add_quant_params_left_shift_20():
    from compilers.tvm.requant import add_quant_params

    p = add_quant_params(0.5, 0.25, 0.5)
    assert p.left_shift == 20
    assert (p.input1_multiplier, p.input1_shift) == (1 << 30, 0)  # 0.5
    assert (p.input2_multiplier, p.input2_shift) == (1 << 30, -1)  # 0.25


# --- calling convention -----------------------------------------------------------------------


def _small_kernels():
    from compilers.tvm.kernels.avg_pool2d import AvgPool2DParams, avg_pool2d_int8
    from compilers.tvm.kernels.conv2d import Conv2DParams, conv2d_int8

    conv = conv2d_int8("edgeai_k0", Conv2DParams((1, 5, 5, 3), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1, 1, 1), -3, 5))
    pool = avg_pool2d_int8("edgeai_k1", AvgPool2DParams((1, 4, 4, 2), (3, 3), (1, 1), (1, 1, 1, 1)))
    return [conv, pool]


def test_generated_c_has_plain_prototypes_and_no_workspace():
    from compilers.tvm.build import build_c_source

    src = build_c_source(_small_kernels())
    assert (
        "int32_t edgeai_k0(const int8_t* input, const int8_t* filter, const int32_t* bias, "
        "const int32_t* multiplier, const int32_t* shift, int8_t* restrict output)" in src
    )
    assert "int32_t edgeai_k1(const int8_t* input, int8_t* restrict output)" in src
    assert "__tvm_ffi_main" not in src
    assert "TVMBackendAllocWorkspace(" not in src
    assert "TVMFFIAny" not in src


@needs_gcc
def test_generated_c_compiles_warning_free_c99(tmp_path):
    from compilers.tvm.build import build_c_source

    c = tmp_path / "k.c"
    c.write_text(build_c_source(_small_kernels()))
    kg.compile_so([c, kg.C_KERNELS / "portable" / "softmax_int8.c", kg.C_KERNELS / "portable" / "softmax_float.c"], tmp_path / "k.so")
    lib = ctypes.CDLL(str(tmp_path / "k.so"))
    # all-zero input at zero point -3, with padding: padded points contribute nothing either.
    x = np.full((1, 5, 5, 3), -3, np.int8)
    w = np.ones((4, 3, 3, 3), np.int8)
    bias = np.arange(4, dtype=np.int32)
    mult, shift = np.full(4, 1 << 30, np.int32), np.full(4, 1, np.int32)  # scale 1.0
    out = np.zeros((1, 3, 3, 4), np.int8)
    ptrs = [ctypes.c_void_p(a.ctypes.data) for a in (x, w, bias, mult, shift, out)]
    assert lib.edgeai_k0(*ptrs) == 0
    np.testing.assert_array_equal(out[0, 1, 1], np.arange(4) + 5)


# --- real models, layer by layer --------------------------------------------------------------


def _check_model(model_name: str, exact: bool):
    built = kg.build_model(model_name)
    checked = 0
    for layer in built.layers:
        if layer.kernel is None:
            continue
        got, ref = kg.run_layer(built, layer), layer.outputs[0]
        where = f"{model_name} op {layer.index} {layer.op}"
        if exact:
            diff = np.abs(got.astype(np.int32) - ref.astype(np.int32))
            assert diff.max() == 0, f"{where}: {np.count_nonzero(diff)} of {diff.size} differ, max {diff.max()} LSB"
        else:
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * float(np.abs(ref).max()), err_msg=where)
        checked += 1
    assert checked > 0
    return checked, [f"{lyr.index} {lyr.op}" for lyr in built.layers if lyr.skipped]


@needs_gcc
def test_kws_int8_every_layer_bit_exact():
    _check_model("kws_ref_model.tflite", exact=True)


@needs_gcc
@pytest.mark.slow
@pytest.mark.parametrize("model", INT8_MODELS[1:])
def test_int8_model_every_layer_bit_exact(model):
    _check_model(model, exact=True)


@needs_gcc
@pytest.mark.slow
@pytest.mark.parametrize("model", FLOAT_MODELS)
def test_float_model_every_layer_close(model):
    checked, skipped = _check_model(model, exact=False)
    if skipped:  # kws_ref_model_float32 stores int8 weights (hybrid CONV_2D): not a float kernel's job
        pytest.xfail(f"{checked} float layers close; hybrid layers not lowered: {skipped}")


@needs_gcc
def test_softmax_int8_matches_litert_on_kws():
    built = kg.build_model("kws_ref_model.tflite")
    (layer,) = [lyr for lyr in built.layers if lyr.op == "SOFTMAX"]
    np.testing.assert_array_equal(kg.run_layer(built, layer), layer.outputs[0])


def test_generated_source_needs_only_tvm_headers_from_the_wheels():
    from compilers.tvm.build import include_dirs

    for d in include_dirs():
        assert Path(d).is_dir(), d
    assert any((Path(d) / "tvm" / "ffi" / "c_api.h").is_file() for d in include_dirs())
    assert any((Path(d) / "tvm" / "runtime" / "c_backend_api.h").is_file() for d in include_dirs())


def test_kernel_name_must_be_c_identifier():
    from compilers.tvm.kernels.add import AddParams, add_float32

    with pytest.raises(ValueError):
        add_float32("not-an-identifier", AddParams((4,)))


@needs_gcc
def test_generated_c_is_gcc_clean_even_with_std_c99_only(tmp_path):
    """The spec's exact flag set, compiled as an object (no link)."""
    from compilers.tvm.build import build_c_source, include_dirs

    c = tmp_path / "k.c"
    c.write_text(build_c_source(_small_kernels()))
    cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-c", str(c), "-o", str(tmp_path / "k.o")]
    cmd += [f"-I{d}" for d in include_dirs()]
    subprocess.run(cmd, check=True)


@needs_gcc
def test_llvm_object_links_and_runs(tmp_path):
    """build_object with a Target JSON dict: the host object links into a .so and computes like the C."""
    import tvm

    from compilers.tvm.build import build_object

    if not tvm.runtime.enabled("llvm"):
        pytest.skip("TVM built without LLVM")
    (conv, _pool) = _small_kernels()
    build_object([conv], {"kind": "llvm"}, tmp_path / "k.o")
    subprocess.run(["gcc", "-shared", str(tmp_path / "k.o"), "-o", str(tmp_path / "k.so")], check=True)
    lib = ctypes.CDLL(str(tmp_path / "k.so"))
    x = np.full((1, 5, 5, 3), -3, np.int8)
    w = np.ones((4, 3, 3, 3), np.int8)
    bias = np.arange(4, dtype=np.int32)
    mult, shift = np.full(4, 1 << 30, np.int32), np.full(4, 1, np.int32)
    out = np.zeros((1, 3, 3, 4), np.int8)
    assert lib.edgeai_k0(*[ctypes.c_void_p(a.ctypes.data) for a in (x, w, bias, mult, shift, out)]) == 0
    np.testing.assert_array_equal(out[0, 1, 1], np.arange(4) + 5)
