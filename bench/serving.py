r"""Latency of the exported SavedModel against the in-process model.

  python bench/serving.py                      # prints a markdown table
  python bench/serving.py --benchmarks_md=BENCHMARKS.md   # and records it

For the `log_prob` signature at each batch size: the eager model
(`head.log_prob(model(images), images)`), a `tf.function` of the same, and
the signature of the SavedModel loaded with `tf.saved_model.load`; for the
`sample` signature: `sampling.sample` in process (eagerly, where its row
loop is XLA-compiled, and inside a `tf.function`, where it is a plain
graph) against the signature of a default export and of one exported with
`sampling_jit_compile=True`. Each
is the median of `--repeats` runs after `--warmup` runs, the candidates
interleaved so that drift of the machine hits them alike. The table gives the
ratio of the SavedModel to eager in the same run (the target: at most 1.1)
and to the `tf.function`, the same graph run in process.
"""

import datetime
import os
import re
import shlex
import sys
import tempfile
import textwrap
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

import pixel_rnn_tf as prt
from pixel_rnn_tf import sampling
from pixel_rnn_tf import serving

_PRESET = flags.DEFINE_string("preset", "mnist_row_lstm", "log_prob model preset (random weights).")
_SAMPLE_PRESET = flags.DEFINE_string(
    "sample_preset", "digits_row_lstm", "sample model preset (random weights)."
)
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1", "64"], "log_prob batch sizes.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 4, "Images per `sample` call; 0: skip.")
_REPEATS = flags.DEFINE_integer("repeats", 20, "Timed runs of each log_prob measurement.")
_SAMPLE_REPEATS = flags.DEFINE_integer("sample_repeats", 3, "Timed runs of each sample call.")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed runs before timing.")
_BENCHMARKS_MD = flags.DEFINE_string(
    "benchmarks_md", None, "If set, write the table into this file's '## Serving' section."
)

SECTION = "## Serving"


def _median_ms(candidates, repeats, warmup):
    """Median wall time in ms of each zero-argument callable, interleaved."""
    for _ in range(warmup):
        for run in candidates.values():
            run()
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: 1000.0 * float(np.median(t)) for name, t in times.items()}


def _numpy(outputs):
    """Forces the result to host memory, as a server's response would."""
    if isinstance(outputs, dict):
        return {k: v.numpy() for k, v in outputs.items()}
    return outputs.numpy()


def _describe(preset):
    config = prt.configs.get(preset)
    return (
        f"`{preset}`: {config.arch} {config.num_layers}x{config.hidden_units}, "
        f"{'x'.join(map(str, config.image_shape))}, {config.num_levels} levels"
    )


def _export_and_load(preset, export_base, model=None, sampling_jit_compile=False):
    model = model or prt.build_model(prt.configs.get(preset))
    path = serving.export_versioned(
        model, os.path.join(export_base, preset), sampling_jit_compile=sampling_jit_compile
    )
    return model, tf.saved_model.load(path)


