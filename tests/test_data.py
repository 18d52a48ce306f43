"""Data sets: digits, MNIST IDX files, tfds (mocked), folders, splits, quantization."""

import gzip
from pathlib import Path

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from pixel_rnn_tf import data

SHARED_MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def _as_array(dataset):
    return np.stack(list(dataset.as_numpy_iterator()))


def _write_idx(path, images, magic=2051):
    header = np.array([magic, *images.shape], ">i4").tobytes()
    content = header + images.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)


def test_names_and_shapes():
    assert data.names() == sorted(data.names())
    assert {"digits", "mnist_idx", "mnist", "binarized_mnist", "cifar10"} <= set(data.names())
    assert data.image_shape("digits") == (8, 8, 1)
    assert data.image_shape("mnist_idx") == (28, 28, 1)
    assert data.image_shape("cifar10") == (32, 32, 3)
    assert data.image_shape("downsampled_imagenet/64x64") == (64, 64, 3)


def test_digits():
    train = data.load("digits", "train", as_numpy=True)
    test = data.load("digits", "test", as_numpy=True)
    assert train.shape == (1500, 8, 8, 1) and test.shape == (297, 8, 8, 1)
    assert train.dtype == np.int32 and set(np.unique(train)) == {0, 1}
    dataset = data.load("digits", "test")
    assert dataset.element_spec == tf.TensorSpec((8, 8, 1), tf.int32)
    np.testing.assert_array_equal(_as_array(dataset), test)


