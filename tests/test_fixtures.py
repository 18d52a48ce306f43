"""`.keras` files saved by earlier code load and give identical logits.

The fixtures (`tests/fixtures/`, written by its `make_fixtures.py`) are tiny
models of every architecture, a condition of each kind and a multi-scale
model, with random weights; `logits.npz` holds their inputs and the logits
the code that saved them computed.
"""

import os

import keras
import numpy as np
import pytest

import pixel_rnn_tf as prt

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
NAMES = (
    "pixel_cnn", "row_lstm", "row_lstm_rgb_labels", "diagonal_bilstm",
    "diagonal_bilstm_wide_vector", "diagonal_bilstm_rgb_map", "gated_pixel_cnn", "multiscale",
)
# Saved from a Diagonal BiLSTM that ran the diagonals' pixels only, whose
# rows entered from states computed by a summed kernel; the layer's default
# path computes the skew's padding cells as the paper does, the same sums in
# another order: equal to float32 rounding, not bit for bit.
REORDERED_SUMS = ("diagonal_bilstm", "diagonal_bilstm_wide_vector", "diagonal_bilstm_rgb_map",
                  "multiscale")


@pytest.fixture(scope="module")
def arrays():
    with np.load(os.path.join(FIXTURES, "logits.npz")) as data:
        return dict(data)


def _variables(model):
    return [(variable.path, tuple(variable.shape)) for variable in model.weights]


@pytest.mark.parametrize("name", NAMES)
def test_saved_model_loads_with_identical_logits(name, arrays):
    model = keras.saving.load_model(os.path.join(FIXTURES, f"{name}.keras"), safe_mode=True)
    images = arrays[f"{name}/images"]
    condition = arrays.get(f"{name}/condition")
    logits = keras.ops.convert_to_numpy(model(images if condition is None else (images, condition)))
    if name in REORDERED_SUMS:
        np.testing.assert_allclose(logits, arrays[f"{name}/logits"], rtol=0, atol=1e-6)
    else:
        np.testing.assert_array_equal(logits, arrays[f"{name}/logits"])
    # The variables of today's model are those of the file, name for name.
    assert _variables(model) and _variables(prt.build_model(model.config)) == _variables(model)
