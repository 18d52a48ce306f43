"""Receptive fields asserted as sets (§3.1-§3.3).

The expected field of every logit is derived from the architecture alone: a
reachability computation over the layers' kernels, masks and recurrences,
at the granularity of color groups. The measured field is the set of inputs
with a non-zero gradient (over a few random images, so that no dependency
hides behind a ReLU that happens to be off).
"""

import numpy as np
import pytest

import pixel_rnn_tf as prt
from helpers import PAPER_ARCHITECTURES
from helpers import measured_field
from helpers import randomize_weights
from helpers import tiny_config


def _conv(deps, kernel_size, mask_type):
    """Dependence through a masked convolution.

    Args:
      deps: bool `[H, W, G, H, W, C]`: feature group `g` at `(i, j)` depends
        on input `(i2, j2, c2)`.
    """
    height, width, groups = deps.shape[:3]
    mask = prt.masking.kernel_mask(kernel_size, np.arange(groups), np.arange(groups), mask_type)
    kh, kw = mask.shape[:2]
    out = np.zeros_like(deps)
    for i, j, g in np.ndindex(height, width, groups):
        for di, dj, g2 in np.ndindex(kh, kw, groups):
            i2, j2 = i + di - kh // 2, j + dj - kw // 2
            if mask[di, dj, g2, g] and 0 <= i2 < height and 0 <= j2 < width:
                out[i, j, g] |= deps[i2, j2, g2]
    return out


def _row_lstm(deps, kernel_width):
    gates = _conv(deps, (1, kernel_width), "B")
    state = np.zeros_like(gates)
    height, width = gates.shape[:2]
    half = kernel_width // 2
    for i in range(height):
        state[i] = gates[i]
        if i:
            for j in range(width):
                # Cell: own group; state-to-state: neighbours' every group.
                state[i, j] |= state[i - 1, j]
                above = state[i - 1, max(0, j - half): j + half + 1].any(axis=(0, 1))
                state[i, j] |= above
    return state


def _diagonal_lstm(deps, mirrored):
    gates = _conv(deps, 1, "B")
    state = np.zeros_like(gates)
    height, width = gates.shape[:2]
    columns = range(width - 1, -1, -1) if mirrored else range(width)
    step = 1 if mirrored else -1  # Where the previous diagonal's cell lies.
    for i in range(height):
        for j in columns:
            state[i, j] = gates[i, j]
            if 0 <= j + step < width:  # Left neighbour (right when mirrored).
                state[i, j] |= state[i, j + step]
                state[i, j] |= state[i, j + step].any(axis=0)
            if i:  # Upper neighbour, through the 2x1 state-to-state kernel.
                state[i, j] |= state[i - 1, j].any(axis=0)
    return state


def _diagonal_bilstm(deps):
    out = _diagonal_lstm(deps, mirrored=False)
    right = _diagonal_lstm(deps, mirrored=True)
    out[1:] |= right[:-1]  # The right direction is shifted down one row (§3.2).
    return out


def _rows_above(deps, rows, kernel_width, include_current_row):
    """Dependence through the Gated PixelCNN's vertical stack (`VerticalConv2D`):
    every group of the input rows `r - rows + 1 .. r` (or `r - rows .. r - 1`)."""
    seen = deps.any(axis=2, keepdims=True)
    height, width = deps.shape[:2]
    half, last = kernel_width // 2, int(not include_current_row)
    out = np.zeros_like(seen)
    for i, j in np.ndindex(height, width):
        for i2 in range(max(0, i - rows + 1 - last), i + 1 - last):
            out[i, j] |= seen[i2, max(0, j - half): j + half + 1].any(axis=0)
    return np.broadcast_to(out, deps.shape)


