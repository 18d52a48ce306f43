r"""Writes samples and completions of a saved model to PNG files.

  python -m pixel_rnn_tf.sample --model=runs/demo/model.keras \
      --dataset=digits --split=test --num_samples=16 --output_dir=runs/demo/pictures

`samples.png` holds `--num_samples` samples; `completions.png` pairs the
first `--num_samples` images of `--dataset` with completions of their
occluded lower halves.
"""

from absl import app
from absl import flags
import keras
import numpy as np

import pixel_rnn_tf  # noqa: F401 - registers the layers for loading.
from pixel_rnn_tf import data
from pixel_rnn_tf import visualize

_MODEL = flags.DEFINE_string("model", None, "A saved .keras model.", required=True)
_DATASET = flags.DEFINE_enum("dataset", "digits", data.names(), "Images to complete.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (mnist_idx, tfds).")
_SPLIT = flags.DEFINE_string("split", "test", "Split of the images to complete.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 16, "Samples and completions.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "samples", "Where the PNG files go.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    model = keras.saving.load_model(_MODEL.value)
    config = model.config
    images = data.load(
        _DATASET.value, _SPLIT.value, num_levels=config.num_levels, data_dir=_DATA_DIR.value,
        as_numpy=True,
    )[: _NUM_SAMPLES.value]
    if tuple(images.shape[1:]) != config.image_shape:
        raise app.UsageError(
            f"--dataset={_DATASET.value} has images of shape {tuple(images.shape[1:])}; the "
            f"model expects {config.image_shape}."
        )
    labels = None
    if config.num_classes:
        labels = np.arange(len(images)) % config.num_classes
    paths = visualize.write_samples_and_completions(
        model, images, _OUTPUT_DIR.value, seed=_SEED.value, labels=labels
    )
    for path in paths.values():
        print(path)


if __name__ == "__main__":
    app.run(main)
