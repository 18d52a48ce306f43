"""Integer image data sets: scikit-learn's digits, MNIST IDX files, tfds and folders.

Every data set is returned as int32 images `[height, width, channels]` with
values in `[0, num_levels)`. 8-bit values `x` are quantized to
`floor(x * num_levels / 256)`; with two levels they are binarized instead,
either by the fixed threshold `x >= 128` or by a Bernoulli draw with
probability `x / 255`. The draw is a function of `seed` and of each image's
position, never of a global random state, so it is the same on every call and
in every epoch: a test likelihood is always measured on the same data.

Splits use tfds's slicing syntax for every data set: `"train"`,
`"test[:8000]"`, `"test[8000:]"`, `"train[10%:]"`, `"train[:50%]"`.

tfds data sets are downloaded only when asked (`download=True`, `--download`
in the commands). The paper's binarized MNIST ("binarized_mnist") is read from
its distributed `.amat` files where `data_dir` holds them, and from tfds
otherwise. A folder of PNG or JPEG files ("folder") is read by Keras's
`image_dataset_from_directory`, each image center-cropped to the model's
aspect ratio and resized to its shape, then quantized as above.

Modules: `registry` (one entry per data set), `loading` (`load`,
`load_labels`), `splits`, `quantization`, and the readers `digits`, `idx`,
`amat`, `folders` and `tfds`.
"""

from pixel_rnn_tf.data.amat import amat_path
from pixel_rnn_tf.data.amat import read_amat
from pixel_rnn_tf.data.idx import read_idx_images
from pixel_rnn_tf.data.idx import read_idx_labels
from pixel_rnn_tf.data.loading import load
from pixel_rnn_tf.data.loading import load_labels
from pixel_rnn_tf.data.quantization import BINARIZATIONS
from pixel_rnn_tf.data.quantization import binarize_images
from pixel_rnn_tf.data.quantization import quantize
from pixel_rnn_tf.data.registry import FOLDER
from pixel_rnn_tf.data.registry import image_shape
from pixel_rnn_tf.data.registry import names
from pixel_rnn_tf.data.registry import num_classes
from pixel_rnn_tf.data.splits import parse_split
from pixel_rnn_tf.data.tfds import NotPreparedError

__all__ = [
    "BINARIZATIONS",
    "FOLDER",
    "NotPreparedError",
    "amat_path",
    "binarize_images",
    "image_shape",
    "load",
    "load_labels",
    "names",
    "num_classes",
    "parse_split",
    "quantize",
    "read_amat",
    "read_idx_images",
    "read_idx_labels",
]
