"""Exact incremental sampling: per-layer caches, one pixel of work per step.

A `CachedStepper` computes the network at one pixel `(i, j)` from caches of
what earlier pixels produced, through `PixelModel.forward` with a stem and
block cores that read those caches; everything per-pixel (class biases,
residual adds, skips, the output stack) is the model's own code. After a
pixel's last channel is drawn, `update` writes the values its last step
computed, and the whole pixel, into the caches.

* PixelCNN (the Fast PixelCNN++ scheme): the input maps of the spatial
  convolutions (the stem and each block's `k x k`), so a convolution at
  `(i, j)` contracts its masked kernel with a patch of the cache.
* Row LSTM (§3.1): the input map of each input-to-state `1 x k`
  convolution, and the hidden and cell states of the previous and the
  current row; the state-to-state convolution reads the previous row's
  columns `j - k // 2 .. j + k // 2`.
* Diagonal BiLSTM (§3.2): the left-to-right direction from the left and
  upper neighbours' states; the right-to-left direction, which the model
  shifts down a row, is computed once per completed row.

Feature maps of one pixel are `[batch, 1, 1, features]`, so the model's
`1 x 1` layers run on them unchanged. Caches are spatial-major,
`[rows, columns, batch, features]`, so a pixel is written with one scatter.
"""

import tensorflow as tf

from pixel_rnn_tf.layers.blocks import DiagonalBiLSTMBlock
from pixel_rnn_tf.layers.blocks import PixelCNNBlock
from pixel_rnn_tf.layers.blocks import RowLSTMBlock
from pixel_rnn_tf.layers.diagonal_lstm import column_state_to_state
from pixel_rnn_tf.layers.spatial_lstm import lstm_update
from pixel_rnn_tf.layers.spatial_lstm import recurrence


def _pixel(x):
    """`[batch, features]` -> a one-pixel map `[batch, 1, 1, features]`."""
    return x[:, None, None, :]


def _flat(x):
    """A one-pixel map `[batch, 1, 1, features]` -> `[batch, features]`."""
    return x[:, 0, 0, :]


def _write(cache, row, col, value):
    """`cache[row, col] = value`: cache `[R, C, batch, F]`, value `[batch, F]`."""
    return tf.tensor_scatter_nd_update(cache, [[row, col]], value[None])


class ConvCache:
    """The padded input map of a masked convolution, `[H + kh // 2, W + 2 (kw // 2), batch, F]`."""

    def __init__(self, layer, image_shape, features):
        self.layer = layer
        self.height, self.width = image_shape[:2]
        self.features = features
        kernel_height, self.kernel_width = layer.kernel_size
        self.top, self.side = kernel_height // 2, self.kernel_width // 2

    def zeros(self, batch_size, dtype):
        shape = [self.height + self.top, self.width + 2 * self.side, batch_size, self.features]
        return tf.zeros(shape, dtype)

    def conv_at(self, cache, center, i, j):
        """The masked convolution's output at `(i, j)`.

        Args:
          cache: the input map of every earlier pixel.
          center: `[batch, 1, 1, F]`, the input at `(i, j)` itself.

        Returns:
          `[batch, 1, 1, filters]`.
        """
        center = _flat(center)[None]  # [1, B, F]
        # Static slice sizes (tf.slice), so the loop also compiles with XLA.
        above = tf.slice(cache, [i, j, 0, 0], [self.top, self.kernel_width, -1, -1])
        left = tf.slice(cache, [i + self.top, j, 0, 0], [1, self.side, -1, -1])[0]  # [side, B, F]
        right = tf.zeros_like(left)  # Masked out anyway.
        row = tf.concat([left, center, right], axis=0)  # [kw, B, F]
        patch = tf.concat([above, row[None]], axis=0)  # [top + 1, kw, B, F]
        kernel = self.layer.masked_kernel[: self.top + 1]  # Rows below are masked.
        outputs = tf.einsum("rcbf,rcfo->bo", patch, kernel)
        if self.layer.use_bias:
            outputs = outputs + self.layer.bias
        return _pixel(outputs)

    def write(self, cache, i, j, value):
        return _write(cache, i + self.top, j + self.side, _flat(value))


