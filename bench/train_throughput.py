r"""Training-step throughput of the three architectures, in one run.

For each architecture at 28x28x1 (binary) and 32x32x3 (256 levels), with
the same depth and width, times compiled training steps and reports images
per second, the ratio to PixelCNN, the analytic FLOPs of a step and the
fraction of this machine's convolution peak (a large conv2d timed in the
same run) that the step reaches. The peer, tfp's `tfd.PixelCNN` with `2h`
filters (`peer.py`), trains on the same batches with a compiled
`log_prob` gradient step.

  .venv/bin/python bench/train_throughput.py --num_layers=3 --hidden_units=32
"""

import argparse
import time

import numpy as np
import tensorflow as tf

import peer
import pixel_rnn_tf as prt
from pixel_rnn_tf import training

# Backward costs about twice the forward pass.
TRAIN_STEP_FLOPS_PER_FORWARD_FLOP = 3


def conv_peak_flops(repeats=10):
    """FLOP/s of a large float32 conv2d on this machine."""
    x = tf.random.stateless_normal([16, 64, 64, 128], seed=[1, 2])
    kernel = tf.random.stateless_normal([3, 3, 128, 128], seed=[3, 4])
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    conv(x).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        conv(x).numpy()
    seconds = (time.perf_counter() - start) / repeats
    return 2 * 16 * 64 * 64 * 3 * 3 * 128 * 128 / seconds


def _conv_flops(layer, height, width, in_features):
    kh, kw = layer.kernel_size
    return 2 * height * width * kh * kw * in_features * layer.filters


def _gated_flops(layer, height, width, in_features):
    """Both stacks' convolutions and the link of a Gated PixelCNN layer."""
    stacks = _conv_flops(layer.vertical, height, width, in_features)
    stacks += _conv_flops(layer.horizontal, height, width, in_features)
    return stacks + _conv_flops(layer.link, height, width, layer.vertical.filters)


def forward_flops(model):
    """Multiply-adds x 2 of one image's forward pass, from the layers' shapes.

    Masked weights are counted: the convolutions compute them.
    """
    height, width, channels = model.config.image_shape
    h = model.config.hidden_units
    if isinstance(model.stem, prt.layers.GatedStem):
        total = _gated_flops(model.stem, height, width, channels)
    else:
        total = _conv_flops(model.stem, height, width, channels)
    for block in model.blocks:
        if isinstance(block, prt.layers.GatedPixelCNNBlock):
            total += _gated_flops(block, height, width, h)
            total += _conv_flops(block.horizontal_output, height, width, h)
            continue
        if isinstance(block, prt.layers.PixelCNNBlock):
            total += _conv_flops(block.reduce, height, width, 2 * h)
            total += _conv_flops(block.conv, height, width, h)
        else:
            lstms = (
                [block.lstm]
                if isinstance(block.lstm, prt.layers.RowLSTM)
                else [block.lstm.left_to_right, block.lstm.right_to_left]
            )
            for lstm in lstms:
                total += _conv_flops(lstm.input_to_state, height, width, 2 * h)
                steps = height if isinstance(lstm, prt.layers.RowLSTM) else width + height - 1
                length = width if isinstance(lstm, prt.layers.RowLSTM) else height
                total += 2 * steps * length * lstm.state_width * h * 4 * h
        total += _conv_flops(block.output_projection, height, width, h)
    for skip in model.skips:
        total += _conv_flops(skip, height, width, 2 * h)
    total += _conv_flops(model.head.hidden, height, width, 2 * h)
    total += _conv_flops(model.head.logits, height, width, model.config.output_units)
    return total


def _random_images(batch_size, image_shape, num_levels):
    return np.random.default_rng(0).integers(
        0, num_levels, (batch_size,) + image_shape
    ).astype(np.int32)


def _steps_per_second(step, steps):
    for _ in range(2):  # Trace and warm up.
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def images_per_second(model, batch_size, steps):
    """Images per second of `model.train_on_batch` on random images."""
    images = _random_images(batch_size, model.config.image_shape, model.config.num_levels)
    return batch_size * _steps_per_second(lambda: model.train_on_batch(images, images), steps)


def peer_images_per_second(image_shape, num_levels, filters, batch_size, steps):
    """`(parameters, images per second)` of the peer's compiled training step."""
    dist = peer.pixel_cnn(image_shape, num_levels, filters)
    images = tf.constant(_random_images(batch_size, image_shape, num_levels), tf.float32)
    step = peer.train_step(dist)
    rate = batch_size * _steps_per_second(lambda: step(images).numpy(), steps)
    return peer.num_parameters(dist), rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num_layers", type=int, default=3)
    parser.add_argument("--hidden_units", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--jit_compile", action="store_true")
    parser.add_argument("--skip_peer", action="store_true")
    parser.add_argument(
        "--archs", default=",".join(prt.configs.ARCHITECTURES),
        help="Comma-separated architectures; the first is the ratios' baseline.",
    )
    args = parser.parse_args()
    peak = conv_peak_flops()
    print(f"conv2d peak on this machine: {peak / 1e9:.1f} GFLOP/s (float32, 16x64x64x128, 3x3x128x128)")
    print(
        "| shape | arch | params | images/s | ratio to the first | GFLOP/step | "
        "% of conv peak |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for shape, levels in (((28, 28, 1), 2), ((32, 32, 3), 256)):
        baseline = None
        for arch in args.archs.split(","):
            config = prt.ModelConfig(
                arch=arch, image_shape=shape, num_levels=levels, num_layers=args.num_layers,
                hidden_units=args.hidden_units, output_units=4 * args.hidden_units,
            )
            model = training.compile_model(prt.build_model(config), jit_compile=args.jit_compile)
            rate = images_per_second(model, args.batch_size, args.steps)
            baseline = baseline or rate
            flops = TRAIN_STEP_FLOPS_PER_FORWARD_FLOP * forward_flops(model) * args.batch_size
            fraction = flops * rate / args.batch_size / peak
            print(
                f"| {'x'.join(map(str, shape))} | {arch} | {model.count_params():,} | "
                f"{rate:.1f} | {rate / baseline:.2f} | {flops / 1e9:.2f} | {100 * fraction:.0f}% |",
                flush=True,
            )
        if not args.skip_peer:
            parameters, rate = peer_images_per_second(
                shape, levels, 2 * args.hidden_units, args.batch_size, args.steps
            )
            print(
                f"| {'x'.join(map(str, shape))} | tfp tfd.PixelCNN (peer) | {parameters:,} | "
                f"{rate:.1f} | {rate / baseline:.2f} | - | - |",
                flush=True,
            )


if __name__ == "__main__":
    main()
