"""`ConfiguredModel`: what every model of the package shares."""

import keras
import tensorflow as tf

from pixel_rnn_tf import compat
from pixel_rnn_tf import conditioning
from pixel_rnn_tf import ops
from pixel_rnn_tf import validation
from pixel_rnn_tf.models.keras_loop import KerasLoop


def cast_symbolic(inputs):
    """Under a tf.distribute strategy, Keras's fit first builds the model on
    the replica *mean* of a batch, a float: only shapes matter there."""
    if compat.in_symbolic_scope():
        return tf.nest.map_structure(lambda x: tf.cast(x, tf.int32), inputs)
    return inputs


def checked_images(config, images):
    """int32 `images`, checked against `config`'s shape and levels (`validation`)."""
    return validation.check_images(images, config.image_shape, config.num_levels)


def scale_images(config, images, dtype):
    """Maps int pixels `[0, num_levels)` to `[-1, 1]` in `dtype`."""
    scale = 2.0 / (config.num_levels - 1)
    return tf.cast(tf.cast(images, tf.float32) * scale - 1.0, dtype)


class ConfiguredModel(KerasLoop):
    """What every model of the package shares: built from a config, saved as it.

    Subclasses set `config` and `conditional`; `KerasLoop` gives them
    Keras's `fit` and `evaluate` on every batch layout.
    """

    def input_signature(self, batch_size=None):
        """The inputs' `tf.TensorSpec`s, as one list of `call`'s arguments.

        int32 images `[batch, height, width, channels]`, paired with the
        condition (`conditioning.spec`) for a conditioned model.
        """
        images = tf.TensorSpec((batch_size,) + self.config.image_shape, tf.int32, name="images")
        condition = conditioning.spec(self.config, batch_size)
        return [images if condition is None else (images, condition)]

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """`keras.Model.export`, by default with the model's `input_signature()`."""
        return super().export(
            filepath, format=format, verbose=verbose,
            input_signature=input_signature or self.input_signature(), **kwargs,
        )

    def compute_output_spec(self, inputs):
        # float32 logits whatever the compute dtype (`OutputStack`).
        shape = self.compute_output_shape(tf.nest.map_structure(lambda x: tuple(x.shape), inputs))
        return keras.KerasTensor(shape, dtype="float32")

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "config": self.config.to_dict(),
        }

    def _logits_of_any_batch(self, inputs, logits):
        """`logits(*inputs)`, for any batch size, an empty batch included.

        TensorFlow's CPU convolutions fail on an empty batch (they return
        the wrong number of channels), so an empty batch of unknown size
        runs the network on one zero image, whose logits are sliced off.
        A padding and a slice, not a `tf.cond` around the network: the
        gradient of a `tf.cond` traces the whole network a second time.

        Args:
          inputs: the checked inputs, images `[batch, H, W, C]` first, then
            the condition `[batch, ...]` or `None`.
          logits: maps `inputs` to float32 logits `[batch, H, W, C, num_levels]`.
        """
        config = self.config
        batch = inputs[0].shape[0]
        if batch == 0:
            return tf.zeros((0,) + config.image_shape + (config.num_levels,), tf.float32)
        if batch is not None:
            return logits(*inputs)
        count = tf.shape(inputs[0])[0]
        missing = tf.maximum(1 - count, 0)

        def padded(x):
            return None if x is None else tf.pad(x, [[0, missing]] + [[0, 0]] * (x.shape.rank - 1))

        return ops.slice_along(logits(*[padded(x) for x in inputs]), 0, 0, count)

    @classmethod
    def from_config(cls, config):
        return cls(**config)
