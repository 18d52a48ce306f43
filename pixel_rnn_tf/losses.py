"""`CategoricalNLL`: the training loss, negative log-likelihood in nats per image."""

import keras

from pixel_rnn_tf import head
from pixel_rnn_tf.registry import register_serializable


@register_serializable
class CategoricalNLL(keras.losses.Loss):
    """Negative log-likelihood of images under the model's logits, in nats.

    Use as `model.compile(optimizer, loss=CategoricalNLL())` and
    `model.fit(images, images)`: the images are both the input and the target.

    Call arguments:
      y_true: int images `[batch, height, width, channels]`.
      y_pred: logits `[batch, height, width, channels, num_levels]`.

    Returns:
      nats per image `[batch]`, reduced as the `reduction` argument says
      (by default the mean over the batch).
    """

    def __init__(self, name="categorical_nll", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return -head.log_prob(y_pred, y_true)
