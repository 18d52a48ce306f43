"""The one sampler: cached == naive, correct in distribution, completion, errors."""

import numpy as np
import pytest
from scipy import stats
import tensorflow as tf

import pixel_rnn_tf as prt
from pixel_rnn_tf import caching
from pixel_rnn_tf import sampling
from helpers import all_images
from helpers import flat_order
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config

ARCHS = prt.configs.ARCHITECTURES


def _model(arch, image_shape, num_layers=1, seed=0, scale=0.3, **kwargs):
    model = prt.build_model(tiny_config(arch, image_shape, num_layers=num_layers, **kwargs))
    return randomize_weights(model, seed, scale)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("hw", [(3, 4), (4, 3)])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_cached_equals_naive(arch, channels, hw, num_layers):
    model = _model(arch, hw + (channels,), num_layers)
    naive = sampling.sample(model, 4, seed=(1, 2), method="naive")
    cached = sampling.sample(model, 4, seed=(1, 2), method="cached")
    np.testing.assert_array_equal(cached, naive)


@pytest.mark.parametrize("arch", ARCHS)
def test_cached_logits_equal_model_at_every_step(arch):
    image_shape = (3, 4, 3)
    model = _model(arch, image_shape, num_layers=2)
    images = tf.constant(random_images((2,) + image_shape, 4, seed=7))
    expected = model(images).numpy()  # [B, H, W, C, L]
    stepper = caching.make_stepper(model)
    state = stepper.initial_state(2, None)
    for i, j, c in flat_order(image_shape):
        logits, values = stepper.step(state, images, (i, j, c), None)
        np.testing.assert_allclose(logits, expected[:, i, j, c], atol=1e-4)
        if c == image_shape[2] - 1:
            state = stepper.update(state, values, images, (i, j, c), None)


@pytest.mark.parametrize("arch", ARCHS)
def test_class_conditional_cached_equals_naive(arch):
    model = _model(arch, (3, 4, 1), num_layers=2, num_classes=3)
    labels = np.array([0, 1, 2, 1], np.int32)
    naive = sampling.sample(model, 4, seed=(5, 6), method="naive", labels=labels)
    cached = sampling.sample(model, 4, seed=(5, 6), method="cached", labels=labels)
    np.testing.assert_array_equal(cached, naive)


@pytest.mark.parametrize("arch", ARCHS)
def test_frequencies_match_probabilities(arch):
    """20,000 samples of 2x2x1 binary images against exp(log_prob) of all 16."""
    image_shape = (2, 2, 1)
    model = _model(arch, image_shape, num_layers=2, num_levels=2, scale=0.15, seed=3)
    images = all_images(image_shape, 2)
    probs = np.exp(prt.head.log_prob(model(images), images).numpy())
    samples = sampling.sample(model, 20_000, seed=(7, 8)).numpy()
    codes = samples.reshape(len(samples), -1) @ (2 ** np.arange(4)[::-1])
    counts = np.bincount(codes, minlength=16)[images.reshape(16, -1) @ (2 ** np.arange(4)[::-1])]
    chi2 = ((counts - 20_000 * probs) ** 2 / (20_000 * probs)).sum()
    assert stats.chi2.sf(chi2, df=15) > 1e-3, (counts, 20_000 * probs)
    assert np.abs(counts / 20_000 - probs).max() < 0.01


def test_frequencies_are_sensitive_to_channel_order():
    """With 1x1x3 binary images, swapping channels changes the distribution."""
    image_shape = (1, 1, 3)
    model = _model("pixel_cnn", image_shape, num_levels=2, scale=0.4, seed=11)
    images = all_images(image_shape, 2)
    probs = np.exp(prt.head.log_prob(model(images), images).numpy())
    samples = sampling.sample(model, 20_000, seed=(9, 9)).numpy().reshape(-1, 3)
    weights = np.array([4, 2, 1])
    index = images.reshape(8, 3) @ weights
    counts = np.bincount(samples @ weights, minlength=8)[index]
    assert stats.chi2.sf(((counts - 20_000 * probs) ** 2 / (20_000 * probs)).sum(), 7) > 1e-3
    reversed_counts = np.bincount(samples[:, ::-1] @ weights, minlength=8)[index]
    reversed_chi2 = ((reversed_counts - 20_000 * probs) ** 2 / (20_000 * probs)).sum()
    assert stats.chi2.sf(reversed_chi2, 7) < 1e-3  # R-G-B order matters and is kept.


