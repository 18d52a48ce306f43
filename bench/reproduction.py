r"""The paper's MNIST models against an independent baseline, same budget.

Trains `mnist_pixel_cnn`, `mnist_row_lstm` and `mnist_diagonal_bilstm_7x16`
(or `--presets`, the multi-scale ones among them) for the same number of
steps on the shared MNIST split (the first 8,000 images of the MNIST test
set to train, the last 2,000 to evaluate; fixed threshold binarization, or
`--binarize=bernoulli`, a seeded draw fixed once) and prints their test NLL
in nats, with its standard error over the test images, and the time to draw
16 samples with the cached sampler, next to an independent per-pixel
Bernoulli model fitted on the same split.

  .venv/bin/python bench/reproduction.py --steps=1000 [--save_dir=runs/mnist]
  .venv/bin/python bench/reproduction.py --steps=1000 --binarize=bernoulli \
      --presets=mnist_row_lstm,mnist_multiscale_row_lstm
"""

import argparse
import os
import time

import keras
import numpy as np

import pixel_rnn_tf as prt
from pixel_rnn_tf import training

PRESETS = ("mnist_pixel_cnn", "mnist_row_lstm", "mnist_diagonal_bilstm_7x16")
PAPER_NATS = {"mnist_pixel_cnn": 81.30, "mnist_row_lstm": 80.54, "mnist_diagonal_bilstm_7x16": 79.20}


def independent_bernoulli_nll(train, test):
    """Test NLL (nats/image) of a per-pixel Bernoulli fitted on `train` (add-one)."""
    p = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)
    log_likelihood = test * np.log(p) + (1 - test) * np.log1p(-p)
    return float(-log_likelihood.reshape(len(test), -1).sum(axis=1).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument(
        "--data_dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
    )
    parser.add_argument("--save_dir", default=None, help="Also save each model as <preset>.keras here.")
    parser.add_argument("--presets", default=",".join(PRESETS), help="Comma-separated presets.")
    parser.add_argument("--binarize", default="threshold", choices=prt.data.BINARIZATIONS)
    args = parser.parse_args()
    load = dict(num_levels=2, data_dir=args.data_dir, as_numpy=True, binarize=args.binarize)
    train = prt.data.load("mnist_idx", "test[:8000]", **load)
    test = prt.data.load("mnist_idx", "test[8000:]", **load)
    print(f"Binarization: {args.binarize}.")
    print("| model | params | steps x batch | train time (s) | test NLL (nats) | 16 samples (s) "
          "| paper (nats, other binarization) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| independent Bernoulli | {28 * 28} | - | - | {independent_bernoulli_nll(train, test):.2f} "
          "| - | - |")
    for preset in args.presets.split(","):
        keras.utils.set_random_seed(0)
        model = training.compile_model(prt.build_model(preset))
        start = time.perf_counter()
        model.fit(
            training.epoch_batches(train, args.batch_size, seed=0),
            steps_per_epoch=args.steps, epochs=1, verbose=0,
        )
        seconds = time.perf_counter() - start
        nats = -prt.PixelRNN(model).log_prob(test).numpy()  # [images]
        error = nats.std(ddof=1) / np.sqrt(len(nats))
        prt.sampling.sample(model, 16, seed=(0, 0)).numpy()  # Traces and compiles.
        start = time.perf_counter()
        prt.sampling.sample(model, 16, seed=(0, 1)).numpy()
        sampling_seconds = time.perf_counter() - start
        if args.save_dir:
            training.save_model_atomically(model, os.path.join(args.save_dir, f"{preset}.keras"))
        print(
            f"| {preset} | {model.count_params():,} | {args.steps} x {args.batch_size} | "
            f"{seconds:.0f} | {nats.mean():.2f} ± {error:.2f} | {sampling_seconds:.2f} "
            f"| {PAPER_NATS.get(preset, '-')} |", flush=True,
        )


if __name__ == "__main__":
    main()
