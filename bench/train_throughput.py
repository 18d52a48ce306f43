r"""Training-step throughput of the three architectures, in one run.

For each architecture at 28x28x1 (binary) and 32x32x3 (256 levels), with
the same depth and width, times training steps with the package's default
training settings (`training.compile_model`: XLA on GPUs and TPUs, the
plain graph on CPU-only machines; `--jit_compile` / `--no-jit_compile`
force it)
and reports images per second (wall clock, and per CPU-second of the
process, which moves less with other jobs on the machine), the ratio to
the first architecture (PixelCNN by default), the analytic FLOPs of a step and the fraction of this machine's
convolution peak (a large conv2d timed in the same run) that the step
reaches, both per CPU-second (on a machine shared with other jobs the wall
clock of the peak and of the steps move apart). The peer, tfp's `tfd.PixelCNN` with `2h` filters (`peer.py`),
trains on the same batches with a compiled `log_prob` gradient step.

`--scales=paper` (alone, it is slow on a CPU) times the CIFAR-10 presets
(`configs.PRESETS`, 12 or 15 layers, h=128) at batch 16 instead, with the
peak memory (the GPU's where there is one, else the process's peak RSS).

`--scales=first_step` times what a user waits before training starts: from
`model.fit` called to its first step done, for each of `--presets`, each in
a fresh process (nothing traced before), fed numpy arrays and a `tf.data`
pipeline (`from_tensor_slices(x).shuffle(...).repeat().map(lambda v: (v,
v)).batch(16)`, the way Keras users write one); medians of `--rounds`, in
seconds of wall clock and of the process's CPU time (tracing runs on one
core, so on a machine shared with other jobs the CPU time is the steadier
figure).

  .venv/bin/python bench/train_throughput.py --num_layers=3 --hidden_units=32
  .venv/bin/python bench/train_throughput.py --scales=paper --steps=2
  .venv/bin/python bench/train_throughput.py --scales=first_step --rounds=1
"""

import argparse
import subprocess
import sys
import time

import keras
import numpy as np
import tensorflow as tf

import memory
import peer
import pixel_rnn_tf as prt
from pixel_rnn_tf import training

# Backward costs about twice the forward pass.
TRAIN_STEP_FLOPS_PER_FORWARD_FLOP = 3


def conv_peak_flops(repeats=10):
    """`(FLOP/s, FLOP per CPU-second)` of a large float32 conv2d on this machine."""
    x = tf.random.stateless_normal([16, 64, 64, 128], seed=[1, 2])
    kernel = tf.random.stateless_normal([3, 3, 128, 128], seed=[3, 4])
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    conv(x).numpy()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        conv(x).numpy()
    flops = repeats * 2 * 16 * 64 * 64 * 3 * 3 * 128 * 128
    return flops / (time.perf_counter() - start), flops / (time.process_time() - cpu_start)


def _conv_flops(layer, height, width, in_features):
    """The taps a layer computes: a `MaskedConv2D` skips those every mask zeroes."""
    kh, kw = getattr(layer, "live_kernel_size", layer.kernel_size)
    return 2 * height * width * kh * kw * in_features * layer.filters


def _gated_flops(layer, height, width, in_features):
    """Both stacks' convolutions and the link of a Gated PixelCNN layer."""
    stacks = _conv_flops(layer.vertical, height, width, in_features)
    stacks += _conv_flops(layer.horizontal, height, width, in_features)
    return stacks + _conv_flops(layer.link, height, width, layer.vertical.filters)