class CachedStepper:
    """Base of the incremental steppers of `sampling`.

    Subclasses implement `block_state`, `core_at` and `finish_row`.
    """

    def __init__(self, model):
        self.model = model
        self.config = model.config
        self.height, self.width, self.channels = self.config.image_shape
        self.features = 2 * self.config.hidden_units
        self.dtype = model.compute_dtype
        self.stem = ConvCache(model.stem, self.config.image_shape, self.channels)

    def initial_state(self, batch_size, labels):
        state = {"stem": self.stem.zeros(batch_size, self.dtype)}
        for index, block in enumerate(self.model.blocks):
            state.update(self.block_state(index, block, batch_size))
        return state

    def forward(self, state, images, i, j, labels):
        """The network at pixel `(i, j)`.

        Returns:
          `(logits [batch, channels, num_levels], writes)`: `writes` maps a
          cache name to the value `(i, j)` puts into it.
        """
        writes = {}
        scaled = self.model.scale(images[:, i : i + 1, j : j + 1, :])  # [B, 1, 1, C]

        def stem(x):
            writes["stem"] = x
            return self.stem.conv_at(state["stem"], x, i, j)

        def core(index, block, inputs):
            outputs, block_writes = self.core_at(index, block, state, inputs, i, j)
            writes.update(block_writes)
            return outputs

        logits = self.model.forward(scaled, labels, stem, core)  # [B, 1, 1, C, levels]
        return logits[:, 0, 0], writes

    def step(self, state, images, position, labels):
        """The logits `[batch, num_levels]` of `position` and the pixel's cache values.

        Nothing at `(i, j)` sees the value of the pixel's last channel (mask
        A hides a channel from its own position), so the values computed at
        the last channel's step are final but for the raw pixel itself.
        """
        i, j, c = position
        logits, writes = self.forward(state, images, i, j, labels)
        return tf.gather(logits, c, axis=1), writes

    def update(self, state, writes, images, position, labels):
        """Writes pixel `(i, j)`, now complete, into the caches."""
        i, j, _ = position
        state = dict(state)
        whole_pixel = self.model.scale(images[:, i : i + 1, j : j + 1, :])  # [B, 1, 1, C]
        state["stem"] = self.stem.write(state["stem"], i, j, whole_pixel)
        state = self.write_block_values(state, dict(writes), i, j)
        return tf.cond(
            tf.equal(j, self.width - 1),
            lambda: self.finish_row(state, i),
            lambda: state,
        )

    def block_state(self, index, block, batch_size):
        raise NotImplementedError

    def core_at(self, index, block, state, inputs, i, j):
        """Block `index`'s core at `(i, j)`: `(outputs [B, 1, 1, F], writes)`."""
        raise NotImplementedError

    def write_block_values(self, state, writes, i, j):
        raise NotImplementedError

    def finish_row(self, state, i):
        """Work once row `i` is complete."""
        return state


class PixelCNNStepper(CachedStepper):
    """Caches the input map of each block's `k x k` masked convolution."""

    def __init__(self, model):
        super().__init__(model)
        self.convs = [
            ConvCache(block.conv, self.config.image_shape, self.config.hidden_units)
            for block in model.blocks
        ]

    def block_state(self, index, block, batch_size):
        return {f"conv_{index}": self.convs[index].zeros(batch_size, self.dtype)}

    def core_at(self, index, block, state, inputs, i, j):
        # PixelCNNBlock.core with the k x k convolution read from the cache.
        reduced = tf.nn.relu(block.reduce(tf.nn.relu(inputs)))
        conv = self.convs[index].conv_at(state[f"conv_{index}"], reduced, i, j)
        return tf.nn.relu(conv), {f"conv_{index}": reduced}

    def write_block_values(self, state, writes, i, j):
        for index, cache in enumerate(self.convs):
            name = f"conv_{index}"
            state[name] = cache.write(state[name], i, j, writes[name])
        return state


