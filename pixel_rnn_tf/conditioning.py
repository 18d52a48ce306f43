"""The one conditioning input of every model (§3.5, and beyond the paper).

A model is conditioned on nothing, or on one of:

* **labels** (`ModelConfig.num_classes`): int `[batch]` in `[0, num_classes)`;
* **a vector** (`condition_shape=(D,)`): float `[batch, D]`, a learned
  bias of every layer;
* **a map** (`condition_shape=(h, w, c)`): float `[batch, h, w, c]` with `h`
  dividing the image height and `w` its width. An unmasked upsampling
  network (a `3 x 3` convolution, then transposed convolutions) brings it to
  `[batch, H, W, c']`, and a `1 x 1` unmasked convolution per layer maps that
  into the layer's bias (§3.5: the Multi-Scale PixelRNN conditions its large
  network on the small image this way).

Each bias is added to the features entering a block (and the output stack),
so it reaches the block's input-to-state maps. Biases may depend on all of
the condition: the causality contract is about the images only.

`check` is the one validation of a condition, used by the model, the
sampler, the distribution, evaluation and serving alike.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from pixel_rnn_tf import compat
from pixel_rnn_tf import validation
from pixel_rnn_tf.registry import register_serializable

KINDS = ("labels", "vector", "map")


def kind(config):
    """`None`, "labels", "vector" or "map": what `config`'s model is conditioned on."""
    if getattr(config, "num_classes", None) is not None:
        return "labels"
    shape = getattr(config, "condition_shape", None)
    if shape is None:
        return None
    return "vector" if len(shape) == 1 else "map"


def event_shape(config):
    """The shape of one image's condition: `()`, `(D,)` or `(h, w, c)`; `None` if none."""
    condition_kind = kind(config)
    if condition_kind is None:
        return None
    return () if condition_kind == "labels" else tuple(config.condition_shape)


def spec(config, batch_size=None):
    """The `tf.TensorSpec` of a batch of conditions, or `None` for an unconditioned model."""
    shape = event_shape(config)
    if shape is None:
        return None
    dtype = tf.int32 if kind(config) == "labels" else tf.float32
    return tf.TensorSpec((batch_size,) + shape, dtype, name="condition")


def describe(config):
    """Words for error messages: what the condition of `config`'s model is."""
    condition_kind = kind(config)
    if condition_kind is None:
        return "no condition"
    if condition_kind == "labels":
        return f"int labels [batch] in [0, {config.num_classes})"
    return f"a float {condition_kind} [batch, {', '.join(map(str, config.condition_shape))}]"


def check(config, condition, batch_size=None, name="condition", batch_dims=1):
    """Validates a batch of conditions for `config`'s model.

    Args:
      config: the model's config.
      condition: the condition, or `None`.
      batch_size: int or int32 scalar tensor: the number of images, which
        must equal the number of conditions; `None` to skip the check.
      name: the argument's name, for the messages.
      batch_dims: the number of leading batch dimensions (the distribution's
        batch shape may have any rank; everywhere else it is one).

    Returns:
      `None` for an unconditioned model; else the condition, int32 labels or
      float32 vectors and maps.

    Raises:
      ValueError: for a condition given to an unconditioned model or missing
        for a conditioned one, a wrong dtype or shape, out-of-range labels,
        non-finite values (in a graph, an `InvalidArgumentError` when run),
        or a count other than `batch_size`.
    """
    condition_kind = kind(config)
    if condition_kind is None:
        if condition is not None:
            raise ValueError(
                f"The model takes no condition (num_classes=None, condition_shape=None), "
                f"so `{name}` must be None. Received: a {type(condition).__name__}"
            )
        return None
    if condition is None:
        raise ValueError(f"The model is conditioned on {describe(config)}: pass `{name}`.")
    if isinstance(condition, (tuple, list)) and condition_kind != "labels":
        condition = tf.constant(condition, tf.float32)
    condition = tf.convert_to_tensor(condition)
    event = event_shape(config)
    rank = condition.shape.rank
    if condition_kind == "labels":
        if not condition.dtype.is_integer:
            raise ValueError(
                f"Expected `{name}` to be int labels in [0, {config.num_classes}) "
                f"(they are never rounded). Received: {name}.dtype={condition.dtype.name}"
            )
    elif not condition.dtype.is_floating:
        raise ValueError(
            f"Expected `{name}` to be {describe(config)} of a floating dtype. "
            f"Received: {name}.dtype={condition.dtype.name}"
        )
    if (
        rank is None
        or rank != batch_dims + len(event)
        or not condition.shape[batch_dims:].is_compatible_with(event)
    ):
        expected = f"[{', '.join(['batch'] * batch_dims + [str(d) for d in event])}]"
        raise ValueError(
            f"Expected `{name}` of shape {expected}, one per image ({describe(config)}). "
            f"Received: {name}.shape={condition.shape}"
        )
    if condition_kind == "labels":
        condition = validation.check_range(condition, config.num_classes, name)
    else:
        condition = validation.check_finite(tf.cast(condition, tf.float32), name)
    if batch_size is not None:
        condition = validation.check_count(condition, batch_size, name, "one per image")
    return condition


