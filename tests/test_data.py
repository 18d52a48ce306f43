"""Data sets: digits, MNIST IDX files, tfds (mocked), splits, quantization."""

import gzip
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from pixel_rnn_tf import data

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


def test_digits():
    train = data.load("digits", "train", as_numpy=True)
    test = data.load("digits", "test", as_numpy=True)
    assert train.shape == (1500, 8, 8, 1) and test.shape == (297, 8, 8, 1)
    assert train.dtype == np.int32 and set(np.unique(train)) == {0, 1}
    dataset = data.load("digits", "test")
    assert dataset.element_spec == tf.TensorSpec((8, 8, 1), tf.int32)
    np.testing.assert_array_equal(np.stack(list(dataset.as_numpy_iterator())), test)
    eight_bit = data.load("digits", "train[:10]", num_levels=256, as_numpy=True)
    assert eight_bit.max() == 255 and eight_bit.shape == (10, 8, 8, 1)


def test_quantize_and_binarize():
    values = np.array([0, 63, 64, 127, 128, 255])
    np.testing.assert_array_equal(data.quantize(values, 256), values)
    np.testing.assert_array_equal(data.quantize(values, 4), [0, 0, 1, 1, 2, 3])
    np.testing.assert_array_equal(data.binarize_images(values), [0, 0, 0, 0, 1, 1])
    pixels = np.full((1000,), 100)
    a = data.binarize_images(pixels, "bernoulli", seed=1)
    np.testing.assert_array_equal(a, data.binarize_images(pixels, "bernoulli", seed=1))
    assert (a != data.binarize_images(pixels, "bernoulli", seed=2)).any()
    assert abs(a.mean() - 100 / 255) < 0.05


@pytest.mark.parametrize(
    "split,expected",
    [
        ("test", ("test", None, None, False, False)),
        ("test[:8000]", ("test", None, 8000, False, False)),
        ("test[8000:]", ("test", 8000, None, False, False)),
        ("train[10%:50%]", ("train", 10, 50, True, True)),
    ],
)
def test_parse_split(split, expected):
    assert data.parse_split(split) == expected


def _write_idx(path, images, magic=2051):
    header = np.array([magic, *images.shape], ">i4").tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + images.astype(np.uint8).tobytes())


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_idx_from_files(tmp_path, suffix):
    images = np.random.default_rng(0).integers(0, 256, (10, 28, 28))
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images)
    loaded = data.load("mnist_idx", "test[2:]", num_levels=256, data_dir=str(tmp_path), as_numpy=True)
    np.testing.assert_array_equal(loaded[..., 0], images[2:])
    half = data.load("mnist_idx", "test[:50%]", data_dir=str(tmp_path), as_numpy=True)
    np.testing.assert_array_equal(half[..., 0], images[:5] >= 128)


def test_mnist_idx_errors(tmp_path):
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28)), magic=2049)
    with pytest.raises(ValueError, match="magic 2049"):
        data.load("mnist_idx", "test", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="needs `data_dir`"):
        data.load("mnist_idx", "test")
    with pytest.raises(ValueError, match="No IDX file"):
        data.load("mnist_idx", "train", data_dir=str(tmp_path))


def test_shared_mnist():
    if not os.path.exists(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"the shared MNIST files are not at {os.path.abspath(MNIST_DIR)}")
    images = data.load("mnist_idx", "test", num_levels=256, data_dir=MNIST_DIR, as_numpy=True)
    assert images.shape == (10000, 28, 28, 1)
    assert images.mean() == pytest.approx(33.79, abs=0.01)
    assert images.std() == pytest.approx(79.17, abs=0.01)
    train = data.load("mnist_idx", "test[:8000]", data_dir=MNIST_DIR, as_numpy=True)
    test = data.load("mnist_idx", "test[8000:]", data_dir=MNIST_DIR, as_numpy=True)
    assert len(train) == 8000 and len(test) == 2000


@pytest.mark.parametrize(
    "name,levels,shape",
    [("mnist", 256, (28, 28, 1)), ("cifar10", 16, (32, 32, 3)), ("binarized_mnist", 2, (28, 28, 1))],
)
def test_tfds_with_mock_data(name, levels, shape):
    with tfds.testing.mock_data(num_examples=4):
        images = data.load(name, "train", num_levels=levels, as_numpy=True)
        dataset = data.load(name, "test", num_levels=levels)
        element = next(iter(dataset))
    assert images.shape == (4,) + shape and images.dtype == np.int32
    if name != "binarized_mnist":  # Its mock holds random bytes, the real one 0/1.
        assert images.min() >= 0 and images.max() < levels
    assert element.shape == shape and element.dtype == tf.int32


def test_unprepared_tfds_fails_fast_without_download(tmp_path):
    with pytest.raises(RuntimeError, match="not prepared.*never downloads"):
        data.load("cifar10", "train", data_dir=str(tmp_path))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(name="imagenet"), r"Unknown dataset name.*name='imagenet'"),
        (dict(name="digits", num_levels=1), r"num_levels=1"),
        (dict(name="digits", num_levels=300), r"num_levels=300"),
        (dict(name="digits", split="train[::2]"), r"split='train\[::2\]'"),
        (dict(name="digits", split="validation"), r"split='validation'"),
        (dict(name="digits", binarize="otsu"), r"binarize='otsu'"),
        (dict(name="binarized_mnist", num_levels=4), r"num_levels=4"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load(**kwargs)
