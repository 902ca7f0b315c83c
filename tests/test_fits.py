"""Does a model fit? `analyze`'s firmware flash and RAM against the linked ELF (edgeai.elfsize) of real MLPerf Tiny
firmwares, the linker scripts against target.json, and a model over its target's budget refused before building,
naming the layer or tensor that tips it over."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from edgeai.errors import TargetError
from edgeai.targets import list_targets, load_target

CORTEX_M = [t for t in list_targets() if t.is_cortex_m]
_SIZE = {"K": 1024, "M": 1024 * 1024, "": 1}


def _memory_regions(script: str) -> dict[str, tuple[str, int]]:
    """name -> (attributes, bytes) of each region in a GNU ld MEMORY block."""
    block = re.search(r"MEMORY\s*\{(.*?)\}", re.sub(r"/\*.*?\*/", "", script, flags=re.S), re.S).group(1)
    regions = {}
    for m in re.finditer(r"(\w+)\s*\((\w+)\)\s*:\s*ORIGIN\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*LENGTH\s*=\s*"
                         r"(0x[0-9a-fA-F]+|\d+)([KM]?)", block):
        regions[m.group(1)] = (m.group(2), int(m.group(4), 0) * _SIZE[m.group(5)])
    return regions


@pytest.mark.parametrize("target", CORTEX_M, ids=lambda t: t.name)
def test_linker_script_declares_exactly_the_targets_memories(target):
    regions = _memory_regions(target.linker_script.read_text())
    assert regions, f"{target.linker_script}: no MEMORY regions parsed"
    flash = sum(size for attrs, size in regions.values() if "w" not in attrs)
    ram = sum(size for attrs, size in regions.values() if "w" in attrs)
    assert (flash, ram) == (target.flash_bytes, target.sram_bytes), regions


MODELS_M4 = ["ad01_int8.tflite", "kws_ref_model.tflite", "vww_96_int8.tflite", "pretrainedResnet_quant.tflite"]
# The per-target figures were measured on these four and on three ONNX QDQ models; kws's QDQ export was not
# among them: it checks the figures on a model they were not taken from (ONNX numerics: other kernel entries).
BUILDS = [(m, "cortex-m4") for m in MODELS_M4] + [("kws_ref_model_float32_dequant_qdq.onnx", "cortex-m4"),
                                                   ("kws_ref_model.tflite", "cortex-m7"),
                                                   ("ad01_int8.tflite", "cortex-m55")]


@pytest.fixture(scope="module")
def linked(tmp_cache):
    """(model, target) -> the linked firmware's memory report (edgeai.elfsize), each firmware built once."""
    from conftest import model_path
    from edgeai.compile import compile_model
    from edgeai.elfsize import memory_report
    from edgeai.runtime.device import build_firmware

    reports = {}
    for model, target in BUILDS:
        compiled = compile_model(model_path(model), target)
        elf = build_firmware(compiled.path, target)
        reports[model, target] = memory_report(elf, compiled.path, "arm-none-eabi-gcc", compiled.desc["arena_size"])
    return reports


def _analyze_json(path) -> dict:
    """`edgeai analyze --json` as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "edgeai.cli", "analyze", "--json", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
@pytest.mark.toolchain
@pytest.mark.parametrize("model", sorted({m for m, _ in BUILDS}))
def test_analyze_is_the_linked_firmware_within_2_percent(model, linked):
    from conftest import model_path

    analysis = _analyze_json(model_path(model))
    for (name, target), report in linked.items():
        if name != model:
            continue
        # without a per-target firmware figure, what analyze says of every target: its model-wide bytes
        said = analysis.get("firmware", {}).get(target) or {
            "flash_bytes": analysis["weight_bytes"], "ram_bytes": analysis["ram_bytes"],
            "weight_bytes": analysis["weight_bytes"]}
        assert said["flash_bytes"] == pytest.approx(report["flash_bytes"], rel=0.02), (target, said, report)
        assert said["ram_bytes"] == pytest.approx(report["ram_bytes"], rel=0.02), (target, said, report)
        # the weights as the DSP kernels store them are known exactly, not estimated
        assert said["weight_bytes"] == report["model_weight_bytes"]


def _refused(tmp_path, **budget):
    """vww compiled for cortex-m7 with `budget` in place of its memories: analyze's footprint there, and the
    message compile refuses it with, having written nothing."""
    from conftest import tflite
    from edgeai.compile import compile_model
    from edgeai.frontends import load

    path, target = tflite("vww_96_int8"), dataclasses.replace(load_target("cortex-m7"), **budget)
    out = tmp_path / "lib"
    with pytest.raises(TargetError) as err:
        compile_model(path, target, out_dir=out)
    assert not out.exists()  # refused before any file was written, let alone built
    from edgeai.analyze import firmware_footprints

    return firmware_footprints(load(path), [target])[target.name], str(err.value)


@pytest.mark.slow
def test_flash_over_budget_refused_before_building_naming_the_layer(tmp_path, tmp_cache):
    """vww's firmware as the DSP kernels store it (int8 weights after the dead-channel pass, ~99 KB) does not fit
    90,000 bytes."""
    said, message = _refused(tmp_path, flash_bytes=90_000)
    assert f"needs {said.flash_bytes:,} bytes of flash" in message and "90,000" in message
    assert re.search(r"layer '[^']+' tips it over", message), message


@pytest.mark.slow
def test_ram_over_budget_refused_before_building_naming_the_tensor(tmp_path, tmp_cache):
    """vww's arena + input + output (82,960 B) fit 100,000 bytes; with the stack and runtime statics they do not."""
    said, message = _refused(tmp_path, sram_bytes=100_000)
    assert f"needs {said.ram_bytes:,} bytes of RAM" in message and "stack 32,768" in message
    assert re.search(r"tensor '[^']+' tips it over", message), message


@pytest.mark.toolchain
def test_link_overflow_is_one_line(tmp_path):
    """A real ld overflow (a 4 KiB array in a 1 KiB region) is reported in one line naming the region."""
    from edgeai.build import _run
    from edgeai.errors import ToolchainError

    (tmp_path / "big.c").write_text("const char big[4096] = {1};\nvoid _start(void) { for (;;) {} }\n")
    (tmp_path / "tiny.ld").write_text("MEMORY { FLASH (rx) : ORIGIN = 0, LENGTH = 1K }\n"
                                      "SECTIONS { .text : { *(.text*) *(.rodata*) } > FLASH }\n")
    with pytest.raises(ToolchainError) as err:
        _run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-T", "tiny.ld", "big.c", "-o",
              "big.elf"], tmp_path, "linking big.elf")
    message = str(err.value)
    assert "\n" not in message, message
    assert re.search(r"does not fit the target's memory: (region FLASH overflowed by 3,\d{3} bytes|section "
                     r"\.text does not fit region FLASH)", message), message
