"""PNG grids of integer images: samples, completions, data."""

import math
import os

import numpy as np
from PIL import Image

from pixel_rnn_tf import sampling
from pixel_rnn_tf.files import atomic_write
from pixel_rnn_tf.validation import check_int

MIN_TILE_PIXELS = 64  # By default, small images are upscaled to at least this size.
BACKGROUND = 128  # Mid-grey padding, distinct from both binary levels.


def make_grid(images, *, num_levels=None, num_cols=None, scale=None, padding=1):
    """Tiles integer images into one uint8 picture.

    Levels are mapped linearly onto `0 .. 255` (`value * 255 // (num_levels -
    1)`), each image is upscaled by repeating its pixels `scale` times in
    both directions (nearest neighbour, so pixels stay sharp), and the tiles
    are laid out row by row, `padding` mid-grey pixels apart and around.

    Args:
      images: integer `[num_images, height, width, channels]` (NumPy array or
        tensor), `channels` in {1, 3}, values in `[0, num_levels)`.
      num_levels: int >= 2, the values per channel; default 2 if the largest
        value is <= 1 (binary images), else 256.
      num_cols: int >= 1, tiles per row; default `ceil(sqrt(num_images))`.
      scale: int >= 1, the upscaling factor; default the smallest one that
        makes a tile at least `MIN_TILE_PIXELS` pixels high or wide.
      padding: int >= 0, pixels between and around the tiles.

    Returns:
      uint8 NumPy array `[grid_height, grid_width, channels]`, where
      `grid_height = num_rows * (height * scale + padding) + padding` with
      `num_rows = ceil(num_images / num_cols)`, and likewise for the width.

    Raises:
      ValueError: if `images` is not integer, not of rank 4, has no images or
        pixels, has other than 1 or 3 channels or values outside
        `[0, num_levels)`, or an option is out of range.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or 0 in images.shape:
        raise ValueError(
            "Expected `images` of shape [num_images, height, width, channels] with "
            f"non-zero sizes and C in (1, 3). Received: images.shape={images.shape}"
        )
    if images.dtype == bool:
        images = images.astype(np.uint8)
    if not np.issubdtype(images.dtype, np.integer):
        raise ValueError(
            f"Expected `images` to have an integer dtype. Received: images.dtype={images.dtype}"
        )
    if num_levels is None:
        num_levels = 2 if images.max() <= 1 else 256
    check_int("num_levels", num_levels, 2)
    low, high = images.min(), images.max()
    if low < 0 or high >= num_levels:
        raise ValueError(
            f"Expected `images` values in [0, {num_levels}) (num_levels={num_levels}). "
            f"Received: values in [{low}, {high}]"
        )
    count, height, width, channels = images.shape
    if num_cols is None:
        num_cols = math.ceil(math.sqrt(count))
    check_int("num_cols", num_cols, 1)
    if scale is None:
        scale = max(1, math.ceil(MIN_TILE_PIXELS / max(height, width)))
    check_int("scale", scale, 1)
    check_int("padding", padding, 0)
    num_rows = math.ceil(count / num_cols)

    # Wide ints: `value * 255` overflows uint8 (and int8) images.
    tiles = (images.astype(np.int64) * 255 // (num_levels - 1)).astype(np.uint8)
    tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)  # [N, sH, sW, C]
    # Blank tiles fill the last row; each tile gets its padding on top and left.
    tiles = np.pad(
        tiles,
        [[0, num_rows * num_cols - count], [padding, 0], [padding, 0], [0, 0]],
        constant_values=BACKGROUND,
    )  # [R * K, sH + p, sW + p, C], K = num_cols
    tile_h, tile_w = tiles.shape[1:3]
    grid = tiles.reshape(num_rows, num_cols, tile_h, tile_w, channels)  # [R, K, sH + p, sW + p, C]
    grid = grid.transpose(0, 2, 1, 3, 4)  # [R, sH + p, K, sW + p, C]
    grid = grid.reshape(num_rows * tile_h, num_cols * tile_w, channels)
    # The padding below and right of the last row and column.
    return np.pad(
        grid, [[0, padding], [0, padding], [0, 0]], constant_values=BACKGROUND
    )  # [R * (sH + p) + p, K * (sW + p) + p, C]


def save_grid(images, path, *, num_levels=None, num_cols=None, scale=None, padding=1):
    """Writes `make_grid(images, ...)` to the PNG file `path`, whole or not at all.

    Greyscale (mode `L`) for one channel, RGB for three. Missing parent
    directories are created. The picture is written to a temporary file in
    the same directory and renamed onto `path`, so a crash never leaves a
    partly written PNG (a reader sees the old file or the new one).

    Args:
      images: integer `[num_images, height, width, channels]`, channels in
        {1, 3}, values in `[0, num_levels)`.
      path: str or path-like, the PNG file to write.
      num_levels: see `make_grid`.
      num_cols: see `make_grid`.
      scale: see `make_grid`.
      padding: see `make_grid`.

    Returns:
      `path`, as a str.

    Raises:
      ValueError: as `make_grid`.
    """
    grid = make_grid(
        images, num_levels=num_levels, num_cols=num_cols, scale=scale, padding=padding
    )  # [grid_height, grid_width, C]
    # Pillow reads a 2-D uint8 array as mode L and [h, w, 3] as RGB.
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    return atomic_write(os.fspath(path), lambda temporary: picture.save(temporary, format="PNG"))


def write_samples_and_completions(model, images, output_dir, seed=0, condition=None):
    """Writes `samples.png` and `completions.png` of `model` into `output_dir`.

    `samples.png` holds `len(images)` samples; `completions.png` pairs each
    of `images` `[N, H, W, C]` with a completion of its occluded lower half
    (the paper's Figure 1 and 6), drawn by the one sampler. A conditional
    model takes `condition`, one per image (`conditioning`), for both.

    Returns:
      dict with `samples_path` and `completions_path`.
    """
    height = model.config.image_shape[0]
    samples = sampling.sample(model, len(images), seed=(seed, 1), condition=condition)
    known = np.zeros(model.config.image_shape, bool)
    known[: height // 2] = True  # The upper half, a prefix in raster order.
    completions = sampling.complete(model, images, known, seed=(seed, 2), condition=condition)
    num_levels = model.config.num_levels
    # Each row of the completion grid alternates originals and completions.
    interleaved = np.stack([images, completions.numpy()], axis=1)
    interleaved = interleaved.reshape((-1,) + images.shape[1:])  # [2N, H, W, C]
    return {
        "samples_path": save_grid(
            samples.numpy(), os.path.join(output_dir, "samples.png"), num_levels=num_levels
        ),
        "completions_path": save_grid(
            interleaved,
            os.path.join(output_dir, "completions.png"),
            num_levels=num_levels,
            num_cols=2 * int(math.ceil(math.sqrt(len(images)))),  # Pairs stay in a row.
        ),
    }
