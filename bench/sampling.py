r"""Sampling speed: naive vs cached for each architecture, and tfp's PixelCNN.

One run times, after a warm-up call that traces the loop:
* 16 images at 28x28x1 (binary) and 4 images at 32x32x3 (256 levels);
* each architecture with 3 layers (h=16 at 28x28x1, h=32 at 32x32x3);
* `method="naive"` (a full forward pass per pixel and channel) and
  `method="cached"`, and their ratio;
* `tfd.PixelCNN` (tfp's PixelCNN++, 1 ResNet block x 3 hierarchies, 32
  filters), the peer, on the same shapes.

  .venv/bin/python bench/sampling.py
"""

import argparse
import time

import tensorflow as tf
import tensorflow_probability as tfp

import pixel_rnn_tf as prt
from pixel_rnn_tf import sampling

SHAPES = (((28, 28, 1), 2, 16, 16), ((32, 32, 3), 256, 4, 32))  # shape, levels, images, h


def seconds(function, repeats=1):
    function()  # Trace and warm up.
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def tfp_peer_seconds(image_shape, num_images):
    """tfp's own PixelCNN sampler on the same shape (a Keras 2 model inside)."""
    dist = tfp.distributions.PixelCNN(
        image_shape=image_shape, num_resnet=1, num_hierarchies=3, num_filters=32,
        num_logistic_mix=5, dropout_p=0.0,
    )
    draw = tf.function(lambda: dist.sample(num_images, seed=1))  # A stateful int seed only.
    return seconds(lambda: draw().numpy())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num_layers", type=int, default=3)
    parser.add_argument("--skip_naive", action="store_true", help="Only cached and the peer.")
    parser.add_argument(
        "--shapes", default="28x28x1,32x32x3", help="Comma-separated subset of 28x28x1,32x32x3."
    )
    args = parser.parse_args()
    shapes = [entry for entry in SHAPES if "x".join(map(str, entry[0])) in args.shapes.split(",")]
    print("| shape | images | model | params | naive (s) | cached (s) | speedup | s / image (cached) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for image_shape, levels, count, hidden in shapes:
        for arch in prt.configs.ARCHITECTURES:
            config = prt.ModelConfig(
                arch=arch, image_shape=image_shape, num_levels=levels,
                num_layers=args.num_layers, hidden_units=hidden, output_units=4 * hidden,
            )
            model = prt.build_model(config)
            cached = seconds(lambda: sampling.sample(model, count, seed=(1, 2), method="cached").numpy())
            naive = None
            if not args.skip_naive:
                naive = seconds(lambda: sampling.sample(model, count, seed=(1, 2), method="naive").numpy())
            speedup = f"{naive / cached:.0f}x" if naive else "-"
            naive_text = f"{naive:.1f}" if naive else "-"
            print(
                f"| {'x'.join(map(str, image_shape))} | {count} | {arch} | {model.count_params():,} "
                f"| {naive_text} | {cached:.2f} | {speedup} | {cached / count:.3f} |", flush=True,
            )
        peer = tfp_peer_seconds(image_shape, count)
        print(
            f"| {'x'.join(map(str, image_shape))} | {count} | tfp tfd.PixelCNN (peer) | - | {peer:.1f} "
            f"| - | - | {peer / count:.3f} |", flush=True,
        )


if __name__ == "__main__":
    main()
