"""`PixelModel`, `MultiScalePixelModel` and `build_model`."""

import warnings

import keras
import numpy as np
import tensorflow as tf

from pixel_rnn_tf import compat
from pixel_rnn_tf import conditioning
from pixel_rnn_tf import configs
from pixel_rnn_tf import validation
from pixel_rnn_tf.configs import ModelConfig
from pixel_rnn_tf.configs import MultiScaleConfig
from pixel_rnn_tf.layers import blocks
from pixel_rnn_tf.layers import stepping
from pixel_rnn_tf.layers.blocks import OutputStack
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D
from pixel_rnn_tf.registry import register_serializable


def _cast_symbolic(inputs):
    """Under a tf.distribute strategy, Keras's fit first builds the model on
    the replica *mean* of a batch, a float: only shapes matter there."""
    if compat.in_symbolic_scope():
        return tf.nest.map_structure(lambda x: tf.cast(x, tf.int32), inputs)
    return inputs


def _checked_images(config, images):
    return validation.check_images(images, config.image_shape, config.num_levels)


def _scale(config, images, dtype):
    """Maps int pixels `[0, num_levels)` to `[-1, 1]` in `dtype`."""
    scale = 2.0 / (config.num_levels - 1)
    return tf.cast(tf.cast(images, tf.float32) * scale - 1.0, dtype)


# The names of a dict of inputs: the serving signatures' names.
IMAGES_KEY = "images"
CONDITION_KEY = "condition"


def _from_dict(inputs):
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
    x = _from_dict(x)
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


