"""`edgeai validate --per-layer`: every layer's value on the target against the reference runtime's value of the
same tensor, and the first layer that differs, with its error.

A layer is a node of the graph the target runs (after the default pipeline) whose output is a tensor of the model
file. The values come off the device through the normal protocol: the model is compiled again with those tensors
made graph outputs after the pipeline (edgeai.passes.expose_outputs, so the layers and kernels are the plain
compile's) and the memory plan keeps each in the output blob. When a target's RAM cannot hold them all, the
layers are split into halves, each its own build, until each build fits; a layer that does not fit alone is
skipped and the table says why. The reference keeps every intermediate: LiteRT with
experimental_preserve_all_tensors, onnxruntime with the values added as graph outputs (both of its optimization
levels under onnx numerics). Nodes of the model file that edgeai's passes fused into a layer (an activation, a
QDQ pair, a reshape) are compared at that layer's output, and the table names them.

A layer differs by validate's own rule (edgeai.validate.bound_for): any value not bit-exact under tflite numerics,
beyond 1 LSB of both onnxruntime levels under onnx numerics, beyond the float tolerance otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from edgeai.errors import TargetError
from edgeai.validate import BIT_EXACT, _abs_error, _beyond_span, _tolerance, bound_for


@dataclass(frozen=True)
class Layer:
    index: int  # position of its node in the graph the target runs
    node: str
    op: str
    tensor: str  # the IR tensor it computes
    reference: str | None  # the same value's name in the model file; None: a tensor edgeai's passes made
    perm: tuple[int, ...] | None  # stored axis i holds the file's axis perm[i] (None: the file's own order)
    fused: tuple[tuple[str, str], ...] = ()  # (op, name) of the model file's nodes computed inside this layer
    skip: str = ""  # why it is not compared, when it is not
    channels: tuple[int, ...] | None = None  # the file's channels the layer keeps (dead ones removed), else all


@dataclass
class LayerResult:
    layer: Layer
    bound: str = ""  # 'bit-exact', 'lsb' or 'float'
    integer: bool = False  # an integer tensor: its errors are in LSB
    values: int = 0  # compared values, over every input
    differing: int = 0  # values that are not the reference's (either onnxruntime level's under onnx numerics)
    beyond: int = 0  # values beyond the bound
    max_abs_error: float = 0.0  # in the tensor's own units (LSB for an integer tensor)
    max_abs_error_real: float | None = None  # dequantized, for a per-tensor quantized tensor
    skipped: str = ""  # why the layer was not compared

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "DIFFERS" if self.beyond else "ok"

    def to_dict(self) -> dict:
        return {**asdict(self.layer), **{k: v for k, v in asdict(self).items() if k != "layer"},
                "status": self.status}


@dataclass
class PerLayerReport:
    model: str
    target: str
    numerics: str
    reference: str
    samples: int
    builds: int
    required: str  # the bound every layer is held to, in words
    results: list[LayerResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the library computes otherwise (hybrid layers)

    @property
    def first_differing(self) -> LayerResult | None:
        return next((r for r in self.results if r.status == "DIFFERS"), None)

    @property
    def passed(self) -> bool:
        """No layer differs, and at least one was compared (comparing nothing proves nothing)."""
        return self.first_differing is None and any(r.status == "ok" for r in self.results)

    def to_dict(self) -> dict:
        first = self.first_differing
        return {"model": self.model, "target": self.target, "numerics": self.numerics, "reference": self.reference,
                "samples": self.samples, "builds": self.builds, "required": self.required, "notes": self.notes,
                "layers": [r.to_dict() for r in self.results],
                "first_differing": first.to_dict() if first else None, "passed": self.passed}


def model_layers(model: str | Path, numerics: str | None = None):
    """The graph the target runs (compiled with `numerics`) and its layers, in execution order."""
    from edgeai.compile import optimize
    from edgeai.frontends import load_with_layouts

    original, layouts = load_with_layouts(model)
    graph = optimize(original, numerics)
    kept = _kept_channels(original) if numerics is None else {}
    in_file: dict[str, tuple[str, tuple[int, ...] | None]] = {}
    for name, (tensor, perm) in layouts.items():  # the file's own name first, when the IR kept it
        if tensor not in in_file or name == tensor:
            in_file[tensor] = (name, tuple(int(a) for a in perm) if perm is not None else None)
    fused = _fused_nodes(original, graph)
    layers = []
    for index, node in enumerate(graph.nodes):
        for out in node.outputs:
            reference, perm = in_file.get(out, (None, None))
            channels = tuple(int(c) for c in kept[out]) if out in kept else None
            skip = _shape_problem(original, graph, out, perm, channels) if reference is not None else \
                "not a tensor of the model file (made by edgeai's passes)"
            layers.append(Layer(index, node.name, node.op, out, reference, perm, tuple(fused.get(out, ())), skip,
                                channels))
    return graph, layers


def _kept_channels(original) -> dict[str, np.ndarray]:
    """The channels each tensor keeps of the model's when the pipeline removes dead ones (its other passes run
    first, as in default_pipeline)."""
    from edgeai.passes import DEFAULT_PASSES, remove_dead_channels, run_passes
    from edgeai.passes.dead_channels import kept_channels

    before = run_passes(original, DEFAULT_PASSES[:DEFAULT_PASSES.index(remove_dead_channels)])
    return kept_channels(before)


def _shape_problem(original, graph, tensor: str, perm, channels) -> str:
    """Why the layer's tensor cannot be compared with the file's value: a pass changed its shape after the
    import (other than the dead channels removed, whose kept `channels` are compared)."""
    if tensor not in original.tensors:
        return ""  # no imported shape to hold it to; the reference's value is checked against it when compared
    before, after = original.tensor(tensor).shape, graph.tensor(tensor).shape
    if channels is not None:
        before = before[:-1] + (len(channels),)
    if before == after or (perm is None and int(np.prod(before)) == int(np.prod(after))):
        return ""
    return f"edgeai's passes changed its shape from {list(before)} to {list(after)}"


def _fused_nodes(original, graph) -> dict[str, list[tuple[str, str]]]:
    """{tensor of `graph`: (op, name) of the nodes of `original` its layer computes besides its own}: nodes whose
    outputs the passes removed (an activation, a dequantize, a reshape), attributed to the first layer they feed,
    and the file's producer of the layer's tensor when that is another node (the quantize of a QDQ pair). Nodes
    on constants only (weight dequantizes) are folded data, not computation, and are left out."""
    survives = {out for node in graph.nodes for out in node.outputs} | set(graph.inputs)
    layer_node = {out: node.name for node in graph.nodes for out in node.outputs}
    consumers = original.consumers()
    fused: dict[str, list[tuple[str, str]]] = {}
    for node in original.nodes:
        if all(not name or original.tensor(name).is_constant for name in node.inputs):
            continue
        kept = [t for t in node.outputs if t in survives]
        if kept:  # it computes a layer's tensor: fused into that layer unless it is the layer's own node
            if layer_node.get(kept[0], node.name) != node.name:
                fused.setdefault(kept[0], []).append((node.op, node.name))
            continue
        seen, frontier, target = set(), list(node.outputs), None
        while frontier and target is None:
            for user in consumers.get(frontier.pop(0), []):
                for out in user.outputs:
                    if out in survives:
                        target = target or out
                    elif out not in seen:
                        seen.add(out)
                        frontier.append(out)
        if target is not None and layer_node[target] != node.name:  # not the layer's own node, renamed outputs
            fused.setdefault(target, []).append((node.op, node.name))
    return fused


def printable(name: str) -> str:
    """A name from a model file as it may be printed: every character that is not printable (a control
    character, a bidirectional override) as its escape."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in name)


