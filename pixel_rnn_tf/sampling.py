"""The one sampler of the package: exact ancestral sampling and completion.

Pixels are drawn in raster order and, inside a pixel, R, then G given R,
then B given R and G (§2). The loop is a `tf.while_loop`, randomness is
stateless (the same seed gives the same images) and every method draws with
the same Gumbel noise, so the methods differ only in how they compute each
step's logits:

* `"naive"`: the whole network once per (pixel, channel) step; the reference.
* `"cached"`: incremental computation from per-layer caches (see `caching`).
"""

import weakref

import tensorflow as tf
import tensorflow_probability as tfp

from pixel_rnn_tf import caching
from pixel_rnn_tf import validation

METHODS = ("auto", "naive", "cached")


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"Expected `method` to be one of {METHODS}. Received: method={method!r}")


def check_temperature(temperature):
    """Validates `temperature > 0`; returns it as a float32 tensor."""
    if isinstance(temperature, (int, float)):
        if not temperature > 0:
            raise ValueError(
                f"Expected `temperature` > 0. Received: temperature={temperature}"
            )
        return tf.constant(temperature, tf.float32)
    temperature = tf.cast(temperature, tf.float32)
    if tf.executing_eagerly():
        return check_temperature(float(temperature))
    with tf.control_dependencies(
        [tf.debugging.assert_positive(temperature, message="`temperature` must be > 0")]
    ):
        return tf.identity(temperature)


def draw(logits, seed, temperature):
    """Draws one value per row of `logits` `[batch, num_levels]` (Gumbel-max).

    Gumbel-max with stateless noise makes the draw a deterministic function
    of `(logits, seed)`, so samplers that compute the same logits draw the
    same values.
    """
    uniform = tf.random.stateless_uniform(
        tf.shape(logits), seed=seed, minval=1e-7, maxval=1.0 - 1e-7
    )
    gumbel = -tf.math.log(-tf.math.log(uniform))
    return tf.argmax(logits / temperature + gumbel, axis=-1, output_type=tf.int32)


class NaiveStepper:
    """Logits of step `k` from a full forward pass over the current images."""

    def __init__(self, model):
        self.model = model

    def initial_state(self, batch_size, labels):
        return ()

    def step(self, state, images, position, labels):
        """The logits `[batch, num_levels]` of `position` `(i, j, c)`, and the
        values `update` keeps once the pixel is complete (none here)."""
        inputs = images if labels is None else (images, labels)
        logits = self.model(inputs)  # [B, H, W, C, levels]
        i, j, c = position
        return logits[:, i, j, c], {}

    def update(self, state, values, images, position, labels):
        """Called after a whole pixel `(i, j)` is drawn, with its last step's values."""
        return state


def _stepper(model, method):
    _check_method(method)
    if method == "naive":
        return NaiveStepper(model)
    return caching.make_stepper(model)  # "auto" and "cached": exact and fastest.


def _check_num_samples(num_samples):
    if isinstance(num_samples, int):
        if num_samples <= 0:
            raise ValueError(
                f"Expected `num_samples` to be a positive int. Received: num_samples={num_samples}"
            )
        return num_samples
    num_samples = tf.cast(num_samples, tf.int32)
    with tf.control_dependencies(
        [tf.debugging.assert_positive(num_samples, message="`num_samples` must be > 0")]
    ):
        return tf.identity(num_samples)


def _check_labels(model, labels, batch_size):
    if model.config.num_classes is None:
        if labels is not None:
            raise ValueError(
                "`labels` given for a model that is not class-conditional (num_classes=None)."
            )
        return None
    if labels is None:
        raise ValueError(
            f"The model is class-conditional (num_classes={model.config.num_classes}): "
            "pass `labels`, int [num_samples]."
        )
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer or labels.shape.rank != 1:
        raise ValueError(
            "Expected `labels` to be an int vector [num_samples]. "
            f"Received: labels.dtype={labels.dtype.name}, labels.shape={labels.shape}"
        )
    return validation.check_range(labels, model.config.num_classes, "labels")


