"""`PixelModel` and `build_model`: PixelCNN, Row LSTM and Diagonal BiLSTM networks."""

import keras
import tensorflow as tf
from keras.src.backend.common.symbolic_scope import in_symbolic_scope

from pixel_rnn_tf import configs
from pixel_rnn_tf import validation
from pixel_rnn_tf.configs import ModelConfig
from pixel_rnn_tf.layers.blocks import DiagonalBiLSTMBlock
from pixel_rnn_tf.layers.blocks import OutputStack
from pixel_rnn_tf.layers.blocks import PixelCNNBlock
from pixel_rnn_tf.layers.blocks import RowLSTMBlock
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D
from pixel_rnn_tf.registry import register_serializable


def _make_block(config, index):
    common = dict(
        hidden_units=config.hidden_units,
        color_channels=config.color_channels,
        residual=config.residual,
        name=f"block_{index}",
    )
    if config.arch == "pixel_cnn":
        return PixelCNNBlock(kernel_size=config.kernel_size, **common)
    if config.arch == "row_lstm":
        return RowLSTMBlock(kernel_width=config.kernel_size, **common)
    return DiagonalBiLSTMBlock(**common)


@register_serializable
class PixelModel(keras.Model):
    """An autoregressive network of images: integer pixels in, logits out.

    Layout (Table 1): a `7 x 7` mask-A convolution to `2h` features, then
    `num_layers` residual blocks of the configured architecture, learnable
    skip connections from each block (a mask-B `1 x 1` convolution each,
    summed), and the output stack. With `num_classes`, a learned per-class
    bias is added to the features entering every block and the output stack.

    The network scales its integer input to `[-1, 1]` itself, so a served
    model takes raw pixel values.

    Call arguments:
      inputs: integer images `[batch, height, width, channels]` with values
        in `[0, num_levels)`; for a class-conditional model, a pair
        `(images, labels)` with int labels `[batch]`.

    Returns:
      float32 logits `[batch, height, width, channels, num_levels]`;
      `logits[b, i, j, c]` depends only on pixels before `(i, j)` in raster
      order and on channels before `c` at `(i, j)`.
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
        self.stem = MaskedConv2D(
            features, config.input_kernel_size, "A", channels, name="input_conv"
        )
        self.blocks = [_make_block(config, i) for i in range(config.num_layers)]
        self.skips = (
            [
                MaskedConv2D(features, 1, "B", channels, name=f"skip_{i}")
                for i in range(config.num_layers)
            ]
            if config.skip
            else []
        )
        self.head = OutputStack(config.output_units, config.num_levels, channels, name="output")
        self.class_biases = (
            [
                keras.layers.Embedding(
                    config.num_classes, features, embeddings_initializer="zeros",
                    name=f"class_bias_{i}",
                )
                for i in range(config.num_layers + 1)
            ]
            if config.num_classes
            else []
        )

    @property
    def conditional(self):
        return self.config.num_classes is not None

    def build(self, input_shape=None):
        features_shape = (None,) + self.config.image_shape[:2] + (2 * self.config.hidden_units,)
        self.stem.build((None,) + self.config.image_shape)
        for layer in self.blocks + self.skips:
            layer.build(features_shape)
        self.head.build(features_shape)
        for layer in self.class_biases:
            layer.build((None,))
        self.built = True

    def split_inputs(self, inputs):
        """Validates `inputs`; returns int32 `(images, labels or None)`."""
        if in_symbolic_scope():
            # Under a tf.distribute strategy, Keras's fit first builds the
            # model on the replica *mean* of a batch, a float: only shapes
            # matter there.
            inputs = tf.nest.map_structure(lambda x: tf.cast(x, tf.int32), inputs)
        if self.conditional:
            if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
                raise ValueError(
                    "A class-conditional model takes `(images, labels)`. "
                    f"Received: inputs of type {type(inputs).__name__}"
                )
            images, labels = inputs
            labels = validation.check_range(labels, self.config.num_classes, "labels")
        else:
            if isinstance(inputs, (tuple, list)):
                raise ValueError(
                    "This model is not class-conditional (num_classes=None) and takes "
                    f"images alone. Received: a {type(inputs).__name__} of {len(inputs)}"
                )
            images, labels = inputs, None
        images = validation.check_images(
            images, self.config.image_shape, self.config.num_levels
        )
        return images, labels

    def scale(self, images):
        """Maps int pixels `[0, num_levels)` to `[-1, 1]` in the compute dtype."""
        scale = 2.0 / (self.config.num_levels - 1)
        return tf.cast(tf.cast(images, tf.float32) * scale - 1.0, self.compute_dtype)

    def class_bias(self, index, labels):
        """Per-class bias `[batch, 1, 1, 2h]` of layer `index`, or 0."""
        if labels is None:
            return 0.0
        return self.class_biases[index](labels)[:, None, None, :]

    def call(self, inputs):
        images, labels = self.split_inputs(inputs)
        return self.logits_from_scaled(self.scale(images), labels)

    def logits_from_scaled(self, scaled, labels=None):
        """Logits from scaled images `[batch, H, W, C]` in `[-1, 1]`.

        The differentiable part of `call`: tests take its gradients.
        """
        return self.forward(scaled, labels, self.stem, lambda index, block, x: block.core(x))

    def forward(self, scaled, labels, stem, core):
        """The network's wiring, with the spatial parts supplied by the caller.

        `logits_from_scaled` runs it on whole images; the cached sampler runs
        it on one pixel (`[batch, 1, 1, features]` maps), supplying a stem and
        block cores that read the other pixels from its caches. Everything
        else (class biases, residual adds, skips, the output stack) is
        per-pixel and shared.

        Args:
          scaled: `[batch, h, w, C]` scaled images.
          labels: int `[batch]` or `None`.
          stem: maps `scaled` to the first features `[batch, h, w, 2h]`.
          core: `core(index, block, inputs)`, block `index`'s core output.

        Returns:
          float32 logits `[batch, h, w, C, num_levels]`.
        """
        features = stem(scaled)  # [B, h, w, 2h]
        skip_sum = 0.0
        for index, block in enumerate(self.blocks):
            inputs = features + self.class_bias(index, labels)
            features = block.finish(inputs, core(index, block, inputs))
            if self.skips:
                skip_sum = skip_sum + self.skips[index](features)
        outputs = skip_sum if self.skips else features
        return self.head(outputs + self.class_bias(len(self.blocks), labels))

    def compute_output_shape(self, input_shape):
        return (None,) + self.config.image_shape + (self.config.num_levels,)

    def train_step(self, data):
        return _logs_for_reduction(super().train_step(data))

    def test_step(self, data):
        return _logs_for_reduction(super().test_step(data))

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "config": self.config.to_dict()}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _logs_for_reduction(logs):
    """Gives scalar logs a leading axis across several workers.

    Keras 3 reduces a step's logs across workers with a mean over axis 0,
    which fails on scalars (tensorflow/tensorflow#72388); a `[1]` log
    reduces to the mean over workers, a scalar again.
    """
    strategy = tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()
    ):
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


def build_model(config, name=None):
    """Builds the network of `config` (a `ModelConfig`, a dict, or a preset name).

    Returns:
      A built `PixelModel` (a `keras.Model`).
    """
    if isinstance(config, str):
        config = configs.get(config)
    elif isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    model = PixelModel(config, name=name or f"pixel_model_{config.arch}")
    model.build()
    return model
