"""`PixelModel`: one autoregressive network of images (Table 1)."""

import tensorflow as tf

from pixel_rnn_tf import compat
from pixel_rnn_tf import conditioning
from pixel_rnn_tf.configs import ModelConfig
from pixel_rnn_tf.layers import blocks
from pixel_rnn_tf.layers import stepping
from pixel_rnn_tf.layers.blocks import OutputStack
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D
from pixel_rnn_tf.models.base import ConfiguredModel
from pixel_rnn_tf.models.base import cast_symbolic
from pixel_rnn_tf.models.base import checked_images
from pixel_rnn_tf.models.base import scale_images
from pixel_rnn_tf.models.batches import from_dict
from pixel_rnn_tf.registry import register_serializable


@register_serializable
class PixelModel(ConfiguredModel):
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
        inputs = cast_symbolic(from_dict(inputs))
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
        images = checked_images(self.config, images)
        condition = conditioning.check(self.config, condition, tf.shape(images)[0])
        return images, condition

    def scale(self, images):
        """Maps int pixels `[0, num_levels)` to `[-1, 1]` in the compute dtype."""
        return scale_images(self.config, images, self.compute_dtype)

    def biases(self, condition):
        """The per-layer biases of `condition` (`conditioning.Conditioning`), or `None`."""
        return None if condition is None else self.conditioning(condition)

    def call(self, inputs):
        images, condition = self.split_inputs(inputs)
        return self._logits_of_any_batch(
            (images, condition),
            lambda images, condition: self.logits_from_scaled(self.scale(images), condition),
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
        input_shape = from_dict(input_shape)
        images_shape = input_shape[0] if self.conditional else input_shape
        return (images_shape[0],) + self.config.image_shape + (self.config.num_levels,)


def _pixel_biases(biases, i, j):
    """The biases at pixel `(i, j)`: `[batch, features]` each (or `None`)."""
    if not biases:
        return None
    return [
        bias[:, 0, 0] if bias.shape[1] == 1 else stepping.pixel_at(bias, i, j) for bias in biases
    ]
