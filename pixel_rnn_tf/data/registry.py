"""The named data sets: one entry each, with its images' shape, classes and readers."""

import dataclasses
from typing import Callable, Optional

from pixel_rnn_tf.data import amat
from pixel_rnn_tf.data import digits
from pixel_rnn_tf.data import folders
from pixel_rnn_tf.data import idx
from pixel_rnn_tf.validation import check_one_of

# A folder of the user's images: any size, cropped and resized to `image_shape`.
FOLDER = folders.FOLDER


@dataclasses.dataclass(frozen=True)
class Entry:
    """One named data set.

    Attributes:
      image_shape: `(height, width, channels)` of its images, or None for a
        folder, whose images take the shape `load` is given.
      num_classes: how many class labels it has, or None without labels
        (a folder has as many as class subfolders).
      read_images: `(split_name, data_dir, image_shape) -> images`, the
        integer images `[num_images, height, width(, channels)]` of a whole
        split, with values in `[0, 256)` (in `{0, 1}` where `binary`), read
        from local files; or None where it returns None, for tfds.
      read_labels: `(split_name, data_dir) -> labels`, the integer labels
        `[num_images]` of a whole split from local files; None for tfds.
      split_names: the split names `read_images` knows; unchecked where tfds
        reads the data set too (`in_tfds`).
      in_tfds: whether tfds has it by this name, to read it where
        `read_images` does not.
      binary: its images are 0/1 as stored: only `num_levels=2`, neither
        quantized nor binarized.
    """

    image_shape: Optional[tuple]
    num_classes: Optional[int] = None
    read_images: Optional[Callable] = None
    read_labels: Optional[Callable] = None
    split_names: tuple = ("test", "train")
    in_tfds: bool = False
    binary: bool = False


REGISTRY = {
    "digits": Entry(digits.IMAGE_SHAPE, 10, digits.read_images, digits.read_labels),
    "mnist_idx": Entry(idx.IMAGE_SHAPE, 10, idx.read_images, idx.read_labels),
    FOLDER: Entry(None, None, folders.read_images, folders.read_labels, split_names=("train",)),
    "mnist": Entry((28, 28, 1), 10, in_tfds=True),
    # The paper's benchmark: its `.amat` files where `data_dir` holds them, else tfds.
    "binarized_mnist": Entry(
        amat.IMAGE_SHAPE, read_images=amat.read_images,
        split_names=("train", "validation", "test"), in_tfds=True, binary=True,
    ),
    "cifar10": Entry((32, 32, 3), 10, in_tfds=True),
    "downsampled_imagenet/32x32": Entry((32, 32, 3), in_tfds=True),
    "downsampled_imagenet/64x64": Entry((64, 64, 3), in_tfds=True),
}


def names():
    """Returns the sorted list of known data set names."""
    return sorted(REGISTRY)


def entry(name):
    """The `Entry` of data set `name`; a `ValueError` for an unknown name."""
    return REGISTRY[check_one_of("name", name, names(), "dataset name")]


def image_shape(name):
    """The image shape `(height, width, channels)` of data set `name`.

    Returns None for "folder", whose images take the shape `load` is given.
    """
    return entry(name).image_shape


def num_classes(name, data_dir=None):
    """The number of classes of data set `name`, or `None` if it has no labels.

    A folder (`data_dir`) has as many classes as class subfolders, if any.
    """
    found = entry(name)
    if name == FOLDER:
        return len(folders.class_folders(data_dir)) or None
    return found.num_classes