class RowLSTMStepper(CachedStepper):
    """Caches each Row LSTM's input row map and the previous and current rows' states."""

    def __init__(self, model):
        super().__init__(model)
        self.inputs = [
            ConvCache(block.lstm.input_to_state, self.config.image_shape, self.features)
            for block in model.blocks
        ]
        self.half = self.config.kernel_size // 2

    def block_state(self, index, block, batch_size):
        lstm = block.lstm
        hidden, cell = lstm.initial_state(tf.stack([self.width, batch_size]))  # [W, B, h]
        # The state-to-state convolution pads the previous row with zeros.
        padding = [[self.half, self.half], [0, 0], [0, 0]]
        return {
            f"input_{index}": self.inputs[index].zeros(batch_size, self.dtype),
            f"previous_hidden_{index}": tf.pad(hidden, padding),  # [W + 2 half, B, h]
            f"previous_cell_{index}": cell,  # [W, B, h]
            f"hidden_{index}": tf.zeros_like(tf.pad(hidden, padding)),
            f"cell_{index}": tf.zeros_like(cell),
        }

    def core_at(self, index, block, state, inputs, i, j):
        lstm = block.lstm
        gates = _flat(self.inputs[index].conv_at(state[f"input_{index}"], inputs, i, j))
        above = tf.slice(state[f"previous_hidden_{index}"], [j, 0, 0], [2 * self.half + 1, -1, -1])
        gates = gates + tf.einsum("kbu,kuv->bv", above, lstm.state_kernel)  # above: [k, B, h]
        hidden, cell = lstm_update(gates, tf.gather(state[f"previous_cell_{index}"], j))
        writes = {f"input_{index}": inputs, f"hidden_{index}": hidden, f"cell_{index}": cell}
        return _pixel(hidden), writes

    def write_block_values(self, state, writes, i, j):
        for index, cache in enumerate(self.inputs):
            state[f"input_{index}"] = cache.write(
                state[f"input_{index}"], i, j, writes[f"input_{index}"]
            )
            hidden = state[f"hidden_{index}"]
            state[f"hidden_{index}"] = tf.tensor_scatter_nd_update(
                hidden, [[j + self.half]], writes[f"hidden_{index}"][None]
            )
            state[f"cell_{index}"] = tf.tensor_scatter_nd_update(
                state[f"cell_{index}"], [[j]], writes[f"cell_{index}"][None]
            )
        return state

    def finish_row(self, state, i):
        state = dict(state)
        for index in range(len(self.model.blocks)):
            state[f"previous_hidden_{index}"] = state[f"hidden_{index}"]
            state[f"previous_cell_{index}"] = state[f"cell_{index}"]
        return state


def _padding_states(lstm, height, batch_size):
    """The state entering each row's first cell in the skewed recurrence.

    `DiagonalLSTM` runs its recurrence over the columns of the skewed map
    from the learned initial state; row `r`'s first real cell sits in skewed
    column `r`, after `r` cells of zero-padding input. Those padding cells
    depend only on padding cells (their left and upper neighbours), so
    running the recurrence on zero gates gives them exactly.

    Returns:
      `(hidden, cell)`, each `[height, batch, units]`: row `r`'s entering state.
    """
    units = lstm.units
    gates = tf.zeros([height, 1, height, 4 * units])  # [columns, 1, rows, 4h]
    initial = lstm.initial_state(tf.constant([1, height]))  # [1, rows, h] each
    hidden, cell = recurrence(gates, initial, lstm.state_to_state)  # [columns, 1, rows, h]
    rows = tf.range(height)
    # Row r enters from skewed column r - 1; row 0 from the initial state.
    entering = [
        tf.concat([initial[k][0, :1], tf.gather_nd(states[:, 0], tf.stack([rows[1:] - 1, rows[1:]], 1))], 0)
        for k, states in enumerate((hidden, cell))
    ]  # [rows, h] each
    return tuple(tf.tile(state[:, None], [1, batch_size, 1]) for state in entering)


