r"""Evaluates a saved model on a data set and prints a markdown table (the main job).

  python -m pixel_rnn_tf.evaluate --model=runs/demo/model.keras \
      --dataset=digits --split=test

prints the NLL in nats per image, bits per dimension and the dequantized
equivalents on `[0, 1]^D` (§5.1; see `pixel_rnn_tf.evaluation`). The images
are loaded as `train` loads them (`data.load` with the model's
`num_levels`), so the numbers are comparable with its `results.json`.

Flags live only here; the library function is `pixel_rnn_tf.evaluate`
(`evaluation.evaluate`). Run this module with `python -m`; importing it
would replace the function `pixel_rnn_tf.evaluate` by this module, as
Python binds a submodule to its package's attribute of the same name.
"""

import os

from absl import app
from absl import flags
import keras

from pixel_rnn_tf import data
from pixel_rnn_tf import evaluation
from pixel_rnn_tf import models  # noqa: F401  (registers PixelModel for loading)

_MODEL = flags.DEFINE_string("model", None, "Path of a saved model (.keras).", required=True)
_DATASET = flags.DEFINE_string("dataset", "digits", f"Data set, one of {data.names()}.")
_SPLIT = flags.DEFINE_string("split", "test", "Split, tfds syntax: 'test', 'test[:1000]'.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (mnist_idx, tfds).")
_BATCH_SIZE = flags.DEFINE_integer(
    "batch_size", evaluation.DEFAULT_BATCH_SIZE, "Images per forward pass.", lower_bound=1
)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if _DATASET.value not in data.names():
        raise app.UsageError(
            f"Unknown --dataset={_DATASET.value!r}. Expected one of {data.names()}."
        )
    if not os.path.exists(_MODEL.value):
        raise app.UsageError(f"No model file at --model={_MODEL.value!r}.")
    model = keras.saving.load_model(_MODEL.value)
    config = model.config
    if model.conditional:
        raise app.UsageError(
            f"The model is class-conditional (num_classes={config.num_classes}) but "
            f"--dataset={_DATASET.value!r} provides images without labels; evaluate it "
            "with pixel_rnn_tf.evaluate(model, images, labels=...)."
        )
    if data.image_shape(_DATASET.value) != config.image_shape:
        raise app.UsageError(
            f"--dataset={_DATASET.value!r} has images of shape "
            f"{data.image_shape(_DATASET.value)} but the model expects "
            f"image_shape={config.image_shape}."
        )
    images = data.load(
        _DATASET.value,
        _SPLIT.value,
        num_levels=config.num_levels,
        data_dir=_DATA_DIR.value,
        as_numpy=True,
    )
    results = evaluation.evaluate(model, images, batch_size=_BATCH_SIZE.value)
    print(
        f"{config.arch} {config.num_layers}x{config.hidden_units}, "
        f"{config.num_levels} levels, from {_MODEL.value}"
    )
    print(evaluation.markdown_table([(f"{_DATASET.value} {_SPLIT.value}", results)], "data"))


if __name__ == "__main__":
    app.run(main)
