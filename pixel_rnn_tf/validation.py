"""Checks of user-supplied images and labels, in one place.

Static properties (dtype, rank, shape) raise `ValueError` at once. Values are
checked eagerly as `ValueError`, and inside a graph as an assertion that
fails with `InvalidArgumentError`, so no out-of-range pixel silently indexes
past a softmax.
"""

import math
import numbers

import numpy as np
import tensorflow as tf


def is_int(value):
    """A Python or numpy integer, not a bool (`True` is an `int` to Python)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name, value, minimum, maximum=None):
    """Checks a scalar argument is an int in `[minimum, maximum]`; returns it as a Python int.

    A Python int, not the NumPy integer it may have been: configs hold it and
    serialize to JSON.

    Raises:
      ValueError: naming `name`, what it got, and what it expects.
    """
    if not is_int(value) or value < minimum or (maximum is not None and value > maximum):
        expected = (
            f"an int in [{minimum}, {maximum}]" if maximum is not None else f"an int >= {minimum}"
        )
        raise ValueError(f"Expected `{name}` to be {expected}. Received: {name}={value!r}")
    return int(value)


def check_images(images, image_shape, num_levels, name="images", exact_rank=4):
    """Validates integer images and returns them as int32.

    Args:
      images: integer `[..., height, width, channels]`.
      image_shape: `(height, width, channels)` expected.
      num_levels: values must lie in `[0, num_levels)`.
      name: the argument's name, for the messages.
      exact_rank: the rank required, or `None` to allow any leading dims.

    Returns:
      int32 tensor of the same shape.
    """
    images = tf.convert_to_tensor(images)
    if not images.dtype.is_integer:
        raise ValueError(
            f"Expected `{name}` to have an integer dtype (pixel values in "
            f"[0, {num_levels})). Received: {name}.dtype={images.dtype.name}"
        )
    rank = images.shape.rank
    if rank is None or (exact_rank is not None and rank != exact_rank) or rank < 3:
        expected = (
            f"rank {exact_rank} [batch, height, width, channels]"
            if exact_rank
            else "rank >= 3 [..., height, width, channels]"
        )
        raise ValueError(f"Expected `{name}` of {expected}. Received: {name}.shape={images.shape}")
    actual = tuple(images.shape[-3:])
    if any(a is not None and a != e for a, e in zip(actual, image_shape)):
        raise ValueError(
            f"Expected `{name}` of shape [..., {', '.join(map(str, image_shape))}] "
            f"(height, width, channels). Received: {name}.shape={images.shape}"
        )
    return check_range(images, num_levels, name)


def check_range(values, upper, name):
    """Checks integer `values` lie in `[0, upper)`; returns them as int32."""
    values = tf.convert_to_tensor(values)
    if tf.executing_eagerly():
        if tf.size(values) > 0:
            low, high = int(tf.reduce_min(values)), int(tf.reduce_max(values))
            if low < 0 or high >= upper:
                raise ValueError(
                    f"Expected `{name}` values in [0, {upper}). "
                    f"Received: values in [{low}, {high}]"
                )
        return tf.cast(values, tf.int32)
    values = tf.cast(values, tf.int64)  # Compare wide: uint8 can't hold 256.
    checks = [
        tf.debugging.assert_greater_equal(
            values, tf.constant(0, tf.int64), message=f"`{name}` values must be >= 0"
        ),
        tf.debugging.assert_less(
            values, tf.constant(upper, tf.int64), message=f"`{name}` values must be < {upper}"
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.cast(values, tf.int32)


def check_finite(values, name):
    """Checks float `values` are finite (no NaN or infinity); returns them."""
    values = tf.convert_to_tensor(values)
    if tf.executing_eagerly():
        if not bool(tf.reduce_all(tf.math.is_finite(values))):
            raise ValueError(f"Expected `{name}` to be finite. Received: NaN or infinite values")
        return values
    return tf.debugging.assert_all_finite(values, f"`{name}` must be finite")


def check_count(values, count, name, expected="one per image"):
    """Checks `values` has `count` (int or int32 scalar) rows; returns `values`.

    Known now (eagerly, or from static shapes in a graph): a `ValueError` at
    once; otherwise an assertion when the graph runs.
    """
    values = tf.convert_to_tensor(values)
    rows = tf.shape(values)[0]
    static_rows, static_count = tf.get_static_value(rows), tf.get_static_value(count)
    if static_rows is not None and static_count is not None:
        if int(static_rows) != int(static_count):
            raise ValueError(
                f"Expected `{name}` with {int(static_count)} rows ({expected}). "
                f"Received: {name}.shape={values.shape}"
            )
        return values
    with tf.control_dependencies(
        [tf.debugging.assert_equal(rows, tf.cast(count, rows.dtype),
                                   message=f"Expected `{name}` {expected}")]
    ):
        return tf.identity(values)


# Values per channel: binary images up to 8-bit ones.
MAX_LEVELS = 256
# Grayscale or RGB.
COLOR_CHANNELS = (1, 3)


def check_num_levels(num_levels):
    """Checks `num_levels`, the values per channel, is an int in `[2, 256]`; returns it."""
    return check_int("num_levels", num_levels, 2, MAX_LEVELS)


def check_image_shape(image_shape, purpose=None):
    """Checks an image shape; returns it as a tuple of Python ints.

    Args:
      image_shape: `(height, width, channels)`, a tuple or list of positive
        ints with channels 1 or 3.
      purpose: what the shape is for, said in the message; or None.

    Raises:
      ValueError: naming what it got and what it expects.
    """
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) != 3
        or not all(is_int(size) and size > 0 for size in image_shape)
        or image_shape[2] not in COLOR_CHANNELS
    ):
        raise ValueError(
            "Expected `image_shape` (height, width, channels), positive ints with "
            f"{' or '.join(map(str, COLOR_CHANNELS))} channels{', ' + purpose if purpose else ''}. "
            f"Received: image_shape={image_shape!r}"
        )
    return tuple(int(size) for size in image_shape)


def check_dataset_image_shape(dataset, shape, image_shape):
    """Refuses a data set whose images (`shape`; None: any) are not a model's `image_shape`."""
    if shape is not None and tuple(shape) != tuple(image_shape):
        raise ValueError(
            f"The data set {dataset!r} has images of shape {tuple(shape)} but the model "
            f"expects image_shape={tuple(image_shape)}."
        )


