#!/usr/bin/env bash
# The GPU checks of issues 3 and 4 in one prepared run (~10 minutes at most),
# for a session that has a CUDA machine (the device tool's `run`):
#
#   1. env       nvidia-smi, Python, torch/onnxruntime versions and providers
#   2. pytest    `pytest -m gpu` (CUDA tests; collection errors of Qt-only
#                modules do not stop the rest)
#   3. clml_loss benchmarks/clml_loss.py: CUDA table incl. the ResNet101 448-px step
#   4. inference benchmarks/inference.py --device cuda: onnxruntime's CUDA provider
#                vs torch CUDA eager (torch alone when this onnxruntime has no
#                CUDA provider; the log says why)
#   5. quality   benchmarks/quality.py --device cuda: the CPU recipe with and
#                without SPLC + CLML, 3 seeds, on the demo and scenes collections
#                (ResNet18, 64 px, random init: no internet; AMP as the trainer)
#   6. smoke     demo collection -> `train --device cuda` (ResNet18, random init,
#                a few epochs) -> `suggest --json`: recall/precision of the
#                hidden tags, i.e. that training on the GPU learns something
#
# Each step has its own timeout and the run goes on after a failure; logs go to
# $OUT (default ./gpu-out): one file per step plus summary.txt (the device
# tool returns at most 8 files). Installs nothing: it uses .venv when present
# (`bash scripts/setup.sh` makes it), else the machine's python3. The device
# machines' python3 has torch, onnx, onnxruntime (CPU build), numpy, Pillow
# and pytest but not platformdirs/defusedxml: prepare them here first,
#
#   bash benchmarks/run_gpu.sh --prepare      # copies them from .venv into .gpu-deps/
#
# then on the device: run(command="bash benchmarks/run_gpu.sh", carry=[".gpu-deps"]).
# `bash -n benchmarks/run_gpu.sh` checks the syntax; CLML_GPU_STEPS="env smoke"
# runs only some steps; CLML_GPU_DEVICE=cpu CLML_SMOKE_TRAIN="--image-size 32
# --epochs 1" tries the smoke step on a CPU.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEPS=$ROOT/.gpu-deps

if [ "${1:-}" = "--prepare" ]; then
  site=$(ls -d .venv/lib/python3*/site-packages 2>/dev/null | head -1)
  [ -n "$site" ] || { echo "no .venv: run bash scripts/setup.sh first" >&2; exit 1; }
  mkdir -p "$DEPS"
  for pkg in platformdirs defusedxml; do
    rm -rf "${DEPS:?}/$pkg"
    cp -r "$site/$pkg" "$DEPS/"
  done
  grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null || echo '/.gpu-deps/' >>.git/info/exclude
  echo "prepared $DEPS ($(du -sh "$DEPS" | cut -f1)); pass carry=[\".gpu-deps\"] to run"
  exit 0
fi

OUT=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
STEPS=${CLML_GPU_STEPS:-env pytest clml_loss inference quality smoke}
DEVICE=${CLML_GPU_DEVICE:-cuda}  # cpu: try the smoke step on a machine without a GPU
SMOKE_TRAIN=${CLML_SMOKE_TRAIN:---arch resnet18 --image-size 128 --epochs 6 --folds 2}

if [ -x .venv/bin/python ]; then PY=$ROOT/.venv/bin/python; else PY=$(command -v python3); fi
export PY DEVICE SMOKE_TRAIN
export PYTHONPATH="$ROOT:$DEPS${PYTHONPATH:+:$PYTHONPATH}"
export QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1
# The trainer may not fetch ImageNet weights: the device machines reach nothing outside.
export TORCH_HOME=${TORCH_HOME:-$OUT/.torch-cache-unused}

