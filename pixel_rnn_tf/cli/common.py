"""What several commands share: flag help, and flag values turned into objects or usage errors.

Each function takes a flag's value and gives what the command needs, or
raises `absl.app.UsageError` naming the flag (absl prints it after the
command's usage, with exit status 1), so a command never shows a
traceback for a bad flag.
"""

import contextlib

from absl import app
import numpy as np

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import data
from pixel_rnn_tf import files
from pixel_rnn_tf import serving
from pixel_rnn_tf import validation

DATA_DIR_HELP = "Data directory (mnist_idx, tfds), or a folder of PNG/JPEG images (folder)."
DOWNLOAD_HELP = "Download a tfds --dataset missing from --data_dir (needs network)."
MODEL_HELP = "A saved .keras model; or --pretrained."
PRETRAINED_HELP = (
    "A trained model that ships with the package (prt.pretrained.available()), "
    "instead of --model."
)


def check_no_arguments(argv):
    """Refuses positional arguments: every command takes flags only."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")


@contextlib.contextmanager
def usage_errors(*errors, prefix=""):
    """Turns `errors` (default ValueError) raised inside into a usage error, `prefix` first."""
    try:
        yield
    except errors or (ValueError,) as error:
        raise app.UsageError(f"{prefix}{error}") from None


def writable_directory(path, flag):
    """Creates directory `path` and checks it can be written, before any slow work."""
    with usage_errors(files.UnusableDirectoryError):
        return files.ensure_writable_directory(path, flag)


def load_model_flag(path):
    """The model of the `--model` flag; a bad path or file is a usage error.

    `serving.load_keras_model` says what is wrong (nothing there, empty,
    truncated, corrupt).
    """
    with usage_errors(FileNotFoundError, ValueError, prefix="--model: "):
        return serving.load_keras_model(path)


def load_model_or_pretrained(path, pretrained):
    """The model of `--model` or of `--pretrained` (exactly one of them)."""
    if (path is None) == (pretrained is None):
        raise app.UsageError(
            "Expected exactly one of --model (a .keras file) and --pretrained (a shipped model). "
            f"Received: --model={path!r}, --pretrained={pretrained!r}"
        )
    if path is not None:
        return load_model_flag(path)
    from pixel_rnn_tf import pretrained as pretrained_lib  # Only for --pretrained.

    with usage_errors(prefix="--pretrained: "):
        return pretrained_lib.load(pretrained)


def load_condition_file(path):
    """The condition array of a `--condition` .npy file, or None; a bad file is a usage error."""
    if path is None:
        return None
    with usage_errors():
        return conditioning.load_file(path, "--condition")


def refuse_condition(config, value):
    """Refuses a `--condition` for a model that takes none; True when the model takes one."""
    if conditioning.kind(config) is not None:
        return True
    if value:
        raise app.UsageError(f"The model takes no condition; drop --condition={value!r}.")
    return False


def load_images(dataset, split, num_levels, data_dir, download, image_shape):
    """A split's images as int arrays; data not prepared yet is a usage error naming the flag."""
    with usage_errors(data.NotPreparedError):
        return np.asarray(data.load(
            dataset, split, num_levels=num_levels, data_dir=data_dir, as_numpy=True,
            download=download, image_shape=image_shape,
        ))


def check_image_shape(dataset, shape, config):
    """Refuses a `--dataset` whose images (`shape`; None: any) are not the model's."""
    with usage_errors(prefix=f"--dataset={dataset!r}: "):
        validation.check_dataset_image_shape(dataset, shape, config.image_shape)
