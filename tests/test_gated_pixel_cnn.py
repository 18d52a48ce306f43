"""The Gated PixelCNN (van den Oord et al. 2016): no blind spot, its steps, its errors.

Causality, normalization, sampler frequencies, cached == naive sampling
(with each condition), `.keras` round trips and the receptive field as a
set run for it where they run for every architecture
(`prt.configs.ARCHITECTURES`); serving in `test_serving.py`.
"""

import numpy as np
import pytest
import tensorflow as tf

import pixel_rnn_tf as prt
from helpers import all_images
from helpers import chi_square_p_value
from helpers import flat_order
from helpers import image_codes
from helpers import measured_field
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config
from pixel_rnn_tf import layers
from pixel_rnn_tf import sampling
from pixel_rnn_tf.layers import stepping


@pytest.mark.parametrize("channels", [1, 3])
def test_no_blind_spot(channels):
    """Every earlier value, in raster and R-G-B order, moves every later logit.

    Two layers cover a 3x5 image: the vertical stack reaches 3 + 1 columns
    to the right, the horizontal one 3 + 1 to the left. The paper's PixelCNN
    of the same size misses the pixels up and to the right (its blind spot).
    """
    image_shape = (3, 5, channels)
    config = tiny_config("gated_pixel_cnn", image_shape, num_layers=2)
    measured = measured_field(randomize_weights(prt.build_model(config), seed=4))
    order = flat_order(image_shape)
    earlier = np.zeros_like(measured)
    for k, target in enumerate(order):
        for source in order[:k]:
            earlier[target + source] = True
    assert np.array_equal(measured, earlier), [
        tuple(map(int, index)) for index in np.argwhere(measured != earlier)[:5]
    ]


@pytest.mark.parametrize("include_current_row", [True, False])
def test_vertical_conv_rows_and_steps_equal_call(include_current_row):
    """Output row r sees input rows r - 1 .. r (or r - 2 .. r - 1), whole; its
    steps read the row that `start_row` computed before the row's first pixel."""
    height, width = 4, 5
    x = np.random.default_rng(6).normal(size=(2, height, width, 3)).astype(np.float32)
    layer = layers.VerticalConv2D(4, kernel_width=3, rows=2,
                                  include_current_row=include_current_row)
    layer.build(x.shape)
    layer.bias.assign(np.random.default_rng(1).normal(size=4))
    expected = layer(x).numpy()
    last = int(include_current_row)
    for i in range(height):
        changed = x.copy()
        changed[:, i + last:] += 1.0  # Rows the output rows <= i must not see.
        changed[:, : max(0, i - 2 + last)] += 1.0  # Rows above the kernel.
        np.testing.assert_allclose(layer(changed).numpy()[:, i], expected[:, i], atol=1e-5)
    cache = layer.initial_cache(tf.constant(x[:, 0, 0]), width=width)
    for i in range(height):
        i_ = tf.constant(i)
        _, cache = layer.start_row(cache, i_, tf.constant(x[:, i]))
        for j in range(width):
            outputs, cache = layer.step(cache, tf.constant(x[:, i, j]), i_, tf.constant(j))
            np.testing.assert_allclose(outputs, expected[:, i, j], atol=1e-5)
        cache = layer.end_row(cache, i_)


def test_block_steps_equal_call():
    """The block's rows pass (`stepping.StartRow`) and steps give its `call`."""
    x = np.random.default_rng(2).normal(size=(2, 3, 4, 6)).astype(np.float32)
    block = layers.GatedPixelCNNBlock(3, color_channels=3)
    block.build(x.shape)
    randomize_weights(block, seed=3)
    expected = block(x).numpy()
    cache = block.initial_cache(tf.constant(x[:, 0, 0]), width=4)
    for i in range(3):
        i_ = tf.constant(i)
        run = stepping.StartRow(cache, i_)
        np.testing.assert_allclose(
            block.forward(tf.constant(x[:, i]), run).numpy()[..., 1::2], expected[:, i, :, 1::2],
            atol=1e-5,
        )  # The vertical stack, whole rows.
        cache = run.caches
        for j in range(4):
            outputs, cache = block.step(cache, tf.constant(x[:, i, j]), i_, tf.constant(j))
            np.testing.assert_allclose(outputs, expected[:, i, j], atol=1e-5)
        _, cache = block.end_row(cache, i_, tf.constant(x[:, 0, 0]))


def test_cached_equals_naive_with_labels_under_xla():
    """One channel and labels, compiled by XLA. Elsewhere: three channels with
    vectors and maps as a plain graph, and a map under XLA (test_conditioning);
    one channel with vectors and maps, step by step (test_conditioning's
    `test_cached_steps_equal_the_model`)."""
    model = randomize_weights(
        prt.build_model(tiny_config("gated_pixel_cnn", (2, 2, 1), num_classes=3)), scale=0.3
    )
    labels = np.array([0, 2, 1], np.int32)
    naive = sampling.sample(model, 3, seed=(1, 2), method="naive", condition=labels)
    cached = sampling.sample(model, 3, seed=(1, 2), condition=labels, jit_compile=True)
    np.testing.assert_array_equal(cached, naive)


def test_sample_frequencies_match_probabilities():
    """20,000 samples of 2x2x1 binary images against exp(log_prob) of all 16;
    the same counts read in a wrong pixel order must fail the test."""
    image_shape = (2, 2, 1)
    model = randomize_weights(
        prt.build_model(tiny_config("gated_pixel_cnn", image_shape, num_layers=2, num_levels=2)),
        seed=1, scale=0.4,
    )
    images = all_images(image_shape, 2)  # [16, 2, 2, 1]
    probs = np.exp(prt.head.log_prob(model(images), images).numpy())
    assert probs.min() > 0.004  # Every expected count is large: the chi-square test is valid.
    draws = 20_000
    counts = np.bincount(image_codes(sampling.sample(model, draws, seed=(7, 8)).numpy()),
                         minlength=16)
    assert chi_square_p_value(counts[image_codes(images)], probs) > 1e-3
    assert np.abs(counts[image_codes(images)] / draws - probs).max() < 0.01
    for wrong in (images.transpose(0, 2, 1, 3), images[:, :, ::-1]):
        assert chi_square_p_value(counts[image_codes(wrong)], probs) < 1e-6


def test_presets():
    for name, (layers_, units, shape) in {
        "mnist_gated_pixel_cnn": (7, 16, (28, 28, 1)),
        "cifar10_gated_pixel_cnn": (15, 128, (32, 32, 3)),
    }.items():
        config = prt.configs.get(name)
        assert (config.arch, config.num_layers, config.hidden_units, config.image_shape) == (
            "gated_pixel_cnn", layers_, units, shape
        )


def test_a_model_of_it_logits_shape():
    model = prt.build_model(tiny_config("gated_pixel_cnn", (2, 3, 3)))
    assert isinstance(model.stem, layers.GatedStem)
    assert model(random_images((2, 2, 3, 3), 4)).shape == (2, 2, 3, 3, 4)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: layers.VerticalConv2D(0, 3, 2), r"filters.*Received: filters=0"),
        (lambda: layers.VerticalConv2D(4, 3, 0), r"rows.*Received: rows=0"),
        (lambda: layers.VerticalConv2D(4, 2, 2), r"kernel_width.*odd.*Received: kernel_width"),
        (lambda: layers.GatedPixelCNNBlock(0), r"hidden_units.*Received: hidden_units=0"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
