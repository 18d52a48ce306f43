r"""What a user waits for before the first answer: sampling, export and serving.

For each preset (random weights), in a fresh process each (nothing traced
before): the first call of the cached sampler (`sampling.sample`, one
image, its default: the row loop XLA-compiled), the export
(`serving.export_saved_model`, which traces every signature), loading the
SavedModel, and the first call of each signature of the loaded model.
Wall-clock and CPU seconds of the process; tracing runs on one core, so
on a machine shared with other jobs the CPU seconds are the steadier.

  .venv/bin/python bench/first_call.py
  .venv/bin/python bench/first_call.py --presets=mnist_pixel_cnn,mnist_row_lstm
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time

STAGES = ("sample", "export", "load", "log_prob", "sample_signature", "complete", "metadata")
PRESETS = (
    "mnist_pixel_cnn", "mnist_row_lstm", "mnist_diagonal_bilstm_1x32",
    "mnist_diagonal_bilstm_7x16", "mnist_gated_pixel_cnn",
)


def _timed(function):
    """`(result, (wall, CPU) seconds)` of `function()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, (time.perf_counter() - wall, time.process_time() - cpu)


def measure(preset, implementation):
    """`{stage: (wall, CPU)}` for one preset, in this process."""
    import numpy as np
    import tensorflow as tf

    import pixel_rnn_tf as prt
    from pixel_rnn_tf import sampling
    from pixel_rnn_tf import serving

    config = prt.configs.get(preset).replace(implementation=implementation)
    model = prt.build_model(config)
    seconds = {}
    _, seconds["sample"] = _timed(lambda: sampling.sample(model, 1, seed=(1, 2)).numpy())
    with tempfile.TemporaryDirectory() as directory:
        _, seconds["export"] = _timed(lambda: serving.export_saved_model(model, directory))
        served, seconds["load"] = _timed(lambda: tf.saved_model.load(directory))
        images = np.zeros((1,) + config.image_shape, np.uint8)
        seed = tf.constant([1, 2], tf.int32)
        temperature = tf.constant(1.0)
        calls = {
            "log_prob": lambda: served.signatures["log_prob"](images=images),
            "sample_signature": lambda: served.signatures["sample"](
                num_samples=tf.constant(1), seed=seed, temperature=temperature
            ),
            "complete": lambda: served.signatures["complete"](
                images=images, known=np.arange(images.size).reshape(images.shape) < images.size // 2,
                seed=seed, temperature=temperature,
            ),
            "metadata": lambda: served.signatures["metadata"](),
        }
        for stage, call in calls.items():
            _, seconds[stage] = _timed(call)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--implementation", default="auto",
                        help="The recurrent layers' path (`ModelConfig.implementation`).")
    parser.add_argument("--of", help=argparse.SUPPRESS)  # One preset, in its own process.
    args = parser.parse_args()
    if args.of:
        print(json.dumps(measure(args.of, args.implementation)))
        return
    print("(wall, CPU seconds; each preset in a fresh process)")
    print(f"| preset | {' | '.join(STAGES)} |")
    print(f"| --- |{' --- |' * len(STAGES)}")
    for preset in args.presets.split(","):
        output = subprocess.run(
            [sys.executable, __file__, f"--of={preset}", f"--implementation={args.implementation}"],
            check=True, capture_output=True, text=True,
        ).stdout
        seconds = json.loads(output.strip().splitlines()[-1])
        cells = " | ".join("{:.1f}, {:.1f}".format(*seconds[stage]) for stage in STAGES)
        print(f"| {preset} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
