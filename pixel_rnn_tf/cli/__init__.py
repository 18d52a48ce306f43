"""The commands of pixel_rnn_tf: absl mains, one module each.

  pixel-rnn-train       python -m pixel_rnn_tf.cli.train       train, report NLL, sample, export
  pixel-rnn-sample      python -m pixel_rnn_tf.cli.sample      samples and completions as PNG
  pixel-rnn-evaluate    python -m pixel_rnn_tf.cli.evaluate    NLL of a saved model on a data set
  pixel-rnn-export      python -m pixel_rnn_tf.cli.export      a versioned SavedModel for TF Serving
  pixel-rnn-compress    python -m pixel_rnn_tf.cli.compress    PNG files into one file
  pixel-rnn-decompress  python -m pixel_rnn_tf.cli.decompress  that file back into PNG files

Flags live only in these modules; each calls a library function that takes
plain arguments. A module here is a command, a module of `pixel_rnn_tf` a
library, so importing a command never shadows a library name (such as the
function `pixel_rnn_tf.evaluate`). What several commands share (the
`--model`/`--pretrained` pair, `--condition` files, usage errors) is in
`common`. The library never imports this package; the commands' quiet
TensorFlow import is `pixel_rnn_tf._quiet`'s.
"""

from pixel_rnn_tf._quiet import COMMANDS
from pixel_rnn_tf._quiet import quiet_tensorflow_import
from pixel_rnn_tf._quiet import started_command
from pixel_rnn_tf._quiet import verbosity
