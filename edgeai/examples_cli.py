"""`edgeai example NAME [ARGS...]`: run one of the shipped examples (examples/NAME/run.py) with this
interpreter, so the command works as written from any shell, inside the venv or not.

Wired into edgeai/cli.py with `add_parser(subparsers)`; the examples live in the repository, not in the
installed package, and are found next to it (edgeai.REPO_ROOT/examples).
"""

from __future__ import annotations

import argparse
import sys

from edgeai import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


def names() -> list[str]:
    return sorted(p.parent.name for p in EXAMPLES.glob("*/run.py"))


def add_parser(subparsers):
    p = subparsers.add_parser("example", help="run a shipped example end to end (see examples/README.md)",
                              description="Run examples/NAME/run.py; ARGS go to it (`edgeai example NAME --help`).")
    p.add_argument("name", choices=names(), help="which example: " + ", ".join(names()))
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the example's run.py, e.g. --samples 100")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """What `python examples/NAME/run.py ARGS` does (its `__main__` block: exit 0 when main() says ok)."""
    import runpy

    script = EXAMPLES / args.name / "run.py"
    example = runpy.run_path(str(script), run_name=f"examples.{args.name}.run_as_command")
    saved = sys.argv
    sys.argv = [f"edgeai example {args.name}", *args.args]  # argparse names the command as the user typed it
    try:
        return 0 if example["main"](args.args)["ok"] else 1
    except SystemExit as e:  # --help, or the example's own argument errors
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = saved