def _reference_sessions(model, names, numerics):
    from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession, reference_session

    kind = reference_session(model)
    if isinstance(kind, LiteRTSession):
        return LiteRTSession(model, keep_all=True), None
    also = OnnxRuntimeSession(model, optimize=False, keep=names) if numerics == "onnx" else None
    return OnnxRuntimeSession(model, keep=names), also


def _device_values(model, target: str, names: list[str], inputs, numerics, timeout, progress=None):
    """{tensor: [value per input]} off the target, the layers that fit no build {tensor: why}, the number of
    builds it took and the libraries' notes."""
    from edgeai.compile import compile_model
    from edgeai.runtime.device import open_session, session_target

    name = session_target(target)
    values: dict[str, list[np.ndarray]] = {}
    skipped: dict[str, str] = {}
    chunks, builds, notes = [list(names)], 0, []
    while chunks:
        chunk = chunks.pop(0)
        try:
            compiled = compile_model(model, name, numerics=numerics, layer_outputs=tuple(chunk))
        except TargetError as e:  # the layers' values do not fit the target's RAM: fewer per build
            if len(chunk) == len(names):  # unless the model itself does not fit: that error is the answer
                compile_model(model, name, numerics=numerics)
            if len(chunk) == 1:
                skipped[chunk[0]] = f"does not fit {name} even alone: {e}"
            else:
                chunks[:0] = [chunk[:len(chunk) // 2], chunk[len(chunk) // 2:]]
            continue
        builds += 1
        notes += [note for note in compiled.desc.get("notes", []) if note not in notes]
        session = open_session(compiled.path, target, timeout=timeout)
        try:
            wanted = [i for i, spec in enumerate(session.outputs) if spec.name in chunk]
            for x in inputs:
                out = session.run(x)
                for i in wanted:
                    values.setdefault(session.outputs[i].name, []).append(out[i])
                if progress:
                    progress()
        finally:
            getattr(session, "close", lambda: None)()
    return values, skipped, builds, notes


def validate_layers(model: str | Path, target: str = "host", count: int = 20, seed: int = 0,
                    numerics: str | None = None, timeout: float | None = None, progress=None,
                    exact: bool = False) -> PerLayerReport:
    """Every layer of `model` on `target` against the reference runtime on `count` random inputs (as validate
    draws them). numerics: compile with these numerics instead of the model's own (the reference, and so the
    bound, stays the model file's). exact: every layer must be bit-exact (validate --require-exact)."""
    from edgeai.validate import random_inputs, reference_sessions

    if target.startswith(("serial:", "labgrid:")):
        raise TargetError(f"--per-layer runs a build of the model with every layer as an output: on host or under "
                          f"QEMU (a target name or qemu:<target>), not on {target}, whose board runs the firmware "
                          f"flashed on it")
    plain, _, plan = reference_sessions(model)
    graph, layers = model_layers(model, numerics)
    reference, also = _reference_sessions(model, [layer.reference for layer in layers if not layer.skip],
                                          plan.numerics)
    known = reference.tensor_names()
    layers = [layer if layer.skip or layer.reference in known else
              replace(layer, skip=f"the reference runtime cannot read {printable(layer.reference)!r}")
              for layer in layers]
    compared = [layer for layer in layers if not layer.skip]
    inputs = random_inputs(plain.inputs, count, seed=seed, float_ranges=plan.input_ranges)
    want, want_also = [], []
    names = [layer.reference for layer in compared]
    for x in inputs:
        reference.run(x)
        want.append(reference.tensor_values(names))
        if also is not None:
            also.run(x)
            want_also.append(also.tensor_values(names))
    got, skipped, builds, notes = _device_values(model, target, [layer.tensor for layer in compared], inputs,
                                                 numerics, timeout, progress)
    required = "bit-exact (--require-exact)" if exact else _bound_words(plan.numerics)
    report = PerLayerReport(str(model), target, plan.numerics, plan.reference, count, builds, required, notes=notes)
    producers = graph.producers()
    for layer in layers:
        if layer.skip or layer.tensor in skipped:
            report.results.append(LayerResult(layer, skipped=layer.skip or skipped[layer.tensor]))
            continue
        bound = BIT_EXACT if exact else bound_for(graph, layer.tensor, plan.numerics, producers)
        shape = graph.tensor(layer.tensor).shape
        try:
            refs = [_stored(w[layer.reference], layer, shape) for w in want]
            alts = [_stored(w[layer.reference], layer, shape) for w in want_also] if want_also else refs
        except ValueError as e:
            report.results.append(LayerResult(layer, skipped=str(e)))
            continue
        report.results.append(_compare(layer, bound, graph.tensor(layer.tensor), got[layer.tensor], refs, alts))
    return report


def _stored(value: np.ndarray, layer: Layer, shape) -> np.ndarray:
    """The reference's value in the order the IR tensor stores it, of the channels the layer keeps."""
    value, perm = np.asarray(value), layer.perm
    if perm is not None and len(perm) == value.ndim:
        value = np.transpose(value, perm)
    if layer.channels is not None and value.ndim:
        value = value[..., list(layer.channels)]
    if value.size != int(np.prod(shape)) or (perm is not None and value.shape != tuple(shape)):
        raise ValueError(f"the reference's value is {list(value.shape)} in the layer's order, the layer's "
                         f"{list(shape)}")
    return value.reshape(shape)


def _compare(layer: Layer, bound, tensor, got, refs, alts) -> LayerResult:
    tolerance = _tolerance(bound, refs)
    slack = tolerance * (1 + 1e-4)  # as validate.compare: 1 LSB of a dequantized float may read 1 LSB + 1e-7
    result = LayerResult(layer, bound.kind, tensor.dtype != "float32")
    for a, b, c in zip(got, refs, alts):
        a = np.asarray(a).reshape(b.shape)
        if bound.kind == "lsb":  # within 1 LSB of either onnxruntime level, or between them
            err = _beyond_span(a, np.minimum(b, c), np.maximum(b, c))
        else:
            err = _abs_error(a, b)
        result.values += err.size
        result.differing += int((err > 0).sum())
        result.beyond += int((err > (slack if bound.kind != "bit-exact" else 0)).sum())
        result.max_abs_error = max(result.max_abs_error, float(err.max()) if err.size else 0.0)
    q = tensor.quant
    if q is not None and q.per_tensor and tensor.dtype != "float32":
        result.max_abs_error_real = result.max_abs_error * q.scale[0]
    elif tensor.dtype == "float32":
        result.max_abs_error_real = result.max_abs_error
    return result


def format_report(report: PerLayerReport) -> list[str]:
    """The table, then the verdict: the first layer that differs, with its error, or that none does."""
    from edgeai.table import format_table

    rows = []
    for r in report.results:
        layer = r.layer
        err = f"{r.max_abs_error:g}" if r.integer and r.status != "skipped" else "-"
        real = "-" if r.max_abs_error_real is None or r.status == "skipped" else f"{r.max_abs_error_real:.4g}"
        differ = "-" if r.status == "skipped" else f"{r.beyond:,}/{r.values:,}"
        status = r.status if not r.skipped else f"skipped: {r.skipped}"
        if layer.channels is not None and not r.skipped:
            status += f" ({len(layer.channels)} live channels; the dead ones are folded constants)"
        fused = ", ".join(dict.fromkeys(op for op, _ in layer.fused)) or "-"  # ops; names in --json
        rows.append([layer.index, printable(layer.node), layer.op, err, real, differ, fused, status])
    head = ["#", "layer", "op", "max |err| LSB", "max |err|", "differing", "fused into it", "status"]
    lines = [format_table(head, rows, "rllrrrll")]
    compared = [r for r in report.results if r.status != "skipped"]
    lines.append(f"numerics {report.numerics}, against {report.reference}; {len(compared)} of {len(report.results)} "
                 f"layers compared on {report.samples} input(s), {report.builds} build(s); 'differing': values "
                 f"beyond the bound ({report.required}); a fused node is compared at the output of the "
                 f"layer it was fused into")
    first = report.first_differing
    if first is None:
        lines.append("no layer differs" if report.passed else "no layer could be compared")
    else:
        real = f" ({first.max_abs_error_real:.6g})" if first.max_abs_error_real is not None else ""
        unit = " LSB" if first.integer else ""
        lines.append(f"first differing layer: #{first.layer.index} {printable(first.layer.node)!r} ({first.layer.op}): "
                     f"max |err| {first.max_abs_error:g}{unit}{real}, {first.beyond:,} of {first.values:,} values "
                     f"beyond the bound")
    return lines


def _bound_words(numerics: str) -> str:
    return {"tflite": "bit-exact", "onnx": "within 1 LSB of onnxruntime's two optimization levels"}.get(
        numerics, "the float tolerance")
