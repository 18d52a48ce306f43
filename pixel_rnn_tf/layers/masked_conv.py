"""`MaskedConv2D`: a 2-D convolution that cannot see the future (§3.4)."""

import keras
from keras import ops

from pixel_rnn_tf import masking
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
