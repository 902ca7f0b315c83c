"""The peer set-up: an arm64 Debian Python with LiteRT and onnxruntime's aarch64 wheels, for counting their
instructions per inference under qemu-aarch64 next to edgeai's (edgeai.bench.peers).

`edgeai bench --setup-peers` builds it once into the cache ($EDGEAI_CACHE/peers/aarch64-<key>, or
$EDGEAI_PEERS/aarch64-<key>): mmdebstrap extracts Debian's arm64 python3 (no package scripts run), pip downloads
the aarch64 wheels of the LiteRT and onnxruntime versions installed here (so the desktop reference is the same
release), and a tiny launcher (targets/qemu/peer_python.c) gives the plugin marker addresses it can know before
the run. The folder is published whole with a SHA256SUMS manifest (edgeai.manifest) and checked before use; the
key covers everything it is made from, so a new LiteRT here makes a new set-up rather than a stale comparison.

Runtimes probe the CPU from /proc/cpuinfo and /sys/devices/system/cpu, which qemu-user passes through from the x86
host (LiteRT crashes at interpreter creation on what it reads there). qemu-user looks every absolute path up in
its -L folder first, so each emulated CPU gets a folder `cpu/<name>/` with an ARM cpuinfo and a one-CPU sysfs
tree, and links to the rootfs for everything else.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from edgeai import REPO_ROOT
from edgeai.cache import cache_root
from edgeai.errors import ToolchainError
from edgeai.manifest import built_folder, manifest_problem

DEBIAN_SUITE = "bookworm"  # its python3 is 3.11, the version the wheels below are for
PACKAGES = ("python3", "libpython3.11", "libpython3.11-stdlib", "libstdc++6", "libgcc-s1", "libgomp1", "zlib1g")
PYTHON_VERSION = "3.11"
NUMPY = "2.3.5"  # a numpy with a cp311 aarch64 wheel that both runtimes accept
WHEEL_PLATFORMS = ("manylinux_2_17_aarch64", "manylinux2014_aarch64", "manylinux_2_27_aarch64",
                   "manylinux_2_28_aarch64")
LAUNCHER_SOURCE = REPO_ROOT / "targets" / "qemu" / "peer_python.c"
LAUNCHER = "opt/edgeai/python"  # in the rootfs
SITE = "opt/edgeai/site"  # the wheels, unpacked
MARKER = "setup.json"  # what the set-up was made from
LAYOUT = 1  # raise when _build changes what it makes: the key changes, and a new set-up is built

# What /proc/cpuinfo says on the boards (MIDR fields of the SoC's cores; Features as their kernels print them).
# The instruction set a runtime uses comes from the hwcaps qemu gives the -cpu it emulates; these name the core.
CPUS = {
    "cortex-a72": {"variant": "0x0", "part": "0xd08", "revision": "3",  # BCM2711 (Raspberry Pi 4), r0p3
                   "features": "fp asimd evtstrm crc32 cpuid"},
    "cortex-a76": {"variant": "0x4", "part": "0xd0b", "revision": "1",  # BCM2712 (Raspberry Pi 5), r4p1
                   "features": "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
                               "lrcpc dcpop asimddp"},
}

SETUP_HINT = "create it with `edgeai bench --setup-peers` (needs mmdebstrap and qemu-user, and internet access once)"


def runtime_versions() -> dict[str, str]:
    """The peer wheels to fetch: the LiteRT and onnxruntime releases installed next to edgeai, and numpy."""
    versions = {}
    for name in ("ai-edge-litert", "onnxruntime"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise ToolchainError(f"the peer set-up fetches the aarch64 wheel of the {name} installed here, and "
                                 f"none is (pip install {name})") from None
    versions["numpy"] = NUMPY
    return versions


def _recipe() -> dict:
    return {"suite": DEBIAN_SUITE, "packages": list(PACKAGES), "python": PYTHON_VERSION,
            "wheels": runtime_versions(), "cpus": CPUS,
            "launcher_sha256": hashlib.sha256(LAUNCHER_SOURCE.read_bytes()).hexdigest(),
            "layout": LAYOUT}


def peers_root() -> Path:
    """Where set-ups live: $EDGEAI_PEERS, else the cache's peers/ (a test's private cache can still find the
    user's set-up through EDGEAI_PEERS)."""
    return Path(os.environ.get("EDGEAI_PEERS") or cache_root() / "peers")


def setup_dir() -> Path:
    key = hashlib.sha256(json.dumps(_recipe(), sort_keys=True).encode()).hexdigest()[:16]
    return peers_root() / f"aarch64-{key}"


@lru_cache(maxsize=None)
def _checked(folder: Path) -> str | None:
    return manifest_problem(folder)  # hashes ~300 MB: once per process


