r"""Where a training step's time goes: op time by op type, from TensorFlow's profiler.

Traces `--steps` training steps of each architecture (`model.train_on_batch`
with the package's default training settings, after warm-up steps) with
`tf.profiler.experimental`, reads the trace's XPlane and prints, per
architecture, the time of each op type summed over the process's threads,
per step, with its share of the total and its call count. The summed time
exceeds the wall clock where ops run in parallel; the shares are the
figures to read. This is how the strided-slice gradients of the recurrent
layers were found (BENCHMARKS.md, "Training throughput").

  .venv/bin/python bench/profile_step.py --archs=diagonal_bilstm --top=15
"""

import argparse
import collections
import glob
import tempfile

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

import pixel_rnn_tf as prt
from pixel_rnn_tf import training
from train_throughput import SHAPES
from train_throughput import _random_images as random_images

# Events of the executor and of the thread pools that wrap or accompany op
# events on the same threads: counting them would count ops twice.
NOT_OPS = frozenset(
    ["Process", "ParallelFor", "StartRegion", "StopRegion", "Record", "MemoryAllocation",
     "MemoryDeallocation", "ExecutorDoneCallback"]
)


def op_times(log_dir):
    """`({op type: picoseconds}, {op type: calls})` of the trace in `log_dir`."""
    (path,) = glob.glob(f"{log_dir}/**/*.xplane.pb", recursive=True)
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    times, calls = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_"):  # The op threads, not Python's.
                continue
            for event in line.events:
                op_type = names.get(event.metadata_id, "?").rsplit(":", 1)[-1]
                if op_type not in NOT_OPS:
                    times[op_type] += event.duration_ps
                    calls[op_type] += 1
    return times, calls


def profile(arch, args):
    shape, levels = SHAPES[args.shape]
    config = prt.ModelConfig(
        arch=arch, image_shape=shape, num_levels=levels, num_layers=args.num_layers,
        hidden_units=args.hidden_units, output_units=4 * args.hidden_units,
    )
    model = training.compile_model(prt.build_model(config))
    images = random_images(args.batch_size, shape, levels)
    for _ in range(2):  # Trace, then warm up.
        model.train_on_batch(images, images)
    with tempfile.TemporaryDirectory() as log_dir:
        tf.profiler.experimental.start(log_dir)
        for _ in range(args.steps):
            model.train_on_batch(images, images)
        tf.profiler.experimental.stop()
        return op_times(log_dir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archs", default=",".join(prt.configs.ARCHITECTURES))
    parser.add_argument("--shape", default="28x28x1", choices=sorted(SHAPES))
    parser.add_argument("--num_layers", type=int, default=3)
    parser.add_argument("--hidden_units", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument(
        "--intra_op_threads", type=training.parse_intra_op_threads,
        default=training.INTRA_OP_THREADS,
        help="TensorFlow's intra-op threads (default: the package's, training.configure_threads).",
    )
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=12, help="Op types listed per architecture.")
    args = parser.parse_args()
    training.configure_threads(args.intra_op_threads)
    unknown = set(args.archs.split(",")) - set(prt.configs.ARCHITECTURES)
    if unknown:
        parser.error(f"--archs takes some of {', '.join(prt.configs.ARCHITECTURES)}. "
                     f"Received: {args.archs!r}")
    print("| arch | op type | ms per step | share | calls per step |")
    print("| --- | --- | --- | --- | --- |")
    for arch in args.archs.split(","):
        times, calls = profile(arch, args)
        total = sum(times.values())
        print(f"| {arch} | all ops | {total / 1e9 / args.steps:.1f} | 100% | "
              f"{sum(calls.values()) // args.steps} |")
        for op_type, time in times.most_common(args.top):
            print(f"| {arch} | {op_type} | {time / 1e9 / args.steps:.1f} | "
                  f"{100 * time / total:.0f}% | {calls[op_type] // args.steps} |", flush=True)


if __name__ == "__main__":
    main()
