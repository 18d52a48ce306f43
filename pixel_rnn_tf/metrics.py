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


def dequantized_nats(nats_per_image, image_shape):
    """Negative log-density of `(x + u) / 256`, `u ~ U[0, 1)`, on `[0, 1]^D` (§5.1).

    The density of `x + u` on `[0, 256)^D` equals the discrete probability of
    `x`; rescaling to `[0, 1]` multiplies the density by `256^D`, so its
    negative log-density is `nats - D * ln 256`.
    """
    return nats_per_image - int(np.prod(image_shape)) * math.log(256.0)


@register_serializable
class BitsPerDim(keras.metrics.Mean):
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

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
