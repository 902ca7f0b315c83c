"""Instructions per inference of edgeai's firmware on rpi4/rpi5, under qemu-aarch64 with the icount plugin.

QemuSession (and so `edgeai bench`) runs aarch64 firmware under Debian's dynamic qemu-aarch64 (package qemu-user)
on the target's CPU with targets/qemu/icount_plugin.c between edgeai_mark_begin/end; this script adds the per-layer
profile and checks every output bit-exact against LiteRT.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/neon/count_rpi.py rpi4 ad01_int8 [kws_ref_model ...]
    ... count_rpi.py --per-layer rpi5 kws_ref_model      (one region per layer: edgeai.bench.per_layer's hooks)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from edgeai import models_root
from edgeai.compile import compile_model
from edgeai.emulator import read_counts
from edgeai.runtime.device import QemuSession, build_firmware
from edgeai.runtime.reference import LiteRTSession
from edgeai.validate import random_inputs

MODELS = models_root() / "mlperf_tiny"  # the repository's models/ (or $EDGEAI_MODELS)


def counting_session(lib_dir, target: str, elf: Path) -> tuple[QemuSession, Path]:
    """A QemuSession whose firmware runs under qemu-aarch64 with the plugin (the session's own, on the target's
    CPU, when qemu-user is installed); returns it and the plugin's count file."""
    session = QemuSession(lib_dir, target, elf=elf)
    if session.emulator.count_file is None:
        session.close()
        sys.exit("counting needs Debian's dynamic qemu-aarch64 (apt-get install qemu-user)")
    return session, session.emulator.count_file


def profiling_firmware(lib_dir: Path, target: str) -> Path:
    """The firmware with every layer one plugin region (compilers/c/runtime/profile_hooks.c)."""
    from edgeai import REPO_ROOT
    from edgeai.build import build_program
    from edgeai.firmware import RUNTIME_DIR, bench_binding, firmware_sources
    from edgeai.runtime.device import HOST_PORT, PORTS_DIR
    from edgeai.targets import load_target

    tgt = load_target(target)
    return build_program(tgt, firmware_sources(lib_dir) + [HOST_PORT, RUNTIME_DIR / "profile_hooks.c"],
                         lib_dir / "build", include_dirs=[lib_dir, RUNTIME_DIR, PORTS_DIR, REPO_ROOT / "targets" / "common"],
                         defines={"EDGEAI_PROFILE": None}, name=f"profile-{tgt.name}",
                         generated=bench_binding(lib_dir, tgt.clock_hz or 0, tgt.name))


def measure(name: str, target: str, samples: int = 2, per_layer: bool = False):
    path = MODELS / f"{name}.tflite"
    compiled = compile_model(path, target)
    elf = profiling_firmware(compiled.path, target) if per_layer else build_firmware(compiled.path, target)
    if per_layer:
        samples = 1
    reference = LiteRTSession(str(path))
    session, count_file = counting_session(compiled.path, target, elf)
    counts = []
    with session:
        for x in random_inputs(reference.inputs, samples, seed=21):
            got, want = session.run(x)[0], reference.run(x)[0]
            if not np.array_equal(got, want):
                raise SystemExit(f"{name} on {target}: not bit-exact (max diff "
                                 f"{np.abs(got.astype(int) - want.astype(int)).max()} LSB)")
            for _ in range(50):
                counts = read_counts(count_file)
                if len(counts) >= 1:
                    break
                time.sleep(0.1)
        if per_layer:
            time.sleep(0.5)
        counts = read_counts(count_file)  # before the session ends: closing it removes the file
    if per_layer:
        return compiled.desc["layers"], counts
    return counts[-1]


if __name__ == "__main__":
    args = sys.argv[1:]
    per_layer = args[0] == "--per-layer"
    tgt, models = args[per_layer], args[per_layer + 1:]
    for model in models:
        if per_layer:
            layers, counts = measure(model, tgt, per_layer=True)
            for i, (layer, n) in enumerate(zip(layers, counts)):
                print(f"{i:3} {layer['op']:<18} {layer['symbol'][:28]:<28} {layer.get('macs', 0):>10,} {n:>12,}")
            print(f"{tgt} {model} total {sum(counts):,}", flush=True)
        else:
            print(f"{tgt} {model} {measure(model, tgt):,}", flush=True)
