"""`PixelRNN`: a trained network as a `tfp.distributions.Distribution`."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from pixel_rnn_tf import head
from pixel_rnn_tf import sampling
from pixel_rnn_tf import validation

tfd = tfp.distributions


class PixelRNN(tfd.Distribution):
    """The exact-likelihood distribution of images defined by a `PixelModel`.

    `p(x) = Π_i p(x_i | x_<i)` over pixels in raster order, and R, G, B inside
    a pixel (§2), each conditional a categorical over `num_levels` values.
    It composes with other tfp distributions (`tfd.Sample`, `tfd.Mixture`,
    joint distributions) and works under `tf.function`.

    Args:
      model: a built `PixelModel`.
      conditional_input: for a class-conditional model, int labels of any
        shape; it becomes the batch shape. `None` otherwise.
      sample_method: the `sampling.sample` method used by `sample`.
      validate_args, allow_nan_stats, name: as in `tfd.Distribution`.

    Shapes: event shape `[height, width, channels]`, dtype int32; batch
    shape `[]`, or the shape of `conditional_input`.

    Example:

    ```python
    model = prt.build_model(prt.configs.get("digits_pixel_cnn"))
    dist = prt.PixelRNN(model)
    images = dist.sample(4, seed=(1, 2))  # [4, 8, 8, 1] int32
    nats = dist.log_prob(images)           # [4]
    ```
    """

    def __init__(
        self,
        model,
        conditional_input=None,
        sample_method="auto",
        validate_args=False,
        allow_nan_stats=True,
        name="PixelRNN",
    ):
        parameters = dict(locals())
        config = model.config
        with tf.name_scope(name) as name:
            if (conditional_input is None) != (config.num_classes is None):
                raise ValueError(
                    "`conditional_input` must be given exactly when the model is "
                    f"class-conditional. Received: num_classes={config.num_classes}, "
                    f"conditional_input={'None' if conditional_input is None else 'labels'}"
                )
            if conditional_input is not None:
                conditional_input = tf.convert_to_tensor(conditional_input)
                if not conditional_input.dtype.is_integer:
                    raise ValueError(
                        "Expected `conditional_input` to be int labels. "
                        f"Received: conditional_input.dtype={conditional_input.dtype.name}"
                    )
                conditional_input = validation.check_range(
                    conditional_input, config.num_classes, "conditional_input"
                )
            self._model = model
            self._conditional_input = conditional_input
            self._sample_method = sample_method
            super().__init__(
                dtype=tf.int32,
                reparameterization_type=tfd.NOT_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name,
            )

    @property
    def model(self):
        return self._model

    @property
    def conditional_input(self):
        return self._conditional_input

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict()

    def _event_shape(self):
        return tf.TensorShape(self._model.config.image_shape)

    def _event_shape_tensor(self):
        return tf.constant(self._model.config.image_shape, tf.int32)

    def _batch_shape(self):
        if self._conditional_input is None:
            return tf.TensorShape([])
        return self._conditional_input.shape

    def _batch_shape_tensor(self):
        if self._conditional_input is None:
            return tf.constant([], tf.int32)
        return tf.shape(self._conditional_input)

    def _log_prob(self, value):
        config = self._model.config
        images = validation.check_images(
            value, config.image_shape, config.num_levels, name="value", exact_rank=None
        )
        leading = tf.shape(images)[:-3]
        flat = tf.reshape(images, tf.concat([[-1], config.image_shape], 0))  # [N, H, W, C]
        inputs = flat
        if self._conditional_input is not None:
            labels = tf.broadcast_to(self._conditional_input, leading)
            inputs = (flat, tf.reshape(labels, [-1]))
        log_prob = head.log_prob(self._model(inputs), flat)  # [N]
        return tf.reshape(log_prob, leading)

    def _sample_n(self, n, seed=None):
        batch_shape = self._batch_shape_tensor()
        count = n * tf.reduce_prod(batch_shape)
        labels = None
        if self._conditional_input is not None:
            labels = tf.reshape(
                tf.broadcast_to(self._conditional_input, tf.concat([[n], batch_shape], 0)), [-1]
            )
        if isinstance(n, (int, np.integer)) and self._conditional_input is None:
            count = int(n)
        images = sampling.sample(
            self._model, count, seed=seed, method=self._sample_method, labels=labels
        )
        shape = tf.concat([[n], batch_shape, self._model.config.image_shape], 0)
        return tf.reshape(images, shape)

    def _entropy(self):
        raise NotImplementedError(
            "The entropy of a PixelRNN is intractable (a sum over every image); "
            "estimate it with -log_prob(sample(n)).mean()."
        )

    def _mean(self):
        raise NotImplementedError("The mean of a PixelRNN is intractable; average samples instead.")

    def _mode(self):
        raise NotImplementedError("The mode of a PixelRNN is intractable.")

    def _variance(self):
        raise NotImplementedError("The variance of a PixelRNN is intractable.")
