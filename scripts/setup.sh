#!/usr/bin/env bash
# Idempotent set-up: Debian toolchains (cross compilers, QEMU, CMake) and the Python environment in .venv.
# Safe to run again; it only installs what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc g++ make cmake ninja-build gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
              qemu-user-static qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross python3-venv python3-dev)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when the declared dependencies change.
stamp=.venv/.edgeai-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv (log: .venv/pip.log)"
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[dev]'; } \
       > .venv/pip.log 2>&1; then
    tail -n 30 .venv/pip.log
    echo "setup: pip install failed; full log in .venv/pip.log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi

# Our QEMU instruction-counting plugin, built from targets/qemu/icount_plugin.c.
.venv/bin/python -c "from edgeai.qemu_plugin import plugin_path; plugin_path()"
