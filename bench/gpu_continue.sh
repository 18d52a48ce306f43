#!/usr/bin/env bash
# Continues training a shipped model on a GPU for a few minutes (the whole
# script stays under 8), then prints its record: images seen, images/s of
# this sitting and the validation and test NLL it reached. The shipped
# model is copied first; the package's own files are left as they are.
#
#   bash bench/gpu_continue.sh [NAME] [MINUTES] [DATA_DIR]
#
# Needs the `gpu` extra (`pip install -e '.[gpu]'`: TensorFlow with CUDA)
# in .venv, and the binarized MNIST files in DATA_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-mnist_diagonal_bilstm_7x16}
minutes=${2:-5}
data_dir=${3:-../shared/data/binarized_mnist}
out=${OUT:-$(mktemp -d)}/gpu_continue
mkdir -p "$out"
cp "pixel_rnn_tf/pretrained/models/$name.keras" "pixel_rnn_tf/pretrained/models/$name.json" "$out/"
.venv/bin/python -c "import tensorflow as tf; print('GPUs:', tf.config.list_physical_devices('GPU'))"
.venv/bin/python bench/train_pretrained.py --names="$name" --minutes="$minutes" \
  --data_dir="$data_dir" --out_dir="$out" --steps_per_epoch=300
cat "$out/$name.json"
