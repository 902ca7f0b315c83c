"""The `edgeai` command. Thin: each subcommand parses its arguments and calls the public Python API."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from edgeai.errors import EdgeAIError


def _cmd_targets(args) -> int:
    from edgeai.targets import list_targets
    from edgeai.table import format_table

    targets = list_targets()
    if args.json:
        print(json.dumps([{"name": t.name, "kind": t.kind, "cpu": t.cpu, "clock_hz": t.clock_hz,
                           "flash_bytes": t.flash_bytes, "sram_bytes": t.sram_bytes, "runs_on": _runner(t),
                           "source": t.source} for t in targets], indent=2))
        return 0
    rows = [[t.name, t.kind, t.cpu, f"{t.clock_hz / 1e6:g} MHz" if t.clock_hz else "-", t.flash_bytes or 0,
             t.sram_bytes or 0, _runner(t)] for t in targets]
    print(format_table(["target", "kind", "cpu", "clock", "flash B", "SRAM B", "runs on"], rows, "lllrrrl"))
    return 0


def _runner(target) -> str:
    q = target.qemu or {}
    if "machine" in q:
        return f"{q.get('system', 'qemu-system-arm')} -M {q['machine']}"
    if "user" in q:
        return q["user"]
    return "this machine"


def _cmd_analyze(args) -> int:
    import edgeai
    from edgeai.analyze import analyze
    from edgeai.table import format_table

    from edgeai.analyze import firmware_footprints

    graph = edgeai.load(args.model)
    result = analyze(graph)
    from edgeai.targets import list_targets

    targets = [t for t in list_targets() if t.sram_bytes]
    firmware = firmware_footprints(graph, targets)
    if args.json:
        print(json.dumps({**result.to_dict(), "firmware": {
            name: {**dataclasses.asdict(fp), "flash_bytes": fp.flash_bytes, "ram_bytes": fp.ram_bytes}
            for name, fp in firmware.items()}}, indent=2))
        return 0
    rows = [[i, layer.op, layer.macs, layer.params, layer.output, layer.node] for i, layer in enumerate(result.layers)]
    print(format_table(["#", "op", "MACs", "params", "output", "node"], rows, "rlrrll"))
    print()
    print(f"model        {result.model} ({args.model})")
    print(f"ops          {', '.join(f'{k} {v}' for k, v in result.ops.items())}")
    print(f"MACs         {result.model_macs:,}")
    if result.macs != result.model_macs:
        print(f"  computed   {result.macs:,} (all-zero output channels removed, their constants folded into "
              f"the readers: edgeai.passes.dead_channels)")
    print(f"parameters   {result.params:,} ({result.weight_bytes:,} bytes of constants as in the model)")
    print(f"model RAM    {result.ram_bytes:,} bytes = arena {result.arena_bytes:,} + input {result.input_bytes:,}"
          f" + output {result.output_bytes:,}")
    print()
    fits = []
    for t in targets:
        fp = firmware.get(t.name)
        if fp is None:  # a Linux board: the model's own arena, I/O and constants against its memory
            ram, flash, what = result.ram_bytes, result.weight_bytes, "model"
        else:  # the linked firmware's: weights as the kernels store them, code, runtime, stack
            ram, flash, what = fp.ram_bytes, fp.flash_bytes, "firmware"
        ok = ram <= t.sram_bytes and (not t.flash_bytes or flash <= t.flash_bytes)
        fits.append([t.name, what, f"{ram:,} = {ram / t.sram_bytes:.1%} of {t.sram_bytes:,}",
                     f"{flash:,} = {flash / t.flash_bytes:.1%} of {t.flash_bytes:,}" if t.flash_bytes else "-",
                     "yes" if ok else "NO"])
    print(format_table(["target", "counted", "RAM", "flash", "fits"], fits, "llrrl"))
    print("firmware: weights as the target's kernels store them + model code + runtime and libc (flash); arena + "
          "I/O + stack + runtime statics (RAM); code, runtime and stack are figures measured per target "
          "(target.json 'footprint')")
    return 0


def _cmd_compile(args) -> int:
    from edgeai import progress
    from edgeai.compile import COMPILE_STAGES, compile_model
    from edgeai.fallbacks import format_generic

    stages = progress.Stages(COMPILE_STAGES + (("build",) if args.build else ()), "compile", progress.wanted(args.json))
    with stages:
        compiled = compile_model(args.model, args.target, args.output, args.prefix, args.numerics, progress=stages,
                                 weights=args.weights)
        if args.build:
            stages("build")
        result = _compiled_summary(compiled, args.build)
    for note in compiled.desc.get("notes", []):
        print(f"edgeai: note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    generic, linked = result.pop("generic_kernels"), result.pop("linked", None)
    storage = result.pop("weight_storage", [])
    result.pop("notes", None)  # told on stderr above
    for key, value in result.items():
        print(f"{key:13}{value:,}" if isinstance(value, int) else f"{key:13}{value}")
    if linked:
        groups = linked["groups"]
        print("linked       " + ", ".join(f"{g} {v['flash']:,} B flash + {v['ram']:,} B RAM"
                                          for g, v in groups.items()))
        print(f"library size {groups['model_weights']['flash'] + groups['model_code']['flash']:,} B flash "
              f"(the model's weights and code as linked into {Path(result['built']).name})")
    for row in storage:
        print(f"weights      layer {row['index']} {row['node']!r} ({row['op']}): {row['weights']}")
    for line in format_generic(generic):
        print(line)
    return 0


def _compiled_summary(compiled, build: bool) -> dict:
    from edgeai.fallbacks import generic_layers

    result = {"library": str(compiled.path), "prefix": compiled.prefix, "target": compiled.target,
              "arena_bytes": compiled.desc["arena_size"], "weight_bytes": compiled.desc["weight_bytes"],
              "layers": len(compiled.desc["layers"]), "generic_kernels": generic_layers(compiled.desc["layers"])}
    storage = [{"index": i, "node": layer["node"], "op": layer["op"], "weights": layer["weights"]}
               for i, layer in enumerate(compiled.desc["layers"]) if "weights" in layer]
    if storage:
        result["weight_storage"] = storage
    if compiled.desc.get("notes"):
        result["notes"] = compiled.desc["notes"]
    if build:
        from edgeai.runtime.device import build_firmware
        from edgeai.runtime.host import build_shared_library

        built = build_shared_library(compiled.path) if compiled.target == "host" \
            else build_firmware(compiled.path, compiled.target)
        result["built"] = str(built)
        if compiled.target != "host":
            from edgeai.elfsize import linked_sizes
            from edgeai.targets import load_target

            result["linked"] = linked_sizes(built, compiled.path, load_target(compiled.target).cc)
    return result


def _session(args, progress=None):
    """The session --target names: on the --library folder given, on a serial board, or on the model compiled
    (cached) for the target."""
    from edgeai.compile import compile_model
    from edgeai.runtime.device import open_session, session_target

    if args.target.startswith("labgrid:"):
        from edgeai.farm.place import open_labgrid_session

        return open_labgrid_session(args.model, args.target[len("labgrid:"):])
    name = session_target(args.target)
    if getattr(args, "library", None):
        return _library_session(args.library, args.target, args)
    if args.target.startswith("serial:"):
        return _serial_session(args)
    library = compile_model(args.model, name, progress=progress, numerics=getattr(args, "numerics", None)).path
    return open_session(library, args.target, timeout=args.timeout)


def _serial_session(args):
    """A board on a serial port, without --library: the board names the target its firmware was built for, the
    model is compiled for it (cached), and the library hash the firmware reports must be that compile's, so a
    board flashed with another model is refused, never run."""
    from edgeai.compile import compile_model
    from edgeai.protocol import Client
    from edgeai.runtime.device import SerialSession, open_serial, parse_serial

    port, baud = parse_serial(args.target, args.baud)
    link = open_serial(port, baud)
    try:
        info = Client(link, timeout=args.timeout or 10.0, baudrate=baud).hello()
        library = compile_model(args.model, info.target).path
        return SerialSession(library, port, baud, link=link, **({"timeout": args.timeout} if args.timeout else {}))
    except BaseException:
        link.close()
        raise


def _cmd_run(args) -> int:
    import numpy as np

    from edgeai.errors import DataError
    from edgeai.npy import load_input, read_header

    headers = [read_header(path) for path in args.input]  # before compiling: a bad file is told at once
    session = _session(args)
    try:
        if len(headers) != len(session.inputs):
            raise DataError(f"{args.model}: {len(headers)} input(s) given, the model takes {len(session.inputs)}")
        arrays = [load_input(h, spec, str(args.model)) for h, spec in zip(headers, session.inputs)]
        outputs = session.run(arrays)
        stats = _device_stats(session)
    finally:
        getattr(session, "close", lambda: None)()
    if args.output:
        from edgeai.storage import writing

        with writing(args.output):
            np.save(args.output, outputs[0])
    if args.json:
        print(json.dumps({"outputs": [o.tolist() for o in outputs], **stats}, indent=2))
        return 0
    for spec, out in zip(session.outputs, outputs):
        print(f"{spec.name}: {spec.dtype}{list(out.shape)}")
        print(np.array2string(out, threshold=64))
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:.4g}" for k, v in value.items()
                              if k not in ("sources", "estimate") and isinstance(v, (int, float)))
            key = f"{key} (estimate from the target's model)" if key == "estimate" else key
        print(f"{key}: {value:,}" if isinstance(value, int) else f"{key}: {value}")
    return 0


def _device_stats(session) -> dict:
    """Per-inference statistics: exact instructions, estimates from the target's model, flash and RAM of the ELF."""
    stats = {"instructions": session.stats.instructions, "wall_seconds": session.stats.wall_seconds}
    elf = getattr(session, "elf", None)
    target = getattr(session, "target", None)
    if elf is not None and target is not None:
        from edgeai.elfsize import memory_report
        from edgeai.report import energy_estimate
        from edgeai.runtime.device import SEMIHOST_SUFFIX, build_firmware

        if elf.stem.endswith(SEMIHOST_SUFFIX):  # flash and RAM are the board firmware's, not the emulated link's
            elf = build_firmware(session.lib_dir, target)

        stats["estimate"] = energy_estimate(target, session.stats.instructions)
        stats["memory"] = memory_report(elf, session.lib_dir, target.cc, session.desc["arena_size"])
    return {k: v for k, v in stats.items() if v is not None}


