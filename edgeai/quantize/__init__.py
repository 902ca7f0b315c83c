"""Post-training static int8 quantization of float ONNX models into QDQ ONNX (the TFLite int8 scheme).

    from edgeai.quantize import quantize
    result = quantize("model.onnx", "calib/", "model_int8.onnx", observer="entropy")
    print(result.report.to_text())

Pipeline: prepare (pin batch 1, fuse MatMul+Add) -> read calibration samples -> run the float model with
every activation exposed and feed observers -> build the QDQ graph -> per-layer report against float
(-> optionally the same with onnxruntime's quantize_static, to compare).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from pathlib import Path

import onnx

from edgeai.errors import DataError, ModelError
from edgeai.quantize.calibration import InputSpec, load_calibration
from edgeai.quantize.compare import Comparison, compare_with_ort
from edgeai.quantize.observers import OBSERVERS
from edgeai.quantize.prepare import load_model, prepare
from edgeai.quantize.qdq import ACTIVATION_INPUTS, QDQResult, build_qdq
from edgeai.quantize.ranges import collect_ranges
from edgeai.quantize.report import Report, layer_report

__all__ = ["quantize", "QuantizationResult", "Report", "Comparison", "OBSERVERS", "InputSpec"]


@dataclass
class QuantizationResult:
    path: Path  # the QDQ ONNX file written
    report: Report  # per-layer SQNR/cosine against float, worst layer
    comparison: Comparison | None = None  # against onnxruntime's quantize_static, when asked
    model: onnx.ModelProto | None = None
    ranges: dict | None = None  # tensor -> (lo, hi) chosen by the observer
    minmax_ranges: dict | None = None  # tensor -> (min, max) seen during calibration

    def to_dict(self) -> dict:
        d = {"path": str(self.path), "report": self.report.to_dict()}
        if self.comparison is not None:
            d["comparison"] = self.comparison.to_dict()
        return d


QUANTIZE_STAGES = ("prepare", "calibrate", "quantize", "report", "compare")


def quantize(model_path, calibration, out_path, observer: str = "minmax", per_channel: bool = True,
             float_layers=(), percentile: float = 99.99, validation=None, compare_ort: bool = False,
             image_range=(0.0, 1.0), max_samples: int | None = None, progress=None) -> QuantizationResult:
    """Quantize a float ONNX model to a QDQ ONNX model at out_path.

    calibration / validation: a folder of .npy/.npz/images, a numpy array (one sample or a batch) or an
    iterable of arrays or {input name: array} dicts. The report (and the onnxruntime comparison) use
    `validation` when given, else the calibration samples.
    float_layers: node names that stay float (no int8 weights, dequantized input, quantized output).
    progress: called with each stage's name (QUANTIZE_STAGES) as it starts.
    """
    step = progress or (lambda stage: None)
    if observer not in OBSERVERS:
        raise DataError(f"unknown observer {observer!r}: choose one of {', '.join(OBSERVERS)}")
    where = str(model_path)
    step("prepare")
    prepared = prepare(load_model(model_path), where)
    samples = load_calibration(calibration, prepared.inputs, image_range, max_samples)
    evaluation = samples if validation is None else load_calibration(validation, prepared.inputs, image_range)
    float_nodes = [prepared.renamed.get(n, n) for n in float_layers]
    step("calibrate")
    ranges, minmax = collect_ranges(prepared.model, samples, observer, percentile)
    step("quantize")
    qdq: QDQResult = build_qdq(prepared.model, ranges, per_channel, float_nodes)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        onnx.save(qdq.model, str(out_path))
    except OSError as exc:
        raise ModelError(f"cannot write {out_path} ({exc})") from exc
    left_float = collections.Counter(n.op_type for n in prepared.model.graph.node
                                     if n.op_type not in ACTIVATION_INPUTS)
    step("report")
    report = layer_report(prepared.model, qdq, evaluation, left_float)
    step("compare")
    comparison = compare_with_ort(prepared.model, qdq.model, samples, evaluation) if compare_ort else None
    return QuantizationResult(out_path, report, comparison, qdq.model, ranges, minmax)


from edgeai._callable import make_callable  # noqa: E402

make_callable(__name__, quantize)