@pytest.mark.parametrize("num_levels", [4, 256])
def test_digits_levels(num_levels):
    images = data.load("digits", "train", num_levels=num_levels, as_numpy=True)
    # The original 0 and 16 map to 0 and 255 in 8 bits.
    assert images.dtype == np.int32 and images.min() == 0 and images.max() == num_levels - 1
    eight_bit = data.load("digits", "train", num_levels=256, as_numpy=True)
    np.testing.assert_array_equal(images, eight_bit * num_levels // 256)


def test_quantize():
    values = np.array([0, 63, 64, 127, 128, 255], np.uint8)
    np.testing.assert_array_equal(data.quantize(values, 256), values)
    np.testing.assert_array_equal(data.quantize(values, 4), [0, 0, 1, 1, 2, 3])
    np.testing.assert_array_equal(data.quantize(values, 2), [0, 0, 0, 0, 1, 1])
    assert data.quantize(values, 4).dtype == np.int32
    with pytest.raises(ValueError, match=r"values in \[0, 256\).*\[0, 256\]"):
        data.quantize(np.array([0, 256]), 4)
    with pytest.raises(ValueError, match="dtype float"):
        data.quantize(np.array([0.5]), 4)


def test_threshold_binarization_is_fixed():
    values = np.array([0, 127, 128, 255])
    np.testing.assert_array_equal(data.binarize_images(values), [0, 0, 1, 1])
    images = data.load("digits", "test", num_levels=256, as_numpy=True)
    np.testing.assert_array_equal(data.binarize_images(images, seed=1), images >= 128)
    np.testing.assert_array_equal(
        data.load("digits", "test", seed=1, as_numpy=True),
        data.load("digits", "test", as_numpy=True),
    )


def test_bernoulli_binarization_is_seeded():
    pixels = np.array([0] * 100 + [100] * 1000 + [255] * 100)
    first = data.binarize_images(pixels, "bernoulli", seed=1)
    np.testing.assert_array_equal(first, data.binarize_images(pixels, "bernoulli", seed=1))
    assert (first != data.binarize_images(pixels, "bernoulli", seed=2)).any()
    assert (first[:100] == 0).all() and (first[-100:] == 1).all()
    assert abs(first[100:-100].mean() - 100 / 255) < 0.05


def test_bernoulli_digits_are_the_same_every_call_and_epoch():
    load = dict(binarize="bernoulli", seed=3)
    images = data.load("digits", "train", as_numpy=True, **load)
    np.testing.assert_array_equal(images, data.load("digits", "train", as_numpy=True, **load))
    dataset = data.load("digits", "train", **load)
    np.testing.assert_array_equal(_as_array(dataset), images)
    np.testing.assert_array_equal(_as_array(dataset), images)  # A second epoch.
    # The draw is made over the whole split, so a slice holds the same images.
    first_ten = data.load("digits", "train[:10]", as_numpy=True, **load)
    np.testing.assert_array_equal(first_ten, images[:10])
    other_seed = data.load("digits", "train", binarize="bernoulli", seed=4, as_numpy=True)
    assert (images != other_seed).any()
    assert (images != data.load("digits", "train", as_numpy=True)).any()


@pytest.mark.parametrize(
    "split,expected",
    [
        ("test", ("test", None, None, "abs")),
        ("test[:8000]", ("test", None, 8000, "abs")),
        ("test[8000:]", ("test", 8000, None, "abs")),
        ("train[-10:]", ("train", -10, None, "abs")),
        ("train[10%:]", ("train", 10, None, "%")),
        ("train[:50%]", ("train", None, 50, "%")),
        ("train[10%:50%]", ("train", 10, 50, "%")),
    ],
)
def test_parse_split(split, expected):
    assert data.parse_split(split) == expected


@pytest.mark.parametrize(
    "split,message",
    [
        ("train[::2]", "Expected `split` like"),
        ("train[1]", "Expected `split` like"),
        ("train[-:]", "Expected `split` like"),
        ("train + test", "Expected `split` like"),
        (None, "Expected `split` like"),
        ("train[%:]", "number before '%'"),
        ("train[10%:500]", "same unit"),
        ("train[:150%]", r"\[-100, 100\]"),
    ],
)
def test_parse_split_errors(split, message):
    with pytest.raises(ValueError, match=message):
        data.parse_split(split)


@pytest.mark.parametrize(
    "split,expected",
    # Percentages round to the closest count as in tfds: 297 / 2 = 148.5 -> 148.
    [
        ("train[:10]", slice(0, 10)),
        ("train[10%:]", slice(150, 1500)),
        ("train[-10%:]", slice(1350, 1500)),
        ("test[:50%]", slice(0, 148)),
        ("test[50%:]", slice(148, 297)),
    ],
)
def test_digits_slices(split, expected):
    whole = data.load("digits", split.split("[")[0], num_levels=256, as_numpy=True)
    images = data.load("digits", split, num_levels=256, as_numpy=True)
    np.testing.assert_array_equal(images, whole[expected])


@pytest.mark.parametrize("file_name", ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"])
def test_mnist_idx_from_files(tmp_path, file_name):
    images = np.random.default_rng(0).integers(0, 256, (10, 28, 28))
    _write_idx(tmp_path / file_name, images)
    loaded = data.load("mnist_idx", "test[2:]", num_levels=256, data_dir=tmp_path, as_numpy=True)
    assert loaded.shape == (8, 28, 28, 1) and loaded.dtype == np.int32
    np.testing.assert_array_equal(loaded[..., 0], images[2:])
    half = data.load("mnist_idx", "test[:50%]", data_dir=str(tmp_path))
    assert half.element_spec == tf.TensorSpec((28, 28, 1), tf.int32)
    np.testing.assert_array_equal(_as_array(half)[..., 0], images[:5] >= 128)


@pytest.mark.parametrize(
    "content,message",
    [
        (np.array([2049, 2, 28, 28], ">i4").tobytes() + bytes(2 * 28 * 28), "magic number 2049"),
        (np.array([2051, 2, 28, 28], ">i4").tobytes() + bytes(100), "2x28x28 pixel bytes"),
        (np.array([2051, 2, 10, 10], ">i4").tobytes() + bytes(200), "Expected 28x28 MNIST"),
        (b"IDX", "at least 16 bytes"),
    ],
)
def test_mnist_idx_bad_files(tmp_path, content, message):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(content)
    with pytest.raises(ValueError, match=message):
        data.load("mnist_idx", "test", data_dir=tmp_path)


def test_mnist_idx_bad_gzip(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="Could not read the IDX file"):
        data.load("mnist_idx", "test", data_dir=tmp_path)


def test_mnist_idx_missing_data(tmp_path):
    with pytest.raises(ValueError, match="Expected `data_dir`.*Received: data_dir=None"):
        data.load("mnist_idx", "test")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz or .*neither exists"):
        data.load("mnist_idx", "train", data_dir=tmp_path)


def test_shared_mnist():
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"shared MNIST not found at {SHARED_MNIST.resolve()}")
    images = data.load("mnist_idx", "test", num_levels=256, data_dir=SHARED_MNIST, as_numpy=True)
    assert images.shape == (10000, 28, 28, 1)
    assert images.mean() == pytest.approx(33.79, abs=0.01)
    assert images.std() == pytest.approx(79.17, abs=0.01)
    train = data.load("mnist_idx", "test[:8000]", data_dir=SHARED_MNIST, as_numpy=True)
    test = data.load("mnist_idx", "test[8000:]", data_dir=SHARED_MNIST, as_numpy=True)
    assert len(train) == 8000 and len(test) == 2000
    np.testing.assert_array_equal(np.concatenate([train, test])[..., 0], images[..., 0] >= 128)


@pytest.mark.parametrize(
    "name,num_levels,max_value",
    [("mnist", 256, None), ("cifar10", 16, None), ("binarized_mnist", 2, 2)],
)
def test_tfds_with_mock_data(name, num_levels, max_value):
    shape = data.image_shape(name)
    with tfds.testing.mock_data(num_examples=4, max_value=max_value):
        images = data.load(name, "train", num_levels=num_levels, as_numpy=True)
        # Slices pass through to tfds, whose mock ignores them.
        dataset = data.load(name, "test[:50%]", num_levels=num_levels)
        elements = _as_array(dataset)
    assert images.shape == (4,) + shape and images.dtype == np.int32
    assert images.min() >= 0 and images.max() < num_levels
    assert dataset.element_spec == tf.TensorSpec(shape, tf.int32)
    assert elements.shape[1:] == shape and elements.max() < num_levels


def test_tfds_bernoulli_is_the_same_every_call_and_epoch():
    with tfds.testing.mock_data(num_examples=4):
        dataset = data.load("mnist", "train", binarize="bernoulli", seed=5)
        images = data.load("mnist", "train", binarize="bernoulli", seed=5, as_numpy=True)
        np.testing.assert_array_equal(_as_array(dataset), images)
        np.testing.assert_array_equal(_as_array(dataset), images)  # A second epoch.
        other_seed = data.load("mnist", "train", binarize="bernoulli", seed=6, as_numpy=True)
    assert set(np.unique(images)) == {0, 1} and (images != other_seed).any()


def test_unprepared_tfds_fails_without_downloading(tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("load() must never download")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", no_download)
    # The error names the argument and the commands' flag that fetch the set.
    with pytest.raises(data.NotPreparedError, match="not prepared.*download=True.*--download"):
        data.load("cifar10", "train", data_dir=str(tmp_path))
    assert not any(tmp_path.rglob("*.tfrecord*"))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(name="imagenet"), r"Unknown dataset name.*'digits'.*Received: name='imagenet'"),
        (dict(name="digits", num_levels=1), r"num_levels=1"),
        (dict(name="digits", num_levels=300), r"num_levels=300"),
        (dict(name="digits", num_levels=2.0), r"num_levels=2.0"),
        (dict(name="digits", split="train[::2]"), r"split='train\[::2\]'"),
        (dict(name="digits", split="validation"), r"\['test', 'train'\].*split='validation'"),
        (dict(name="digits", binarize="otsu"), r"binarize='otsu'"),
        (dict(name="digits", seed=-1), r"seed=-1"),
        (dict(name="binarized_mnist", num_levels=4), r"num_levels=4"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load(**kwargs)


def test_labels_of_local_data_sets(tmp_path):
    digits = data.load_labels("digits", "test[:10]")
    assert digits.shape == (10,) and digits.dtype == np.int32 and data.num_classes("digits") == 10
    labels = np.random.default_rng(0).integers(0, 10, 6)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, magic=2049)
    loaded = data.load_labels("mnist_idx", "test[2:]", data_dir=tmp_path)
    np.testing.assert_array_equal(loaded, labels[2:])
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels, magic=2051)
    with pytest.raises(ValueError, match="magic number 2049"):
        data.load_labels("mnist_idx", "train", data_dir=tmp_path)
    assert data.num_classes("binarized_mnist") is None
    with pytest.raises(ValueError, match="'binarized_mnist' has no class labels"):
        data.load_labels("binarized_mnist", "test")
    if (SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").exists():
        counts = np.bincount(data.load_labels("mnist_idx", "test", data_dir=SHARED_MNIST))
        assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_download_true_reaches_tfds_download(tmp_path, monkeypatch):
    calls = []

    class Downloading(Exception):
        pass

    def download_and_prepare(builder, *args, **kwargs):
        calls.append(builder.name)
        raise Downloading  # Stops before any network.

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", download_and_prepare)
    with pytest.raises(Downloading):
        data.load("cifar10", "train", data_dir=str(tmp_path), download=True)
    with pytest.raises(Downloading):
        data.load_labels("cifar10", "test", data_dir=str(tmp_path), download=True)
    assert calls == ["cifar10", "cifar10"]


def _write_folder(root, with_classes=True):
    """Three small images (PNG and JPEG, two sizes); class subfolders `a`, `b` or none.

    `a/0.png` is 4 wide, 2 high: a black 2x2 center between white columns, so
    a center crop to a square sees black only. `a/1.jpg` and `b/2.png` are a
    constant gray 200.
    """
    wide = np.full((2, 4, 3), 255, np.uint8)
    wide[:, 1:3] = 0
    gray = np.full((6, 6, 3), 200, np.uint8)
    folders = [root / "a", root / "a", root / "b"] if with_classes else [root] * 3
    names = ["0.png", "1.jpg", "2.png"]
    for folder, name, image in zip(folders, names, [wide, gray, gray]):
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / name, quality=100)


