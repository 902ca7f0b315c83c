"""Target against reference on the same inputs: bit-exact rate, max abs error, cosine, top-1 agreement, and the
gate `passed` that says whether the target computes what the model's numerics promise (README, Numerics):

- tflite numerics: every output value bit-exact with LiteRT's reference kernels, on every input;
- onnx numerics: every output value within 1 LSB of onnxruntime (of either of its two optimization levels, or
  between them) on at least as many inputs as those two levels agree with each other within 1 LSB, less
  ONNX_SLACK of the inputs (rounded up), and onnxruntime's top-1 on every input; an input beyond 1 LSB must still
  have a cosine of at least ONNX_MIN_COSINE with onnxruntime's output. ONNX numerics are exact where
  onnxruntime rounds in float32, so a layer can be 1 LSB off; a softmax amplifies one logit LSB into up to
  s_logits / (2 s_out) output LSB (22 on kws), and deep models add layers' LSB up (README, Numerics);
- float: every output value within FLOAT_TOLERANCE of the reference output's range over the inputs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from edgeai.errors import DataError
from edgeai.runtime.session import TensorSpec

FLOAT_TOLERANCE = 1e-4  # of the reference output's range (its largest magnitude when the range is 0)
ONNX_SLACK = 0.02  # share of inputs (rounded up) by which onnx numerics may agree less often than onnxruntime
ONNX_MIN_COSINE = 0.99  # on an input beyond 1 LSB (measured on the MLPerf QDQ files: at least 0.997)


@dataclass(frozen=True)
class Bound:
    """What agreeing means for one output. kind: 'bit-exact', 'lsb' (onnx numerics) or 'float'."""

    kind: str
    lsb: float = 1.0  # one step of the output's quantization, in the output's own units ('lsb' only)

    def describe(self, tolerance: float, samples: int) -> str:
        if self.kind == "bit-exact":
            return "bit-exact on every input"
        if self.kind == "lsb":
            return (f"within 1 LSB ({self.lsb:.6g}) of onnxruntime on as many inputs as its two optimization "
                    f"levels agree with each other, less {slack_inputs(samples)} ({ONNX_SLACK:.0%}); its top-1 "
                    f"on every input, cosine >= {ONNX_MIN_COSINE:g} on any beyond 1 LSB")
        return f"within {tolerance:.6g} ({FLOAT_TOLERANCE:g} of the reference output's range) on every input"


BIT_EXACT = Bound("bit-exact")


def slack_inputs(samples: int) -> int:
    return math.ceil(ONNX_SLACK * samples)


@dataclass(frozen=True)
class Agreement:
    output: str
    samples: int
    bit_exact: int  # samples whose output equals the reference exactly
    max_abs_error: float  # in the output's own units (LSB for integer outputs)
    max_abs_error_real: float | None  # dequantized, when the output is quantized
    min_cosine: float
    top1_agreement: int
    bound: str  # what `passed` required, in words
    tolerance: float  # the largest error `bound` allows on an input, in the output's own units
    within_bound: int  # samples whose every value is within `tolerance` of the reference
    references_agree: int  # samples on which the two references (onnxruntime's levels) agree within `tolerance`
    passed: bool

    @property
    def bit_exact_rate(self) -> float:
        return self.bit_exact / self.samples if self.samples else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "bit_exact_rate": self.bit_exact_rate}


def random_inputs(specs: list[TensorSpec], count: int, seed: int = 0,
                  float_range: tuple[float, float] | None = None,
                  float_ranges: list[tuple[float, float] | None] | None = None) -> list[list[np.ndarray]]:
    """Inputs spanning each input's whole range: every int8 code, or the float range of its quantization
    (`float_ranges`, one per input, else `float_range`, else [-1, 1])."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        batch = []
        for i, s in enumerate(specs):
            if s.dtype in ("int8", "uint8", "int16"):
                info = np.iinfo(s.dtype)
                batch.append(rng.integers(info.min, info.max + 1, size=s.shape, dtype=s.dtype))
            elif s.dtype == "float32":
                own = float_ranges[i] if float_ranges and i < len(float_ranges) else None
                lo, hi = own or float_range or (-1.0, 1.0)
                batch.append(rng.uniform(lo, hi, size=s.shape).astype(np.float32))
            else:
                raise DataError(f"cannot make random inputs of dtype {s.dtype} for {s.name!r}")
        batches.append(batch)
    return batches


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    if np.array_equal(a, b, equal_nan=True):
        return 1.0
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0  # an infinity or NaN where the other side has something else: no direction to compare
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


