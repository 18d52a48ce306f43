"""The Gated PixelCNN: two stacks, no blind spot (van den Oord et al. 2016).

"Conditional Image Generation with PixelCNN Decoders" (NeurIPS 2016, §2.1,
§2.2, Figure 2). Each layer has

* a **vertical stack** that sees only the rows above the current pixel: an
  `(n // 2 + 1) x n` convolution of whole rows. The model carries it
  already shifted down one row (the paper shifts it where it feeds the
  horizontal stack), so its value at row `r` depends on rows `< r` alone
  and every color group, at every later layer, may read it;
* a **horizontal stack**: a `1 x n` convolution of the current row up to
  the pixel, masked A in the first layer and B after, with R/G/B groups
  (PixelRNN §3.4), a residual connection and a `1 x 1` output;
* the **vertical-to-horizontal link**, a `1 x 1` convolution of the
  vertical pre-activations into the horizontal ones;
* the **gated activation** `tanh(W_f * x) ⊙ σ(W_g * x)` on both stacks.

Between layers, the `2h` features hold both stacks, interleaved: feature
`2k` is the horizontal stack's `k`-th, `2k + 1` the vertical stack's. So
feature `2k` falls in color group `k * C // h` of the `2h` features
(`masking.color_groups`), the group it has in the horizontal stack, and
the model's skips and output stack, which know nothing of two stacks, keep
every horizontal feature in its group. A condition's bias (`conditioning`),
added to a layer's input features, reaches both stacks' gates through
their convolutions (the paper's `V^T h` term).

The vertical stack's output at row `r` needs whole rows of its input, so
its one-pixel step reads a row that `start_row` computed before the row's
first pixel (`stepping.StartRow`).
"""

import keras
import tensorflow as tf
from keras import ops

from pixel_rnn_tf import masking
from pixel_rnn_tf.layers import blocks
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D
from pixel_rnn_tf.layers.stepping import Composite
from pixel_rnn_tf.layers.stepping import write_at
from pixel_rnn_tf.ops import slice_along
from pixel_rnn_tf.registry import register_serializable
from pixel_rnn_tf.validation import check_int


def gate(x):
    """`tanh(a) ⊙ σ(b)` of `x = [a, b]`: `[..., 2f]` -> `[..., f]`."""
    value, gate_ = tf.split(x, 2, axis=-1)
    return tf.tanh(value) * tf.sigmoid(gate_)


def interleave(horizontal, vertical):
    """The `2h` features of both stacks: `[..., h]` twice -> `[..., 2h]`."""
    both = tf.stack([horizontal, vertical], axis=-1)  # [..., h, 2]
    return tf.reshape(both, tf.concat([tf.shape(horizontal)[:-1], [2 * horizontal.shape[-1]]], 0))


def split_stacks(features):
    """The inverse of `interleave`: `[..., 2h]` -> (horizontal, vertical), `[..., h]` each."""
    half = features.shape[-1] // 2
    both = tf.reshape(features, tf.concat([tf.shape(features)[:-1], [half, 2]], 0))  # [..., h, 2]
    # Not `both[..., 0]`: see `ops.slice_along`. The gradient of an unstack is a stack.
    horizontal, vertical = tf.unstack(both, axis=-1)
    return horizontal, vertical


