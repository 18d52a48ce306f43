"""`MaskedConv2D`: a 2-D convolution that cannot see the future (§3.4)."""

import keras
import tensorflow as tf
from keras import ops

from pixel_rnn_tf import masking
from pixel_rnn_tf.ops import slice_along
from pixel_rnn_tf.layers.stepping import write_at
from pixel_rnn_tf.registry import register_serializable
from pixel_rnn_tf.validation import check_int


@register_serializable
class MaskedConv2D(keras.layers.Layer):
    """A stride-1 "same" convolution whose kernel is masked in `call()`.

    The mask comes from `masking.kernel_mask`: weights that would connect an
    output to a later pixel, or at the current pixel to a later color group,
    are multiplied by zero on every call, so they receive zero gradient and
    never leak, whatever the optimizer does to the stored kernel.

    Input features are split into `color_channels` contiguous groups; output
    features into `output_blocks` equal blocks (the four LSTM gates), each
    split into contiguous color groups.

    Args:
      filters: int, the number of output features.
      kernel_size: odd int or pair of odd ints, e.g. 7, 3, `(1, 3)`.
      mask_type: "A" (first layer) or "B" (later layers).
      color_channels: 1 or 3, the image's channels.
      output_blocks: int, equal blocks the output features split into.
      use_bias, kernel_initializer, bias_initializer: as in `keras.layers.Conv2D`.

    Input shape: `[batch, height, width, in_features]`.
    Output shape: `[batch, height, width, filters]`.

    Its one-pixel step (`layers.stepping`) keeps a window of its input map:
    the `kernel_height // 2` rows above the current one (`above`, zeros
    above the image), zero-padded by `kernel_width // 2` columns as "same"
    padding pads it, the current row so far (`row`, padded alike, which
    joins `above` at the row's end), and the current row's last
    `kernel_width // 2` inputs (`left`). The output at `(i, j)` is the
    visible taps (the rows above, the current row up to the centre) applied
    to the window's patch at column `j`.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        mask_type="B",
        color_channels=1,
        output_blocks=1,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        filters = check_int("filters", filters, 1)
        if mask_type not in masking.MASK_TYPES:
            raise ValueError(
                f"Expected `mask_type` to be one of {masking.MASK_TYPES}. "
                f"Received: mask_type={mask_type!r}"
            )
        self.filters = filters
        self.kernel_size = masking.normalize_kernel_size(kernel_size)
        self.mask_type = mask_type
        self.color_channels = color_channels
        self.output_blocks = output_blocks
        # Validates color_channels and output_blocks early.
        self._output_groups = masking.color_groups(filters, color_channels, output_blocks)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError(
                "Expected a known number of input features. "
                f"Received: input_shape={input_shape}"
            )
        self.mask = masking.kernel_mask(
            self.kernel_size,
            masking.color_groups(in_features, self.color_channels),
            self._output_groups,
            self.mask_type,
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_size + (in_features, self.filters),
            initializer=self.kernel_initializer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    @property
    def live_kernel_size(self):
        """`(rows, columns)` of the kernel that `call` computes, from its top left.

        Every mask zeroes the rows below the centre, and in a one-row kernel
        the columns right of it: those taps are not computed. A `3 x 3`
        kernel runs as `2 x 3`, a `7 x 7` as `4 x 7`, a `1 x 3` as `1 x 2`
        (fewer multiply-adds, none of them wasted on zeros).
        """
        kernel_height, kernel_width = self.kernel_size
        return kernel_height // 2 + 1, kernel_width if kernel_height > 1 else kernel_width // 2 + 1

    @property
    def masked_kernel(self):
        """The kernel as used: `[kernel_height, kernel_width, in, filters]`."""
        kernel = ops.convert_to_tensor(self.kernel)
        return kernel * ops.cast(self.mask, kernel.dtype)

    def call(self, inputs):
        if self.kernel_size == (1, 1):
            return pointwise(inputs, [self])
        top, side = self.kernel_size[0] // 2, self.kernel_size[1] // 2
        live_height, live_width = self.live_kernel_size
        kernel = slice_along(self.masked_kernel, 0, 0, live_height)
        kernel = slice_along(kernel, 1, 0, live_width)
        # "Same" padding for the taps that remain.
        padded = tf.pad(inputs, [[0, 0], [top, 0], [side, live_width - side - 1], [0, 0]])
        outputs = tf.nn.conv2d(padded, tf.cast(kernel, inputs.dtype), strides=1, padding="VALID")
        if self.use_bias:
            # A BiasAdd, not a broadcast add: Grappler fuses it into the
            # convolution (one oneDNN op, no second pass over the output), and
            # its gradient is a BiasAddGrad, not a reduction over three axes.
            outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        return outputs

    def initial_cache(self, inputs, width):
        kernel_height, kernel_width = self.kernel_size
        top, side = kernel_height // 2, kernel_width // 2
        # The taps a pixel can see, flat in the order of `step`'s patch: the
        # rows above, then the current row up to the centre. Masked and
        # flattened once per sampling call, not at every step.
        kernel = self.masked_kernel  # [kh, kw, F, filters]
        visible = tf.concat(
            [
                tf.reshape(kernel[:top], [-1, self.filters]),
                tf.reshape(kernel[top, : side + 1], [-1, self.filters]),
            ],
            axis=0,
        )  # [(top kw + side + 1) F, filters]
        cache = {"kernel": tf.cast(visible, self.compute_dtype)}
        if self.use_bias:
            cache["bias"] = tf.cast(self.bias, self.compute_dtype)
        if (kernel_height, kernel_width) != (1, 1):
            batch, features = tf.shape(inputs)[0], inputs.shape[-1]
            # `left` starts as the zero padding left of column 0.
            cache["left"] = tf.zeros([batch, side, features], self.compute_dtype)
            if top:
                padded = width + 2 * side
                cache["above"] = tf.zeros([batch, top, padded, features], self.compute_dtype)
                cache["row"] = tf.zeros([batch, padded, features], self.compute_dtype)
        return cache

    def step(self, cache, inputs, i, j):
        kernel_height, kernel_width = self.kernel_size
        if (kernel_height, kernel_width) == (1, 1):
            patch = inputs  # [B, F]
        else:
            top, side = kernel_height // 2, kernel_width // 2
            batch, features = tf.shape(inputs)[0], inputs.shape[-1]
            # The current row's taps come from `left`, not from `row`: the
            # step only writes `row`, so under XLA the write is in place
            # (a read of `row` here would have XLA copy it at every step).
            current = tf.concat([cache["left"], inputs[:, None]], axis=1)  # [B, side + 1, F]
            patch = tf.reshape(current, [batch, (side + 1) * features])
            cache = dict(cache, left=current[:, 1:])
            if top:
                # Padded column j + side is image column j: the patch starts at j.
                above = tf.slice(cache["above"], [0, 0, j, 0], [batch, top, kernel_width, features])
                patch = tf.concat([tf.reshape(above, [batch, -1]), patch], axis=1)
                cache["row"] = write_at(cache["row"], (j + side,), inputs)
        outputs = tf.matmul(patch, cache["kernel"])  # The convolution at one position.
        if self.use_bias:
            outputs = outputs + cache["bias"]
        return outputs, cache

    def end_row(self, cache, i):
        if "left" not in cache:
            return cache
        cache = dict(cache, left=tf.zeros_like(cache["left"]))
        if "row" in cache:
            # The current row joins the rows above; its columns are all
            # written again in the next row before `above` reads them.
            cache["above"] = tf.concat([cache["above"][:, 1:], cache["row"][:, None]], axis=1)
        return cache

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            mask_type=self.mask_type,
            color_channels=self.color_channels,
            output_blocks=self.output_blocks,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


def pointwise(inputs, convs):
    """`1 x 1` `MaskedConv2D`s of the same inputs, as one matmul.

    A `1 x 1` convolution is a matmul over the pixels. On CPU, oneDNN's
    convolution and its backward filter pass run slower than the matmul at
    this package's feature counts (BENCHMARKS.md, "Training throughput"); and several convolutions of one input (the Diagonal
    BiLSTM's two directions) are one larger matmul.

    Args:
      inputs: `[batch, height, width, in_features]`.
      convs: built `MaskedConv2D` layers with `kernel_size == (1, 1)`.

    Returns:
      `[batch, height, width, filters]`, the convolutions' outputs
      concatenated, `filters` the sum of theirs.
    """
    for conv in convs:
        if conv.kernel_size != (1, 1):
            raise ValueError(
                "Expected 1 x 1 convolutions. "
                f"Received: {conv.name} with kernel_size={conv.kernel_size}"
            )
    filters = sum(conv.filters for conv in convs)
    features = inputs.shape[-1]
    kernel = tf.concat(
        [tf.reshape(tf.cast(conv.masked_kernel, inputs.dtype), [features, -1]) for conv in convs],
        axis=-1,
    )  # [in_features, filters]
    flat = tf.matmul(tf.reshape(inputs, [-1, features]), kernel)
    if any(conv.use_bias for conv in convs):
        bias = tf.concat(
            [
                tf.cast(conv.bias, inputs.dtype) if conv.use_bias
                else tf.zeros([conv.filters], inputs.dtype)
                for conv in convs
            ],
            axis=0,
        )
        flat = tf.nn.bias_add(flat, bias)  # Fused into the matmul.
    return tf.reshape(flat, tf.concat([tf.shape(inputs)[:-1], [filters]], axis=0))
