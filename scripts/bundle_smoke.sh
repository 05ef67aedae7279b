#!/usr/bin/env bash
# Issue 15: does the standalone bundle (dist/clml-desktop, `make package`) work as a person
# would use it? Builds it when missing, then runs the BUNDLE's program in a fresh HOME:
# --version, a tiny demo without the GUI, an offscreen screenshot that must not be blank,
# install-desktop (the entry starts the bundle) and --remove,
# `train` with no trainer Python (must fail and say PyTorch is missing), and, when a Python
# with torch is at hand (CLML_TRAINER_PYTHON, else this checkout's .venv), a 1-epoch
# training and `suggest` through the bundle (the frozen scoring child and onnxruntime).
#
#   bash scripts/bundle_smoke.sh [BUNDLE_DIR] [WORK_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bundle="${1:-$here/dist/clml-desktop}"
work="${2:-$(mktemp -d)}"
if [ ! -x "$bundle/clml-desktop" ]; then
  [ -z "${1:-}" ] || { echo "no bundle at $bundle" >&2; exit 1; }
  echo "no bundle yet: make package"
  make -C "$here" package
fi
bundle="$(cd "$bundle" && pwd)"
bin="$bundle/clml-desktop"
echo "bundle: $bundle, $(du -sm "$bundle" | cut -f1) MB"

# A person's first start: nothing saved anywhere, no trainer found by chance.
mkdir -p "$work/home"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
export XDG_CACHE_HOME="$work/home/.cache" XDG_STATE_HOME="$work/home/.local/state"
export QT_QPA_PLATFORM=offscreen
# Something with Pillow to read the screenshot (the bundle's own Python is not callable).
checker="$here/.venv/bin/python"
[ -x "$checker" ] || checker="python3"
demo="$work/demo"
cd "$work"

"$bin" --version
"$bin" demo "$demo" --images 24 --no-gui >/dev/null
echo "ok: demo collection of 24 images made and scanned"

"$bin" screenshot "$demo" --out "$work/shot.png" >/dev/null 2>&1
"$checker" - "$work/shot.png" <<'PY'
import sys
from PIL import Image, ImageStat
image = Image.open(sys.argv[1]).convert("L")
spread = ImageStat.Stat(image).stddev[0]
print(f"ok: screenshot {image.size[0]}x{image.size[1]}, grey-level spread {spread:.1f}")
sys.exit(0 if spread > 5 else "the screenshot is blank")
PY

# The menu entry, from the bundle's own files, starting the bundle; then removed again.
"$bin" install-desktop >/dev/null
entry="$XDG_DATA_HOME/applications/io.github.clml_desktop.CLMLDesktop.desktop"
grep -qx "Exec=$bin %f" "$entry" || { echo "install-desktop: the entry does not start $bin" >&2; exit 1; }
if command -v desktop-file-validate >/dev/null 2>&1; then desktop-file-validate "$entry"; fi
"$bin" install-desktop --remove >/dev/null
[ ! -e "$entry" ] || { echo "install-desktop --remove left $entry" >&2; exit 1; }
echo "ok: install-desktop puts the bundle in the menu, --remove takes it out"

# No trainer Python: training must fail, and say what to install. A failed check here is
# reported and the later steps still run; the script's exit status says it failed.
failed=0
expect_no_trainer() {  # LABEL, then `env` arguments for the bundle's `train`
  local label=$1 out rc
  shift
  set +e
  out="$(env "$@" "$bin" train "$demo" --epochs 1 --image-size 32 --init random --device cpu 2>&1)"
  rc=$?
  set -e
  if [ "$rc" -eq 0 ] || ! grep -qi "pytorch" <<<"$out"; then
    echo "FAILED: train $label: exit $rc, and the message should mention PyTorch:" >&2
    sed 's/^/    /' <<<"$out" | tail -6 >&2
    failed=1
  else
    echo "ok: train $label fails (exit $rc) and names PyTorch"
  fi
}
mkdir -p "$work/empty-bin"
expect_no_trainer "with no Python that has torch anywhere" -u CLML_TRAINER_PYTHON PATH="$work/empty-bin"
expect_no_trainer "with CLML_TRAINER_PYTHON naming no program" CLML_TRAINER_PYTHON="$work/no-such-python"

trainer="${CLML_TRAINER_PYTHON:-$here/.venv/bin/python}"
if [ -x "$trainer" ] && "$trainer" -c "import torch, torchvision, onnx" 2>/dev/null; then
  export CLML_TRAINER_PYTHON="$trainer"
  start=$(date +%s)
  "$bin" train "$demo" --epochs 1 --image-size 32 --init random --device cpu >"$work/train.log" 2>&1 \
    || { echo "train through the bundle failed:" >&2; tail -20 "$work/train.log" >&2; exit 1; }
  echo "ok: 1-epoch model trained with $trainer and registered ($(( $(date +%s) - start )) s)"
  "$bin" suggest "$demo" --limit 5 >"$work/suggest.log" 2>&1 \
    || { echo "suggest through the bundle failed:" >&2; tail -20 "$work/suggest.log" >&2; exit 1; }
  echo "ok: suggest lists the new model's suggestions (onnxruntime inside the bundle):"
  sed 's/^/    /' "$work/suggest.log" | head -8
  # The CLI scores in-process; the GUI scores in a child, `<bundle> -m
  # clml_desktop.workflow.score_child ...` (workflow/scoring.py). Three new images, then
  # that child, started and spoken to as the GUI does.
  mkdir -p "$demo/added"
  "$checker" - "$demo" <<'PY'
import sys
from pathlib import Path
from PIL import Image
demo = Path(sys.argv[1])
for i in range(3):
    Image.open(demo / f"demo_000{i}.jpg").rotate(90, expand=True).save(demo / "added" / f"turned_{i}.jpg")
PY
  "$bin" scan "$demo" >/dev/null
  "$checker" - "$bin" "$demo" <<'PY'
import json, subprocess, sys
from pathlib import Path
bin, demo = sys.argv[1], Path(sys.argv[2])
model = max((demo / ".clml" / "models").iterdir())
child = subprocess.Popen([bin, "-m", "clml_desktop.workflow.score_child", str(demo), str(model), "cpu", "0"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
lines = child.stdout.read().splitlines()  # stdin stays open: a closed one means "cancel"
child.stdin.close()
rc = child.wait()
last = json.loads(lines[-1]) if lines else {}
scored = last.get("report", {}).get("scored") if last.get("event") == "scored" else None
if rc != 0 or scored != 3:
    sys.exit(f"the bundle's scoring child: exit {rc}, last event {lines[-1] if lines else None}")
print(f"ok: the bundle's scoring child (-m clml_desktop.workflow.score_child) scored the 3 new images "
      f"with {last['report']['provider']}")
PY
else
  echo "skipped: train and suggest (no Python with torch, torchvision, onnx; set CLML_TRAINER_PYTHON)"
fi
[ "$failed" -eq 0 ] || { echo "the bundle smoke FAILED (see above; work folder: $work)" >&2; exit 1; }
echo "ok: the bundle runs (work folder: $work)"