def forward_flops(model):
    """Multiply-adds x 2 of one image's forward pass, from the layers' shapes.

    Masked weights inside the computed taps (`MaskedConv2D.live_kernel_size`)
    are counted: the convolutions compute them.
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
                # One state-to-state product per pixel: the Diagonal LSTM runs
                # its skewed columns' pixels only, not their padding.
                total += 2 * height * width * lstm.state_width * h * 4 * h
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


SHAPES = {"28x28x1": ((28, 28, 1), 2), "32x32x3": ((32, 32, 3), 256)}  # image shape, levels
PAPER_SCALE_PRESETS = tuple(name for name in prt.configs.names() if name.startswith("cifar10_"))


def _steps_per_second(step, steps, warmup=2):
    """`(steps per second, steps per CPU-second of this process)`."""
    for _ in range(warmup):  # Trace (and compile) and warm up.
        step()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start), steps / (time.process_time() - cpu_start)


def interleaved_rates(steps_by_name, steps, rounds, warmup=2):
    """`{name: [(steps per second, per CPU-second), one per round]}`.

    Each round times every step in turn, so that a change in the machine's
    speed (other jobs on its host: 20 to 30% between runs on this one) falls
    on all of them alike rather than on whichever ran during it.
    """
    for step in steps_by_name.values():
        _steps_per_second(step, 0, warmup)
    rates = {name: [] for name in steps_by_name}
    for _ in range(rounds):
        for name, step in steps_by_name.items():
            rates[name].append(_steps_per_second(step, steps, warmup=0))
    return rates


def _train_step(model, batch_size):
    images = _random_images(batch_size, model.config.image_shape, model.config.num_levels)
    return lambda: model.train_on_batch(images, images)


def images_per_second(model, batch_size, steps, warmup=2):
    """`(images per second, per CPU-second)` of `model.train_on_batch` on random images."""
    rates = _steps_per_second(_train_step(model, batch_size), steps, warmup)
    return tuple(batch_size * rate for rate in rates)


def _peer_step(image_shape, num_levels, filters, batch_size):
    """`(parameters, step)`: the peer's compiled training step on random images."""
    dist = peer.pixel_cnn(image_shape, num_levels, filters)
    images = tf.constant(_random_images(batch_size, image_shape, num_levels), tf.float32)
    step = peer.train_step(dist)
    return peer.num_parameters(dist), lambda: step(images).numpy()


def _jit_label(model):
    return "XLA" if model.jit_compile else "graph"


def measure(model, args, peak, warmup=2):
    """`(images/s, images/CPU-s, GFLOP per step, fraction of the conv peak per CPU-s)`."""
    rate, cpu_rate = images_per_second(model, args.batch_size, args.steps, warmup)
    return (rate, cpu_rate) + _work(model, args, cpu_rate, peak)


def _work(model, args, cpu_rate, peak):
    """`(GFLOP per step, fraction of the conv peak per CPU-second)` at `cpu_rate` images/CPU-s."""
    flops = TRAIN_STEP_FLOPS_PER_FORWARD_FLOP * forward_flops(model) * args.batch_size
    return flops / 1e9, flops * cpu_rate / args.batch_size / peak[1]


