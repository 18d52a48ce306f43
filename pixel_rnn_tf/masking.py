"""The one builder of autoregressive kernel masks (paper §3.4).

Feature maps are split into color groups tied to R, G and B (one group for
one-channel images). A kernel mask zeroes every weight that would let an
output see a later pixel, or, at the current pixel, a later color group:

* mask **A** (first layer only): an output of group `g` sees the inputs of
  groups strictly before `g` at the current pixel;
* mask **B** (all later layers): it also sees its own group `g`.

Every pixel before the current one in raster order is visible to all groups.
"""

import numpy as np

MASK_TYPES = ("A", "B")


def color_groups(num_features, color_channels, num_blocks=1):
    """Assigns each of `num_features` features to a color group.

    Features are split into `num_blocks` equal blocks (for example the four
    LSTM gates) and, inside each block, into contiguous per-color runs of
    (nearly) equal size: feature `k` of a block of size `n` belongs to group
    `k * color_channels // n`. This makes `[..., channels * levels]` logits,
    read as `[..., channels, levels]`, belong to their own channel's group.

    Args:
      num_features: int, the number of features.
      color_channels: int, 1 or 3.
      num_blocks: int dividing `num_features`.

    Returns:
      int numpy array `[num_features]` of group ids in `[0, color_channels)`.
    """
    if color_channels not in (1, 3):
        raise ValueError(
            "Expected `color_channels` to be 1 or 3. "
            f"Received: color_channels={color_channels}"
        )
    if num_blocks < 1 or num_features % num_blocks:
        raise ValueError(
            "Expected `num_blocks` to be a positive divisor of `num_features`. "
            f"Received: num_blocks={num_blocks}, num_features={num_features}"
        )
    block_size = num_features // num_blocks
    groups = np.arange(block_size) * color_channels // block_size
    return np.tile(groups, num_blocks)


def normalize_kernel_size(kernel_size, name="kernel_size"):
    """Returns `kernel_size` as a pair of positive odd ints."""
    pair = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if len(pair) != 2 or not all(
        isinstance(k, (int, np.integer)) and k > 0 and k % 2 == 1 for k in pair
    ):
        raise ValueError(
            f"Expected `{name}` to be a positive odd int or a pair of them "
            f"(the mask is centred on the current pixel). Received: {name}={kernel_size}"
        )
    return tuple(int(k) for k in pair)


def kernel_mask(kernel_size, input_groups, output_groups, mask_type):
    """Builds the mask of a convolution kernel.

    Args:
      kernel_size: odd int or pair `(kernel_height, kernel_width)`.
      input_groups: int array `[in_features]`, the color group of each input.
      output_groups: int array `[out_features]`, the color group of each output.
      mask_type: "A" or "B".

    Returns:
      float32 numpy array `[kernel_height, kernel_width, in_features,
      out_features]` of zeros and ones.
    """
    if mask_type not in MASK_TYPES:
        raise ValueError(
            f"Expected `mask_type` to be one of {MASK_TYPES}. Received: mask_type={mask_type!r}"
        )
    kernel_height, kernel_width = normalize_kernel_size(kernel_size)
    input_groups = np.asarray(input_groups)
    output_groups = np.asarray(output_groups)
    mask = np.zeros(
        (kernel_height, kernel_width, input_groups.size, output_groups.size), np.float32
    )
    center_row, center_col = kernel_height // 2, kernel_width // 2
    mask[:center_row] = 1.0  # Rows above: every group.
    mask[center_row, :center_col] = 1.0  # Left of the pixel in its row.
    if mask_type == "A":
        visible = input_groups[:, None] < output_groups[None, :]
    else:
        visible = input_groups[:, None] <= output_groups[None, :]
    mask[center_row, center_col] = visible
    return mask
