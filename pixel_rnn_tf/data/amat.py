"""The paper's binarized MNIST as distributed: `.amat` files, gzip'ed or not.

Each line of a `.amat` file is one image, 784 space-separated 0/1 values in
raster order. `binarized_mnist_{train,valid,test}.amat` hold the splits
"train", "validation" and "test".
"""

import os

import numpy as np

from pixel_rnn_tf.data import gzipped

IMAGE_SHAPE = (28, 28, 1)
_STEMS = {
    "train": "binarized_mnist_train.amat",
    "validation": "binarized_mnist_valid.amat",
    "test": "binarized_mnist_test.amat",
}
_PIXELS = 28 * 28


def amat_path(split_name, data_dir):
    """The `.amat` or `.amat.gz` file of a binarized MNIST split in `data_dir`, or None.

    Args:
      split_name: "train", "validation" or "test".
      data_dir: a folder, or None.
    """
    if data_dir is None or split_name not in _STEMS:
        return None
    return gzipped.find(os.path.join(os.fspath(data_dir), _STEMS[split_name]))


def read_amat(path):
    """Reads a binarized MNIST `.amat` file (gzip'ed when its name ends in ".gz").

    Args:
      path: a file of one image a line, 784 space-separated 0/1 values in
        raster order.

    Returns:
      An int32 array `[num_images, 28, 28, 1]` with values in `{0, 1}`.

    Raises:
      ValueError: naming the file (and the line) that is not such a file.
    """
    path = os.fspath(path)
    content = gzipped.read_bytes(path, ".amat file")
    lines = content.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError(f"Expected images in the .amat file {path}. Received: an empty file")
    images = np.empty((len(lines), _PIXELS), np.uint8)
    for number, line in enumerate(lines):
        values = line.split()
        digits = np.frombuffer(b"".join(values), np.uint8) - ord("0")
        if len(values) != _PIXELS or len(digits) != _PIXELS or digits.max() > 1:
            raise ValueError(
                f"Expected {_PIXELS} space-separated 0/1 values on each line of {path}. "
                f"Received on line {number + 1}: {len(values)} values "
                f"({line[:40].decode('ascii', 'replace')!r}...)"
            )
        images[number] = digits
    return images.reshape((-1,) + IMAGE_SHAPE).astype(np.int32)


def read_images(split_name, data_dir, image_shape=IMAGE_SHAPE):
    """The int32 0/1 images `[num_images, 28, 28, 1]` of a split in `data_dir`.

    Returns None where `data_dir` holds no `.amat` file of the split: tfds
    has the data set too.
    """
    del image_shape  # Always MNIST's.
    path = amat_path(split_name, data_dir)
    return None if path is None else read_amat(path)
