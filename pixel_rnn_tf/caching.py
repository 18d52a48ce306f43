"""Exact incremental sampling: per-layer caches, one pixel of work per step.

A cached stepper computes the network at one pixel `(i, j)` only, from
caches of what the earlier pixels produced. It runs the model's own wiring,
`PixelModel.forward`, on one-pixel maps `[batch, 1, 1, features]`, supplying
a stem and block cores that read the caches; everything per-pixel (class
biases, residual adds, skips, the `1 x 1` layers, the output stack) is the
model's own code and weights. What each architecture caches (all of it
`O(width)` per layer, so the work and memory of a step do not grow with the
image's height):

* every masked spatial convolution (the `7 x 7` stem; PixelCNN's `k x k`;
  the Row LSTM's `1 x k` input-to-state): a `ConvWindow` of its input map,
  the `k // 2` rows above the current one and the current row so far;
* Row LSTM (§3.1): the previous row's hidden and cell states (the
  state-to-state convolution reads the previous row's columns
  `j - k // 2 .. j + k // 2`) and the current row's;
* Diagonal BiLSTM (§3.2): the left-to-right direction's states of the row
  above and of the current row (a cell's neighbours are the cells above and
  to the left); the right-to-left direction, which the model shifts down a
  row, is computed for a whole row once the row is complete.

The stepper protocol, driven by `sampling`'s loop over rows, columns and
channels (channels unrolled, so `c` is a Python int):

* `initial_state(batch_size, labels)`: the loop state, a nest of tensors of
  fixed shapes;
* `step(state, images, (i, j, c), labels) -> (logits, state)`: the logits
  `[batch, num_levels]` of channel `c` at `(i, j)`; the state keeps the
  pixel's features, to be written by `update`;
* `update(state, images, (i, j), labels) -> state`: after the pixel's last
  channel is drawn; writes the pixel into the caches;
* `finish_row(state, i) -> state`: after row `i`'s last pixel.

`update` writes the features of the pixel's last step: nothing at `(i, j)`
depends on the value of the pixel's last channel (mask A hides a channel
from its own position, §3.4, and mask B only passes groups on), so those
are final; only the stem's input, the pixel itself, is read from `images`.
"""

import tensorflow as tf

from pixel_rnn_tf.layers.blocks import DiagonalBiLSTMBlock
from pixel_rnn_tf.layers.blocks import PixelCNNBlock
from pixel_rnn_tf.layers.blocks import RowLSTMBlock
from pixel_rnn_tf.layers.diagonal_lstm import column_state_to_state
from pixel_rnn_tf.layers.spatial_lstm import lstm_update
from pixel_rnn_tf.layers.spatial_lstm import recurrence


def _pixel_map(x):
    """`[batch, features]` -> a one-pixel map `[batch, 1, 1, features]`."""
    return x[:, None, None, :]


def _flat(x):
    """A one-pixel map `[batch, 1, 1, features]` -> `[batch, features]`."""
    return x[:, 0, 0, :]


def _set_column(buffer, column, value):
    """`buffer[:, column] = value`, one scatter (in place under XLA).

    Args:
      buffer: `[batch, columns, features]`.
      column: int32 scalar.
      value: `[batch, features]`.

    Returns:
      The new buffer, `[batch, columns, features]`.
    """
    batch = tf.shape(buffer)[0]
    indices = tf.stack([tf.range(batch), tf.fill([batch], column)], axis=1)  # [B, 2]
    return tf.tensor_scatter_nd_update(buffer, indices, tf.cast(value, buffer.dtype))


def pixel_at(images, i, j):
    """`images[:, i, j]`: `[batch, H, W, ...]` -> `[batch, ...]`.

    Gathers rather than slices: under XLA a slice whose start is an argument
    of the compiled function (the row) becomes a compile-time constant, and
    the function would be compiled once per row.
    """
    return tf.gather(tf.gather(images, i, axis=1), j, axis=1)


def _column(buffer, column):
    """`buffer[:, column]`: `[batch, columns, features]` -> `[batch, features]`."""
    return tf.gather(buffer, column, axis=1)