def setup_problem() -> str | None:
    """Why peers cannot be counted here (None: they can)."""
    missing = [tool for tool in ("qemu-aarch64", "aarch64-linux-gnu-nm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (Debian: apt-get install qemu-user binutils-aarch64-linux-gnu)"
    try:
        folder = setup_dir()
    except ToolchainError as e:
        return str(e)
    if not folder.exists():
        return f"no peer set-up in {folder}; {SETUP_HINT}"
    problem = _checked(folder)
    if problem is not None:
        return f"the peer set-up {folder} is damaged ({problem}); {SETUP_HINT} again"
    return None


def prefix(cpu: str) -> Path:
    """The -L folder of one emulated CPU."""
    if cpu not in CPUS:
        raise ToolchainError(f"no peer CPU description for {cpu!r} (known: {', '.join(CPUS)})")
    return setup_dir() / "cpu" / cpu


def launcher() -> Path:
    return setup_dir() / "rootfs" / LAUNCHER


def guest_environment() -> dict[str, str]:
    """The guest Python's environment: only its own library and the wheels (paths as the guest sees them through
    -L), a fixed hash seed (allocations, hence counts, do not vary run to run), no bytecode written into the
    published rootfs."""
    return {"PATH": "/usr/bin:/bin", "PYTHONHOME": "/usr", "PYTHONPATH": f"/{SITE}", "PYTHONNOUSERSITE": "1",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
            "ORT_DISABLE_TELEMETRY": "1"}


def ensure_setup(progress=print) -> Path:
    """Build the peer set-up unless a whole one is cached; returns its folder."""
    missing = [tool for tool in ("mmdebstrap", "qemu-aarch64", "aarch64-linux-gnu-gcc") if shutil.which(tool) is None]
    if missing:
        raise ToolchainError(f"the peer set-up needs {', '.join(missing)} (Debian: apt-get install mmdebstrap "
                             f"qemu-user gcc-aarch64-linux-gnu)")
    folder = setup_dir()
    recipe = _recipe()
    return built_folder(folder, lambda tmp: _build(tmp, recipe, progress), "peer set-up")


def _run(cmd: list[str], what: str, **kwargs) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ToolchainError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def _build(tmp: Path, recipe: dict, progress) -> None:
    rootfs = tmp / "rootfs"
    progress(f"peer set-up: extracting Debian {DEBIAN_SUITE} arm64 {', '.join(PACKAGES)}")
    _run(["mmdebstrap", "--quiet", "--variant=extract", "--arch=arm64", f"--include={','.join(PACKAGES)}",
          DEBIAN_SUITE, str(rootfs)], "mmdebstrap")
    _tidy(rootfs)
    wheels = tmp / "wheels"
    specs = [f"{name}=={version}" for name, version in recipe["wheels"].items()]
    progress(f"peer set-up: downloading aarch64 wheels {' '.join(specs)}")
    platforms = [arg for p in WHEEL_PLATFORMS for arg in ("--platform", p)]
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *platforms,
          "--python-version", PYTHON_VERSION, "-d", str(wheels), *specs], "pip download")
    site = rootfs / SITE
    site.mkdir(parents=True)
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    shutil.rmtree(wheels)
    progress("peer set-up: building the launcher")
    _run(["aarch64-linux-gnu-gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-no-pie", "-rdynamic",
          "-o", str(rootfs / LAUNCHER), str(LAUNCHER_SOURCE)], "building the peer launcher")
    for cpu, fields in CPUS.items():
        _cpu_prefix(tmp / "cpu" / cpu, rootfs, fields)
    _compile_modules(rootfs, progress)
    (tmp / MARKER).write_text(json.dumps(recipe, indent=2, sort_keys=True) + "\n")


def _compile_modules(rootfs: Path, progress) -> None:
    """Byte-compile the guest's modules now: the guest cannot write them later (a path that is not in the -L
    folder yet goes to the host's), and compiling them on every start would cost its Python seconds. Bytecode is
    the same on every architecture; only the minor version must match. Files the compiler rejects (a few test
    fixtures in the standard library are invalid on purpose) stay source."""
    if sys.version_info[:2] != tuple(int(x) for x in PYTHON_VERSION.split(".")):
        progress(f"peer set-up: this Python is not {PYTHON_VERSION}; the guest compiles its modules on each start")
        return
    progress("peer set-up: byte-compiling the guest's modules")
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "-s", str(rootfs), "-p", "/",
                    str(rootfs / "usr" / "lib" / f"python{PYTHON_VERSION}"), str(rootfs / SITE)],
                   capture_output=True)


def _tidy(rootfs: Path) -> None:
    """Make the extracted tree one the manifest can hash and the guest can use: no device nodes (reading
    dev/console blocks; the guest's /dev falls through to the host's), absolute symlinks pointing inside the rootfs
    instead of at the host's files, and none that lead nowhere."""
    shutil.rmtree(rootfs / "dev", ignore_errors=True)
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for name in dirnames + filenames:
            link = Path(dirpath) / name
            if not link.is_symlink():
                if not (link.is_dir() or link.is_file()):
                    link.unlink()  # a fifo or device node
                continue
            target = os.readlink(link)
            if target.startswith("/"):
                inside = rootfs / target.lstrip("/")
                link.unlink()
                link.symlink_to(os.path.relpath(inside, link.parent))
            if not link.exists():
                link.unlink()


def _cpu_prefix(folder: Path, rootfs: Path, fields: dict) -> None:
    folder.mkdir(parents=True)
    for entry in sorted(rootfs.iterdir()):
        if entry.name not in ("proc", "sys"):
            (folder / entry.name).symlink_to(os.path.relpath(entry, folder))
    (folder / "proc").mkdir()
    (folder / "proc" / "cpuinfo").write_text(
        f"processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: {fields['features']}\nCPU implementer\t: 0x41\n"
        f"CPU architecture: 8\nCPU variant\t: {fields['variant']}\nCPU part\t: {fields['part']}\n"
        f"CPU revision\t: {fields['revision']}\n\n")
    cpus = folder / "sys" / "devices" / "system" / "cpu"
    (cpus / "cpu0" / "topology").mkdir(parents=True)
    for name in ("possible", "present", "online"):
        (cpus / name).write_text("0\n")
    for name in ("core_siblings_list", "thread_siblings_list", "package_cpus_list", "core_cpus_list",
                 "cluster_cpus_list"):
        (cpus / "cpu0" / "topology" / name).write_text("0\n")
    for name in ("physical_package_id", "core_id", "cluster_id"):
        (cpus / "cpu0" / "topology" / name).write_text("0\n")
