"""Residual blocks of the architectures and the output stack (§3.3, Table 1).

Each architecture is a registered block class (`register_block`); a model
stacks `num_layers` of its config's block. Blocks are `stepping.Composite`
layers: their wiring, written once in `forward`, serves `call` and the
sampler's one-pixel `step` alike.
"""

import keras
import tensorflow as tf

from pixel_rnn_tf import validation
from pixel_rnn_tf.layers.diagonal_lstm import DiagonalBiLSTM
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D
from pixel_rnn_tf.layers.row_lstm import RowLSTM
from pixel_rnn_tf.layers.stepping import Composite
from pixel_rnn_tf.registry import register_serializable

_BLOCKS = {}


def register_block(arch):
    """Registers a `ResidualBlock` subclass as architecture `arch` (and as serializable)."""

    def register(cls):
        if arch in _BLOCKS:
            raise ValueError(f"Architecture {arch!r} is already registered by {_BLOCKS[arch]}.")
        _BLOCKS[arch] = cls
        return register_serializable(cls)

    return register


def architectures():
    """The registered architectures' names, in registration order."""
    return tuple(_BLOCKS)


def block_class(arch):
    """The block class of architecture `arch`."""
    return _BLOCKS[validation.check_one_of("arch", arch, architectures(), "architecture")]


class ResidualBlock(Composite, keras.layers.Layer):
    """A layer of `2h` features in and out, with an optional residual add (§3.3).

    The core maps `2h` features to `h`; a mask-B `1 x 1` convolution brings
    them back to `2h`; with `residual=True` the block's input is added.
    Subclasses build the core in `build_core`, wire it in `core(inputs,
    run)` and say how a `ModelConfig` makes them in `from_model_config`.

    Args:
      hidden_units: int, `h`.
      color_channels: 1 or 3.
      residual: bool, add the input to the output.

    Input and output shape: `[batch, height, width, 2 * hidden_units]`.
    """

    def __init__(self, hidden_units, color_channels=1, residual=True, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = validation.check_int("hidden_units", hidden_units, 1)
        self.color_channels = color_channels
        self.residual = bool(residual)

    @classmethod
    def from_model_config(cls, config, **kwargs):
        """The block of a model of `config` (a `ModelConfig`)."""
        return cls(
            hidden_units=config.hidden_units,
            color_channels=config.color_channels,
            residual=config.residual,
            **kwargs,
        )

    @classmethod
    def stem_from_model_config(cls, config, **kwargs):
        """The model's first layer: a mask-A `7 x 7` convolution to `2h` features (Table 1).

        An architecture whose blocks carry more than one stream overrides it.
        """
        return MaskedConv2D(
            2 * config.hidden_units, config.input_kernel_size, "A", config.color_channels,
            **kwargs,
        )

    def build(self, input_shape):
        core_shape = self.build_core(input_shape)
        self.output_projection = MaskedConv2D(
            2 * self.hidden_units, 1, "B", self.color_channels, name="output_projection",
            dtype=self.dtype_policy,
        )
        self.output_projection.build(core_shape)

    def build_core(self, input_shape):
        """Builds the core's layers; returns the core's output shape."""
        raise NotImplementedError

    def core(self, inputs, run):
        """The core's output `[..., h]`; `run(layer, x)` applies a sublayer."""
        raise NotImplementedError

    def forward(self, inputs, run):
        outputs = run(self.output_projection, self.core(inputs, run))
        return inputs + outputs if self.residual else outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2 * self.hidden_units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_units=self.hidden_units,
            color_channels=self.color_channels,
            residual=self.residual,
        )
        return config


@register_block("pixel_cnn")
class PixelCNNBlock(ResidualBlock):
    """ReLU, `1 x 1` to `h`, ReLU, `k x k` mask B, ReLU, `1 x 1` back to `2h` (Figure 5)."""

    def __init__(self, hidden_units, color_channels=1, residual=True, kernel_size=3, **kwargs):
        super().__init__(hidden_units, color_channels, residual, **kwargs)
        self.kernel_size = kernel_size
        self.reduce = MaskedConv2D(
            hidden_units, 1, "B", color_channels, name="reduce", dtype=self.dtype_policy
        )
        self.conv = MaskedConv2D(
            hidden_units, kernel_size, "B", color_channels, name="conv", dtype=self.dtype_policy
        )

    def build_core(self, input_shape):
        self.reduce.build(input_shape)
        reduced_shape = self.reduce.compute_output_shape(input_shape)
        self.conv.build(reduced_shape)
        return reduced_shape

    @classmethod
    def from_model_config(cls, config, **kwargs):
        return super().from_model_config(config, kernel_size=config.kernel_size, **kwargs)

    def core(self, inputs, run):
        x = run(self.reduce, tf.nn.relu(inputs))
        return tf.nn.relu(run(self.conv, tf.nn.relu(x)))

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=self.conv.kernel_size)
        return config