def check_one_of(name, value, choices, what):
    """Checks `value` is one of `choices`, a registry's names; returns it.

    Args:
      name: the argument's name, for the message.
      value: what it got.
      choices: the known values, a sequence shown in the message.
      what: what the values are, e.g. "dataset name": "Unknown dataset name."

    Raises:
      ValueError: naming what it got and what it expects.
    """
    if value not in choices:
        raise ValueError(f"Unknown {what}. Expected one of {choices}. Received: {name}={value!r}")
    return value


# `draw` divides float32 logits by the temperature: below float32's smallest
# normal number a temperature is subnormal (1e-45 is stored as 1.4e-45) or
# zero (1e-50), above its largest it is infinite (1e300), so the bounds are
# checked on the float32 value, not on the number as written.
MIN_TEMPERATURE = float(np.finfo(np.float32).tiny)
MAX_TEMPERATURE = float(np.finfo(np.float32).max)


def _temperature_error(temperature, detail=""):
    return ValueError(
        f"Expected `temperature` to be a float in [{MIN_TEMPERATURE:.4g}, {MAX_TEMPERATURE:.4g}] "
        f"(a finite, positive, normal float32, the dtype of the logits it divides){detail}. "
        f"Received: temperature={temperature!r}"
    )


def check_temperature(temperature):
    """Validates a temperature in float32, the logits' dtype; returns a float32 scalar tensor.

    A Python or numpy number is checked at once (`ValueError`), as is a
    tensor eagerly; inside a graph a float or int scalar tensor is checked
    by assertions (`InvalidArgumentError`). Refused: `None`, strings,
    bools, non-scalars, NaN, and numbers that float32 holds as zero, a
    subnormal or infinity (`MIN_TEMPERATURE`, `MAX_TEMPERATURE`).
    """
    if isinstance(temperature, (int, float, np.integer, np.floating)) and not isinstance(
        temperature, (bool, np.bool_)
    ):
        with np.errstate(over="ignore", under="ignore"):
            value = float(np.float32(temperature))
        if not (math.isfinite(value) and MIN_TEMPERATURE <= value):
            detail = f"; float32 holds it as {value}" if value != temperature else ""
            raise _temperature_error(temperature, detail)
        return tf.constant(value, tf.float32)
    if temperature is None or isinstance(temperature, (str, bytes, bool, np.bool_)):
        raise _temperature_error(temperature)
    try:
        tensor = tf.convert_to_tensor(temperature)
    except (TypeError, ValueError):
        raise _temperature_error(temperature) from None
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer) or tensor.shape.rank != 0:
        raise _temperature_error(
            temperature, f"; a scalar, not dtype {tensor.dtype.name} of shape {tensor.shape}"
        )
    tensor = tf.cast(tensor, tf.float32)
    if tf.executing_eagerly():
        return check_temperature(float(tensor))
    with tf.control_dependencies(
        [
            tf.debugging.assert_all_finite(tensor, "`temperature` must be finite"),
            tf.debugging.assert_greater_equal(
                tensor, MIN_TEMPERATURE,
                message=f"`temperature` must be >= {MIN_TEMPERATURE:.4g} (a normal float32)",
            ),
        ]
    ):
        return tf.identity(tensor)


