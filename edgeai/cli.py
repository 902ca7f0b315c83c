"""The `edgeai` command. Thin: each subcommand parses its arguments and calls the public Python API."""

from __future__ import annotations

import argparse
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

    result = analyze(edgeai.load(args.model))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    rows = [[i, layer.op, layer.macs, layer.params, layer.output, layer.node] for i, layer in enumerate(result.layers)]
    print(format_table(["#", "op", "MACs", "params", "output", "node"], rows, "rlrrll"))
    print()
    print(f"model        {result.model} ({args.model})")
    print(f"ops          {', '.join(f'{k} {v}' for k, v in result.ops.items())}")
    print(f"MACs         {result.macs:,}")
    print(f"parameters   {result.params:,} ({result.weight_bytes:,} bytes of constants, in flash)")
    print(f"peak RAM     {result.ram_bytes:,} bytes = arena {result.arena_bytes:,} + input {result.input_bytes:,}"
          f" + output {result.output_bytes:,}")
    print()
    from edgeai.targets import list_targets

    fits = []
    for t in list_targets():
        if not t.sram_bytes:
            continue
        ok = result.ram_bytes <= t.sram_bytes and (not t.flash_bytes or result.weight_bytes <= t.flash_bytes)
        fits.append([t.name, f"{result.ram_bytes / t.sram_bytes:.1%} of {t.sram_bytes:,}",
                     f"{result.weight_bytes / t.flash_bytes:.1%} of {t.flash_bytes:,}" if t.flash_bytes else "-",
                     "yes" if ok else "NO"])
    print(format_table(["target", "RAM (arena + I/O)", "flash (weights)", "fits"], fits, "lrrl"))
    return 0


def _cmd_compile(args) -> int:
    from edgeai.compile import compile_model

    compiled = compile_model(args.model, args.target, args.output, args.prefix, args.numerics)
    result = {"library": str(compiled.path), "prefix": compiled.prefix, "target": compiled.target,
              "arena_bytes": compiled.desc["arena_size"], "weight_bytes": compiled.desc["weight_bytes"],
              "layers": len(compiled.desc["layers"])}
    if args.build:
        from edgeai.runtime.device import build_firmware
        from edgeai.runtime.host import build_shared_library

        result["built"] = str(build_shared_library(compiled.path) if compiled.target == "host"
                              else build_firmware(compiled.path, compiled.target))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:13}{value:,}" if isinstance(value, int) else f"{key:13}{value}")
    return 0


def _session(model, target):
    """Compile (cached) for the target a session string names, and open the session."""
    from edgeai.compile import compile_model
    from edgeai.runtime.device import open_session

    name = target.split(":", 1)[1] if target.startswith("qemu:") else target
    if target.startswith("serial:"):
        raise EdgeAIError("a serial board runs the firmware flashed on it: pass --library DIR of that build")
    return open_session(compile_model(model, name).path, target)


def _cmd_run(args) -> int:
    import numpy as np

    from edgeai.errors import DataError
    from edgeai.npy import load_input, read_header

    headers = [read_header(path) for path in args.input]  # before compiling: a bad file is told at once
    session = _session(args.model, args.target)
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

        stats["estimate"] = energy_estimate(target, session.stats.instructions)
        stats["memory"] = memory_report(elf, session.lib_dir, target.cc, session.desc["arena_size"])
    return {k: v for k, v in stats.items() if v is not None}


def _cmd_validate(args) -> int:
    from edgeai.runtime.reference import reference_session
    from edgeai.table import format_table
    from edgeai.validate import compare, random_inputs

    reference = reference_session(args.model)
    inputs = random_inputs(reference.inputs, args.count, seed=args.seed)
    session = _session(args.model, args.target)
    try:
        got, counts = [], []
        for x in inputs:
            got.append(session.run(x))
            counts.append(session.stats.instructions)
    finally:
        getattr(session, "close", lambda: None)()
    want = [reference.run(x) for x in inputs]
    result = compare(session.outputs, got, want)
    ok = all(a.bit_exact == a.samples for a in result) if args.require_exact else True
    if args.json:
        print(json.dumps({"model": args.model, "target": args.target, "outputs": [a.to_dict() for a in result],
                          "instructions": counts[-1] if counts else None, "passed": ok}, indent=2))
    else:
        rows = [[a.output, f"{a.bit_exact}/{a.samples}", a.max_abs_error, a.min_cosine,
                 f"{a.top1_agreement}/{a.samples}"] for a in result]
        print(format_table(["output", "bit-exact", "max |err|", "min cosine", "top-1"], rows, "lrrrr"))
    return 0 if ok else 1


def _cmd_demo(args) -> int:
    from edgeai.demo import DEMO_MODEL, run_demo

    report = run_demo(args.model or DEMO_MODEL, args.target, args.samples, args.output)
    exact = all(a["bit_exact"] == a["samples"] for a in report["accuracy"])
    return 0 if exact else 1


