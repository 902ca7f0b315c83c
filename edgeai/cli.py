"""The `edgeai` command. Thin: each subcommand parses its arguments and calls the public Python API."""

from __future__ import annotations

import argparse
import json
import sys

from edgeai.errors import EdgeAIError


def _cmd_targets(args) -> int:
    from edgeai.targets import list_targets
    from edgeai.table import format_table

    targets = list_targets()
    if args.json:
        print(json.dumps([t.to_dict() for t in targets], indent=2))
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


if __name__ == "__main__":
    sys.exit(main())
