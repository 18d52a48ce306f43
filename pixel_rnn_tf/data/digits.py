"""scikit-learn's bundled 8x8 digits: the "digits" data set.

Its 1,797 images have no split: the first 1,500 are "train", the other 297
"test".
"""

import numpy as np

IMAGE_SHAPE = (8, 8, 1)
_NUM_TRAIN = 1500


def read_images(split_name, data_dir=None, image_shape=IMAGE_SHAPE):
    """The uint8 digits `[num_images, 8, 8]` of a split, values in `[0, 256)`."""
    del data_dir, image_shape  # Bundled with scikit-learn, always 8x8.
    from sklearn.datasets import load_digits  # Imported here: only this data set needs it.

    images = load_digits().images  # [1797, 8, 8], values 0..16.
    return _split(np.round(images * 255.0 / 16.0).astype(np.uint8), split_name)


def read_labels(split_name, data_dir=None):
    """The int labels `[num_images]` of a split, values in `[0, 10)`."""
    del data_dir  # Bundled with scikit-learn.
    from sklearn.datasets import load_digits

    return _split(load_digits().target, split_name)


def _split(values, split_name):
    return values[:_NUM_TRAIN] if split_name == "train" else values[_NUM_TRAIN:]
