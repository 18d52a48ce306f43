"""tfds data sets, downloaded only when asked.

`download=False` (the default) never touches the network: a data set not
prepared in `data_dir` raises `NotPreparedError`, which says how to prepare
it.
"""

import numpy as np
import tensorflow as tf

from pixel_rnn_tf.data import quantization


class NotPreparedError(RuntimeError):
    """A tfds data set is not prepared in `data_dir`, and `download=False`."""


def load_images(name, split, data_dir, image_shape, num_levels, binarize, seed, download,
                binary=False):
    """A dataset of int32 images `[height, width, channels]` from tfds.

    Args:
      name, split, data_dir, download: as for `tfds.load`.
      image_shape: `(height, width, channels)`, the data set's.
      num_levels, binarize, seed: as in `data.load`; the Bernoulli draw is
        keyed by `seed` and the image's position in the loaded slice.
      binary: the images are 0/1 already: returned as they are.

    Returns:
      An unbatched `tf.data.Dataset` of int32 `[height, width, channels]`
      with values in `[0, num_levels)`.
    """
    dataset = _tfds_load(name, split, data_dir, download)
    seed = tf.constant(seed, tf.int64)

    def to_levels(index, example):
        image = tf.cast(tf.ensure_shape(example["image"], image_shape), tf.int32)
        if binary:
            return image
        if num_levels > 2:
            return quantization.levels(image, num_levels)
        if binarize == "threshold":
            return tf.cast(image >= quantization.THRESHOLD, tf.int32)
        # Keyed by (seed, position): the same draw in every epoch and call.
        uniform = tf.random.stateless_uniform(
            image_shape, tf.stack([seed, index]), minval=0, maxval=255, dtype=tf.int32
        )
        return tf.cast(uniform < image, tf.int32)

    return dataset.enumerate().map(to_levels, num_parallel_calls=tf.data.AUTOTUNE)


def load_labels(name, split, data_dir, download):
    """The int32 class labels `[num_images]` of a tfds split, in `load_images`'s order."""
    dataset = _tfds_load(name, split, data_dir, download)
    labels = dataset.map(lambda example: tf.cast(example["label"], tf.int32))
    batches = list(labels.batch(4096).as_numpy_iterator())
    return np.concatenate(batches) if batches else np.zeros([0], np.int32)


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
