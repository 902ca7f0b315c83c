"""edgeai: ONNX/TFLite to int8 C libraries through Apache TVM, for Cortex-M and aarch64 boards."""

from pathlib import Path

__version__ = "0.1.0"

# The repository root: target descriptions, the C runtime and shipped models are read from here.
REPO_ROOT = Path(__file__).resolve().parent.parent


def load(path):
    """Read an ONNX or TFLite model into the graph IR."""
    from edgeai.frontends import load as _load

    return _load(path)


def quantize(model, calibration, out_path, **options):
    """Post-training static int8 of a float ONNX model into a QDQ ONNX file (see edgeai.quantize.quantize)."""
    from edgeai.quantize import quantize as _quantize

    return _quantize(model, calibration, out_path, **options)


def compile(model, target: str = "host", out_dir=None, prefix: str = "model"):
    """Compile a model for a target into a C library (see edgeai.compile.compile_model)."""
    from edgeai.compile import compile_model

    return compile_model(model, target, out_dir, prefix)
