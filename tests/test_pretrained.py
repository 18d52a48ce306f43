"""The trained models that ship with the package (`prt.pretrained`): loaded, never trained."""

import configparser
import os

import numpy as np
import pytest
import tensorflow as tf

import pixel_rnn_tf as prt
from helpers import black_box_violations

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared", "data", "binarized_mnist")
SLICE = 500


def test_every_table_model_ships():
    assert prt.pretrained.available() == sorted(prt.pretrained.NAMES)


def test_package_data_installs_them():
    """`pip install .` carries the models: setup.cfg's package data names their files."""
    config = configparser.ConfigParser()
    config.read(os.path.join(REPO, "setup.cfg"))
    patterns = config["options.package_data"]["pixel_rnn_tf"]
    assert "pretrained/models/*.keras" in patterns and "pretrained/models/*.json" in patterns


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match=r"Unknown pretrained model.*name='mnist_vae'"):
        prt.pretrained.load("mnist_vae")


@pytest.mark.parametrize("name", prt.pretrained.NAMES)
def test_record(name):
    record = prt.pretrained.record(name)
    for key in ("images_seen", "train_seconds", "machine", "learner", "validation_nats",
                "test_nats", "test_nats_std_error", f"test_{SLICE}_nats", "num_params"):
        assert key in record, key
    assert record["images_seen"] > 0 and record["train_seconds"] > 0
    assert np.isfinite(record["test_nats"])


@pytest.fixture(scope="module", params=prt.pretrained.NAMES)
def pretrained(request):
    return request.param, prt.pretrained.load(request.param)


def test_loads_as_its_preset(pretrained):
    name, model = pretrained
    assert model.config == prt.configs.get(name)
    assert model.count_params() == prt.pretrained.record(name)["num_params"]


@pytest.mark.skipif(not os.path.isdir(SHARED), reason=f"the shared binarized MNIST ({SHARED}) is absent")
def test_recorded_nll_on_a_test_slice(pretrained):
    name, model = pretrained
    images = prt.data.load("binarized_mnist", f"test[:{SLICE}]", data_dir=SHARED, as_numpy=True)
    nats = prt.evaluate(model, images, batch_size=SLICE)["nats"]
    assert nats == pytest.approx(prt.pretrained.record(name)[f"test_{SLICE}_nats"], abs=0.01)


def test_trained_weights_are_causal(pretrained):
    _, model = pretrained
    assert black_box_violations(model, (28, 28, 1), num_levels=2, seed=3) == []


def test_trained_weights_are_normalized(pretrained):
    """Over every value of the last 8 pixels, given the rest, the probabilities sum to 1."""
    _, model = pretrained
    base = np.zeros((1, 28, 28, 1), np.int32)
    base[0, 10:18, 10:18] = 1  # A stroke before them, so the conditionals are not trivial.
    suffix = [(27, 20 + k) for k in range(8)]
    codes = np.arange(256)
    images = np.repeat(base, 256, axis=0)
    for k, (i, j) in enumerate(suffix):
        images[:, i, j, 0] = (codes >> k) & 1
    logits = model(images)
    log_probs = tf.gather_nd(
        tf.nn.log_softmax(logits, axis=-1)[:, :, :, 0], images[..., None], batch_dims=3
    ).numpy()  # [256, 28, 28]
    suffix_log_prob = sum(log_probs[:, i, j] for i, j in suffix)
    assert np.exp(suffix_log_prob.astype(np.float64)).sum() == pytest.approx(1.0, abs=1e-4)
