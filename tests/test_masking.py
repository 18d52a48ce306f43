"""Tests of the one mask builder (§3.4)."""

import numpy as np
import pytest

from pixel_rnn_tf import masking


def _center(mask):
    kh, kw = mask.shape[:2]
    return mask[kh // 2, kw // 2]


def test_color_groups_contiguous_blocks():
    np.testing.assert_array_equal(masking.color_groups(6, 3), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(masking.color_groups(4, 1), [0, 0, 0, 0])
    # Unequal sizes still make contiguous runs.
    np.testing.assert_array_equal(masking.color_groups(4, 3), [0, 0, 1, 2])
    # Gate blocks: each block split into colors.
    np.testing.assert_array_equal(
        masking.color_groups(12, 3, num_blocks=4), [0, 1, 2] * 4
    )
    # channels * levels logits read as [channels, levels].
    np.testing.assert_array_equal(
        masking.color_groups(3 * 4, 3), np.repeat([0, 1, 2], 4)
    )


def test_3x3_mask_a_three_groups_written_out():
    groups = np.arange(3)
    mask = masking.kernel_mask(3, groups, groups, "A")
    assert mask.shape == (3, 3, 3, 3)
    ones = np.ones((3, 3))
    zeros = np.zeros((3, 3))
    # Rows above: every input to every output.
    for j in range(3):
        np.testing.assert_array_equal(mask[0, j], ones)
    # Left neighbour: everything; right neighbour: nothing.
    np.testing.assert_array_equal(mask[1, 0], ones)
    np.testing.assert_array_equal(mask[1, 2], zeros)
    for j in range(3):
        np.testing.assert_array_equal(mask[2, j], zeros)
    # Centre, [input, output]: R sees nothing, G sees R, B sees R and G.
    np.testing.assert_array_equal(
        mask[1, 1], [[0, 1, 1],
                     [0, 0, 1],
                     [0, 0, 0]]
    )


def test_3x3_mask_b_three_groups_written_out():
    groups = np.arange(3)
    mask = masking.kernel_mask(3, groups, groups, "B")
    np.testing.assert_array_equal(mask[0], np.ones((3, 3, 3)))
    np.testing.assert_array_equal(mask[1, 0], np.ones((3, 3)))
    np.testing.assert_array_equal(mask[1, 2], np.zeros((3, 3)))
    np.testing.assert_array_equal(mask[2], np.zeros((3, 3, 3)))
    np.testing.assert_array_equal(
        mask[1, 1], [[1, 1, 1],
                     [0, 1, 1],
                     [0, 0, 1]]
    )


def test_1x3_row_mask():
    mask = masking.kernel_mask((1, 3), [0], [0], "B")
    np.testing.assert_array_equal(mask[..., 0, 0], [[1, 1, 0]])
    mask = masking.kernel_mask((1, 3), [0], [0], "A")
    np.testing.assert_array_equal(mask[..., 0, 0], [[1, 0, 0]])


def test_3x1_column_mask():
    mask = masking.kernel_mask((3, 1), [0], [0], "B")
    np.testing.assert_array_equal(mask[..., 0, 0], [[1], [1], [0]])


def test_7x7_one_channel():
    mask_a = masking.kernel_mask(7, [0], [0], "A")[..., 0, 0]
    mask_b = masking.kernel_mask(7, [0], [0], "B")[..., 0, 0]
    expected = np.zeros((7, 7))
    expected[:3] = 1
    expected[3, :3] = 1
    np.testing.assert_array_equal(mask_a, expected)
    expected[3, 3] = 1
    np.testing.assert_array_equal(mask_b, expected)
    assert mask_a.sum() == 24


def test_hidden_features_mask_follows_groups():
    in_groups = masking.color_groups(6, 3)
    out_groups = masking.color_groups(3 * 2, 3)
    center = _center(masking.kernel_mask(3, in_groups, out_groups, "B"))
    for i, gi in enumerate(in_groups):
        for o, go in enumerate(out_groups):
            assert center[i, o] == (gi <= go)


@pytest.mark.parametrize("kernel_size", [0, 2, -1, (3, 2), (1, 4), "3"])
def test_even_or_non_positive_kernel_size_rejected(kernel_size):
    with pytest.raises(ValueError, match="kernel_size"):
        masking.kernel_mask(kernel_size, [0], [0], "B")


def test_unknown_mask_type_rejected():
    with pytest.raises(ValueError, match=r"mask_type='C'"):
        masking.kernel_mask(3, [0], [0], "C")


def test_bad_color_channels_rejected():
    with pytest.raises(ValueError, match="color_channels=2"):
        masking.color_groups(4, 2)
