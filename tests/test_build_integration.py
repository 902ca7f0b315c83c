"""The emitted library in a user's own firmware: tests/user_firmware/main.c calls kws_run, built for cortex-m4
with our startup code and linker script by three consumers (CMake package, CMake add_subdirectory, plain
Makefile through the kws.mk fragment), run under qemu-system-arm; its UART output equals LiteRT's reference
kernels bit for bit. The package and Makefile consumers build kws with its weights as bytes (.incbin), the
add_subdirectory one with its weights as C text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import tflite
from edgeai import REPO_ROOT

USER_FIRMWARE = REPO_ROOT / "tests" / "user_firmware"
TOOLCHAIN = REPO_ROOT / "targets" / "cortex-m4" / "toolchain.cmake"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.qemu,
    pytest.mark.toolchain,
    pytest.mark.skipif(any(shutil.which(t) is None for t in ("arm-none-eabi-gcc", "qemu-system-arm", "cmake", "make")),
                       reason="needs arm-none-eabi-gcc, qemu-system-arm, cmake and make"),
]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> dict:
    """kws compiled for cortex-m4 with prefix kws, an input as a C header, and LiteRT's output for it; and kws
    compiled with its weights as bytes placed by .incbin (as a model of 1 MiB of weights or more has them,
    compilers/c/binary_weights.py), which the CMake package and Makefile consumers build."""
    from edgeai.compile import compile_model
    from edgeai.runtime.reference import LiteRTSession

    root = tmp_path_factory.mktemp("integration")
    lib = compile_model(tflite("kws_ref_model"), "cortex-m4", root / "kws", prefix="kws").path
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("compilers.c.emit.BINARY_WEIGHTS_MIN_BYTES", 0)
        binary = compile_model(tflite("kws_ref_model"), "cortex-m4", root / "kws-binary", prefix="kws")
    assert [f.endswith(".bin") for f in binary.desc["data_files"]] == [True]
    reference = LiteRTSession(tflite("kws_ref_model"))
    spec = reference.inputs[0]
    x = np.random.default_rng(7).integers(-128, 128, size=spec.shape, dtype=np.int8)
    want = reference.run([x])[0].reshape(-1)
    inputs = root / "input"
    inputs.mkdir()
    (inputs / "user_input.h").write_text(
        "#include <stdint.h>\n#include \"kws_model.h\"\n"
        "static const int8_t user_input[KWS_INPUT_SIZE] __attribute__((aligned(16))) = {"
        + ", ".join(str(int(v)) for v in x.reshape(-1)) + "};\n")
    return {"lib": lib, "binary_lib": binary.path, "inputs": inputs, "want": want, "root": root}


def _check(cmd: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def _run_and_compare(elf: Path, want: np.ndarray) -> None:
    from edgeai.emulator import run_program

    result = run_program("cortex-m4", elf, count_instructions=False)
    lines = result.stdout.splitlines() if isinstance(result.stdout, str) else result.stdout.decode().splitlines()
    assert result.returncode == 0 and "status 0" in lines, result.stdout
    got = np.array([int(v) for v in next(l for l in lines if l.startswith("output")).split()[1:]], np.int8)
    np.testing.assert_array_equal(got, want)  # bit-exact with LiteRT BUILTIN_REF


def _cmake_firmware(build: Path, library: dict, how: list[str]) -> Path:
    cmd = ["cmake", "-S", str(USER_FIRMWARE), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}",
           "-DCMAKE_BUILD_TYPE=Release", f"-DUSER_INPUT_DIR={library['inputs']}", "-Wno-dev", *how]
    if shutil.which("ninja"):
        cmd += ["-G", "Ninja"]
    _check(cmd)
    _check(["cmake", "--build", str(build)])
    return build / "user_firmware.elf"


def test_cmake_package_consumer_runs_bit_exact(library):
    # The library folder moved elsewhere, as a user copies it into a project: nothing points back at us (the
    # weights' bytes are found through the include path, wherever the folder is).
    vendored = library["root"] / "vendor" / "edgeai_kws"
    shutil.copytree(library["binary_lib"], vendored)
    elf = _cmake_firmware(library["root"] / "build-package", library, [f"-Dedgeai_kws_DIR={vendored}"])
    _run_and_compare(elf, library["want"])


def test_cmake_add_subdirectory_consumer_runs_bit_exact(library):
    elf = _cmake_firmware(library["root"] / "build-subdir", library, [f"-DKWS_LIBRARY={library['lib']}"])
    _run_and_compare(elf, library["want"])


def test_makefile_fragment_consumer_runs_bit_exact(library):
    build = library["root"] / "build-make"
    _check(["make", "-f", str(USER_FIRMWARE / "Makefile"), f"KWS_LIBRARY={library['binary_lib']}",
            f"USER_INPUT_DIR={library['inputs']}", f"BUILD={build}", "-j2"])
    _run_and_compare(build / "user_firmware.elf", library["want"])


def test_arena_and_weights_land_where_the_linker_script_says(library):
    """The documented placement: the arena in .edgeai_arena (RAM), the weights in .rodata (flash), .incbin'd bytes
    too (the Makefile consumer builds the binary-weights library)."""
    build = library["root"] / "build-make"
    if not (build / "user_firmware.elf").is_file():
        test_makefile_fragment_consumer_runs_bit_exact(library)
    def symbols(path: Path) -> list[list[str]]:  # objdump -t rows: ... section size name
        text = subprocess.run(["arm-none-eabi-objdump", "-t", str(path)], capture_output=True, text=True,
                              check=True).stdout
        return [row.split() for row in text.splitlines() if len(row.split()) >= 5]

    # Every constant the weights file defines (whatever the emitter names them).
    weight_names = {row[-1] for row in symbols(build / "kws_weights.o") if row[-3].startswith(".rodata")}
    placed = {row[-1]: row[-3] for row in symbols(build / "user_firmware.elf")}
    assert placed["arena"] == ".edgeai_arena"
    assert weight_names and {placed[n] for n in weight_names if n in placed} == {".rodata"}
