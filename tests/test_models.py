"""Contracts of every architecture: causality, normalization, serialization, errors."""

import numpy as np
import pytest
import tensorflow as tf

import pixel_rnn_tf as prt
from helpers import PAPER_ARCHITECTURES
from helpers import all_images
from helpers import assert_keras_round_trip
from helpers import black_box_violations
from helpers import flat_order
from helpers import gradient_dependence
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config
from helpers import total_probability

ARCHS = prt.configs.ARCHITECTURES


def _model(arch, image_shape, num_layers=1, seed=0, **kwargs):
    model = prt.build_model(tiny_config(arch, image_shape, num_layers=num_layers, **kwargs))
    return randomize_weights(model, seed)


# Later architectures: their no-blind-spot tests compare the same gradients with
# exactly the earlier positions.
@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("hw", [(5, 7), (7, 5)])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_causality_gradient(arch, channels, hw, num_layers):
    image_shape = hw + (channels,)
    model = _model(arch, image_shape, num_layers)
    images = random_images((2,) + image_shape, 4)
    depends = gradient_dependence(model, images)  # [b, i, j, c, b2, i2, j2, c2]
    order = flat_order(image_shape)
    rank = {position: k for k, position in enumerate(order)}
    for b in range(2):
        assert not depends[b, ..., 1 - b, :, :, :].any(), "batch items leak into each other"
        for position in order:
            seen = np.argwhere(depends[(b,) + position + (b,)])
            for source in map(tuple, seen):
                assert rank[source] < rank[position], (
                    f"logits at {position} depend on the input at {source}"
                )


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("hw", [(5, 7), (7, 5)])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_causality_black_box(arch, channels, hw, num_layers):
    image_shape = hw + (channels,)
    model = _model(arch, image_shape, num_layers, seed=3)
    assert black_box_violations(model, image_shape, num_levels=4, seed=5) == []


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize(
    "image_shape,num_levels", [((2, 2, 1), 2), ((1, 2, 3), 4)], ids=["2x2x1_binary", "1x2x3_4levels"]
)
def test_normalization(arch, image_shape, num_levels):
    model = _model(arch, image_shape, num_layers=2, num_levels=num_levels)
    assert total_probability(model, image_shape, num_levels) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
def test_logits_shape_and_dtype(arch):
    model = _model(arch, (4, 5, 3))
    logits = model(random_images((2, 4, 5, 3), 4))
    assert logits.shape == (2, 4, 5, 3, 4)
    assert logits.dtype == tf.float32


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("residual,skip", [(True, True), (False, False), (True, False)])
def test_keras_round_trip(arch, residual, skip, tmp_path):
    model = _model(arch, (3, 4, 3), num_layers=2, residual=residual, skip=skip)
    images = random_images((2, 3, 4, 3), 4)
    reloaded = assert_keras_round_trip(model, images, tmp_path)
    assert reloaded.config == model.config


def test_dynamic_batch_in_tf_function():
    model = _model("row_lstm", (3, 4, 1))
    fn = tf.function(model, input_signature=[tf.TensorSpec([None, 3, 4, 1], tf.int32)])
    for batch in (1, 3):
        images = random_images((batch, 3, 4, 1), 4)
        np.testing.assert_allclose(fn(images), model(images), atol=1e-6)


@pytest.mark.parametrize(
    "images,message",
    [
        (np.zeros((3, 4, 1), np.int32), r"rank 4.*images.shape=\(3, 4, 1\)"),
        (np.zeros((1, 3, 4, 3), np.int32), r"images.shape=\(1, 3, 4, 3\)"),
        (np.zeros((1, 4, 3, 1), np.int32), r"shape \[\.\.\., 3, 4, 1\]"),
        (np.zeros((1, 3, 4, 1), np.float32), r"integer dtype.*images.dtype=float32"),
        (np.full((1, 3, 4, 1), 4, np.int32), r"\[0, 4\).*\[4, 4\]"),
        (np.full((1, 3, 4, 1), -1, np.int32), r"\[0, 4\).*\[-1, -1\]"),
    ],
)
def test_bad_images(images, message):
    model = _model("pixel_cnn", (3, 4, 1))
    with pytest.raises(ValueError, match=message):
        model(images)


def test_out_of_range_in_graph_is_invalid_argument():
    model = _model("pixel_cnn", (3, 4, 1))
    fn = tf.function(model)
    with pytest.raises(tf.errors.InvalidArgumentError, match="images"):
        fn(tf.fill([1, 3, 4, 1], 9))


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(arch="lstm"), r"arch='lstm'"),
        (dict(image_shape=(3, 4, 2)), r"image_shape=\(3, 4, 2\)"),
        (dict(image_shape=(3, 4)), r"image_shape=\(3, 4\)"),
        (dict(num_levels=1), r"num_levels=1"),
        (dict(num_levels=300), r"num_levels=300"),
        (dict(hidden_units=0), r"hidden_units=0"),
        (dict(num_layers=0), r"num_layers=0"),
        (dict(kernel_size=4), r"kernel_size=4"),
        (dict(input_kernel_size=0), r"input_kernel_size=0"),
        (dict(num_classes=0), r"num_classes=0"),
    ],
)
def test_bad_config(changes, message):
    base = tiny_config("pixel_cnn", (3, 4, 3)).to_dict()
    with pytest.raises(ValueError, match=message):
        prt.ModelConfig.from_dict({**base, **changes})


def test_unknown_config_field():
    with pytest.raises(ValueError, match=r"Unknown ModelConfig fields \['colour'\]"):
        prt.ModelConfig.from_dict({"arch": "pixel_cnn", "image_shape": (2, 2, 1), "colour": 1})


def test_presets():
    assert "mnist_pixel_cnn" in prt.configs.names()
    assert "cifar10_pixel_cnn_15x128" in prt.configs.names()
    config = prt.configs.get("cifar10_pixel_cnn_15x128")
    assert (config.num_layers, config.hidden_units, config.image_shape) == (15, 128, (32, 32, 3))
    assert config.output_units == 1024
    assert prt.configs.get("mnist_diagonal_bilstm_7x16").output_units == 32
    assert prt.configs.get("imagenet64_row_lstm_4x512").residual is False
    with pytest.raises(ValueError, match=r"Unknown preset.*name='nope'"):
        prt.configs.get("nope")
    for name in prt.configs.names():
        prt.configs.get(name)  # Every preset is a valid config.


def test_build_model_from_preset_name():
    model = prt.build_model("digits_pixel_cnn")
    assert model.config == prt.configs.get("digits_pixel_cnn")
    assert model(np.zeros((1, 8, 8, 1), np.int32)).shape == (1, 8, 8, 1, 2)


def test_all_images_helper():
    assert all_images((1, 2, 1), 3).shape == (9, 1, 2, 1)
