"""`Dequantized`: the uniformly dequantized density of a distribution of images (§5.1)."""

import tensorflow as tf
import tensorflow_probability as tfp

from pixel_rnn_tf.distribution.pixel_rnn import no_constraining_bijector
from pixel_rnn_tf.validation import check_int

tfd = tfp.distributions
tfb = tfp.bijectors


class Dequantized(tfd.Distribution):
    """Uniform dequantization of a distribution over integer images (§5.1).

    If `x` has the discrete distribution `distribution` with values in
    `[0, num_levels)` and `u ~ U[0, 1)^D`, then `y = x + u` has the density
    `p(y) = P(floor(y))` on `[0, num_levels)^D`: every integer image owns a
    unit cube, so the negative log-density at `y` equals the discrete NLL of
    `floor(y)` in nats, which is what makes discrete and continuous models
    comparable. Off the support the log-density is `-inf`.

    On the `[0, 1]` scale (`y / num_levels`, each cube of side
    `1 / num_levels`) the log-density grows by `D * ln(num_levels)`, `D` the
    number of dimensions: use
    `tfd.TransformedDistribution(Dequantized(dist), tfb.Scale(1 / num_levels))`,
    or `metrics.dequantized_nats` on NLLs.

    Shapes: the event and batch shapes of `distribution`; dtype float32.
    `log_prob(y)` takes float `[..., *event_shape]` and returns `[...]`;
    `sample(sample_shape, seed)` returns float32
    `sample_shape + batch_shape + event_shape` in `[0, num_levels)`: discrete
    samples plus stateless uniform noise (same seed, same values).

    Args:
      distribution: a distribution over integer values in
        `[0, num_levels)`, for example a `PixelRNN`.
      num_levels: values per dimension; `None` takes `distribution.num_levels`.
      validate_args, allow_nan_stats, name: as in `tfd.Distribution`.

    Example:

    ```python
    model = prt.build_model(prt.configs.get("digits_pixel_cnn"))
    density = prt.Dequantized(prt.PixelRNN(model))
    y = density.sample(3, seed=(1, 2))     # [3, 8, 8, 1] float32 in [0, 2)
    density.log_prob(y)                    # [3] == PixelRNN(model).log_prob(floor(y))
    ```
    """

    def __init__(
        self,
        distribution,
        num_levels=None,
        validate_args=False,
        allow_nan_stats=True,
        name=None,
    ):
        parameters = dict(locals())
        if not isinstance(distribution, tfd.Distribution) or not (
            tf.as_dtype(distribution.dtype).is_integer
        ):
            raise ValueError(
                "Expected `distribution` to be a tfp Distribution over integers. "
                f"Received: distribution={distribution!r}"
            )
        if num_levels is None:
            num_levels = getattr(distribution, "num_levels", None)
            if num_levels is None:
                raise ValueError(
                    "Pass `num_levels`: the distribution "
                    f"{type(distribution).__name__} has no `num_levels`. "
                    "Received: num_levels=None"
                )
        check_int("num_levels", num_levels, 1)
        name = name or f"Dequantized{distribution.name}"
        with tf.name_scope(name) as name:
            self._distribution = distribution
            self._num_levels = num_levels
            super().__init__(
                dtype=tf.float32,
                reparameterization_type=tfd.NOT_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name,
            )

    @property
    def distribution(self):
        """The discrete distribution being dequantized."""
        return self._distribution

    @property
    def num_levels(self):
        return self._num_levels

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        # A batched component, like tfd.Independent's `distribution`: slicing
        # the batch slices it.
        return dict(
            distribution=tfp.util.ParameterProperties(
                event_ndims=0,
                default_constraining_bijector_fn=no_constraining_bijector,
                is_tensor=False,
            )
        )

    def _event_shape(self):
        return self._distribution.event_shape

    def _event_shape_tensor(self):
        return self._distribution.event_shape_tensor()

    def _batch_shape(self):
        return self._distribution.batch_shape

    def _batch_shape_tensor(self):
        return self._distribution.batch_shape_tensor()

    def _event_axes(self):
        rank = self.event_shape.rank
        if rank is None:
            rank = tf.size(self.event_shape_tensor())
            return tf.range(-rank, 0)
        return list(range(-rank, 0))

    def _log_prob(self, value):
        value = tf.convert_to_tensor(value)
        if not (value.dtype.is_floating or value.dtype.is_integer):
            raise ValueError(
                "Expected `value` to be real (dequantized values in "
                f"[0, {self._num_levels})). Received: value.dtype={value.dtype.name}"
            )
        event_shape = self.event_shape
        if value.shape.rank is not None and event_shape.rank is not None and not (
            value.shape.rank >= event_shape.rank
            and value.shape[value.shape.rank - event_shape.rank :].is_compatible_with(event_shape)
        ):
            raise ValueError(
                f"Expected `value` of shape [..., {', '.join(map(str, event_shape))}] "
                f"(the event shape). Received: value.shape={value.shape}"
            )
        value = tf.cast(value, tf.float32)
        inside = (value >= 0.0) & (value < self._num_levels)  # False for NaN.
        # Off the support, floor a harmless 0 so the discrete log_prob (which
        # validates its input) never sees an out-of-range value.
        discrete = tf.cast(tf.floor(tf.where(inside, value, 0.0)), self._distribution.dtype)
        log_prob = self._distribution.log_prob(discrete)  # [...]
        in_support = tf.reduce_all(inside, axis=self._event_axes())
        return tf.where(in_support, log_prob, tf.constant(-float("inf"), log_prob.dtype))

    def _sample_n(self, n, seed=None):
        discrete_seed, noise_seed = tfp.random.split_seed(seed, n=2, salt="Dequantized")
        discrete = tf.cast(self._distribution.sample(n, seed=discrete_seed), tf.float32)
        noise = tf.random.stateless_uniform(tf.shape(discrete), seed=noise_seed)
        # In float32, x + u rounds up to x + 1 (off x's cube) for u within
        # ~ulp(x) of 1, often enough for 255 + u: cap at the float below x + 1.
        return tf.minimum(discrete + noise, tf.math.nextafter(discrete + 1.0, discrete))

    def _default_event_space_bijector(self):
        # Unconstrained reals onto the open box (0, num_levels)^D.
        return tfb.Sigmoid(low=0.0, high=float(self._num_levels), validate_args=self.validate_args)

    # Moments of x + u with u ~ U[0, 1) independent of x. The differential
    # entropy equals the discrete one: the density is P(x) on unit cubes.
    def _mean(self):
        return tf.cast(self._distribution.mean(), tf.float32) + 0.5

    def _variance(self):
        return tf.cast(self._distribution.variance(), tf.float32) + 1.0 / 12.0

    def _entropy(self):
        return self._distribution.entropy()
