#!/usr/bin/env bash
# Training throughput, sampling and serving at the paper's shapes on a GPU,
# in under 8 minutes; each benchmark's markdown table goes to its own file.
#
#   bench/accelerator.sh [--quick] [--out DIR]
#
# With a GPU: bench/train_throughput.py at 3x32 and the CIFAR-10 presets
# (12 or 15 layers, h=128, batch 16), bench/sampling.py's cached sampler of
# 1 and 16 CIFAR-10 images per preset, bench/serving.py on the CIFAR-10 Row
# LSTM. Without one (or with --quick) the same three scripts at small shapes
# and few steps, so that the script is checked end to end on a CPU in a
# couple of minutes. Each benchmark has its own time limit (a row cut off
# by it is missing from its table, never faked); the whole is under 8
# minutes. Set PYTHON to the interpreter (default: .venv/bin/python).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
quick=0
out="bench/results/accelerator-$(date -u +%Y%m%dT%H%M%SZ)"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--quick] [--out DIR]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"

gpus=$("$PYTHON" -c "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))" 2>/dev/null)
if [[ "$gpus" -gt 0 && "$quick" -eq 0 ]]; then
  mode="paper shapes, $gpus GPU(s)"
  throughput=(--scales=small,paper --steps=5)
  sampling=(--scales=paper --skip_peer)
  serving=(--preset=cifar10_row_lstm_12x128 --sample_preset=cifar10_row_lstm_12x128
           --batch_sizes=1,16 --num_samples=16 --repeats=10 --sample_repeats=2)
  limits=(240 140 80)
else
  mode="quick (CPU)"
  throughput=(--scales=small --shapes=28x28x1 --num_layers=1 --hidden_units=8 --steps=2 --skip_peer
              --no-jit_compile)
  sampling=(--scales=small --shapes=28x28x1 --archs=row_lstm --num_layers=1
            --full_naive= --repeats=1 --skip_peer)
  serving=(--preset=digits_row_lstm --batch_sizes=1 --num_samples=0 --repeats=3 --warmup=1)
  limits=(150 120 180)
fi

run() {  # run NAME LIMIT SCRIPT ARGS...: the table to $out/NAME.md, stderr to $out/NAME.log
  local name=$1 limit=$2 script=$3
  shift 3
  local start=$SECONDS status=0
  {
    echo "\`$PYTHON $script $*\` ($(date -u +%Y-%m-%d), $mode)"
    echo
    timeout "$limit" "$PYTHON" "$script" "$@" 2>"$out/$name.log" || status=$?
  } >"$out/$name.md"
  if [[ $status -eq 124 ]]; then
    echo "(cut off after ${limit}s)" >>"$out/$name.md"
  fi
  echo "$name: exit $status, $((SECONDS - start))s -> $out/$name.md"
  return 0
}

echo "bench/accelerator.sh: $mode -> $out"
run train_throughput "${limits[0]}" bench/train_throughput.py "${throughput[@]}"
run sampling "${limits[1]}" bench/sampling.py "${sampling[@]}"
run serving "${limits[2]}" bench/serving.py "${serving[@]}"
for name in train_throughput sampling serving; do
  echo; echo "## $name"; echo; cat "$out/$name.md"
done
