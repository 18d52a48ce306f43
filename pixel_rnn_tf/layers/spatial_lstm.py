"""The LSTM recurrence shared by the Row LSTM and the Diagonal LSTM (§3.1, §3.2)."""

import keras
import tensorflow as tf

from pixel_rnn_tf import compat
from pixel_rnn_tf import masking
from pixel_rnn_tf import ops
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D
from pixel_rnn_tf.validation import check_int

NUM_GATES = 4  # [o, f, i, g], in that order (§3.1).


IMPLEMENTATIONS = ("auto", "reference", "fused")
# Steps of the reference path's loop body: a loop iteration's own ops (its
# tensor lists, the loop's bookkeeping) are shared by this many steps, and
# the traced graph stays a few steps long whatever the image size.
STEPS_PER_ITERATION = 2


def check_implementation(implementation):
    """`implementation` resolved: "reference" or "fused" ("auto" is "reference")."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"Expected `implementation` to be one of {IMPLEMENTATIONS}. "
            f"Received: implementation={implementation!r}"
        )
    return "fused" if implementation == "fused" else "reference"


def traced_once_per_model(inlined):
    """A decorator: `function` as a `tf.function`, for the layers' recurrences.

    Traced (with its gradient) once for all the layers of a model, which
    share their shapes, not once per layer. Called, not inlined (the
    reference paths' loops): the graph optimizer and the executor prepare
    one body and one gradient for all the layers, where inlined they
    prepare a copy per layer and direction, most of the time to a model's
    first step and to its export. Inlined (the fused paths, unrolled for
    steady speed): the executor runs the unrolled steps of all the layers
    as one graph, faster per step than calls. XLA inlines either.

    Args:
      inlined: bool, whether callers' graphs inline the function.
    """

    def decorate(function):
        if inlined:
            return tf.function(function, autograph=False)
        return compat.function_not_inlined(function)

    return decorate


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


def recurrence(input_gates, initial_state, state_to_state, steps_per_iteration=1):
    """The one LSTM recurrence of the package, a loop the graph keeps as a loop.

    A `tf.while_loop` whose body runs `steps_per_iteration` steps: they are
    traced once, so a graph's size (and the time to trace, differentiate
    and optimize it) does not grow with the number of steps. Only the
    hidden states are kept for the output (and the cells for the gradient).

    Args:
      input_gates: `[steps, ..., 4 * units]`, the input-to-state gates, static `steps`.
      initial_state: `(hidden, cell)`, each `[..., units]`.
      state_to_state: maps the previous step's hidden state `[..., units]`
        to gate pre-activations `[..., 4 * units]`.
      steps_per_iteration: int >= 1, the steps a loop iteration runs.

    Returns:
      The hidden states after every step, `[steps, ..., units]`.
    """
    steps = input_gates.shape[0]
    per_iteration = min(steps_per_iteration, steps)
    iterations = -(-steps // per_iteration)
    # Zero gates after the last step fill the last iteration; their states
    # are dropped below.
    padding = [[0, iterations * per_iteration - steps]] + [[0, 0]] * (input_gates.shape.rank - 1)
    inputs = tf.TensorArray(input_gates.dtype, iterations).unstack(
        tf.reshape(
            tf.pad(input_gates, padding),
            tf.concat([[iterations, per_iteration], tf.shape(input_gates)[1:]], axis=0),
        )
    )  # [iterations, per_iteration, ..., 4h]: one element per iteration.

    def iteration(index, hidden, cell, outputs):
        hiddens = []
        for gates in tf.unstack(inputs.read(index), per_iteration):
            hidden, cell = lstm_cell(gates, hidden, cell, state_to_state)
            hiddens.append(hidden)
        return index + 1, hidden, cell, outputs.write(index, tf.stack(hiddens))

    _, _, _, outputs = tf.while_loop(
        lambda index, *_: index < iterations,
        iteration,
        (0, *initial_state, tf.TensorArray(input_gates.dtype, iterations)),
        maximum_iterations=iterations,
    )
    hidden = outputs.stack()  # [iterations, per_iteration, ..., h]
    hidden = tf.reshape(hidden, tf.concat([[-1], tf.shape(hidden)[2:]], axis=0))
    return ops.slice_along(hidden, 0, 0, steps)  # [steps, ..., h]


def unrolled_recurrence(input_gates, initial_state, state_to_state):
    """`recurrence` unrolled in Python, for the fused paths.

    There is no loop to run: no tensor lists to push and pop and no zeros
    for their gradients, at the price of a graph as long as the steps.

    Args:
      input_gates: a sequence of the steps' `[..., 4 * units]`.
      initial_state: `(hidden, cell)`, each `[..., units]`.
      state_to_state: as in `recurrence`.

    Returns:
      `(hidden, cell)`, two lists of the steps' `[..., units]`.
    """
    states = [initial_state]
    for gates in input_gates:
        states.append(lstm_cell(gates, *states[-1], state_to_state))
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

    Args:
      units: int, the hidden size `h`.
      color_channels: 1 or 3.
      implementation: "reference" (the paper's recurrence, a loop of the
        graph: fast to trace), "fused" (the recurrence unrolled on the
        image's pixels: slower to trace and differentiate, a minute or more
        for a deep model, for faster steps on CPU after that; opt-in), or
        "auto" (the reference). Both compute the same function of the same
        weights.
    """

    input_kernel_size = None
    state_width = None

    def __init__(self, units, color_channels=1, implementation="auto", **kwargs):
        super().__init__(**kwargs)
        units = check_int("units", units, 1)
        masking.color_groups(units, color_channels)  # Validates color_channels.
        self.units = units
        self.color_channels = color_channels
        self.implementation = implementation
        self.fused = check_implementation(implementation) == "fused"

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

    def learned_state(self, batch_shape):
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
        config.update(
            units=self.units, color_channels=self.color_channels,
            implementation=self.implementation,
        )
        return config
