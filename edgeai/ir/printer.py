"""A readable text form of a graph, one line per node."""

from __future__ import annotations

from edgeai.ir.graph import Graph


def format_graph(graph: Graph) -> str:
    lines = [f"graph {graph.name}("]
    lines += [f"    %{n}: {graph.tensor(n).describe()}" for n in graph.inputs]
    lines.append(") {")
    for node in graph.nodes:
        args = []
        for name in node.inputs:
            if not name:
                args.append("_")
                continue
            t = graph.tensor(name)
            args.append(f"const<{t.describe()}>" if t.is_constant else f"%{name}")
        attrs = ", ".join(f"{k}={v}" for k, v in node.attrs.items())
        outs = ", ".join(f"%{o}: {graph.tensor(o).describe()}" for o in node.outputs)
        lines.append(f"    {outs} = {node.op}({', '.join(args)}){' {' + attrs + '}' if attrs else ''}  # {node.name}")
    lines.append(f"    return {', '.join('%' + o for o in graph.outputs)}")
    lines.append("}")
    return "\n".join(lines)