def _cmd_validate(args) -> int:
    from edgeai import progress
    from edgeai.compile import COMPILE_STAGES
    from edgeai.errors import ValidationFailed
    from edgeai.validate import check_same_io, compare, random_inputs, reference_sessions

    shown = progress.wanted(args.json)
    _check_target(args.target)  # refuse a bad --target before any work
    if args.per_layer:
        return _validate_per_layer(args)
    reference, reference_also, plan = reference_sessions(args.model)
    inputs = random_inputs(reference.inputs, args.count, seed=args.seed, float_ranges=plan.input_ranges)
    # first: a model the reference cannot run fails before any compile
    want = [reference.run(x) for x in progress.items(inputs, len(inputs), "reference", shown)]
    want_also = [reference_also.run(x) for x in inputs] if reference_also is not None else None
    if args.library:
        session = _library_session(args.library, args.target, args)
    else:
        with progress.Stages(COMPILE_STAGES, "compile", shown) as stages:
            session = _session(args, stages)
    try:
        check_same_io(session, reference, args.library or args.model, args.model)
        got, counts = [], []
        for x in progress.items(inputs, len(inputs), f"run on {args.target}", shown):
            got.append(session.run(x))
            counts.append(session.stats.instructions)
    finally:
        getattr(session, "close", lambda: None)()
    result = compare(session.outputs, got, want, plan.bounds, want_also)
    notes = (getattr(session, "desc", None) or {}).get("notes", [])  # e.g. hybrid layers computed in float
    if args.require_exact:
        passed = all(a.bit_exact == a.samples for a in result)
        required = "bit-exact on every input (--require-exact)"
    else:
        passed = all(a.passed for a in result)
        required = "; ".join(f"{a.output}: {a.bound}" for a in result)
    if args.json:
        print(json.dumps({"model": args.model, "target": args.target, "numerics": plan.numerics,
                          "reference": plan.reference,
                          "outputs": [a.to_dict() for a in result], "instructions": counts[-1] if counts else None,
                          "required": required, "passed": passed, "notes": notes}, indent=2))
    else:
        from edgeai.table import format_table

        rows = [[a.output, f"{a.bit_exact}/{a.samples}", a.max_abs_error, a.min_cosine,
                 f"{a.top1_agreement}/{a.samples}", f"{a.within_bound}/{a.samples}"] for a in result]
        head = ["output", "bit-exact", "max |err|", "min cosine", "top-1", "within bound"]
        if reference_also is not None:  # how often onnxruntime's two levels agree: what the bound compares with
            rows = [[*row, f"{a.references_agree}/{a.samples}"] for row, a in zip(rows, result)]
            head.append("ORT levels agree")
        print(format_table(head, rows, "l" + "r" * (len(head) - 1)))
        print(f"numerics {plan.numerics}, against {plan.reference}; required: "
              f"{required}: {'passed' if passed else 'FAILED'}")
        for note in notes:
            print(f"edgeai: note: {note}", file=sys.stderr)
    if not passed:
        print(f"edgeai: validation failed on {args.target}: required {required}", file=sys.stderr)
        return ValidationFailed.exit_code
    return 0


