"""Integer image data sets: scikit-learn's digits, MNIST IDX files, tfds and folders.

Every data set is returned as int32 images `[height, width, channels]` with
values in `[0, num_levels)`. 8-bit values `x` are quantized to
`floor(x * num_levels / 256)`; with two levels they are binarized instead,
either by the fixed threshold `x >= 128` or by a Bernoulli draw with
probability `x / 255`. The draw is a function of `seed` and of each image's
position, never of a global random state, so it is the same on every call and
in every epoch: a test likelihood is always measured on the same data.

Splits use tfds's slicing syntax for every data set: `"train"`,
`"test[:8000]"`, `"test[8000:]"`, `"train[10%:]"`, `"train[:50%]"`.

tfds data sets are downloaded only when asked (`download=True`, `--download`
in the commands). The paper's binarized MNIST ("binarized_mnist") is read from
its distributed `.amat` files where `data_dir` holds them, and from tfds
otherwise. A folder of PNG or JPEG files ("folder") is read by Keras's
`image_dataset_from_directory`, each image center-cropped to the model's
aspect ratio and resized to its shape, then quantized as above.
"""

import gzip
import os
import re
import zlib

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
_SHAPES = {**_TFDS_SHAPES, **_LOCAL_SHAPES}
# A folder of the user's images: any size, cropped and resized to `image_shape`.
FOLDER = "folder"
# The files Keras's `image_dataset_from_directory` reads.
_IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
# Keras's `image_dataset_from_directory` color modes, by channels.
_COLOR_MODES = {1: "grayscale", 3: "rgb"}
# The "threshold" binarization: an 8-bit value x is 1 where x >= 128.
_THRESHOLD = 128

# scikit-learn's 1,797 digits have no split: the first 1,500 train, the rest test.
_DIGITS_NUM_TRAIN = 1500
_IDX_STEMS = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
_IDX_LABEL_STEMS = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
# 0x0803: unsigned bytes (0x08) in 3 dimensions (0x03).
_IDX_MAGIC = 2051
_IDX_HEADER_BYTES = 16
# 0x0801: unsigned bytes in 1 dimension, the labels' files.
_IDX_LABEL_MAGIC = 2049
_IDX_LABEL_HEADER_BYTES = 8
# The paper's binarized MNIST as distributed: one image a line, 784 0/1 values.
_AMAT_STEMS = {
    "train": "binarized_mnist_train.amat",
    "validation": "binarized_mnist_valid.amat",
    "test": "binarized_mnist_test.amat",
}
_AMAT_PIXELS = 28 * 28
# The data sets with class labels (`load_labels`), and how many classes.
_NUM_CLASSES = {"digits": 10, "mnist_idx": 10, "mnist": 10, "cifar10": 10}

_SPLIT_PATTERN = re.compile(r"(\w+)(?:\[((?:-?\d+)?)(%?):((?:-?\d+)?)(%?)\])?")
_SPLIT_EXAMPLES = "'train', 'test[:8000]', 'test[8000:]', 'train[10%:]' or 'train[:50%]'"


class NotPreparedError(RuntimeError):
    """A tfds data set is not prepared in `data_dir`, and `download=False`."""


def names():
    """Returns the sorted list of known data set names."""
    return sorted([*_SHAPES, FOLDER])


def image_shape(name):
    """The image shape `(height, width, channels)` of data set `name`.

    Returns None for "folder", whose images take the shape `load` is given.
    """
    _check_name(name)
    return _SHAPES.get(name)


def quantize(images, num_levels):
    """Quantizes 8-bit images to `num_levels` levels: `floor(x * num_levels / 256)`.

    Args:
      images: integer array of any shape with values in `[0, 256)`.
      num_levels: int in `[2, 256]`.

    Returns:
      An int32 array of the same shape with values in `[0, num_levels)`.
    """
    _check_num_levels(num_levels)
    images = _check_8bit(images)
    return _levels(images.astype(np.int32), num_levels)