@register_serializable
class VerticalConv2D(keras.layers.Layer):
    """A convolution of whole rows above the pixel (the vertical stack).

    Output row `r` is a `rows x kernel_width` convolution ("same" along the
    row) of input rows `r - rows + 1 .. r` (`include_current_row=True`, for
    an input that itself depends only on rows above) or `r - rows .. r - 1`
    (`False`, for the image). Rows above the image are zeros.

    Args:
      filters: int, output features.
      kernel_width: positive odd int, `n`.
      rows: positive int, the input rows each output row sees.
      include_current_row: bool, see above.

    Input shape: `[batch, height, width, features]`.
    Output shape: `[batch, height, width, filters]`.

    Its one-pixel step returns column `j` of the output row that
    `start_row(cache, i, inputs)` computed, from the cached `rows` input
    rows, before row `i`'s first pixel; with `include_current_row`, that
    pass brings row `i`'s input (`[batch, width, features]`), else the
    steps collect the pixels of row `i` and `end_row` moves them up.
    """

    def __init__(self, filters, kernel_width, rows, include_current_row=True, **kwargs):
        super().__init__(**kwargs)
        filters, rows = check_int("filters", filters, 1), check_int("rows", rows, 1)
        self.filters = filters
        self.kernel_width = masking.normalize_kernel_size((1, kernel_width), "kernel_width")[1]
        self.rows = rows
        self.include_current_row = bool(include_current_row)

    @property
    def kernel_size(self):
        """`(rows, kernel_width)`, the kernel's shape."""
        return (self.rows, self.kernel_width)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.rows, self.kernel_width, input_shape[-1], self.filters),
            initializer="glorot_uniform",
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def _convolve(self, padded, kernel, bias):
        """The cell: a "valid" convolution of rows padded by `kernel_width // 2` columns."""
        return ops.conv(padded, kernel, strides=1, padding="valid") + bias

    def _pad_columns(self, x):
        side = self.kernel_width // 2
        return tf.pad(x, [[0, 0]] * (x.shape.rank - 2) + [[side, side], [0, 0]])

    def call(self, inputs):
        top = self.rows - int(self.include_current_row)
        x = tf.pad(self._pad_columns(inputs), [[0, 0], [top, 0], [0, 0], [0, 0]])
        if not self.include_current_row:
            x = slice_along(x, 1, 0, tf.shape(x)[1] - 1)  # Row r - 1 is the last one row r sees.
        return self._convolve(x, self.kernel, self.bias)  # [B, H, W, filters]

    def initial_cache(self, inputs, width):
        batch, features = tf.shape(inputs)[0], inputs.shape[-1]
        dtype = self.compute_dtype
        cache = {
            "kernel": tf.cast(self.kernel, dtype),
            "bias": tf.cast(self.bias, dtype),
            # The input rows the current output row sees, padded as `call` pads them.
            "window": tf.zeros([batch, self.rows, width + self.kernel_width - 1, features], dtype),
            "outputs": tf.zeros([batch, width, self.filters], dtype),
        }
        if not self.include_current_row:
            cache["row"] = tf.zeros([batch, width, features], dtype)
        return cache

    def _push(self, window, row):
        """The window moved up one row, `row` `[batch, width, features]` its last."""
        return tf.concat([window[:, 1:], self._pad_columns(row)[:, None]], axis=1)

    def start_row(self, cache, i, inputs):
        window = cache["window"]
        if self.include_current_row:
            window = self._push(window, tf.cast(inputs, window.dtype))
        outputs = self._convolve(window, cache["kernel"], cache["bias"])[:, 0]  # [B, W, filters]
        return outputs, dict(cache, window=window, outputs=outputs)

    def step(self, cache, inputs, i, j):
        if not self.include_current_row:
            cache = dict(cache, row=write_at(cache["row"], (j,), inputs))
        return tf.gather(cache["outputs"], j, axis=1), cache

    def end_row(self, cache, i):
        if self.include_current_row:
            return cache
        return dict(cache, window=self._push(cache["window"], cache["row"]),
                    row=tf.zeros_like(cache["row"]))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_width=self.kernel_width,
            rows=self.rows,
            include_current_row=self.include_current_row,
        )
        return config


