"""Residual blocks of the three architectures and the output stack (§3.3, Table 1)."""

import keras
import tensorflow as tf

from pixel_rnn_tf.layers.diagonal_lstm import DiagonalBiLSTM
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D
from pixel_rnn_tf.layers.row_lstm import RowLSTM
from pixel_rnn_tf.registry import register_serializable


class ResidualBlock(keras.layers.Layer):
    """A layer of `2h` features in and out, with an optional residual add (§3.3).

    The core maps `2h` features to `h`; a mask-B `1 x 1` convolution brings
    them back to `2h`; with `residual=True` the block's input is added.
    Subclasses build the core in `build_core` and run it in `core`.

    Args:
      hidden_units: int, `h`.
      color_channels: 1 or 3.
      residual: bool, add the input to the output.

    Input and output shape: `[batch, height, width, 2 * hidden_units]`.
    """

    def __init__(self, hidden_units, color_channels=1, residual=True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(hidden_units, int) or hidden_units <= 0:
            raise ValueError(
                f"Expected `hidden_units` to be a positive int. Received: hidden_units={hidden_units}"
            )
        self.hidden_units = hidden_units
        self.color_channels = color_channels
        self.residual = bool(residual)

    def build(self, input_shape):
        core_shape = self.build_core(input_shape)
        self.output_projection = MaskedConv2D(
            2 * self.hidden_units, 1, "B", self.color_channels, name="output_projection"
        )
        self.output_projection.build(core_shape)

    def build_core(self, input_shape):
        """Builds the core's layers; returns the core's output shape."""
        raise NotImplementedError

    def core(self, inputs):
        raise NotImplementedError

    def finish(self, inputs, core_outputs):
        """The block's output from its input and its core's output."""
        outputs = self.output_projection(core_outputs)
        return inputs + outputs if self.residual else outputs

    def call(self, inputs):
        return self.finish(inputs, self.core(inputs))

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


@register_serializable
class PixelCNNBlock(ResidualBlock):
    """ReLU, `1 x 1` to `h`, ReLU, `k x k` mask B, ReLU, `1 x 1` back to `2h` (Figure 5)."""

    def __init__(self, hidden_units, color_channels=1, residual=True, kernel_size=3, **kwargs):
        super().__init__(hidden_units, color_channels, residual, **kwargs)
        self.kernel_size = kernel_size
        self.reduce = MaskedConv2D(hidden_units, 1, "B", color_channels, name="reduce")
        self.conv = MaskedConv2D(hidden_units, kernel_size, "B", color_channels, name="conv")

    def build_core(self, input_shape):
        self.reduce.build(input_shape)
        reduced_shape = self.reduce.compute_output_shape(input_shape)
        self.conv.build(reduced_shape)
        return reduced_shape

    def core(self, inputs, conv=None):
        """The core; `conv` replaces `self.conv` (the cached sampler's one-pixel version)."""
        x = self.reduce(tf.nn.relu(inputs))
        return tf.nn.relu((conv or self.conv)(tf.nn.relu(x)))

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=self.conv.kernel_size)
        return config


@register_serializable
class RowLSTMBlock(ResidualBlock):
    """A `RowLSTM` of `h` units between `2h`-feature maps (§3.1, §3.3)."""

    def __init__(self, hidden_units, color_channels=1, residual=True, kernel_width=3, **kwargs):
        super().__init__(hidden_units, color_channels, residual, **kwargs)
        self.kernel_width = kernel_width
        self.lstm = RowLSTM(hidden_units, color_channels, kernel_width, name="row_lstm")

    def build_core(self, input_shape):
        self.lstm.build(input_shape)
        return self.lstm.compute_output_shape(input_shape)

    def core(self, inputs):
        return self.lstm(inputs)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_width=self.kernel_width)
        return config


@register_serializable
class DiagonalBiLSTMBlock(ResidualBlock):
    """A `DiagonalBiLSTM` of `h` units between `2h`-feature maps (§3.2, §3.3)."""

    def __init__(self, hidden_units, color_channels=1, residual=True, **kwargs):
        super().__init__(hidden_units, color_channels, residual, **kwargs)
        self.lstm = DiagonalBiLSTM(hidden_units, color_channels, name="diagonal_bilstm")

    def build_core(self, input_shape):
        self.lstm.build(input_shape)
        return self.lstm.compute_output_shape(input_shape)

    def core(self, inputs):
        return self.lstm(inputs)


@register_serializable
class OutputStack(keras.layers.Layer):
    """ReLU and a mask-B `1 x 1` convolution, twice, then logits (Table 1).

    Args:
      output_units: int, features of the first `1 x 1` convolution (1024 in
        the paper, 32 for MNIST).
      num_levels: int, values per channel (256, or 2 for binary images).
      color_channels: 1 or 3.

    Input shape: `[batch, height, width, features]`.
    Output shape: float32 logits `[batch, height, width, color_channels, num_levels]`.
    """

    def __init__(self, output_units, num_levels, color_channels=1, **kwargs):
        super().__init__(**kwargs)
        self.output_units = output_units
        self.num_levels = num_levels
        self.color_channels = color_channels
        self.hidden = MaskedConv2D(output_units, 1, "B", color_channels, name="hidden")
        # Feature c * num_levels + v belongs to color group c (masking.color_groups).
        self.logits = MaskedConv2D(
            color_channels * num_levels, 1, "B", color_channels, name="logits"
        )

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.logits.build(self.hidden.compute_output_shape(input_shape))

    def call(self, inputs):
        x = self.logits(tf.nn.relu(self.hidden(tf.nn.relu(inputs))))
        shape = tf.concat([tf.shape(x)[:-1], [self.color_channels, self.num_levels]], 0)
        # The likelihood is always computed in float32 (mixed precision).
        return tf.cast(tf.reshape(x, shape), tf.float32)  # [B, H, W, C, levels]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.color_channels, self.num_levels)

    def get_config(self):
        config = super().get_config()
        config.update(
            output_units=self.output_units,
            num_levels=self.num_levels,
            color_channels=self.color_channels,
        )
        return config
