"""`DiagonalLSTM` and `DiagonalBiLSTM`: the diagonal two-dimensional LSTM (§3.2)."""

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

    One matmul whatever the leading dims: the recurrent step of `call` is
    sequential, so it pays off to give the matmul all the rows of all the
    images (and of both directions) at once rather than many small batched
    products.

    Args:
      hidden: `[*lead, ..., height, units]`, the previous column's hidden
        state.
      kernel: `[*lead, 2, units, 4 * units]`: [upper row, current row], its
        leading dims `lead` (often none; the directions of a
        `DiagonalBiLSTM`) equal to those of `hidden`.
      padding: "SAME" (a zero row above the column) or "VALID".

    Returns:
      `[*lead, ..., height, 4 * units]` ("SAME"; row `r` sees rows `r - 1`
      and `r`) or `[*lead, ..., height - 1, 4 * units]` ("VALID").
    """
    if padding == "SAME":
        hidden = tf.pad(hidden, [[0, 0]] * (hidden.shape.rank - 2) + [[1, 0], [0, 0]])
    kernel = tf.cast(kernel, hidden.dtype)
    lead = kernel.shape.rank - 3
    units, gates = kernel.shape[-2], kernel.shape[-1]
    rows = hidden.shape[-2]
    rows = (rows if rows is not None else tf.shape(hidden)[-2]) - 1
    pairs = tf.concat(
        [ops.slice_along(hidden, -2, 0, rows), ops.slice_along(hidden, -2, 1, rows)], axis=-1
    )  # [upper, current]
    shape = [pairs.shape[a] if pairs.shape[a] is not None else tf.shape(pairs)[a]
             for a in range(pairs.shape.rank)]
    flat = tf.reshape(pairs, shape[:lead] + [-1, 2 * units])  # [*lead, N, 2h]
    products = tf.matmul(flat, tf.reshape(kernel, kernel.shape[:lead] + [2 * units, gates]))
    return tf.reshape(products, shape[:-1] + [gates])  # [*lead, ..., height', 4h]


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
        # A two-row column, "VALID": one output row. The cell's values keep
        # their rank (under XLA a unit axis on them splits their fusions).
        return lstm_cell(
            gates, tf.stack([upper, left], axis=-2), cell,
            lambda column: self.state_to_state(column, "VALID", kernel)[..., 0, :],
        )

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
    upper neighbour (the row above's hidden states) and its left one (the
    previous pixel's state, or the row's state from `entering_states`). The
    right-to-left direction, which the layer shifts down a row, is run along
    a whole row at the row's end (`end_row`).
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
        # kernel: [2, 2, h, 4h]; both directions' state-to-state gates are one matmul.
        hidden, _ = recurrence(
            columns, initial_state, lambda h: column_state_to_state(h, kernel)
        )  # [W + H - 1, 2, B, H, h]
        hidden = tf.transpose(hidden, [1, 2, 3, 0, 4])  # [2, B, H, W + H - 1, h]
        left, right = tf.unstack(hidden)  # [B, H, W + H - 1, h] each
        left = ops.unskew(left, width=width)  # [B, H, W, h]
        right = tf.reverse(ops.unskew(right, width=width), axis=[2])
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
        hidden, _ = recurrence(
            tf.transpose(gates, [1, 0, 2]), initial, lambda left: tf.matmul(left, kernel[1])
        )  # [W, B, h], mirrored columns
        return tf.reverse(tf.transpose(hidden, [1, 0, 2]), axis=[1])  # [B, W, h]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, color_channels=self.color_channels)
        return config
