"""Integer image data sets: bundled digits, MNIST IDX files and tfds.

Every loader returns int32 images `[height, width, channels]` with values in
`[0, num_levels)`: 8-bit values are quantized to `floor(x * num_levels /
256)`, and binarized (num_levels=2) by a fixed threshold or a seeded
Bernoulli draw made once, never per epoch, so evaluation is repeatable.
"""

import gzip
import os
import re

import numpy as np
import tensorflow as tf

BINARIZATIONS = ("threshold", "bernoulli")
_TFDS_SHAPES = {
    "mnist": (28, 28, 1),
    "binarized_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "downsampled_imagenet/32x32": (32, 32, 3),
    "downsampled_imagenet/64x64": (64, 64, 3),
}
_LOCAL_SHAPES = {"digits": (8, 8, 1), "mnist_idx": (28, 28, 1)}
_DIGITS_TRAIN = 1500  # The first 1,500 of 1,797 train; the rest test.
_IDX_FILES = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
_IDX_MAGIC = 2051
_SPLIT = re.compile(r"^(\w+)(?:\[(-?\d*)(%?):(-?\d*)(%?)\])?$")


def names():
    """The known data set names, sorted."""
    return sorted(list(_TFDS_SHAPES) + list(_LOCAL_SHAPES))


def image_shape(name):
    """`(height, width, channels)` of data set `name`."""
    _check_name(name)
    return {**_TFDS_SHAPES, **_LOCAL_SHAPES}[name]


def _check_name(name):
    if name not in names():
        raise ValueError(f"Unknown dataset name. Expected one of {names()}. Received: name={name!r}")


