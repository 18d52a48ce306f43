r"""Writes samples and completions of a saved model to PNG files.

  python -m pixel_rnn_tf.cli.sample --model=runs/demo/model.keras \
      --dataset=digits --split=test --num_samples=16 --output_dir=runs/demo/pictures
  pixel-rnn-sample --pretrained=mnist_diagonal_bilstm_7x16 --dataset=binarized_mnist \
      --data_dir=../shared/data/binarized_mnist --output_dir=samples

`samples.png` holds `--num_samples` samples; `completions.png` pairs the
first `--num_samples` images of `--dataset` with completions of their
occluded lower halves.

A conditional model takes `--condition`, one per sample (and completion):
comma-separated int labels for a label-conditioned model (without it the
labels cycle over the classes), or a `.npy` file of float vectors
`[num_samples, D]` or maps `[num_samples, h, w, c]` (or int labels).
"""


from absl import app
from absl import flags
import numpy as np

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import data
from pixel_rnn_tf import evaluation
from pixel_rnn_tf import visualize
from pixel_rnn_tf.cli import common

_MODEL = flags.DEFINE_string("model", None, common.MODEL_HELP)
_PRETRAINED = flags.DEFINE_string("pretrained", None, common.PRETRAINED_HELP)
_DATASET = flags.DEFINE_enum("dataset", "digits", data.names(), "Images to complete.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, common.DATA_DIR_HELP)
_DOWNLOAD = flags.DEFINE_bool("download", False, common.DOWNLOAD_HELP)
_SPLIT = flags.DEFINE_string("split", "test", "Split of the images to complete.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 16, "Samples and completions.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "samples", "Where the PNG files go.")
_CONDITION = flags.DEFINE_string(
    "condition", None,
    "A conditional model's condition, one per sample: comma-separated int labels, or a .npy "
    "file (float vectors [num_samples, D] or maps [num_samples, h, w, c], or int labels).",
)


def _condition(config, count):
    """The condition of `count` samples from `--condition` (see the module doc), or `None`."""
    value = _CONDITION.value
    if not common.refuse_condition(config, value):
        return None
    kind = conditioning.kind(config)
    if not value:
        if kind == "labels":
            return np.arange(count, dtype=np.int32) % config.num_classes
        raise app.UsageError(
            f"The model is conditioned on {conditioning.describe(config)}: pass "
            f"--condition=PATH.npy with one condition per sample ({count})."
        )
    if value.endswith(".npy"):
        return common.load_condition_file(value)
    if kind != "labels":
        raise app.UsageError(
            f"The model is conditioned on {conditioning.describe(config)}: --condition must be "
            f"a .npy file. Received: --condition={value!r}"
        )
    try:
        return np.array([int(label) for label in value.split(",")], np.int32)
    except ValueError:
        raise app.UsageError(
            f"Expected --condition to be comma-separated int labels, one per sample ({count}). "
            f"Received: --condition={value!r}"
        ) from None


def main(argv):
    common.check_no_arguments(argv)
    # Before the model, the data and the sampling: a bad folder fails at once.
    common.writable_directory(_OUTPUT_DIR.value, "--output_dir")
    model = common.load_model_or_pretrained(_MODEL.value, _PRETRAINED.value)
    with common.usage_errors(FloatingPointError):
        evaluation.check_finite_weights(model)
    config = model.config
    images = common.load_images(
        _DATASET.value, _SPLIT.value, config.num_levels, _DATA_DIR.value, _DOWNLOAD.value,
        data.image_shape(_DATASET.value) or config.image_shape,
    )
    if len(images) < _NUM_SAMPLES.value:  # Never silently fewer than asked.
        raise app.UsageError(
            f"--split={_SPLIT.value!r} of --dataset={_DATASET.value} holds {len(images)} "
            f"images, fewer than --num_samples={_NUM_SAMPLES.value} to complete. Pass "
            f"--num_samples={len(images)} or a larger split."
        )
    images = images[: _NUM_SAMPLES.value]
    common.check_image_shape(_DATASET.value, images.shape[1:], config)
    condition = _condition(config, len(images))
    if condition is not None:
        with common.usage_errors(prefix=f"Bad --condition={_CONDITION.value!r}: "):
            condition = conditioning.check(config, condition, batch_size=len(images))
    paths = visualize.write_samples_and_completions(
        model, images, _OUTPUT_DIR.value, seed=_SEED.value, condition=condition
    )
    for path in paths.values():
        print(path)


def run():
    """The console script `pixel-rnn-sample` (setup.cfg)."""
    app.run(main)


if __name__ == "__main__":
    run()