def _validate_per_layer(args) -> int:
    from edgeai.errors import ValidationFailed
    from edgeai.validate_layers import format_report, printable, validate_layers

    if args.library:
        raise EdgeAIError("--per-layer compiles the model again with every layer as an output: give the model, "
                          "not --library")
    report = validate_layers(args.model, args.target, args.count, args.seed, args.numerics, args.timeout,
                             exact=args.require_exact)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(format_report(report)))
        for note in report.notes:
            print(f"edgeai: note: {note}", file=sys.stderr)
    first = report.first_differing
    if first is not None:
        print(f"edgeai: validation failed on {args.target}: layer #{first.layer.index} "
              f"{printable(first.layer.node)!r} ({first.layer.op}) is the first that differs", file=sys.stderr)
    elif not report.passed:
        print(f"edgeai: validation failed on {args.target}: no layer could be compared (see the table)",
              file=sys.stderr)
    return 0 if report.passed else ValidationFailed.exit_code


def _check_target(target):
    """Refuse a --target edgeai cannot run on, before compiling anything."""
    if target.startswith("labgrid:"):
        from edgeai.farm.place import LabgridPlace, parse_place

        place = LabgridPlace(*parse_place(target[len("labgrid:"):]))
        try:
            place.edgeai_target()
            place.check()
        finally:
            place.release()
        return
    from edgeai.runtime.device import session_target

    session_target(target)