def binarize_images(images, method="threshold", seed=0):
    """Binarizes 8-bit images.

    Args:
      images: integer array `[num_images, ...]` with values in `[0, 256)`.
      method: "threshold" for the fixed `x >= 128`, or "bernoulli" for a draw
        with probability `x / 255`.
      seed: non-negative int seeding the Bernoulli draw: the same seed and
        images give the same result.

    Returns:
      An int32 array of the same shape with values in `{0, 1}`.
    """
    _check_binarize(method)
    _check_seed(seed)
    images = _check_8bit(images)
    if method == "threshold":
        return (images >= _THRESHOLD).astype(np.int32)
    # A uniform integer u in [0, 255) is below x with probability exactly x / 255.
    uniform = np.random.default_rng(seed).integers(0, 255, images.shape, dtype=np.uint8)
    return (uniform < images).astype(np.int32)


def parse_split(split):
    """Parses a split in tfds's slicing syntax.

    Args:
      split: a split name with an optional slice of image counts or
        percentages, e.g. "test", "test[:8000]", "test[8000:]", "train[10%:]".

    Returns:
      `(name, start, stop, unit)`: the split's name, the slice's bounds (ints,
      or None where left out) and its unit, "abs" for image counts or "%".
    """
    match = _SPLIT_PATTERN.fullmatch(split) if isinstance(split, str) else None
    if match is None:
        raise ValueError(f"Expected `split` like {_SPLIT_EXAMPLES}. Received: split={split!r}")
    name, start, start_percent, stop, stop_percent = match.groups()
    start = int(start) if start else None
    stop = int(stop) if stop else None
    # A bare '%' ("train[%:]") or mixed units ("train[10%:500]") is ambiguous.
    if (start_percent and start is None) or (stop_percent and stop is None):
        raise ValueError(f"Expected a number before '%'. Received: split={split!r}")
    if start is not None and stop is not None and start_percent != stop_percent:
        raise ValueError(f"Expected both slice bounds in the same unit. Received: split={split!r}")
    unit = "%" if start_percent or stop_percent else "abs"
    if unit == "%" and any(abs(bound) > 100 for bound in (start, stop) if bound is not None):
        raise ValueError(f"Expected percentages in [-100, 100]. Received: split={split!r}")
    return name, start, stop, unit


def read_idx_images(path):
    """Reads an IDX file of unsigned bytes in three dimensions, gzip'ed or not.

    Args:
      path: a `*-images-idx3-ubyte` file, gzip'ed when its name ends in ".gz".

    Returns:
      A uint8 array `[num_images, rows, columns]`.
    """
    path = os.fspath(path)
    content = _read_file(path, "IDX file")
    if len(content) < _IDX_HEADER_BYTES:
        raise ValueError(
            f"Expected an IDX image file of at least {_IDX_HEADER_BYTES} bytes. "
            f"Received: {path} of {len(content)} bytes"
        )
    magic, *dims = (int(x) for x in np.frombuffer(content, ">i4", count=4))
    if magic != _IDX_MAGIC:
        raise ValueError(
            f"Expected an IDX image file with magic number {_IDX_MAGIC}. "
            f"Received: {path} with magic number {magic}"
        )
    num_pixels = len(content) - _IDX_HEADER_BYTES
    if min(dims) < 0 or num_pixels != np.prod(dims):
        raise ValueError(
            f"Expected {dims[0]}x{dims[1]}x{dims[2]} pixel bytes, as the header of {path} "
            f"says. Received: {num_pixels} bytes"
        )
    return np.frombuffer(content, np.uint8, offset=_IDX_HEADER_BYTES).reshape(dims)


def _read_file(path, what):
    """The bytes of `path`, gunzipped when its name ends in ".gz".

    Raises:
      ValueError: naming the file, where it cannot be read or is not whole
        gzip data (gzip raises `OSError`, `EOFError` or `zlib.error` for a
        damaged or truncated file).
    """
    try:
        with tf.io.gfile.GFile(path, "rb") as file:
            content = file.read()
        return gzip.decompress(content) if path.endswith(".gz") else content
    except (OSError, EOFError, zlib.error, tf.errors.OpError) as error:
        kind = "gzip data" if path.endswith(".gz") else "data"
        raise ValueError(
            f"Could not read the {what} {path}: its {kind} is damaged or truncated ({error})"
        ) from None


