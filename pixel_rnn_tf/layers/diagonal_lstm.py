"""`DiagonalLSTM` and `DiagonalBiLSTM`: the diagonal two-dimensional LSTM (§3.2)."""

import keras
import tensorflow as tf

from pixel_rnn_tf import ops
from pixel_rnn_tf.layers.spatial_lstm import SpatialLSTM
from pixel_rnn_tf.registry import register_serializable


@register_serializable
class DiagonalLSTM(SpatialLSTM):
    """One direction of the Diagonal BiLSTM: left to right along diagonals.

    The input-to-state gates (a mask-B `1 x 1` convolution) are skewed so that
    row `r` moves right by `r`; the diagonals of the image are then the
    columns of the skewed map, and the recurrence runs over those columns. The
    state-to-state convolution has a `2 x 1` kernel: the previous column's
    hidden state at the current and the upper row, which in image coordinates
    are the left and the upper neighbours.

    Args:
      units: int, the hidden size `h`.
      color_channels: 1 or 3.

    Input shape: `[batch, height, width, features]`.
    Output shape: `[batch, height, width, units]`.
    """

    input_kernel_size = (1, 1)
    state_width = 2  # [upper row, current row] of the previous column.

    def state_to_state(self, hidden):
        # hidden: [batch, height, units]; row r sees rows r - 1 and r.
        padded = tf.pad(hidden, [[0, 0], [1, 0], [0, 0]])  # [B, H + 1, h]
        return tf.nn.conv1d(padded, self.state_kernel, stride=1, padding="VALID")

    def call(self, inputs):
        width = inputs.shape[2]
        gates = ops.skew(self.input_to_state(inputs))  # [B, H, W + H - 1, 4h]
        columns = tf.transpose(gates, [2, 0, 1, 3])  # [W + H - 1, B, H, 4h]
        shape = tf.shape(gates)
        hidden = self.scan(columns, tf.stack([shape[0], shape[1]]))  # [W + H - 1, B, H, h]
        hidden = tf.transpose(hidden, [1, 2, 0, 3])  # [B, H, W + H - 1, h]
        return ops.unskew(hidden, width=width)  # [B, H, W, h]


@register_serializable
class DiagonalBiLSTM(keras.layers.Layer):
    """Two `DiagonalLSTM`s, the second on the mirrored image (§3.2).

    The right-to-left direction sees the pixels to the right of the current
    one in its row, so "to prevent the layer from seeing future pixels, the
    right output map is then shifted down by one row and added to the left
    output map".

    Args:
      units: int, the hidden size `h`.
      color_channels: 1 or 3.

    Input shape: `[batch, height, width, features]`.
    Output shape: `[batch, height, width, units]`.
    """

    def __init__(self, units, color_channels=1, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.color_channels = color_channels
        self.left_to_right = DiagonalLSTM(units, color_channels, name="left_to_right")
        self.right_to_left = DiagonalLSTM(units, color_channels, name="right_to_left")

    def build(self, input_shape):
        self.left_to_right.build(input_shape)
        self.right_to_left.build(input_shape)

    def call(self, inputs):
        left = self.left_to_right(inputs)  # [B, H, W, h]
        right = tf.reverse(self.right_to_left(tf.reverse(inputs, axis=[2])), axis=[2])
        return left + ops.shift_down(right)  # Row r sees only rows < r of `right`.

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, color_channels=self.color_channels)
        return config
