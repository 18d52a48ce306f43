"""`PixelRNN`: the exact distribution of images a `PixelModel` defines (§2)."""


import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import head
from pixel_rnn_tf import sampling
from pixel_rnn_tf import validation

tfd = tfp.distributions


def no_constraining_bijector():
    # Neither a network nor its condition (integer labels, or a vector or a
    # map that the caller owns) is reparameterized by a bijector from
    # unconstrained reals; tfp asks only when building trainable surrogates.
    raise NotImplementedError("No constraining bijector exists for this parameter.")


def _rank(value):
    """The static rank of a tensor, array or nested list; `None` if unknown."""
    shape = getattr(value, "shape", None)
    if shape is None:
        return len(np.shape(value))
    return tf.TensorShape(shape).rank


def _tf_variables(variables):
    """The `tf.Variable` behind each Keras variable (its `value` on TensorFlow)."""
    return tuple(v if isinstance(v, tf.Variable) else v.value for v in variables)


class PixelRNN(tfd.Distribution):
    """The exact-likelihood distribution of images defined by a `PixelModel`.

    `p(x) = Π_i p(x_i | x_<i)` over pixels in raster order, and R, G, B inside
    a pixel (§2), each conditional a categorical over `num_levels` values.
    `log_prob` is one teacher-forced pass of the network through the package's
    one categorical head (`head.log_prob`); `sample` is the package's one
    exact sampler (`sampling.sample`).

    Shapes: event shape `[height, width, channels]`, dtype int32. Batch shape
    `[]`, or the leading dimensions of `conditional_input` for a conditional
    model (`conditioning`): its shape less the condition's own,
    `condition.shape[:rank - len(conditioning.event_shape(config))]`. So
    `PixelRNN(model, conditional_input=[0, 1, 2])` is a batch of three
    distributions, one per class, and a vector model's `[5, 16]` vectors, or
    a map model's `[5, h, w, c]` maps, are a batch of five.
    `log_prob(images)` takes int images `[..., height, width, channels]`
    whose leading dimensions broadcast against the batch shape, and returns
    nats `[...]`. `sample(sample_shape, seed)` returns int32
    `sample_shape + batch_shape + [height, width, channels]`; a stateless seed
    (a pair of ints or an int32 `[2]` tensor) gives the same images every
    time, an int or `None` seed follows tfp's stateful semantics.

    The mean, mode, variance and entropy need a sum (or a maximum) over every
    possible image, so they raise `NotImplementedError`; estimate them from
    samples.

    Args:
      model: a built `PixelModel` (any model with a `config`, the
        multi-scale one among them).
      conditional_input: the model's condition (`conditioning.kind`), with
        any leading (batch) dimensions: int labels `[...]` in
        `[0, num_classes)`, float vectors `[..., D]` or float maps
        `[..., h, w, c]`. Must be `None` for an unconditioned model.
      sample_method: the `sampling.sample` method used by `sample`: "auto",
        "naive" or "cached".
      validate_args, allow_nan_stats, name: as in `tfd.Distribution`. Images
        and conditions are always validated (`conditioning.check`: an
        out-of-range value would silently index past the softmax or the
        class embedding, a truncated float label or a NaN would give a
        silently wrong answer). Values are checked by assertions, which
        XLA compiles away: inside a caller's `tf.function(jit_compile=True)`
        nothing can raise, so there an image with an out-of-range pixel
        gets `log_prob` `-inf` (probability zero, as tfp distributions
        answer values outside their support) and an out-of-range label
        NaN. To have them refused, check the values before the compiled
        function (`validation.check_images`, `conditioning.check`,
        eagerly), as `fit`, `evaluate`, the sampler and the serving
        signatures do.

    Example:

    ```python
    import pixel_rnn_tf as prt
    import tensorflow_probability as tfp
    tfd = tfp.distributions

    model = prt.build_model(prt.configs.get("digits_pixel_cnn"))
    dist = prt.PixelRNN(model)
    images = dist.sample(4, seed=(1, 2))   # [4, 8, 8, 1] int32
    nats = -dist.log_prob(images)          # [4]

    # A class-conditional model and a class prior, as one joint distribution.
    cond = prt.build_model(prt.configs.get("digits_pixel_cnn", num_classes=10))
    joint = tfd.JointDistributionNamed(dict(
        label=tfd.Categorical(logits=tf.zeros([10]), dtype=tf.int32),
        image=lambda label: prt.PixelRNN(cond, conditional_input=label)))
    draw = joint.sample(2, seed=(3, 4))    # {"label": [2], "image": [2, 8, 8, 1]}
    joint.log_prob(draw)                   # [2]

    # A vector-conditioned model: a batch of three distributions.
    vector = prt.build_model(prt.configs.get("digits_pixel_cnn", condition_shape=(4,)))
    prt.PixelRNN(vector, conditional_input=tf.zeros([3, 4])).batch_shape  # [3]
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
        config = getattr(model, "config", None)
        if config is None or not hasattr(config, "image_shape"):
            raise ValueError(
                "Expected `model` to be a PixelModel (with a `config`). "
                f"Received: model of type {type(model).__name__}"
            )
        if sample_method not in sampling.METHODS:
            raise ValueError(
                f"Expected `sample_method` to be one of {sampling.METHODS}. "
                f"Received: sample_method={sample_method!r}"
            )
        with tf.name_scope(name) as name:
            # The condition's own dimensions (0 for labels, 1 for a vector,
            # 3 for a map) trail; whatever leads is the batch shape.
            event = conditioning.event_shape(config)
            self._condition_ndims = len(event or ())
            batch_ndims = 1
            if conditional_input is not None and event is not None:
                rank = _rank(conditional_input)
                batch_ndims = max(rank - self._condition_ndims, 0) if rank is not None else 1
            conditional_input = conditioning.check(
                config, conditional_input, name="conditional_input", batch_dims=batch_ndims
            )
            self._batch_ndims = batch_ndims if conditional_input is not None else 0
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
        """The `PixelModel` computing the conditionals."""
        return self._model

    @property
    def conditional_input(self):
        """The condition: int32 labels, float32 vectors or maps; or `None`."""
        return self._conditional_input

    @property
    def sample_method(self):
        return self._sample_method

    @property
    def trainable_variables(self):
        """The network's trainable weights as `tf.Variable`s: this distribution's parameters.

        `tf.Module` does not look inside a Keras 3 model, and a Keras 3
        variable is no `tf.Variable`: TensorFlow and tfp (`GradientTape.watch`,
        `tfp.math.minimize`) take the `tf.Variable` behind it. For example,
        `tfp.math.minimize(lambda: -tf.reduce_mean(dist.log_prob(x)), num_steps,
        keras.optimizers.Adam(), trainable_variables=dist.trainable_variables)`.
        """
        return tuple(super().trainable_variables) + _tf_variables(self._model.trainable_variables)

    @property
    def variables(self):
        return tuple(super().variables) + _tf_variables(self._model.variables)

    @property
    def num_levels(self):
        """Values per channel: each pixel value lies in `[0, num_levels)`."""
        return self._model.config.num_levels

    def _check_value_dtype(self, value):
        # tfp converts `value` with an int32 dtype hint before `_log_prob`
        # sees it, and that truncates numpy float arrays (0.5 -> 0): catch
        # float values here, while their dtype is still visible.
        dtype = getattr(value, "dtype", None)
        if dtype is not None and not tf.as_dtype(dtype).is_integer:
            raise ValueError(
                "Expected `value` to have an integer dtype (pixel values in "
                f"[0, {self.num_levels})). Received: value.dtype={tf.as_dtype(dtype).name}"
            )

    def log_prob(self, value, name="log_prob", **kwargs):
        self._check_value_dtype(value)
        return super().log_prob(value, name=name, **kwargs)

    def prob(self, value, name="prob", **kwargs):
        self._check_value_dtype(value)
        return super().prob(value, name=name, **kwargs)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        # Declaring the condition (one per distribution: event_ndims 0 for a
        # label, 1 for a vector, 3 for a map, from the instance's model) lets
        # tfp slice batches (`dist[1:]`) and broadcast them in compositions.
        return dict(
            conditional_input=tfp.util.ParameterProperties(
                event_ndims=lambda self: self._condition_ndims,
                default_constraining_bijector_fn=no_constraining_bijector,
            )
        )

    def _event_shape(self):
        return tf.TensorShape(self._model.config.image_shape)

    def _event_shape_tensor(self):
        return tf.constant(self._model.config.image_shape, tf.int32)

    def _batch_shape(self):
        if self._conditional_input is None:
            return tf.TensorShape([])
        return self._conditional_input.shape[: self._batch_ndims]

    def _batch_shape_tensor(self):
        if self._conditional_input is None:
            return tf.constant([], tf.int32)
        return tf.shape(self._conditional_input)[: self._batch_ndims]

    def _condition_event_tensor(self):
        """The shape of one condition, int32 `[0]`, `[1]` or `[3]`."""
        event = conditioning.event_shape(self._model.config)
        return tf.constant(event, tf.int32, [self._condition_ndims])

    def _flat_condition(self, leading):
        """The condition broadcast to `leading` batch dims and flattened: `[N, ...]`."""
        event = self._condition_event_tensor()
        condition = tf.broadcast_to(self._conditional_input, tf.concat([leading, event], 0))
        return tf.reshape(condition, tf.concat([[-1], event], 0))  # [N, *condition event]

    def _log_prob(self, value):
        config = self._model.config
        images = validation.check_images(
            value, config.image_shape, config.num_levels, name="value", exact_rank=None
        )
        event = tf.constant(config.image_shape, tf.int32)
        leading = tf.shape(images)[:-3]
        static_leading = images.shape[:-3]
        condition = None
        if self._conditional_input is not None:
            # Sample dims, then batch dims: images and conditions broadcast,
            # as the parameters of any tfp distribution do.
            try:
                static_leading = tf.broadcast_static_shape(static_leading, self.batch_shape)
            except ValueError:
                raise ValueError(
                    "Expected the leading dimensions of `value` to broadcast with the batch "
                    f"shape {self.batch_shape} (the shape of `conditional_input`). "
                    f"Received: value.shape={images.shape}"
                ) from None
            leading = tf.broadcast_dynamic_shape(leading, self._batch_shape_tensor())
            images = tf.broadcast_to(images, tf.concat([leading, event], 0))
            condition = self._flat_condition(leading)  # [N, *condition event]
        flat = tf.reshape(images, tf.concat([[-1], event], 0))  # [N, H, W, C]
        logits = self._model(flat if condition is None else (flat, condition))  # [N, H, W, C, L]
        log_prob = tf.reshape(self._outside_support(flat, condition, logits), leading)  # [...]
        log_prob.set_shape(static_leading)
        return log_prob

    def _outside_support(self, images, condition, logits):
        """The log-probabilities `[N]` of checked `images` `[N, H, W, C]`, where XLA let any by.

        The assertions of `validation.check_images` and `conditioning.check`
        raise in a graph and eagerly; XLA compiles them away. There, as a
        tfp distribution answers, an image with a pixel outside `[0,
        num_levels)` has probability zero (`-inf`), and a label outside
        `[0, num_classes)`, an invalid parameter, gives NaN. Elsewhere this
        changes no value.
        """
        num_levels = self.num_levels
        in_range = tf.logical_and(images >= 0, images < num_levels)
        log_prob = head.log_prob(logits, tf.where(in_range, images, 0))
        log_prob = tf.where(
            tf.reduce_all(in_range, axis=[1, 2, 3]), log_prob, tf.constant(-np.inf, log_prob.dtype)
        )
        num_classes = getattr(self._model.config, "num_classes", None)
        if condition is not None and num_classes is not None:
            valid = tf.logical_and(condition >= 0, condition < num_classes)
            log_prob = tf.where(valid, log_prob, tf.constant(np.nan, log_prob.dtype))
        return log_prob

    def _sample_n(self, n, seed=None):
        batch_shape = self._batch_shape_tensor()
        # One flat batch of n * prod(batch_shape) images, in [n, batch...]
        # row-major order; conditions follow the same order. A tensor count
        # keeps the sampler's traced function from retracing for every n.
        count = tf.cast(n, tf.int32) * tf.reduce_prod(batch_shape)
        condition = None
        if self._conditional_input is not None:
            condition = self._flat_condition(tf.concat([[n], batch_shape], 0))  # [count, ...]
        images = sampling.sample(
            self._model, count, seed=seed, method=self._sample_method, condition=condition
        )  # [count, H, W, C]
        shape = tf.concat([[n], batch_shape, self._event_shape_tensor()], 0)
        return tf.reshape(images, shape)  # [n, batch..., H, W, C]

    def _default_event_space_bijector(self):
        # Discrete: there is no continuous event space (tfd.Categorical does
        # the same).
        return None

    def _intractable(self, statistic, advice):
        raise NotImplementedError(
            f"The {statistic} of a PixelRNN is intractable: it needs a sum or a maximum "
            f"over all {self.num_levels}^{self.event_shape.num_elements()} images. {advice}"
        )

    def _entropy(self):
        self._intractable("entropy", "Estimate it as the mean of -log_prob(sample(n)).")

    def _mean(self):
        self._intractable("mean", "Average samples instead.")

    def _mode(self):
        self._intractable("mode", "Sample at a low temperature with `sampling.sample` instead.")

    def _variance(self):
        self._intractable("variance", "Use the variance of samples instead.")

    def _stddev(self):
        self._intractable("standard deviation", "Use that of samples instead.")

    def _covariance(self):
        self._intractable("covariance", "Use the covariance of samples instead.")
