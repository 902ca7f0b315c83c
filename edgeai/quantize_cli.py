"""`edgeai quantize`: parse the arguments and call edgeai.quantize.quantize.

Wired into edgeai/cli.py with `add_parser(subparsers)`; `run(args)` returns the exit code. It lives outside
the edgeai.quantize package so that building the CLI parser does not import onnx and onnxruntime.
"""

from __future__ import annotations

import json
from pathlib import Path



def add_parser(subparsers):
    p = subparsers.add_parser(
        "quantize", help="post-training static int8 quantization of a float ONNX model (writes QDQ ONNX)",
        description="Calibrate a float ONNX model on a folder of .npy/.npz files or images and write a QDQ "
                    "ONNX model (int8 activations, per-channel int8 weights, int32 bias), with a per-layer "
                    "error report against the float model.")
    p.add_argument("model", help="float ONNX model")
    p.add_argument("--calibration", required=True, metavar="DIR",
                   help="folder of .npy (one sample or a batch [N, ...] per file), .npz (one array per input "
                        "name) or images (needs Pillow)")
    p.add_argument("-o", "--output", metavar="OUT", help="QDQ model to write (default: MODEL_int8.onnx)")
    p.add_argument("--observer", default="minmax", help="activation range observer: minmax, percentile or entropy")
    p.add_argument("--percentile", type=float, default=99.99, help="percentile for --observer percentile")
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor, not per channel")
    p.add_argument("--float-layer", action="append", default=[], metavar="NAME",
                   help="node that stays float (repeatable)")
    p.add_argument("--validation", metavar="DIR", help="held-out inputs for the report (default: calibration)")
    p.add_argument("--image-range", nargs=2, type=float, default=(0.0, 1.0), metavar=("LO", "HI"),
                   help="float range pixels 0..255 map to (default 0 1)")
    p.add_argument("--max-samples", type=int, help="use at most this many calibration samples")
    p.add_argument("--compare-ort", action="store_true",
                   help="also quantize with onnxruntime's quantize_static and say which is closer to float")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from edgeai.errors import EdgeAIError
    from edgeai.quantize import quantize
    from edgeai.quantize.observers import OBSERVERS

    if args.observer not in OBSERVERS:
        raise EdgeAIError(f"--observer {args.observer!r}: choose one of {', '.join(OBSERVERS)}")

    from edgeai import progress
    from edgeai.quantize import QUANTIZE_STAGES

    out = Path(args.output) if args.output else Path(args.model).with_name(Path(args.model).stem + "_int8.onnx")
    with progress.Stages(QUANTIZE_STAGES, "quantize", progress.wanted(args.json)) as stages:
        result = quantize(args.model, args.calibration, out, observer=args.observer,
                          per_channel=not args.per_tensor, float_layers=tuple(args.float_layer),
                          percentile=args.percentile, validation=args.validation, compare_ort=args.compare_ort,
                          image_range=tuple(args.image_range), max_samples=args.max_samples, progress=stages)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(result.report.to_text())
    if result.comparison is not None:
        print()
        print(result.comparison.to_text())
    print()
    print(f"wrote {result.path}")
    return 0
