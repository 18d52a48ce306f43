"""`DiagonalLSTM` and `DiagonalBiLSTM`: the diagonal two-dimensional LSTM (§3.2)."""

import keras
import tensorflow as tf

from pixel_rnn_tf import ops
from pixel_rnn_tf.layers.diagonal_recurrences import column_state_to_state
from pixel_rnn_tf.layers.diagonal_recurrences import diagonal_entering_states
from pixel_rnn_tf.layers.diagonal_recurrences import fused_diagonal_recurrence
from pixel_rnn_tf.layers.diagonal_recurrences import skewed_recurrence
from pixel_rnn_tf.layers.masked_conv import pointwise
from pixel_rnn_tf.layers.spatial_lstm import SpatialLSTM
from pixel_rnn_tf.layers.spatial_lstm import check_implementation
from pixel_rnn_tf.layers.spatial_lstm import lstm_cell
from pixel_rnn_tf.layers.spatial_lstm import recurrence
from pixel_rnn_tf.layers.stepping import write_at
from pixel_rnn_tf.registry import register_serializable


@register_serializable
class DiagonalLSTM(SpatialLSTM):
    """One direction of the Diagonal BiLSTM: left to right along diagonals.

    The paper skews the input-to-state gates (a mask-B `1 x 1` convolution)
    so that row `r` moves right by `r`; the diagonals of the image are then
    the columns of the skewed map, and the recurrence runs over those
    columns. The state-to-state convolution has a `2 x 1` kernel: the
    previous column's hidden state at the current and the upper row, which
    in image coordinates are the left and the upper neighbours.

    Args:
      units: int, the hidden size `h`.
      color_channels: 1 or 3.
      implementation: "auto", "reference" (`skewed_recurrence`: skew, a loop
        over the columns, unskew) or "fused" (`fused_diagonal_recurrence`:
        the diagonals' pixels only, unrolled; opt-in, see `SpatialLSTM`).

    Input shape: `[batch, height, width, features]`.
    Output shape: `[batch, height, width, units]`.
    """

    input_kernel_size = (1, 1)
    state_width = 2  # [upper row, current row] of the previous column.

    def state_to_state(self, hidden, padding="SAME", kernel=None):
        return column_state_to_state(
            hidden, self.state_kernel if kernel is None else kernel, padding
        )

    def recurrence_weights(self):
        """`((initial hidden, initial cell), state kernel)` as tensors.

        Tensors, not variables: `fused_diagonal_recurrence` is a traced function.
        """
        initial = (tf.convert_to_tensor(self.initial_hidden), tf.convert_to_tensor(self.initial_cell))
        return initial, tf.convert_to_tensor(self.state_kernel)

    def entering_states(self, height):
        """The state entering each row's first pixel, `(hidden, cell)` `[height, units]`.

        See `diagonal_entering_states`.
        """
        return diagonal_entering_states(*self.recurrence_weights(), height)

    def neighbour_step(self, gates, upper, left, cell, kernel=None):
        """The cell at one pixel from its upper and left neighbours' states.

        Args:
          gates: `[..., 4 * units]`, the pixel's input-to-state gates.
          upper: `[..., units]`, the hidden state above (the previous skewed
            column, row above).
          left: `[..., units]`, the hidden state to the left (the previous
            skewed column, same row).
          cell: `[..., units]`, the left neighbour's cell state.
          kernel: as in `state_to_state`.

        Returns:
          `(hidden, cell)`, each `[..., units]`.
        """
        # A two-row column, "VALID": one output row. The cell's values keep
        # their rank (under XLA a unit axis on them splits their fusions).
        return lstm_cell(
            gates, tf.stack([upper, left], axis=-2), cell,
            lambda column: self.state_to_state(column, "VALID", kernel)[..., 0, :],
        )

    def hidden_states(self, gates, mirrored=False):
        """The recurrence of this direction on its input-to-state gates.

        Args:
          gates: `[batch, height, width, 4 * units]`.
          mirrored: bool, run on the map mirrored left to right (and return
            the states in the map's own layout).

        Returns:
          `[batch, height, width, units]`.
        """
        initial, kernel = self.recurrence_weights()
        if self.fused:
            entering = diagonal_entering_states(initial, kernel, gates.shape[1])  # [H, h] each
            return fused_diagonal_recurrence(gates, entering, kernel, mirrored=(mirrored,))
        if mirrored:
            mirror = tf.reverse(gates, axis=[2])  # [B, H, W, 4h], column W - 1 first
            return tf.reverse(skewed_recurrence(mirror, initial, kernel), axis=[2])
        return skewed_recurrence(gates, initial, kernel)

    def call(self, inputs):
        return self.hidden_states(self.input_to_state(inputs))


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
      implementation: both directions' (`DiagonalLSTM`).

    Input shape: `[batch, height, width, features]`.
    Output shape: `[batch, height, width, units]`.

    Its one-pixel step runs the left-to-right direction per pixel from its
    upper neighbour (the row above's hidden states) and its left one (the
    previous pixel's state, or the row's state from `entering_states`). The
    right-to-left direction, which the layer shifts down a row, is run along
    a whole row at the row's end (`end_row`).
    """

    def __init__(self, units, color_channels=1, implementation="auto", **kwargs):
        super().__init__(**kwargs)
        check_implementation(implementation)
        self.units = units
        self.color_channels = color_channels
        self.implementation = implementation
        self.left_to_right, self.right_to_left = (
            DiagonalLSTM(
                units, color_channels, implementation, name=name, dtype=self.dtype_policy
            )
            for name in ("left_to_right", "right_to_left")
        )

    def build(self, input_shape):
        self.left_to_right.build(input_shape)
        self.right_to_left.build(input_shape)
        self._height = input_shape[1]  # The step's entering states depend on it.

    def call(self, inputs):
        # Their `1 x 1` input-to-state convolutions commute with mirroring
        # the image, so they are one matmul of the inputs.
        directions = (self.left_to_right, self.right_to_left)
        gates = pointwise(inputs, [lstm.input_to_state for lstm in directions])  # [B, H, W, 8h]
        left, right = (
            lstm.hidden_states(direction_gates, mirrored)
            for lstm, direction_gates, mirrored in zip(
                directions, tf.split(gates, 2, axis=-1), (False, True)
            )
        )  # [B, H, W, h] each: two independent recurrences, which can run at once.
        return left + ops.shift_down(right)  # Row r sees only rows < r of `right` (§3.2).

    def initial_cache(self, inputs, width):
        batch, units = tf.shape(inputs)[0], self.units
        entering = {}
        for name, lstm in (("left", self.left_to_right), ("right", self.right_to_left)):
            hidden, cell = lstm.entering_states(self._height)
            entering[name] = (tf.cast(hidden, self.compute_dtype), tf.cast(cell, self.compute_dtype))
        row = tf.zeros([batch, width, units], self.compute_dtype)
        return {
            "input_to_state": self.left_to_right.input_to_state.initial_cache(inputs, width),
            "state_kernel": tf.cast(self.left_to_right.state_kernel, self.compute_dtype),
            "inputs": tf.zeros([batch, width, inputs.shape[-1]], self.compute_dtype),
            # Left to right: the row above (zeros above row 0, the skew's
            # padding), the current row, and the state left of the next
            # pixel (the previous pixel's, or the row's entering state): a
            # pixel's left neighbour is the pixel stepped before it.
            "hidden_above": row,
            "hidden": row,
            "left": self._entering(entering["left"], 0, batch),
            "right_above": row,  # Right to left along the row above.
            "entering": entering,
        }

    def _entering(self, entering, i, batch):
        """Row `i`'s entering `(hidden, cell)`, `[batch, h]` each, of `entering` `[H, h]` each."""
        return tuple(tf.broadcast_to(tf.gather(state, i), [batch, self.units]) for state in entering)

    def step(self, cache, inputs, i, j):
        lstm = self.left_to_right
        gates, _ = lstm.input_to_state.step(cache["input_to_state"], inputs, i, j)  # 1 x 1: [B, 4h]
        left_hidden, left_cell = cache["left"]
        hidden, cell = lstm.neighbour_step(
            gates,
            upper=tf.gather(cache["hidden_above"], j, axis=1),
            left=left_hidden,
            cell=left_cell,
            kernel=cache["state_kernel"],
        )  # [B, h] each
        cache = dict(
            cache,
            inputs=write_at(cache["inputs"], (j,), inputs),
            hidden=write_at(cache["hidden"], (j,), hidden),
            left=(hidden, cell),
        )
        # The right-to-left direction at (i - 1, j), shifted down (§3.2).
        return hidden + tf.gather(cache["right_above"], j, axis=1), cache

    def end_row(self, cache, i):
        following = tf.minimum(i + 1, self._height - 1)  # Row i + 1 (unused after the last).
        return dict(
            cache,
            hidden_above=cache["hidden"],
            left=self._entering(cache["entering"]["left"], following, tf.shape(cache["hidden"])[0]),
            right_above=self._right_to_left_row(cache, i),
        )

    def _right_to_left_row(self, cache, row):
        """The right-to-left direction along complete row `row`, `[batch, width, h]`.

        That direction is a `DiagonalLSTM` on the mirrored map: in mirrored
        coordinates, the row is a left-to-right recurrence from the row's
        entering state, whose upper neighbours are the row above's states
        (`right_above`, mirrored).
        """
        lstm = self.right_to_left
        mirrored = tf.reverse(cache["inputs"], axis=[1])  # [B, W, 2h], column W - 1 first
        gates = lstm.input_to_state(mirrored[:, None])[:, 0]  # [B, W, 4h], a 1 x 1 convolution.
        upper = tf.reverse(cache["right_above"], axis=[1])  # [B, W, h]
        kernel = tf.cast(lstm.state_kernel, gates.dtype)  # [2, h, 4h]: [upper row, current row]
        # The `2 x 1` state-to-state convolution is the upper neighbours'
        # part, for the whole row at once, plus the left neighbour's, in the
        # recurrence: half the sequential work of the whole kernel per column.
        gates = gates + tf.matmul(upper, kernel[0])  # [B, W, 4h]
        initial = self._entering(cache["entering"]["right"], row, tf.shape(upper)[0])  # [B, h] each
        hidden = recurrence(
            tf.transpose(gates, [1, 0, 2]), initial, lambda left: tf.matmul(left, kernel[1])
        )  # [W, B, h], mirrored columns
        return tf.reverse(tf.transpose(hidden, [1, 0, 2]), axis=[1])  # [B, W, h]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units, color_channels=self.color_channels,
            implementation=self.implementation,
        )
        return config