class _GatedLayer(Composite):
    """The two stacks of one layer (Figure 2), shared by the first layer and the blocks.

    Subclasses build `vertical`, `horizontal` and `link` in `__init__`.
    """

    def _make_stacks(self, hidden_units, color_channels, kernel_size, mask_type, first):
        features = 2 * hidden_units  # Both gates' pre-activations.
        self.vertical = VerticalConv2D(
            features, kernel_size, kernel_size // 2 + 1, include_current_row=not first,
            name="vertical", dtype=self.dtype_policy,
        )
        self.horizontal = MaskedConv2D(
            features, (1, kernel_size), mask_type, color_channels, output_blocks=2,
            name="horizontal", dtype=self.dtype_policy,
        )
        # The vertical stack sees only rows above: every color group may read it.
        self.link = MaskedConv2D(
            features, 1, "B", 1, name="vertical_to_horizontal", dtype=self.dtype_policy
        )

    def _build_stacks(self, vertical_shape, horizontal_shape):
        self.vertical.build(vertical_shape)
        self.horizontal.build(horizontal_shape)
        self.link.build(self.vertical.compute_output_shape(vertical_shape))

    def stacks(self, vertical, horizontal, run):
        """The gated vertical and horizontal stacks, `[..., h]` each."""
        vertical = run(self.vertical, vertical)  # [..., 2h]
        horizontal = run(self.horizontal, horizontal) + run(self.link, vertical)
        return gate(vertical), gate(horizontal)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2 * self.hidden_units,)


@register_serializable
class GatedStem(_GatedLayer, keras.layers.Layer):
    """The first layer: both stacks from the image, the horizontal one masked A.

    Args:
      hidden_units: int, `h`.
      color_channels: 1 or 3.
      kernel_size: odd int, `n` (the first layer's 7).

    Input shape: scaled images `[batch, height, width, color_channels]`.
    Output shape: `[batch, height, width, 2 * hidden_units]`, both stacks
    interleaved (module docstring).
    """

    def __init__(self, hidden_units, color_channels=1, kernel_size=7, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        self.color_channels = color_channels
        self.kernel_size = kernel_size
        self._make_stacks(hidden_units, color_channels, kernel_size, "A", first=True)

    def build(self, input_shape):
        self._build_stacks(input_shape, input_shape)

    def forward(self, inputs, run):
        vertical, horizontal = self.stacks(inputs, inputs, run)
        return interleave(horizontal, vertical)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_units=self.hidden_units,
            color_channels=self.color_channels,
            kernel_size=self.kernel_size,
        )
        return config


@blocks.register_block("gated_pixel_cnn")
class GatedPixelCNNBlock(_GatedLayer, blocks.ResidualBlock):
    """A Gated PixelCNN layer between `2h`-feature maps of both stacks (Figure 2).

    The vertical stack: an `(n // 2 + 1) x n` convolution of the rows above
    and the gate. The horizontal stack: a `1 x n` mask-B convolution plus
    the link, the gate, a mask-B `1 x 1` convolution and, with `residual`,
    the input added.

    Args:
      hidden_units: int, `h`: features of each stack.
      color_channels: 1 or 3.
      residual: bool, the horizontal stack's residual connection.
      kernel_size: odd int, `n`.

    Input and output shape: `[batch, height, width, 2 * hidden_units]`.
    """

    def __init__(self, hidden_units, color_channels=1, residual=True, kernel_size=3, **kwargs):
        super().__init__(hidden_units, color_channels, residual, **kwargs)
        self.kernel_size = kernel_size
        self._make_stacks(hidden_units, color_channels, kernel_size, "B", first=False)
        self.horizontal_output = MaskedConv2D(
            hidden_units, 1, "B", color_channels, name="horizontal_output",
            dtype=self.dtype_policy,
        )

    @classmethod
    def from_model_config(cls, config, **kwargs):
        return super().from_model_config(config, kernel_size=config.kernel_size, **kwargs)

    @classmethod
    def stem_from_model_config(cls, config, **kwargs):
        return GatedStem(
            config.hidden_units, config.color_channels, config.input_kernel_size, **kwargs
        )

    def build(self, input_shape):
        stack_shape = tuple(input_shape[:-1]) + (self.hidden_units,)
        self._build_stacks(stack_shape, stack_shape)
        self.horizontal_output.build(stack_shape)

    def forward(self, inputs, run):
        horizontal, vertical = split_stacks(inputs)
        vertical_out, gated = self.stacks(vertical, horizontal, run)
        horizontal_out = run(self.horizontal_output, gated)
        if self.residual:
            horizontal_out = horizontal_out + horizontal
        return interleave(horizontal_out, vertical_out)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=self.kernel_size)
        return config