def _matmul(x, kernel):
    """`x @ kernel` in `x`'s dtype (weights read outside a layer call are float32)."""
    return tf.matmul(x, tf.cast(kernel, x.dtype))


class ConvWindow:
    """A masked convolution evaluated at one pixel from a window of its input.

    A `kh x kw` convolution masked as in §3.4 sees, at `(i, j)`, the rows
    `i - kh // 2 .. i - 1` and, in row `i`, the columns up to `j`: rows
    below and columns to the right are masked out. The window keeps those
    rows of the input map, zero-padded by `kw // 2` columns on each side as
    the convolution's "same" padding does (rows above the image stay zero):

    * `above`: `[batch, kh // 2, width + 2 (kw // 2), features]`;
    * `row`: `[batch, width + 2 (kw // 2), features]`, the current row, filled
      pixel by pixel.

    The input at `(i, j)` itself is passed to `conv_at`, since it depends on
    the pixel's channels drawn so far.

    Args:
      layer: the `MaskedConv2D`. Its masked kernel and bias are read once,
        here: a stepper is made per sampling call (inside its graph), so the
        steps share one copy of the weights instead of masking and
        reshaping the kernel at every step.
      width: the image width.
      features: the layer's input features.
    """

    def __init__(self, layer, width, features):
        self.width = width
        self.features = features
        kernel_height, self.kernel_width = layer.kernel_size
        self.top, self.side = kernel_height // 2, self.kernel_width // 2
        self.kernel = self._visible_kernel(layer)
        self.bias = tf.convert_to_tensor(layer.bias) if layer.use_bias else None

    def initial_state(self, batch_size, dtype):
        padded = self.width + 2 * self.side
        return {
            "above": tf.zeros([batch_size, self.top, padded, self.features], dtype),
            "row": tf.zeros([batch_size, padded, self.features], dtype),
        }

    def _visible_kernel(self, layer):
        """The taps that can see the window, flat: `[(top kw + side + 1) F, filters]`.

        In the order of `conv_at`'s patch: the rows above, then the current
        row's left columns and centre (its right columns are masked out).
        """
        kernel = layer.masked_kernel  # [kh, kw, F, filters]
        filters = layer.filters
        above = tf.reshape(kernel[: self.top], [-1, filters])  # [top kw F, filters]
        row = tf.reshape(kernel[self.top, : self.side + 1], [-1, filters])  # [(side + 1) F, filters]
        return tf.concat([above, row], axis=0)

    def conv_at(self, window, center, j):
        """The convolution's output at column `j` of the current row.

        Args:
          window: this window's state.
          center: `[batch, features]`, the input at the pixel itself.
          j: int32 scalar, the column.

        Returns:
          `[batch, filters]`, equal to the layer's output map at the pixel.
        """
        batch = tf.shape(center)[0]
        # Padded column j + side is image column j: the patch starts at j.
        above = tf.slice(
            window["above"], [0, 0, j, 0], [batch, self.top, self.kernel_width, self.features]
        )  # [B, top, kw, F]
        left = tf.slice(window["row"], [0, j, 0], [batch, self.side, self.features])  # [B, side, F]
        patch = tf.concat(
            [tf.reshape(above, [batch, -1]), tf.reshape(left, [batch, -1]), center], axis=1
        )  # [B, (top kw + side + 1) F]
        outputs = _matmul(patch, self.kernel)  # [B, filters]
        if self.bias is not None:
            outputs = outputs + tf.cast(self.bias, outputs.dtype)
        return outputs

    def write(self, window, j, value):
        """The window with `value` `[batch, features]` at column `j` of the current row."""
        return dict(window, row=_set_column(window["row"], j + self.side, value))

    def next_row(self, window):
        """Moves the window down a row: the current row joins the rows above."""
        above = window["above"]
        if self.top:
            above = tf.concat([above[:, 1:], window["row"][:, None]], axis=1)  # [B, top, W', F]
        return {"above": above, "row": tf.zeros_like(window["row"])}


