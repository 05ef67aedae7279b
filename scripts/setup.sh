#!/usr/bin/env bash
# Sets up everything CLML Desktop needs on a Linux machine: the system
# libraries Qt needs (offscreen and under Xvfb), the validators the packaging
# tests run (desktop-file-validate, appstreamcli), a .venv with the app, the
# trainer and the test tools. Re-running it only installs what is missing.
# Sourcing it only defines the steps below (tests/test_setup_script.py).
set -euo pipefail

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

# Debian package -> a program that proves it is present (the packaging tests'
# validators; tests/ui/test_packaging.py skips without them).
declare -A SYSTOOLS=(
  [desktop-file-utils]=desktop-file-validate [appstream]=appstreamcli
)

# Prints the Debian packages that are missing, one a line.
# Each listing is read whole into a variable and then searched: piping it into
# `grep -q` under pipefail fails whenever grep stops early and the lister dies
# of SIGPIPE (any listing over 64 KB), which made present libraries "missing".
# ldconfig lives in /sbin, which a user's PATH may lack; a fake first on PATH wins.
missing_system_packages() {
  local libs fonts pkg
  libs=$(PATH="$PATH:/usr/sbin:/sbin" ldconfig -p 2>/dev/null || true)
  for pkg in "${!SYSLIBS[@]}"; do
    grep -qF -- "${SYSLIBS[$pkg]}" <<<"$libs" || echo "$pkg"
  done
  fonts=$(fc-list 2>/dev/null || true)
  grep -q . <<<"$fonts" || echo fonts-dejavu-core
  for pkg in "${!SYSTOOLS[@]}"; do
    command -v "${SYSTOOLS[$pkg]}" >/dev/null 2>&1 || echo "$pkg"
  done
}

# Installs the missing system packages with apt-get (sudo when not root),
# or names them where there is no apt-get.
ensure_system_packages() {
  local missing sudo=""
  mapfile -t missing < <(missing_system_packages)
  [ ${#missing[@]} -gt 0 ] || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: please install these system packages (Qt runtime libraries, test tools): ${missing[*]}" >&2
    return 0
  fi
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing system packages for Qt and the tests: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Creates .venv and installs the app with its extras, again only when
# pyproject.toml, setup.py, requirements/ or this script changed since the last install.
ensure_venv() {
  local py=${PYTHON:-python3} venv=.venv
  local stamp=$venv/.installed
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] \
     || [ requirements/app.txt -nt "$stamp" ] || [ requirements/trainer.txt -nt "$stamp" ] \
     || [ scripts/setup.sh -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e ".[dev]"
    touch "$stamp"
  fi
}

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  ensure_system_packages
  ensure_venv
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
