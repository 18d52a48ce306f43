r"""Sampling speed: naive vs cached for each architecture, and tfp's PixelCNN.

  .venv/bin/python bench/sampling.py                    # both shapes
  .venv/bin/python bench/sampling.py --shapes=28x28x1 --full_naive
  .venv/bin/python bench/sampling.py --scales=paper    # CIFAR-10 presets (slow on a CPU)

Prints a markdown table. For each shape (16 binary images of 28x28x1; 4
images of 32x32x3 with 256 levels) and each architecture (3 layers, h=16 at
28x28x1, h=32 at 32x32x3, output stack of 4h, random weights):

* `naive`: `sampling.sample(..., method="naive")`, a full forward pass per
  (pixel, channel) step. Timed in full where `--full_naive` names the shape
  (by default 28x28x1); otherwise *extrapolated*: the number of steps times
  the measured time of one forward pass of the same batch, a lower bound
  (it leaves out the loop's own work), marked "~" in the table.
* `cached`: `sampling.sample(..., method="cached")` called eagerly, i.e. the
  XLA-compiled row loop (the default); its first call (trace and XLA
  compile) is reported apart. `no XLA`: the same cached sampler as a plain
  TensorFlow graph (`jit_compile=False`, what runs inside a SavedModel).
* the peer, tfp's `tfd.PixelCNN` (PixelCNN++: 1 ResNet block x 3
  hierarchies, `2h` filters, 5 logistic mixtures; a Keras 2 model inside,
  from `tf_keras`), sampling the same number of images of the same shape.

Every timed call comes after a warm-up call that traces (and compiles) the
same function: the naive sampler and the peer take the number of images as
a tensor and are warmed up on 1 and 2 images (their loops are slow, their
traces do not depend on the count); the cached sampler, whose XLA program is
compiled per batch size, on the same count. Cached figures are the median of
`--repeats` calls; naive and peer figures are one call each.

`--scales=paper`: the cached sampler (XLA) of each CIFAR-10 preset
(`configs.PRESETS`: 12 or 15 layers, h=128, random weights) drawing 1 and
16 images, one timed call after the compiling one, with the peak memory
(the GPU's where there is one, else the process's peak RSS).
"""

import argparse
import statistics
import time

import tensorflow as tf

import memory
import peer
import pixel_rnn_tf as prt
from pixel_rnn_tf import sampling

# image_shape, num_levels, images, hidden_units
SHAPES = {
    "28x28x1": ((28, 28, 1), 2, 16, 16),
    "32x32x3": ((32, 32, 3), 256, 4, 32),
}


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _median_seconds(function, repeats):
    return statistics.median(_seconds(function) for _ in range(repeats))


def _naive_seconds(model, count, full):
    """`(seconds, extrapolated)` of the naive sampler on `count` images."""
    if full:
        for warmup_count in (1, 2):  # Traces once for any batch size.
            sampling.sample(model, warmup_count, seed=(1, 2), method="naive").numpy()
        run = lambda: sampling.sample(model, count, seed=(1, 2), method="naive").numpy()
        return _seconds(run), False
    images = tf.zeros((count,) + model.config.image_shape, tf.int32)
    forward = tf.function(model)
    forward(images).numpy()
    steps = model.config.image_shape[0] * model.config.image_shape[1] * model.config.image_shape[2]
    return steps * _median_seconds(lambda: forward(images).numpy(), 5), True


def _cached_seconds(model, count, repeats, jit_compile):
    """`(first call, median of the next calls)` of the cached sampler, seconds."""
    run = lambda: sampling.sample(
        model, count, seed=(1, 2), method="cached", jit_compile=jit_compile
    ).numpy()
    first = _seconds(run)
    return first, _median_seconds(run, repeats)


def _peer(image_shape, num_levels, count, filters):
    """`(parameters, seconds)` of tfp's PixelCNN sampling `count` images."""
    dist = peer.pixel_cnn(image_shape, num_levels, filters)
    # Its sampler takes a stateful int seed only.
    draw = tf.function(
        lambda n: dist.sample(n, seed=1), input_signature=[tf.TensorSpec([], tf.int32)]
    )
    for warmup_count in (1, 2):
        draw(tf.constant(warmup_count)).numpy()
    seconds = _seconds(lambda: draw(tf.constant(count)).numpy())
    return peer.num_parameters(dist), seconds


