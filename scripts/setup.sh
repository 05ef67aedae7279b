#!/usr/bin/env bash
# Sets up everything CLML Desktop needs on a Linux machine: the system
# libraries Qt needs (offscreen and under Xvfb), a .venv with the app, the
# trainer and the test tools. Re-running it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed

# Debian package -> a file that proves it is present.
declare -A SYSLIBS=(
  [libegl1]=libEGL.so.1 [libgl1]=libGL.so.1 [libxkbcommon0]=libxkbcommon.so.0
  [libfontconfig1]=libfontconfig.so.1 [libglib2.0-0]=libglib-2.0.so.0
  [libdbus-1-3]=libdbus-1.so.3 [libxcb-cursor0]=libxcb-cursor.so.0
  [libxcb-icccm4]=libxcb-icccm.so.4 [libxcb-keysyms1]=libxcb-keysyms.so.1
  [libxkbcommon-x11-0]=libxkbcommon-x11.so.0 [libxcb-shape0]=libxcb-shape.so.0
  [libxcb-randr0]=libxcb-randr.so.0 [libxcb-render-util0]=libxcb-render-util.so.0
  [libxcb-image0]=libxcb-image.so.0 [libxcb-xkb1]=libxcb-xkb.so.1
)
missing=()
for pkg in "${!SYSLIBS[@]}"; do
  ldconfig -p 2>/dev/null | grep -q "${SYSLIBS[$pkg]}" || missing+=("$pkg")
done
fc-list 2>/dev/null | grep -q . || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing system libraries for Qt: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "setup: please install the Qt runtime libraries: ${missing[*]}" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ scripts/setup.sh -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  touch "$STAMP"
fi