def _cmd_bench(args) -> int:
    import dataclasses

    if args.per_layer:
        return _per_layer(args)

    from edgeai.bench import load_suite, regressions, run_suite, write_reports
    from edgeai.bench.gate import parse_percent

    if args.results:
        data = json.loads(Path(args.results).read_text())
    else:
        if not args.suite:
            raise EdgeAIError("give a suite file (e.g. benchmarks/mlperf_tiny/suite.json) or --results FILE")
        suite = load_suite(args.suite)
        if args.targets:
            suite = dataclasses.replace(suite, targets=tuple(args.targets.split(",")))
        if args.models:
            wanted = set(args.models.split(","))
            suite = dataclasses.replace(suite, models=tuple(m for m in suite.models if m.name in wanted))
        data = run_suite(suite, jobs=args.jobs, ray_address=args.ray, progress=not args.json and sys.stderr.isatty())
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
        problems = regressions(json.loads(Path(args.baseline).read_text()), data, tolerance)
        for p in problems:
            print(f"regression: {p}", file=sys.stderr)
        status = 1 if problems else 0
        if not problems and not args.json:
            print(f"no regression beyond {args.max_regression} against {args.baseline}")
    if args.json:
        print(json.dumps(data, indent=2))
    failed = [r for r in data["results"] if r.get("status") != "ok"]
    return status or (1 if failed else 0)


def _per_layer(args) -> int:
    from edgeai.bench.per_layer import format_table, per_layer_instructions
    from edgeai.compile import compile_model

    target = args.targets or "cortex-m4"
    rows = per_layer_instructions(compile_model(args.per_layer, target).path, target)
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeai", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("targets", help="list the targets a model can be compiled for")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_targets)

    p = sub.add_parser("analyze", help="ops, MACs, parameters and memory of a model")
    p.add_argument("model", help="an .onnx or .tflite file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("compile", help="compile a model into a C library for a target")
    p.add_argument("model")
    p.add_argument("--target", default="host", help="see `edgeai targets` (default host)")
    p.add_argument("-o", "--output", help="library folder (default: the content-addressed cache)")
    p.add_argument("--prefix", default="model", help="C identifier prefixing every symbol (default model)")
    p.add_argument("--build", action="store_true", help="also build it: host shared library or target firmware")
    p.add_argument("--numerics", choices=("tflite", "onnx"),
                   help="integer arithmetic to reproduce: tflite (LiteRT's) or onnx (onnxruntime's, the QDQ "
                        "graph's meaning); default: the model format's own")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_compile)

    target_help = "host | <target> or qemu:<target> (firmware under QEMU / qemu-aarch64-static)"
    p = sub.add_parser("run", help="run a model on a target on given inputs (.npy)")
    p.add_argument("model")
    p.add_argument("--target", default="host", help=target_help)
    p.add_argument("--input", action="append", required=True, help=".npy file, once per model input")
    p.add_argument("--output", help="write the first output to this .npy file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("validate", help="compare a target with the reference runtime on random inputs")
    p.add_argument("model")
    p.add_argument("--target", default="host", help=target_help)
    p.add_argument("--count", type=int, default=20, help="inputs to compare (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--require-exact", action="store_true", help="exit 1 unless every output is bit-exact")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_validate)

    from edgeai.quantize_cli import add_parser as add_quantize

    add_quantize(sub)

    p = sub.add_parser("bench", help="run a benchmark suite (models x targets x backends) and write its reports")
    p.add_argument("suite", nargs="?", help="suite JSON, e.g. benchmarks/mlperf_tiny/suite.json")
    p.add_argument("-o", "--output", help="report folder (default build/bench/<suite>)")
    p.add_argument("--targets", help="comma-separated subset of the suite's targets")
    p.add_argument("--models", help="comma-separated subset of the suite's models")
    p.add_argument("--jobs", type=int, default=2, help="parallel emulator jobs (default 2)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the jobs on this Ray cluster")
    p.add_argument("--results", help="gate an existing results.json instead of running")
    p.add_argument("--per-layer", metavar="MODEL", help="instructions per layer of MODEL on --targets (one Cortex-M)")
    p.add_argument("--baseline", help="results.json to compare with: fail on regressions")
    p.add_argument("--max-regression", default="2%", help="allowed growth of instructions and memory (default 2%%)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("demo", help="the main job: a shipped int8 model on Cortex-M4 under QEMU, with its report")
    p.add_argument("--model", help="another model instead of the shipped MLPerf Tiny keyword spotter")
    p.add_argument("--target", default="cortex-m4")
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--output", help="report folder (default build/demo)")
    p.set_defaults(func=_cmd_demo)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EdgeAIError as e:
        print(f"edgeai: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("edgeai: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # a full disk where no caller named the file being written is still no bug of ours
        from edgeai.storage import NO_SPACE, storage_error

        if e.errno not in NO_SPACE:
            return _internal_error(e)
        err = storage_error(e, e.filename or "a file")
        print(f"edgeai: error: {err}", file=sys.stderr)
        return err.exit_code
    except Exception as e:
        return _internal_error(e)


def _internal_error(e: Exception) -> int:
    """A bug of ours or of a library below: one line, the traceback on request."""
    if os.environ.get("EDGEAI_DEBUG"):
        raise e
    print(f"edgeai: internal error: {type(e).__name__}: {e}\n"
          f"edgeai: this is a bug in edgeai; rerun with EDGEAI_DEBUG=1 for the traceback and report it",
          file=sys.stderr)
    return 70


if __name__ == "__main__":
    sys.exit(main())
