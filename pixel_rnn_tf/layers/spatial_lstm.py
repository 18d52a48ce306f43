"""The LSTM recurrence shared by the Row LSTM and the Diagonal LSTM (§3.1, §3.2)."""

import functools

import keras
import tensorflow as tf

from pixel_rnn_tf import compat
from pixel_rnn_tf import masking
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D

NUM_GATES = 4  # [o, f, i, g], in that order (§3.1).


def traced_once_per_model(function):
    """`function` as a `tf.function` in the plain graph, and inline where XLA compiles.

    The recurrent layers' loops are unrolled, thousands of ops: as a
    `tf.function` they are traced (with their gradient) once for all the
    layers of a model, which share their shapes, and the calls are inlined
    into the caller's graph when it runs. Where XLA compiles the training
    step (`compat.in_xla_context`), the nested function and its gradient
    took XLA longer to compile than the same ops inline (BENCHMARKS.md).
    """
    traced = tf.function(function, autograph=False)

    @functools.wraps(function)
    def call(*args, **kwargs):
        return (function if compat.in_xla_context() else traced)(*args, **kwargs)

    return call


def lstm_update(gates, cell):
    """One LSTM step from precomputed gate pre-activations.

    `[o, f, i, g] = [σ, σ, σ, tanh](gates)`, `c = f ⊙ c_prev + i ⊙ g`,
    `h = o ⊙ tanh(c)` (§3.1, equation 3).

    Args:
      gates: `[..., 4 * units]`, gate-major: feature `gate * units + k`.
      cell: `[..., units]`, the previous cell state.

    Returns:
      `(hidden, cell)`, each `[..., units]`.
    """
    o, f, i, g = tf.split(gates, NUM_GATES, axis=-1)
    cell = tf.sigmoid(f) * cell + tf.sigmoid(i) * tf.tanh(g)
    hidden = tf.sigmoid(o) * tf.tanh(cell)
    return hidden, cell


def lstm_cell(input_gates, hidden, cell, state_to_state):
    """The one cell function of the two-dimensional LSTMs (§3.1, equation 3).

    `[o, f, i, g] = σ(K_ss ⊛ h_prev + K_is ⊛ x)`, then `lstm_update`. The
    scans of `call` and the one-pixel steps of the sampler both run it.

    Args:
      input_gates: `[..., 4 * units]`, the input-to-state gates `K_is ⊛ x`.
      hidden: the previous hidden states that `state_to_state` reads.
      cell: `[..., units]`, the previous cell state.
      state_to_state: maps `hidden` to `[..., 4 * units]`, `K_ss ⊛ h_prev`.

    Returns:
      `(hidden, cell)`, each `[..., units]`.
    """
    return lstm_update(input_gates + state_to_state(hidden), cell)


def recurrence(input_gates, initial_state, state_to_state, unroll=False):
    """The one LSTM recurrence of the package.

    A `tf.scan` by default: its step is traced once, and the sampler's
    row-long recurrences stay small loops under XLA. Unrolled, there is no
    loop to run: no tensor lists to push and pop and no zeros for their
    gradients, which in a Row LSTM layer's forward and backward cost about a
    sixth of its op time (BENCHMARKS.md, "Training throughput"). The layers
    that unroll trace the unrolled loop once per model
    (`traced_once_per_model`).

    Args:
      input_gates: `[steps, ..., 4 * units]`, the input-to-state gates; with
        `unroll`, a sequence of the steps' `[..., 4 * units]`.
      initial_state: `(hidden, cell)`, each `[..., units]`.
      state_to_state: maps the previous step's hidden state `[..., units]`
        to gate pre-activations `[..., 4 * units]`.
      unroll: bool, a Python loop over the steps instead of a `tf.scan`.

    Returns:
      `(hidden, cell)`, the states after every step, each
      `[steps, ..., units]`; with `unroll`, two lists of `[..., units]`.
    """

    def step(state, gates):
        hidden, cell = state
        return lstm_cell(gates, hidden, cell, state_to_state)

    if not unroll:
        return tf.scan(step, input_gates, initializer=initial_state)
    states = [initial_state]
    for gates in input_gates:
        states.append(step(states[-1], gates))
    hidden, cell = zip(*states[1:])
    return list(hidden), list(cell)


class SpatialLSTM(keras.layers.Layer):
    """Base of the two-dimensional LSTM layers.

    Holds the masked input-to-state convolution (computed for the whole map at
    once), the unmasked state-to-state kernel `[state_width, units, 4 * units]`
    and the learned initial states (§5). The gate features keep the color-group
    structure (`output_blocks=4`), and `lstm_update` is elementwise, so hidden
    feature `k` of group `g` only depends on group-`g` gates: the channel
    masking holds through the recurrence.

    Subclasses set `input_kernel_size` and `state_width` and implement `call`.
    """

    input_kernel_size = None
    state_width = None

    def __init__(self, units, color_channels=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Expected `units` to be a positive int. Received: units={units}")
        masking.color_groups(units, color_channels)  # Validates color_channels.
        self.units = units
        self.color_channels = color_channels

    def build(self, input_shape):
        self.input_to_state = MaskedConv2D(
            NUM_GATES * self.units,
            self.input_kernel_size,
            mask_type="B",
            color_channels=self.color_channels,
            output_blocks=NUM_GATES,
            name="input_to_state",
            dtype=self.dtype_policy,
        )
        self.input_to_state.build(input_shape)
        self.state_kernel = self.add_weight(
            name="state_kernel",
            shape=(self.state_width, self.units, NUM_GATES * self.units),
            initializer="orthogonal" if self.state_width == 1 else "glorot_uniform",
        )
        self.initial_hidden = self.add_weight(
            name="initial_hidden", shape=(self.units,), initializer="zeros"
        )
        self.initial_cell = self.add_weight(
            name="initial_cell", shape=(self.units,), initializer="zeros"
        )

    def initial_state(self, batch_shape):
        """Learned `(hidden, cell)` broadcast to `batch_shape + [units]`."""
        shape = tf.concat([batch_shape, [self.units]], axis=0)
        return (
            tf.broadcast_to(tf.convert_to_tensor(self.initial_hidden), shape),
            tf.broadcast_to(tf.convert_to_tensor(self.initial_cell), shape),
        )

    def state_to_state(self, hidden, padding="SAME", kernel=None):
        """Gate pre-activations from the previous row or column's hidden state.

        Args:
          hidden: `[batch, length, units]`.
          padding: "SAME" (whole rows or columns, in `call`) or "VALID" (the
            one-pixel step's neighbourhood: one output).
          kernel: `state_kernel` as read once for many one-pixel steps (a
            variable read inside the sampler's loop costs more than the
            step's arithmetic); default: the layer's.

        Returns:
          `[batch, length', 4 * units]`.
        """
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, color_channels=self.color_channels)
        return config