def test_seeds_and_temperature():
    model = _model("row_lstm", (3, 4, 1))
    a = sampling.sample(model, 3, seed=(1, 2))
    np.testing.assert_array_equal(a, sampling.sample(model, 3, seed=(1, 2)))
    assert not np.array_equal(a, sampling.sample(model, 3, seed=(1, 3)))
    assert a.dtype == tf.int32 and a.shape == (3, 3, 4, 1)
    # A tiny temperature draws the argmax of each conditional.
    cold = sampling.sample(model, 2, seed=(4, 4), temperature=1e-4).numpy()
    logits = model(cold).numpy()
    np.testing.assert_array_equal(cold, logits.argmax(-1))


def test_sample_in_tf_function_with_dynamic_count():
    model = _model("diagonal_bilstm", (3, 4, 1))

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def draw(count):
        return sampling.sample(model, count, seed=tf.constant([3, 4]))

    for count in (1, 3):
        images = draw(tf.constant(count))
        assert images.shape == (count, 3, 4, 1)
        np.testing.assert_array_equal(images, sampling.sample(model, count, seed=(3, 4)))


@pytest.mark.parametrize("arch", ARCHS)
def test_complete(arch):
    image_shape = (4, 3, 3)
    model = _model(arch, image_shape, num_layers=2)
    images = random_images((3,) + image_shape, 4, seed=2)
    known = np.zeros(image_shape, bool)
    known[:2] = True  # The upper half, a prefix.
    completed = sampling.complete(model, images, known, seed=(1, 1)).numpy()
    np.testing.assert_array_equal(completed[:, :2], images[:, :2])
    np.testing.assert_array_equal(
        completed, sampling.complete(model, images, known, seed=(1, 1), method="naive")
    )
    everything = sampling.complete(model, images, np.ones(image_shape, bool), seed=(1, 1))
    np.testing.assert_array_equal(everything, images)
    # A per-image mask that is not a prefix keeps its known pixels too.
    scattered = np.random.default_rng(0).random((3,) + image_shape) < 0.5
    kept = sampling.complete(model, images, scattered, seed=(2, 2)).numpy()
    np.testing.assert_array_equal(kept[scattered], images[scattered])


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda m: sampling.sample(m, 2, temperature=0.0), "temperature"),
        (lambda m: sampling.sample(m, 2, temperature=-1.0), "temperature"),
        (lambda m: sampling.sample(m, 0), "num_samples=0"),
        (lambda m: sampling.sample(m, 2, method="fast"), "method='fast'"),
        (lambda m: sampling.sample(m, 2, labels=[0, 1]), "not class-conditional"),
        (
            lambda m: sampling.complete(m, np.zeros((1, 3, 4, 1), np.int32), np.ones((3, 4), bool)),
            "known.shape",
        ),
        (
            lambda m: sampling.complete(m, np.zeros((1, 3, 4, 1), np.int32), np.ones((1, 3, 4, 1))),
            "known.dtype",
        ),
        (
            lambda m: sampling.complete(m, np.full((1, 3, 4, 1), 7, np.int32), np.ones((1, 3, 4, 1), bool)),
            r"\[0, 4\)",
        ),
    ],
)
def test_bad_arguments(call, message):
    model = _model("pixel_cnn", (3, 4, 1))
    with pytest.raises(ValueError, match=message):
        call(model)


def test_conditional_model_needs_labels():
    model = _model("pixel_cnn", (3, 4, 1), num_classes=2)
    with pytest.raises(ValueError, match="pass `labels`"):
        sampling.sample(model, 2)
    with pytest.raises(ValueError, match=r"`labels` values in \[0, 2\)"):
        sampling.sample(model, 2, labels=[0, 5])


def test_bad_values_in_graph_are_invalid_argument():
    model = _model("pixel_cnn", (3, 4, 1))
    draw = tf.function(lambda t: sampling.sample(model, 2, seed=(1, 1), temperature=t))
    with pytest.raises(tf.errors.InvalidArgumentError, match="temperature"):
        draw(tf.constant(-1.0))
