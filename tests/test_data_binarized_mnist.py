"""`data.load("binarized_mnist", ...)` from the paper's `.amat` files."""

import gzip
import os

import numpy as np
import pytest

from pixel_rnn_tf import data

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared",
                      "data", "binarized_mnist")


def _write_amat(path, images, compress=False):
    text = "".join(" ".join(str(v) for v in image.reshape(-1)) + "\n" for image in images)
    if compress:
        with gzip.open(path, "wt") as file:
            file.write(text)
    else:
        with open(path, "w") as file:
            file.write(text)


@pytest.fixture
def amat_dir(tmp_path):
    rng = np.random.default_rng(0)
    splits = {}
    for split, stem, count in (("train", "train", 5), ("validation", "valid", 3), ("test", "test", 4)):
        images = rng.integers(0, 2, (count, 28, 28, 1)).astype(np.int32)
        _write_amat(str(tmp_path / f"binarized_mnist_{stem}.amat") + (".gz" if split != "test" else ""),
                    images, compress=split != "test")
        splits[split] = images
    return tmp_path, splits


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_reads_each_split_plain_or_gzipped(amat_dir, split):
    directory, splits = amat_dir
    images = data.load("binarized_mnist", split, data_dir=str(directory), as_numpy=True)
    assert images.dtype == np.int32 and images.shape == splits[split].shape
    np.testing.assert_array_equal(images, splits[split])


def test_slices_and_datasets(amat_dir):
    directory, splits = amat_dir
    sliced = data.load("binarized_mnist", "train[1:3]", data_dir=str(directory), as_numpy=True)
    np.testing.assert_array_equal(sliced, splits["train"][1:3])
    percent = data.load("binarized_mnist", "train[:40%]", data_dir=str(directory), as_numpy=True)
    np.testing.assert_array_equal(percent, splits["train"][:2])
    dataset = data.load("binarized_mnist", "test", data_dir=str(directory))
    np.testing.assert_array_equal(np.stack(list(dataset.as_numpy_iterator())), splits["test"])


def test_a_damaged_line_names_the_file_and_line(tmp_path):
    good = " ".join(["0"] * 784)
    path = tmp_path / "binarized_mnist_test.amat"
    path.write_text(f"{good}\n{' '.join(['0'] * 783)} 2\n")
    with pytest.raises(ValueError, match=r"binarized_mnist_test.amat. Received on line 2"):
        data.load("binarized_mnist", "test", data_dir=str(tmp_path), as_numpy=True)
    path.write_text(f"{good}\n{' '.join(['1'] * 700)}\n")
    with pytest.raises(ValueError, match=r"on line 2: 700 values"):
        data.read_amat(str(path))
    path.write_text("")
    with pytest.raises(ValueError, match="an empty file"):
        data.read_amat(str(path))


def test_a_damaged_gzip_names_the_file(tmp_path):
    path = tmp_path / "binarized_mnist_valid.amat.gz"
    path.write_bytes(gzip.compress(b"0 1 0\n")[:-6])
    with pytest.raises(ValueError, match=r"Could not read the .amat file .*binarized_mnist_valid"):
        data.load("binarized_mnist", "validation", data_dir=str(tmp_path), as_numpy=True)


def test_without_amat_files_it_is_tfds(tmp_path):
    assert data.amat_path("test", str(tmp_path)) is None
    with pytest.raises(data.NotPreparedError, match="binarized_mnist"):
        data.load("binarized_mnist", "test", data_dir=str(tmp_path), as_numpy=True)


@pytest.mark.skipif(not os.path.isdir(SHARED), reason=f"the shared binarized MNIST ({SHARED}) is absent")
def test_the_shared_benchmark_files():
    test = data.load("binarized_mnist", "test", data_dir=SHARED, as_numpy=True)
    assert test.shape == (10_000, 28, 28, 1)
    assert abs(test.mean() - 0.132512) < 1e-6  # The README's mean pixel of the test split.
