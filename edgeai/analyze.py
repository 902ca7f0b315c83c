"""What a model costs before anything is built: ops, MACs, parameters, flash and RAM per target."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from edgeai.ir import Graph
from edgeai.memory import plan_memory
from edgeai.ops import get_op


@dataclass(frozen=True)
class LayerCost:
    node: str
    op: str
    macs: int
    params: int
    output: str


@dataclass(frozen=True)
class Analysis:
    model: str
    ops: dict[str, int]
    macs: int
    params: int
    weight_bytes: int
    arena_bytes: int
    input_bytes: int
    output_bytes: int
    layers: list[LayerCost] = field(default_factory=list)
    model_macs: int = 0  # the model's own, before remove_dead_channels (macs: what is computed after it)

    @property
    def ram_bytes(self) -> int:
        """Peak RAM the model needs: the arena plus the caller's input and output blobs."""
        return self.arena_bytes + self.input_bytes + self.output_bytes

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ram_bytes"] = self.ram_bytes
        return d


def firmware_footprints(graph: Graph, targets=None) -> dict:
    """Target name -> edgeai.footprint.Footprint of the firmware `graph` becomes there (graph after the default
    passes), for every Cortex-M target with measured figures; the lowering runs, no C is built."""
    from edgeai.footprint import firmware_footprint
    from edgeai.passes import default_pipeline
    from edgeai.targets import list_targets

    graph = default_pipeline(graph)
    return {t.name: firmware_footprint(graph, t) for t in (targets or list_targets()) if t.footprint}


def analyze(graph: Graph) -> Analysis:
    """The costs of what will be compiled: the graph after the default passes (QDQ fused, biases folded)."""
    from edgeai.passes import default_pipeline

    from edgeai.passes import remove_dead_channels

    nominal = default_pipeline(graph, skip=(remove_dead_channels,))
    graph = remove_dead_channels(nominal).graph
    plan = plan_memory(graph)
    layers = []
    for node in graph.nodes:
        consts = [graph.tensor(n) for n in node.inputs if n and graph.tensor(n).is_constant]
        layers.append(LayerCost(node.name, node.op, int(get_op(node.op).macs(node, graph)),
                                sum(t.size for t in consts), graph.tensor(node.outputs[0]).describe()))
    constants = graph.constants()
    return Analysis(
        model=graph.name,
        ops=dict(Counter(n.op for n in graph.nodes)),
        macs=sum(layer.macs for layer in layers),
        params=sum(t.size for t in constants),
        weight_bytes=sum(t.nbytes for t in constants),
        arena_bytes=plan.arena_size,
        input_bytes=plan.input_size,
        output_bytes=plan.output_size,
        layers=layers,
        model_macs=sum(int(get_op(n.op).macs(n, nominal)) for n in nominal.nodes),
    )
