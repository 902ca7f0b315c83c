"""A firmware's flash and RAM before anything is built, and the refusal of a model that does not fit.

Flash = the weights as the chosen kernels store them (exact: the lowering's constants, int16 pairs for the DSP
kernels, int8 otherwise) + model code + the benchmark firmware's runtime and libc. RAM = arena + input + output
+ the stack reservation (which holds the hand kernels' stack scratch) + the runtime's statics (.data/.bss).
Model code, runtime, libc, stack and statics come from figures measured per target on linked firmwares and
recorded in targets/<t>/target.json "footprint" (with how they were measured): they are estimates, and
tests/test_fits.py holds them to 2 % of the linked ELF (edgeai.elfsize) on the MLPerf Tiny models.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeai.errors import TargetError


@dataclass(frozen=True)
class LayerBytes:
    layer: str
    weight_bytes: int  # constants this layer is the first to use
    largest: str  # its largest constant, as emitted (a derived array of the lowering or a model tensor)
    largest_bytes: int


@dataclass(frozen=True)
class Footprint:
    target: str
    weight_bytes: int  # exact: as the kernels store them
    code_bytes: int  # model code: estimate from per-kernel figures
    runtime_flash_bytes: int  # firmware runtime + libc + linker fill: measured figure
    arena_bytes: int
    input_bytes: int
    output_bytes: int
    stack_bytes: int  # the linker script's reservation
    scratch_bytes: int  # the largest stack scratch of one hand-kernel call (inside the stack reservation)
    static_ram_bytes: int  # runtime .data/.bss besides arena and I/O: measured figure
    layers: tuple[LayerBytes, ...] = ()

    @property
    def flash_bytes(self) -> int:
        return self.weight_bytes + self.code_bytes + self.runtime_flash_bytes

    @property
    def ram_bytes(self) -> int:
        return self.arena_bytes + self.input_bytes + self.output_bytes + self.stack_bytes + self.static_ram_bytes


def _figures(target) -> dict:
    figures = getattr(target, "footprint", None)
    if not figures:
        raise TargetError(f"target {target.name} has no measured 'footprint' in its target.json: its firmware's "
                          f"flash and RAM cannot be estimated")
    return figures


def _kernel_code(symbol: str, source_lines: dict[str, int], figures: dict) -> int:
    table = figures["kernel_code_bytes"]
    if symbol in table:
        return table[symbol]
    # A TVM kernel: its C source's length times the bytes per line measured on TVM kernels (a rough estimate).
    return round(source_lines.get(symbol, 0) * figures["tvm_bytes_per_line"])


def _tvm_lines(source: str) -> dict[str, int]:
    """Non-blank lines of each function definition in TVM's C source, by symbol."""
    import re

    lines: dict[str, int] = {}
    current = None
    for line in source.splitlines():
        m = re.match(r"^(?:TVM_DLL\s+)?(?:int32_t|void)\s+(\w+)\s*\(", line)
        if m and not line.rstrip().endswith(";"):
            current = m.group(1)
        if current and line.strip():
            lines[current] = lines.get(current, 0) + 1
    return lines


def scratch_bytes(symbol: str) -> int:
    from compilers.lowering import cortex_m, dsp_stem, mve_conv, neon_conv

    table = {**cortex_m.STACK_SCRATCH, **dsp_stem.STACK_SCRATCH, **neon_conv.STACK_SCRATCH, **mve_conv.STACK_SCRATCH}
    name = symbol.removesuffix("_one_rounding")
    return table.get(name, table.get(name.removesuffix("_w8"), 0))


