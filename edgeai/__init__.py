"""edgeai: ONNX/TFLite to int8 C libraries through Apache TVM, for Cortex-M and aarch64 boards."""

from pathlib import Path

__version__ = "0.1.0"

# The repository root: target descriptions, the C runtime and shipped models are read from here.
REPO_ROOT = Path(__file__).resolve().parent.parent


def models_root() -> Path:
    """The folder holding the reference models (`mlperf_tiny/`, `mlperf_tiny_onnx/`): the repository's
    `models/`, or `$EDGEAI_MODELS` (the same layout) when set."""
    import os

    return Path(os.environ.get("EDGEAI_MODELS") or REPO_ROOT / "models")


def load(path):
    """Read an ONNX or TFLite model into the graph IR."""
    from edgeai.frontends import load as _load

    return _load(path)



def __getattr__(name):
    """`edgeai.compile(...)` and `edgeai.quantize(...)` are their modules, made callable (edgeai._callable)."""
    if name in ("compile", "quantize", "bench"):
        import importlib

        return importlib.import_module(f"edgeai.{name}")
    raise AttributeError(f"module 'edgeai' has no attribute {name!r}")
