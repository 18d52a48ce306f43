"""`MultiScalePixelModel`: the Multi-Scale PixelRNN (§3.5)."""

import numpy as np
import tensorflow as tf

from pixel_rnn_tf.configs import MultiScaleConfig
from pixel_rnn_tf.models.base import ConfiguredModel
from pixel_rnn_tf.models.base import cast_symbolic
from pixel_rnn_tf.models.base import checked_images
from pixel_rnn_tf.models.batches import from_dict
from pixel_rnn_tf.models.pixel_model import PixelModel
from pixel_rnn_tf.registry import register_serializable


@register_serializable
class MultiScalePixelModel(ConfiguredModel):
    """The Multi-Scale PixelRNN (§3.5): the small image first, then the rest.

    With factor `f`, the small image is `images[:, ::f, ::f]`. Its logits
    are the `small` network's (a `PixelModel` of the small image); the other
    positions' are the `large` network's (a `PixelModel` of the whole image)
    conditioned, as a map, on the whole small image. So the order is: the
    subsampled positions in the small image's raster order, then every
    other position in raster order; R, G, B inside a pixel. The large
    network sees subsampled pixels that come *later* in raster order.

    Call arguments:
      inputs: integer images `[batch, height, width, channels]` in
        `[0, num_levels)`.

    Returns:
      float32 logits `[batch, height, width, channels, num_levels]`, exact
      and normalized conditionals in the order above.
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = MultiScaleConfig.from_dict(config)
        if not isinstance(config, MultiScaleConfig):
            raise ValueError(
                f"Expected `config` to be a MultiScaleConfig. Received: config={config!r}"
            )
        self.config = config
        self.small = PixelModel(config.small, name="small", dtype=self.dtype_policy)
        self.large = PixelModel(config.large_network, name="large", dtype=self.dtype_policy)
        height, width, _ = config.image_shape
        rows, cols = np.arange(height) % config.factor == 0, np.arange(width) % config.factor == 0
        self._subsampled = rows[:, None] & cols[None, :]  # [H, W]

    conditional = False

    def build(self, input_shape=None):
        if self.built:
            return
        self.small.build()
        self.large.build()
        self.built = True

    def split_inputs(self, inputs):
        inputs = cast_symbolic(from_dict(inputs))
        if isinstance(inputs, (tuple, list)):
            raise ValueError(
                "The multi-scale model conditions on its own small image and takes images "
                f"alone. Received: a {type(inputs).__name__} of {len(inputs)}"
            )
        return checked_images(self.config, inputs), None

    def scale(self, images):
        return self.large.scale(images)

    def call(self, inputs):
        images, _ = self.split_inputs(inputs)
        return self._logits_of_any_batch(
            (images,), lambda images: self.logits_from_scaled(self.scale(images))
        )

    def subsample(self, images):
        """The small image `images[:, ::f, ::f]` of `[batch, H, W, ...]`."""
        factor = self.config.factor
        return images[:, ::factor, ::factor]

    def spread(self, small):
        """The inverse of `subsample`: `[batch, h, w, ...]` -> `[batch, H, W, ...]`, zeros between."""
        factor = self.config.factor
        x = tf.expand_dims(tf.expand_dims(small, 2), 4)  # [B, h, 1, w, 1, ...]
        paddings = [[0, 0], [0, 0], [0, factor - 1], [0, 0], [0, factor - 1]]
        x = tf.pad(x, paddings + [[0, 0]] * (x.shape.rank - 5))  # [B, h, f, w, f, ...]
        shape = tf.concat([tf.shape(x)[:1], self.config.image_shape[:2], tf.shape(x)[5:]], 0)
        return tf.reshape(x, shape)

    def subsampled_mask(self, rank):
        """bool `[1, H, W, 1, ...]` of rank `rank`: True at the subsampled positions."""
        return tf.reshape(self._subsampled, (1,) + self._subsampled.shape + (1,) * (rank - 3))

    def logits_from_scaled(self, scaled, condition=None):
        small = self.subsample(scaled)
        small_logits = self.small.logits_from_scaled(small)  # [B, h, w, C, L]
        large_logits = self.large.logits_from_scaled(scaled, small)  # [B, H, W, C, L]
        return tf.where(self.subsampled_mask(5), self.spread(small_logits), large_logits)

    def fill_in_order(self, fill, images, known, condition):
        """The small image with the small network, then the rest with the large one."""
        small = fill(self.small, self.subsample(images), self.subsample(known), None, 0)
        mask = self.subsampled_mask(4)
        images = tf.where(mask, self.spread(small), images)
        known = tf.logical_or(known, mask)
        return fill(self.large, images, known, self.small.scale(small), 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.config.image_shape + (self.config.num_levels,)