class _ConfiguredModel(keras.Model):
    """What every model of the package shares: built from a config, saved as it.

    `fit` and `evaluate` take a batch in any layout of `model_batch`:
    images alone (the target of a density model is its input), `(images,
    condition)` pairs or `{"images", "condition"}` dicts for a conditioned
    model. Under `jit_compile` they check the data before the compiled step
    (`_checked_data`), so XLA refuses what the plain graph refuses.
    """

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        x, y, kwargs = self._checked_data(x, y, kwargs)
        if validation_data is not None:
            if isinstance(validation_data, tf.data.Dataset):
                validation_data = self._checked_dataset(validation_data)
            elif isinstance(validation_data, (tuple, list)):
                x_val, y_val, weights = self._checked_data(validation_data, None, {})
                validation_data = (x_val, y_val) + tuple(weights.values())
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x, y, kwargs = self._checked_data(x, y, kwargs)
        return super().evaluate(x, y, *args, **kwargs)

    def _checked_data(self, x, y, kwargs):
        """`fit`'s or `evaluate`'s `(x, y, kwargs)` in one layout, checked where XLA cannot.

        Arrays, tensors and dicts or tuples of them, and a
        `tf.data.Dataset`'s elements, are brought to `model_batch`'s layout
        here, before Keras builds its metrics on a first batch as it comes.
        Under `jit_compile` XLA compiles away the asserts of the model's
        `call` (an out-of-range pixel or label gives a finite or NaN loss,
        never an error), so the data is also checked before the compiled
        step, as the plain graph checks it: arrays at once (`ValueError`), a
        dataset in its pipeline (`InvalidArgumentError` at the bad batch),
        images and condition alike. Other data (generators,
        `keras.utils.PyDataset`) is used as it comes.
        """
        if isinstance(x, tf.data.Dataset):
            return self._checked_dataset(x), y, kwargs
        arrays = (np.ndarray, tf.Tensor, dict, tuple, list)
        if not isinstance(x, arrays) or not (y is None or isinstance(y, (np.ndarray, tf.Tensor))):
            return x, y, kwargs
        batch = model_batch(self.config, self.conditional, x if y is None else (x, y))
        if self.jit_compile:
            self._check_batch(batch)
        x, y, sample_weight = batch
        if sample_weight is not None:
            kwargs = dict(kwargs, sample_weight=sample_weight)
        return x, y, kwargs

    def _checked_dataset(self, dataset):
        """`dataset` in the layout `model_batch` makes, checked in the pipeline under XLA."""
        spec = dataset.element_spec
        nested = isinstance(spec, tuple)
        jit_compile = self.jit_compile
        if not jit_compile and nested and len(spec) == 2:
            # Already `(x, y)` as the step takes it: left as it is (a mapped
            # dataset would be distributed anew under a multi-worker strategy).
            x, y, _ = model_batch(self.config, self.conditional, spec)
            if x == spec[0] and y == spec[1]:
                return dataset

        def canonical(*element):
            x, y, sample_weight = model_batch(
                self.config, self.conditional, element if nested else element[0]
            )
            if jit_compile:
                x, y = self._check_batch((x, y, sample_weight))
            return (x, y) if sample_weight is None else (x, y, sample_weight)

        return dataset.map(canonical)

    def _check_batch(self, batch):
        """`(x, y)` of `model_batch`'s `batch`, with images, targets and condition checked.

        Eagerly a `ValueError`; in a graph (a `tf.data` pipeline) assertions
        that fail with `InvalidArgumentError`, naming `images` or `condition`.
        """
        x, y, _ = batch
        config = self.config
        raw_images, condition = x if self.conditional else (x, None)
        images = _checked_images(config, raw_images)
        if y is raw_images:
            y = images
        elif tf.as_dtype(y.dtype).is_integer:  # Targets as images; float ones are the loss's.
            y = validation.check_range(y, config.num_levels, "images")
        if condition is None:
            return images, y
        condition = conditioning.check(config, condition, tf.shape(images)[0])
        return (images, condition), y

    def train_step(self, data):
        return _logs_for_reduction(
            super().train_step(model_batch(self.config, self.conditional, data))
        )

    def make_train_function(self, force=False):
        super().make_train_function(force)
        self.train_function = self._falling_back_from_xla(self.train_function, "train_function")
        return self.train_function

    def make_test_function(self, force=False):
        super().make_test_function(force)
        self.test_function = self._falling_back_from_xla(self.test_function, "test_function")
        return self.test_function

    def _falling_back_from_xla(self, function, attribute):
        """`function`, which reruns without XLA where XLA cannot compile the step.

        Training compiles with XLA on accelerators (`training.compile_model`);
        Keras already falls back where a layer says it cannot be compiled,
        this where the compiler itself refuses (an op without an XLA kernel,
        a shape that is not a compile-time constant). The failure comes
        before the step updates anything; the rerun gets the same arguments
        (a data iterator may have advanced past one batch).
        """
        if not self.jit_compile or getattr(function, "_xla_fallback", False):
            return function

        def run(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
                if not self.jit_compile or not _is_xla_compile_error(error):
                    raise
                warnings.warn(
                    f"XLA could not compile the {attribute.split('_')[0]} step; running it "
                    f"without XLA (jit_compile=False). The error: {str(error)[:500]}",
                    stacklevel=2,
                )
                self.jit_compile = False
                getattr(self, f"make_{attribute}")(force=True)
                return getattr(self, attribute)(*args, **kwargs)

        run._xla_fallback = True
        return run

    def test_step(self, data):
        return _logs_for_reduction(
            super().test_step(model_batch(self.config, self.conditional, data))
        )

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

    def _logits_or_empty(self, images, logits):
        """`logits()`, or an empty float32 `[0, H, W, C, num_levels]` for an empty batch.

        TensorFlow's CPU convolutions return an empty batch with the wrong
        number of channels, so the network itself fails on one; an empty
        batch gets the empty result instead, here once for every model.

        Args:
          images: the checked int32 images `[batch, H, W, C]`.
          logits: a function computing the logits of `images`.
        """
        config = self.config

        def empty():
            return tf.zeros((0,) + config.image_shape + (config.num_levels,), tf.float32)

        batch = images.shape[0]
        if batch is not None:
            return empty() if batch == 0 else logits()
        return tf.cond(tf.shape(images)[0] > 0, logits, empty)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register_serializable
class PixelModel(_ConfiguredModel):
    """An autoregressive network of images: integer pixels in, logits out.

    Layout (Table 1): a `7 x 7` mask-A convolution to `2h` features (or the
    block class's own first layer, `stem_from_model_config`), then
    `num_layers` residual blocks of the configured architecture, learnable
    skip connections from each block (a mask-B `1 x 1` convolution each,
    summed), and the output stack. With a condition (`conditioning`), a
    learned bias from it is added to the features entering every block and
    the output stack.

    The network scales its integer input to `[-1, 1]` itself, so a served
    model takes raw pixel values.

    Call arguments:
      inputs: integer images `[batch, height, width, channels]` with values
        in `[0, num_levels)`; for a conditioned model, a pair
        `(images, condition)` with one condition per image.

    Returns:
      float32 logits `[batch, height, width, channels, num_levels]`;
      `logits[b, i, j, c]` depends only on pixels before `(i, j)` in raster
      order, on channels before `c` at `(i, j)`, and on the condition.
      An empty batch gives empty logits `[0, height, width, channels,
      num_levels]`.

    The cached sampler runs it one pixel at a time (`layers.stepping`):
    `initial_state`, `step`, `end_pixel` and `end_row` run the same wiring
    (`forward`) on one-pixel inputs, each layer stepping from its own cache.
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = ModelConfig.from_dict(config)
        if not isinstance(config, ModelConfig):
            raise ValueError(f"Expected `config` to be a ModelConfig. Received: config={config!r}")
        self.config = config
        channels = config.color_channels
        features = 2 * config.hidden_units
        dtype = self.dtype_policy  # Every sublayer computes in the model's policy.
        block = blocks.block_class(config.arch)
        self.stem = block.stem_from_model_config(config, name="input_conv", dtype=dtype)
        self.blocks = compat.track_layers(self, "blocks", [
            block.from_model_config(config, name=f"block_{i}", dtype=dtype)
            for i in range(config.num_layers)
        ])
        self.skips = compat.track_layers(self, "skips", [
            MaskedConv2D(features, 1, "B", channels, name=f"skip_{i}", dtype=dtype)
            for i in range(config.num_layers if config.skip else 0)
        ])
        self.head = OutputStack(
            config.output_units, config.num_levels, channels, name="output", dtype=dtype
        )
        self.conditioning = (
            conditioning.Conditioning(
                config.num_layers + 1, features, config.image_shape,
                num_classes=config.num_classes, condition_shape=config.condition_shape,
                name="conditioning", dtype=dtype,
            )
            if conditioning.kind(config)
            else None
        )

    @property
    def conditional(self):
        """Whether the model takes a condition (`conditioning`)."""
        return self.conditioning is not None

    def build(self, input_shape=None):
        if self.built:
            return  # Built from the config alone: a second build has nothing to do.
        features_shape = (None,) + self.config.image_shape[:2] + (2 * self.config.hidden_units,)
        self.stem.build((None,) + self.config.image_shape)
        for layer in self.blocks + self.skips:
            layer.build(features_shape)
        self.head.build(features_shape)
        if self.conditioning is not None:
            self.conditioning.build(conditioning.spec(self.config).shape)
        self.built = True

    def split_inputs(self, inputs):
        """Validates `inputs`; returns int32 images and the checked condition (or `None`).

        `inputs` is images, `(images, condition)`, or a dict of them named
        as the serving signatures name them, `{"images", "condition"}`.
        """
        inputs = _cast_symbolic(_from_dict(inputs))
        if self.conditional:
            if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
                raise ValueError(
                    f"A conditioned model ({conditioning.describe(self.config)}) takes "
                    f"`(images, condition)`. Received: inputs of type {type(inputs).__name__}"
                )
            images, condition = inputs
        else:
            if isinstance(inputs, (tuple, list)):
                raise ValueError(
                    "This model takes no condition (num_classes=None, condition_shape=None) and "
                    f"takes images alone. Received: a {type(inputs).__name__} of {len(inputs)}"
                )
            images, condition = inputs, None
        images = _checked_images(self.config, images)
        condition = conditioning.check(self.config, condition, tf.shape(images)[0])
        return images, condition

    def scale(self, images):
        """Maps int pixels `[0, num_levels)` to `[-1, 1]` in the compute dtype."""
        return _scale(self.config, images, self.compute_dtype)

    def biases(self, condition):
        """The per-layer biases of `condition` (`conditioning.Conditioning`), or `None`."""
        return None if condition is None else self.conditioning(condition)

    def call(self, inputs):
        images, condition = self.split_inputs(inputs)
        return self._logits_or_empty(
            images, lambda: self.logits_from_scaled(self.scale(images), condition)
        )

    def logits_from_scaled(self, scaled, condition=None):
        """Logits from scaled images `[batch, H, W, C]` in `[-1, 1]`.

        The differentiable part of `call`: tests take its gradients.
        """
        return self.forward(scaled, self.biases(condition), stepping.apply)

    def forward(self, scaled, biases, run):
        """The network's wiring, written once for whole maps and for one pixel.

        Args:
          scaled: scaled images `[batch, H, W, C]`, or one pixel `[batch, C]`.
          biases: `None`, or one bias per block and one for the output stack,
            broadcastable to the features (`[batch, features]` for a pixel).
          run: `run(layer, x)` applies a layer: `stepping.apply` on maps, a
            `stepping.Steps` at one pixel.

        Returns:
          float32 logits `[batch, H, W, C, num_levels]` (`[batch, C,
          num_levels]` for a pixel).
        """
        biases = biases or [0.0] * (len(self.blocks) + 1)
        features = run(self.stem, scaled)  # [..., 2h]
        skip_sum = 0.0
        for index, block in enumerate(self.blocks):
            features = run(block, features + biases[index])
            if self.skips:
                skip_sum = skip_sum + run(self.skips[index], features)
        outputs = skip_sum if self.skips else features
        return run(self.head, outputs + biases[-1])

    # The one-pixel step protocol, driven by the sampler.

    def initial_state(self, batch_size, condition=None):
        """The sampler's loop state before the first pixel.

        Args:
          batch_size: int32 scalar.
          condition: the checked condition, or `None`.

        Returns:
          A nest of tensors of fixed shapes: every layer's cache and the
          condition's biases, computed once.
        """
        biases = self.biases(condition)
        pixel = tf.zeros([batch_size, self.config.color_channels], self.compute_dtype)
        run = stepping.InitialCaches(self.config.image_shape[1])
        self.forward(pixel, _pixel_biases(biases, 0, 0), run)
        biases = biases or []
        caches = self._start_row(run.caches, pixel, biases, 0)
        return {"caches": caches, "biases": biases, "pixel": pixel}

    def step(self, state, images, position):
        """The logits `[batch, num_levels]` of channel `c` at `(i, j)`, and the new state.

        Args:
          state: the loop state.
          images: int32 `[batch, H, W, C]`: every pixel before `(i, j)` and
            the channels before `c` at `(i, j)` are drawn.
          position: `(i, j, c)`: int32 scalars `i`, `j` and a Python int `c`.
        """
        i, j, c = position
        run = stepping.Steps(state["caches"], i, j)
        scaled = self.scale(stepping.pixel_at(images, i, j))  # [B, C]
        logits = self.forward(scaled, _pixel_biases(state["biases"], i, j), run)  # [B, C, L]
        # The stem's input is the pixel so far: `end_pixel` steps the stem
        # on the whole pixel, from the stem's cache before the pixel.
        caches = dict(run.caches, **{self.stem.name: state["caches"][self.stem.name]})
        return logits[:, c], dict(state, caches=caches)

    def end_pixel(self, state, images, i, j):
        """After pixel `(i, j)`'s last channel: the stem steps on the whole pixel.

        Every other layer's last step is final (`layers.stepping`); the stem
        reads the pixel itself, whose last channel was drawn after it, so
        `step` keeps the stem's cache as it was before the pixel.
        """
        caches = dict(state["caches"])
        scaled = self.scale(stepping.pixel_at(images, i, j))
        _, caches[self.stem.name] = self.stem.step(caches[self.stem.name], scaled, i, j)
        return dict(state, caches=caches)

    def end_row(self, state, i):
        """After row `i`'s last pixel: every layer's end of row (`layers.stepping`)."""
        run = stepping.EndRow(state["caches"], i)
        self.forward(state["pixel"], None, run)
        caches = self._start_row(run.caches, state["pixel"], state["biases"], i + 1)
        return dict(state, caches=caches)

    def _start_row(self, caches, pixel, biases, i):
        """Row `i`'s whole-row work before its first pixel (`stepping.StartRow`).

        Only where some layer needs whole rows (it has `start_row`); the
        wiring then runs on rows `[batch, width, ...]` with row `i`'s biases.
        """
        if not any(hasattr(layer, "start_row") for layer in compat.sublayers(self)):
            return caches
        height, width = self.config.image_shape[:2]
        row = tf.zeros([tf.shape(pixel)[0], width, pixel.shape[-1]], pixel.dtype)  # [B, W, C]
        # After the last row there is no next one: any row's biases serve.
        index = tf.minimum(i, height - 1)
        row_biases = [
            bias[:, 0] if bias.shape[1] == 1 else tf.gather(bias, index, axis=1)
            for bias in biases
        ]  # [B, 1 or W, features] each
        run = stepping.StartRow(caches, i)
        self.forward(row, row_biases or None, run)
        return run.caches

    def fill_in_order(self, fill, images, known, condition):
        """Fills `images` where `known` is False in the model's order: raster.

        `fill(network, images, known, condition, stage)` is the sampler's
        loop over one network; composite models call it once per stage.
        """
        return fill(self, images, known, condition, 0)

    def compute_output_shape(self, input_shape):
        input_shape = _from_dict(input_shape)
        images_shape = input_shape[0] if self.conditional else input_shape
        return (images_shape[0],) + self.config.image_shape + (self.config.num_levels,)


def _pixel_biases(biases, i, j):
    """The biases at pixel `(i, j)`: `[batch, features]` each (or `None`)."""
    if not biases:
        return None
    return [
        bias[:, 0, 0] if bias.shape[1] == 1 else stepping.pixel_at(bias, i, j) for bias in biases
    ]


@register_serializable
class MultiScalePixelModel(_ConfiguredModel):
    """The Multi-Scale PixelRNN (§3.5): the small image first, then the rest.

    With factor `f`, the small image is `images[:, ::f, ::f]`. Its logits
    are the `small` network's (a `PixelModel` of the small image); the other
    positions' are the `large` network's (a `PixelModel` of the whole image)
    conditioned, as a map, on the whole small image. So the order is: the
    subsampled positions in the small image's raster order, then every
    other position in raster order; R, G, B inside a pixel. The large
    network sees subsampled pixels that come *later* in raster order.

    Call arguments:
      inputs: integer images `[batch, height, width, channels]` in
        `[0, num_levels)`.

    Returns:
      float32 logits `[batch, height, width, channels, num_levels]`, exact
      and normalized conditionals in the order above.
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = MultiScaleConfig.from_dict(config)
        if not isinstance(config, MultiScaleConfig):
            raise ValueError(
                f"Expected `config` to be a MultiScaleConfig. Received: config={config!r}"
            )
        self.config = config
        self.small = PixelModel(config.small, name="small", dtype=self.dtype_policy)
        self.large = PixelModel(config.large_network, name="large", dtype=self.dtype_policy)
        height, width, _ = config.image_shape
        rows, cols = np.arange(height) % config.factor == 0, np.arange(width) % config.factor == 0
        self._subsampled = rows[:, None] & cols[None, :]  # [H, W]

    conditional = False

    def build(self, input_shape=None):
        if self.built:
            return
        self.small.build()
        self.large.build()
        self.built = True

    def split_inputs(self, inputs):
        inputs = _cast_symbolic(_from_dict(inputs))
        if isinstance(inputs, (tuple, list)):
            raise ValueError(
                "The multi-scale model conditions on its own small image and takes images "
                f"alone. Received: a {type(inputs).__name__} of {len(inputs)}"
            )
        return _checked_images(self.config, inputs), None

    def scale(self, images):
        return self.large.scale(images)

    def call(self, inputs):
        images, _ = self.split_inputs(inputs)
        return self._logits_or_empty(images, lambda: self.logits_from_scaled(self.scale(images)))

    def subsample(self, images):
        """The small image `images[:, ::f, ::f]` of `[batch, H, W, ...]`."""
        factor = self.config.factor
        return images[:, ::factor, ::factor]

    def spread(self, small):
        """The inverse of `subsample`: `[batch, h, w, ...]` -> `[batch, H, W, ...]`, zeros between."""
        factor = self.config.factor
        x = tf.expand_dims(tf.expand_dims(small, 2), 4)  # [B, h, 1, w, 1, ...]
        paddings = [[0, 0], [0, 0], [0, factor - 1], [0, 0], [0, factor - 1]]
        x = tf.pad(x, paddings + [[0, 0]] * (x.shape.rank - 5))  # [B, h, f, w, f, ...]
        shape = tf.concat([tf.shape(x)[:1], self.config.image_shape[:2], tf.shape(x)[5:]], 0)
        return tf.reshape(x, shape)

    def subsampled_mask(self, rank):
        """bool `[1, H, W, 1, ...]` of rank `rank`: True at the subsampled positions."""
        return tf.reshape(self._subsampled, (1,) + self._subsampled.shape + (1,) * (rank - 3))

    def logits_from_scaled(self, scaled, condition=None):
        small = self.subsample(scaled)
        small_logits = self.small.logits_from_scaled(small)  # [B, h, w, C, L]
        large_logits = self.large.logits_from_scaled(scaled, small)  # [B, H, W, C, L]
        return tf.where(self.subsampled_mask(5), self.spread(small_logits), large_logits)

    def fill_in_order(self, fill, images, known, condition):
        """The small image with the small network, then the rest with the large one."""
        small = fill(self.small, self.subsample(images), self.subsample(known), None, 0)
        mask = self.subsampled_mask(4)
        images = tf.where(mask, self.spread(small), images)
        known = tf.logical_or(known, mask)
        return fill(self.large, images, known, self.small.scale(small), 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.config.image_shape + (self.config.num_levels,)


def _is_xla_compile_error(error):
    """Whether `error` says XLA could not compile a function (not bad data)."""
    message = str(error)
    return any(
        text in message
        for text in ("XLA_CPU_JIT", "XLA_GPU_JIT", "XLA_TPU_JIT", "compile-time constant",
                     "unsupported operations when trying to compile")
    )


def _logs_for_reduction(logs):
    """Gives scalar logs a leading axis across several workers.

    Keras 3 reduces a step's logs across workers with a mean over axis 0,
    which fails on scalars (tensorflow/tensorflow#72388); a `[1]` log
    reduces to the mean over workers, a scalar again.
    """
    if compat.in_multi_worker_mode(tf.distribute.get_strategy()):
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


def build_model(config, name=None):
    """Builds the network of `config`.

    Args:
      config: a `ModelConfig`, a `MultiScaleConfig`, a dict of either's
        fields, or a preset name.
      name: the model's name; default `pixel_model_<arch>`.

    Returns:
      A built `PixelModel` or `MultiScalePixelModel` (a `keras.Model`).
    """
    config = configs.normalize(config)
    model_class = MultiScalePixelModel if isinstance(config, MultiScaleConfig) else PixelModel
    model = model_class(config, name=name or f"pixel_model_{config.arch}")
    model.build()
    return model