class CachedStepper:
    """Base of the cached steppers: the stem, the loop protocol, the wiring.

    Subclasses implement the per-block parts: `block_state` (the block's
    caches, and under `"pixel"` the features `core_at` returns for
    `update`), `core_at`, `write_pixel` and `next_row`.

    Args:
      model: a built `PixelModel`.
    """

    def __init__(self, model):
        self.model = model
        self.config = model.config
        self.height, self.width, self.channels = self.config.image_shape
        self.units = self.config.hidden_units
        self.dtype = model.compute_dtype
        self.stem = ConvWindow(model.stem, self.width, self.channels)

    def initial_state(self, batch_size, labels):
        """The loop state before the first pixel (`labels` are not cached)."""
        return {
            "stem": self.stem.initial_state(batch_size, self.dtype),
            "blocks": [
                self.block_state(index, block, batch_size)
                for index, block in enumerate(self.model.blocks)
            ],
        }

    def step(self, state, images, position, labels):
        """The logits of channel `c` at `(i, j)`.

        Args:
          state: the loop state.
          images: int32 `[batch, H, W, C]`: every pixel before `(i, j)` and
            the channels before `c` at `(i, j)` are drawn.
          position: `(i, j, c)`: int32 scalars `i`, `j` and a Python int `c`.
          labels: int32 `[batch]` or `None`.

        Returns:
          `(logits [batch, num_levels], state)`.
        """
        i, j, c = position
        scaled = self.model.scale(pixel_at(images, i, j))  # [B, C]
        blocks = []

        def stem(x):
            return _pixel_map(self.stem.conv_at(state["stem"], _flat(x), j))

        def core(index, block, inputs):
            block_state = state["blocks"][index]
            outputs, pixel = self.core_at(index, block, block_state, inputs, j)
            blocks.append(dict(block_state, pixel=pixel))
            return outputs

        logits = self.model.forward(_pixel_map(scaled), labels, stem, core)  # [B, 1, 1, C, L]
        return logits[:, 0, 0, c], dict(state, blocks=blocks)

    def update(self, state, images, position, labels):
        """Writes pixel `(i, j)`, now complete, into the caches."""
        i, j = position
        pixel = self.model.scale(pixel_at(images, i, j))  # [B, C], all channels drawn.
        return {
            "stem": self.stem.write(state["stem"], j, pixel),
            "blocks": [
                self.write_pixel(index, block_state, j)
                for index, block_state in enumerate(state["blocks"])
            ],
        }

    def finish_row(self, state, i):
        """Moves every cache to row `i + 1` once row `i` is complete."""
        return {
            "stem": self.stem.next_row(state["stem"]),
            "blocks": [
                self.next_row(index, block, block_state, i)
                for index, (block, block_state) in enumerate(
                    zip(self.model.blocks, state["blocks"])
                )
            ],
        }

    def block_state(self, index, block, batch_size):
        """Block `index`'s caches before the first pixel, a dict with `"pixel"`."""
        raise NotImplementedError

    def core_at(self, index, block, block_state, inputs, j):
        """Block `index`'s core at column `j` of the current row.

        Args:
          inputs: `[batch, 1, 1, 2h]`, the block's input at the pixel.

        Returns:
          `(outputs [batch, 1, 1, h], pixel)`: `pixel` has the structure of
          `block_state["pixel"]`.
        """
        raise NotImplementedError

    def write_pixel(self, index, block_state, j):
        """Writes `block_state["pixel"]` at column `j` of the current row."""
        raise NotImplementedError

    def next_row(self, index, block, block_state, i):
        """Block `index`'s caches for row `i + 1`, row `i` complete."""
        raise NotImplementedError


