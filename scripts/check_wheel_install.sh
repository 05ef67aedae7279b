#!/usr/bin/env bash
# Issue 15: does the built wheel give a working clml-desktop in a fresh virtual
# environment, as `pip install` / `pipx install` would? Builds the wheel, installs it
# into a new venv (dependencies from the package index), then runs the installed
# command as a person would: --version, a tiny demo without the GUI, a 1-epoch training
# (the trainer inside the same install), an offscreen
# screenshot that must not be blank. Prints the wheel size and the install time.
#
#   bash scripts/check_wheel_install.sh [WORK_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
python="${PYTHON:-python3}"
mkdir -p "$work"
"$python" -m pip wheel "$here" --no-deps -q -w "$work/dist"
wheel="$(ls "$work"/dist/clml_desktop-*.whl)"
echo "wheel: $(basename "$wheel"), $(( $(stat -c %s "$wheel") / 1024 )) KB"
"$python" -m venv "$work/venv"
start=$(date +%s)
"$work/venv/bin/pip" install -q "$wheel"
echo "fresh-venv install: $(( $(date +%s) - start )) s"
bin="$work/venv/bin/clml-desktop"
"$bin" --version
( cd "$work" && "$bin" demo "$work/demo" --images 24 --no-gui >/dev/null )
( cd "$work" && "$bin" train "$work/demo" --epochs 1 --image-size 32 --init random --device cpu >/dev/null 2>&1 ) \
  || { echo "the installed trainer failed"; exit 1; }
echo "trainer: a 1-epoch model trained and registered"
( cd "$work" && QT_QPA_PLATFORM=offscreen "$bin" screenshot "$work/demo" --out "$work/shot.png" >/dev/null )
"$work/venv/bin/python" - "$work/shot.png" <<'PY'
import sys
from PIL import Image, ImageStat
image = Image.open(sys.argv[1]).convert("L")
spread = ImageStat.Stat(image).stddev[0]
print(f"screenshot: {image.size[0]}x{image.size[1]}, grey-level spread {spread:.1f}")
sys.exit(0 if spread > 5 else "the screenshot is blank")
PY
echo "ok: the installed clml-desktop runs (work folder: $work)"
