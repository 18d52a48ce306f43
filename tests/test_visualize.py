"""PNG grids."""

import numpy as np
from PIL import Image
import pytest

from pixel_rnn_tf import visualize


def test_grid_shape_and_values():
    images = np.zeros((5, 8, 8, 1), np.int32)
    images[0, 0, 0, 0] = 1
    grid = visualize.make_grid(images, scale=2, padding=1)
    # 3 columns (ceil sqrt 5), 2 rows of 16-pixel tiles with 1-pixel padding.
    assert grid.shape == (2 * 17 + 1, 3 * 17 + 1, 1)
    assert grid[1, 1, 0] == 255 and grid[3, 3, 0] == 0


def test_rgb_levels_map_to_full_range():
    images = np.full((1, 2, 2, 3), 3, np.int32)
    grid = visualize.make_grid(images, num_levels=4, scale=1, padding=0)
    assert grid.shape == (2, 2, 3) and (grid == 255).all()


@pytest.mark.parametrize("channels,mode", [(1, "L"), (3, "RGB")])
def test_save_grid_writes_png_atomically(tmp_path, channels, mode):
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, channels))
    path = visualize.save_grid(images, tmp_path / "sub" / "grid.png", num_levels=256)
    picture = Image.open(path)
    assert picture.mode == mode
    assert picture.size[0] >= 2 * 64  # Small images are upscaled.
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["grid.png"]


@pytest.mark.parametrize(
    "images,message",
    [
        (np.zeros((8, 8, 1)), r"images.shape=\(8, 8, 1\)"),
        (np.zeros((1, 8, 8, 2)), r"C in \(1, 3\)"),
        (np.full((1, 2, 2, 1), 5), r"\[0, 2\)"),
    ],
)
def test_bad_images(images, message):
    with pytest.raises(ValueError, match=message):
        visualize.make_grid(images, num_levels=2)