PAPER_SCALE_PRESETS = tuple(name for name in prt.configs.names() if name.startswith("cifar10_"))
PAPER_SCALE_COUNTS = (1, 16)


def paper_scale_rows(presets, counts):
    """One row per (CIFAR-10 preset, number of images) of the cached sampler."""
    print("| preset | images | params | cached (s) | s / image | first call (s) | peak memory |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in presets:
        model = prt.build_model(name)
        for count in counts:
            memory.reset()
            first, cached = _cached_seconds(model, count, 1, jit_compile=True)
            print(
                f"| {name} | {count} | {model.count_params():,} | {cached:.1f} | "
                f"{cached / count:.2f} | {first:.1f} | {memory.formatted()} |",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="28x28x1,32x32x3", help="Comma-separated subset of "
                        + ",".join(SHAPES))
    parser.add_argument("--archs", default=",".join(prt.configs.ARCHITECTURES))
    parser.add_argument("--num_layers", type=int, default=3)
    parser.add_argument("--full_naive", default="28x28x1",
                        help="Shapes whose naive sampler runs in full; others are extrapolated.")
    parser.add_argument("--repeats", type=int, default=5, help="Timed calls of the cached sampler.")
    parser.add_argument("--skip_peer", action="store_true")
    parser.add_argument(
        "--scales", default="small",
        help="Comma-separated: small (the shapes above) and/or paper (the CIFAR-10 presets).",
    )
    parser.add_argument("--presets", default=",".join(PAPER_SCALE_PRESETS),
                        help="The presets of --scales=paper.")
    parser.add_argument("--counts", default=",".join(map(str, PAPER_SCALE_COUNTS)),
                        help="Numbers of images of --scales=paper.")
    args = parser.parse_args()
    scales = args.scales.split(",")
    if not scales or set(scales) - {"small", "paper"}:
        parser.error(f"--scales takes small and/or paper. Received: {args.scales!r}")
    if "small" in scales:
        small_scale_rows(args)
    if "paper" in scales:
        paper_scale_rows(args.presets.split(","), [int(c) for c in args.counts.split(",")])


def small_scale_rows(args):
    """The naive/cached/peer table at `args.shapes`."""

    print(
        "| shape | images | model | params | naive (s) | cached (s) | speedup "
        "| s / image (cached) | cached, first call (s) | cached, no XLA (s) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.shapes.split(","):
        image_shape, num_levels, count, hidden = SHAPES[name]
        for arch in args.archs.split(","):
            config = prt.ModelConfig(
                arch=arch, image_shape=image_shape, num_levels=num_levels,
                num_layers=args.num_layers, hidden_units=hidden, output_units=4 * hidden,
            )
            model = prt.build_model(config)
            first, cached = _cached_seconds(model, count, args.repeats, jit_compile=True)
            _, graph = _cached_seconds(model, count, 1, jit_compile=False)
            naive, extrapolated = _naive_seconds(model, count, name in args.full_naive.split(","))
            mark = "~" if extrapolated else ""
            print(
                f"| {name} | {count} | {arch} | {model.count_params():,} | {mark}{naive:.1f} "
                f"| {cached:.3f} | {mark}{naive / cached:.0f}x | {cached / count:.4f} "
                f"| {first:.1f} | {graph:.2f} |",
                flush=True,
            )
        if not args.skip_peer:
            try:
                parameters, peer = _peer(image_shape, num_levels, count, 2 * hidden)
            except Exception as error:  # Report, don't fake: the peer needs tf_keras.
                print(f"| {name} | {count} | tfp tfd.PixelCNN (peer) | - | could not run: "
                      f"{type(error).__name__}: {error} | | | | | |", flush=True)
                continue
            print(
                f"| {name} | {count} | tfp tfd.PixelCNN (peer, its own sampler) | {parameters:,} "
                f"| - | {peer:.1f} | - | {peer / count:.4f} | - | - |",
                flush=True,
            )


if __name__ == "__main__":
    main()
