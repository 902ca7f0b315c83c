"""Layers whose window is longer than the Cortex-M kernels' patch (kh*kw*C > MAX_PATCH 1152 bytes), on Cortex-M
under QEMU: instructions per layer (exact icount plugin) of the tiled kernel (nn_s8.c: conv_s8_tiled) against the
same layers on TVM's generic kernel (the same target without its hand-written kernels, built and run in the same
session), each build checked bit-exact against LiteRT.

The model (written here with tests/fuzz/tflite_writer, random weights, per-channel scales): a residual block of a
wide ResNet, 73 M MACs: 12x12x32 → 3x3 conv to 160 channels, relu → two 3x3 convs over 160 channels (the long
windows: 1,440 bytes), relu between → ADD with the block's input → 12x12 average pool → fully connected over 160,
and a classifier head over 1,280 features (MobileNetV2's width; a row longer than the patch) into 100 classes.

    .venv/bin/python benchmarks/cortex_m4/long_windows.py [--target cortex-m4] [--weights int8]
                                                          [--out benchmarks/cortex_m4/results_long_windows.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from fuzz import tflite_writer as tw  # noqa: E402

ADD, AVERAGE_POOL_2D, CONV_2D, FULLY_CONNECTED = 0, 1, 3, 9  # BuiltinOperator
ADD_OPTIONS, POOL_OPTIONS, CONV_OPTIONS, FC_OPTIONS = 11, 5, 1, 8  # BuiltinOptions
SAME, VALID, RELU = 0, 1, 1


def _conv(t, ops, x, o, k, rng, relu, out_scale):
    _, h, w, c = t[x].shape
    s_w = rng.uniform(0.0008, 0.0012, o)
    n = len(t)
    t += [tw.T(f"conv{n}/w", (o, k, k, c), tw.INT8, rng.integers(-127, 128, (o, k, k, c), dtype=np.int8),
               tuple(s_w), 0),
          tw.T(f"conv{n}/b", (o,), tw.INT32, rng.integers(-2000, 2000, o).astype(np.int32), tuple(t[x].scale * s_w), 0),
          tw.T(f"conv{n}/y", (1, h, w, o), tw.INT8, scale=out_scale, zero_point=-128 if relu else 0)]
    ops.append(tw.Op(CONV_2D, [x, n, n + 1], [n + 2], CONV_OPTIONS,
                     options=((0, "i8", SAME), (1, "i32", 1), (2, "i32", 1), (3, "i8", RELU if relu else 0))))
    return n + 2


def _fc(t, ops, x, o, rng, out_scale):
    k = int(np.prod(t[x].shape[1:]))
    n = len(t)
    t += [tw.T(f"fc{n}/w", (o, k), tw.INT8, rng.integers(-127, 128, (o, k), dtype=np.int8), 0.001, 0),
          tw.T(f"fc{n}/b", (o,), tw.INT32, rng.integers(-2000, 2000, o).astype(np.int32), t[x].scale * 0.001, 0),
          tw.T(f"fc{n}/y", (1, o), tw.INT8, scale=out_scale, zero_point=0)]
    ops.append(tw.Op(FULLY_CONNECTED, [x, n, n + 1], [n + 2], FC_OPTIONS, options=((0, "i8", 0),)))
    return n + 2


def build_model(path: Path) -> Path:
    """The wide residual block and the 1,280-feature head (see the module's text)."""
    rng = np.random.default_rng(160)
    t = [tw.T("image", (1, 12, 12, 32), tw.INT8, scale=0.02, zero_point=-3),
         tw.T("features", (1, 1280), tw.INT8, scale=0.05, zero_point=-128)]
    ops = []
    a = _conv(t, ops, 0, 160, 3, rng, True, 0.05)
    b = _conv(t, ops, a, 160, 3, rng, True, 0.08)
    c = _conv(t, ops, b, 160, 3, rng, False, 0.1)
    n = len(t)
    t.append(tw.T("block/sum", (1, 12, 12, 160), tw.INT8, scale=0.1, zero_point=-128))
    ops.append(tw.Op(ADD, [a, c], [n], ADD_OPTIONS, options=((0, "i8", RELU),)))
    t.append(tw.T("pool", (1, 1, 1, 160), tw.INT8, scale=0.1, zero_point=-128))
    ops.append(tw.Op(AVERAGE_POOL_2D, [n], [n + 1], POOL_OPTIONS,
                     options=((0, "i8", VALID), (1, "i32", 1), (2, "i32", 1), (3, "i32", 12), (4, "i32", 12))))
    logits = _fc(t, ops, n + 1, 10, rng, 0.05)
    head = _fc(t, ops, 1, 100, rng, 0.5)
    path.write_bytes(tw.write(tw.Model(t, ops, inputs=[0, 1], outputs=[logits, head])))
    return path


def measure(path: Path, target, weights: str, work: Path) -> dict:
    from edgeai.bench.per_layer import per_layer_instructions
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    compiled = compile_model(path, target, work, weights=weights)
    ref = LiteRTSession(path)
    rng = np.random.default_rng(0)
    xs = [rng.integers(-128, 128, size=s.shape).astype(np.int8) for s in ref.inputs]
    want = ref.run(xs)
    with QemuSession(compiled.path, target) as session:
        got = session.run(xs)
        instructions = session.stats.instructions
    layers = per_layer_instructions(compiled.path, target, xs)
    return {"instructions": int(instructions),
            "bit_exact": all(np.array_equal(g, w) for g, w in zip(got, want, strict=True)),
            "saturated_share": float(np.mean(np.concatenate([np.abs(w.astype(np.int32)).ravel() >= 127
                                                              for w in want]))),
            "layers": [{"node": r["node"], "op": r["op"], "symbol": r["symbol"], "macs": r.get("macs"),
                        "instructions": r["instructions"]} for r in layers]}


def main(argv=None) -> int:
    from edgeai.targets import load_target

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="cortex-m4")
    parser.add_argument("--weights", default="int8", choices=("int8", "int16", "auto"))
    parser.add_argument("--out", type=Path, default=HERE / "results_long_windows.json")
    args = parser.parse_args(argv)
    target = load_target(args.target)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = build_model(work / "wide_resnet_block.tflite")
        fast = measure(path, target, args.weights, work / "fast")
        generic = measure(path, dataclasses.replace(target, isa=()), args.weights, work / "generic")
    rows = []
    for f, g in zip(fast["layers"], generic["layers"], strict=True):
        rows.append({"node": f["node"], "op": f["op"], "macs": f["macs"], "kernel": f["symbol"],
                     "instructions": f["instructions"], "generic_kernel": g["symbol"],
                     "generic_instructions": g["instructions"]})
    result = {"target": args.target, "weights": args.weights, "model": "wide_resnet_block (benchmarks/cortex_m4/"
              "long_windows.py)", "instructions": fast["instructions"],
              "generic_instructions": generic["instructions"], "bit_exact": fast["bit_exact"],
              "generic_bit_exact": generic["bit_exact"], "saturated_share": fast["saturated_share"], "layers": rows}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{'layer':44} {'MACs':>11} {'kernel':30} {'instructions':>13} {'MACs/instr':>10} "
          f"{'generic':>13} {'MACs/instr':>10}")
    for r in rows:
        macs = r["macs"] or 0
        print(f"{r['node'][:44]:44} {macs:>11,} {r['kernel'][:30]:30} {r['instructions']:>13,} "
              f"{macs / r['instructions']:>10.3f} {r['generic_instructions']:>13,} "
              f"{macs / r['generic_instructions']:>10.3f}")
    print(f"whole model: {fast['instructions']:,} instructions (bit-exact: {fast['bit_exact']}), generic kernels "
          f"{generic['instructions']:,} (bit-exact: {generic['bit_exact']}); outputs saturated: "
          f"{fast['saturated_share']:.1%}; written to {args.out}")
    return 0 if fast["bit_exact"] and generic["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
