"""Pure tensor functions of the Diagonal BiLSTM (§3.2): skew, unskew, shifts."""

import tensorflow as tf


def _static_height_width(x, name):
    if x.shape.rank != 4:
        raise ValueError(
            "Expected a rank-4 tensor [batch, height, width, channels]. "
            f"Received: {name}.shape={x.shape}"
        )
    height, width = x.shape[1], x.shape[2]
    if height is None or width is None:
        raise ValueError(f"Expected a static height and width. Received: {name}.shape={x.shape}")
    return height, width


def skew(x):
    """Shifts row `r` right by `r` positions, so that diagonals become columns.

    A constant number of ops: rows padded to length `W + H`, flattened and
    read back as rows of length `W + H - 1`, start one position later each.

    Args:
      x: `[batch, height, width, channels]`, static height and width.

    Returns:
      `[batch, height, width + height - 1, channels]`: pixel `(i, j)` lands at
      `(i, i + j)`, zeros elsewhere.
    """
    x = tf.convert_to_tensor(x)
    height, width = _static_height_width(x, "x")
    batch, channels = tf.shape(x)[0], tf.shape(x)[3]
    x = tf.pad(x, [[0, 0], [0, 0], [0, height], [0, 0]])  # [B, H, W + H, C]
    x = tf.reshape(x, [batch, height * (width + height), channels])
    x = x[:, : height * (width + height - 1)]  # [B, H * (W + H - 1), C]
    return tf.reshape(x, [batch, height, width + height - 1, channels])


def unskew(y, width):
    """The inverse of `skew`: row `r` keeps columns `r .. r + width - 1`.

    Args:
      y: `[batch, height, width + height - 1, channels]`.
      width: int, the unskewed width.

    Returns:
      `[batch, height, width, channels]`.
    """
    y = tf.convert_to_tensor(y)
    height, skewed_width = _static_height_width(y, "y")
    if not isinstance(width, int) or width <= 0 or skewed_width != width + height - 1:
        raise ValueError(
            "Expected `width` to be a positive int with y.shape[2] == width + height - 1. "
            f"Received: width={width}, y.shape={y.shape}"
        )
    batch, channels = tf.shape(y)[0], tf.shape(y)[3]
    y = tf.reshape(y, [batch, height * skewed_width, channels])
    y = tf.pad(y, [[0, 0], [0, height], [0, 0]])  # [B, H * (W + H), C]
    y = tf.reshape(y, [batch, height, width + height, channels])
    return y[:, :, :width]  # [B, H, W, C]


def _shift(x, amount, axis, name):
    x = tf.convert_to_tensor(x)
    _static_height_width(x, "x")
    if not isinstance(amount, int) or amount < 0:
        raise ValueError(f"Expected `{name}` to be a non-negative int. Received: {name}={amount}")
    paddings = [[0, 0]] * 4
    paddings[axis] = [amount, 0]
    padded = tf.pad(x, paddings)  # `amount` zeros before the axis.
    return tf.slice(padded, [0, 0, 0, 0], tf.shape(x))  # Drop as many at its end.


def shift_down(x, rows=1):
    """Output row `r` is input row `r - rows`; zeros on top.

    Args:
      x: `[batch, height, width, channels]`.
      rows: non-negative int.

    Returns:
      `[batch, height, width, channels]`.
    """
    return _shift(x, rows, axis=1, name="rows")


def shift_right(x, cols=1):
    """Output column `j` is input column `j - cols`; zeros on the left.

    Args:
      x: `[batch, height, width, channels]`.
      cols: non-negative int.

    Returns:
      `[batch, height, width, channels]`.
    """
    return _shift(x, cols, axis=2, name="cols")