def amat_path(split_name, data_dir):
    """The `.amat` or `.amat.gz` file of a binarized MNIST split in `data_dir`, or None.

    Args:
      split_name: "train", "validation" or "test".
      data_dir: a folder, or None.
    """
    if data_dir is None or split_name not in _AMAT_STEMS:
        return None
    stem = os.path.join(os.fspath(data_dir), _AMAT_STEMS[split_name])
    return next((p for p in (stem + ".gz", stem) if tf.io.gfile.exists(p)), None)


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
    content = _read_file(path, ".amat file")
    lines = content.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError(f"Expected images in the .amat file {path}. Received: an empty file")
    images = np.empty((len(lines), _AMAT_PIXELS), np.uint8)
    for number, line in enumerate(lines):
        values = line.split()
        digits = np.frombuffer(b"".join(values), np.uint8) - ord("0")
        if len(values) != _AMAT_PIXELS or len(digits) != _AMAT_PIXELS or digits.max() > 1:
            raise ValueError(
                f"Expected {_AMAT_PIXELS} space-separated 0/1 values on each line of {path}. "
                f"Received on line {number + 1}: {len(values)} values "
                f"({line[:40].decode('ascii', 'replace')!r}...)"
            )
        images[number] = digits
    return images.reshape(-1, 28, 28, 1).astype(np.int32)


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
        "validation" and "test"), or tfds's data directory; for "mnist_idx" the folder of `train-images-idx3-ubyte[.gz]`
        and `t10k-images-idx3-ubyte[.gz]`; for "folder" the folder of
        images; for tfds data sets tfds's data directory (None for its
        default); unused for "digits".
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
    _check_name(name)
    _check_num_levels(num_levels)
    _check_binarize(binarize)
    _check_seed(seed)
    shape = _check_image_shape(name, image_shape)
    if name == "binarized_mnist" and num_levels != 2:
        raise ValueError(
            "Expected num_levels=2 for name='binarized_mnist', whose images are binary. "
            f"Received: num_levels={num_levels!r}"
        )
    if name == "binarized_mnist" and amat_path(parse_split(split)[0], data_dir) is not None:
        split_name, start, stop, unit = parse_split(split)
        images = _slice(read_amat(amat_path(split_name, data_dir)), start, stop, unit)
        return images if as_numpy else tf.data.Dataset.from_tensor_slices(images)
    if name in _TFDS_SHAPES:
        dataset = _load_tfds(name, split, data_dir, num_levels, binarize, seed, download)
        if not as_numpy:
            return dataset
        batches = list(dataset.batch(1024).as_numpy_iterator())
        return np.concatenate(batches) if batches else np.zeros((0,) + _SHAPES[name], np.int32)

    split_name, start, stop, unit = _parse_local_split(name, split)
    if name == "digits":
        images = _digits(split_name)
    elif name == FOLDER:
        images, _ = _folder(data_dir, shape)
    else:
        images = _mnist_idx(split_name, data_dir)
    if num_levels == 2:
        images = binarize_images(images, binarize, seed)
    else:
        images = quantize(images, num_levels)
    images = _slice(images, start, stop, unit).reshape((-1,) + shape)
    return images if as_numpy else tf.data.Dataset.from_tensor_slices(images)


