r"""Decompresses a `pixel-rnn-compress` file back into its PNG files, pixel for pixel.

  pixel-rnn-decompress --pretrained=mnist_diagonal_bilstm_7x16 --input=digits.prtc \
      --output=digits_again/

The model (and `--condition`) must be the ones that compressed the file:
another model, or a damaged or truncated file, is refused; no image is
ever written wrong.
"""

import json
import os
import sys

from absl import app
from absl import flags

from pixel_rnn_tf import compression
from pixel_rnn_tf import image_files
from pixel_rnn_tf.cli import common

_INPUT = flags.DEFINE_string("input", None, "A file of pixel-rnn-compress.", required=True)
_OUTPUT = flags.DEFINE_string("output", None, "The folder of the PNG files.", required=True)
_MODEL = flags.DEFINE_string("model", None, "The .keras model that compressed it; or --pretrained.")
_PRETRAINED = flags.DEFINE_string("pretrained", None, common.PRETRAINED_HELP)
_CONDITION = flags.DEFINE_string(
    "condition", None, "The condition it was compressed with: a .npy file, one per image."
)


def main(argv):
    common.check_no_arguments(argv)
    model = common.load_model_or_pretrained(_MODEL.value, _PRETRAINED.value)
    common.writable_directory(_OUTPUT.value, "--output")
    with common.usage_errors(OSError, prefix=f"--input: could not read {_INPUT.value!r}: "):
        with open(_INPUT.value, "rb") as file:
            data = file.read()
    condition = common.load_condition_file(_CONDITION.value)
    try:
        names = json.loads(compression.read_header(data)["metadata"] or b"{}").get("names")
        images = compression.decompress(model, data, condition=condition)
    except ValueError as error:
        sys.exit(f"decompress: {_INPUT.value}: {error}")
    names = names or [f"{k:05d}.png" for k in range(len(images))]
    for name, image in zip(names, images):
        print(image_files.write_png(os.path.join(_OUTPUT.value, name), image, model.config.num_levels))


def run():
    """The console script `pixel-rnn-decompress` (setup.cfg)."""
    app.run(main)


if __name__ == "__main__":
    run()
