"""`DiagonalLSTM` and `DiagonalBiLSTM`: the diagonal two-dimensional LSTM (§3.2)."""

import math

import keras
import tensorflow as tf

from pixel_rnn_tf import ops
from pixel_rnn_tf.layers.masked_conv import pointwise
from pixel_rnn_tf.layers.spatial_lstm import NUM_GATES
from pixel_rnn_tf.layers.spatial_lstm import STEPS_PER_ITERATION
from pixel_rnn_tf.layers.spatial_lstm import SpatialLSTM
from pixel_rnn_tf.layers.spatial_lstm import check_implementation
from pixel_rnn_tf.layers.spatial_lstm import lstm_cell
from pixel_rnn_tf.layers.spatial_lstm import recurrence
from pixel_rnn_tf.layers.spatial_lstm import traced_once_per_model
from pixel_rnn_tf.layers.spatial_lstm import unrolled_recurrence
from pixel_rnn_tf.layers.stepping import write_at
from pixel_rnn_tf.registry import register_serializable


def column_state_to_state(hidden, kernel, padding="SAME", axis=-2):
    """The `2 x 1` state-to-state convolution of a skewed column, as one matmul.

    One plain matmul of all the rows of all the images at once: the
    recurrent step is sequential, so each product should be as large as it
    can be.

    Args:
      hidden: `[..., rows, ..., units]`, the previous column's hidden state,
        its rows along `axis`.
      kernel: `[2, units, 4 * units]`: [upper row, current row].
      padding: "SAME" (a zero row above the column) or "VALID".
      axis: the rows' axis of `hidden`.

    Returns:
      `[..., rows', ..., 4 * units]`, row `r` from rows `r - 1` and `r`
      ("SAME"), or one row fewer ("VALID").
    """
    axis %= hidden.shape.rank
    if padding == "SAME":
        paddings = [[0, 0]] * hidden.shape.rank
        paddings[axis] = [1, 0]
        hidden = tf.pad(hidden, paddings)
    kernel = tf.cast(kernel, hidden.dtype)
    units, gates = kernel.shape[-2], kernel.shape[-1]
    rows = hidden.shape[axis]
    rows = (rows if rows is not None else tf.shape(hidden)[axis]) - 1
    pairs = tf.concat(
        [ops.slice_along(hidden, axis, 0, rows), ops.slice_along(hidden, axis, 1, rows)], axis=-1
    )  # [upper, current]: [..., rows', ..., 2h]
    shape = pairs.shape.as_list()
    if shape.count(None) == 1:  # A -1 for it: no shape ops in the graph.
        shape[shape.index(None)] = -1
    elif None in shape:
        shape = [tf.shape(pairs)[a] if size is None else size for a, size in enumerate(shape)]
    # A reshape, not a slice per row of the kernel: a slice's gradient is a
    # scatter per step.
    products = tf.matmul(
        tf.reshape(pairs, [-1, 2 * units]), tf.reshape(kernel, [2 * units, gates])
    )  # [N, 4h]
    return tf.reshape(products, shape[:-1] + [gates])  # [..., rows', ..., 4h]


@traced_once_per_model
def skewed_recurrence(gates, initial_state, kernel):
    """One direction of the Diagonal LSTM as the paper runs it (§3.2): the reference path.

    The gates are skewed (`ops.skew`), so that the image's diagonals are the
    columns of the skewed map, and the LSTM runs column by column, left to
    right (`recurrence`); the hidden states are unskewed back. Each
    column's state-to-state convolution (`2 x 1`) reads the previous
    column's current and upper rows, which in image coordinates are the
    left and upper neighbours. The skew's padding cells have zero gates; the
    learned initial state is the column before the first, and a zero row
    lies above row 0.

    Args:
      gates: `[batch, height, width, 4 * units]`, the input-to-state gates.
      initial_state: `(hidden, cell)`, each `[units]`.
      kernel: `[2, units, 4 * units]`: [upper row, current row].

    Returns:
      The hidden states `[batch, height, width, units]`.
    """
    width, units = gates.shape[2], kernel.shape[-2]
    columns = tf.transpose(ops.skew(gates), [2, 0, 1, 3])  # [W + H - 1, B, H, 4h]
    shape = tf.concat([tf.shape(columns)[1:3], [units]], axis=0)  # [B, H, h]
    hidden = recurrence(
        columns,
        tuple(tf.broadcast_to(tf.cast(state, gates.dtype), shape) for state in initial_state),
        lambda column: column_state_to_state(column, kernel),
        STEPS_PER_ITERATION,
    )  # [W + H - 1, B, H, h]
    return ops.unskew(tf.transpose(hidden, [1, 2, 0, 3]), width)  # [B, H, W, h]