@register_block("row_lstm")
class RowLSTMBlock(ResidualBlock):
    """A `RowLSTM` of `h` units between `2h`-feature maps (§3.1, §3.3).

    `implementation` is the `RowLSTM`'s.
    """

    def __init__(self, hidden_units, color_channels=1, residual=True, kernel_width=3,
                 implementation="auto", **kwargs):
        super().__init__(hidden_units, color_channels, residual, **kwargs)
        self.kernel_width = kernel_width
        self.implementation = implementation
        self.lstm = RowLSTM(
            hidden_units, color_channels, kernel_width, implementation, name="row_lstm",
            dtype=self.dtype_policy,
        )

    @classmethod
    def from_model_config(cls, config, **kwargs):
        return super().from_model_config(
            config, kernel_width=config.kernel_size, implementation=config.implementation, **kwargs
        )

    def build_core(self, input_shape):
        self.lstm.build(input_shape)
        return self.lstm.compute_output_shape(input_shape)

    def core(self, inputs, run):
        return run(self.lstm, inputs)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_width=self.kernel_width, implementation=self.implementation)
        return config


@register_block("diagonal_bilstm")
class DiagonalBiLSTMBlock(ResidualBlock):
    """A `DiagonalBiLSTM` of `h` units between `2h`-feature maps (§3.2, §3.3).

    `implementation` is the `DiagonalBiLSTM`'s.
    """

    def __init__(self, hidden_units, color_channels=1, residual=True, implementation="auto",
                 **kwargs):
        super().__init__(hidden_units, color_channels, residual, **kwargs)
        self.implementation = implementation
        self.lstm = DiagonalBiLSTM(
            hidden_units, color_channels, implementation, name="diagonal_bilstm",
            dtype=self.dtype_policy,
        )

    @classmethod
    def from_model_config(cls, config, **kwargs):
        return super().from_model_config(config, implementation=config.implementation, **kwargs)

    def build_core(self, input_shape):
        self.lstm.build(input_shape)
        return self.lstm.compute_output_shape(input_shape)

    def core(self, inputs, run):
        return run(self.lstm, inputs)

    def get_config(self):
        config = super().get_config()
        config.update(implementation=self.implementation)
        return config


@register_serializable
class OutputStack(Composite, keras.layers.Layer):
    """ReLU and a mask-B `1 x 1` convolution, twice, then logits (Table 1).

    Args:
      output_units: int, features of the first `1 x 1` convolution (1024 in
        the paper, 32 for MNIST).
      num_levels: int, values per channel (256, or 2 for binary images).
      color_channels: 1 or 3.

    Input shape: `[batch, height, width, features]` (one pixel's
    `[batch, features]` in its step).
    Output shape: float32 logits `[batch, height, width, color_channels, num_levels]`.
    """

    def __init__(self, output_units, num_levels, color_channels=1, **kwargs):
        super().__init__(**kwargs)
        self.output_units = output_units
        self.num_levels = num_levels
        self.color_channels = color_channels
        self.hidden = MaskedConv2D(
            output_units, 1, "B", color_channels, name="hidden", dtype=self.dtype_policy
        )
        # Feature c * num_levels + v belongs to color group c (masking.color_groups).
        self.logits = MaskedConv2D(
            color_channels * num_levels, 1, "B", color_channels, name="logits",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.logits.build(self.hidden.compute_output_shape(input_shape))

    def forward(self, inputs, run):
        x = run(self.logits, tf.nn.relu(run(self.hidden, tf.nn.relu(inputs))))
        shape = tf.concat([tf.shape(x)[:-1], [self.color_channels, self.num_levels]], 0)
        # The likelihood is always computed in float32 (mixed precision).
        return tf.cast(tf.reshape(x, shape), tf.float32)  # [B, H, W, C, levels]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.color_channels, self.num_levels)

    def compute_output_spec(self, inputs):
        # float32 whatever the compute dtype, as `forward` returns.
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            output_units=self.output_units,
            num_levels=self.num_levels,
            color_channels=self.color_channels,
        )
        return config
