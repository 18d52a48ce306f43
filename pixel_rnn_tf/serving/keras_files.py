"""Loading a trained model from its `.keras` file, saying what is wrong with a bad one.

Keras says "File not found" of any file it cannot open as a zip archive; the
messages here say instead whether the file is empty, truncated or corrupt.
"""

import os
import zipfile

import keras

MODEL_FILENAME = "model.keras"  # What `training.train` writes into its output directory.


def _describe_unloadable(path, thorough=False):
    """What is wrong with a `.keras` file, or None if nothing is seen.

    Without `thorough` only what costs nothing to see (empty, not a zip);
    with it, also every member's checksum and the model's config.
    """
    size = os.path.getsize(path)
    if size == 0:
        return "it is empty (0 bytes)"
    if not zipfile.is_zipfile(path):
        return (
            f"it is not a .keras (zip) archive: truncated or corrupt ({size} bytes). "
            "Was its write interrupted? The files of a run are written whole: "
            "last.keras, best.keras and the run's backup are intact"
        )
    if not thorough:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        return f"its zip archive is corrupt ({error})"
    if broken is not None:
        return f"its zip archive is corrupt (member {broken!r} fails its checksum)"
    if "config.json" not in names:
        return f"it is a zip archive without config.json, not a saved Keras model ({names[:5]})"
    return None


def load_keras_model(path, compile=False):
    """Loads a `PixelModel` from a `.keras` file or a training output directory.

    Args:
      path: a `.keras` file, or a directory holding `model.keras` (what
        `training.train` writes).
      compile: restore the training configuration too.

    Returns:
      The `keras.Model`.

    Raises:
      FileNotFoundError: nothing at `path`, or a directory without model.keras.
      ValueError: the file exists but is not a loadable model; the message
        says what is wrong with it (empty, truncated, corrupt, ...).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, MODEL_FILENAME)
        if not os.path.isfile(candidate):
            raise FileNotFoundError(
                f"Expected `model` to be a .keras file or a directory holding {MODEL_FILENAME}. "
                f"Received: model={path!r} (a directory without {MODEL_FILENAME})"
            )
        path = candidate
    elif not os.path.isfile(path):
        raise FileNotFoundError(
            f"Expected `model` to be an existing path. Received: model={path!r}"
        )
    # Keras says "File not found" of any file it cannot open as a zip archive.
    problem = _describe_unloadable(path)
    if problem:
        raise ValueError(f"Cannot load the model {path}: {problem}.")
    try:
        # Importing this package registered its classes with Keras.
        return keras.saving.load_model(path, compile=compile)
    except Exception as error:  # Keras raises many types for a bad archive.
        problem = _describe_unloadable(path, thorough=True) or f"{type(error).__name__}: {error}"
        raise ValueError(f"Cannot load the model {path}: {problem}.") from error
