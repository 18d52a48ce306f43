"""SavedModel export for TF Serving.

A served PixelRNN takes raw integer images and needs nothing of this package
at load time: `tf.saved_model.load(path)` (or TF Serving) runs it. Layout on
disk is the one TF Serving watches, `<export_base>/<integer version>/`.

`export_saved_model` writes one SavedModel of an `ExportModule` (its
signatures: `signatures`); `export_versioned` writes one as a new version
folder, whole or not at all (`versioning`); `load_keras_model` reads the
trained model to export (`keras_files`).
"""

import os

import tensorflow as tf

from pixel_rnn_tf import files
from pixel_rnn_tf.serving.keras_files import MODEL_FILENAME
from pixel_rnn_tf.serving.keras_files import load_keras_model
from pixel_rnn_tf.serving.signatures import COMPLETE
from pixel_rnn_tf.serving.signatures import DEFAULT_MAX_SAMPLES
from pixel_rnn_tf.serving.signatures import LOG_PROB
from pixel_rnn_tf.serving.signatures import METADATA
from pixel_rnn_tf.serving.signatures import SAMPLE
from pixel_rnn_tf.serving.signatures import SERVING_DEFAULT
from pixel_rnn_tf.serving.signatures import SIGNATURES
from pixel_rnn_tf.serving.signatures import ExportModule
from pixel_rnn_tf.serving.versioning import TEMP_PREFIX
from pixel_rnn_tf.serving.versioning import claim_next_version
from pixel_rnn_tf.serving.versioning import next_version
from pixel_rnn_tf.serving.versioning import versions
from pixel_rnn_tf.validation import check_int

__all__ = [
    "COMPLETE",
    "DEFAULT_MAX_SAMPLES",
    "ExportModule",
    "LOG_PROB",
    "METADATA",
    "MODEL_FILENAME",
    "SAMPLE",
    "SERVING_DEFAULT",
    "SIGNATURES",
    "TEMP_PREFIX",
    "export_saved_model",
    "export_versioned",
    "load_keras_model",
    "next_version",
    "versions",
]


def export_saved_model(
    model, export_dir, max_samples=DEFAULT_MAX_SAMPLES, sampling_jit_compile=False
):
    """Writes `model` as a SavedModel with the serving signatures at `export_dir`.

    Args:
      model: a built `PixelModel`.
      export_dir: the SavedModel directory itself (for TF Serving, use
        `export_versioned`, which writes a version directory whole).
      max_samples: the most images a `sample` or `complete` request may draw.
      sampling_jit_compile: compile the sampler's row loop with XLA (see the
        `signatures` module).

    Returns:
      `export_dir`.
    """
    module = ExportModule(
        model, max_samples=max_samples, sampling_jit_compile=sampling_jit_compile
    )
    tf.saved_model.save(module, export_dir, signatures=module.signatures())
    return export_dir



def export_versioned(
    model,
    export_base,
    version=None,
    overwrite=False,
    max_samples=DEFAULT_MAX_SAMPLES,
    sampling_jit_compile=False,
):
    """Writes `model` to `<export_base>/<version>/`, the layout TF Serving watches.

    The SavedModel is written whole into a temporary directory beside the
    versions (named `.tmp-export-*`, which TF Serving ignores: it loads only
    all-digit names) and then renamed onto the version's name, which must
    not exist yet (`files.rename_no_replace`). So a server never sees half a
    model, an export killed midway leaves no version directory, and two
    concurrent exports never take the same version: with `version=None` the
    later one takes the next free number, with an explicit version it fails.
    The version directory gets the permissions of a plain `mkdir` (the
    umask), so a TF Serving running as another user can read it.

    Leftovers of killed exports (temporary directories whose lock no live
    process holds) are deleted at the start of every export.

    Args:
      model: a built `PixelModel`.
      export_base: the model's base path (TF Serving's `base_path`).
      version: a non-negative int; `None` for the next free one.
      overwrite: replace an existing version. The new one is swapped in
        atomically where the system allows (Linux `renameat2`), so the
        version never goes missing. TF Serving does not reload a version
        number it already serves; prefer a new version.
      max_samples: the most images a `sample` or `complete` request may draw.
      sampling_jit_compile: compile the sampler's row loop with XLA (see the
        `signatures` module).

    Returns:
      The path of the version directory written.

    Raises:
      FileExistsError: the version exists (or another export took it
        meanwhile) and `overwrite` is False; it is left untouched.
      files.UnusableDirectoryError: `export_base` is a file or cannot be
        written; raised before the (slow) export.
      FloatingPointError: the model has non-finite weights.
    """
    if version is not None:
        check_int("version", version, 0)
    export_base = os.fspath(export_base)
    path = None if version is None else os.path.join(export_base, str(int(version)))
    if path is not None and os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"Version {version} exists at {path}. Pass overwrite=True to replace it, "
            f"or export as version {next_version(export_base)}."
        )
    files.ensure_writable_directory(export_base, "export_base")
    files.remove_stale_temporary_directories(export_base, TEMP_PREFIX)
    with files.locked_temporary_directory(export_base, TEMP_PREFIX) as workspace:
        # A plain mkdir (mode 0777 & ~umask), not the workspace's 0700, which
        # the rename would keep: TF Serving may run as another user.
        saved_model = os.path.join(workspace, "saved_model")
        os.mkdir(saved_model)
        export_saved_model(
            model, saved_model, max_samples=max_samples, sampling_jit_compile=sampling_jit_compile
        )
        if path is None:
            return claim_next_version(saved_model, export_base)
        try:
            files.rename_no_replace(saved_model, path)
        except FileExistsError:
            if not overwrite:
                raise FileExistsError(
                    f"Version {version} appeared at {path} during the export (a concurrent "
                    f"export?); it was left untouched. Export as version "
                    f"{next_version(export_base)}, or pass overwrite=True."
                ) from None
            if not files.exchange(saved_model, path):
                # No atomic swap on this system: the version is missing
                # between these two renames.
                os.rename(path, os.path.join(workspace, "replaced"))
                os.rename(saved_model, path)
            # After the swap the workspace holds the replaced version, deleted with it.
    return path
