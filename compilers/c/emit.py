"""Writes the C library of a model: <prefix>_model.h, <prefix>_model.c, <prefix>_weights.c, <prefix>_kernels.c,
and, for a model of many weights, <prefix>_weights_<hash>.bin.

The header is self-describing (sizes, shapes, quantization); model.c calls the kernels in order with
pointers at offsets fixed by the memory plan; weights are const so they stay in flash.

Weights are C text (one initialised array each) below BINARY_WEIGHTS_MIN_BYTES; from there on they are the bytes of
<prefix>_weights_<hash>.bin, which <prefix>_weights.c places with the assembler's .incbin
(compilers/c/binary_weights.py): light_resnet50's 25 M float weights as C text were 608 MB of source that took
Python 169 s to write and gcc 4.4 GiB to compile.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from compilers.c.binary_weights import BINARY_WEIGHTS_MIN_BYTES, weights_source, write_blob
from compilers.c.calls import ConstArg, LoweredModel, ScalarArg, TensorArg
from compilers.c.names import c_text, check_prefix
from edgeai.errors import EdgeAIError
from edgeai.ir import Graph
from edgeai.memory import ALIGNMENT, MemoryPlan

CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
          "float32": "float", "bool": "uint8_t"}


def _literal(value, dtype: str) -> str:
    if dtype == "float32":
        v = float(value)
        if np.isnan(v):
            return "NAN"
        if np.isinf(v):
            return "INFINITY" if v > 0 else "-INFINITY"
        return f"{v.hex()}f" if v != int(v) or abs(v) > 1e15 else f"{v:.1f}f"
    if dtype == "int32" and int(value) == -2147483648:
        return "(-2147483647 - 1)"
    if dtype == "int64":
        return f"INT64_C({int(value)})"
    return str(int(value))


def _array(name: str, data: np.ndarray) -> str:
    dtype = data.dtype.name
    flat = data.reshape(-1)
    if flat.size == 0:
        flat = np.zeros(1, data.dtype)
    items = [_literal(v, dtype) for v in flat.tolist()]
    rows = [", ".join(items[i:i + 16]) for i in range(0, len(items), 16)]
    body = ",\n    ".join(rows)
    shape = "x".join(map(str, data.shape)) or "scalar"
    return f"/* {shape} */\nEDGEAI_ALIGNED const {CTYPES[dtype]} {name}[{flat.size}] = {{\n    {body}\n}};\n"


def parameter_types(prototype: str) -> list[str]:
    """The parameter types of a C prototype, without names or restrict: what each argument is cast to."""
    inside = prototype[prototype.index("(") + 1: prototype.rindex(")")].strip()
    if inside in ("", "void"):
        return []
    types = []
    for param in inside.split(","):
        words = param.replace("*", " * ").replace("restrict", " ").split()
        types.append(" ".join(words[:-1]).replace(" *", "*"))  # drop the parameter name
    return types


def describe(graph: Graph, plan: MemoryPlan, prefix: str, target: str, source: str, c_files=(),
             data_files=()) -> dict:
    from edgeai.ops import get_op

    def io(name):
        t = graph.tensor(name)
        loc = plan.locations[name]
        q = t.quant
        return {"name": name, "dtype": t.dtype, "shape": list(t.shape), "offset": loc.offset, "nbytes": t.nbytes,
                "scale": q.scale[0] if q and q.per_tensor else None,
                "zero_point": q.zero_point[0] if q and q.per_tensor else None}

    return {
        "format": "edgeai-library/1",
        "prefix": prefix,
        "model": graph.name,
        "source": source,
        "target": target,
        "arena_size": plan.arena_size,
        "arena_align": ALIGNMENT,
        "input_size": plan.input_size,
        "output_size": plan.output_size,
        "inputs": [io(n) for n in graph.inputs],
        "outputs": [io(n) for n in graph.outputs],
        "sources": [f"{prefix}_model.c", f"{prefix}_weights.c", f"{prefix}_kernels.c"]
                   + sorted(Path(f).name for f in c_files),
        # Files a source includes that are neither C nor headers (the weights' bytes): builds hash them too.
        "data_files": list(data_files),
        "weight_bytes": sum(t.nbytes for t in graph.constants()),
        # The work of one inference: a host waiting on a device sizes its timeout by it.
        "macs": sum(int(get_op(n.op).macs(n, graph)) for n in graph.nodes),
    }


def emit_library(graph: Graph, plan: MemoryPlan, lowered: LoweredModel, prefix: str, out_dir: Path,
                 target: str = "host", source: str = "", notes: list[str] = ()) -> dict:
    """Write the library files into out_dir (which must exist and be empty); returns the description.

    notes: what a user should know about how the library computes (compile.hybrid_notes), kept in model.json."""
    check_prefix(prefix)
    P = prefix.upper()
    # Constants: one array each, deduplicated by identity (a constant shared by two calls is written once).
    consts: dict[int, tuple[str, np.ndarray]] = {}
    for call in lowered.calls:
        for arg in call.args:
            if isinstance(arg, ConstArg) and id(arg) not in consts:
                consts[id(arg)] = (f"{prefix}_{arg.name}", np.ascontiguousarray(arg.data))
    blob = None
    if sum(d.nbytes for _, d in consts.values()) >= BINARY_WEIGHTS_MIN_BYTES:
        blob, layout = write_blob(prefix, list(consts.values()), out_dir)
    desc = describe(graph, plan, prefix, target, source, lowered.c_files, [blob] if blob else [])
    if notes:
        desc["notes"] = list(notes)

    model = Path(source).name if source else graph.name  # the file, not its folder: short, and the same anywhere
    banner = f"/* Generated by edgeai from {c_text(model)} for target {c_text(target)}. Do not edit. */\n"

    # -- header ---------------------------------------------------------------------------------
    h = [banner, f"#ifndef {P}_MODEL_H", f"#define {P}_MODEL_H", "", "#include <stdint.h>", "",
         "#ifdef __cplusplus", 'extern "C" {', "#endif", "",
         f"/* The caller owns all memory: an arena of {P}_ARENA_SIZE bytes aligned to {P}_ARENA_ALIGN,",
         " * an input blob holding every input at its offset, an output blob likewise. */",
         f"#define {P}_ARENA_SIZE {plan.arena_size}u",
         f"#define {P}_ARENA_ALIGN {ALIGNMENT}u",
         f"#define {P}_INPUT_SIZE {plan.input_size}u",
         f"#define {P}_OUTPUT_SIZE {plan.output_size}u",
         f"#define {P}_NUM_INPUTS {len(graph.inputs)}",
         f"#define {P}_NUM_OUTPUTS {len(graph.outputs)}",
         f"#define {P}_NUM_LAYERS {len(lowered.calls)}", ""]
    for kind, items in (("INPUT", desc["inputs"]), ("OUTPUT", desc["outputs"])):
        for i, t in enumerate(items):
            quant = (f", scale {t['scale']!r}, zero point {t['zero_point']}" if t["scale"] is not None else "")
            h.append(f"/* {kind.lower()} {i}: \"{c_text(t['name'])}\" {t['dtype']} "
                     f"[{', '.join(map(str, t['shape']))}]{quant} */")
            h.append(f"#define {P}_{kind}{i}_OFFSET {t['offset']}u")
            h.append(f"#define {P}_{kind}{i}_BYTES {t['nbytes']}u")
            if t["scale"] is not None:
                h.append(f"#define {P}_{kind}{i}_SCALE {float(t['scale'])!r}f")
                h.append(f"#define {P}_{kind}{i}_ZERO_POINT ({t['zero_point']})")
    h += ["", "/* Runs one inference. Returns 0 (EDGEAI_OK) or an edgeai_status_t error code. */",
          f"int32_t {prefix}_run(const void *input, void *output, void *arena);", "",
          "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {P}_MODEL_H */", ""]

    # -- weights --------------------------------------------------------------------------------
    if blob:
        weights_c = weights_source(banner, prefix, blob, layout, ALIGNMENT)
    else:
        w = [banner, "#include <math.h>", "#include <stdint.h>", f'#include "{prefix}_weights.h"', ""]
        weights_c = "\n".join(w + [_array(name, data) for name, data in consts.values()])
    wh = [banner, f"#ifndef {P}_WEIGHTS_H", f"#define {P}_WEIGHTS_H", "#include <stdint.h>", "",
          "#if defined(__GNUC__)", f"#define EDGEAI_ALIGNED __attribute__((aligned({ALIGNMENT})))", "#else",
          "#define EDGEAI_ALIGNED", "#endif", ""]
    wh += [f"extern const {CTYPES[d.dtype.name]} {n}[{max(d.size, 1)}];" for n, d in consts.values()]
    wh += ["", f"#endif /* {P}_WEIGHTS_H */", ""]

    # -- model.c --------------------------------------------------------------------------------
    names = {id_: n for id_, (n, _) in consts.items()}
    m = [banner, "#include <stddef.h>", "#include <stdint.h>", "", '#include "edgeai_runtime.h"',
         f'#include "{prefix}_model.h"', f'#include "{prefix}_weights.h"', "",
         "/* Kernels, defined in the kernels file. */"]
    seen = set()
    for call in lowered.calls:
        if call.symbol not in seen:
            seen.add(call.symbol)
            m.append(lowered.prototypes[call.symbol] + ";")
    m += ["", "#ifdef EDGEAI_PROFILE", "#define LAYER_BEGIN(i) edgeai_layer_begin(i)", "#define LAYER_END(i) edgeai_layer_end(i)",
          "#else", "#define LAYER_BEGIN(i) ((void)0)", "#define LAYER_END(i) ((void)0)", "#endif", "",
          f"int32_t {prefix}_run(const void *input, void *output, void *arena)", "{",
          "    if (input == NULL || output == NULL || arena == NULL) {", "        return EDGEAI_ERR_NULL_POINTER;", "    }",
          f"    if (((uintptr_t)arena) % {P}_ARENA_ALIGN != 0u) {{", "        return EDGEAI_ERR_MISALIGNED_ARENA;", "    }",
          "    /* Inputs are only read; the cast drops const because the kernels take plain pointers. */",
          "    uint8_t *in = (uint8_t *)(uintptr_t)input;", "    uint8_t *out = (uint8_t *)output;",
          "    uint8_t *mem = (uint8_t *)arena;", "    (void)in;", "    (void)out;", "    (void)mem;", ""]
    base = {"input": "in", "output": "out", "arena": "mem"}
    for i, call in enumerate(lowered.calls):
        ptypes = parameter_types(lowered.prototypes[call.symbol])
        if len(ptypes) != len(call.args):
            raise EdgeAIError(f"internal: {call.symbol} takes {len(ptypes)} arguments, layer {call.node!r} "
                              f"passes {len(call.args)}")
        args = []
        for arg, ptype in zip(call.args, ptypes):
            if isinstance(arg, TensorArg):
                loc = plan.locations[arg.tensor]
                args.append(f"({ptype})({base[loc.region]} + {loc.offset})")
            elif isinstance(arg, ConstArg):
                args.append(f"({ptype})(uintptr_t){names[id(arg)]}")
            elif isinstance(arg, ScalarArg):
                kind = {"float": "float32", "int64_t": "int64"}.get(arg.ctype, "int32")
                args.append(f"({ptype})({_literal(arg.value, kind)})")
        m.append(f"    /* layer {i}: {c_text(call.op)} {c_text(call.node)} */")
        m.append(f"    LAYER_BEGIN({i});")
        m.append(f"    if ({call.symbol}({', '.join(args)}) != 0) {{")
        m.append("        return EDGEAI_ERR_KERNEL;")
        m.append("    }")
        m.append(f"    LAYER_END({i});")
    m += ["    return EDGEAI_OK;", "}", ""]

    files = {
        f"{prefix}_model.h": "\n".join(h),
        f"{prefix}_weights.h": "\n".join(wh),
        f"{prefix}_weights.c": weights_c,
        f"{prefix}_model.c": "\n".join(m),
        f"{prefix}_kernels.c": lowered.kernel_source,
    }
    for name, text in files.items():  # ASCII by construction: model names reach the text only through c_text
        (out_dir / name).write_text(text, encoding="ascii")
    for path in lowered.c_files:  # hand-written kernels travel with the library, their headers included
        for part in kernel_source_files(Path(path)):
            (out_dir / part.name).write_bytes(part.read_bytes())
    desc["layers"] = _layers(graph, lowered)
    # Written last: a folder with model.json holds the whole library.
    (out_dir / "model.json").write_text(json.dumps(desc, indent=2) + "\n")
    return desc


_LOCAL_INCLUDE = re.compile(r'^#include "([A-Za-z0-9_]+\.h)"', re.M)


def kernel_source_files(c_file: Path) -> list[Path]:
    """A hand-written kernel's .c, its .h, and the headers of its instruction-set folder that either includes
    (a library folder is flat: kernel file names are unique across compilers/c/kernels/<isa>/)."""
    files, todo = [], [c_file, c_file.with_suffix(".h")]
    while todo:
        f = todo.pop()
        if f in files or not f.is_file():
            continue
        files.append(f)
        todo.extend(c_file.parent / h for h in _LOCAL_INCLUDE.findall(f.read_text()))
    return files


def _layers(graph, lowered) -> list[dict]:
    """One entry per kernel call: its node, op and symbol, the node's MACs (on its first call only, so they add up to
    the model's), and, for a layer the target's own kernel declined, why it runs on a generic one."""
    from edgeai.ops import get_op

    nodes = {n.name: n for n in graph.nodes}
    layers, seen = [], set()
    for c in lowered.calls:
        layer = {"node": c.node, "op": c.op, "symbol": c.symbol}
        node = nodes.get(c.node)
        layer["macs"] = int(get_op(node.op).macs(node, graph)) if node is not None and c.node not in seen else 0
        seen.add(c.node)
        if c.node in lowered.generic:
            layer["generic_kernel"] = lowered.generic[c.node]
        if c.node in lowered.storage:
            layer["weights"] = lowered.storage[c.node]
        layers.append(layer)
    return layers
