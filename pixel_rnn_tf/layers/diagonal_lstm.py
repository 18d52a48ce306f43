"""`DiagonalLSTM` and `DiagonalBiLSTM`: the diagonal two-dimensional LSTM (§3.2)."""

import keras
import tensorflow as tf

from pixel_rnn_tf import ops
from pixel_rnn_tf.layers.spatial_lstm import SpatialLSTM
from pixel_rnn_tf.layers.spatial_lstm import recurrence
from pixel_rnn_tf.registry import register_serializable


def column_state_to_state(hidden, kernel):
    """The `2 x 1` state-to-state convolution of a skewed column.

    Args:
      hidden: `[..., height, units]`, the previous column's hidden state.
      kernel: `[..., 2, units, 4 * units]`: [upper row, current row], with
        the same leading dims as `hidden` has before `height` (or none).

    Returns:
      `[..., height, 4 * units]`; row `r` sees rows `r - 1` and `r`.
    """
    paddings = [[0, 0]] * (hidden.shape.rank - 2) + [[1, 0], [0, 0]]
    upper = tf.pad(hidden, paddings)[..., :-1, :]  # Row r holds row r - 1.
    return tf.matmul(upper, kernel[..., 0, :, :]) + tf.matmul(hidden, kernel[..., 1, :, :])


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
        return column_state_to_state(hidden, self.state_kernel)

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
        # Both directions run in one scan over the skewed columns: half the
        # sequential steps of running them one after the other.
        width = inputs.shape[2]
        directions = (self.left_to_right, self.right_to_left)
        mirrored = tf.reverse(inputs, axis=[2])
        gates = tf.stack(
            [
                ops.skew(lstm.input_to_state(x))  # [B, H, W + H - 1, 4h]
                for lstm, x in zip(directions, (inputs, mirrored))
            ]
        )  # [2, B, H, W + H - 1, 4h]
        columns = tf.transpose(gates, [3, 0, 1, 2, 4])  # [W + H - 1, 2, B, H, 4h]
        shape = tf.shape(gates)
        initial = [lstm.initial_state(tf.stack([shape[1], shape[2]])) for lstm in directions]
        initial_state = tuple(tf.stack(parts) for parts in zip(*initial))  # [2, B, H, h] each
        kernel = tf.stack([tf.convert_to_tensor(lstm.state_kernel) for lstm in directions])
        kernel = kernel[:, None]  # [2, 1, 2, h, 4h]: per direction, broadcast over batch.
        hidden, _ = recurrence(
            columns, initial_state, lambda h: column_state_to_state(h, kernel)
        )  # [W + H - 1, 2, B, H, h]
        hidden = tf.transpose(hidden, [1, 2, 3, 0, 4])  # [2, B, H, W + H - 1, h]
        left = ops.unskew(hidden[0], width=width)  # [B, H, W, h]
        right = tf.reverse(ops.unskew(hidden[1], width=width), axis=[2])
        return left + ops.shift_down(right)  # Row r sees only rows < r of `right` (§3.2).

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, color_channels=self.color_channels)
        return config