def small_scale_rows(args, peak):
    """The table at 28x28x1 and 32x32x3, `args.num_layers` x `args.hidden_units`.

    Medians of `args.rounds` interleaved rounds (`interleaved_rates`); the
    ratio is the median of each round's ratio to the first architecture.
    """
    print(
        f"(medians of {args.rounds} interleaved rounds of {args.steps} steps)\n"
        "| shape | arch | step | params | images/s | images/CPU-s | ratio to the first | "
        "GFLOP/step | % of conv peak |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.shapes.split(","):
        shape, levels = SHAPES[name]
        models, steps = {}, {}
        for arch in args.archs.split(","):
            config = prt.ModelConfig(
                arch=arch, image_shape=shape, num_levels=levels, num_layers=args.num_layers,
                hidden_units=args.hidden_units, output_units=4 * args.hidden_units,
                implementation=args.implementation,
            )
            models[arch] = training.compile_model(
                prt.build_model(config), jit_compile=args.jit_compile
            )
            steps[arch] = _train_step(models[arch], args.batch_size)
        if not args.skip_peer:
            peer_parameters, steps["peer"] = _peer_step(
                shape, levels, 2 * args.hidden_units, args.batch_size
            )
        rates = interleaved_rates(steps, args.steps, args.rounds)
        baseline = rates[next(iter(models))]
        for arch, arch_rates in rates.items():
            rate, cpu_rate = (args.batch_size * np.median(r) for r in zip(*arch_rates))
            ratio = np.median([r[0] / b[0] for r, b in zip(arch_rates, baseline)])
            prefix = f"| {'x'.join(map(str, shape))} | "
            if arch == "peer":
                print(
                    f"{prefix}tfp tfd.PixelCNN (peer) | graph | {peer_parameters:,} | "
                    f"{rate:.1f} | {cpu_rate:.1f} | {ratio:.2f} | - | - |",
                    flush=True,
                )
                continue
            model = models[arch]
            gflops, fraction = _work(model, args, cpu_rate, peak)
            print(
                f"{prefix}{arch} | {_jit_label(model)} | {model.count_params():,} | {rate:.1f} | "
                f"{cpu_rate:.1f} | {ratio:.2f} | {gflops:.2f} | {100 * fraction:.0f}% |",
                flush=True,
            )


def paper_scale_rows(args, peak):
    """One row per CIFAR-10 preset at batch `args.batch_size`, with peak memory."""
    print(
        "| preset | step | params | images/s | images/CPU-s | GFLOP/step | % of conv peak | "
        "compile + first steps (s) | peak memory |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in PAPER_SCALE_PRESETS:
        memory.reset()
        config = prt.configs.get(name).replace(implementation=args.implementation)
        model = training.compile_model(prt.build_model(config), jit_compile=args.jit_compile)
        start = time.perf_counter()
        rate, cpu_rate, gflops, fraction = measure(model, args, peak, warmup=1)
        first = time.perf_counter() - start - args.steps * args.batch_size / rate
        print(
            f"| {name} | {_jit_label(model)} | {model.count_params():,} | {rate:.2f} | "
            f"{cpu_rate:.2f} | {gflops:.1f} | {100 * fraction:.0f}% | {first:.0f} | "
            f"{memory.formatted()} |",
            flush=True,
        )


FIRST_STEP_INPUTS = ("numpy", "tf.data")
FIRST_STEP_PRESETS = tuple(
    name for name in prt.configs.names() if name.startswith("mnist_") and "_small_" not in name
) + PAPER_SCALE_PRESETS


def first_step_seconds(preset, input_form, batch_size, intra_op_threads, implementation):
    """`(wall, CPU)` seconds from `model.fit` called to its first step done, in this process."""
    training.configure_threads(intra_op_threads)
    config = prt.configs.get(preset).replace(implementation=implementation)
    model = training.compile_model(prt.build_model(config))
    config = model.config
    images = _random_images(16 * batch_size, config.image_shape, config.num_levels)
    if input_form == "numpy":
        data = dict(x=images, y=images, batch_size=batch_size)
    else:
        dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images)).repeat()
        data = dict(x=dataset.map(lambda v: (v, v)).batch(batch_size))
    done = []
    first_step = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: done.append(
            (time.perf_counter(), time.process_time())
        )
    )
    start = time.perf_counter(), time.process_time()
    model.fit(**data, epochs=1, steps_per_epoch=1, callbacks=[first_step], verbose=0)
    return tuple(end - begin for end, begin in zip(done[0], start))


