"""The categorical likelihood head: the one place logits become probabilities (§2.2).

Every conditional `p(x_{i,c} | x_<(i,c))` is a softmax over `num_levels`
values, so the image's log-probability is the sum over its pixels and
channels of a `tfd.Categorical` log-probability.
"""

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

EVENT_NDIMS = 3  # [height, width, channels]


def pixel_distribution(logits, temperature=1.0):
    """The distribution of images given (teacher-forced) logits.

    Args:
      logits: `[..., height, width, channels, num_levels]`.
      temperature: positive float; logits are divided by it.

    Returns:
      `tfd.Independent(tfd.Categorical(logits), 3)` with event shape
      `[height, width, channels]` and dtype int32.
    """
    logits = tf.cast(logits, tf.float32)
    if not (isinstance(temperature, (int, float)) and temperature == 1.0):
        logits = logits / tf.cast(temperature, tf.float32)
    return tfd.Independent(
        tfd.Categorical(logits=logits, dtype=tf.int32),
        reinterpreted_batch_ndims=EVENT_NDIMS,
    )


def log_prob(logits, images):
    """Log-probability in nats `[...]` of int `images` `[..., H, W, C]`."""
    return pixel_distribution(logits).log_prob(tf.cast(images, tf.int32))