def check_seed(seed):
    """Validates a sampling seed; returns it unchanged for `tfp.random.sanitize_seed`.

    A seed is `None` (tfp's stateful draw), an int, a pair of ints, or an
    integer tensor of shape `[]` or `[2]`. Anything else (a string, a
    float, three ints) is a `ValueError` naming `seed`, not TensorFlow's
    conversion error.
    """
    if seed is None:
        return seed
    error = ValueError(
        "Expected `seed` to be None, an int, a pair of ints, or an int tensor of shape [] or "
        f"[2]. Received: seed={seed!r}"
    )
    if isinstance(seed, (bool, np.bool_, str, bytes, float, np.floating)):
        raise error
    if isinstance(seed, (int, np.integer)):
        return seed
    if isinstance(seed, (tuple, list)):
        if len(seed) != 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) for s in seed
        ):
            raise error
        return seed
    try:
        tensor = tf.convert_to_tensor(seed)
    except (TypeError, ValueError):
        raise error from None
    if not tensor.dtype.is_integer or tensor.shape.rank is None or (
        tuple(tensor.shape) not in ((), (2,))
    ):
        raise error
    return seed


MAX_NUM_SAMPLES = 2**31 - 1  # Images are counted in int32.


def check_num_samples(num_samples):
    """Validates a number of samples: a positive int or int scalar tensor, never rounded."""
    if isinstance(num_samples, (int, np.integer)) and not isinstance(num_samples, bool):
        if not 0 < num_samples <= MAX_NUM_SAMPLES:
            raise ValueError(
                f"Expected `num_samples` to be an int in [1, {MAX_NUM_SAMPLES}]. "
                f"Received: num_samples={num_samples}"
            )
        return int(num_samples)
    tensor = tf.convert_to_tensor(num_samples) if not isinstance(num_samples, float) else None
    if tensor is None or not tensor.dtype.is_integer or tensor.shape.rank != 0:
        raise ValueError(
            "Expected `num_samples` to be a positive int (or an int scalar tensor); it is "
            f"never rounded. Received: num_samples={num_samples!r}"
        )
    if tf.executing_eagerly():
        return check_num_samples(int(tensor))
    num_samples = tf.cast(tensor, tf.int32)
    with tf.control_dependencies(
        [tf.debugging.assert_positive(num_samples, message="`num_samples` must be > 0")]
    ):
        return tf.identity(num_samples)
