"""Integer images as PNG files, exactly: level `k` of `L` is the 8-bit value `k * 255 / (L - 1)`.

The commands that must give back the very pixels they were given
(`pixel-rnn-compress`, `pixel-rnn-decompress`) read and write PNG files
through here: a file whose values are not on that grid for the model's
`num_levels` is refused rather than quantized, since quantizing would lose
what a lossless coder promises to keep.
"""

import os

import numpy as np

PNG_SUFFIXES = (".png",)
_MODES = {1: "L", 3: "RGB"}


def _grid(num_levels):
    """The 8-bit values of the levels `[0, num_levels)`: int `[num_levels]`."""
    return np.round(np.arange(num_levels) * 255 / (num_levels - 1)).astype(np.int32)


def list_pngs(path):
    """`path` if it is a PNG file, else the PNG files in folder `path`, in name order.

    Raises:
      ValueError: naming `path` when it is neither, or a folder without PNG files.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise ValueError(f"Expected a PNG file or a folder of them. Received: {path!r}, neither")
    files = sorted(
        os.path.join(path, name) for name in os.listdir(path)
        if name.lower().endswith(PNG_SUFFIXES) and os.path.isfile(os.path.join(path, name))
    )
    if not files:
        raise ValueError(f"Expected PNG files in the folder {path!r}. Received: none")
    return files


def read_png(path, image_shape, num_levels):
    """The integer image `[height, width, channels]` in `[0, num_levels)` of a PNG file.

    Raises:
      ValueError: naming the file when it cannot be read as a PNG, has
        another shape, or holds values off the levels' grid.
    """
    from PIL import Image  # Imported here: only the file commands need it.

    height, width, channels = image_shape
    try:
        with Image.open(path) as file:
            pixels = np.asarray(file.convert(_MODES[channels]), np.int32)
    except (OSError, ValueError, SyntaxError) as error:
        raise ValueError(f"Could not read the PNG file {path}: {error}") from None
    pixels = pixels.reshape(pixels.shape[:2] + (channels,))
    if pixels.shape != (height, width, channels):
        raise ValueError(
            f"Expected {height}x{width} images with {channels} channel(s) for the model. "
            f"Received: {path} of {pixels.shape[0]}x{pixels.shape[1]}"
        )
    grid = _grid(num_levels)
    levels = np.searchsorted(grid, pixels)
    levels = np.minimum(levels, num_levels - 1)
    if not np.array_equal(grid[levels], pixels):
        raise ValueError(
            f"Expected the 8-bit values of {num_levels} levels ({grid[:4].tolist()}...) in "
            f"{path}, the values a model of num_levels={num_levels} codes exactly. "
            "Received: other values"
        )
    return levels.astype(np.int32)


def write_png(path, image, num_levels):
    """Writes an integer image `[height, width, channels]` as a PNG, whole or not at all."""
    from PIL import Image

    from pixel_rnn_tf import files

    image = np.asarray(image)
    pixels = _grid(num_levels)[image].astype(np.uint8)
    pixels = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
    return files.atomic_write(path, lambda temporary: Image.fromarray(pixels).save(temporary, "PNG"))