wanted() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# step NAME SECONDS COMMAND...: run with a timeout, log to $OUT/NAME.log, record rc.
step() {
  local name=$1 limit=$2
  shift 2
  wanted "$name" || return 0
  local start=$SECONDS
  echo "== $name (limit ${limit}s): $*" | tee -a "$SUMMARY"
  if declare -F "$1" >/dev/null; then  # a function of this script: timeout needs a program
    timeout --kill-after=10 "$limit" bash -c "$(declare -f "$1"); $*" >"$OUT/$name.log" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  fi
  local rc=$?
  local note=""
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && note=" (timed out)"
  echo "   rc=$rc$note after $((SECONDS - start)) s; last lines:" | tee -a "$SUMMARY"
  tail -n 25 "$OUT/$name.log" | sed 's/^/   | /' | tee -a "$SUMMARY"
}

env_report() {
  nvidia-smi || echo "nvidia-smi failed"
  echo "python: $PY"
  "$PY" - <<'EOF'
import platform, sys
print("Python", platform.python_version())
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
    if torch.cuda.is_available():
        print("device", torch.cuda.get_device_name(), "cudnn", torch.backends.cudnn.version())
except Exception as exc:
    print("torch import failed:", exc)
try:
    import onnxruntime as ort
    print("onnxruntime", ort.__version__, ort.get_available_providers())
    from clml_desktop.inference import providers
    print("CUDA provider problem:", providers.cuda_problem())
except Exception as exc:
    print("onnxruntime/providers import failed:", exc)
for name in ("numpy", "PIL", "onnx", "platformdirs", "defusedxml", "pytest", "PySide6"):
    try:
        mod = __import__(name)
        print(name, getattr(mod, "__version__", "?"))
    except Exception as exc:
        print(name, "MISSING:", exc)
EOF
}

smoke() {
  local demo
  demo=$(mktemp -d /tmp/clml-gpu-smoke.XXXXXX)
  "$PY" -m clml_desktop demo "$demo" --images 300 --no-gui || return 1
  # shellcheck disable=SC2086  # SMOKE_TRAIN is a list of options
  "$PY" -m clml_desktop train "$demo" --device "$DEVICE" $SMOKE_TRAIN --init random || return 1
  "$PY" -m clml_desktop suggest "$demo" --device "$DEVICE" --json >"$demo/suggest.json" || return 1
  "$PY" - "$demo" <<'EOF'
import json, sys
from pathlib import Path
from clml_desktop.demo import read_truth
folder = Path(sys.argv[1])
truth = read_truth(folder)
out = json.loads((folder / "suggest.json").read_text())
hidden = {(img, tag) for img, tags in truth.hidden.items() for tag in tags}
found = {(s["image"], s["tag"]) for s in out["suggestions"]}
hits = len(hidden & found)
print(f"model {out['model']} on {out['provider']}: {len(found)} suggestions, "
      f"{len(hidden)} hidden positives; recall {hits / max(1, len(hidden)):.2f}, "
      f"precision {hits / max(1, len(found)):.2f} (chance precision "
      f"{len(hidden) / max(1, len(truth.positives) * len(truth.tags)):.2f})")
EOF
  local rc=$?
  rm -rf "$demo"
  return $rc
}

echo "run_gpu.sh on $(hostname) at $(date -u +%FT%TZ); steps: $STEPS; python $PY" | tee -a "$SUMMARY"
step env 20 env_report
step pytest 90 "$PY" -m pytest -m gpu -q -p no:cacheprovider --continue-on-collection-errors tests
step clml_loss 90 "$PY" benchmarks/clml_loss.py --repeats 20
step inference 120 "$PY" benchmarks/inference.py --device cuda --skip-similarity --skip-e2e --rounds 10
step quality 200 "$PY" benchmarks/quality.py --device "$DEVICE" --collection demo scenes --jobs 1 --threads 4 \
  --recipe "bce=arch:resnet18,image_size:64,epochs:10,loss:bce,clml_lambda:0,augment:auto" \
           "splc+clml=arch:resnet18,image_size:64,epochs:10,loss:splc,clml_lambda:1,augment:auto" \
  --json "$OUT/quality.json"
step smoke 90 smoke
echo "done after $SECONDS s" | tee -a "$SUMMARY"
