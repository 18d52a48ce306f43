r"""Likelihood per wall-clock budget: the paper's MNIST models against tfp's PixelCNN.

Each model trains for the same wall-clock budget on this machine (the trace
and compile of its step included) on the shared MNIST split, binarized by a
seeded Bernoulli draw fixed once (as the paper's binarized MNIST, §5.1;
`data.binarize_images(..., "bernoulli", seed=0)`, the draw of
`bench/reproduction.py --binarize=bernoulli`): the shared folder holds the
10,000 MNIST test images only, so the first 7,000 train, the next 1,000
choose the learning rate of the sweep, the last 2,000 evaluate. Our models
train with the package's defaults (`training.compile_model`: RMSProp, §5,
XLA); the peer, tfp's `tfd.PixelCNN` (`peer.py`, `--peer_filters`
filters), with Adam on its own loss (a discretized logistic mixture). Prints a markdown table:
test NLL in nats per image with its standard error over the test images,
parameters, images seen, and the learning rate chosen.

  .venv/bin/python bench/budget.py                          # 10 minutes per model and rate
  .venv/bin/python bench/budget.py --budget_seconds=20 --learning_rates=1e-3   # a smoke run
  .venv/bin/python bench/budget.py --dataset=binarized_mnist \
      --presets=mnist_diagonal_bilstm_7x16,"tfp tfd.PixelCNN"   # the paper's benchmark
"""

import argparse
import os
import time

import keras
import numpy as np
import tensorflow as tf

import peer
import pixel_rnn_tf as prt
from pixel_rnn_tf import training

PRESETS = (
    "mnist_pixel_cnn", "mnist_row_lstm", "mnist_diagonal_bilstm_7x16", "mnist_multiscale_row_lstm",
)
PEER = "tfp tfd.PixelCNN"
EVAL_BATCH_SIZE = 500


def split(data_dir, dataset="mnist_idx"):
    """`(train, validation, test)` int32 `[N, 28, 28, 1]` binary images.

    "binarized_mnist" is the paper's benchmark with its own splits (50,000,
    10,000, 10,000); "mnist_idx" the shared MNIST test set split 7,000 /
    1,000 / 2,000 and Bernoulli-binarized.
    """
    if dataset == "binarized_mnist":
        load = dict(data_dir=data_dir, as_numpy=True)
        return tuple(
            prt.data.load("binarized_mnist", split, **load)
            for split in ("train", "validation", "test")
        )
    images = prt.data.load(
        "mnist_idx", "test", num_levels=2, data_dir=data_dir, as_numpy=True,
        binarize="bernoulli", seed=0,
    )
    return images[:7000], images[7000:8000], images[8000:]


def _nats_with_error(nats):
    nats = np.concatenate(nats)
    return float(nats.mean()), float(nats.std(ddof=1) / np.sqrt(len(nats)))


def _batches(images):
    return [images[k : k + EVAL_BATCH_SIZE] for k in range(0, len(images), EVAL_BATCH_SIZE)]


class _StopAfter(keras.callbacks.Callback):
    """Stops `fit` once `seconds` have passed since `start`, counting batches."""

    def __init__(self, start, seconds):
        super().__init__()
        self.start, self.seconds, self.batches = start, seconds, 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True


def train_ours(preset, train, learning_rate, batch_size, seconds):
    """`(nll of a batch list, parameters, images seen)` of a preset trained for `seconds`."""
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    model = training.compile_model(prt.build_model(preset), learning_rate=learning_rate)
    stop = _StopAfter(start, seconds)
    model.fit(
        training.epoch_batches(train, batch_size, seed=0), steps_per_epoch=10**9, epochs=1,
        verbose=0, callbacks=[stop],
    )
    dist = prt.PixelRNN(model)
    nll = lambda images: [-dist.log_prob(batch).numpy() for batch in _batches(images)]
    return nll, model.count_params(), stop.batches * batch_size


def train_peer(train, learning_rate, batch_size, seconds, filters):
    """As `train_ours`, for tfp's `tfd.PixelCNN` trained with Adam on its own loss."""
    tf.keras.utils.set_random_seed(0)
    start = time.perf_counter()
    dist = peer.pixel_cnn((28, 28, 1), 2, filters)
    step = peer.train_step(dist, learning_rate, optimizer="adam")
    batches = iter(training.epoch_batches(train, batch_size, seed=0))
    seen = 0
    while time.perf_counter() - start < seconds:
        images, _ = next(batches)
        step(tf.cast(images, tf.float32)).numpy()
        seen += batch_size
    log_prob = tf.function(dist.log_prob)
    nll = lambda images: [-log_prob(tf.cast(b, tf.float32)).numpy() for b in _batches(images)]
    return nll, peer.num_parameters(dist), seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget_seconds", type=float, default=600.0,
                        help="Wall-clock training budget of each model and learning rate.")
    parser.add_argument("--learning_rates", default="1e-3",
                        help="Comma-separated sweep, e.g. 3e-4,1e-3,3e-3; the best on the "
                        "validation images is reported.")
    parser.add_argument("--presets", default=",".join(PRESETS) + f",{PEER}",
                        help=f"Comma-separated presets; {PEER!r} is the peer.")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--peer_filters", type=int, default=32)
    parser.add_argument(
        "--intra_op_threads", type=training.parse_intra_op_threads,
        default=training.INTRA_OP_THREADS,
        help="TensorFlow's intra-op threads (default: the package's, training.configure_threads).",
    )
    parser.add_argument("--dataset", default="mnist_idx", choices=["mnist_idx", "binarized_mnist"])
    parser.add_argument(
        "--data_dir", default=None,
        help="Default: ../shared/data/mnist or ../shared/data/binarized_mnist, by --dataset.",
    )
    args = parser.parse_args()
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
    data_dir = args.data_dir or os.path.join(
        shared, "binarized_mnist" if args.dataset == "binarized_mnist" else "mnist"
    )
    threads = training.configure_threads(args.intra_op_threads)
    rates = [float(rate) for rate in args.learning_rates.split(",")]
    train, validation, test = split(data_dir, args.dataset)
    data = (
        "the paper's binarized MNIST (train 50,000, validation 10,000, test 10,000)"
        if args.dataset == "binarized_mnist" else
        "train 7,000, validation 1,000, test 2,000 images of the shared MNIST split, "
        "Bernoulli-binarized (seed 0)"
    )
    print(f"Budget: {args.budget_seconds:g} s of wall clock per model and learning rate "
          f"(compile included), batch {args.batch_size}; {data}; "
          f"intra-op threads: {threads or 'TensorFlow default'}.")
    print("| model | params | learning rate (sweep) | images seen | validation NLL (nats) "
          "| test NLL (nats) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.presets.split(","):
        runs = []
        for rate in rates:
            if name == PEER:
                nll, parameters, seen = train_peer(
                    train, rate, args.batch_size, args.budget_seconds, args.peer_filters
                )
            else:
                nll, parameters, seen = train_ours(
                    name, train, rate, args.batch_size, args.budget_seconds
                )
            runs.append((_nats_with_error(nll(validation))[0], rate, nll, parameters, seen))
        valid, rate, nll, parameters, seen = min(runs, key=lambda run: run[0])
        mean, error = _nats_with_error(nll(test))
        sweep = ", ".join(f"{r:g}: {v:.2f}" for v, r, *_ in runs) if len(runs) > 1 else "-"
        print(f"| {name} | {parameters:,} | {rate:g} ({sweep}) | {seen:,} | {valid:.2f} | "
              f"{mean:.2f} ± {error:.2f} |", flush=True)


if __name__ == "__main__":
    main()
