"""The pipeline from a model file to a C library on disk: load, passes, memory plan, lower, emit."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgeai.errors import EdgeAIError, TargetError
from edgeai.ir import Graph
from edgeai.manifest import install, manifest_problem, process_alive, remove, warn, write_manifest
from edgeai.storage import writing


COMPILE_STAGES = ("load", "optimize", "plan", "lower", "emit")


@dataclass(frozen=True)
class CompiledModel:
    path: Path  # the library folder
    prefix: str
    target: str
    desc: dict


def compile_model(model: str | Path | Graph, target: str = "host", out_dir: str | Path | None = None,
                  prefix: str = "model", numerics: str | None = None, progress=None,
                  weights: str = "int8", layer_outputs: tuple[str, ...] = ()) -> CompiledModel:
    """Compile `model` for `target` into `out_dir`. The folder appears whole or not at all.

    numerics: None keeps each int8 node's own (TFLite files: 'tflite', ONNX QDQ: 'onnx'); 'tflite' or 'onnx'
    sets every int8 node to it (edgeai.ops.registry.NUMERICS). progress: called with each stage's name
    (COMPILE_STAGES) as it starts. weights: how the Cortex-M DSP kernels store int8 weights, "int8" (as they
    are: the smallest flash), "int16" (pre-widened: the fewest instructions) or "auto" (int16 where it saves
    many instructions per byte; compilers.lowering.cortex_m); the compile report says per layer. layer_outputs:
    tensors of the optimized graph made graph outputs too, after the model's own (`edgeai validate --per-layer`
    reads every layer's value off the device; edgeai.passes.expose_outputs)."""
    from compilers.c.names import check_prefix
    from edgeai.build import check_buildable_path, folder_name
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import hybrid_layers
    from edgeai.targets import load_target

    check_prefix(prefix)
    from compilers.lowering.cortex_m import WEIGHT_STORAGES

    if weights not in WEIGHT_STORAGES:
        raise EdgeAIError(f"weights {weights!r}: choose one of {', '.join(WEIGHT_STORAGES)}")
    tgt = load_target(target)
    chosen = out_dir is not None  # a folder the user named, as opposed to ours in the cache
    if out_dir is None and isinstance(model, Graph):  # named after the graph, in characters any build takes
        out_dir = Path("build") / f"{folder_name(model.name)}-{tgt.name}"
    if out_dir is not None:
        check_buildable_path(Path(out_dir).resolve(), "output folder", EdgeAIError)
    if out_dir is None and not isinstance(model, Graph):
        from edgeai.cache import library_dir

        cached = library_dir(Path(model), tgt.name, prefix, numerics, weights, layer_outputs)
        check_buildable_path(cached.resolve(), "library cache folder (EDGEAI_CACHE)", EdgeAIError)
        with writing(f"the library cache {cached.parent}"):
            _recover(cached)
        desc = _cached_description(cached)
        if desc is not None:
            return CompiledModel(cached, prefix, tgt.name, desc)
        out_dir = cached
    step = progress or (lambda stage: None)
    step("load")
    graph = model if isinstance(model, Graph) else load(model)
    hybrid = hybrid_layers(graph)  # before the passes dequantize their weights
    step("optimize")
    graph = optimize(graph, numerics)
    if layer_outputs:
        from edgeai.passes import expose_outputs

        graph = expose_outputs(graph, layer_outputs).graph
    step("plan")
    plan = plan_memory(graph)
    _check_fits(graph, plan, tgt, hybrid)
    from compilers.c.emit import emit_library  # TVM is imported only for a model that can be compiled
    from compilers.c.integration import write_build_files
    from compilers.lowering import lower_graph

    step("lower")
    lowered = lower_graph(graph, tgt, prefix, weights)
    if getattr(tgt, "footprint", None):  # the firmware's flash and RAM, before anything is built
        from edgeai.footprint import check_fits, footprint

        check_fits(footprint(graph, plan, lowered, tgt), graph, plan, tgt, str(graph.source or graph.name))
    step("emit")

    out_dir = Path(out_dir)
    with writing(f"the library {out_dir}"):
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _recover(out_dir)
        occupied = out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir()))
        if chosen and occupied and not _is_library(out_dir):
            raise EdgeAIError(f"{out_dir} exists and is not an edgeai library; it would be replaced: choose another "
                              f"output folder, or remove it first")
        # Write into a sibling temp folder, then swap it in: an interrupted compile leaves no half library behind.
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp{os.getpid()}.", dir=out_dir.parent))
        try:
            desc = emit_library(graph, plan, lowered, prefix, tmp, target=tgt.name,
                                source=str(getattr(graph, "source", "")), notes=hybrid_notes(hybrid))
            write_build_files(tmp, desc)  # CMake package/subdirectory and Makefile fragment for users' firmware
            write_manifest(tmp, skip=BUILDS)  # last: it vouches for every file written before it
            if not chosen:
                # The cache: an entry another process published meanwhile is as good as ours and may be in use
                # (a build running in it); only a damaged one is replaced.
                if not install(tmp, out_dir, skip=BUILDS):
                    remove(tmp)
                    desc = json.loads((out_dir / "model.json").read_text())
            elif out_dir.exists():
                old = out_dir.with_name(f".{out_dir.name}.old{os.getpid()}")
                os.replace(out_dir, old)
                os.replace(tmp, out_dir)
                remove(old)
            else:
                os.replace(tmp, out_dir)
        except BaseException:
            remove(tmp)
            raise
    return CompiledModel(out_dir, prefix, tgt.name, desc)


