"""Cycle estimate of a Cortex-M run from its instruction classes (the QEMU plugin's class mode).

cycles = sum over classes (count x class cycles) + transfers x transfer cycles + taken branches x refill cycles
         + taken branches x flash stall cycles - MVE overlap cycles x mve_overlap cycles

with every cost from the target's `cycle_model` (targets/<name>/target.json), each with the document it comes
from. The MVE (Helium) classes cost their cycles one after another (a 4-beat instruction on the Cortex-M55's
2-beat datapath: 2 cycles); the plugin's `mve_overlap` is what overlapping the beats of consecutive MVE
instructions saves (targets/qemu/mve_beats.h: the pair rule of SLOTHY's Cortex-M55 model, applied per
translation block), and the estimate's "mve" part shows that accounting beside the instruction count.

It is an estimate: it knows no operand-dependent timing (a divide takes its table's typical value), no
register interlocks beyond the load pipelining the plugin sees, no bus contention and no cache misses other
than what the flash term models.
"""

from __future__ import annotations

from typing import Mapping

# The plugin's classes (targets/qemu/thumb_classes.c, thumb_class_names): every executed instruction is in one.
MVE_CLASSES = ("mve_load", "mve_store", "mve_int", "mve_mul", "mve_fp", "mve_move")
CLASSES = ("alu", "load", "load_pipelined", "store", "load_multiple", "store_multiple", "mul", "mac", "div",
           "branch", "fp", "fp_mac", "fp_div", "fp_load_store") + MVE_CLASSES
# Counted beside the classes: registers moved by multiple loads/stores, branches that were taken, and the cycles
# the MVE beat overlap saves.
EVENTS = ("transfers", "taken", "mve_overlap")
COSTS = CLASSES + ("transfer", "taken_branch", "mve_overlap")


def validate_model(model, fail) -> None:
    """Check a target.json cycle_model; `fail(field, problem)` makes the error to raise."""
    if not isinstance(model, dict):
        raise fail("cycle_model", "must be an object")
    if model.get("estimate") is not True:
        raise fail("cycle_model.estimate", "must be true: the cycle model is an estimate")
    costs = model.get("cycles")
    if not isinstance(costs, dict):
        raise fail("cycle_model.cycles", "must map each instruction class to {cycles, source}")
    for name in COSTS:
        entry = costs.get(name)
        if not isinstance(entry, dict):
            raise fail(f"cycle_model.cycles.{name}", "is missing")
        value = entry.get("cycles")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise fail(f"cycle_model.cycles.{name}.cycles", "must be a number >= 0")
        if not isinstance(entry.get("source"), str) or not entry["source"]:
            raise fail(f"cycle_model.cycles.{name}.source", "must name the document the value comes from")
        beats = entry.get("beats")
        if name in MVE_CLASSES and (isinstance(beats, bool) or not isinstance(beats, int) or beats < 0):
            raise fail(f"cycle_model.cycles.{name}.beats", "must give the beats of one instruction (an integer >= 0)")
    unknown = sorted(set(costs) - set(COSTS))
    if unknown:
        raise fail(f"cycle_model.cycles.{unknown[0]}", f"is not a class (known: {', '.join(COSTS)})")
    flash = model.get("flash")
    if not isinstance(flash, dict) or not isinstance(flash.get("source"), str) or not flash["source"]:
        raise fail("cycle_model.flash", "must give stall_cycles_per_taken_branch with its source")
    stall = flash.get("stall_cycles_per_taken_branch")
    if isinstance(stall, bool) or not isinstance(stall, (int, float)) or stall < 0:
        raise fail("cycle_model.flash.stall_cycles_per_taken_branch", "must be a number >= 0")


def estimate_cycles(model: Mapping, classes: Mapping[str, int]) -> dict:
    """Cycles of one run from its class counts (a plugin `region ... classes` line) under `model`."""
    costs = model["cycles"]
    by_class = {name: classes.get(name, 0) * costs[name]["cycles"] for name in CLASSES}
    by_class["transfer"] = classes.get("transfers", 0) * costs["transfer"]["cycles"]
    by_class["taken_branch"] = classes.get("taken", 0) * costs["taken_branch"]["cycles"]
    by_class["flash"] = classes.get("taken", 0) * model["flash"]["stall_cycles_per_taken_branch"]
    by_class["mve_overlap"] = -classes.get("mve_overlap", 0) * costs["mve_overlap"]["cycles"]
    cycles = sum(by_class.values())
    instructions = sum(classes.get(name, 0) for name in CLASSES)
    used = [name for name in COSTS if by_class.get(name)]
    sources = list(dict.fromkeys(costs[name]["source"] for name in used)) + [model["flash"]["source"]]
    return {
        "estimate": True,
        "cycles": round(cycles),
        "instructions": instructions,
        "cycles_per_instruction": cycles / instructions if instructions else None,
        "by_class": {k: round(v) for k, v in by_class.items() if v},
        "mve": mve_accounting(costs, classes),
        "model": model.get("summary", ""),
        "sources": sources,
    }


def mve_accounting(costs: Mapping, classes: Mapping[str, int]) -> dict:
    """The MVE part of the estimate beside its instruction count: instructions, their beats, their cycles one
    after another and with the beat overlap."""
    instructions = sum(classes.get(name, 0) for name in MVE_CLASSES)
    alone = sum(classes.get(name, 0) * costs[name]["cycles"] for name in MVE_CLASSES)
    overlap = classes.get("mve_overlap", 0) * costs["mve_overlap"]["cycles"]
    return {
        "instructions": instructions,
        "beats": sum(classes.get(name, 0) * costs[name]["beats"] for name in MVE_CLASSES),
        "cycles_one_after_another": round(alone),
        "cycles_saved_by_overlap": round(overlap),
        "cycles": round(alone - overlap),
    }