def _library_session(library, target, args=None):
    """A session on a library compiled earlier (`edgeai compile -o DIR`), for the target it was compiled for."""
    from edgeai.compile import _is_library
    from edgeai.errors import TargetError
    from edgeai.runtime.device import open_session, session_target

    folder = Path(library)
    if not _is_library(folder):
        raise EdgeAIError(f"--library {library}: not an edgeai library folder (no valid model.json)")
    built_for = json.loads((folder / "model.json").read_text()).get("target")
    if target.startswith("labgrid:"):
        from edgeai.farm.place import open_labgrid_library

        return open_labgrid_library(folder, built_for, target[len("labgrid:"):])
    name = session_target(target)
    if not target.startswith("serial:") and built_for != name:
        raise TargetError(f"--library {library} was compiled for {built_for}, not for {name} (--target {target})")
    return open_session(folder, target, baudrate=getattr(args, "baud", None), timeout=getattr(args, "timeout", None))


def _cmd_demo(args) -> int:
    from edgeai.demo import DEMO_MODEL, run_demo

    report = run_demo(args.model or DEMO_MODEL, args.target, args.samples, args.output)
    exact = all(a["bit_exact"] == a["samples"] for a in report["accuracy"])
    return 0 if exact else 1


def _cmd_bench(args) -> int:
    import dataclasses

    if args.per_layer:
        return _per_layer(args)
    if args.setup_peers:
        from edgeai.bench.peer_setup import ensure_setup

        folder = ensure_setup(progress=lambda line: print(line, file=sys.stderr))
        print(f"peer set-up ready: {folder}")
        return 0

    from edgeai.bench import load_suite, regressions, run_suite, write_reports
    from edgeai.bench.gate import parse_percent

    if args.results:
        data = _read_results(args.results, "--results")
    else:
        if not args.suite:
            raise EdgeAIError("give a suite file (e.g. benchmarks/mlperf_tiny/suite.json) or --results FILE")
        suite = load_suite(args.suite)
        if args.targets:
            suite = dataclasses.replace(suite, targets=tuple(args.targets.split(",")))
        if args.models:
            wanted = set(args.models.split(","))
            suite = dataclasses.replace(suite, models=tuple(m for m in suite.models if m.name in wanted))
        data = run_suite(suite, jobs=args.jobs, ray_address=args.ray, progress=not args.json and sys.stderr.isatty(),
                         ray_retries=args.ray_retries)
        paths = write_reports(data, args.output or Path("build") / "bench" / suite.name)
        if not args.json:
            from edgeai.bench.report import markdown

            print(markdown(data))
            print(f"reports: {', '.join(str(p) for p in paths.values())}")
    status = 0
    if args.baseline:
        try:
            tolerance = parse_percent(args.max_regression)
        except ValueError as e:
            raise EdgeAIError(f"--max-regression {args.max_regression!r}: {e}") from None
        problems = regressions(_read_results(args.baseline, "--baseline"), data, tolerance)
        for p in problems:
            print(f"regression: {p}", file=sys.stderr)
        status = 1 if problems else 0
        if not problems and not args.json:
            print(f"no regression beyond {args.max_regression} against {args.baseline}")
    if args.json:
        print(json.dumps(data, indent=2))
    failed = [r for r in data["results"] if r.get("status") != "ok"]
    return status or (1 if failed else 0)


