r"""Compresses PNG images losslessly with a model's likelihood (`prt.compression`).

  pixel-rnn-compress --pretrained=mnist_diagonal_bilstm_7x16 --input=digits/ \
      --output=digits.prtc
  pixel-rnn-decompress --pretrained=mnist_diagonal_bilstm_7x16 --input=digits.prtc \
      --output=digits_again/

`--input` is a PNG file or a folder of them, of the model's shape, each
value one of the model's levels as 8-bit (`image_files`: 0 and 255 for a
binary model); the file keeps their names, and `pixel-rnn-decompress`
writes the same names with identical pixels. A conditional model takes
`--condition`, a `.npy` file of one condition per image (in name order).
"""

import json
import os

from absl import app
from absl import flags
import numpy as np

from pixel_rnn_tf import compression
from pixel_rnn_tf import files
from pixel_rnn_tf import image_files
from pixel_rnn_tf.cli import common

_MODEL = flags.DEFINE_string("model", None, common.MODEL_HELP)
_PRETRAINED = flags.DEFINE_string("pretrained", None, common.PRETRAINED_HELP)
_INPUT = flags.DEFINE_string("input", None, "A PNG file or a folder of PNG files.", required=True)
_OUTPUT = flags.DEFINE_string("output", None, "The compressed file to write.", required=True)
_CONDITION = flags.DEFINE_string(
    "condition", None, "A conditional model's condition: a .npy file, one per image."
)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 500, "Images coded together.", lower_bound=1)


def main(argv):
    common.check_no_arguments(argv)
    model = common.load_model_or_pretrained(_MODEL.value, _PRETRAINED.value)
    config = model.config
    common.writable_directory(os.path.dirname(os.path.abspath(_OUTPUT.value)), "--output")
    with common.usage_errors():
        paths = image_files.list_pngs(_INPUT.value)
        images = np.stack(
            [image_files.read_png(p, config.image_shape, config.num_levels) for p in paths]
        )
    names = [os.path.basename(p) for p in paths]
    condition = common.load_condition_file(_CONDITION.value)
    with common.usage_errors():
        data = compression.compress(
            model, images, condition=condition, batch_size=_BATCH_SIZE.value,
            metadata=json.dumps({"names": names}).encode(),
        )

    def write(path):
        with open(path, "wb") as file:
            file.write(data)

    files.atomic_write(_OUTPUT.value, write)
    bits_per_dim = 8 * len(data) / images.size
    print(f"{len(names)} images, {len(data)} bytes, {bits_per_dim:.4f} bits/dim: {_OUTPUT.value}")


def run():
    """The console script `pixel-rnn-compress` (setup.cfg)."""
    app.run(main)


if __name__ == "__main__":
    run()