def footprint(graph, plan, lowered, target) -> Footprint:
    """The firmware's flash and RAM for a graph after the default passes, its memory plan and its lowering."""
    from compilers.c.calls import ConstArg

    figures = _figures(target)
    seen: set[int] = set()
    layers = []
    for call in lowered.calls:
        new = [a for a in call.args if isinstance(a, ConstArg) and id(a) not in seen]
        seen.update(id(a) for a in new)
        big = max(new, key=lambda a: a.data.nbytes, default=None)
        layers.append(LayerBytes(call.node, sum(a.data.nbytes for a in new),
                                 _const_name(big, call) if big is not None else "", big.data.nbytes if big else 0))
    lines = _tvm_lines(lowered.kernel_source)
    symbols = {c.symbol for c in lowered.calls}
    code = sum(_kernel_code(s, lines, figures) for s in symbols) + figures["call_bytes"] * len(lowered.calls)
    return Footprint(
        target=target.name,
        weight_bytes=sum(layer.weight_bytes for layer in layers),
        code_bytes=code,
        runtime_flash_bytes=figures["runtime_flash_bytes"],
        arena_bytes=plan.arena_size, input_bytes=plan.input_size, output_bytes=plan.output_size,
        stack_bytes=figures["stack_bytes"],
        scratch_bytes=max((scratch_bytes(s) for s in symbols), default=0),
        static_ram_bytes=figures["static_ram_bytes"],
        layers=tuple(layers),
    )


def _const_name(arg, call) -> str:
    """A constant as the firmware stores it: its C type and length, and the kernel that reads it."""
    return f"a {arg.data.dtype.name}[{arg.data.size:,}] array for {call.symbol},"


def firmware_footprint(graph, target) -> Footprint:
    """Plan and lower `graph` (after the default passes) for `target`, without building C, and size it."""
    from compilers.lowering import lower_graph
    from edgeai.memory import plan_memory

    return footprint(graph, plan_memory(graph), lower_graph(graph, target, "model"), target)


def check_fits(fp: Footprint, graph, plan, target, model: str) -> None:
    """Refuse a footprint over the target's flash or RAM, naming the layer or tensor that tips it over."""
    if target.flash_bytes and fp.flash_bytes > target.flash_bytes:
        total = fp.code_bytes + fp.runtime_flash_bytes
        for layer in fp.layers:
            total += layer.weight_bytes
            if total > target.flash_bytes:
                break
        raise TargetError(
            f"{model}: needs {fp.flash_bytes:,} bytes of flash (weights as stored {fp.weight_bytes:,} + model code "
            f"{fp.code_bytes:,} + runtime and libc {fp.runtime_flash_bytes:,}), target {target.name} has "
            f"{target.flash_bytes:,}; layer {layer.layer!r} tips it over (its weights {layer.weight_bytes:,} bytes, "
            f"the largest {layer.largest} {layer.largest_bytes:,} bytes)")
    if target.sram_bytes and fp.ram_bytes > target.sram_bytes:
        fixed = fp.ram_bytes - fp.arena_bytes
        tensor, high = _arena_tipping(graph, plan, target.sram_bytes - fixed)
        io = max((graph.tensor(n) for n in (*graph.inputs, *graph.outputs)), key=lambda t: t.nbytes)
        what = (f"the stack, runtime statics, input and output alone take {fixed:,} bytes (the largest of these "
                f"tensors is {io.name!r}, {io.nbytes:,} bytes)" if tensor is None else
                f"tensor {tensor!r} tips it over (the arena reaches {high:,} bytes with it)")
        raise TargetError(
            f"{model}: needs {fp.ram_bytes:,} bytes of RAM (arena {fp.arena_bytes:,} + input {fp.input_bytes:,} + "
            f"output {fp.output_bytes:,} + stack {fp.stack_bytes:,} + runtime statics {fp.static_ram_bytes:,}), "
            f"target {target.name} has {target.sram_bytes:,}; {what}")
    if fp.scratch_bytes > fp.stack_bytes // 2:
        raise TargetError(f"{model}: a kernel's stack scratch of {fp.scratch_bytes:,} bytes leaves too little of "
                          f"the {fp.stack_bytes:,}-byte stack of {target.name}")


def _arena_tipping(graph, plan, room: int) -> tuple[str | None, int]:
    """The first tensor, in execution order, whose placement takes the arena past `room` bytes."""
    from edgeai.memory import _align

    if room < 0:
        return None, 0
    high = 0
    for node in graph.nodes:
        for name in node.outputs:
            loc = plan.locations.get(name)
            if loc is None or loc.region != "arena":
                continue
            high = max(high, _align(loc.offset + graph.tensor(name).nbytes))
            if high > room:
                return name, high
    return None, high
