"""AddressSanitizer for the host libraries a process loads (EDGEAI_HOST_ASAN=1).

An ASan library only loads into a process whose very first library is ASan's runtime, so that runtime has to be
preloaded when the process starts (then libstdc++, or ASan finds no __cxa_throw to wrap: Python does not link it,
and TVM and onnxruntime throw and catch their own C++ exceptions). The process that needs it (a pytest-xdist
worker, an `edgeai` CLI) starts with LD_PRELOAD and ASAN_OPTIONS set and takes both out of its environment again
at once, so its own children (gcc, cmake, QEMU) start without a runtime none of them is built for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from edgeai.errors import ToolchainError

PRELOADED = ("LD_PRELOAD", "ASAN_OPTIONS")  # what the preloaded process starts with, and not its children
ENV_BEFORE = "EDGEAI_ENV_BEFORE_ASAN"  # those variables as they were before, as JSON
OPTIONS = "EDGEAI_ASAN_OPTIONS"  # ASAN_OPTIONS for every preloaded process, children included (e.g. a log_path)
# Python never frees everything at exit: leaks are not what this looks for. The generated C never allocates, so
# neither freed-memory quarantine nor allocation stacks can catch anything in it; without them a process stays at
# its usual size and TVM's compiles run faster.
DEFAULT_OPTIONS = "detect_leaks=0:quarantine_size_mb=0:malloc_context_size=0"


def requested() -> bool:
    return bool(os.environ.get("EDGEAI_HOST_ASAN"))


def runtime_libraries(cc: str = "gcc") -> list[str]:
    """ASan's runtime and the C++ runtime of the host compiler, in preload order."""
    paths = []
    for name in ("libasan.so", "libstdc++.so"):
        try:
            path = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
        except OSError as e:
            raise ToolchainError(f"EDGEAI_HOST_ASAN is set but {cc} does not run: {e}") from None
        if not os.path.isabs(path):  # gcc prints the bare name of a library it does not have
            raise ToolchainError(f"EDGEAI_HOST_ASAN is set but {cc} has no {name} (install libasan: "
                                 f"scripts/setup.sh does)")
        paths.append(path)
    return paths


def preloaded_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` for a process that starts with the ASan runtime preloaded and restores `env` with
    restore_environment() (so that its children do not get it)."""
    out = dict(env)
    out[ENV_BEFORE] = json.dumps({name: env.get(name) for name in PRELOADED})
    out["LD_PRELOAD"] = " ".join(filter(None, [*runtime_libraries(), env.get("LD_PRELOAD")]))
    out["ASAN_OPTIONS"] = env.get(OPTIONS) or DEFAULT_OPTIONS
    return out


def restore_environment() -> bool:
    """In a process started with preloaded_environment(): give os.environ back what it was before, for the
    children. Returns whether this process was started so."""
    before = os.environ.pop(ENV_BEFORE, None)
    if before is None:
        return False
    for name, value in json.loads(before).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return True


def reexec_preloaded(argv: list[str]) -> None:
    """Replace this process by `python argv...` with the ASan runtime preloaded, when EDGEAI_HOST_ASAN asks for it
    and the runtime is not loaded yet: the host libraries built and loaded here are then ASan+UBSan libraries."""
    from edgeai.runtime.host import asan_runtime_loaded

    if not requested() or asan_runtime_loaded():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *argv], preloaded_environment(dict(os.environ)))
