"""Learning on real data: the shared MNIST split, fixed binarization.

The first 8,000 images of the MNIST test set train, the last 2,000 evaluate
(the shared folder holds only the test set). Every architecture must beat
an independent per-pixel Bernoulli model fitted on the same split.
"""

import os

import keras
import numpy as np
import pytest

import pixel_rnn_tf as prt
from pixel_rnn_tf import data
from pixel_rnn_tf import training
from helpers import PAPER_ARCHITECTURES

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
TRAIN_SPLIT, TEST_SPLIT = "test[:8000]", "test[8000:]"
STEPS = {"pixel_cnn": 300, "row_lstm": 300, "diagonal_bilstm": 300}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")),
        reason=f"the shared MNIST files are not at {os.path.abspath(MNIST_DIR)}",
    ),
]


@pytest.fixture(scope="module")
def mnist():
    load = dict(num_levels=2, data_dir=MNIST_DIR, as_numpy=True)
    return data.load("mnist_idx", TRAIN_SPLIT, **load), data.load("mnist_idx", TEST_SPLIT, **load)


def independent_bernoulli_nll(train, test):
    """Test NLL (nats/image) of a per-pixel Bernoulli fitted on `train` (add-one)."""
    p = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)  # [H, W, C]
    log_likelihood = test * np.log(p) + (1 - test) * np.log1p(-p)
    return float(-log_likelihood.reshape(len(test), -1).sum(axis=1).mean())


@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
def test_beats_independent_baseline(arch, mnist):
    train, test = mnist
    assert train.shape == (8000, 28, 28, 1) and test.shape == (2000, 28, 28, 1)
    baseline = independent_bernoulli_nll(train, test)
    keras.utils.set_random_seed(0)
    model = training.compile_model(prt.build_model(f"mnist_small_{arch}"))
    model.fit(
        training.pairs(train, 16, shuffle_seed=0).repeat(),
        steps_per_epoch=STEPS[arch],
        epochs=1,
        verbose=0,
    )
    nll = training.evaluate_nll(model, test)["nats"]
    print(f"{arch}: test NLL {nll:.2f} nats vs independent baseline {baseline:.2f} nats")
    assert nll < baseline
