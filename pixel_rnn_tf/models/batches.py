"""The layouts of a batch that the models take, brought to one (`model_batch`).

Keras users write images alone, `(images, images)`, `(images, condition)`
pairs, `((images, condition),)` and dicts named as the serving signatures
name their inputs; `fit`, `evaluate` and `call` see them all.
"""

import keras
import tensorflow as tf

from pixel_rnn_tf import conditioning

# The names of a dict of inputs: the serving signatures' names.
IMAGES_KEY = "images"
CONDITION_KEY = "condition"


def from_dict(inputs):
    """`images` or `(images, condition)` of a dict `{"images", "condition"}`; else `inputs`."""
    if not isinstance(inputs, dict):
        return inputs
    unknown = sorted(set(inputs) - {IMAGES_KEY, CONDITION_KEY})
    if unknown or IMAGES_KEY not in inputs:
        raise ValueError(
            f'Expected a dict of inputs with the keys "{IMAGES_KEY}" and, for a conditioned '
            f'model, "{CONDITION_KEY}". Received: keys {sorted(inputs)}'
        )
    if CONDITION_KEY in inputs:
        return inputs[IMAGES_KEY], inputs[CONDITION_KEY]
    return inputs[IMAGES_KEY]


def _is_image_target(config, value, conditional):
    """Whether `value` is a batch of images `[batch, H, W, C]` (a target), from its static spec.

    A conditioned model's float maps may have the images' shape, so there
    only integer values are images.
    """
    dtype = getattr(value, "dtype", None)
    shape = getattr(value, "shape", None)
    if dtype is None or shape is None or len(shape) != 4:
        return False
    if conditional and not tf.as_dtype(dtype).is_integer:
        return False
    return tf.TensorShape(shape[1:]).is_compatible_with(config.image_shape)


def _spec_words(value):
    """A value's dtype and shape, for messages."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return f"a {type(value).__name__}"
    return f"{tf.as_dtype(dtype).name} of shape {tuple(shape)}"


def model_batch(config, conditional, data):
    """`(x, y, sample_weight)` of one batch in every layout Keras users write.

    A density model's target is its input. Accepted, for a model without a
    condition: `images`, `(images,)`, `(images, images)` and
    `(images, images, sample_weight)`; for a conditioned one: `(images,
    condition)` (a `tf.data.Dataset` of `as_supervised` pairs, or
    `fit(images, labels)`), `((images, condition),)`, `((images,
    condition), images)` and a dict `{"images": ..., "condition": ...}`
    (the serving signatures' names) in place of `x`, each with an optional
    `sample_weight` last.

    Args:
      config: the model's config.
      conditional: whether the model takes a condition.
      data: a batch as Keras's `fit` and `evaluate` see it.

    Returns:
      `(x, y, sample_weight)`: `x` the images, or `(images, condition)`;
      `y` the images.

    Raises:
      ValueError: a second element that is not an image target for a model
        without a condition (labels, say), or no condition for a model that
        takes one; each says what to pass instead.
    """
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    x = from_dict(x)
    if isinstance(x, (tuple, list)) and len(x) == 1:
        x = x[0]
    pair = isinstance(x, (tuple, list))
    if not conditional:
        if pair:
            raise ValueError(
                "This model takes no condition (num_classes=None, condition_shape=None): its "
                f"input is images alone. Received: x, a {type(x).__name__} of {len(x)}"
            )
        if y is not None and not _is_image_target(config, y, conditional):
            raise ValueError(
                "This model takes no condition (num_classes=None, condition_shape=None) and "
                f"learns its input images, which are its targets; the data's second element is "
                f"not images of shape [batch, {', '.join(map(str, config.image_shape))}] "
                f"(labels of an `as_supervised` data set?). Received: {_spec_words(y)}. Drop "
                "it (`dataset.map(lambda images, labels: images)`), or condition the model "
                "on it (`ModelConfig(num_classes=...)` for labels, `condition_shape=...` for "
                "vectors and maps)."
            )
        return x, (x if y is None else y), sample_weight
    if pair:
        images, condition = x
    elif y is not None and not _is_image_target(config, y, conditional):
        images, condition, y = x, y, None  # `(images, condition)`: the condition second.
    else:
        raise ValueError(
            f"This model is conditioned on {conditioning.describe(config)}: pass `(images, "
            'condition)` data (e.g. an `as_supervised` data set of labels), a dict {"images": '
            '..., "condition": ...}, or `x=(images, condition)`. Received: images '
            f"({_spec_words(x)}) and no condition"
        )
    return (images, condition), (images if y is None else y), sample_weight