@pytest.mark.parametrize("channels", [1, 3])
def test_folder_is_center_cropped_resized_and_quantized(tmp_path, channels):
    _write_folder(tmp_path)
    images = data.load(
        "folder", data_dir=tmp_path, image_shape=(2, 2, channels), num_levels=4, as_numpy=True
    )
    assert images.shape == (3, 2, 2, channels) and images.dtype == np.int32
    np.testing.assert_array_equal(images[0], 0)  # The center only, not squashed with white.
    # The package's one formula: floor(200 * 4 / 256) = 3 (the JPEG's 200 +- 1 too).
    np.testing.assert_array_equal(images[1:], data.quantize(np.full_like(images[1:], 200), 4))
    binary = data.load("folder", "train[1:]", data_dir=tmp_path, image_shape=(3, 3, channels),
                       as_numpy=True)
    np.testing.assert_array_equal(binary, 1)  # 200 >= 128, as every data set binarizes.
    dataset = data.load("folder", data_dir=tmp_path, image_shape=(2, 2, channels), num_levels=4)
    np.testing.assert_array_equal(_as_array(dataset), images)


def test_folder_labels_come_from_subfolders(tmp_path):
    _write_folder(tmp_path / "labelled")
    assert data.num_classes("folder", tmp_path / "labelled") == 2
    np.testing.assert_array_equal(data.load_labels("folder", data_dir=tmp_path / "labelled"),
                                  [0, 0, 1])
    np.testing.assert_array_equal(
        data.load_labels("folder", "train[2:]", data_dir=tmp_path / "labelled"), [1]
    )
    _write_folder(tmp_path / "flat", with_classes=False)
    assert data.num_classes("folder", tmp_path / "flat") is None
    assert data.load("folder", data_dir=tmp_path / "flat", image_shape=(2, 2, 1),
                     as_numpy=True).shape == (3, 2, 2, 1)
    with pytest.raises(ValueError, match="no class labels"):
        data.load_labels("folder", data_dir=tmp_path / "flat")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(), r"image_shape.*Received: image_shape=None"),
        (dict(image_shape=(2, 2, 2)), r"1 or 3 channels.*image_shape=\(2, 2, 2\)"),
        (dict(image_shape=(2, 2, 1), split="test"), r"'train\[:90%\]'.*split='test'"),
        (dict(image_shape=(2, 2, 1), data_dir="/nonexistent"), r"data_dir='/nonexistent'"),
        (dict(image_shape=(2, 2, 1), data_dir="empty"), r"PNG or JPEG files"),
    ],
)
def test_folder_bad_arguments(tmp_path, kwargs, message):
    _write_folder(tmp_path / "images")
    (tmp_path / "empty").mkdir()
    kwargs = dict(dict(data_dir=tmp_path / "images"), **kwargs)
    if kwargs["data_dir"] == "empty":
        kwargs["data_dir"] = tmp_path / "empty"
    with pytest.raises(ValueError, match=message):
        data.load("folder", **kwargs)


