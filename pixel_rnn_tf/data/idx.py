"""MNIST's IDX files, gzip'ed or not: the "mnist_idx" data set.

An IDX file is a header of big-endian int32s, a magic number `0x08NN`
(unsigned bytes in NN dimensions) and the NN sizes, then the bytes
themselves: images `[num_images, rows, columns]` in `*-images-idx3-ubyte`,
labels `[num_images]` in `*-labels-idx1-ubyte`.
"""

import os

import numpy as np

from pixel_rnn_tf.data import gzipped

IMAGE_SHAPE = (28, 28, 1)
_IMAGE_STEMS = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
_LABEL_STEMS = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
# The magic number's high bytes: the values are unsigned bytes.
_UNSIGNED_BYTES = 0x0800


def read_idx_images(path):
    """Reads an IDX file of unsigned bytes in three dimensions, gzip'ed or not.

    Args:
      path: a `*-images-idx3-ubyte` file, gzip'ed when its name ends in ".gz".

    Returns:
      A uint8 array `[num_images, rows, columns]`.
    """
    return _read_idx(path, 3, "IDX file", "pixel")


def read_idx_labels(path):
    """Reads an IDX file of unsigned bytes in one dimension, gzip'ed or not.

    Args:
      path: a `*-labels-idx1-ubyte` file, gzip'ed when its name ends in ".gz".

    Returns:
      A uint8 array `[num_images]`.
    """
    return _read_idx(path, 1, "IDX labels file", "label")


def read_images(split_name, data_dir, image_shape=IMAGE_SHAPE):
    """The uint8 MNIST images `[num_images, 28, 28]` of a split's IDX file in `data_dir`."""
    del image_shape  # Always MNIST's.
    path = _find(_IMAGE_STEMS[split_name], split_name, data_dir, "file")
    images = read_idx_images(path)
    if images.shape[1:] != IMAGE_SHAPE[:2]:
        raise ValueError(f"Expected 28x28 MNIST images. Received: {path} of shape {images.shape}")
    return images


def read_labels(split_name, data_dir):
    """The uint8 MNIST labels `[num_images]` of a split's IDX file in `data_dir`."""
    return read_idx_labels(_find(_LABEL_STEMS[split_name], split_name, data_dir, "labels file"))


def _read_idx(path, num_dims, what, item):
    """Parses an IDX file of unsigned bytes in `num_dims` dimensions.

    Args:
      path: the file, gzip'ed when its name ends in ".gz".
      num_dims: the dimensions its header must declare.
      what: what the file is, for the messages, e.g. "IDX file".
      item: what one byte is, for the messages, e.g. "pixel".

    Returns:
      A uint8 array of the shape its header declares.
    """
    path = os.fspath(path)
    content = gzipped.read_bytes(path, what)
    header_bytes = 4 * (1 + num_dims)
    if len(content) < header_bytes:
        raise ValueError(
            f"Expected an {what} of at least {header_bytes} bytes. "
            f"Received: {path} of {len(content)} bytes"
        )
    magic, *dims = (int(x) for x in np.frombuffer(content, ">i4", count=1 + num_dims))
    if magic != _UNSIGNED_BYTES + num_dims:
        raise ValueError(
            f"Expected an {what} with magic number {_UNSIGNED_BYTES + num_dims}. "
            f"Received: {path} with magic number {magic}"
        )
    num_bytes = len(content) - header_bytes
    if min(dims) < 0 or num_bytes != np.prod(dims):
        raise ValueError(
            f"Expected {'x'.join(map(str, dims))} {item} bytes, as the header of {path} "
            f"says. Received: {num_bytes} bytes"
        )
    return np.frombuffer(content, np.uint8, offset=header_bytes).reshape(dims)


def _find(stem_name, split_name, data_dir, what):
    """The path of an MNIST IDX file in `data_dir`, gzip'ed or not."""
    if data_dir is None:
        raise ValueError(
            "Expected `data_dir`, the folder of the MNIST IDX files, for name='mnist_idx'. "
            "Received: data_dir=None"
        )
    stem = os.path.join(os.fspath(data_dir), stem_name)
    path = gzipped.find(stem)
    if path is None:
        raise ValueError(
            f"Expected the MNIST IDX {what} {stem}.gz or {stem} for split {split_name!r}, "
            f"but neither exists. Received: data_dir={data_dir!r}"
        )
    return path