def quantize(images, num_levels):
    """8-bit values `[0, 256)` to `[0, num_levels)`: `floor(x * num_levels / 256)`."""
    _check_levels(num_levels)
    return (np.asarray(images, np.int64) * num_levels // 256).astype(np.int32)


def binarize_images(images, method="threshold", seed=0):
    """8-bit values to {0, 1}: `x >= 128`, or a Bernoulli draw of `x / 255` made with `seed`."""
    if method not in BINARIZATIONS:
        raise ValueError(
            f"Expected `binarize` to be one of {BINARIZATIONS}. Received: binarize={method!r}"
        )
    images = np.asarray(images)
    if method == "threshold":
        return (images >= 128).astype(np.int32)
    uniform = np.random.default_rng(seed).random(images.shape)
    return (uniform < images / 255.0).astype(np.int32)


def _check_levels(num_levels):
    if not isinstance(num_levels, (int, np.integer)) or not 2 <= num_levels <= 256:
        raise ValueError(
            f"Expected `num_levels` to be an int in [2, 256]. Received: num_levels={num_levels!r}"
        )


def parse_split(split):
    """Parses tfds split syntax: `"test"`, `"test[:8000]"`, `"train[10%:]"`.

    Returns:
      `(name, start, stop, start_is_percent, stop_is_percent)`.
    """
    match = _SPLIT.match(split) if isinstance(split, str) else None
    if not match:
        raise ValueError(
            "Expected `split` like 'train', 'test[:8000]' or 'train[10%:50%]'. "
            f"Received: split={split!r}"
        )
    name, start, start_pct, stop, stop_pct = match.groups()
    return (
        name,
        int(start) if start else None,
        int(stop) if stop else None,
        bool(start_pct),
        bool(stop_pct),
    )


def _slice(images, split):
    _, start, stop, start_pct, stop_pct = parse_split(split)
    count = len(images)
    if start is not None and start_pct:
        start = count * start // 100
    if stop is not None and stop_pct:
        stop = count * stop // 100
    return images[start:stop]


def read_idx_images(path):
    """Reads an IDX image file (gzip'ed or not): uint8 `[N, rows, cols]`."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        content = f.read()
    if len(content) < 16:
        raise ValueError(f"{path} is not an IDX image file: only {len(content)} bytes.")
    magic, count, rows, cols = np.frombuffer(content[:16], ">i4")
    if magic != _IDX_MAGIC or len(content) != 16 + count * rows * cols:
        raise ValueError(
            f"{path} is not an IDX image file: magic {magic} (expected {_IDX_MAGIC}), "
            f"{len(content) - 16} pixel bytes for {count}x{rows}x{cols}."
        )
    return np.frombuffer(content[16:], np.uint8).reshape(count, rows, cols)


def _load_digits(split_name):
    from sklearn.datasets import load_digits

    digits = load_digits().images  # [1797, 8, 8], values 0..16.
    images = np.round(digits * 255.0 / 16.0).astype(np.uint8)
    if split_name == "train":
        return images[:_DIGITS_TRAIN]
    if split_name == "test":
        return images[_DIGITS_TRAIN:]
    raise ValueError(f"Expected split 'train' or 'test' for digits. Received: split={split_name!r}")


def _load_mnist_idx(split_name, data_dir):
    if data_dir is None:
        raise ValueError("The dataset 'mnist_idx' needs `data_dir`, the folder of the IDX files.")
    if split_name not in _IDX_FILES:
        raise ValueError(
            f"Expected split 'train' or 'test' for mnist_idx. Received: split={split_name!r}"
        )
    stem = os.path.join(data_dir, _IDX_FILES[split_name])
    for path in (stem + ".gz", stem):
        if os.path.exists(path):
            return read_idx_images(path)
    raise ValueError(f"No IDX file {stem}[.gz] for split {split_name!r} in data_dir={data_dir!r}.")


def _load_tfds(name, split, data_dir):
    import tensorflow_datasets as tfds

    try:
        # Never download: without network a download would hang or fail late.
        dataset = tfds.load(name, split=split, data_dir=data_dir, download=False)
    except AssertionError as error:  # tfds's way of saying "not prepared".
        raise RuntimeError(
            f"The tfds data set {name!r} is not prepared in data_dir={data_dir!r}, and "
            "this function never downloads. Prepare it on a machine with network access "
            f"(`tfds build {name} --data_dir=...`) and pass that data_dir."
        ) from error
    return dataset.map(lambda example: example["image"])


def load(name, split="train", *, num_levels=2, data_dir=None, binarize="threshold", seed=0,
         as_numpy=False):
    """Integer images of a named data set.

    Args:
      name: one of `names()`: "digits" (scikit-learn's bundled 8x8 digits,
        no network), "mnist_idx" (IDX files in `data_dir`), or the tfds
        names "mnist", "binarized_mnist", "cifar10",
        "downsampled_imagenet/32x32", "downsampled_imagenet/64x64".
      split: tfds split syntax: "train", "test[:8000]", "train[10%:]".
      num_levels: 2 to 256 values per channel.
      data_dir: the IDX folder, or tfds's data directory.
      binarize: "threshold" or "bernoulli" (seeded, fixed), for num_levels=2.
      seed: the Bernoulli binarization's seed.
      as_numpy: return an array instead of a dataset.

    Returns:
      A `tf.data.Dataset` of int32 `[height, width, channels]` images, or
      with `as_numpy` an int32 array `[num_images, height, width, channels]`.
    """
    _check_name(name)
    _check_levels(num_levels)
    split_name = parse_split(split)[0]
    if name == "binarized_mnist" and num_levels != 2:
        raise ValueError(
            f"binarized_mnist has 2 levels. Received: num_levels={num_levels}"
        )

    def to_levels(images):
        if name == "binarized_mnist":
            return np.asarray(images, np.int32)
        if num_levels == 2:
            return binarize_images(images, binarize, seed)
        return quantize(images, num_levels)

    shape = image_shape(name)
    if name in _TFDS_SHAPES:
        dataset = _load_tfds(name, split, data_dir)
        if as_numpy:
            images = np.stack(list(dataset.as_numpy_iterator()))
            return to_levels(images).reshape((-1,) + shape)
        # A per-image Bernoulli draw would reuse one noise pattern: threshold here.
        if num_levels == 2 and binarize == "bernoulli" and name != "binarized_mnist":
            raise ValueError(
                "binarize='bernoulli' needs as_numpy=True for tfds data sets (one fixed "
                "draw over the whole split)."
            )
        return dataset.map(
            lambda x: tf.numpy_function(to_levels, [x], tf.int32, stateful=False)
        ).map(lambda x: tf.ensure_shape(tf.reshape(x, shape), shape))
    raw = _load_digits(split_name) if name == "digits" else _load_mnist_idx(split_name, data_dir)
    images = to_levels(_slice(raw, split)).reshape((-1,) + shape)
    return images if as_numpy else tf.data.Dataset.from_tensor_slices(images)