def test_a_named_data_set_keeps_its_own_shape():
    assert data.image_shape("folder") is None
    assert data.load("digits", "test[:1]", image_shape=(8, 8, 1), as_numpy=True).shape == (
        1, 8, 8, 1)
    with pytest.raises(ValueError, match=r"\(8, 8, 1\).*image_shape=\(28, 28, 1\)"):
        data.load("digits", image_shape=(28, 28, 1))


@pytest.mark.parametrize(
    "content",
    [b"not gzip", gzip.compress(b"\x00\x00\x08\x03" + bytes(100))[:-6], b""],
    ids=["not-gzip", "truncated", "empty"],
)
@pytest.mark.parametrize("stem", ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
def test_damaged_mnist_gz_names_the_file(tmp_path, stem, content):
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(2), magic=2049)
    (tmp_path / f"{stem}.gz").write_bytes(content)
    # Damaged gzip data, or (empty) no IDX content: either way the file is named.
    message = (
        rf"Could not read the IDX (labels )?file .*{stem}\.gz: .*damaged or truncated"
        rf"|Expected an IDX .*{stem}\.gz"
    )
    with pytest.raises(ValueError, match=message):
        if "labels" in stem:
            data.load_labels("mnist_idx", "test", data_dir=tmp_path)
        else:
            data.load("mnist_idx", "test", data_dir=tmp_path)


