"""The `tf.data` pipelines of training: `pairs` and the resumable `epoch_batches`."""

import numpy as np
import tensorflow as tf


def _with_targets(images, condition=None):
    """A batch as `model.fit` takes it: `(images, images)`, or `((images, condition), images)`."""
    return (images, images) if condition is None else ((images, condition), images)


def pairs(images, batch_size, shuffle_seed=None, condition=None):
    """A `tf.data.Dataset` of `(images, images)` batches for `model.fit`.

    Args:
      images: a `tf.data.Dataset` of int `[H, W, C]` images, or an int
        array `[N, H, W, C]`.
      batch_size: int.
      shuffle_seed: `None` for no shuffling, else the seed of a shuffle that
        is redone every epoch.
      condition: for a conditioned model with array `images`, one condition
        per image (int labels `[N]`, say): the batches are then
        `((images, condition), images)`.
    """
    if isinstance(images, tf.data.Dataset):
        dataset = images
    else:
        dataset = tf.data.Dataset.from_tensor_slices(
            images if condition is None else (images, condition)
        )
    dataset = dataset.cache()  # Deterministic preprocessing happens once.
    if shuffle_seed is not None:
        dataset = dataset.shuffle(10_000, seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(_with_targets)
    return dataset.prefetch(tf.data.AUTOTUNE)


def epoch_batches(images, batch_size, seed, start_batch=0, condition=None):
    """An endless dataset of `(images, images)` batches, resumable anywhere.

    Pass `e` over the data visits `images` in a permutation that depends
    only on `(seed, e)` (a stateless index shuffle), so a run resumed at
    batch `b` sees exactly the batches an uninterrupted run would from its
    batch `b` on. Each pass has `len(images) // batch_size` full batches.

    Args:
      images: int array `[N, H, W, C]`.
      batch_size: int, the global batch size.
      seed: int.
      start_batch: the index of the first batch to produce.
      condition: for a conditioned model, one condition per image (int
        labels `[N]`, say), drawn with its image: the batches are then
        `((images, condition), images)`.
    """
    images = np.asarray(images)
    count = len(images)
    per_epoch = count // batch_size * batch_size
    if per_epoch == 0:
        raise ValueError(
            f"Expected at least `batch_size` images. Received: {count} images, "
            f"batch_size={batch_size}"
        )
    tables = (tf.constant(images),) + (() if condition is None else (tf.constant(condition),))

    def epoch(e):
        order = tf.random.experimental.index_shuffle(
            tf.range(per_epoch, dtype=tf.int64),
            seed=tf.stack([tf.cast(seed, tf.int64), e]),
            max_index=count - 1,
        )
        return tf.data.Dataset.from_tensor_slices(order)

    batches_per_pass = per_epoch // batch_size
    first_pass, skip = divmod(start_batch, batches_per_pass)
    dataset = tf.data.Dataset.range(first_pass, 2**62).flat_map(epoch)
    dataset = dataset.batch(batch_size, drop_remainder=True).skip(skip)
    dataset = dataset.map(
        lambda i: tuple(tf.gather(table, i) for table in tables),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.map(_with_targets).prefetch(tf.data.AUTOTUNE)