def _abs_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| per value, 0 where both are the same (also the same infinity, or both NaN), inf where one is NaN."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(a - b))
    diff[np.isnan(diff)] = np.inf
    return diff


def _beyond_span(a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How far each value of a lies outside [lo, hi] (0 inside), with _abs_error's care for inf and NaN."""
    inside = (a >= lo) & (a <= hi)
    return np.where(inside, 0.0, np.minimum(_abs_error(a, lo), _abs_error(a, hi)))


def check_same_io(session, reference, library, model) -> None:
    """Refuse to compare a library whose inputs or outputs are not the model's as the reference runtime sees them
    (count, dtype, number of values): that would compare unrelated numbers."""
    from edgeai.errors import ModelError

    for kind, ours, theirs in (("input", session.inputs, reference.inputs), ("output", session.outputs,
                                                                            reference.outputs)):
        if len(ours) != len(theirs):
            raise ModelError(f"{library}: the library has {len(ours)} {kind}s, the model {model} {len(theirs)}: "
                             f"nothing to compare")
        for a, b in zip(ours, theirs):
            if a.dtype != b.dtype or math.prod(a.shape) != math.prod(b.shape):
                raise ModelError(f"{library}: the library's {kind} {a.name!r} is {a.dtype}{list(a.shape)}, the "
                                 f"model {model}'s {b.name!r} is {b.dtype}{list(b.shape)}: nothing to compare")


def compare(specs: list[TensorSpec], got: list[list[np.ndarray]], want: list[list[np.ndarray]],
            bounds: list[Bound] | None = None, want_also: list[list[np.ndarray]] | None = None) -> list[Agreement]:
    """Agreement of `got` with `want` per output. `want_also`: a second reference (onnxruntime's other
    optimization level) whose values count as right too, for 'lsb' bounds."""
    result = []
    for i, spec in enumerate(specs):
        bound = bounds[i] if bounds else BIT_EXACT
        pairs = [(np.atleast_1d(np.asarray(g[i])), np.atleast_1d(np.asarray(w[i]))) for g, w in zip(got, want)]
        pairs = [(a, b if a.shape == b.shape else b.reshape(a.shape)) for a, b in pairs]
        alts = [np.atleast_1d(np.asarray(w[i])).reshape(a.shape) for w, (a, _) in zip(want_also, pairs)] \
            if want_also is not None and bound.kind == "lsb" else [b for _, b in pairs]
        tolerance = _tolerance(bound, [b for _, b in pairs])
        exact, max_err, min_cos, top1, within, agree, top1_either, far = 0, 0.0, 1.0, 0, 0, 0, 0, 0
        slack = tolerance * (1 + 1e-4)  # a dequantized float output: 1 LSB apart may read as 1 LSB + 1e-7 of it
        for (a, b), c in zip(pairs, alts):
            exact += int(np.array_equal(a, b) or (a.dtype.kind == "f" and np.array_equal(a, b, equal_nan=True)))
            diff = _abs_error(a, b)
            max_err = max(max_err, float(diff.max()) if diff.size else 0.0)
            if spec.scale is not None:
                a_real = (a.astype(np.float64) - spec.zero_point) * spec.scale
                b_real = (b.astype(np.float64) - spec.zero_point) * spec.scale
            else:
                a_real, b_real = a, b
            min_cos = min(min_cos, _cosine(a_real, b_real))
            ours = np.argmax(a.reshape(-1))
            top1 += int(ours == np.argmax(b.reshape(-1)))
            top1_either += int(ours in (np.argmax(b.reshape(-1)), np.argmax(c.reshape(-1))))
            if bound.kind == "bit-exact":
                within += int((diff == 0).all())
            elif bound.kind == "lsb":
                close = bool((_beyond_span(a, np.minimum(b, c), np.maximum(b, c)) <= slack).all())
                within += int(close)
                if not close:  # amplified rounding keeps the output's direction; a wrong result does not
                    c_real = (c.astype(np.float64) - spec.zero_point) * spec.scale if spec.scale is not None else c
                    far += int(max(_cosine(a_real, b_real), _cosine(a_real, c_real)) < ONNX_MIN_COSINE)
            else:
                within += int((diff <= slack).all())
            agree += int((_abs_error(b, c) <= slack).all())
        n = len(pairs)
        if bound.kind == "lsb":
            passed = within >= agree - slack_inputs(n) and top1_either == n and far == 0
        else:
            passed = within == n
        result.append(Agreement(spec.name, n, exact, max_err, max_err * spec.scale if spec.scale else None, min_cos,
                                top1, bound.describe(tolerance, n), tolerance, within, agree, passed and n > 0))
    return result


def _tolerance(bound: Bound, references: list[np.ndarray]) -> float:
    if bound.kind == "bit-exact":
        return 0.0
    if bound.kind == "lsb":
        return bound.lsb
    values = np.concatenate([r.astype(np.float64).ravel() for r in references]) if references else np.zeros(0)
    values = values[np.isfinite(values)]
    if not values.size:
        return 0.0
    spread = float(values.max() - values.min()) or float(np.abs(values).max())
    return FLOAT_TOLERANCE * spread


@dataclass(frozen=True)
class Plan:
    """What validate compares for one model: the numerics its library reproduces, a bound per output, and the
    float range to draw each input from (the range its quantize maps onto all int8 codes, else None)."""

    numerics: str  # 'tflite', 'onnx' or 'float'
    bounds: list[Bound]
    input_ranges: list[tuple[float, float] | None]
    reference: str = ""  # the reference runtime(s), in words


def bound_for(graph, name: str, numerics: str, producers=None) -> Bound:
    """What agreeing means for the tensor `name` of `graph` (after default_pipeline) under `numerics`."""
    tensor = graph.tensor(name)
    node = (producers if producers is not None else graph.producers()).get(name)
    if numerics == "float":
        return Bound("float")
    if tensor.dtype != "float32":
        return BIT_EXACT if numerics == "tflite" else Bound("lsb", 1.0)
    if node is not None and node.op == "dequantize" and graph.tensor(node.inputs[0]).quant is not None:
        lsb = float(max(graph.tensor(node.inputs[0]).quant.scale))
        return BIT_EXACT if numerics == "tflite" else Bound("lsb", lsb)
    return Bound("float")  # a float tail (a float softmax) after the integer body: float32 arithmetic on both sides


def plan_for(graph, reference: str) -> Plan:
    """`graph` after default_pipeline, compiled with its own numerics; reference: 'litert' or 'onnxruntime'."""
    quantized = any(graph.tensor(t).dtype in ("int8", "uint8", "int16") for n in graph.nodes for t in n.outputs)
    numerics = "float" if not quantized else ("tflite" if reference == "litert" else "onnx")
    producers = graph.producers()
    bounds = [bound_for(graph, name, numerics, producers) for name in graph.outputs]
    consumers = graph.consumers()
    ranges = []
    for name in graph.inputs:
        quantize = next((n for n in consumers.get(name, []) if n.op == "quantize"), None)
        q = graph.tensor(quantize.outputs[0]) if quantize is not None else None
        if graph.tensor(name).dtype != "float32" or q is None or q.quant is None:
            ranges.append(None)
            continue
        info, scale, zero = np.iinfo(q.dtype), q.quant.scale[0], q.quant.zero_point[0]
        ranges.append((scale * (info.min - zero), scale * (info.max - zero)))
    names = {"litert": "LiteRT (reference kernels)", "onnxruntime": "onnxruntime"}
    if numerics == "onnx":
        names["onnxruntime"] = "onnxruntime (ORT_ENABLE_ALL and ORT_DISABLE_ALL)"
    return Plan(numerics, bounds, ranges, names[reference])


def reference_sessions(model):
    """The reference session, a second one for onnx numerics (onnxruntime with ORT_DISABLE_ALL: both of its
    optimization levels are onnxruntime's meaning of the graph), and the plan of what to compare."""
    from edgeai.errors import ModelError
    from edgeai.frontends import load
    from edgeai.passes import default_pipeline
    from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession, reference_session

    reference = reference_session(model)
    if not reference.outputs:
        raise ModelError(f"{model}: the graph has no outputs: nothing to compute, nothing to validate")
    plan = plan_for(default_pipeline(load(model)), "litert" if isinstance(reference, LiteRTSession) else "onnxruntime")
    also = OnnxRuntimeSession(model, optimize=False) if plan.numerics == "onnx" else None
    return reference, also, plan
