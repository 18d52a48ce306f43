"""pixel_rnn_tf: Pixel Recurrent Neural Networks in TensorFlow 2 and Keras 3.

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016 (arXiv:1601.06759).
"""

# Before anything imports TensorFlow, which reads its log level once: Python
# imports this package before any command module (`pixel-rnn-train`,
# `python -m pixel_rnn_tf.cli.train`, ...). In any other process it returns
# at once, touching nothing; the library never imports `pixel_rnn_tf.cli`.
from pixel_rnn_tf import _quiet

_quiet.quiet_tensorflow_import()

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import compression
from pixel_rnn_tf import configs
from pixel_rnn_tf import data
from pixel_rnn_tf import distribution
from pixel_rnn_tf import evaluation
from pixel_rnn_tf import head
from pixel_rnn_tf import layers
from pixel_rnn_tf import losses
from pixel_rnn_tf import masking
from pixel_rnn_tf import metrics
from pixel_rnn_tf import ops
from pixel_rnn_tf import pretrained
from pixel_rnn_tf import sampling
from pixel_rnn_tf import serving
from pixel_rnn_tf import training
from pixel_rnn_tf import visualize
from pixel_rnn_tf.configs import ModelConfig
from pixel_rnn_tf.configs import MultiScaleConfig
from pixel_rnn_tf.distribution import Dequantized
from pixel_rnn_tf.distribution import PixelRNN
from pixel_rnn_tf.evaluation import evaluate
from pixel_rnn_tf.losses import CategoricalNLL
from pixel_rnn_tf.metrics import BitsPerDim
from pixel_rnn_tf.metrics import NatsPerImage
from pixel_rnn_tf.models import MultiScalePixelModel
from pixel_rnn_tf.models import PixelModel
from pixel_rnn_tf.models import build_model

__version__ = "0.1.0"