def _gated_pixel_cnn(deps, config):
    """The features the skips and the output stack read: each group's
    horizontal features, and the vertical stack, which every group reads."""
    kernel = config.input_kernel_size
    vertical = _rows_above(deps, kernel // 2 + 1, kernel, include_current_row=False)
    horizontal = _conv(deps, (1, kernel), "A") | vertical  # The vertical-to-horizontal link.
    skips = np.zeros_like(horizontal)
    for _ in range(config.num_layers):
        kernel = config.kernel_size
        vertical = _rows_above(vertical, kernel // 2 + 1, kernel, include_current_row=True)
        block = _conv(_conv(horizontal, (1, kernel), "B") | vertical, 1, "B")
        horizontal = block | horizontal if config.residual else block
        skips |= _conv(horizontal, 1, "B") | vertical
    return skips if config.skip else horizontal | vertical


def expected_field(config):
    """bool `[H, W, C, H, W, C]`: logits `(i, j, c)` depend on input `(i2, j2, c2)`."""
    height, width, channels = config.image_shape
    deps = np.eye(height * width * channels, dtype=bool).reshape((height, width, channels) * 2)
    if config.arch == "gated_pixel_cnn":
        return _conv(_conv(_gated_pixel_cnn(deps, config), 1, "B"), 1, "B")
    features = _conv(deps, config.input_kernel_size, "A")
    skips = np.zeros_like(features)
    for _ in range(config.num_layers):
        if config.arch == "pixel_cnn":
            core = _conv(_conv(features, 1, "B"), config.kernel_size, "B")
        elif config.arch == "row_lstm":
            core = _row_lstm(features, config.kernel_size)
        else:
            core = _diagonal_bilstm(features)
        block = _conv(core, 1, "B")
        features = block | features if config.residual else block
        skips |= _conv(features, 1, "B")
    return _conv(_conv(skips if config.skip else features, 1, "B"), 1, "B")


def _describe(difference):
    return [tuple(map(int, index)) for index in np.argwhere(difference)[:5]]


@pytest.mark.parametrize(
    "arch,channels,num_layers",
    [
        (arch, channels, num_layers)
        for arch in prt.configs.ARCHITECTURES
        for channels in (1, 3)
        for num_layers in (1, 3)
        if arch in PAPER_ARCHITECTURES or num_layers == 1
    ],
)
def test_receptive_field_equals_structure(arch, channels, num_layers):
    config = tiny_config(arch, (3, 8, channels), num_layers=num_layers)
    model = randomize_weights(prt.build_model(config), seed=2)
    expected = expected_field(config)
    measured = measured_field(model)
    assert not (measured & ~expected).any(), f"unexpected: {_describe(measured & ~expected)}"
    assert not (expected & ~measured).any(), f"missing: {_describe(expected & ~measured)}"


@pytest.mark.parametrize("channels", [1, 3])
def test_diagonal_bilstm_sees_whole_context_but_one_blind_spot(channels):
    """Everything before a pixel matters, except (i-1, W-1, last channel) for j < W-4."""
    height, width = 3, 8
    config = tiny_config("diagonal_bilstm", (height, width, channels), num_layers=2)
    measured = measured_field(randomize_weights(prt.build_model(config), seed=4))
    order = list(np.ndindex(height, width, channels))
    for k, target in enumerate(order):
        i, j, c = target
        for source in order[:k]:
            blind = source == (i - 1, width - 1, channels - 1) and j < width - 4
            assert measured[target + source] != blind, (target, source)


def test_row_lstm_field_is_a_triangle_but_diagonal_sees_everything():
    """Far to the upper right lies outside the Row LSTM's triangle (§3.1, Figure 4)."""
    image_shape = (4, 12, 1)
    fields = {
        arch: expected_field(tiny_config(arch, image_shape, num_layers=2))
        for arch in ("row_lstm", "diagonal_bilstm")
    }
    assert not fields["row_lstm"][3, 0, 0, 0, 11, 0]
    assert fields["row_lstm"][3, 0, 0, 0, 0, 0]
    assert fields["diagonal_bilstm"][3, 0, 0, 0, 11, 0]
