"""Pure tensor functions of the Diagonal BiLSTM (§3.2): skew, unskew, shifts.

The Diagonal BiLSTM runs its recurrence along the diagonals of an image. The
paper makes that parallel by *skewing* the input map: row `r` is shifted
right by `r` positions, so that each diagonal of the image becomes a column
of the skewed map, and the recurrence then runs column by column. `unskew`
undoes the shift. `shift_down` offsets the right-to-left direction by one
row before it is added to the left-to-right one, so that no pixel sees the
pixels to its right in its own row.

`diagonal_order` lists an image's pixels diagonal by diagonal: the layer
runs each diagonal (a column of the skewed map) on its pixels only.

`slice_along` is the package's one way to slice a tensor that gradients
flow through; `gather_partitions` with its inverse `stitch_partitions` its
way to gather (see their docstrings).

The other functions take `[batch, height, width, channels]` tensors of any dtype,
use a constant number of ops whatever the image size (no Python loop over
rows, so graphs stay small and XLA-compilable), and accept a dynamic batch
size.
"""

import tensorflow as tf

from pixel_rnn_tf.validation import is_int


def _check_rank_4(x, name):
    if x.shape.rank != 4:
        raise ValueError(
            "Expected a rank-4 tensor [batch, height, width, channels]. "
            f"Received: {name}.shape={x.shape}"
        )


def _static_height_width(x, name):
    """Returns the static `(height, width)` of the rank-4 tensor `x`."""
    _check_rank_4(x, name)
    height, width = x.shape[1], x.shape[2]
    if height is None or width is None:
        raise ValueError(
            "Expected a static height and width (the skew's offsets depend on them). "
            f"Received: {name}.shape={x.shape}"
        )
    return height, width


def _dim(x, axis):
    """The static size of `axis` when known, else the dynamic one.

    Static sizes keep the static shape of the results as precise as that of
    the inputs, e.g. the channels when only the batch size is dynamic.
    """
    static = x.shape[axis]
    return static if static is not None else tf.shape(x)[axis]



def slice_along(x, axis, begin, size):
    """`x[..., begin : begin + size, ...]` along `axis`, as a `tf.slice`.

    Code that gradients flow through slices with this, not with Python's
    strided slicing: the gradient of `tf.strided_slice` is a scatter into
    zeros that, on CPU, costs more than the slice's consumer (a Diagonal
    BiLSTM column's matmul, a Gated PixelCNN layer's convolution), where the
    gradient of `tf.slice` is a pad. In the recurrences' loops that dominates
    a training step (BENCHMARKS.md, "Training throughput").

    Args:
      x: a tensor of static rank.
      axis: int, may be negative.
      begin: int or int32 scalar tensor.
      size: int or int32 scalar tensor; -1 for the rest of the axis.

    Returns:
      `x` with `size` elements along `axis`, from `begin`.
    """
    rank = x.shape.rank
    axis %= rank
    return tf.slice(
        x,
        [0] * axis + [begin] + [0] * (rank - axis - 1),
        [-1] * axis + [size] + [-1] * (rank - axis - 1),
    )


def diagonal_rows(d, height, width):
    """The rows `i` of diagonal `d`'s pixels `(i, d - i)` in a `height x width` image, a `range`."""
    return range(max(0, d - width + 1), min(height - 1, d) + 1)


def diagonal_order(height, width, mirrored=False):
    """The pixels of a `height x width` image, diagonal by diagonal.

    Diagonal `d` holds the pixels `(i, d - i)`, `i` ascending: the pixels of
    column `d` of the skewed map (`skew`), without its padding.

    Args:
      height: positive int.
      width: positive int.
      mirrored: bool, the diagonals of the image mirrored left to right
        (`tf.reverse(x, axis=[2])`), as raster indices of the image itself:
        pixel `(i, d - i)` of the mirror is `(i, width - 1 - d + i)`.

    Returns:
      `(indices, lengths)`: the raster indices `i * width + j` of all
      pixels, diagonal `0` first, and the `height + width - 1` diagonals'
      lengths, two lists of ints.
    """
    indices, lengths = [], []
    for d in range(height + width - 1):
        rows = diagonal_rows(d, height, width)
        columns = [width - 1 - d + i if mirrored else d - i for i in rows]
        indices.extend(i * width + j for i, j in zip(rows, columns))
        lengths.append(len(rows))
    return indices, lengths


def gather_partitions(x, indices):
    """`[tf.gather(x, i) for i in indices]`, whose gradient is one `stitch_partitions`.

    For `indices` that together name each slice of `x` along axis 0 exactly
    once: the partitions are then a permutation of `x`, and their gradient
    puts the upstream gradients back in place. `tf.gather`'s own gradient
    would be a scatter (a segment sum) per partition, which for the Diagonal
    BiLSTM's diagonals costs more than the gather it undoes.

    Args:
      x: a tensor `[rows, ...]`.
      indices: int32 tensors of any shapes, together a permutation of
        `range(rows)`.

    Returns:
      One tensor `indices[k].shape + x.shape[1:]` per index tensor.
    """
    indices = list(indices)

    @tf.custom_gradient
    def gather(x):
        def gradient(*upstream):
            return tf.reshape(stitch_partitions(indices, upstream), tf.shape(x))

        return [tf.gather(x, index) for index in indices], gradient

    return gather(x)


def stitch_partitions(indices, partitions):
    """The inverse of `gather_partitions`: `[rows, ...]` from its partitions.

    A `ParallelDynamicStitch`: the indices are a permutation, so the rows can
    be written in parallel; its registered gradient is a gather per
    partition. XLA lowers it to one update per index, slow to compile:
    under XLA the layers' reference paths, which do not use it, compile
    faster.

    Args:
      indices: as in `gather_partitions`.
      partitions: one tensor `indices[k].shape + [...]` per index tensor.

    Returns:
      A tensor `[rows, ...]`, row `indices[k][p]` from `partitions[k][p]`.
    """
    return tf.raw_ops.ParallelDynamicStitch(indices=list(indices), data=list(partitions))


