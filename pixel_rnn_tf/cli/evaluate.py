r"""Evaluates a saved model on a data set and prints a markdown table (the main job).

  python -m pixel_rnn_tf.cli.evaluate --model=runs/demo/model.keras \
      --dataset=digits --split=test
  pixel-rnn-evaluate --pretrained=mnist_diagonal_bilstm_7x16 \
      --dataset=binarized_mnist --data_dir=../shared/data/binarized_mnist

prints the NLL in nats per image, bits per dimension and the dequantized
equivalents on `[0, 1]^D` (§5.1; see `pixel_rnn_tf.evaluation`). The images
are loaded as `pixel-rnn-train` loads them (`data.load` with the model's
`num_levels`), so the numbers are comparable with its `results.json`.

A label-conditioned model is evaluated on the data set's own labels
(`data.load_labels`); a vector- or map-conditioned one on `--condition`, a
`.npy` file with one condition per image of the split (which also replaces
the data set's labels for a label-conditioned model).

Flags live only here; the library function is `pixel_rnn_tf.evaluate`
(`evaluation.evaluate`), which importing this command leaves alone.
"""

import sys

from absl import app
from absl import flags

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import data
from pixel_rnn_tf import evaluation
from pixel_rnn_tf.cli import common

_MODEL = flags.DEFINE_string("model", None, common.MODEL_HELP)
_PRETRAINED = flags.DEFINE_string("pretrained", None, common.PRETRAINED_HELP)
_DATASET = flags.DEFINE_string("dataset", "digits", f"Data set, one of {data.names()}.")
_SPLIT = flags.DEFINE_string("split", "test", "Split, tfds syntax: 'test', 'test[:1000]'.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, common.DATA_DIR_HELP)
_DOWNLOAD = flags.DEFINE_bool("download", False, common.DOWNLOAD_HELP)
_BATCH_SIZE = flags.DEFINE_integer(
    "batch_size", evaluation.DEFAULT_BATCH_SIZE, "Images per forward pass.", lower_bound=1
)
_CONDITION = flags.DEFINE_string(
    "condition", None,
    "A conditional model's condition: a .npy file with one per image of the split (int "
    "labels [N], float vectors [N, D] or maps [N, h, w, c]). A label-conditioned model "
    "defaults to the data set's labels.",
)


def _condition(config, num_images):
    """The condition of the split's images (see the module doc), or `None`."""
    if not common.refuse_condition(config, _CONDITION.value):
        return None
    if _CONDITION.value:
        return common.load_condition_file(_CONDITION.value)
    if conditioning.kind(config) == "labels" and data.num_classes(_DATASET.value, _DATA_DIR.value) is not None:
        return data.load_labels(
            _DATASET.value, _SPLIT.value, data_dir=_DATA_DIR.value, download=_DOWNLOAD.value
        )
    raise app.UsageError(
        f"The model is conditioned on {conditioning.describe(config)}, and "
        f"--dataset={_DATASET.value!r} provides none: pass --condition=PATH.npy with one "
        f"condition per image ({num_images} images)."
    )


def _describe(config):
    """The model in words: its architecture and size, whatever its config."""
    size = ""
    if hasattr(config, "num_layers") and hasattr(config, "hidden_units"):
        size = f" {config.num_layers}x{config.hidden_units}"
    return f"{config.arch}{size}, {config.num_levels} levels"


def main(argv):
    common.check_no_arguments(argv)
    if _DATASET.value not in data.names():
        raise app.UsageError(
            f"Unknown --dataset={_DATASET.value!r}. Expected one of {data.names()}."
        )
    model = common.load_model_or_pretrained(_MODEL.value, _PRETRAINED.value)
    config = model.config
    common.check_image_shape(_DATASET.value, data.image_shape(_DATASET.value), config)
    images = common.load_images(
        _DATASET.value, _SPLIT.value, config.num_levels, _DATA_DIR.value, _DOWNLOAD.value,
        config.image_shape,
    )
    with common.usage_errors(data.NotPreparedError):  # The labels: says which flag fetches them.
        condition = _condition(config, len(images))
    try:
        results = evaluation.evaluate(
            model, images, batch_size=_BATCH_SIZE.value, condition=condition
        )
    except FloatingPointError as error:  # Non-finite weights or NLL: never a "nan" table.
        sys.exit(f"evaluate: {error}")  # Exit status 1, one line on stderr.
    except ValueError as error:
        if condition is None or "`condition`" not in str(error):
            raise
        source = (
            f"--condition={_CONDITION.value!r}" if _CONDITION.value else "the data set's labels"
        )
        raise app.UsageError(f"The condition ({source}) does not fit the model: {error}") from None
    print(f"{_describe(config)}, from {_MODEL.value or _PRETRAINED.value}")
    print(evaluation.markdown_table([(f"{_DATASET.value} {_SPLIT.value}", results)], "data"))


def run():
    """The console script `pixel-rnn-evaluate` (setup.cfg)."""
    app.run(main)


if __name__ == "__main__":
    run()