class PixelCNNStepper(CachedStepper):
    """PixelCNN: a `ConvWindow` of each block's `k x k` convolution's input."""

    def __init__(self, model):
        super().__init__(model)
        self.windows = [ConvWindow(block.conv, self.width, self.units) for block in model.blocks]

    def block_state(self, index, block, batch_size):
        return {
            "conv": self.windows[index].initial_state(batch_size, self.dtype),
            "pixel": tf.zeros([batch_size, self.units], self.dtype),
        }

    def core_at(self, index, block, block_state, inputs, j):
        pixel = []

        def conv(reduced):  # [B, 1, 1, h]
            pixel.append(_flat(reduced))
            return _pixel_map(self.windows[index].conv_at(block_state["conv"], pixel[0], j))

        return block.core(inputs, conv=conv), pixel[0]

    def write_pixel(self, index, block_state, j):
        conv = self.windows[index].write(block_state["conv"], j, block_state["pixel"])
        return dict(block_state, conv=conv)

    def next_row(self, index, block, block_state, i):
        return dict(block_state, conv=self.windows[index].next_row(block_state["conv"]))


class RowLSTMStepper(CachedStepper):
    """Row LSTM: the input-to-state window and two rows of states per block.

    Per block: `input`, a `ConvWindow` of the `1 x k` input-to-state
    convolution; `hidden_above` `[batch, width + 2 (k // 2), h]`, the
    previous row's hidden state zero-padded as `tf.nn.conv1d(..., "SAME")`
    pads it; `cell_above` `[batch, width, h]`; and the current row's
    `hidden` and `cell`, laid out alike. Before row 0, the row above is the
    learned initial state (§5).
    """

    def __init__(self, model):
        super().__init__(model)
        self.windows = [
            ConvWindow(block.lstm.input_to_state, self.width, 2 * self.units)
            for block in model.blocks
        ]
        self.side = self.config.kernel_size // 2
        # The state-to-state kernels flat, `[k h, 4h]`, read once per sampling call.
        self.state_kernels = [
            tf.reshape(block.lstm.state_kernel, [-1, 4 * self.units]) for block in model.blocks
        ]

    def block_state(self, index, block, batch_size):
        hidden, cell = block.lstm.initial_state(tf.stack([batch_size, self.width]))  # [B, W, h]
        hidden = tf.pad(hidden, [[0, 0], [self.side, self.side], [0, 0]])  # [B, W + 2 side, h]
        zeros = tf.zeros([batch_size, self.units], self.dtype)
        return {
            "input": self.windows[index].initial_state(batch_size, self.dtype),
            "hidden_above": tf.cast(hidden, self.dtype),
            "cell_above": tf.cast(cell, self.dtype),
            "hidden": tf.zeros_like(hidden, self.dtype),
            "cell": tf.zeros_like(cell, self.dtype),
            "pixel": {"input": tf.zeros([batch_size, 2 * self.units], self.dtype),
                      "hidden": zeros, "cell": zeros},
        }

    def core_at(self, index, block, block_state, inputs, j):
        lstm = block.lstm
        inputs = _flat(inputs)  # [B, 2h]
        gates = self.windows[index].conv_at(block_state["input"], inputs, j)  # [B, 4h]
        # The state-to-state convolution at column j: padded columns j .. j + 2 side.
        batch = tf.shape(inputs)[0]
        width = lstm.kernel_width
        above = tf.slice(block_state["hidden_above"], [0, j, 0], [batch, width, self.units])
        above = tf.reshape(above, [batch, width * self.units])  # [B, k h]
        gates = gates + _matmul(above, self.state_kernels[index])
        hidden, cell = lstm_update(gates, _column(block_state["cell_above"], j))
        return _pixel_map(hidden), {"input": inputs, "hidden": hidden, "cell": cell}

    def write_pixel(self, index, block_state, j):
        pixel = block_state["pixel"]
        return dict(
            block_state,
            input=self.windows[index].write(block_state["input"], j, pixel["input"]),
            hidden=_set_column(block_state["hidden"], j + self.side, pixel["hidden"]),
            cell=_set_column(block_state["cell"], j, pixel["cell"]),
        )

    def next_row(self, index, block, block_state, i):
        return dict(
            block_state,
            input=self.windows[index].next_row(block_state["input"]),
            hidden_above=block_state["hidden"],
            cell_above=block_state["cell"],
        )