def skew(x):
    """Shifts row `r` right by `r` positions, so that diagonals become columns.

    Pixel `(i, j)` lands at `(i, i + j)`: the diagonal `i + j = d` of the
    image is column `d` of the result. A constant number of ops: each row is
    padded with `height` zeros to length `width + height`, the rows are
    flattened into one sequence and read back as rows of length
    `width + height - 1`. Every row is one element shorter than the padded
    one, so it starts one position earlier in the sequence, i.e. row `r`
    starts `r` zeros of padding before its own pixels.

    Args:
      x: `[batch, height, width, channels]`, any dtype, static height and
        width; the batch size may be dynamic.

    Returns:
      `[batch, height, width + height - 1, channels]`, pixel `(i, j)` at
      `(i, i + j)`, exact zeros elsewhere.

    Raises:
      ValueError: if `x` is not of rank 4 or its height or width is unknown.
    """
    x = tf.convert_to_tensor(x)
    height, width = _static_height_width(x, "x")
    batch, channels = _dim(x, 0), _dim(x, 3)
    skewed_width = width + height - 1
    x = tf.pad(x, [[0, 0], [0, 0], [0, height], [0, 0]])  # [B, H, W + H, C]
    x = tf.reshape(x, [batch, height * (width + height), channels])  # [B, H * (W + H), C]
    # The last `height` elements are zeros that no row of the result reads.
    x = slice_along(x, 1, 0, height * skewed_width)  # [B, H * (W + H - 1), C]
    return tf.reshape(x, [batch, height, skewed_width, channels])  # [B, H, W + H - 1, C]


def unskew(y, width):
    """The inverse of `skew`: row `r` keeps columns `r .. r + width - 1`.

    A constant number of ops, the reshape trick of `skew` run backwards: the
    rows of length `width + height - 1` are flattened, `height` zeros are
    appended and the sequence is read back as rows of length
    `width + height`. Each row is then one element longer than in `y`, so it
    starts one position later, i.e. row `r` starts at its column `r`; its
    first `width` elements are the pixels of that row.

    Args:
      y: `[batch, height, width + height - 1, channels]`, any dtype, static
        height and width; the batch size may be dynamic.
      width: positive int, the width of the unskewed map, with
        `y.shape[2] == width + height - 1`.

    Returns:
      `[batch, height, width, channels]`.

    Raises:
      ValueError: if `y` is not of rank 4, its height or width is unknown,
        or `width` is not a positive int consistent with `y.shape`.
    """
    y = tf.convert_to_tensor(y)
    height, skewed_width = _static_height_width(y, "y")
    if not is_int(width) or width <= 0:
        raise ValueError(f"Expected `width` to be a positive int. Received: width={width!r}")
    if skewed_width != width + height - 1:
        raise ValueError(
            "Expected `width` with y.shape[2] == width + height - 1 "
            f"(here {skewed_width - height + 1}). Received: width={width}, y.shape={y.shape}"
        )
    batch, channels = _dim(y, 0), _dim(y, 3)
    y = tf.reshape(y, [batch, height * skewed_width, channels])  # [B, H * (W + H - 1), C]
    y = tf.pad(y, [[0, 0], [0, height], [0, 0]])  # [B, H * (W + H), C]
    y = tf.reshape(y, [batch, height, width + height, channels])  # [B, H, W + H, C]
    return slice_along(y, 2, 0, width)  # [B, H, W, C]


def _shift(x, amount, axis, name):
    """Shifts `x` by `amount` positions along `axis`, filling in zeros."""
    x = tf.convert_to_tensor(x)
    _check_rank_4(x, "x")
    if not is_int(amount) or amount < 0:
        raise ValueError(
            f"Expected `{name}` to be a non-negative int. Received: {name}={amount!r}"
        )
    if amount == 0:
        return x
    paddings = [[0, 0]] * 4
    paddings[axis] = [amount, 0]
    # `amount` zeros before the axis, e.g. [B, H + rows, W, C] for `shift_down`.
    x_padded = tf.pad(x, paddings)
    # Drop as many positions at the end; an `amount` >= the size leaves only zeros.
    return slice_along(x_padded, axis, 0, _dim(x, axis))  # [B, H, W, C]


def shift_down(x, rows=1):
    """Moves the rows of `x` down: output row `r` is input row `r - rows`.

    The Diagonal BiLSTM shifts its right-to-left output map down by one row
    before adding it to the left-to-right one (§3.2): that direction sees the
    pixels to the right of the current one in its row, which are in the
    future in raster order, but only pixels of rows above it once shifted.

    Args:
      x: `[batch, height, width, channels]`, any dtype.
      rows: non-negative int.

    Returns:
      `[batch, height, width, channels]`, the first `rows` rows zero.

    Raises:
      ValueError: if `x` is not of rank 4 or `rows` not a non-negative int.
    """
    return _shift(x, rows, axis=1, name="rows")


def shift_right(x, cols=1):
    """Moves the columns of `x` right: output column `j` is input column `j - cols`.

    Args:
      x: `[batch, height, width, channels]`, any dtype.
      cols: non-negative int.

    Returns:
      `[batch, height, width, channels]`, the first `cols` columns zero.

    Raises:
      ValueError: if `x` is not of rank 4 or `cols` not a non-negative int.
    """
    return _shift(x, cols, axis=2, name="cols")
