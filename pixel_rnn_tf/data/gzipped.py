"""Files that may be gzip'ed: finding one and reading its bytes.

The MNIST IDX files and the binarized MNIST `.amat` files are distributed
gzip'ed and often kept unpacked; either is read, the gzip'ed one first.
"""

import gzip
import zlib

import tensorflow as tf


def find(stem):
    """`stem + ".gz"` or `stem`, whichever exists first, or None if neither does."""
    return next((path for path in (stem + ".gz", stem) if tf.io.gfile.exists(path)), None)


def read_bytes(path, what):
    """The bytes of `path`, gunzipped when its name ends in ".gz".

    Args:
      path: a file path (str).
      what: what the file is, for the message, e.g. "IDX file".

    Raises:
      ValueError: naming the file, where it cannot be read or is not whole
        gzip data (gzip raises `OSError`, `EOFError` or `zlib.error` for a
        damaged or truncated file).
    """
    try:
        with tf.io.gfile.GFile(path, "rb") as file:
            content = file.read()
        return gzip.decompress(content) if path.endswith(".gz") else content
    except (OSError, EOFError, zlib.error, tf.errors.OpError) as error:
        kind = "gzip data" if path.endswith(".gz") else "data"
        raise ValueError(
            f"Could not read the {what} {path}: its {kind} is damaged or truncated ({error})"
        ) from None
