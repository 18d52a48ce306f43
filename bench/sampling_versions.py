r"""Cached sampling speed of this tree against an earlier revision, in one run.

  .venv/bin/python bench/sampling_versions.py --baseline=3c451e2

Extracts the package at `--baseline` (`git archive`) into a temporary
folder, then, for each shape and architecture of `bench/sampling.py` (3
layers; 16 binary images of 28x28x1 with h=16, 4 images of 32x32x3 with 256
levels and h=32), times the default cached sampler (eager call: the
XLA-compiled row loop) of both trees in fresh processes, alternating
baseline and current `--rounds` times, each process reporting the median of
`--repeats` calls after a warm-up call. Prints a markdown table with the
medians over rounds and the ratio current / baseline (below 1 is faster).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHAPES = {
    "28x28x1": ((28, 28, 1), 2, 16, 16),
    "32x32x3": ((32, 32, 3), 256, 4, 32),
}

# Runs in a child process against whichever package PYTHONPATH puts first.
_CHILD = r"""
import json, statistics, sys, time
import keras
import pixel_rnn_tf as prt
from pixel_rnn_tf import sampling
image_shape, num_levels, count, hidden, layers, repeats, arch = json.loads(sys.argv[1])
keras.utils.set_random_seed(0)
model = prt.build_model(prt.ModelConfig(
    arch=arch, image_shape=tuple(image_shape), num_levels=num_levels, num_layers=layers,
    hidden_units=hidden, output_units=4 * hidden))
run = lambda: sampling.sample(model, count, seed=(1, 2), method="cached").numpy()
run()
times = []
for _ in range(repeats):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
print(json.dumps(statistics.median(times)))
"""


def _time(tree, args):
    env = dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)], env=env, check=True,
        capture_output=True, text=True, cwd=tempfile.gettempdir(),
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", required=True, help="A git revision of this repository.")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--archs", default="pixel_cnn,row_lstm,diagonal_bilstm")
    parser.add_argument("--num_layers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as baseline:
        archive = subprocess.run(
            ["git", "archive", args.baseline, "pixel_rnn_tf"], cwd=ROOT, check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", baseline], input=archive, check=True)
        print(f"| shape | images | model | before: {args.baseline} (s) | after (s) | after / before |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name in args.shapes.split(","):
            image_shape, num_levels, count, hidden = SHAPES[name]
            for arch in args.archs.split(","):
                child = [image_shape, num_levels, count, hidden, args.num_layers, args.repeats, arch]
                before, after = [], []
                for _ in range(args.rounds):
                    before.append(_time(baseline, child))
                    after.append(_time(ROOT, child))
                before, after = statistics.median(before), statistics.median(after)
                print(f"| {name} | {count} | {arch} | {before:.4f} | {after:.4f} "
                      f"| {after / before:.2f} |", flush=True)


if __name__ == "__main__":
    main()
