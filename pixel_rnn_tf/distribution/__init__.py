"""PixelRNN likelihoods as composable `tfp.distributions.Distribution`s.

* `PixelRNN`: the exact discrete distribution of images defined by a
  `PixelModel` (§2), optionally conditional (on labels, a vector or a map:
  `conditioning`).
* `Dequantized`: its uniformly dequantized continuous density (§5.1), the
  quantity to compare with continuous models.

Both follow tfp's conventions (`parameters`, batch and event shapes,
stateless `seed`s), so they compose with `tfd.Sample`, `tfd.Mixture`,
`tfd.Independent`, joint distributions and `tfd.TransformedDistribution`,
eagerly and under `tf.function`.
"""

from pixel_rnn_tf.distribution.dequantized import Dequantized
from pixel_rnn_tf.distribution.pixel_rnn import PixelRNN

__all__ = ["Dequantized", "PixelRNN"]
