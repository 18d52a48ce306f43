"""PNG grids of integer images."""

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from pixel_rnn_tf import visualize


def test_grid_shape_and_tile_placement():
    images = np.arange(5, dtype=np.int32).reshape(5, 1, 1, 1) * np.ones((1, 2, 3, 1), np.int32)
    grid = visualize.make_grid(images, num_levels=5, scale=2, padding=1)
    # ceil(sqrt(5)) = 3 columns, 2 rows of 4 x 6 tiles, 1 pixel around each.
    assert grid.shape == (2 * (4 + 1) + 1, 3 * (6 + 1) + 1, 1)
    assert grid.dtype == np.uint8
    for index in range(5):
        row, col = divmod(index, 3)
        top, left = 1 + row * 5, 1 + col * 7
        tile = grid[top : top + 4, left : left + 6, 0]
        assert (tile == index * 255 // 4).all()
    # Padding lines and the empty sixth slot are background.
    assert (grid[0] == visualize.BACKGROUND).all() and (grid[:, 0] == visualize.BACKGROUND).all()
    assert (grid[-1] == visualize.BACKGROUND).all() and (grid[:, -1] == visualize.BACKGROUND).all()
    assert (grid[6:10, 15:21] == visualize.BACKGROUND).all()


def test_nearest_neighbour_upscaling():
    images = np.array([[[1, 0], [0, 1]]]).reshape(1, 2, 2, 1)
    grid = visualize.make_grid(images, scale=3, padding=0)[..., 0]
    np.testing.assert_array_equal(grid, np.kron([[255, 0], [0, 255]], np.ones((3, 3))))


@pytest.mark.parametrize(
    "count,size,num_cols,expected_shape",
    [
        # Default scale: the smallest making a tile >= 64 pixels.
        (5, 8, None, (2 * 65 + 1, 3 * 65 + 1)),  # 8 x 8: scale 8, 3 columns.
        (4, 28, None, (2 * 85 + 1, 2 * 85 + 1)),  # 28 x 28: scale 3, 2 columns.
        (1, 64, None, (66, 66)),  # Large enough already: scale 1.
        (3, 8, 1, (3 * 65 + 1, 65 + 1)),  # One column.
        (2, 8, 4, (65 + 1, 4 * 65 + 1)),  # More columns than images: blank tiles.
    ],
)
def test_default_scale_and_columns(count, size, num_cols, expected_shape):
    images = np.zeros((count, size, size, 1), np.int32)
    assert visualize.make_grid(images, num_cols=num_cols).shape == expected_shape + (1,)


def test_binary_one_maps_to_255():
    images = np.zeros((1, 2, 2, 1), np.int32)
    images[0, 0, 0, 0] = 1  # Default num_levels: 2, since the maximum is 1.
    grid = visualize.make_grid(images, scale=1, padding=0)[..., 0]
    np.testing.assert_array_equal(grid, [[255, 0], [0, 0]])


def test_default_256_levels_are_identity():
    images = np.arange(256, dtype=np.int32).reshape(1, 16, 16, 1)
    grid = visualize.make_grid(images, scale=1, padding=0)
    np.testing.assert_array_equal(grid, images[0].astype(np.uint8))


def test_rgb_levels_map_to_full_range():
    images = np.stack([np.full((2, 2), v) for v in (0, 1, 3)], axis=-1)[None]  # [1, 2, 2, 3]
    grid = visualize.make_grid(images, num_levels=4, scale=1, padding=0)
    assert grid.shape == (2, 2, 3)
    np.testing.assert_array_equal(grid[0, 0], [0, 85, 255])


def test_accepts_tensors_bool_and_narrow_ints():
    images = np.random.default_rng(0).integers(0, 256, (3, 4, 4, 3))
    expected = visualize.make_grid(images)
    np.testing.assert_array_equal(visualize.make_grid(tf.constant(images, tf.int32)), expected)
    # uint8 values times 255 must not overflow.
    np.testing.assert_array_equal(visualize.make_grid(images.astype(np.uint8)), expected)
    binary = images > 127
    np.testing.assert_array_equal(
        visualize.make_grid(binary), visualize.make_grid(binary.astype(np.int32))
    )


@pytest.mark.parametrize("channels,mode", [(1, "L"), (3, "RGB")])
def test_save_grid_writes_png(tmp_path, channels, mode):
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, channels))
    path = visualize.save_grid(images, tmp_path / "a" / "b" / "grid.png", num_levels=256)
    assert path == str(tmp_path / "a" / "b" / "grid.png")  # Parent directories created.
    expected = visualize.make_grid(images, num_levels=256)
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.mode == mode
        assert picture.size == (expected.shape[1], expected.shape[0])  # (width, height)
        assert picture.size == (2 * 65 + 1, 2 * 65 + 1)  # 8 x 8 upscaled to 64 x 64.
        pixels = np.asarray(picture)
    np.testing.assert_array_equal(pixels, expected[..., 0] if channels == 1 else expected)
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["grid.png"]


def test_save_grid_replaces_atomically(tmp_path, monkeypatch):
    path = tmp_path / "grid.png"
    visualize.save_grid(np.zeros((1, 8, 8, 1), np.int32), path)
    before = path.read_bytes()

    def crash(picture, temporary, **kwargs):
        with open(temporary, "wb") as f:
            f.write(b"\x89PNG half")  # Part of a file, then the writer dies.
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        visualize.save_grid(np.ones((1, 8, 8, 1), np.int32), path)
    assert path.read_bytes() == before  # The old file, whole.
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]  # No temporary file left.


@pytest.mark.parametrize(
    "images,kwargs,message",
    [
        (np.zeros((8, 8, 1), np.int32), {}, r"`images`.*images.shape=\(8, 8, 1\)"),
        (np.zeros((1, 8, 8, 2), np.int32), {}, r"C in \(1, 3\).*images.shape=\(1, 8, 8, 2\)"),
        (np.zeros((0, 8, 8, 1), np.int32), {}, r"images.shape=\(0, 8, 8, 1\)"),
        (np.zeros((1, 8, 8, 1), np.float32), {}, r"integer dtype.*images.dtype=float32"),
        (np.full((1, 2, 2, 1), 5), {"num_levels": 2}, r"values in \[0, 2\).*\[5, 5\]"),
        (np.full((1, 2, 2, 1), -1), {}, r"values in \[0, 2\).*\[-1, -1\]"),
        (np.full((1, 2, 2, 1), 300), {}, r"values in \[0, 256\).*\[300, 300\]"),
        (np.zeros((1, 2, 2, 1), np.int32), {"num_levels": 1}, r"`num_levels`.*num_levels=1"),
        (np.zeros((1, 2, 2, 1), np.int32), {"num_cols": 0}, r"`num_cols`.*num_cols=0"),
        (np.zeros((1, 2, 2, 1), np.int32), {"scale": 1.5}, r"`scale`.*scale=1.5"),
        (np.zeros((1, 2, 2, 1), np.int32), {"padding": -1}, r"`padding`.*padding=-1"),
    ],
)
def test_bad_inputs(tmp_path, images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        visualize.make_grid(images, **kwargs)
    with pytest.raises(ValueError, match=message):
        visualize.save_grid(images, tmp_path / "grid.png", **kwargs)
    assert not any(tmp_path.iterdir())  # Nothing written.
