"""Layers that run on a generic kernel where the target has its own (compilers/lowering: ctx.decline), with their
share of the model's cost, so a slow layer is named by compile and bench instead of hiding in the totals."""

from __future__ import annotations


def generic_layers(layers: list[dict], instructions: list[int] | None = None) -> list[dict]:
    """The library's layers (model.json "layers") that took a generic kernel, each with its share of the
    instructions when per-layer counts are given (one per layer), else of the MACs."""
    if instructions is not None and len(instructions) == len(layers):
        cost, measure = [int(n) for n in instructions], "instructions"
    else:
        cost, measure = [int(layer.get("macs", 0)) for layer in layers], "MACs"
    total = sum(cost)
    rows = []
    for i, layer in enumerate(layers):
        if "generic_kernel" in layer:
            rows.append({"index": i, "node": layer["node"], "op": layer["op"], "symbol": layer["symbol"],
                         "reason": layer["generic_kernel"], "share": cost[i] / total if total else 0.0,
                         "of": measure})
    return rows


def format_generic(rows: list[dict]) -> list[str]:
    return [f"generic kernel: layer {r['index']} {r['node']!r} ({r['op']}, {r['symbol']}) takes {r['share']:.1%} of "
            f"the {r['of']}: {r['reason']}" for r in rows]
