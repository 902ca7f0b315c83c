"""Byte-flip fuzz of the whole compiler against the reference runtimes, bounded and deterministic.

A fixed number of mutants of one real TFLite and one real ONNX model (kws_ref_model; the ONNX one up to its
logits) (one byte XORed with a non-zero value at
a position drawn from a fixed seed, anywhere in the file: structure, quantization or weights) go through both the
reference runtime (LiteRT's reference kernels, onnxruntime) and `compile_model` for the host. Each mutant must
end one of two ways: refused by us with an EdgeAIError whose message names the file, or compiled to a library
whose outputs agree with the reference (bit-exact for TFLite, within 1 LSB of onnxruntime for the QDQ model,
which onnxruntime runs unoptimized: as the QDQ graph says, not as its fused QLinearConv approximates it).
A mutant the reference refuses (its verifier, interpreter builder, op preparation or the run) must be refused by
us too. Any other exception is an internal error and fails the test.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import model_path, tflite
from edgeai.compile import compile_model
from edgeai.errors import EdgeAIError
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession
from edgeai.validate import random_inputs

pytestmark = [pytest.mark.slow, pytest.mark.toolchain]

MUTANTS = 150  # per model: ~80 s each on an idle 2-core machine
SEED = 20261201
INPUTS = 2  # per mutant that compiles: each output element is a function of many weights, so two inputs see most


@pytest.fixture(autouse=True)
def generic_host_kernels(monkeypatch):
    """The mutants are built with the host's portable kernels (no instruction set): what is fuzzed is import,
    checking and lowering, and the x86 kernels' sources take ~10 s per build under UBSan, 150 builds per model.
    tests/test_x86_kernels.py checks those kernels bit-exact on each of their paths."""
    import dataclasses

    from edgeai import targets

    real = targets.load_target
    monkeypatch.setattr(targets, "load_target",
                        lambda name: dataclasses.replace(real(name), isa=()) if name == "host" else real(name))


def byte_flips(data: bytes, count: int, seed: int):
    """(position, value, mutant bytes) for `count` single-byte XORs, the same ones for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        pos, value = rng.randrange(len(data)), rng.randrange(1, 256)
        buf = bytearray(data)
        buf[pos] ^= value
        yield pos, value, bytes(buf)


def reference_outputs(make_session, path: Path, inputs_seed: int):
    """The reference's outputs on INPUTS random inputs, or None when it refuses the model (at load or run)."""
    try:
        session = make_session(path)
        inputs = random_inputs(session.inputs, INPUTS, seed=inputs_seed)
        return inputs, [session.run(x) for x in inputs]
    except EdgeAIError:  # the sessions report their runtime's refusal at load as ModelError
        return None
    except (RuntimeError, ValueError):  # a refusal at invoke (a kernel's check)
        return None


def fuzz_against(source: Path, make_session, agree, tmp_path: Path) -> Counter:
    outcomes: Counter = Counter()
    failures = []
    path = tmp_path / f"mutant{source.suffix}"
    for k, (pos, value, data) in enumerate(byte_flips(source.read_bytes(), MUTANTS, SEED)):
        what = f"mutant {k} (byte {pos} ^= {value:#04x})"
        path.write_bytes(data)
        ref = reference_outputs(make_session, path, inputs_seed=k)
        try:
            lib = compile_model(path, "host", out_dir=tmp_path / "lib")
        except EdgeAIError as e:
            outcomes["refused"] += 1
            if str(path) not in str(e):
                failures.append(f"{what}: refused without naming the file: {e}")
            continue
        except Exception as e:  # an internal error: the compiler broke on a model it should refuse or compile
            failures.append(f"{what}: internal error {type(e).__name__}: {e}")
            continue
        if ref is None:
            failures.append(f"{what}: the reference refuses it, we compiled it")
            continue
        outcomes["compiled"] += 1
        ours = HostSession(lib.path)  # a library that does not build (warnings are errors) fails the test
        for x, want in zip(*ref):
            got = ours.run(x)
            problem = agree(got, want)
            if problem:
                failures.append(f"{what}: {problem}")
                break
    assert not failures, f"{len(failures)} of {MUTANTS} mutants of {source.name} fail:\n" + "\n".join(failures[:10])
    return outcomes


def bit_exact(got, want) -> str | None:
    for g, w in zip(got, want):
        w = w.reshape(g.shape)
        if not np.array_equal(g, w):
            return f"differs from LiteRT by up to {int(np.abs(g.astype(int) - w.astype(int)).max())} LSB"
    return None


def within_one_lsb(got, want) -> str | None:
    for g, w in zip(got, want):
        w = w.reshape(g.shape)
        lsb = int(np.abs(g.astype(int) - w.astype(int)).max())
        if lsb > 1:
            return f"differs from onnxruntime by {lsb} LSB"
    return None


def test_byte_flips_of_a_tflite_model_are_refused_or_bit_exact(tmp_path):
    outcomes = fuzz_against(tflite("kws_ref_model"), LiteRTSession, bit_exact, tmp_path)
    # both outcomes occur, or the fuzz tests only one side of the contract
    assert outcomes["compiled"] >= MUTANTS // 4 and outcomes["refused"] >= 10, outcomes


def kws_logits_onnx(folder: Path) -> Path:
    """kws_ref_model.onnx up to its int8 logits: the softmax after them turns one logit LSB into up to 22 output
    LSB (README, Numerics), so agreement within 1 LSB is judged where it is the bound, before the softmax."""
    import onnx

    model = onnx.load(model_path("kws_ref_model.onnx"))
    g = model.graph
    assert [n.op_type for n in g.node[-3:]] == ["DequantizeLinear", "Softmax", "QuantizeLinear"]
    logits = g.node[-4].output[0]
    del g.node[-3:]
    out = onnx.helper.make_tensor_value_info(logits, onnx.TensorProto.INT8, [1, 12])
    del g.output[:]
    g.output.append(out)
    used = {name for node in g.node for name in node.input}
    kept = [init for init in g.initializer if init.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    path = folder / "kws_logits.onnx"
    onnx.save(model, path)
    return path


def test_byte_flips_of_an_onnx_model_are_refused_or_agree(tmp_path):
    source = kws_logits_onnx(tmp_path)
    outcomes = fuzz_against(source, lambda p: OnnxRuntimeSession(p, optimize=False), within_one_lsb, tmp_path)
    assert outcomes["compiled"] >= MUTANTS // 4 and outcomes["refused"] >= 10, outcomes
