"""Per-layer instruction counts of a compiled library on a Cortex-M target under QEMU.

    per_layer_instructions(lib_dir, target) -> [{"index", "node", "op", "symbol", "macs", "instructions",
                                                 "macs_per_instruction"}, ...]

The counting lives in edgeai.bench.per_layer (also `edgeai bench --per-layer`). Run as a script for a table:

    .venv/bin/python benchmarks/cortex_m4/per_layer.py models/mlperf_tiny/kws_ref_model.tflite [target]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


from edgeai.bench.per_layer import format_table, per_layer_instructions  # noqa: E402


def main(argv: list[str]) -> int:
    import tempfile

    from edgeai.compile import compile_model

    if not argv:
        print(__doc__)
        return 2
    model, target = argv[0], argv[1] if len(argv) > 1 else "cortex-m4"
    with tempfile.TemporaryDirectory() as tmp:
        compiled = compile_model(model, target, Path(tmp) / "lib")
        print(format_table(per_layer_instructions(compiled.path, target)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
