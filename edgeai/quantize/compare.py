"""Quantize the same model with onnxruntime's quantize_static and say which QDQ model is closer to float.

onnxruntime runs with the settings closest to ours: QDQ format, per-channel int8 weights, int8 activations,
MinMax calibration, on the same prepared float model (batch pinned, MatMul+Add fused) and the same samples,
after its own quant_pre_process. Both are measured on the same evaluation samples against the float model.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import onnx

from edgeai.quantize.prepare import session
from edgeai.quantize.report import OutputError, output_errors


@dataclass
class Comparison:
    ours: list[OutputError]
    onnxruntime: list[OutputError]
    samples: int
    closer: str  # "edgeai" or "onnxruntime" (higher SQNR of the first output)
    margin_db: float
    ort_settings: str

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        from edgeai.table import format_table

        rows = []
        for who, errs in (("edgeai", self.ours), ("onnxruntime", self.onnxruntime)):
            for e in errs:
                top1 = "-" if e.top1_agreement is None else f"{100 * e.top1_agreement:.1f}%"
                rows.append([who, e.name, f"{e.sqnr_db:.2f}", f"{e.cosine:.6f}", f"{e.max_abs:.4g}", top1])
        table = format_table(["quantizer", "output", "SQNR dB", "cosine", "max |err|", "top-1 agree"], rows,
                             "llrrrr")
        return (f"{table}\n{self.closer} is closer to float by {self.margin_db:.2f} dB "
                f"({self.samples} samples; onnxruntime: {self.ort_settings})")


def ort_quantize(float_model: onnx.ModelProto, samples, out_path: Path) -> str:
    """Write onnxruntime's QDQ model to out_path; returns a description of the settings used."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(samples)

        def get_next(self):
            return next(self._it, None)

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "float.onnx"
        onnx.save(float_model, str(src))
        prep, note = Path(tmp) / "prep.onnx", "quant_pre_process, "
        try:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            quant_pre_process(str(src), str(prep))
        except Exception:  # noqa: BLE001 - pre-processing is an optimisation; quantize without it
            prep, note = src, "no pre-processing (quant_pre_process failed), "
        quantize_static(str(prep), str(out_path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    return note + "QDQ, per-channel, QInt8 activations and weights, MinMax"


def compare_with_ort(float_model: onnx.ModelProto, ours: onnx.ModelProto, calibration, evaluation) -> Comparison:
    with tempfile.TemporaryDirectory() as tmp:
        ort_path = Path(tmp) / "ort_qdq.onnx"
        settings = ort_quantize(float_model, calibration, ort_path)
        ort_model = onnx.load(str(ort_path))
    fsess = session(float_model)
    our_err, n = output_errors(fsess, session(ours), evaluation)
    ort_err, _ = output_errors(fsess, session(ort_model), evaluation)
    margin = our_err[0].sqnr_db - ort_err[0].sqnr_db
    closer = "edgeai" if margin >= 0 else "onnxruntime"
    return Comparison(our_err, ort_err, n, closer, abs(margin), settings)