def optimize(graph: Graph, numerics: str | None = None) -> Graph:
    """The graph compile_model lowers: the default pipeline, and every int8 node set to `numerics` when given."""
    from edgeai.passes import default_pipeline

    if numerics is None:
        return default_pipeline(graph)
    # The dead-channel pass computes its constants with the nodes' own (TFLite) arithmetic: not for a graph
    # whose numerics are about to change.
    from edgeai.passes import remove_dead_channels
    from edgeai.passes.qdq import with_numerics

    return with_numerics(default_pipeline(graph, skip=(remove_dead_channels,)), numerics)


# Programs built from a library go in its build/ folder, each published whole with a manifest of its own.
BUILDS = ("build",)


def _cached_description(entry: Path) -> dict | None:
    """The description of a cache entry that is whole and unaltered; None when there is none, or it is damaged
    (then it is compiled again, and stderr says why)."""
    if not os.path.lexists(entry):
        return None
    problem = manifest_problem(entry, skip=BUILDS)
    if problem is None:
        try:
            return json.loads((entry / "model.json").read_text())
        except (OSError, ValueError) as e:
            problem = f"model.json unreadable ({e})"
    warn(f"cached library {entry} is damaged ({problem}); compiling it again")
    return None


def _is_library(folder: Path) -> bool:
    try:
        return json.loads((folder / "model.json").read_text()).get("format", "").startswith("edgeai-library/")
    except (OSError, ValueError, AttributeError):
        return False


def _recover(out_dir: Path) -> None:
    """Tidy up after compiles of `out_dir` that were killed: their temp folders go, and a previous library that
    one set aside just before it was killed is put back when nothing has replaced it."""
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.(tmp|old)(\d+)(\..*)?")
    if not out_dir.parent.is_dir():
        return
    for path in out_dir.parent.iterdir():
        m = pattern.fullmatch(path.name)
        if m is None or process_alive(int(m.group(2))):
            continue
        if m.group(1) == "old" and not out_dir.exists() and _is_library(path):
            os.replace(path, out_dir)
        else:
            remove(path)


def hybrid_notes(hybrid) -> list[str]:
    """What the library computes differently from LiteRT, for model.json and `edgeai compile` to say."""
    if not hybrid:
        return []
    int8, float32 = sum(h.int8_bytes for h in hybrid), sum(h.float_bytes for h in hybrid)
    return [f"{len(hybrid)} hybrid layer{'s' * (len(hybrid) > 1)} (float activations, int8 weights; the first is "
            f"{hybrid[0].op} {hybrid[0].node!r}) "
            f"computed in float from weights dequantized at compile time: {int8:,} bytes of int8 weights became "
            f"{float32:,} bytes of float32. LiteRT quantizes these layers' inputs at run time instead, so the "
            f"outputs are close to LiteRT's, not bit-exact"]


def _check_fits(graph, plan, target, hybrid=()) -> None:
    """Refuse, before lowering, a model whose arena and I/O or constants alone exceed a target without measured
    firmware figures, naming the tensor (or the hybrid layer) that tips it over. A target with them gets the
    firmware's whole footprint (weights as stored, code, stack, runtime) checked after lowering (edgeai.footprint),
    the numbers `edgeai analyze` prints; a hybrid model still gets the hybrid layer named here first."""
    if getattr(target, "footprint", None) and not hybrid:
        return
    ram = getattr(target, "sram_bytes", None)
    flash = getattr(target, "flash_bytes", None)
    if ram:
        need = plan.arena_size + plan.input_size + plan.output_size
        if need > ram:
            biggest = max(graph.activations(), key=lambda t: t.nbytes)
            raise TargetError(f"{graph.source or graph.name}: needs {need:,} bytes of RAM (arena {plan.arena_size:,} + "
                              f"input {plan.input_size:,} + output {plan.output_size:,}), target {target.name} has "
                              f"{ram:,}; the largest activation is {biggest.name!r} ({biggest.nbytes:,} bytes)")
    if flash:
        weights = sorted(graph.constants(), key=lambda t: -t.nbytes)
        total = sum(t.nbytes for t in weights)
        if total > flash and hybrid:
            h = max(hybrid, key=lambda h: h.float_bytes)
            others = f" ({len(hybrid) - 1} more hybrid layers likewise)" if len(hybrid) > 1 else ""
            raise TargetError(f"{graph.source or graph.name}: {total:,} bytes of weights do not fit the {flash:,} bytes "
                              f"of flash of {target.name}: hybrid layer {h.node!r} ({h.op}, float activations, int8 "
                              f"weights {h.weights!r}) is computed in float from its weights dequantized at compile "
                              f"time, {h.int8_bytes:,} bytes of int8 become {h.float_bytes:,} of float32{others}; "
                              f"quantize the whole model to int8 (full integer quantization) to keep them int8")
        if total > flash:
            raise TargetError(f"{graph.source or graph.name}: {total:,} bytes of weights do not fit the {flash:,} bytes "
                              f"of flash of {target.name}; the largest constant is {weights[0].name!r} "
                              f"({weights[0].nbytes:,} bytes)")


__all__ = ["CompiledModel", "EdgeAIError", "compile_model"]

from edgeai._callable import make_callable  # noqa: E402

make_callable(__name__, compile_model)