def num_classes(name, data_dir=None):
    """The number of classes of data set `name`, or `None` if it has no labels.

    A folder (`data_dir`) has as many classes as class subfolders, if any.
    """
    _check_name(name)
    if name == FOLDER:
        return len(_class_folders(data_dir)) or None
    return _NUM_CLASSES.get(name)


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
    if num_classes(name, data_dir) is None:
        raise ValueError(
            f"The data set {name!r} has no class labels. Expected one of "
            f"{sorted(_NUM_CLASSES)}, or {FOLDER!r} with class subfolders. "
            f"Received: name={name!r}, data_dir={data_dir!r}"
        )
    if name in _TFDS_SHAPES:
        dataset = _tfds_load(name, split, data_dir, download)
        labels = dataset.map(lambda example: tf.cast(example["label"], tf.int32))
        batches = list(labels.batch(4096).as_numpy_iterator())
        return np.concatenate(batches) if batches else np.zeros([0], np.int32)
    split_name, start, stop, unit = _parse_local_split(name, split)
    if name == FOLDER:
        # Any shape: the labels do not depend on it.
        _, labels = _folder(data_dir, (1, 1, 1))
    elif name == "digits":
        from sklearn.datasets import load_digits

        labels = load_digits().target
        labels = labels[:_DIGITS_NUM_TRAIN] if split_name == "train" else labels[_DIGITS_NUM_TRAIN:]
    else:
        labels = _mnist_idx_labels(split_name, data_dir)
    return _slice(labels, start, stop, unit).astype(np.int32)


def _parse_local_split(name, split):
    """`parse_split` of a split of "digits", "mnist_idx" or "folder", its name checked."""
    split_name, start, stop, unit = parse_split(split)
    expected = ["train"] if name == FOLDER else ["test", "train"]
    if split_name not in expected:
        hint = (
            " (all of the folder's images; slice it, e.g. 'train[:90%]' and 'train[90%:]')"
            if name == FOLDER else ""
        )
        raise ValueError(
            f"Unknown split name for name={name!r}. Expected one of {expected}{hint}. "
            f"Received: split={split!r}"
        )
    return split_name, start, stop, unit


def _class_folders(data_dir):
    """The sorted subfolders of a folder data set (its classes), or [] if none."""
    _check_folder(data_dir)
    return sorted(
        entry.name for entry in os.scandir(data_dir)
        if entry.is_dir() and not entry.name.startswith(".")
    )


def _folder(data_dir, shape):
    """The images of a folder, read by Keras, and their labels.

    Args:
      data_dir: a folder of PNG or JPEG files, or of class subfolders of them.
      shape: `(height, width, channels)` to center-crop and resize to.

    Returns:
      `(images, labels)`: uint8 images `[num_images, height, width, channels]`
      and int32 labels `[num_images]` (the subfolder's index), or None
      without subfolders.
    """
    import keras  # Imported here: only folders need it.

    classes = _class_folders(data_dir)
    labelled = bool(classes)
    if labelled:
        # Keras reads only the class subfolders then: top-level images would
        # be dropped without a word.
        top = sorted(
            entry.name for entry in os.scandir(data_dir)
            if entry.is_file() and entry.name.lower().endswith(_IMAGE_EXTENSIONS)
        )
        if top:
            raise ValueError(
                f"Expected the images of data_dir={os.fspath(data_dir)!r} either all at its "
                f"top level or all in class subfolders, not both. Received: {len(top)} at the "
                f"top level ({', '.join(top[:3])}{', ...' if len(top) > 3 else ''}) and the "
                f"subfolders {classes[:5]}. Move them into a subfolder (a class of their own) "
                "or out of data_dir."
            )
    height, width, channels = shape
    try:
        dataset = keras.utils.image_dataset_from_directory(
            data_dir,
            labels="inferred" if labelled else None,
            color_mode=_COLOR_MODES[channels],
            batch_size=None,
            image_size=(height, width),
            shuffle=False,  # File name order: the same images in every split slice.
            # Area resizing averages the pixels a downscaled pixel covers.
            interpolation="area",
            crop_to_aspect_ratio=True,  # The center, not a squashed image.
            verbose=False,
        )
    except ValueError as error:  # Keras's "No images found in directory ...".
        raise ValueError(
            f"Expected PNG or JPEG files in data_dir={os.fspath(data_dir)!r} or in its "
            f"class subfolders for name={FOLDER!r}. {error}"
        ) from None
    images, labels = [], []
    try:
        for element in dataset.as_numpy_iterator():
            image, label = element if labelled else (element, None)
            images.append(image)
            labels.append(label)
    except tf.errors.OpError as error:  # A file TensorFlow cannot decode.
        _raise_undecodable(dataset.file_paths[len(images):], channels, error)
    if not images:
        raise ValueError(
            f"Expected PNG or JPEG files in data_dir={os.fspath(data_dir)!r} or in its "
            f"class subfolders for name={FOLDER!r}; found none."
        )
    # Resizing averages 8-bit values: back to integers before quantizing.
    images = np.clip(np.round(np.stack(images)), 0, 255).astype(np.uint8)
    return images, (np.array(labels, np.int32) if labelled else None)


