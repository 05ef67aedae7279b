#!/usr/bin/env bash
# Issue 15: does the built wheel give a working clml-desktop in a fresh virtual
# environment, as `pip install` / `pipx install` would? Builds the wheel, installs it
# into a new venv (dependencies from the package index), then runs the installed
# command as a person would: --version, a tiny demo without the GUI, a 1-epoch
# training, suggestions, an offscreen screenshot that must not be blank. Prints the
# wheel size and the install time.
#
#   bash scripts/check_wheel_install.sh [--review-only [--trainer PYTHON]] [WORK_DIR]
#
# Full (default): the wheel with PyTorch; the trainer runs inside the same install.
# --review-only: the wheel built with CLML_REVIEW_ONLY=1 (no PyTorch, ADR 0024). Its
#   `train` must refuse plainly while no Python can train, then train with PYTHON
#   (default: this checkout's .venv/bin/python) as the trainer environment, which gets
#   only our trainer code on its path. tests/test_wheel_install.py runs this mode in CI
#   (the full mode would download several GB of CUDA PyTorch there).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
review_only=0
trainer="$here/.venv/bin/python"
work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --review-only) review_only=1 ;;
    --trainer) trainer="$2"; shift ;;
    *) work="$1" ;;
  esac
  shift
done
work="${work:-$(mktemp -d)}"
python="${PYTHON:-python3}"
mkdir -p "$work"
# The app's per-user folders (settings, demo, cache, saved trainer choice) stay in $work.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache" \
  XDG_DATA_HOME="$work/home/.local/share"
unset CLML_TRAINER_PYTHON CLML_TRAINER_PROGRAM
rm -rf "$work/dist"
CLML_REVIEW_ONLY=$review_only "$python" -m pip wheel "$here" --no-deps -q -w "$work/dist"
wheel="$(ls "$work"/dist/clml_desktop-*.whl)"
kind=$([ $review_only = 1 ] && echo "review-only wheel (no PyTorch)" || echo "wheel")
echo "$kind: $(basename "$wheel"), $(( $(stat -c %s "$wheel") / 1024 )) KB"
rm -rf "$work/venv"
"$python" -m venv "$work/venv"
start=$(date +%s)
"$work/venv/bin/pip" install -q "$wheel"
echo "fresh-venv install: $(( $(date +%s) - start )) s, $(du -sm "$work/venv" | cut -f1) MB"
bin="$work/venv/bin/clml-desktop"
version="$("$bin" --version)"
echo "$version"
demo="$work/demo"
rm -rf "$demo"
( cd "$work" && "$bin" demo "$demo" --images 24 --no-gui >/dev/null )
train=(train "$demo" --epochs 1 --image-size 32 --init random --device cpu)
if [ $review_only = 1 ]; then
  [[ "$version" == *"without PyTorch"* ]] || { echo "--version does not say the install has no PyTorch"; exit 1; }
  if "$work/venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "the review-only install has torch"; exit 1
  fi
  if refusal="$(cd "$work" && CLML_TRAINER_PYTHON="$work/no-such-python" "$bin" "${train[@]}" 2>&1)"; then
    echo "train did not refuse without a trainer Python"; exit 1
  fi
  [[ "$refusal" == *"cannot train"* && "$refusal" == *"clml-desktop trainer --python"* ]] \
    || { echo "train's refusal does not say what to do: $refusal"; exit 1; }
  echo "trainer missing: train refuses and says what to install"
  ( cd "$work" && "$bin" trainer --python "$trainer" >/dev/null ) \
    || { echo "clml-desktop trainer --python $trainer refused it"; exit 1; }
  echo "trainer environment saved: $trainer"
fi
( cd "$work" && "$bin" "${train[@]}" >/dev/null 2>"$work/train.log" ) \
  || { echo "the installed trainer failed:"; tail -20 "$work/train.log"; exit 1; }
echo "trainer: a 1-epoch model trained and registered"
shown="$(cd "$work" && "$bin" suggest "$demo" --limit 3 2>/dev/null | grep -c "likely")" \
  || { echo "suggest showed nothing"; exit 1; }
echo "suggest: $shown suggestion line(s) from the new model"
( cd "$work" && QT_QPA_PLATFORM=offscreen "$bin" screenshot "$demo" --out "$work/shot.png" >/dev/null )
"$work/venv/bin/python" - "$work/shot.png" <<'PY'
import sys
from PIL import Image, ImageStat
image = Image.open(sys.argv[1]).convert("L")
spread = ImageStat.Stat(image).stddev[0]
print(f"screenshot: {image.size[0]}x{image.size[1]}, grey-level spread {spread:.1f}")
sys.exit(0 if spread > 5 else "the screenshot is blank")
PY
echo "ok: the installed clml-desktop runs (work folder: $work)"
