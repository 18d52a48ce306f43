"""`load` and `load_labels`: a named data set's integer images and class labels."""

import numpy as np
import tensorflow as tf

from pixel_rnn_tf.data import quantization
from pixel_rnn_tf.data import registry
from pixel_rnn_tf.data import splits
from pixel_rnn_tf.data import tfds
from pixel_rnn_tf.validation import check_image_shape
from pixel_rnn_tf.validation import check_int
from pixel_rnn_tf.validation import check_num_levels


def load(
    name,
    split="train",
    *,
    num_levels=2,
    data_dir=None,
    binarize="threshold",
    seed=0,
    as_numpy=False,
    download=False,
    image_shape=None,
):
    """Returns the integer images of a named data set.

    Args:
      name: one of `names()`: "digits" (scikit-learn's bundled 8x8 digits:
        "train" is the first 1,500, "test" the other 297), "mnist_idx" (the
        MNIST IDX files in `data_dir`), "folder" (the PNG or JPEG files in
        `data_dir`, or in its class subfolders), or one of the tfds data
        sets "mnist", "binarized_mnist" (the paper's benchmark, read from
        its `.amat` files where `data_dir` holds them), "cifar10",
        "downsampled_imagenet/32x32" and "downsampled_imagenet/64x64",
        prepared in `data_dir` or fetched there with `download=True`.
      split: a split name with an optional slice, in tfds's syntax: "train",
        "test[:8000]", "test[8000:]", "train[10%:]", "train[:50%]". A
        folder has one split, "train": all its images in file name order
        (class subfolders in name order), e.g. "train[:90%]" to train and
        "train[90%:]" to test.
      num_levels: int in `[2, 256]`, the number of values per channel.
        "binarized_mnist" is binary already and allows only 2.
      data_dir: for "binarized_mnist" the folder of
        `binarized_mnist_{train,valid,test}.amat[.gz]` (splits "train",
        "validation" and "test"), or tfds's data directory; for "mnist_idx"
        the folder of `train-images-idx3-ubyte[.gz]` and
        `t10k-images-idx3-ubyte[.gz]`; for "folder" the folder of images;
        for tfds data sets tfds's data directory (None for its default);
        unused for "digits".
      binarize: for `num_levels=2`, "threshold" (`x >= 128`) or "bernoulli"
        (a draw with probability `x / 255`, fixed by `seed`).
      seed: non-negative int seeding the Bernoulli binarization. The draw for
        "digits" and "mnist_idx" is made over the whole split before slicing,
        so a slice holds the same binary images as the whole split; for tfds
        data sets it depends on the image's position in the loaded slice.
      as_numpy: whether to return a numpy array instead of a dataset.
      download: for tfds data sets, whether to download and prepare one
        missing from `data_dir` (needs network); False never touches it.
      image_shape: `(height, width, channels)`, channels 1 or 3: the shape
        a folder's images are center-cropped and resized to (the model's
        `image_shape`; required for "folder"). For the other data sets
        None or their own shape, `image_shape(name)`.

    Returns:
      An unbatched `tf.data.Dataset` of int32 images `[height, width, channels]`
      with values in `[0, num_levels)`, or with `as_numpy=True` an int32 array
      `[num_images, height, width, channels]`.

    Raises:
      ValueError: for an unknown name or split, bad arguments, missing or
        malformed IDX files, or a folder without images.
      NotPreparedError: (a RuntimeError) for a tfds data set that is not
        prepared in `data_dir` and `download=False`.
    """
    entry = registry.entry(name)
    check_num_levels(num_levels)
    quantization.check_binarize(binarize)
    check_int("seed", seed, 0)
    shape = _shape_of(name, entry, image_shape)
    if entry.binary and num_levels != 2:
        raise ValueError(
            f"Expected num_levels=2 for name={name!r}, whose images are binary. "
            f"Received: num_levels={num_levels!r}"
        )
    images = None
    if entry.read_images is not None:
        split_name, start, stop, unit = _parse_split(name, entry, split)
        images = entry.read_images(split_name, data_dir, shape)
    if images is None:
        dataset = tfds.load_images(
            name, split, data_dir, shape, num_levels, binarize, seed, download, entry.binary
        )
        if not as_numpy:
            return dataset
        batches = list(dataset.batch(1024).as_numpy_iterator())
        return np.concatenate(batches) if batches else np.zeros((0,) + shape, np.int32)
    # Binarized over the whole split before slicing: a slice holds the same images.
    if entry.binary:
        images = np.asarray(images, np.int32)
    elif num_levels == 2:
        images = quantization.binarize_images(images, binarize, seed)
    else:
        images = quantization.quantize(images, num_levels)
    images = splits.slice_split(images, start, stop, unit).reshape((-1,) + shape)
    return images if as_numpy else tf.data.Dataset.from_tensor_slices(images)


def load_labels(name, split="train", *, data_dir=None, download=False):
    """The int32 class labels `[num_images]` of a named data set, in `load`'s order.

    Args:
      name: a data set with labels: "digits", "mnist_idx" (its
        `*-labels-idx1-ubyte[.gz]` files in `data_dir`), "folder" with
        class subfolders (their index in name order), "mnist" or "cifar10"
        (prepared for tfds in `data_dir`, or fetched with `download=True`).
      split, data_dir, download: as in `load`; the labels of the images
        `load` returns.

    Raises:
      ValueError: for a data set without labels (`num_classes(name)` is
        None), an unknown split, or missing or malformed label files.
    """
    if registry.num_classes(name, data_dir) is None:
        labelled = sorted(n for n, e in registry.REGISTRY.items() if e.num_classes)
        raise ValueError(
            f"The data set {name!r} has no class labels. Expected one of "
            f"{labelled}, or {registry.FOLDER!r} with class subfolders. "
            f"Received: name={name!r}, data_dir={data_dir!r}"
        )
    entry = registry.entry(name)
    if entry.read_labels is None:
        return tfds.load_labels(name, split, data_dir, download)
    split_name, start, stop, unit = _parse_split(name, entry, split)
    labels = entry.read_labels(split_name, data_dir)
    return splits.slice_split(labels, start, stop, unit).astype(np.int32)


def _parse_split(name, entry, split):
    """`parse_split` of a split read from local files; its name checked unless tfds has it."""
    if entry.in_tfds:
        return splits.parse_split(split)
    return splits.parse_split_of(name, split, entry.split_names)


def _shape_of(name, entry, image_shape):
    """The shape of `name`'s images: its own, or `image_shape` for a folder."""
    if entry.image_shape is not None:
        if image_shape is not None and tuple(image_shape) != entry.image_shape:
            raise ValueError(
                f"The data set {name!r} has images of shape {entry.image_shape}. Expected "
                f"image_shape=None or {entry.image_shape}. Received: image_shape={image_shape!r}"
            )
        return entry.image_shape
    return check_image_shape(image_shape, "the shape to resize a folder's images to")