def padding_states(lstm, height):
    """The state entering each row's first pixel in a `DiagonalLSTM`.

    `DiagonalLSTM` runs its recurrence over the columns of the skewed map,
    from the learned initial state. Row `r`'s first pixel sits in skewed
    column `r`, after `r` cells of zero padding: it enters from padding cell
    `(r, r - 1)`, not from the initial state (row 0 excepted). Padding cells
    have zero input gates, and their left and upper neighbours are padding
    cells too (or the initial state, or the zero padding above row 0), so
    their states are constants of the weights, computed here by the layer's
    own recurrence on zero gates.

    Args:
      lstm: a built `DiagonalLSTM`.
      height: the image height.

    Returns:
      `(hidden, cell)`, each `[height, units]`: row `r`'s entering state.
    """
    initial = lstm.initial_state(tf.constant([height]))  # ([rows, h], [rows, h])
    if height == 1:
        return initial
    gates = tf.zeros([height - 1, height, 4 * lstm.units])  # [columns, rows, 4h]
    states = recurrence(
        gates, initial, lambda hidden: column_state_to_state(hidden, lstm.state_kernel)
    )  # ([columns, rows, h], [columns, rows, h])
    # Row r >= 1 enters from skewed column r - 1.
    diagonal = [[r - 1, r] for r in range(1, height)]
    return tuple(
        tf.concat([start[:1], tf.gather_nd(state, diagonal)], axis=0)  # [rows, h]
        for start, state in zip(initial, states)
    )


def _neighbour_gates(upper, left, kernel):
    """The `2 x 1` state-to-state convolution of one cell (`column_state_to_state`).

    Args:
      upper: `[batch, h]`, the hidden state above (previous skewed column,
        row above).
      left: `[batch, h]`, the hidden state to the left (previous skewed
        column, same row).
      kernel: `[2 h, 4h]`, the layer's `[2, h, 4h]` kernel flattened:
        [upper row; current row].

    Returns:
      `[batch, 4h]`.
    """
    return _matmul(tf.concat([upper, left], axis=-1), kernel)