@pytest.mark.parametrize(
    "damage", [lambda b: b[:-30], lambda b: b[:20] + bytes(40) + b[60:], lambda b: b""],
    ids=["truncated", "corrupt", "empty"],
)
@pytest.mark.parametrize("with_classes", [True, False])
def test_damaged_image_names_the_file(tmp_path, damage, with_classes):
    _write_folder(tmp_path, with_classes=with_classes)
    bad = tmp_path / ("b" if with_classes else ".") / "2.png"
    bad.write_bytes(damage(bad.read_bytes()))
    with pytest.raises(ValueError, match=rf"Received: .*2\.png, which is damaged"):
        data.load("folder", data_dir=tmp_path, image_shape=(2, 2, 1), as_numpy=True)


def test_folder_with_images_at_the_top_and_in_class_folders_is_refused(tmp_path):
    _write_folder(tmp_path)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "stray.png")
    with pytest.raises(ValueError, match=r"not both.*1 at the top level \(stray\.png\).*'a', 'b'"):
        data.load("folder", data_dir=tmp_path, image_shape=(2, 2, 1), as_numpy=True)
    with pytest.raises(ValueError, match=r"not both"):
        data.load_labels("folder", data_dir=tmp_path)


def test_a_data_set_of_other_images_than_the_models_is_refused_naming_both():
    from pixel_rnn_tf import validation

    validation.check_dataset_image_shape("digits", (8, 8, 1), (8, 8, 1))
    validation.check_dataset_image_shape("folder", None, (8, 8, 1))  # Any shape.
    with pytest.raises(ValueError, match=r"'digits' has images of shape \(8, 8, 1\).*\(28, 28, 1\)"):
        validation.check_dataset_image_shape("digits", (8, 8, 1), (28, 28, 1))