def run_benchmark(
    preset, sample_preset, batch_sizes, num_samples, repeats, sample_repeats, warmup
):
    """Returns the markdown table of the measurements (random weights)."""
    rows = []
    with tempfile.TemporaryDirectory() as export_base:
        model, loaded = _export_and_load(preset, export_base)
        config = model.config
        log_prob_signature = loaded.signatures["log_prob"]
        traced = tf.function(lambda images: prt.head.log_prob(model(images), images))
        for batch_size in batch_sizes:
            images = tf.constant(
                np.random.default_rng(0).integers(
                    0, config.num_levels, (batch_size,) + config.image_shape
                ).astype(np.uint8)
            )
            times = _median_ms(
                {
                    "eager": lambda: _numpy(prt.head.log_prob(model(images), images)),
                    "function": lambda: _numpy(traced(images)),
                    "saved_model": lambda: _numpy(log_prob_signature(images=images)),
                },
                repeats,
                warmup,
            )
            rows.append(("log_prob", preset, batch_size, times))
        if num_samples:
            model, loaded = _export_and_load(sample_preset, export_base)
            _, loaded_xla = _export_and_load(
                sample_preset, export_base, model=model, sampling_jit_compile=True
            )
            seed = tf.constant([1, 2], tf.int32)
            request = dict(
                num_samples=tf.constant(num_samples), seed=seed, temperature=tf.constant(1.0)
            )
            traced_sample = tf.function(lambda: sampling.sample(model, num_samples, seed=seed))
            signature = loaded.signatures["sample"]
            signature_xla = loaded_xla.signatures["sample"]
            times = _median_ms(
                {
                    "eager": lambda: _numpy(sampling.sample(model, num_samples, seed=seed)),
                    "function": lambda: _numpy(traced_sample()),
                    "saved_model": lambda: _numpy(signature(**request)),
                    "saved_model_xla": lambda: _numpy(signature_xla(**request)),
                },
                sample_repeats,
                min(warmup, 1),
            )
            rows.append(("sample", sample_preset, num_samples, {
                k: times[k] for k in ("eager", "function", "saved_model")
            }))
            rows.append(("sample, `sampling_jit_compile`", sample_preset, num_samples, {
                "eager": times["eager"], "saved_model": times["saved_model_xla"]
            }))
    models = sorted({row[1] for row in rows})
    lines = [
        "| signature | model | batch | eager (ms) | tf.function (ms) | SavedModel (ms) "
        "| SavedModel / eager | SavedModel / tf.function |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for signature, preset_name, batch, times in rows:
        function = f"{times['function']:.2f}" if "function" in times else "-"
        to_function = (
            f"{times['saved_model'] / times['function']:.2f}x" if "function" in times else "-"
        )
        lines.append(
            f"| {signature} | `{preset_name}` | {batch} | {times['eager']:.2f} | {function} | "
            f"{times['saved_model']:.2f} | {times['saved_model'] / times['eager']:.2f}x | "
            f"{to_function} |"
        )
    models = sorted({row[1] for row in rows})
    lines += [
        "",
        "Models (random weights): " + "; ".join(_describe(p) for p in models) + ". "
        f"Median of {repeats} runs ({sample_repeats} for `sample`) after warm-up, the "
        "candidates interleaved.",
    ]
    return "\n".join(lines)


def write_section(path, body):
    """Replaces (or appends) the '## Serving' section of the markdown file `path`."""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    section = f"{SECTION}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    table = run_benchmark(
        _PRESET.value,
        _SAMPLE_PRESET.value,
        [int(b) for b in _BATCH_SIZES.value],
        _NUM_SAMPLES.value,
        _REPEATS.value,
        _SAMPLE_REPEATS.value,
        _WARMUP.value,
    )
    print(table)
    if _BENCHMARKS_MD.value:
        arguments = [shlex.quote(a) for a in sys.argv[1:]]
        command = " ".join([".venv/bin/python bench/serving.py"] + arguments)
        load = os.getloadavg()[0]
        body = "\n\n".join(
            [
                textwrap.fill(
                    f"`{command}` ({datetime.date.today().isoformat()}; {os.cpu_count()} CPU "
                    f"cores, no GPU, TensorFlow {tf.__version__}; one-minute load average "
                    f"{load:.1f} at the end of the run):",
                    width=76,
                    break_on_hyphens=False,
                ),
                "\n".join(
                    line if line.startswith("|") else textwrap.fill(line, width=76)
                    for line in table.splitlines()
                ),
                textwrap.fill(
                    "`log_prob`: the eager Keras model (`head.log_prob(model(images), "
                    "images)`), a `tf.function` of the same, and the `log_prob` signature of "
                    "the SavedModel loaded with `tf.saved_model.load`; `sample`: "
                    "`sampling.sample(model, n, seed)` in process, eagerly (its row loop "
                    "compiled by XLA) and inside a `tf.function` (a plain graph), against "
                    "the `sample` signature of the default export (a plain graph) and of "
                    "an export with `sampling_jit_compile=True` (the row loop compiled by "
                    "XLA, as in the eager library). Each run copies its outputs to host "
                    "memory. Eager Keras dispatches every op from Python, so the "
                    "SavedModel, one graph function, is well under 1.1x of eager for "
                    "`log_prob`; the like-for-like comparisons are with the `tf.function` "
                    "(the same graph) and, for the compiled sampler, with the eager "
                    "library.",
                    width=76,
                    break_on_hyphens=False,
                ),
            ]
        )
        write_section(_BENCHMARKS_MD.value, body)


if __name__ == "__main__":
    app.run(main)
