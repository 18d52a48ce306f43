"""The package's models: `PixelModel`, `MultiScalePixelModel` and `build_model`.

`batches` brings every batch layout Keras users write to one,
`keras_loop` adapts Keras's `fit`/`evaluate` loop, `base` holds what every
model shares, and each model has its module.
"""

from pixel_rnn_tf import configs
from pixel_rnn_tf.configs import MultiScaleConfig
from pixel_rnn_tf.models.batches import CONDITION_KEY
from pixel_rnn_tf.models.batches import IMAGES_KEY
from pixel_rnn_tf.models.batches import model_batch
from pixel_rnn_tf.models.multiscale import MultiScalePixelModel
from pixel_rnn_tf.models.pixel_model import PixelModel


def build_model(config, name=None):
    """Builds the network of `config`.

    Args:
      config: a `ModelConfig`, a `MultiScaleConfig`, a dict of either's
        fields, or a preset name.
      name: the model's name; default `pixel_model_<arch>`.

    Returns:
      A built `PixelModel` or `MultiScalePixelModel` (a `keras.Model`).
    """
    config = configs.normalize(config)
    model_class = MultiScalePixelModel if isinstance(config, MultiScaleConfig) else PixelModel
    model = model_class(config, name=name or f"pixel_model_{config.arch}")
    model.build()
    return model
