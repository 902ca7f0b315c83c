"""The table that picks hand-written kernels per instruction set (compilers/lowering/kernel_table.py): every
target's instruction sets are in it, a layer goes to the first kernel that takes it in the target's order, a
decline falls through to the next instruction set and then to TVM, with the reasons on record."""

from __future__ import annotations

import dataclasses

import pytest

from compilers.lowering import kernel_table, lower_graph
from conftest import tflite
from edgeai.errors import TargetError
from edgeai.frontends import load
from edgeai.passes import default_pipeline
from edgeai.targets import list_targets, load_target


@pytest.fixture(scope="module")
def ad01():
    return default_pipeline(load(tflite("ad01_int8")))  # ten fully connected layers


def test_every_target_names_instruction_sets_the_table_has():
    for target in list_targets():
        assert set(target.isa) <= set(kernel_table.KERNELS), target.name


def test_an_unknown_instruction_set_is_refused_naming_the_target(ad01):
    target = dataclasses.replace(load_target("cortex-m4"), isa=("avx9",))
    with pytest.raises(TargetError, match="cortex-m4.*'avx9'.*known: dotprod, dsp, mve, neon"):
        lower_graph(ad01, target)


def _symbols(lowered):
    return [call.symbol for call in lowered.calls]


def test_layers_go_to_the_first_instruction_set_that_takes_them(ad01, monkeypatch):
    seen = []

    def probe(ctx, node, *args):  # takes the first layer, declines the rest
        seen.append(node.name)
        if len(seen) > 1:
            return ctx.decline(node, "probe declines: not the first layer")
        return kernel_table.KERNELS["dsp"]["fully_connected"](ctx, node, *args)

    monkeypatch.setitem(kernel_table.KERNELS, "probe", {"fully_connected": probe})
    m4 = load_target("cortex-m4")
    dsp_only = lower_graph(ad01, m4)
    both = lower_graph(ad01, dataclasses.replace(m4, isa=("probe", "dsp")))
    fcs = [n.name for n in ad01.nodes if n.op == "fully_connected"]
    assert seen == fcs  # asked first, for every layer
    assert _symbols(both) == _symbols(dsp_only)  # the declined layers fell through to the DSP kernel
    assert all(s.startswith("edgeai_conv_s8") for s in _symbols(dsp_only))
    assert not both.generic  # a layer some kernel took is not reported as on a generic kernel


def test_a_layer_every_instruction_set_declines_keeps_the_reason(ad01, monkeypatch):
    def refuse(ctx, node, *args):
        return ctx.decline(node, "probe declines: never")

    monkeypatch.setitem(kernel_table.KERNELS, "probe", {"fully_connected": refuse})
    lowered = lower_graph(ad01, dataclasses.replace(load_target("cortex-m4"), isa=("probe",)))
    fcs = [n.name for n in ad01.nodes if n.op == "fully_connected"]
    assert lowered.generic == {name: "probe declines: never" for name in fcs}
    assert not any(s.startswith("edgeai_") for s in _symbols(lowered))


def test_without_instruction_sets_every_layer_is_on_tvm(ad01):
    generic = lower_graph(ad01, dataclasses.replace(load_target("cortex-m4"), isa=()))
    assert not any(s.startswith("edgeai_") for s in _symbols(generic))


def test_a_row_of_several_makers_tries_them_in_order(ad01, monkeypatch):
    asked = []

    def specialised(ctx, node, *args):  # specialises nothing: steps aside without a decline
        asked.append(node.name)
        return None

    general = kernel_table.KERNELS["dsp"]["fully_connected"]
    monkeypatch.setitem(kernel_table.KERNELS, "probe", {"fully_connected": (specialised, general)})
    m4 = load_target("cortex-m4")
    lowered = lower_graph(ad01, dataclasses.replace(m4, isa=("probe",)))
    fcs = [n.name for n in ad01.nodes if n.op == "fully_connected"]
    assert asked == fcs
    assert _symbols(lowered) == _symbols(lower_graph(ad01, m4))
    assert not lowered.generic