def diagonal_entering_states(initial_state, kernel, height):
    """The states entering each row's first pixel of a skewed map, `[*lead, height, units]`.

    Row `r`'s first pixel sits in skewed column `r`, after `r` cells of
    zero padding: it enters from padding cell `(r, r - 1)`, not from the
    initial state (row 0 excepted). Padding cells have zero input gates,
    and the neighbours of padding cell `(r, c)`, cells `(r - 1, c - 1)` and
    `(r, c - 1)`, are padding cells too (column -1 is the initial state).
    So all the padding cells of column `c` hold one state `S_c`, an LSTM
    step on zero gates from `S_{c - 1}` as both neighbours: row `r` enters
    with `S_{r - 1}`, a recurrence of one state, not of a column, unrolled
    (a loop's iteration costs more than a step's arithmetic here).

    Args:
      initial_state: `(hidden, cell)`, each `[*lead, units]`, the learned
        initial state.
      kernel: `[*lead, 2, units, 4 * units]`, the state-to-state kernel.
      height: int, the map's height.

    Returns:
      `(hidden, cell)`, each `[*lead, height, units]`.
    """
    lead = list(kernel.shape[:-3])
    units = kernel.shape[-2]
    if height == 1:
        return tuple(tf.expand_dims(state, -2) for state in initial_state)
    both_neighbours = tf.reduce_sum(kernel, axis=-3)  # [*lead, h, 4h]: upper and left are S_{c-1}.

    def state_to_state(hidden):  # [*lead, h] -> [*lead, 4h]
        return tf.linalg.matvec(both_neighbours, hidden, transpose_a=True)

    zeros = tf.zeros(lead + [NUM_GATES * units], initial_state[0].dtype)
    states = unrolled_recurrence([zeros] * (height - 1), initial_state, state_to_state)
    return tuple(
        tf.stack([start, *state], axis=-2)  # [S_{-1}, S_0, ..., S_{H-2}]
        for start, state in zip(initial_state, states)
    )


def _orders(height, width, lead_size, mirrored):
    """Each lead block's `ops.diagonal_order`, mirrored where `mirrored` says."""
    mirrored = tuple(mirrored) if mirrored is not None else (False,) * lead_size
    if len(mirrored) != lead_size:
        raise ValueError(
            f"Expected one `mirrored` flag per lead block ({lead_size}). "
            f"Received: mirrored={mirrored}"
        )
    return [ops.diagonal_order(height, width, flag) for flag in mirrored]


def _permutation(batch, height, width, lead_size, mirrored):
    """The row permutation of `to_diagonals` and `from_diagonals`, and the diagonals' lengths.

    A map `[batch, height, width, lead, channels]` flattens to rows
    `(b * height * width + p) * lead + l`; its diagonals, concatenated
    `[lead, height * width, batch, channels]`, to rows
    `(l * height * width + k) * batch + b`, `k` the pixel's position in
    its block's diagonal order.

    Returns:
      `(to_diagonals, lengths)`: int32 `[lead * height * width * batch]`,
      the map's row of each row of the diagonals, and the `height + width -
      1` diagonals' lengths.
    """
    orders = _orders(height, width, lead_size, mirrored)
    order = tf.constant([order for order, _ in orders], tf.int32)  # [lead, H * W]: k -> p
    images = tf.range(batch, dtype=tf.int32)
    blocks = tf.range(lead_size, dtype=tf.int32)
    to_diagonals = (images * height * width + order[:, :, None]) * lead_size + blocks[:, None, None]
    return tf.reshape(to_diagonals, [-1]), orders[0][1]


def to_diagonals(x, mirrored=None):
    """An image's diagonals: the columns of the skewed map, without its padding.

    Straight from `x`'s own layout, no transpose: one gather per diagonal,
    whose gradient is one stitch (`ops.gather_partitions`).

    Args:
      x: `[batch, height, width, *lead, channels]`, static `lead`, height and
        width.
      mirrored: one bool per block of the flattened `lead` (default: all
        False), to read that block's diagonals on the image mirrored left to
        right: the gather that orders the pixels mirrors them for free.

    Returns:
      `height + width - 1` tensors `[*lead, length_d, batch, channels]`,
      diagonal `d`'s pixels `(i, d - i)`, `i` ascending (`ops.diagonal_order`).
    """
    lead = list(x.shape[3:-1])
    height, width, channels = x.shape[1], x.shape[2], x.shape[-1]
    batch = tf.shape(x)[0]
    forward, lengths = _permutation(batch, height, width, math.prod(lead), mirrored)
    x = tf.reshape(x, [-1, channels])  # [B * H * W * lead, C]
    rows = _diagonal_rows(forward, lead, height, width, lengths)
    return [
        tf.reshape(diagonal, lead + [length, batch, channels])
        for diagonal, length in zip(ops.gather_partitions(x, rows), lengths)
    ]


