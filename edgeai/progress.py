"""Progress of long commands (compile, validate, quantize) for a person watching: a tqdm bar on stderr.

Shown only when stderr is a terminal and the command was not asked for --json, so pipes, logs and machines
read exactly the output they read before.
"""

from __future__ import annotations

import sys
from typing import Sequence


def wanted(json_output: bool) -> bool:
    return not json_output and sys.stderr.isatty()


class Stages:
    """A bar over named stages: `stages("lower")` marks the earlier stages done and names the current one."""

    def __init__(self, names: Sequence[str], desc: str, enabled: bool):
        self._names = list(names)
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=len(self._names), desc=desc, unit="stage", file=sys.stderr, leave=False)

    def __call__(self, name: str) -> None:
        if self._bar is None:
            return
        done = self._names.index(name) if name in self._names else self._bar.n
        self._bar.update(done - self._bar.n)
        self._bar.set_postfix_str(name)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._bar.total - self._bar.n)
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()


def items(iterable, total: int, desc: str, enabled: bool):
    """`iterable`, with a bar counting its items when enabled."""
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False)