def _fill(model, images, known, seed, temperature, labels, method):
    """The sampling loop: draws every pixel where `known` is False.

    Args:
      images: int32 `[batch, H, W, C]`.
      known: bool `[batch, H, W, C]`.
      seed: int32 `[2]`, a stateless seed.
      temperature: float32 scalar > 0.

    Returns:
      int32 images `[batch, H, W, C]`.
    """
    height, width, channels = model.config.image_shape
    stepper = _stepper(model, method)
    batch_size = tf.shape(images)[0]

    def body(k, images, state):
        i, j, c = k // (width * channels), (k // channels) % width, k % channels
        logits, values = stepper.step(state, images, (i, j, c), labels)
        seed_k = tf.random.experimental.stateless_fold_in(seed, k)
        drawn = draw(logits, seed_k, temperature)
        at_k = tf.one_hot(k, height * width * channels, on_value=True, off_value=False)
        at_k = tf.reshape(at_k, [1, height, width, channels])
        fill = tf.logical_and(at_k, tf.logical_not(known))
        images = tf.where(fill, drawn[:, None, None, None], images)
        state = tf.cond(
            tf.equal(c, channels - 1),
            lambda: stepper.update(state, values, images, (i, j, c), labels),
            lambda: state,
        )
        return k + 1, images, state

    _, images, _ = tf.while_loop(
        lambda k, *_: k < height * width * channels,
        body,
        (tf.constant(0), images, stepper.initial_state(batch_size, labels)),
    )
    return images


# One traced function per (model, method); weak keys free it with the model.
_FUNCTIONS = weakref.WeakKeyDictionary()


def _function(model, method):
    functions = _FUNCTIONS.setdefault(model, {})
    if method not in functions:
        functions[method] = tf.function(
            lambda *args: _fill(model, *args, method=method), reduce_retracing=True
        )
    return functions[method]


def _run(model, images, known, seed, temperature, labels, method):
    args = (images, known, tfp.random.sanitize_seed(seed), temperature, labels)
    if tf.executing_eagerly():
        return _function(model, method)(*args)
    return _fill(model, *args, method=method)


def sample(model, num_samples, seed=None, temperature=1.0, method="auto", labels=None):
    """Draws images from `model`, exactly, in raster and R-G-B order.

    Args:
      model: a `PixelModel`.
      num_samples: positive int (or int32 scalar tensor).
      seed: a stateless seed: int, pair of ints or int32 `[2]`; the same
        seed gives the same images.
      temperature: float > 0; logits are divided by it.
      method: "auto" (the fastest exact method), "naive" or "cached".
      labels: int `[num_samples]` for a class-conditional model.

    Returns:
      int32 images `[num_samples, height, width, channels]`.
    """
    _check_method(method)
    num_samples = _check_num_samples(num_samples)
    temperature = check_temperature(temperature)
    labels = _check_labels(model, labels, num_samples)
    shape = tf.concat([[num_samples], model.config.image_shape], axis=0)
    images = tf.zeros(shape, tf.int32)
    known = tf.zeros(shape, tf.bool)
    return _run(model, images, known, seed, temperature, labels, method)


def complete(model, images, known, seed=None, temperature=1.0, method="auto", labels=None):
    """Fills the pixels where `known` is False, keeping the others exactly.

    Pixels are drawn in raster order, each conditioned on everything before
    it. When `known` is a prefix in that order (the paper's occluded lower
    halves) this samples the exact conditional distribution; for any other
    mask a drawn pixel is conditioned only on its past, not on known pixels
    after it.

    Args:
      model: a `PixelModel`.
      images: int `[batch, H, W, C]`; values where `known` is False are ignored
        but must still be in range.
      known: bool `[batch, H, W, C]` (or broadcastable `[H, W, C]`).
      seed, temperature, method, labels: as in `sample`.

    Returns:
      int32 images `[batch, H, W, C]`.
    """
    _check_method(method)
    config = model.config
    images = validation.check_images(images, config.image_shape, config.num_levels)
    known = tf.convert_to_tensor(known)
    if known.dtype != tf.bool:
        raise ValueError(f"Expected `known` to be bool. Received: known.dtype={known.dtype.name}")
    if not known.shape.is_compatible_with(images.shape) and tuple(known.shape) != config.image_shape:
        raise ValueError(
            f"Expected `known` of shape {images.shape} or {config.image_shape}. "
            f"Received: known.shape={known.shape}"
        )
    known = tf.broadcast_to(known, tf.shape(images))
    temperature = check_temperature(temperature)
    labels = _check_labels(model, labels, tf.shape(images)[0])
    return _run(model, images, known, seed, temperature, labels, method)
