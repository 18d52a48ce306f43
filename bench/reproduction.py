r"""The paper's MNIST models against an independent baseline, same budget.

Trains `mnist_pixel_cnn`, `mnist_row_lstm` and `mnist_diagonal_bilstm_7x16`
for the same number of steps on the shared MNIST split (the first 8,000
images of the MNIST test set to train, the last 2,000 to evaluate, fixed
threshold binarization) and prints their test NLL in nats next to an
independent per-pixel Bernoulli model fitted on the same split.

  .venv/bin/python bench/reproduction.py --steps=1000 [--save_dir=runs/mnist]
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
    parser.add_argument("--presets", default=",".join(PRESETS), help="Comma-separated subset.")
    args = parser.parse_args()
    load = dict(num_levels=2, data_dir=args.data_dir, as_numpy=True)
    train = prt.data.load("mnist_idx", "test[:8000]", **load)
    test = prt.data.load("mnist_idx", "test[8000:]", **load)
    print(f"| model | params | steps x batch | train time (s) | test NLL (nats) | paper (nats, other binarization) |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| independent Bernoulli | {28 * 28} | - | - | {independent_bernoulli_nll(train, test):.2f} | - |")
    for preset in args.presets.split(","):
        keras.utils.set_random_seed(0)
        model = training.compile_model(prt.build_model(preset))
        start = time.perf_counter()
        model.fit(
            training.epoch_batches(train, args.batch_size, seed=0),
            steps_per_epoch=args.steps, epochs=1, verbose=0,
        )
        seconds = time.perf_counter() - start
        nats = training.evaluate_nll(model, test)["nats"]
        if args.save_dir:
            training.save_model_atomically(model, os.path.join(args.save_dir, f"{preset}.keras"))
        print(
            f"| {preset} | {model.count_params():,} | {args.steps} x {args.batch_size} | "
            f"{seconds:.0f} | {nats:.2f} | {PAPER_NATS[preset]} |", flush=True,
        )


if __name__ == "__main__":
    main()