def first_step_rows(args):
    """One row per preset: the median wall and CPU seconds to the first step, per input form.

    Each measurement runs in a fresh process (TensorFlow's traces are
    cached per process); the rounds interleave the presets and input forms.
    """
    presets = args.presets.split(",")
    seconds = {(preset, form): [] for preset in presets for form in FIRST_STEP_INPUTS}
    for _ in range(args.rounds):
        for preset, form in seconds:
            output = subprocess.run(
                [sys.executable, __file__, f"--first_step_of={preset}", f"--input={form}",
                 f"--batch_size={args.batch_size}", f"--intra_op_threads={args.intra_op_threads}",
                 f"--implementation={args.implementation}"],
                check=True, capture_output=True, text=True,
            ).stdout
            seconds[preset, form].append([float(value) for value in output.split()[-2:]])
    print(
        f"(medians of {args.rounds} rounds, each in a fresh process, batch {args.batch_size})\n"
        f"| preset | {' | '.join(f'first step, {form}: wall, CPU (s)' for form in FIRST_STEP_INPUTS)} |\n"
        f"| --- |{' --- |' * len(FIRST_STEP_INPUTS)}"
    )
    for preset in presets:
        times = " | ".join(
            "{:.1f}, {:.1f}".format(*np.median(seconds[preset, form], axis=0))
            for form in FIRST_STEP_INPUTS
        )
        print(f"| {preset} | {times} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num_layers", type=int, default=3)
    parser.add_argument("--hidden_units", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="Interleaved rounds of --steps per model at --scales=small; medians are reported.",
    )
    parser.add_argument(
        "--jit_compile", action=argparse.BooleanOptionalAction, default=None,
        help="XLA-compile the training step (default: the package's, XLA on GPUs and TPUs only).",
    )
    parser.add_argument("--skip_peer", action="store_true")
    parser.add_argument(
        "--implementation", default="auto", choices=("auto", "reference", "fused"),
        help="The recurrent layers' path (`ModelConfig.implementation`).",
    )
    parser.add_argument(
        "--intra_op_threads", type=training.parse_intra_op_threads,
        default=training.INTRA_OP_THREADS,
        help="TensorFlow's intra-op threads (default: the package's, training.configure_threads).",
    )
    parser.add_argument(
        "--archs", default=",".join(prt.configs.ARCHITECTURES),
        help="Comma-separated architectures; the first is the ratios' baseline.",
    )
    parser.add_argument("--shapes", default=",".join(SHAPES),
                        help="Comma-separated shapes of --scales=small.")
    parser.add_argument(
        "--scales", default="small",
        help="Comma-separated: small (3 layers, h=32 at 28x28x1 and 32x32x3), paper "
        "(the CIFAR-10 presets) and/or first_step (the time to the first step of --presets).",
    )
    parser.add_argument(
        "--presets", default=",".join(FIRST_STEP_PRESETS),
        help="Comma-separated presets of --scales=first_step.",
    )
    # One measurement of --scales=first_step, in its own process.
    parser.add_argument("--first_step_of", help=argparse.SUPPRESS)
    parser.add_argument("--input", choices=FIRST_STEP_INPUTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_step_of:
        wall, cpu = first_step_seconds(
            args.first_step_of, args.input, args.batch_size, args.intra_op_threads,
            args.implementation,
        )
        print(f"{wall:.3f} {cpu:.3f}")
        return
    scales = args.scales.split(",")
    if not scales or set(scales) - {"small", "paper", "first_step"}:
        parser.error(
            f"--scales takes some of small, paper and first_step. Received: {args.scales!r}"
        )
    if "first_step" in scales:
        first_step_rows(args)
        scales.remove("first_step")
        if not scales:
            return
    threads = training.configure_threads(args.intra_op_threads)
    if set(args.shapes.split(",")) - set(SHAPES):
        parser.error(f"--shapes takes some of {', '.join(SHAPES)}. Received: {args.shapes!r}")
    peak = conv_peak_flops()
    print(
        f"conv2d peak on this machine: {peak[0] / 1e9:.1f} GFLOP/s, {peak[1] / 1e9:.1f} GFLOP "
        "per CPU-second (float32, 16x64x64x128, 3x3x128x128); intra-op threads: "
        f"{threads or 'TensorFlow default'} (--intra_op_threads={args.intra_op_threads})"
    )
    if "small" in scales:
        small_scale_rows(args, peak)
    if "paper" in scales:
        paper_scale_rows(args, peak)


if __name__ == "__main__":
    main()