def _raise_undecodable(paths, channels, error):
    """Raises a `ValueError` naming the first of `paths` that cannot be decoded.

    tf.data's `DecodeImage` error names no file; the files from the one
    that failed on are decoded again, one by one, as Keras decodes them.
    """
    for path in paths:
        try:
            tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        except tf.errors.OpError as file_error:
            reason = file_error.message.splitlines()[0] if file_error.message else "no data"
            raise ValueError(
                f"Expected PNG or JPEG files that decode. Received: {path}, which is "
                f"damaged, truncated or empty ({reason})."
            ) from None
    raise ValueError(f"Could not decode an image of the folder: {error.message}") from None


def _idx_path(stem_name, split_name, data_dir, what):
    """The path of an MNIST IDX file in `data_dir`, gzipped or not."""
    if data_dir is None:
        raise ValueError(
            "Expected `data_dir`, the folder of the MNIST IDX files, for name='mnist_idx'. "
            "Received: data_dir=None"
        )
    stem = os.path.join(os.fspath(data_dir), stem_name)
    path = next((p for p in (stem + ".gz", stem) if tf.io.gfile.exists(p)), None)
    if path is None:
        raise ValueError(
            f"Expected the MNIST IDX {what} {stem}.gz or {stem} for split {split_name!r}, "
            f"but neither exists. Received: data_dir={data_dir!r}"
        )
    return path


def _mnist_idx_labels(split_name, data_dir):
    """The uint8 MNIST labels `[num_images]` of an IDX labels file."""
    path = _idx_path(_IDX_LABEL_STEMS[split_name], split_name, data_dir, "labels file")
    content = _read_file(path, "IDX labels file")
    header = np.frombuffer(content[:_IDX_LABEL_HEADER_BYTES], ">i4")
    if (
        len(header) != 2
        or header[0] != _IDX_LABEL_MAGIC
        or len(content) - _IDX_LABEL_HEADER_BYTES != header[1]
    ):
        raise ValueError(
            f"Expected an IDX labels file with magic number {_IDX_LABEL_MAGIC} and as many "
            f"label bytes as its header says. Received: {path}"
        )
    return np.frombuffer(content, np.uint8, offset=_IDX_LABEL_HEADER_BYTES)


def _digits(split_name):
    """Returns uint8 digits `[num_images, 8, 8]` with values in `[0, 256)`."""
    from sklearn.datasets import load_digits  # Imported here: only this data set needs it.

    images = load_digits().images  # [1797, 8, 8], values 0..16.
    images = np.round(images * 255.0 / 16.0).astype(np.uint8)
    return images[:_DIGITS_NUM_TRAIN] if split_name == "train" else images[_DIGITS_NUM_TRAIN:]


def _mnist_idx(split_name, data_dir):
    """Returns uint8 MNIST images `[num_images, 28, 28]` read from IDX files."""
    path = _idx_path(_IDX_STEMS[split_name], split_name, data_dir, "file")
    images = read_idx_images(path)
    if images.shape[1:] != _SHAPES["mnist_idx"][:2]:
        raise ValueError(f"Expected 28x28 MNIST images. Received: {path} of shape {images.shape}")
    return images


def _slice(images, start, stop, unit):
    """Slices `images` along the first axis as tfds does, rounding percentages."""
    if unit == "%":
        # tfds's "closest" rounding, so that a slice selects what tfds would.
        start = None if start is None else round(start * len(images) / 100)
        stop = None if stop is None else round(stop * len(images) / 100)
    return images[start:stop]


