r"""Exports a trained PixelRNN as a versioned SavedModel for TF Serving.

  pixel-rnn-export --model=runs/demo --export_base=runs/demo/export

(or `python -m pixel_rnn_tf.cli.export`, or `python
export/export_saved_model.py`, the same command at its older path).

`--model` is a `.keras` file or a training output directory holding
`model.keras`. The SavedModel is written whole to
`<export_base>/<version>/` (by default the next integer version) and its
path printed. Its signatures (`serving_default`/`log_prob`, `sample`,
`complete`) are described in `pixel_rnn_tf/serving/signatures.py` and
`export/README.md`.
"""

import sys

from absl import app
from absl import flags

from pixel_rnn_tf import files
from pixel_rnn_tf import serving
from pixel_rnn_tf.cli import common

_MODEL = flags.DEFINE_string(
    "model", None, "A saved .keras model, or a training output directory holding model.keras."
)
_EXPORT_BASE = flags.DEFINE_string(
    "export_base", None, "The model's base path: versions are written to <export_base>/<version>/."
)
_VERSION = flags.DEFINE_integer(
    "version", None, "The version to write; default: one more than the highest.", lower_bound=0
)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing version.")
_MAX_SAMPLES = flags.DEFINE_integer(
    "max_samples",
    serving.DEFAULT_MAX_SAMPLES,
    "The most images one `sample` or `complete` request may draw.",
    lower_bound=1,
)

_SAMPLING_JIT_COMPILE = flags.DEFINE_bool(
    "sampling_jit_compile",
    False,
    "Compile the sampler's row loop with XLA in `sample` and `complete` (several times "
    "faster; a CPU TF Serving then needs --xla_cpu_compilation_enabled=true).",
)

flags.mark_flags_as_required(["model", "export_base"])


def main(argv):
    common.check_no_arguments(argv)
    try:
        # Before loading the model: a bad --export_base fails at once.
        files.ensure_writable_directory(_EXPORT_BASE.value, "--export_base")
        model = serving.load_keras_model(_MODEL.value)
        path = serving.export_versioned(
            model,
            _EXPORT_BASE.value,
            version=_VERSION.value,
            overwrite=_OVERWRITE.value,
            max_samples=_MAX_SAMPLES.value,
            sampling_jit_compile=_SAMPLING_JIT_COMPILE.value,
        )
    # Missing, unreadable or taken paths; a model with non-finite weights.
    except (OSError, ValueError, FloatingPointError) as error:
        sys.exit(f"export: {error}")  # Exit status 1, the message on stderr.
    print(path)


def run():
    """The console script `pixel-rnn-export` (setup.cfg)."""
    app.run(main)


if __name__ == "__main__":
    run()