def _read_results(path: str, option: str) -> dict:
    """A results.json named on the command line: unreadable or not JSON is the user's error, named."""
    from edgeai.errors import DataError

    try:
        return json.loads(Path(path).read_text())
    except OSError as e:
        raise DataError(f"{option} {path}: cannot read it ({e.strerror})", file=path) from None
    except ValueError as e:
        raise DataError(f"{path}: not a JSON results file ({e})", file=path) from None


def _per_layer(args) -> int:
    from edgeai.bench.per_layer import format_table, per_layer_instructions
    from edgeai.compile import compile_model

    target = args.targets or "cortex-m4"
    rows = per_layer_instructions(compile_model(args.per_layer, target).path, target)
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1 (validating on no input proves nothing)")
    return value


JSON_HELP = "machine-readable output; errors too, as one JSON object on stdout"


def build_parser() -> argparse.ArgumentParser:
    from edgeai import __version__

    parser = _Parser(prog="edgeai", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version of edgeai and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("targets", help="list the targets a model can be compiled for")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=_cmd_targets)

    p = sub.add_parser("analyze", help="ops, MACs, parameters and memory of a model")
    p.add_argument("model", help="an .onnx or .tflite file")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("compile", help="compile a model into a C library for a target")
    p.add_argument("model", help="an .onnx or .tflite file")
    p.add_argument("--target", default="host", help="see `edgeai targets` (default host)")
    p.add_argument("-o", "--output", help="library folder (default: the content-addressed cache)")
    p.add_argument("--prefix", default="model", help="C identifier prefixing every symbol (default model)")
    p.add_argument("--build", action="store_true", help="also build it: host shared library or target firmware")
    p.add_argument("--numerics", choices=("tflite", "onnx"),
                   help="integer arithmetic to reproduce: tflite (LiteRT's) or onnx (onnxruntime's, the QDQ "
                        "graph's meaning); default: the model format's own")
    p.add_argument("--weights", choices=("int8", "int16", "auto"), default="int8",
                   help="Cortex-M DSP kernels' weight storage: int8 (as in the model, least flash; default), int16 "
                        "(pre-widened, fewest instructions, twice the bytes) or auto (int16 for the layers whose "
                        "weights many output pixels reuse)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=_cmd_compile)

    target_help = ("host | <target> or qemu:<target> (firmware under QEMU / qemu-aarch64-static) | "
                   "labgrid:ENV.yaml[:ROLE] (flashed to a labgrid place) | "
                   "serial:PORT[@BAUD] (a board flashed with `compile --build` firmware)")

    def add_device_options(p):
        p.add_argument("--library", metavar="DIR",
                       help="use this library (`edgeai compile -o DIR`, with --build: the firmware on a board) "
                            "instead of compiling the model; a serial board without it names its own target")
        p.add_argument("--baud", type=int, help="serial baud rate (default 115200, or PORT@BAUD)")
        p.add_argument("--timeout", type=float, help="seconds a device has to answer a request (default 10 on a "
                                                     "board, 20 in QEMU); a run gets more for the model's work")

    p = sub.add_parser("run", help="run a model on a target on given inputs (.npy)")
    p.add_argument("model", help="an .onnx or .tflite file")
    p.add_argument("--target", default="host", help=target_help)
    add_device_options(p)
    p.add_argument("--input", action="append", required=True, help=".npy file, once per model input")
    p.add_argument("--output", help="write the first output to this .npy file")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("validate", help="compare a target with the reference runtime on random inputs")
    p.add_argument("model", help="an .onnx or .tflite file")
    p.add_argument("--target", default="host", help=target_help)
    add_device_options(p)
    p.add_argument("--count", type=_positive, default=20, help="inputs to compare (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--require-exact", action="store_true",
                   help="fail unless every output is bit-exact (default: the bound of the model's numerics)")
    p.add_argument("--per-layer", action="store_true",
                   help="compare every layer's output with the reference runtime's value of the same tensor and "
                        "name the first layer that differs (host or QEMU targets)")
    p.add_argument("--numerics", choices=("tflite", "onnx"),
                   help="compile with this integer arithmetic instead of the model format's own; the reference "
                        "and its bound stay the model's")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=_cmd_validate)

    from edgeai.quantize_cli import add_parser as add_quantize

    add_quantize(sub)

    from edgeai.examples_cli import add_parser as add_example

    add_example(sub)

    p = sub.add_parser("bench", help="run a benchmark suite (models x targets x backends) and write its reports")
    p.add_argument("suite", nargs="?", help="suite JSON, e.g. benchmarks/mlperf_tiny/suite.json")
    p.add_argument("-o", "--output", help="report folder (default build/bench/<suite>)")
    p.add_argument("--targets", help="comma-separated subset of the suite's targets")
    p.add_argument("--models", help="comma-separated subset of the suite's models")
    p.add_argument("--jobs", type=int, default=2, help="parallel emulator jobs (default 2)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the jobs on this Ray cluster")
    p.add_argument("--ray-retries", type=int, default=2, metavar="N",
                   help="times Ray reruns a job whose worker died (default 2); then the job is an error result")
    p.add_argument("--results", help="gate an existing results.json instead of running")
    p.add_argument("--setup-peers", action="store_true",
                   help="create (once, cached) the arm64 Python with LiteRT and onnxruntime that rpi4/rpi5 jobs count "
                        "side by side with edgeai; needs mmdebstrap, qemu-user and internet access")
    p.add_argument("--per-layer", metavar="MODEL", help="instructions per layer of MODEL on --targets (one Cortex-M)")
    p.add_argument("--baseline", help="results.json to compare with: fail on regressions")
    p.add_argument("--max-regression", default="2%",
                   help="allowed growth of instructions and linked sizes, with its %% sign (default 2%%; a bare 2 "
                        "is refused as ambiguous)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("demo", help="the main job: a shipped int8 model on Cortex-M4 under QEMU, with its report")
    p.add_argument("--model", help="another model instead of the shipped MLPerf Tiny keyword spotter")
    p.add_argument("--target", default="cortex-m4", help="a Cortex-M target (default cortex-m4)")
    p.add_argument("--samples", type=int, default=10, help="random inputs compared with LiteRT (default 10)")
    p.add_argument("--output", help="report folder (default build/demo)")
    p.set_defaults(func=_cmd_demo)

    return parser


class _UsageError(Exception):
    """A command line argparse refuses; main() reports it (as JSON under --json) with argparse's exit code 2."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(self, message)


def main(argv: list[str] | None = None) -> int:
    from edgeai.children import SIGTERM_EXIT, Terminated, exit_on_sigterm

    if argv is None:  # this process is the CLI (not a call from Python): EDGEAI_HOST_ASAN may need it preloaded
        from edgeai.runtime import asan

        if not asan.restore_environment():
            asan.reexec_preloaded(["-m", "edgeai.cli", *sys.argv[1:]])
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as e:
        _report(e, 2, as_json, "UsageError", f"{e.parser.prog}: error: {e}", usage=e.parser)
        sys.exit(2)
    as_json = bool(getattr(args, "json", False))
    model = getattr(args, "model", None)
    previous = exit_on_sigterm()  # SIGTERM unwinds like Ctrl-C: C compiler children die, temp folders go
    try:
        return args.func(args)
    except EdgeAIError as e:
        return _report(e, e.exit_code, as_json, None, f"edgeai: error: {e}", model=model)
    except KeyboardInterrupt as e:
        terminated = isinstance(e, Terminated)
        word = "terminated" if terminated else "interrupted"
        return _report(e, SIGTERM_EXIT if terminated else 130, as_json, "Terminated" if terminated else "Interrupted",
                       f"edgeai: {word}", message=word)
    except OSError as e:  # a full disk where no caller named the file being written is still no bug of ours
        from edgeai.storage import NO_SPACE, storage_error

        if e.errno not in NO_SPACE:
            return _internal_error(e, as_json)
        err = storage_error(e, e.filename or "a file")
        return _report(err, err.exit_code, as_json, None, f"edgeai: error: {err}", model=model)
    except Exception as e:
        return _internal_error(e, as_json)
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)


def _internal_error(e: Exception, as_json: bool) -> int:
    """A bug of ours or of a library below: one line, the traceback on request."""
    if os.environ.get("EDGEAI_DEBUG"):
        raise e
    return _report(e, 70, as_json, "InternalError",
                   f"edgeai: internal error: {type(e).__name__}: {e}\n"
                   f"edgeai: this is a bug in edgeai; rerun with EDGEAI_DEBUG=1 for the traceback and report it",
                   message=f"internal error: {type(e).__name__}: {e}; a bug in edgeai (EDGEAI_DEBUG=1 for the "
                           f"traceback)")


def _report(error: BaseException, code: int, as_json: bool, kind: str | None, text: str, *, model=None,
            message: str | None = None, usage=None) -> int:
    """An error for a person (stderr) or, under --json, for a machine (one JSON object on stdout)."""
    if as_json:
        from edgeai.error_report import print_error

        print_error(RuntimeError(message) if message is not None else error, code, kind or type(error).__name__,
                    model)
    else:
        if usage is not None:
            usage.print_usage(sys.stderr)
        print(text, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