def _tfds_load(name, split, data_dir, download):
    """`tfds.load` of a split's examples, downloading only when asked."""
    import tensorflow_datasets as tfds  # Imported here: only tfds data sets need it.

    try:
        # download=False by default: without network a download would hang or fail late.
        return tfds.load(name, split=split, data_dir=data_dir, download=download)
    except AssertionError as error:  # tfds's way of saying "not prepared".
        raise NotPreparedError(
            f"The tfds data set {name!r} is not prepared in data_dir={data_dir!r}. Pass "
            "download=True (--download in the commands) to download and prepare it there, "
            f"or prepare it on a machine with network access (`tfds build {name} "
            "--data_dir=DIR`) and pass that DIR as `data_dir`."
        ) from error


def _load_tfds(name, split, data_dir, num_levels, binarize, seed, download):
    """Returns a dataset of int32 images `[height, width, channels]` from tfds."""
    dataset = _tfds_load(name, split, data_dir, download)
    shape = _SHAPES[name]
    seed = tf.constant(seed, tf.int64)

    def to_levels(index, example):
        image = tf.cast(tf.ensure_shape(example["image"], shape), tf.int32)
        if name == "binarized_mnist":
            return image
        if num_levels > 2:
            return _levels(image, num_levels)
        if binarize == "threshold":
            return tf.cast(image >= _THRESHOLD, tf.int32)
        # Keyed by (seed, position): the same draw in every epoch and call.
        uniform = tf.random.stateless_uniform(
            shape, tf.stack([seed, index]), minval=0, maxval=255, dtype=tf.int32
        )
        return tf.cast(uniform < image, tf.int32)

    return dataset.enumerate().map(to_levels, num_parallel_calls=tf.data.AUTOTUNE)


def _levels(images, num_levels):
    """`floor(x * num_levels / 256)` of int32 8-bit values, a numpy array or a tensor."""
    return images * num_levels // 256


def _check_name(name):
    if name not in _SHAPES and name != FOLDER:
        raise ValueError(
            f"Unknown dataset name. Expected one of {names()}. Received: name={name!r}"
        )


def _check_num_levels(num_levels):
    if (
        isinstance(num_levels, bool)
        or not isinstance(num_levels, (int, np.integer))
        or not 2 <= num_levels <= 256
    ):
        raise ValueError(
            f"Expected `num_levels` to be an int in [2, 256]. Received: num_levels={num_levels!r}"
        )


def _check_image_shape(name, image_shape):
    """The shape of `name`'s images: its own, or `image_shape` for a folder."""
    own = _SHAPES.get(name)
    if own is not None:
        if image_shape is not None and tuple(image_shape) != own:
            raise ValueError(
                f"The data set {name!r} has images of shape {own}. Expected "
                f"image_shape=None or {own}. Received: image_shape={image_shape!r}"
            )
        return own
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) != 3
        or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                   for d in image_shape)
        or image_shape[2] not in _COLOR_MODES
    ):
        raise ValueError(
            f"Expected `image_shape` (height, width, channels), positive ints with 1 or 3 "
            f"channels, the shape to resize a folder's images to. "
            f"Received: image_shape={image_shape!r}"
        )
    return tuple(int(d) for d in image_shape)


def _check_folder(data_dir):
    if data_dir is None or not os.path.isdir(data_dir):
        raise ValueError(
            f"Expected `data_dir`, the folder of PNG or JPEG files, for name={FOLDER!r}. "
            f"Received: data_dir={data_dir!r}"
        )


def _check_binarize(binarize):
    if binarize not in BINARIZATIONS:
        raise ValueError(
            f"Expected `binarize` to be one of {list(BINARIZATIONS)}. "
            f"Received: binarize={binarize!r}"
        )


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Expected `seed` to be a non-negative int. Received: seed={seed!r}")


def _check_8bit(images):
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.integer):
        raise ValueError(f"Expected integer 8-bit images. Received: images of dtype {images.dtype}")
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(
            "Expected 8-bit images with values in [0, 256). Received: values in "
            f"[{images.min()}, {images.max()}]"
        )
    return images