class DiagonalBiLSTMStepper(CachedStepper):
    """Diagonal BiLSTM: the left-to-right direction per pixel, the right one per row.

    Per block: `input` `[batch, width, 2h]`, the current row's block inputs
    (the right-to-left direction needs the whole row); `hidden_above`
    `[batch, width, h]`, the left-to-right hidden state of the row above
    (zeros above row 0, the zero padding of `column_state_to_state`);
    `hidden` and `cell` `[batch, width + 1, h]`, the current row's states
    with the state entering its first pixel in column 0 (see
    `padding_states`), so the left neighbour of column `j` is column `j` of
    the buffer; `right_above` `[batch, width, h]`, the right-to-left output
    of the row above, which the model shifts down to the current row (§3.2);
    and the `padding_states` of both directions, `[height, h]` each.
    """

    def __init__(self, model):
        super().__init__(model)
        # The left-to-right state-to-state kernels flat, `[2h, 4h]`, read once
        # per sampling call.
        self.state_kernels = [
            tf.reshape(block.lstm.left_to_right.state_kernel, [-1, 4 * self.units])
            for block in model.blocks
        ]

    def block_state(self, index, block, batch_size):
        width, units = self.width, self.units
        entering = {}
        for name, lstm in (("left", block.lstm.left_to_right), ("right", block.lstm.right_to_left)):
            hidden, cell = padding_states(lstm, self.height)
            entering[name] = {"hidden": tf.cast(hidden, self.dtype), "cell": tf.cast(cell, self.dtype)}
        row = tf.zeros([batch_size, width, units], self.dtype)
        zeros = tf.zeros([batch_size, units], self.dtype)
        return {
            "input": tf.zeros([batch_size, width, 2 * units], self.dtype),
            "hidden_above": row,
            "hidden": self._enter_row(entering["left"]["hidden"], 0, row),
            "cell": self._enter_row(entering["left"]["cell"], 0, row),
            "right_above": row,
            "entering": entering,
            "pixel": {"input": tf.zeros([batch_size, 2 * units], self.dtype),
                      "hidden": zeros, "cell": zeros},
        }

    @staticmethod
    def _enter_row(entering, i, row):
        """`[batch, width + 1, h]`: row `i`'s entering state, then `row` `[batch, width, h]`."""
        first = tf.broadcast_to(tf.gather(entering, i), tf.shape(row[:, 0]))  # [B, h]
        return tf.concat([first[:, None], row], axis=1)

    def core_at(self, index, block, block_state, inputs, j):
        lstm = block.lstm.left_to_right
        gates = _flat(lstm.input_to_state(inputs))  # [B, 4h]: a 1 x 1 convolution.
        upper = _column(block_state["hidden_above"], j)  # [B, h], at (i - 1, j)
        gates = gates + _neighbour_gates(
            upper, _column(block_state["hidden"], j), self.state_kernels[index]
        )  # Column j of `hidden` holds (i, j - 1).
        hidden, cell = lstm_update(gates, _column(block_state["cell"], j))
        # The right-to-left direction at (i - 1, j), shifted down (§3.2).
        outputs = hidden + _column(block_state["right_above"], j)
        pixel = {"input": _flat(inputs), "hidden": hidden, "cell": cell}
        return _pixel_map(outputs), pixel

    def write_pixel(self, index, block_state, j):
        pixel = block_state["pixel"]
        return dict(
            block_state,
            input=_set_column(block_state["input"], j, pixel["input"]),
            hidden=_set_column(block_state["hidden"], j + 1, pixel["hidden"]),
            cell=_set_column(block_state["cell"], j + 1, pixel["cell"]),
        )

    def next_row(self, index, block, block_state, i):
        entering = block_state["entering"]
        following = tf.minimum(i + 1, self.height - 1)  # Row i + 1 (unused after the last).
        return dict(
            block_state,
            hidden_above=block_state["hidden"][:, 1:],
            hidden=self._enter_row(entering["left"]["hidden"], following, block_state["hidden"][:, 1:]),
            cell=self._enter_row(entering["left"]["cell"], following, block_state["cell"][:, 1:]),
            right_above=self._right_row(block.lstm.right_to_left, block_state, i),
        )

    def _right_row(self, lstm, block_state, i):
        """The right-to-left direction along complete row `i`, `[batch, width, h]`.

        That direction is a `DiagonalLSTM` on the mirrored map; in mirrored
        coordinates a row is a left-to-right recurrence from the row's
        entering state, with the row above (`right_above`, mirrored) as the
        upper neighbours.
        """
        mirrored = tf.reverse(block_state["input"], axis=[1])  # [B, W, 2h], column W - 1 first
        gates = lstm.input_to_state(mirrored[:, None])[:, 0]  # [B, W, 4h], a 1 x 1 convolution.
        gates = tf.transpose(gates, [1, 0, 2])  # [W, B, 4h]: the recurrence runs over columns.
        upper = tf.transpose(tf.reverse(block_state["right_above"], axis=[1]), [1, 0, 2])  # [W, B, h]
        kernel = lstm.state_kernel  # [2, h, 4h]
        gates = gates + _matmul(upper, kernel[0])
        entering = block_state["entering"]["right"]
        batch_shape = tf.shape(block_state["input"])[:1]
        initial = tuple(
            tf.broadcast_to(tf.gather(entering[name], i), tf.concat([batch_shape, [self.units]], 0))
            for name in ("hidden", "cell")
        )  # [B, h] each
        hidden, _ = recurrence(gates, initial, lambda left: _matmul(left, kernel[1]))  # [W, B, h]
        return tf.reverse(tf.transpose(hidden, [1, 0, 2]), axis=[1])  # [B, W, h]


_STEPPERS = {
    PixelCNNBlock: PixelCNNStepper,
    RowLSTMBlock: RowLSTMStepper,
    DiagonalBiLSTMBlock: DiagonalBiLSTMStepper,
}


def make_stepper(model):
    """The cached stepper of `model`'s architecture (a `CachedStepper`)."""
    return _STEPPERS[type(model.blocks[0])](model)