def from_diagonals(diagonals, height, width, mirrored=None):
    """The inverse of `to_diagonals`: `[batch, height, width, *lead, channels]`.

    One stitch (`ops.stitch_partitions`), whose gradient is a gather per diagonal.
    """
    lead = list(diagonals[0].shape[:-3])
    channels = diagonals[0].shape[-1]
    batch = tf.shape(diagonals[0])[-2]
    forward, lengths = _permutation(batch, height, width, math.prod(lead), mirrored)
    rows = _diagonal_rows(forward, lead, height, width, lengths)
    x = ops.stitch_partitions(
        rows, [tf.reshape(diagonal, [-1, channels]) for diagonal in diagonals]
    )
    return tf.reshape(x, [-1, height, width] + lead + [channels])  # From [B * H * W * lead, C].


def _diagonal_rows(forward, lead, height, width, lengths):
    """`forward` (`_permutation`) split by diagonal: int32 `[lead * length_d * batch]` each."""
    rows = tf.split(tf.reshape(forward, [math.prod(lead), height * width, -1]), lengths, axis=1)
    return [tf.reshape(index, [-1]) for index in rows]


def diagonal_scan(gates, entering, kernel, width):
    """The Diagonal LSTM along an image's diagonals, on its pixels only.

    The recurrence runs over the skewed map's columns (§3.2), which are the
    image's diagonals. A column's padding cells do not have to run: those
    after their row's last pixel never reach a pixel, and those before its
    first pixel have states that are constants of the weights
    (`diagonal_entering_states`). That is half the work of the whole skewed
    map at `height == width`. The diagonals' lengths differ, so the loop is
    unrolled: there is no loop to run and no Python at run time.

    Args:
      gates: the input-to-state gates `to_diagonals` returns,
        `[*lead, length_d, batch, 4 * units]` for diagonal `d`.
      entering: `(hidden, cell)`, each `[*lead, height, units]`, as
        `diagonal_entering_states` returns.
      kernel: `[2, units, 4 * units]`: [upper row, current row].
      width: int, the image's width.

    Returns:
      The hidden states, diagonal by diagonal, `[*lead, length_d, batch, units]`.
    """
    lead = list(gates[0].shape[:-3])
    height, units = entering[0].shape[-2], kernel.shape[-2]
    rows = len(lead)  # The rows' axis.
    # Built once, not per diagonal: the graph's size is the trace's time.
    shape = tf.stack(lead + [height, tf.shape(gates[0])[rows + 1], units])
    entering_rows = [
        tf.split(tf.broadcast_to(tf.expand_dims(state, -2), shape), height, axis=rows)
        for state in entering
    ]  # Row r's (hidden, cell), [*lead, 1, batch, h] each.
    zero_row = tf.zeros_like(entering_rows[0][0])

    hidden = cell = None
    low, high = 0, -1  # The previous diagonal's rows: none before diagonal 0.
    outputs = []
    for d, diagonal_gates in enumerate(gates):
        previous_low, previous_high = low, high
        rows_d = ops.diagonal_rows(d, height, width)
        low, high = rows_d[0], rows_d[-1]
        # The previous diagonal's rows `low - 1 .. high`: the upper
        # neighbours, and from row `low` on the left ones. Row `d` starts on
        # this diagonal: its left neighbour is padding, its entering state.
        column = [zero_row] if low == 0 else []
        left_cell = []
        if hidden is not None:
            column.append(hidden)
            left_cell.append(
                ops.slice_along(cell, rows, low - previous_low, previous_high - low + 1)
            )
        if high > previous_high:
            column.append(entering_rows[0][d])
            left_cell.append(entering_rows[1][d])
        hidden, cell = lstm_cell(
            diagonal_gates,
            tf.concat(column, axis=rows),
            tf.concat(left_cell, axis=rows),
            lambda column: column_state_to_state(column, kernel, "VALID", axis=rows),
        )  # [*lead, length_d, batch, h] each
        outputs.append(hidden)
    return outputs


@traced_once_per_model
def fused_diagonal_recurrence(gates, entering, kernel, mirrored):
    """`skewed_recurrence` on the image's pixels only, unrolled: the fused path.

    `gates` is `[batch, height, width, *lead, 4 * units]`, `entering` as
    `diagonal_entering_states` returns, `mirrored` as in `to_diagonals`;
    returns `[batch, height, width, *lead, units]` hidden states.
    """
    height, width = gates.shape[1], gates.shape[2]
    kernel = tf.cast(kernel, gates.dtype)
    entering = tuple(tf.cast(state, gates.dtype) for state in entering)
    hidden = diagonal_scan(to_diagonals(gates, mirrored), entering, kernel, width)
    return from_diagonals(hidden, height, width, mirrored)


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
