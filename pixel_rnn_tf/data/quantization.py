"""8-bit values to `num_levels` levels: quantization and binarization.

Quantization maps an 8-bit value `x` to `floor(x * num_levels / 256)`. With
two levels images are binarized instead, either by the fixed threshold
`x >= 128` or by a Bernoulli draw with probability `x / 255`. The draw is a
function of `seed` (and, for tfds data sets, of each image's position),
never of a global random state, so it is the same on every call and in every
epoch: a test likelihood is always measured on the same data.
"""

import numpy as np

from pixel_rnn_tf.validation import check_int
from pixel_rnn_tf.validation import check_num_levels

BINARIZATIONS = ("threshold", "bernoulli")
# The "threshold" binarization: an 8-bit value x is 1 where x >= 128.
THRESHOLD = 128


def quantize(images, num_levels):
    """Quantizes 8-bit images to `num_levels` levels: `floor(x * num_levels / 256)`.

    Args:
      images: integer array of any shape with values in `[0, 256)`.
      num_levels: int in `[2, 256]`.

    Returns:
      An int32 array of the same shape with values in `[0, num_levels)`.
    """
    check_num_levels(num_levels)
    images = _check_8bit(images)
    return levels(images.astype(np.int32), num_levels)


def binarize_images(images, method="threshold", seed=0):
    """Binarizes 8-bit images.

    Args:
      images: integer array `[num_images, ...]` with values in `[0, 256)`.
      method: "threshold" for the fixed `x >= 128`, or "bernoulli" for a draw
        with probability `x / 255`.
      seed: non-negative int seeding the Bernoulli draw: the same seed and
        images give the same result.

    Returns:
      An int32 array of the same shape with values in `{0, 1}`.
    """
    check_binarize(method)
    check_int("seed", seed, 0)
    images = _check_8bit(images)
    if method == "threshold":
        return (images >= THRESHOLD).astype(np.int32)
    # A uniform integer u in [0, 255) is below x with probability exactly x / 255.
    uniform = np.random.default_rng(seed).integers(0, 255, images.shape, dtype=np.uint8)
    return (uniform < images).astype(np.int32)


def levels(images, num_levels):
    """`floor(x * num_levels / 256)` of int32 8-bit values, a numpy array or a tensor.

    Args:
      images: int32 values in `[0, 256)`, any shape; not checked.
      num_levels: int in `[2, 256]`.

    Returns:
      int32 values in `[0, num_levels)`, the shape of `images`.
    """
    return images * num_levels // 256


def check_binarize(binarize):
    """Checks `binarize` is one of `BINARIZATIONS`."""
    if binarize not in BINARIZATIONS:
        raise ValueError(
            f"Expected `binarize` to be one of {list(BINARIZATIONS)}. "
            f"Received: binarize={binarize!r}"
        )


def _check_8bit(images):
    """`images` as a numpy array, checked to be integers in `[0, 256)`."""
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.integer):
        raise ValueError(f"Expected integer 8-bit images. Received: images of dtype {images.dtype}")
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(
            "Expected 8-bit images with values in [0, 256). Received: values in "
            f"[{images.min()}, {images.max()}]"
        )
    return images
