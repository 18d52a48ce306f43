"""The Multi-Scale PixelRNN (§3.5): order, causality, normalization, sampling, saving."""

import numpy as np
import pytest
from scipy import stats
import tensorflow as tf

import pixel_rnn_tf as prt
from helpers import all_images
from helpers import assert_keras_round_trip
from helpers import black_box_violations
from helpers import gradient_dependence
from helpers import model_order
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config
from helpers import total_probability
from pixel_rnn_tf import sampling

# (small, large) architectures: every architecture on each side.
PAIRS = [("row_lstm", "row_lstm"), ("pixel_cnn", "diagonal_bilstm"), ("diagonal_bilstm", "pixel_cnn")]


def _config(small_arch, large_arch, image_shape, factor=2, num_levels=4, num_layers=1, **kwargs):
    height, width, channels = image_shape
    small = tiny_config(small_arch, (height // factor, width // factor, channels),
                        num_levels=num_levels, num_layers=num_layers, **kwargs)
    large = tiny_config(large_arch, image_shape, num_levels=num_levels, num_layers=num_layers,
                        **kwargs)
    return prt.MultiScaleConfig(small=small, large=large)


def _model(small_arch, large_arch, image_shape, seed=0, scale=0.5, **kwargs):
    model = prt.build_model(_config(small_arch, large_arch, image_shape, **kwargs))
    return randomize_weights(model, seed, scale)


def test_order_puts_the_subsampled_positions_first():
    model = _model("row_lstm", "row_lstm", (4, 4, 1))
    order = model_order(model)
    assert order[:4] == [(0, 0, 0), (0, 2, 0), (2, 0, 0), (2, 2, 0)]
    assert order[4:7] == [(0, 1, 0), (0, 3, 0), (1, 0, 0)]


@pytest.mark.parametrize(
    "small_arch,large_arch,channels", [PAIRS[0] + (1,), PAIRS[1] + (3,), PAIRS[2] + (3,)]
)
def test_causality_in_the_multiscale_order(small_arch, large_arch, channels):
    image_shape = (4, 6, channels)
    model = _model(small_arch, large_arch, image_shape)
    assert black_box_violations(model, image_shape, 4, seed=1) == []
    images = random_images((2,) + image_shape, 4, seed=2)
    depends = gradient_dependence(model, images)  # [b, i, j, c, b2, i2, j2, c2]
    rank = {position: k for k, position in enumerate(model_order(model))}
    for b in range(2):
        assert not depends[b, ..., 1 - b, :, :, :].any(), "batch items leak into each other"
        for position in rank:
            for source in map(tuple, np.argwhere(depends[(b,) + position + (b,)])):
                assert rank[source] < rank[position], (position, source)
    # The point of §3.5: the large network sees subsampled pixels that come
    # later in raster order, e.g. (0, 1) sees (0, 2), (2, 0) and (2, 4).
    for later in [(0, 2), (2, 0), (2, 4)]:
        assert depends[0, 0, 1, 0, 0, later[0], later[1]].any(), later


@pytest.mark.parametrize("small_arch,large_arch", PAIRS)
def test_normalization(small_arch, large_arch):
    model = _model(small_arch, large_arch, (2, 4, 1), num_levels=2)
    assert total_probability(model, (2, 4, 1), 2) == pytest.approx(1.0, abs=1e-4)


def test_normalization_with_color():
    model = _model("row_lstm", "pixel_cnn", (2, 2, 3), num_levels=2, hidden_units=6)
    assert total_probability(model, (2, 2, 3), 2) == pytest.approx(1.0, abs=1e-4)


def _codes(images):
    flat = images.reshape(len(images), -1)
    return flat @ (2 ** np.arange(flat.shape[1])[::-1])


def _chi_square_p_value(counts, expected):
    """Pearson's test, the images expected fewer than 5 times pooled into one bin."""
    rare = expected < 5
    counts = np.append(counts[~rare], counts[rare].sum())
    expected = np.append(expected[~rare], expected[rare].sum())
    return stats.chi2.sf(((counts - expected) ** 2 / expected).sum(), len(counts) - 1)


def test_sample_frequencies_match_probabilities():
    """20,000 samples of 2x4x1 binary images against exp(log_prob) of all 256."""
    image_shape = (2, 4, 1)
    model = _model("row_lstm", "pixel_cnn", image_shape, num_levels=2, scale=0.3, seed=4)
    images = all_images(image_shape, 2)
    probs = np.exp(prt.head.log_prob(model(images), images).numpy())
    draws = 20_000
    counts = np.bincount(_codes(sampling.sample(model, draws, seed=(7, 8)).numpy()), minlength=256)
    expected = draws * probs
    assert (expected >= 5).sum() > 100  # Most images are tested on their own.
    assert _chi_square_p_value(counts[_codes(images)], expected) > 1e-3
    # Sampled in plain raster order by the large network alone, the
    # frequencies would not match: the statistic can tell orders apart.
    raster = sampling.sample(model.large, draws, seed=(7, 8),
                             condition=tf.zeros([draws, 1, 2, 1])).numpy()
    raster_counts = np.bincount(_codes(raster), minlength=256)[_codes(images)]
    assert _chi_square_p_value(raster_counts, expected) < 1e-6


@pytest.mark.parametrize(
    "small_arch,large_arch,channels", [pair + (3,) for pair in PAIRS] + [PAIRS[1] + (1,)]
)
def test_cached_equals_naive(small_arch, large_arch, channels):
    model = _model(small_arch, large_arch, (2, 4, channels), scale=0.3)
    naive = sampling.sample(model, 3, seed=(1, 2), method="naive")
    graph = sampling.sample(model, 3, seed=(1, 2), jit_compile=False)
    np.testing.assert_array_equal(graph, naive)
    if small_arch == large_arch:  # XLA compiles the same graphs: once.
        np.testing.assert_array_equal(sampling.sample(model, 3, seed=(1, 2)), naive)
    assert len(np.unique(naive)) > 1


def test_complete_fills_in_the_models_order():
    image_shape = (2, 4, 1)
    model = _model("row_lstm", "diagonal_bilstm", image_shape, scale=0.3)
    images = random_images((3,) + image_shape, 4, seed=3)
    known = np.random.default_rng(0).random((3,) + image_shape) < 0.5
    completed = sampling.complete(model, images, known, seed=(2, 2)).numpy()
    np.testing.assert_array_equal(completed[known], images[known])
    np.testing.assert_array_equal(
        completed, sampling.complete(model, images, known, seed=(2, 2), method="naive")
    )
    # With the small image known, only the large network draws, conditioned on it.
    small_known = np.zeros(image_shape, bool)
    small_known[::2, ::2] = True
    filled = sampling.complete(model, images, small_known, seed=(5, 5)).numpy()
    np.testing.assert_array_equal(filled[:, ::2, ::2], images[:, ::2, ::2])


def test_distribution_training_and_round_trip(tmp_path):
    model = _model("row_lstm", "pixel_cnn", (4, 4, 1), num_levels=2)
    images = random_images((8, 4, 4, 1), 2, seed=6)
    dist = prt.PixelRNN(model)
    assert dist.event_shape == [4, 4, 1]
    np.testing.assert_allclose(
        dist.log_prob(images), prt.head.log_prob(model(images), images), rtol=1e-6
    )
    assert dist.sample(2, seed=(1, 1)).shape == (2, 4, 4, 1)
    prt.training.compile_model(model, learning_rate=1e-2)
    history = model.fit(images, images, batch_size=4, epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    reloaded = assert_keras_round_trip(model, images, tmp_path)
    assert reloaded.config == model.config


def test_presets():
    config = prt.configs.get("mnist_multiscale_row_lstm")
    assert isinstance(config, prt.MultiScaleConfig)
    assert (config.small.image_shape, config.large.image_shape, config.factor) == (
        (14, 14, 1), (28, 28, 1), 2)
    assert config.large_network.condition_shape == (14, 14, 1)
    imagenet = prt.configs.get("imagenet64_multiscale_row_lstm")
    assert (imagenet.small.image_shape, imagenet.large.image_shape) == ((32, 32, 3), (64, 64, 3))
    assert prt.configs.from_dict(config.to_dict()) == config
    assert prt.configs.get("mnist_multiscale_row_lstm", hidden_units=8).small.hidden_units == 8


@pytest.mark.parametrize(
    "small_shape,large_shape,changes,message",
    [
        ((2, 2, 1), (4, 6, 1), {}, "one integer factor"),
        ((2, 2, 1), (2, 2, 1), {}, "factor >= 2"),
        ((2, 2, 1), (4, 4, 3), {}, "same channels"),
        ((2, 2, 1), (4, 4, 1), dict(num_classes=2), "takes no other condition"),
    ],
)
def test_bad_configs(small_shape, large_shape, changes, message):
    with pytest.raises(ValueError, match=message):
        prt.MultiScaleConfig(
            small=tiny_config("row_lstm", small_shape, **changes),
            large=tiny_config("row_lstm", large_shape),
        )


def test_bad_inputs():
    model = _model("row_lstm", "row_lstm", (4, 4, 1))
    with pytest.raises(ValueError, match="takes images alone"):
        model((np.zeros((1, 4, 4, 1), np.int32), np.zeros((1,), np.int32)))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        model(np.full((1, 4, 4, 1), 4, np.int32))
    with pytest.raises(ValueError, match="takes no condition"):
        sampling.sample(model, 1, condition=[0])
    with pytest.raises(ValueError, match="Unknown MultiScaleConfig fields"):
        prt.configs.from_dict({"small": {}, "large": {}, "factor": 2})
