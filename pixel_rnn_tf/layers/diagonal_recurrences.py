"""The Diagonal LSTM's recurrences, one direction each (§3.2): its two paths.

The reference path, `skewed_recurrence`, is the paper's: skew the
input-to-state gates (`ops.skew`), run the LSTM over the skewed map's
columns, unskew. The fused path, `fused_diagonal_recurrence`, runs on the
image's pixels only: the skewed map's padding cells are half its cells at
`height == width`, and their states are either never read or constants
of the weights (`diagonal_entering_states`). It gathers each diagonal's
pixels from the map's own layout (`to_diagonals`), runs the recurrence
unrolled over the diagonals, whose lengths differ (`diagonal_scan`), and
puts the states back (`from_diagonals`): fewer operations per step, for a
graph as long as the diagonals, slower to trace and to compile. Both
compute the same function of the same weights.
"""

import math

import tensorflow as tf

from pixel_rnn_tf import ops
from pixel_rnn_tf.layers.spatial_lstm import NUM_GATES
from pixel_rnn_tf.layers.spatial_lstm import STEPS_PER_ITERATION
from pixel_rnn_tf.layers.spatial_lstm import lstm_cell
from pixel_rnn_tf.layers.spatial_lstm import recurrence
from pixel_rnn_tf.layers.spatial_lstm import traced_once_per_model
from pixel_rnn_tf.layers.spatial_lstm import unrolled_recurrence


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


@traced_once_per_model(inlined=False)
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


@traced_once_per_model(inlined=True)
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