class DiagonalBiLSTMStepper(CachedStepper):
    """Caches both directions' states; the right-to-left one per completed row."""

    def block_state(self, index, block, batch_size):
        height, width = self.height, self.width
        units = self.config.hidden_units
        state = {f"input_{index}": tf.zeros([height, width, batch_size, self.features], self.dtype)}
        for name, lstm in (("left", block.lstm.left_to_right), ("right", block.lstm.right_to_left)):
            hidden, cell = _padding_states(lstm, height, batch_size)
            state[f"{name}_entering_hidden_{index}"] = hidden  # [H, B, h]
            state[f"{name}_entering_cell_{index}"] = cell
            state[f"{name}_hidden_{index}"] = tf.zeros([height, width, batch_size, units], self.dtype)
        state[f"left_cell_{index}"] = tf.zeros([height, width, batch_size, units], self.dtype)
        return state

    def core_at(self, index, block, state, inputs, i, j):
        lstm = block.lstm.left_to_right
        gates = _flat(lstm.input_to_state(inputs))  # [B, 4h]
        hidden_map = state[f"left_hidden_{index}"]  # [H, W, B, h]
        left_hidden, left_cell = tf.cond(
            j > 0,
            lambda: (
                tf.gather_nd(hidden_map, [i, j - 1]),
                tf.gather_nd(state[f"left_cell_{index}"], [i, j - 1]),
            ),
            lambda: (
                tf.gather(state[f"left_entering_hidden_{index}"], i),
                tf.gather(state[f"left_entering_cell_{index}"], i),
            ),
        )
        up_hidden = tf.cond(
            i > 0, lambda: tf.gather_nd(hidden_map, [i - 1, j]), lambda: tf.zeros_like(left_hidden)
        )  # Zero padding above row 0, as in `column_state_to_state`.
        gates = gates + column_state_to_state(
            tf.stack([up_hidden, left_hidden], axis=1), lstm.state_kernel
        )[:, 1]
        hidden, cell = lstm_update(gates, left_cell)
        # The right-to-left direction of the row above, shifted down (§3.2).
        right = tf.cond(
            i > 0,
            lambda: tf.gather_nd(state[f"right_hidden_{index}"], [i - 1, j]),
            lambda: tf.zeros_like(hidden),
        )
        writes = {f"input_{index}": inputs, f"left_hidden_{index}": hidden,
                  f"left_cell_{index}": cell}
        return _pixel(hidden + right), writes

    def write_block_values(self, state, writes, i, j):
        for index in range(len(self.model.blocks)):
            for name in ("input", "left_hidden", "left_cell"):
                key = f"{name}_{index}"
                state[key] = _write(state[key], i, j, _flat(writes[key]) if name == "input" else writes[key])
        return state

    def finish_row(self, state, i):
        """The right-to-left direction of every layer along completed row `i`."""
        state = dict(state)
        for index, block in enumerate(self.model.blocks):
            lstm = block.lstm.right_to_left
            row = tf.transpose(tf.gather(state[f"input_{index}"], i), [1, 0, 2])  # [B, W, F]
            mirrored = tf.reverse(row, axis=[1])[:, None]  # [B, 1, W, F]
            gates = tf.transpose(lstm.input_to_state(mirrored)[:, 0], [1, 0, 2])  # [W, B, 4h]
            right_map = state[f"right_hidden_{index}"]  # [H, W, B, h]
            up = tf.cond(
                i > 0,
                lambda: tf.reverse(tf.gather(right_map, i - 1), axis=[0]),
                lambda: tf.zeros_like(right_map[0]),
            )  # [W, B, h], mirrored
            kernel = lstm.state_kernel
            gates = gates + tf.einsum("wbu,uv->wbv", up, kernel[0])
            initial = (
                tf.gather(state[f"right_entering_hidden_{index}"], i),
                tf.gather(state[f"right_entering_cell_{index}"], i),
            )  # [B, h] each
            hidden, _ = recurrence(gates, initial, lambda h: tf.matmul(h, kernel[1]))
            state[f"right_hidden_{index}"] = tf.tensor_scatter_nd_update(
                state[f"right_hidden_{index}"], [[i]], tf.reverse(hidden, axis=[0])[None]
            )
        return state


_STEPPERS = {
    PixelCNNBlock: PixelCNNStepper,
    RowLSTMBlock: RowLSTMStepper,
    DiagonalBiLSTMBlock: DiagonalBiLSTMStepper,
}


def make_stepper(model):
    """The cached stepper of `model`'s architecture."""
    return _STEPPERS[type(model.blocks[0])](model)
