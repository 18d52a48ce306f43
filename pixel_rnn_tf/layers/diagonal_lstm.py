"""`DiagonalLSTM` and `DiagonalBiLSTM`: the diagonal two-dimensional LSTM (§3.2)."""

import functools

import keras
import tensorflow as tf

from pixel_rnn_tf import ops
from pixel_rnn_tf.layers.spatial_lstm import SpatialLSTM
from pixel_rnn_tf.layers.spatial_lstm import lstm_cell
from pixel_rnn_tf.layers.spatial_lstm import recurrence
from pixel_rnn_tf.layers.stepping import write_at
from pixel_rnn_tf.registry import register_serializable


def column_state_to_state(hidden, kernel, padding="SAME"):
    """The `2 x 1` state-to-state convolution of a skewed column.

    Args:
      hidden: `[..., height, units]`, the previous column's hidden state.
      kernel: `[..., 2, units, 4 * units]`: [upper row, current row], with
        the same leading dims as `hidden` has before `height` (or none).
      padding: "SAME" (a zero row above the column) or "VALID".

    Returns:
      `[..., height, 4 * units]` ("SAME"; row `r` sees rows `r - 1` and `r`)
      or `[..., height - 1, 4 * units]` ("VALID").
    """
    if padding == "SAME":
        hidden = tf.pad(hidden, [[0, 0]] * (hidden.shape.rank - 2) + [[1, 0], [0, 0]])
    kernel = tf.cast(kernel, hidden.dtype)
    pairs = tf.concat([hidden[..., :-1, :], hidden[..., 1:, :]], axis=-1)  # [upper, current]
    flat = tf.reshape(kernel, tf.concat([tf.shape(kernel)[:-3], [-1, kernel.shape[-1]]], 0))
    return tf.matmul(pairs, flat)  # One matmul of [..., 2h] by [2h, 4h].


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

    def state_to_state(self, hidden, padding="SAME", kernel=None):
        return column_state_to_state(
            hidden, self.state_kernel if kernel is None else kernel, padding
        )

    def entering_states(self, height):
        """The state entering each row's first pixel, `(hidden, cell)` `[height, units]`.

        The recurrence runs over the skewed map's columns from the learned
        initial state. Row `r`'s first pixel sits in skewed column `r`, after
        `r` cells of zero padding: it enters from padding cell `(r, r - 1)`,
        not from the initial state (row 0 excepted). Padding cells have zero
        input gates and padding (or initial, or zero) neighbours, so their
        states are constants of the weights, computed here by the layer's own
        recurrence on zero gates.
        """
        initial = self.initial_state(tf.constant([height]))  # ([rows, h], [rows, h])
        if height == 1:
            return initial
        gates = tf.zeros([height - 1, height, 4 * self.units])  # [columns, rows, 4h]
        states = recurrence(gates, initial, self.state_to_state)  # [columns, rows, h] each
        diagonal = [[r - 1, r] for r in range(1, height)]  # Row r >= 1 enters from column r - 1.
        return tuple(
            tf.concat([start[:1], tf.gather_nd(state, diagonal)], axis=0)  # [rows, h]
            for start, state in zip(initial, states)
        )

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
        hidden, cell = lstm_cell(
            gates[..., None, :], tf.stack([upper, left], axis=-2), cell[..., None, :],
            functools.partial(self.state_to_state, padding="VALID", kernel=kernel),
        )  # A two-row column, "VALID": one output row.
        return hidden[..., 0, :], cell[..., 0, :]

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

    Its one-pixel step runs the left-to-right direction per pixel from its
    upper and left neighbours (the hidden states of the row above and of
    the current row, which starts from `entering_states`). The right-to-left
    direction, which the layer shifts down a row, is run along a whole row
    at the row's end (`end_row`).
    """

    def __init__(self, units, color_channels=1, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.color_channels = color_channels
        self.left_to_right = DiagonalLSTM(
            units, color_channels, name="left_to_right", dtype=self.dtype_policy
        )
        self.right_to_left = DiagonalLSTM(
            units, color_channels, name="right_to_left", dtype=self.dtype_policy
        )

    def build(self, input_shape):
        self.left_to_right.build(input_shape)
        self.right_to_left.build(input_shape)
        self._height = input_shape[1]  # The step's entering states depend on it.

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
            # padding) and the current row, whose column 0 holds the state
            # entering its first pixel, so column j is the left neighbour of j.
            "hidden_above": row,
            "hidden": self._enter_row(entering["left"][0], 0, row),
            "cell": self._enter_row(entering["left"][1], 0, row),
            "right_above": row,  # Right to left along the row above.
            "entering": entering,
        }

    @staticmethod
    def _enter_row(entering, i, row):
        """`[batch, width + 1, h]`: row `i`'s entering state, then `row` `[batch, width, h]`."""
        first = tf.broadcast_to(tf.gather(entering, i), tf.shape(row[:, 0]))  # [B, h]
        return tf.concat([first[:, None], row], axis=1)

    def step(self, cache, inputs, i, j):
        lstm = self.left_to_right
        gates, _ = lstm.input_to_state.step(cache["input_to_state"], inputs, i, j)  # 1 x 1: [B, 4h]
        hidden, cell = lstm.neighbour_step(
            gates,
            upper=tf.gather(cache["hidden_above"], j, axis=1),
            left=tf.gather(cache["hidden"], j, axis=1),
            cell=tf.gather(cache["cell"], j, axis=1),
            kernel=cache["state_kernel"],
        )  # [B, h] each
        cache = dict(
            cache,
            inputs=write_at(cache["inputs"], (j,), inputs),
            hidden=write_at(cache["hidden"], (j + 1,), hidden),
            cell=write_at(cache["cell"], (j + 1,), cell),
        )
        # The right-to-left direction at (i - 1, j), shifted down (§3.2).
        return hidden + tf.gather(cache["right_above"], j, axis=1), cache

    def end_row(self, cache, i):
        following = tf.minimum(i + 1, self._height - 1)  # Row i + 1 (unused after the last).
        hidden, cell = cache["hidden"][:, 1:], cache["cell"][:, 1:]
        entering_hidden, entering_cell = cache["entering"]["left"]
        return dict(
            cache,
            hidden_above=hidden,
            hidden=self._enter_row(entering_hidden, following, hidden),
            cell=self._enter_row(entering_cell, following, cell),
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
        batch_shape = tf.shape(upper[:, 0])
        initial = tuple(
            tf.broadcast_to(tf.gather(state, row), batch_shape)
            for state in cache["entering"]["right"]
        )  # [B, h] each

        def cell_step(state, column):
            gates, upper = column
            return lstm.neighbour_step(gates, upper, state[0], state[1])

        hidden, _ = tf.scan(
            cell_step,
            (tf.transpose(gates, [1, 0, 2]), tf.transpose(upper, [1, 0, 2])),
            initializer=initial,
        )  # [W, B, h], mirrored columns
        return tf.reverse(tf.transpose(hidden, [1, 0, 2]), axis=[1])  # [B, W, h]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, color_channels=self.color_channels)
        return config
