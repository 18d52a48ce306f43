"""A folder of the user's PNG or JPEG files: the "folder" data set.

Keras's `image_dataset_from_directory` reads them in file name order, each
center-cropped to the model's aspect ratio and resized to its shape. Images
in class subfolders are labelled by the subfolder's index in name order.
"""

import os

import numpy as np
import tensorflow as tf

FOLDER = "folder"
# The files Keras's `image_dataset_from_directory` reads.
_IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
# Keras's `image_dataset_from_directory` color modes, by channels.
_COLOR_MODES = {1: "grayscale", 3: "rgb"}


def class_folders(data_dir):
    """The sorted subfolders of a folder data set (its classes), or [] if none."""
    _check_folder(data_dir)
    return sorted(
        entry.name for entry in os.scandir(data_dir)
        if entry.is_dir() and not entry.name.startswith(".")
    )


def read_images(split_name, data_dir, image_shape):
    """The uint8 images `[num_images, height, width, channels]` of a folder.

    Args:
      split_name: "train", all of the folder's images.
      data_dir: a folder of PNG or JPEG files, or of class subfolders of them.
      image_shape: `(height, width, channels)` to center-crop and resize to.
    """
    del split_name  # A folder has one split.
    return read_folder(data_dir, image_shape)[0]


def read_labels(split_name, data_dir):
    """The int32 labels `[num_images]` of a folder with class subfolders, or None."""
    del split_name  # A folder has one split.
    # Any shape: the labels do not depend on it.
    return read_folder(data_dir, (1, 1, 1))[1]


def read_folder(data_dir, image_shape):
    """The images of a folder, read by Keras, and their labels.

    Args:
      data_dir: a folder of PNG or JPEG files, or of class subfolders of them.
      image_shape: `(height, width, channels)` to center-crop and resize to.

    Returns:
      `(images, labels)`: uint8 images `[num_images, height, width, channels]`
      and int32 labels `[num_images]` (the subfolder's index), or None
      without subfolders.
    """
    import keras  # Imported here: only folders need it.

    classes = class_folders(data_dir)
    labelled = bool(classes)
    if labelled:
        # Keras reads only the class subfolders then: top-level images would
        # be dropped without a word.
        top = sorted(
            entry.name for entry in os.scandir(data_dir)
            if entry.is_file() and entry.name.lower().endswith(_IMAGE_EXTENSIONS)
        )
        if top:
            raise ValueError(
                f"Expected the images of data_dir={os.fspath(data_dir)!r} either all at its "
                f"top level or all in class subfolders, not both. Received: {len(top)} at the "
                f"top level ({', '.join(top[:3])}{', ...' if len(top) > 3 else ''}) and the "
                f"subfolders {classes[:5]}. Move them into a subfolder (a class of their own) "
                "or out of data_dir."
            )
    height, width, channels = image_shape
    try:
        dataset = keras.utils.image_dataset_from_directory(
            data_dir,
            labels="inferred" if labelled else None,
            color_mode=_COLOR_MODES[channels],
            batch_size=None,
            image_size=(height, width),
            shuffle=False,  # File name order: the same images in every split slice.
            # Area resizing averages the pixels a downscaled pixel covers.
            interpolation="area",
            crop_to_aspect_ratio=True,  # The center, not a squashed image.
            verbose=False,
        )
    except ValueError as error:  # Keras's "No images found in directory ...".
        raise ValueError(
            f"Expected PNG or JPEG files in data_dir={os.fspath(data_dir)!r} or in its "
            f"class subfolders for name={FOLDER!r}. {error}"
        ) from None
    images, labels = [], []
    try:
        for element in dataset.as_numpy_iterator():
            image, label = element if labelled else (element, None)
            images.append(image)
            labels.append(label)
    except tf.errors.OpError as error:  # A file TensorFlow cannot decode.
        _raise_undecodable(dataset.file_paths[len(images):], channels, error)
    if not images:
        raise ValueError(
            f"Expected PNG or JPEG files in data_dir={os.fspath(data_dir)!r} or in its "
            f"class subfolders for name={FOLDER!r}; found none."
        )
    # Resizing averages 8-bit values: back to integers before quantizing.
    images = np.clip(np.round(np.stack(images)), 0, 255).astype(np.uint8)
    return images, (np.array(labels, np.int32) if labelled else None)


def _raise_undecodable(paths, channels, error):
    """Raises a `ValueError` naming the first of `paths` that cannot be decoded.

    tf.data's `DecodeImage` error names no file; the files from the one
    that failed on are decoded again, one by one, as Keras decodes them.
    """
    for path in paths:
        try:
            tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        except tf.errors.OpError as file_error:
            reason = file_error.message.splitlines()[0] if file_error.message else "no data"
            raise ValueError(
                f"Expected PNG or JPEG files that decode. Received: {path}, which is "
                f"damaged, truncated or empty ({reason})."
            ) from None
    raise ValueError(f"Could not decode an image of the folder: {error.message}") from None


def _check_folder(data_dir):
    if data_dir is None or not os.path.isdir(data_dir):
        raise ValueError(
            f"Expected `data_dir`, the folder of PNG or JPEG files, for name={FOLDER!r}. "
            f"Received: data_dir={data_dir!r}"
        )
