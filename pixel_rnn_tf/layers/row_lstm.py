"""`RowLSTM`: the row-by-row two-dimensional LSTM (§3.1)."""

import tensorflow as tf

from pixel_rnn_tf import ops
from pixel_rnn_tf.layers.spatial_lstm import STEPS_PER_ITERATION
from pixel_rnn_tf.layers.spatial_lstm import SpatialLSTM
from pixel_rnn_tf.layers.spatial_lstm import lstm_update
from pixel_rnn_tf.layers.spatial_lstm import recurrence
from pixel_rnn_tf.layers.spatial_lstm import traced_once_per_model
from pixel_rnn_tf.layers.spatial_lstm import unrolled_recurrence
from pixel_rnn_tf.layers.stepping import write_at
from pixel_rnn_tf.registry import register_serializable


def row_state_to_state(hidden, kernel, padding="SAME"):
    """The width-`k` 1-D state-to-state convolution of a row, as one matmul.

    A conv1d per recurrent step costs more in dispatch and, under XLA, in
    its gradient than the `[batch * width', k * h] x [k * h, 4h]` matmul of
    the row's `k` shifted copies (the sequential part of the Row LSTM is
    these small products, §3.1).

    Args:
      hidden: `[batch, width, units]`: whole rows ("SAME", in `call`), or
        the `k` columns above a pixel ("VALID", its step).
      kernel: `[k, units, 4 * units]`, `k` odd.
      padding: "SAME" or "VALID".

    Returns:
      `[batch, width', 4 * units]`.
    """
    kernel_width, units, gates = kernel.shape
    kernel = tf.cast(kernel, hidden.dtype)
    if padding == "SAME":
        side = kernel_width // 2
        hidden = tf.pad(hidden, [[0, 0], [side, side], [0, 0]])  # [B, W + 2 side, h]
    width = hidden.shape[1] - kernel_width + 1
    windows = hidden if width == 1 else tf.concat(
        [ops.slice_along(hidden, 1, d, width) for d in range(kernel_width)], axis=-1
    )  # [B, W', k h]: column j holds input columns j .. j + k - 1.
    flat = tf.reshape(windows, [-1, kernel_width * units])  # [B W', k h]
    products = tf.matmul(flat, tf.reshape(kernel, [kernel_width * units, gates]))
    return tf.reshape(products, [-1, width, gates])  # [B, W', 4h]


@traced_once_per_model(inlined=False)
def row_recurrence(gates, initial_state, kernel):
    """The Row LSTM's recurrence, row by row (§3.1): the reference path.

    Args:
      gates: `[batch, height, width, 4 * units]`, the input-to-state gates.
      initial_state: `(hidden, cell)`, each `[units]`, the state above row 0 (§5).
      kernel: the state-to-state kernel `[k, units, 4 * units]`.

    Returns:
      The hidden states `[batch, height, width, units]`.
    """
    rows = tf.transpose(gates, [1, 0, 2, 3])  # [H, B, W, 4h]
    hidden = recurrence(
        rows,
        _broadcast_initial_state(gates, initial_state, kernel.shape[1]),
        lambda hidden: row_state_to_state(hidden, kernel),
        STEPS_PER_ITERATION,
    )  # [H, B, W, h]
    return tf.transpose(hidden, [1, 0, 2, 3])  # [B, H, W, h]


def _broadcast_initial_state(gates, initial_state, units):
    """`(hidden, cell)` `[units]` each as a row's `[batch, width, units]`, in the gates' dtype."""
    shape = tf.concat([tf.shape(gates)[:1], tf.shape(gates)[2:3], [units]], axis=0)
    return tuple(tf.broadcast_to(tf.cast(state, gates.dtype), shape) for state in initial_state)


