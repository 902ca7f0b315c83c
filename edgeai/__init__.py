"""edgeai: ONNX/TFLite to int8 C libraries through Apache TVM, for Cortex-M and aarch64 boards."""

from pathlib import Path

__version__ = "0.1.0"

# The repository root: target descriptions, the C runtime and shipped models are read from here.
REPO_ROOT = Path(__file__).resolve().parent.parent


def load(path):
    """Read an ONNX or TFLite model into the graph IR."""
    from edgeai.frontends import load as _load

    return _load(path)