def load_file(path, name="condition"):
    """The conditions stored in the `.npy` file `path`: a numpy array.

    Args:
      path: a `.npy` file (numpy's format; pickled objects are refused).
      name: the argument that gave `path`, for the messages.

    Raises:
      ValueError: naming `name` and `path`, for a missing, truncated or
        otherwise damaged file.
    """
    if not os.path.isfile(path):
        raise ValueError(f"Expected `{name}` to be a .npy file. Received: {name}={path!r}, "
                         "where there is no file.")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:  # numpy's errors for a damaged file.
        raise ValueError(
            f"Expected `{name}` to be a readable .npy file of numbers. Received: "
            f"{name}={path!r}, which numpy cannot read ({error})."
        ) from None


@register_serializable
class Conditioning(keras.layers.Layer):
    """Per-layer biases of a model from its one condition.

    Args:
      num_biases: int, the layers that take a bias (the blocks and the
        output stack).
      features: int, the features of each bias.
      image_shape: `(height, width, channels)` of the model.
      num_classes: int labels' count, or `None`.
      condition_shape: `(D,)`, `(h, w, c)` or `None`.
      map_features: features of the upsampled map (`c'`); default `features`.

    Call arguments:
      condition: int labels `[batch]`, a float vector `[batch, D]` or a float
        map `[batch, h, w, c]`.

    Returns:
      A tuple of `num_biases` biases, each `[batch, 1, 1, features]` (labels,
      vectors) or `[batch, height, width, features]` (maps).
    """

    def __init__(
        self, num_biases, features, image_shape, num_classes=None, condition_shape=None,
        map_features=None, **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_biases = num_biases
        self.features = features
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        self.condition_shape = None if condition_shape is None else tuple(condition_shape)
        self.map_features = map_features or features
        self.kind = kind(self)
        if self.kind is None:
            raise ValueError("Expected `num_classes` or `condition_shape`. Received neither.")
        total = num_biases * features
        if self.kind == "labels":
            # Zeros: a fresh model ignores its labels until trained.
            self.project = keras.layers.Embedding(
                num_classes, total, embeddings_initializer="zeros", name="label_biases",
                dtype=self.dtype_policy,
            )
            self.upsample = []
        elif self.kind == "vector":
            self.project = keras.layers.Dense(total, name="vector_biases", dtype=self.dtype_policy)
            self.upsample = []
        else:
            self.upsample = compat.track_layers(self, "upsample", self._upsampling_layers())
            self.project = keras.layers.Conv2D(
                total, 1, name="map_biases", dtype=self.dtype_policy
            )

    def _upsampling_layers(self):
        """A `3 x 3` convolution, then a transposed convolution per factor of 2 (or the rest)."""
        height, width, _ = self.image_shape
        factors = [height // self.condition_shape[0], width // self.condition_shape[1]]
        layers = [
            keras.layers.Conv2D(self.map_features, 3, padding="same", activation="relu",
                                name="map_conv", dtype=self.dtype_policy)
        ]
        while factors != [1, 1]:
            stride = [2 if f % 2 == 0 else f for f in factors]
            layers.append(
                keras.layers.Conv2DTranspose(
                    self.map_features, [2 * s if s > 1 else 1 for s in stride], strides=stride,
                    padding="same", activation="relu", name=f"map_upsample_{len(layers)}",
                    dtype=self.dtype_policy,
                )
            )
            factors = [f // s for f, s in zip(factors, stride)]
        return layers

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.upsample:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.project.build(shape)

    def call(self, condition):
        x = condition
        for layer in self.upsample:
            x = layer(x)
        biases = self.project(x)  # [B, num_biases * F] or [B, H, W, num_biases * F]
        biases = tf.cast(biases, self.compute_dtype)
        if self.kind != "map":
            biases = biases[:, None, None, :]
        return tuple(tf.split(biases, self.num_biases, axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update(
            num_biases=self.num_biases,
            features=self.features,
            image_shape=self.image_shape,
            num_classes=self.num_classes,
            condition_shape=self.condition_shape,
            map_features=self.map_features,
        )
        return config