@traced_once_per_model(inlined=True)
def fused_row_recurrence(gates, initial_state, kernel):
    """`row_recurrence` unrolled, on two halves of the batch: the fused path.

    Two halves, two independent recurrences: the executor runs them at once
    on its two inter-op threads, where one recurrence of small ops keeps
    about one core busy. A split along the rows and a concat back, not an
    unstack and a stack: those copy a row at a time.
    """
    initial_state = _broadcast_initial_state(gates, initial_state, kernel.shape[1])
    half = tf.shape(gates)[0] // 2
    halves = []
    for half_gates, half_hidden, half_cell in zip(
        *(tf.split(x, [half, -1]) for x in (gates, *initial_state))
    ):
        rows = [tf.squeeze(row, 1) for row in tf.split(half_gates, gates.shape[1], axis=1)]
        hidden, _ = unrolled_recurrence(
            rows, (half_hidden, half_cell), lambda hidden: row_state_to_state(hidden, kernel)
        )
        halves.append(tf.concat([tf.expand_dims(row, 1) for row in hidden], axis=1))
    return tf.concat(halves, axis=0)  # [B, H, W, h]


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
      implementation: "auto", "reference" (`row_recurrence`, a loop over
        the rows) or "fused" (`fused_row_recurrence`, unrolled: opt-in, see
        `SpatialLSTM`).

    Input shape: `[batch, height, width, features]`.
    Output shape: `[batch, height, width, units]`.

    Its one-pixel step keeps its input-to-state convolution's own cache,
    the hidden and cell states of the previous row (before row 0 the
    learned initial state, §5) and the current row's gate pre-activations.
    The hidden row is zero-padded by `k // 2` columns, as the "SAME"
    state-to-state convolution pads it, which then runs "VALID" on the `k`
    columns above the pixel. At the row's end (`end_row`), the LSTM update
    runs on the whole row's gates at once for the states the next row
    reads: so a step writes only its gates, not its hidden and cell states
    (under XLA, a write of the cell state would split the cell's fusions).
    """

    state_width = None

    def __init__(self, units, color_channels=1, kernel_width=3, implementation="auto", **kwargs):
        super().__init__(units, color_channels, implementation, **kwargs)
        if not isinstance(kernel_width, int) or kernel_width <= 0 or kernel_width % 2 == 0:
            raise ValueError(
                "Expected `kernel_width` to be a positive odd int. "
                f"Received: kernel_width={kernel_width}"
            )
        self.kernel_width = kernel_width
        self.input_kernel_size = (1, kernel_width)
        self.state_width = kernel_width

    def state_to_state(self, hidden, padding="SAME", kernel=None):
        """The width-`k` state-to-state convolution (`row_state_to_state`).

        Args:
          hidden: `[batch, width, units]`: whole rows ("SAME"), or the `k`
            columns above a pixel ("VALID", its step).
          padding: "SAME" or "VALID".
          kernel: `state_kernel` as read once for many steps; default: the layer's.

        Returns:
          `[batch, width', 4 * units]`.
        """
        return row_state_to_state(hidden, self.state_kernel if kernel is None else kernel, padding)

    def call(self, inputs):
        initial_state = (
            tf.convert_to_tensor(self.initial_hidden), tf.convert_to_tensor(self.initial_cell)
        )
        kernel = tf.convert_to_tensor(self.state_kernel)
        gates = self.input_to_state(inputs)  # [B, H, W, 4h]
        recurrence_of_rows = fused_row_recurrence if self.fused else row_recurrence
        return recurrence_of_rows(gates, initial_state, kernel)

    def initial_cache(self, inputs, width):
        batch = tf.shape(inputs)[0]
        hidden, cell = self.learned_state(tf.stack([batch, width]))  # [B, W, h] each
        side = self.kernel_width // 2
        hidden = tf.cast(tf.pad(hidden, [[0, 0], [side, side], [0, 0]]), self.compute_dtype)
        # Before row 0 the row above is the learned initial state (§5).
        return {
            "input_to_state": self.input_to_state.initial_cache(inputs, width),
            "state_kernel": tf.cast(self.state_kernel, self.compute_dtype),
            "hidden_above": hidden,  # [B, W + 2 side, h]
            "cell_above": tf.cast(cell, self.compute_dtype),  # [B, W, h]
            "gates": tf.zeros([batch, width, 4 * self.units], self.compute_dtype),
        }

    def step(self, cache, inputs, i, j):
        gates, input_cache = self.input_to_state.step(cache["input_to_state"], inputs, i, j)
        batch = tf.shape(inputs)[0]
        # Padded columns j .. j + k - 1 of the row above: image columns j - k // 2 ...
        neighbours = tf.slice(cache["hidden_above"], [0, j, 0], [batch, self.kernel_width, self.units])
        # K_ss ⊛ h_{i-1} + K_is ⊛ x_i at the pixel (§3.1), as `lstm_cell`
        # has it; kept for `end_row`. Two-dimensional all through: under
        # XLA, a unit axis on the cell's values splits its fusions.
        gates = gates + self.state_to_state(neighbours, "VALID", cache["state_kernel"])[:, 0]
        hidden, _ = lstm_update(gates, tf.gather(cache["cell_above"], j, axis=1))  # [B, h]
        return hidden, dict(
            cache, input_to_state=input_cache, gates=write_at(cache["gates"], (j,), gates)
        )

    def end_row(self, cache, i):
        # Row i's states from its gates: the cell on the whole row at once.
        hidden, cell = lstm_update(cache["gates"], cache["cell_above"])  # [B, W, h] each
        side = self.kernel_width // 2
        return dict(
            cache,
            input_to_state=self.input_to_state.end_row(cache["input_to_state"], i),
            hidden_above=tf.pad(hidden, [[0, 0], [side, side], [0, 0]]),
            cell_above=cell,
        )

    def get_config(self):
        config = super().get_config()
        config.update(kernel_width=self.kernel_width)
        return config
