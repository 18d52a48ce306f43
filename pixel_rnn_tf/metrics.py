"""Likelihood units: nats per image and bits per dimension (§5.1)."""

import math

import keras
import numpy as np
import tensorflow as tf

from pixel_rnn_tf import head
from pixel_rnn_tf.registry import register_serializable


def bits_per_dim(nats_per_image, image_shape):
    """Converts nats per image to bits per dimension: `nats / (H * W * C) / ln 2`.

    Works on Python floats, numpy arrays and tensors alike.
    """
    return nats_per_image / (int(np.prod(image_shape)) * math.log(2.0))


def dequantized_nats(nats_per_image, image_shape, num_levels=256):
    """Negative log-density of `(x + u) / num_levels`, `u ~ U[0, 1)`, on `[0, 1]^D` (§5.1).

    The density of `x + u` on `[0, num_levels)^D` equals the discrete
    probability of `x` (each value owns a unit interval), so there the
    negative log-density is `nats` itself. Rescaling to `[0, 1]` shrinks each
    interval to width `1 / num_levels` and multiplies the density by
    `num_levels^D`, so the negative log-density is `nats - D * ln(num_levels)`:
    `D * ln 256` for 8-bit data, `D * ln 2` for binarized data.
    """
    return nats_per_image - int(np.prod(image_shape)) * math.log(num_levels)


class _NegativeLogLikelihood(keras.metrics.Mean):
    """A mean NLL of `(y_true, y_pred)`: lower is better.

    `_direction` is the attribute Keras's `MonitorCallback` reads to infer
    `mode`, so `EarlyStopping(monitor="val_bits_per_dim")` and
    `ModelCheckpoint(..., save_best_only=True)` minimize it without
    `mode="min"`.
    """

    _direction = "down"

    def __init__(self, name, dtype=None):
        super().__init__(name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@register_serializable
class NatsPerImage(_NegativeLogLikelihood):
    """Mean negative log-likelihood in nats per image (`CategoricalNLL` as a metric).

    Takes int images `[batch, H, W, C]` and logits `[batch, H, W, C, num_levels]`.
    """

    def __init__(self, name="nats_per_image", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(-head.log_prob(y_pred, y_true), sample_weight)


@register_serializable
class BitsPerDim(_NegativeLogLikelihood):
    """Mean negative log-likelihood in bits per dimension.

    Takes the same `(y_true, y_pred)` as `CategoricalNLL`: int images
    `[batch, H, W, C]` and logits `[batch, H, W, C, num_levels]`.
    """

    def __init__(self, name="bits_per_dim", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        nats = -head.log_prob(y_pred, y_true)
        dims = tf.cast(tf.reduce_prod(tf.shape(y_true)[-3:]), nats.dtype)
        return super().update_state(nats / (dims * math.log(2.0)), sample_weight)
