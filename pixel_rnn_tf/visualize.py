"""PNG grids of integer images."""

import math
import os

import numpy as np
from PIL import Image

from pixel_rnn_tf import sampling
from pixel_rnn_tf.callbacks import atomic_write

MIN_TILE_PIXELS = 64  # Small images are upscaled to at least this size.


def make_grid(images, *, num_levels=None, num_cols=None, scale=None, padding=1):
    """Tiles integer images into one uint8 picture.

    Args:
      images: int `[N, H, W, C]`, C in {1, 3}, values in `[0, num_levels)`.
      num_levels: values per channel; default 2 if the maximum is <= 1, else 256.
      num_cols: tiles per row; default `ceil(sqrt(N))`.
      scale: nearest-neighbour upscaling; default so a tile is >= 64 px.
      padding: pixels between tiles.

    Returns:
      uint8 `[grid_height, grid_width, C]`.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise ValueError(
            "Expected `images` of shape [N, H, W, C] with N >= 1 and C in (1, 3). "
            f"Received: images.shape={images.shape}"
        )
    if num_levels is None:
        num_levels = 2 if images.max() <= 1 else 256
    if images.min() < 0 or images.max() >= num_levels:
        raise ValueError(
            f"Expected `images` values in [0, {num_levels}). "
            f"Received: values in [{images.min()}, {images.max()}]"
        )
    count, height, width, channels = images.shape
    num_cols = num_cols or int(math.ceil(math.sqrt(count)))
    num_rows = int(math.ceil(count / num_cols))
    scale = scale or max(1, int(math.ceil(MIN_TILE_PIXELS / max(height, width))))
    tiles = (images.astype(np.int64) * 255 // (num_levels - 1)).astype(np.uint8)
    tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)  # [N, sH, sW, C]
    tile_h, tile_w = height * scale, width * scale
    grid = np.full(
        (num_rows * (tile_h + padding) + padding, num_cols * (tile_w + padding) + padding, channels),
        128,
        np.uint8,
    )
    for index, tile in enumerate(tiles):
        row, col = divmod(index, num_cols)
        top, left = padding + row * (tile_h + padding), padding + col * (tile_w + padding)
        grid[top : top + tile_h, left : left + tile_w] = tile
    return grid


def save_grid(images, path, **kwargs):
    """Writes `make_grid(images, **kwargs)` to the PNG file `path`, whole or not at all.

    Returns:
      `path`.
    """
    grid = make_grid(images, **kwargs)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    return atomic_write(os.fspath(path), lambda temporary: picture.save(temporary, format="PNG"))


def write_samples_and_completions(model, images, output_dir, seed=0, labels=None):
    """Writes `samples.png` and `completions.png` of `model` into `output_dir`.

    `samples.png` holds `len(images)` samples; `completions.png` pairs each
    of `images` `[N, H, W, C]` with a completion of its occluded lower half
    (the paper's Figure 1 and 6), drawn by the one sampler.

    Returns:
      dict with `samples_path` and `completions_path`.
    """
    height = model.config.image_shape[0]
    samples = sampling.sample(model, len(images), seed=(seed, 1), labels=labels)
    known = np.zeros(model.config.image_shape, bool)
    known[: height // 2] = True  # The upper half, a prefix in raster order.
    completions = sampling.complete(model, images, known, seed=(seed, 2), labels=labels)
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
