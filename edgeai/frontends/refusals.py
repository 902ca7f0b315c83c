"""Every unsupported node of a model in one error, grouped: an unrolled GRU has a hundred nodes of three kinds,
and the user needs the kinds (with a few nodes to find them by), not a hundred lines."""

from __future__ import annotations

from dataclasses import dataclass

from edgeai.errors import UnsupportedOpError

SHOWN = 3  # nodes named per group


@dataclass(frozen=True)
class Refusal:
    op: str  # the operator as the file names it ("GRU", "custom operator 'Flex'")
    what: str  # the refusal without the node: "operator GRU is not supported", "Conv: dilations are not supported"
    node: str  # the node's name
    line: str  # the whole message for this one instance
    label: str = ""  # how a list names the instance, when more than its quoted name: "#12 'Identity'"


def refusal_error(path, refusals: list[Refusal]) -> UnsupportedOpError:
    """One UnsupportedOpError: a lone instance of a refusal keeps its own line; several become one line
    with the count and the first SHOWN nodes, and a heading counts them all."""
    groups: dict[str, list[Refusal]] = {}
    for r in refusals:
        groups.setdefault(r.what, []).append(r)
    lines = []
    for what, members in groups.items():
        if len(members) == 1:
            lines.append(members[0].line)
            continue
        shown = ", ".join(m.label or repr(m.node) for m in members[:SHOWN])
        more = f" and {len(members) - SHOWN} more" if len(members) > SHOWN else ""
        lines.append(f"{path}: {what}: {len(members)} nodes ({shown}{more})")
    if len(lines) < len(refusals):
        ops = len({r.op for r in refusals})
        lines.insert(0, f"{path}: {len(refusals)} nodes cannot be compiled, of {ops} operator type{'s' * (ops > 1)}:")
    return UnsupportedOpError("\n".join(lines), file=str(path), node=refusals[0].node)
