"""Reference sessions: the LiteRT interpreter (reference kernels) and onnxruntime, as the user's desktop runs them."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from edgeai.errors import ModelError
from edgeai.runtime.session import RunStats, TensorSpec, check_inputs


def _litert():
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:  # tflite-runtime is the accepted fallback where it is installed
        from tflite_runtime.interpreter import Interpreter, OpResolverType
    return Interpreter, OpResolverType


@contextmanager
def _names_readable(path, runtime: str):
    """Both runtimes hand tensor names to Python as str and fail on an input or output name that is not UTF-8;
    we compile such a model (edgeai.frontends keeps the bytes as \\xNN), but the reference cannot be run."""
    try:
        yield
    except UnicodeDecodeError as e:
        raise ModelError(f"{path}: {runtime} cannot name the tensor {e.object!r}: the name is not UTF-8, so the "
                         f"reference runtime cannot run this file; give its inputs and outputs UTF-8 names") from None


class LiteRTSession:
    """LiteRT with its reference kernels by default: TFLite Micro and CMSIS-NN follow those, and so do we.

    `kernels="builtin"` selects the optimized kernels, `"xnnpack"` the default delegate; both differ from the
    reference kernels by a few LSB on some int8 models, which is why bit-exactness is defined against "reference".
    """

    def __init__(self, path: str | Path, kernels: str = "reference", threads: int = 1, keep_all: bool = False):
        """keep_all: every intermediate tensor keeps its value after a run, for tensor_values()."""
        Interpreter, Resolver = _litert()
        resolver = {"reference": Resolver.BUILTIN_REF, "builtin": Resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
                    "xnnpack": Resolver.AUTO}[kernels]
        try:
            self._it = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver, num_threads=threads,
                                   experimental_preserve_all_tensors=keep_all)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"{path}: LiteRT cannot load it: {e}") from None
        self.path = Path(path)
        with _names_readable(path, "LiteRT"):
            self.inputs = [self._spec(d) for d in self._it.get_input_details()]
            self.outputs = [self._spec(d) for d in self._it.get_output_details()]
        self.stats = RunStats()

    @staticmethod
    def _spec(d) -> TensorSpec:
        scale, zp = d["quantization"]
        return TensorSpec(d["name"], np.dtype(d["dtype"]).name, tuple(int(x) for x in d["shape"]),
                          scale if scale else None, zp if scale else None)

    def run(self, inputs) -> list[np.ndarray]:
        arrays = check_inputs(self.inputs, inputs, str(self.path))
        for d, a in zip(self._it.get_input_details(), arrays):
            self._it.set_tensor(d["index"], a)
        # A model with variable tensors (a fused LSTM's state) would otherwise start from the state the last
        # Invoke left: each run is one inference from the declared state, as the compiled library computes it.
        self._it.reset_all_variables()
        start = time.perf_counter()
        try:
            self._it.invoke()
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"{self.path}: LiteRT fails to run it: {e}") from None
        self.stats = RunStats(wall_seconds=time.perf_counter() - start)
        return [self._it.get_tensor(d["index"]).copy() for d in self._it.get_output_details()]

    def tensor_names(self) -> set[str]:
        """The tensors tensor_values() can read."""
        with _names_readable(self.path, "LiteRT"):
            return {d["name"] for d in self._it.get_tensor_details()}

    def tensor_values(self, names) -> dict[str, np.ndarray]:
        """The named tensors' values after the last run (the session made with keep_all)."""
        with _names_readable(self.path, "LiteRT"):
            index = {d["name"]: d["index"] for d in self._it.get_tensor_details()}
        return {name: self._it.get_tensor(index[name]).copy() for name in names}


class OnnxRuntimeSession:
    def __init__(self, path: str | Path, threads: int = 1, optimize: bool = True, keep=()):
        """keep: intermediate values the graph also returns (as extra outputs), for tensor_values()."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        if not optimize:
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            model, self._declared = str(path), None
            if keep:
                from edgeai.frontends.onnx import with_outputs

                model, self._declared = with_outputs(path, keep)
            self._sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"{path}: onnxruntime cannot load it: {e}") from None
        self.path = Path(path)
        with _names_readable(path, "onnxruntime"):
            self.inputs = [self._spec(i) for i in self._sess.get_inputs()]
            self.outputs = [self._spec(o) for o in self._sess.get_outputs()[:self._declared]]
            self._every = [o.name for o in self._sess.get_outputs()]
        self._last: dict[str, np.ndarray] = {}
        self.stats = RunStats()

    @staticmethod
    def _spec(info) -> TensorSpec:
        dtype = {"tensor(float)": "float32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
                 "tensor(int32)": "int32", "tensor(int64)": "int64"}.get(info.type, info.type)
        shape = tuple(d if isinstance(d, int) else 1 for d in info.shape)  # symbolic batch → 1, as we compile it
        return TensorSpec(info.name, dtype, shape)

    def run(self, inputs) -> list[np.ndarray]:
        arrays = check_inputs(self.inputs, inputs, str(self.path))
        start = time.perf_counter()
        try:
            out = self._sess.run(None, {s.name: a for s, a in zip(self.inputs, arrays)})
        except Exception as e:  # onnxruntime's own Fail / InvalidArgument / RuntimeException classes
            raise ModelError(f"{self.path}: onnxruntime fails to run it: {e}") from None
        self.stats = RunStats(wall_seconds=time.perf_counter() - start)
        self._last = dict(zip(self._every, (np.asarray(o) for o in out)))
        return [np.asarray(o) for o in out[:len(self.outputs)]]

    def tensor_names(self) -> set[str]:
        """The values tensor_values() can read: the model's outputs and those of `keep` the file has."""
        return set(self._every)

    def tensor_values(self, names) -> dict[str, np.ndarray]:
        """The named values after the last run: the model's outputs, or the session's `keep`."""
        return {name: self._last[name] for name in names}


def reference_session(path: str | Path, **kwargs):
    from edgeai.frontends import read_model_bytes

    path = Path(path)
    head = read_model_bytes(path, 8)  # a missing file or a folder is a ModelError naming it
    return LiteRTSession(path, **kwargs) if head[4:8] == b"TFL3" else OnnxRuntimeSession(path, **kwargs)
