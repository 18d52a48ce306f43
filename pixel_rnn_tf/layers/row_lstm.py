"""`RowLSTM`: the row-by-row two-dimensional LSTM (§3.1)."""

import tensorflow as tf

from pixel_rnn_tf.layers.spatial_lstm import SpatialLSTM
from pixel_rnn_tf.registry import register_serializable


@register_serializable
class RowLSTM(SpatialLSTM):
    """Processes an image a row at a time, a whole row at once (§3.1).

    Input-to-state: a mask-B `1 x 3` convolution along the row, for the whole
    map at once. State-to-state: an unmasked width-3 1-D convolution of the
    previous row's hidden state. The receptive field of a pixel is a triangle
    above it (plus what the input-to-state convolution sees in its own row).

    Args:
      units: int, the hidden size `h`.
      color_channels: 1 or 3.
      kernel_width: odd int, width of both 1-D convolutions (`k = 3`).

    Input shape: `[batch, height, width, features]`.
    Output shape: `[batch, height, width, units]`.
    """

    state_width = None

    def __init__(self, units, color_channels=1, kernel_width=3, **kwargs):
        super().__init__(units, color_channels, **kwargs)
        if not isinstance(kernel_width, int) or kernel_width <= 0 or kernel_width % 2 == 0:
            raise ValueError(
                "Expected `kernel_width` to be a positive odd int. "
                f"Received: kernel_width={kernel_width}"
            )
        self.kernel_width = kernel_width
        self.input_kernel_size = (1, kernel_width)
        self.state_width = kernel_width

    def state_to_state(self, hidden):
        # hidden: [batch, width, units] -> [batch, width, 4 * units]
        return tf.nn.conv1d(hidden, self.state_kernel, stride=1, padding="SAME")

    def call(self, inputs):
        gates = self.input_to_state(inputs)  # [B, H, W, 4h]
        rows = tf.transpose(gates, [1, 0, 2, 3])  # [H, B, W, 4h]
        shape = tf.shape(gates)
        hidden = self.scan(rows, tf.stack([shape[0], shape[2]]))  # [H, B, W, h]
        return tf.transpose(hidden, [1, 0, 2, 3])  # [B, H, W, h]

    def get_config(self):
        config = super().get_config()
        config.update(kernel_width=self.kernel_width)
        return config
