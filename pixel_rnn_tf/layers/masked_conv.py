"""`MaskedConv2D`: a 2-D convolution that cannot see the future (§3.4)."""

import keras
import tensorflow as tf
from keras import ops

from pixel_rnn_tf import masking
from pixel_rnn_tf.layers.stepping import write_at
from pixel_rnn_tf.registry import register_serializable


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
    the `kernel_height // 2` rows above the current one and the current row
    so far, in a ring of `kernel_height // 2 + 1` rows (row `r` in slot
    `r % (kernel_height // 2 + 1)`), each zero-padded by `kernel_width // 2`
    columns as "same" padding pads it. The output at `(i, j)` is the
    kernel's rows down to the centre applied to the window's patch at
    column `j`: the masked taps (the rest of the current row) read stale or
    zero values and weigh them by zero.
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
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"Expected `filters` to be a positive int. Received: filters={filters}")
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
    def masked_kernel(self):
        """The kernel as used: `[kernel_height, kernel_width, in, filters]`."""
        kernel = ops.convert_to_tensor(self.kernel)
        return kernel * ops.cast(self.mask, kernel.dtype)

    def call(self, inputs):
        outputs = ops.conv(inputs, self.masked_kernel, strides=1, padding="same")
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs

    def initial_cache(self, inputs, width):
        kernel_height, kernel_width = self.kernel_size
        if (kernel_height, kernel_width) == (1, 1):
            return ()
        batch, features = tf.shape(inputs)[0], inputs.shape[-1]
        rows, padded = kernel_height // 2 + 1, width + 2 * (kernel_width // 2)
        return tf.zeros([batch, rows, padded, features], self.compute_dtype)

    def step(self, cache, inputs, i, j):
        kernel_height, kernel_width = self.kernel_size
        if (kernel_height, kernel_width) == (1, 1):
            return self(inputs[:, None, None, :])[:, 0, 0, :], cache
        rows = kernel_height // 2 + 1
        cache = write_at(cache, (i % rows, j + kernel_width // 2), inputs)
        window = tf.gather(cache, (i + 1 + tf.range(rows)) % rows, axis=1)  # Oldest row first.
        batch = tf.shape(inputs)[0]
        patch = tf.slice(window, [0, 0, j, 0], [batch, rows, kernel_width, inputs.shape[-1]])
        kernel = self.masked_kernel[:rows]  # [rows, kw, F, filters]: the rows below see nothing.
        outputs = tf.matmul(
            tf.reshape(patch, [batch, -1]),
            tf.cast(tf.reshape(kernel, [-1, self.filters]), patch.dtype),
        )  # The convolution at one position: [B, filters].
        if self.use_bias:
            outputs = outputs + tf.cast(self.bias, outputs.dtype)
        return outputs, cache

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
