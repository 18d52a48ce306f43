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


# --- Keras data layouts, under XLA and without -------------------------------------------


def _compiled(jit_compile, **config):
    from pixel_rnn_tf import training

    config = tiny_config("pixel_cnn", (4, 3, 1), num_levels=2, hidden_units=4, **config)
    return training.compile_model(prt.build_model(config), jit_compile=jit_compile)


def _labelled(count=8, num_classes=3):
    return random_images((count, 4, 3, 1), 2), np.arange(count, dtype=np.int32) % num_classes


def test_dict_inputs_are_the_pair():
    model = _model("pixel_cnn", (4, 3, 1), num_classes=3)
    images, labels = _labelled(2)
    np.testing.assert_array_equal(
        model({"images": images, "condition": labels}).numpy(), model((images, labels)).numpy()
    )
    with pytest.raises(ValueError, match=r"keys.*\['image', 'condition'\]|keys \['condition'"):
        model({"image": images, "condition": labels})


def _layouts(images, labels):
    """The same labelled batches of 4 in the layouts Keras users write."""
    slices = tf.data.Dataset.from_tensor_slices
    return {
        "pairs": slices((images, labels)).batch(4),  # `as_supervised`
        "dicts": slices({"images": images, "condition": labels}).batch(4),
        "nested": slices(((images, labels),)).batch(4),
    }


def test_conditional_model_trains_on_every_keras_layout():
    model = _compiled(False, num_classes=3)
    images, labels = _labelled()
    layouts = _layouts(images, labels)
    reference = model.evaluate(layouts["nested"], verbose=0)
    for data in (layouts["pairs"], layouts["dicts"]):
        np.testing.assert_allclose(model.evaluate(data, verbose=0), reference, rtol=1e-5)
    for x, y in [({"images": images, "condition": labels}, None), (images, labels)]:
        np.testing.assert_allclose(
            model.evaluate(x, y, batch_size=4, verbose=0), reference, rtol=1e-5
        )
    assert np.isfinite(model.fit(layouts["dicts"], verbose=0).history["loss"][0])
    history = model.fit(images, labels, batch_size=4, validation_data=(images, labels), verbose=0)
    assert np.isfinite(history.history["val_loss"][0])


def test_conditional_model_evaluates_keras_layouts_under_xla():
    """One compiled step for every layout: the data path brings them to one (`fit`
    shares it; its XLA compile is tens of seconds on a CPU, too slow for the suite)."""
    images, labels = _labelled()
    layouts = _layouts(images, labels)
    plain = _compiled(False, num_classes=3)
    reference = plain.evaluate(layouts["pairs"], verbose=0)
    model = _compiled(True, num_classes=3)
    model.set_weights(plain.get_weights())
    assert model.jit_compile
    for data in (layouts["dicts"], layouts["nested"]):
        np.testing.assert_allclose(model.evaluate(data, verbose=0), reference, rtol=1e-4)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_unconditional_model_refuses_labels_as_targets(jit_compile):
    model = _compiled(jit_compile)
    images, labels = _labelled()
    message = r"takes no condition.*second element.*int32 of shape \(.*\).*Drop it"
    with pytest.raises(ValueError, match=message):
        model.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(4), verbose=0)
    with pytest.raises(ValueError, match=message):
        model.fit(images, labels, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(images, labels, batch_size=4, verbose=0)
    # The density model's own layouts still work.
    assert np.isfinite(model.evaluate(images, images, batch_size=4, verbose=0)[0])
    assert np.isfinite(model.evaluate(images, batch_size=4, verbose=0)[0])


@pytest.mark.parametrize("jit_compile", [False, True])
def test_conditional_model_without_condition_says_what_to_pass(jit_compile):
    model = _compiled(jit_compile, num_classes=3)
    images, _ = _labelled()
    with pytest.raises(ValueError, match=r"conditioned on int labels.*\(images, condition\)"):
        model.fit(images, batch_size=4, verbose=0)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize(
    "config,condition,message",
    [
        (dict(num_classes=3), np.array([0, 1, 2, 3]), r"`condition` values"),
        (dict(num_classes=3), np.array([0, -1, 2, 1]), r"`condition` values"),
        (dict(num_classes=3), np.array([0.0, 1.0, 2.0, 1.0], np.float32), r"condition.dtype"),
        (dict(condition_shape=(2,)), np.array([[0, 1], [np.nan, 0]] * 2, np.float32),
         r"`condition` (to be|must be) finite"),
    ],
)
def test_bad_conditions_are_refused_before_the_compiled_step(
    jit_compile, config, condition, message
):
    """XLA drops the model's asserts: the data path checks what the plain graph checks."""
    model = _compiled(jit_compile, **config)
    images = random_images((4, 4, 3, 1), 2)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match=message):
        model.evaluate(images, condition, batch_size=4, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((images, condition)).batch(4)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match=message):
        model.evaluate(dataset, verbose=0)


def test_conditional_model_fits_under_xla_and_refuses_bad_labels_there():
    """`fit` itself under XLA, on the smallest network: a dict data set trains, a data set
    with a label out of range is refused in its pipeline, naming `condition`."""
    from pixel_rnn_tf import training

    config = tiny_config("pixel_cnn", (2, 2, 1), num_levels=2, hidden_units=2, num_classes=3)
    model = training.compile_model(prt.build_model(config), jit_compile=True)
    images = random_images((4, 2, 2, 1), 2)
    labels = np.array([0, 1, 2, 0], np.int32)
    slices = tf.data.Dataset.from_tensor_slices
    history = model.fit(slices({"images": images, "condition": labels}).batch(2), verbose=0)
    assert model.jit_compile
    assert np.isfinite(history.history["loss"][0])
    bad = slices((images, np.array([0, 1, 3, 0], np.int32))).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`condition` values"):
        model.fit(bad, verbose=0)


@pytest.mark.parametrize("input_form", ["numpy", "tf.data"])
def test_fit_traces_the_train_step_once(input_form):
    """The optimizer's variables exist before `fit` traces its step: a step that
    creates variables is traced twice by `tf.function`, the recurrences included."""
    from unittest import mock

    from pixel_rnn_tf import training

    config = tiny_config("row_lstm", (3, 3, 1), num_levels=2, hidden_units=2)
    model = training.compile_model(prt.build_model(config))
    images = random_images((4, 3, 3, 1), 2)
    data = (
        dict(x=images, y=images, batch_size=2) if input_form == "numpy"
        else dict(x=tf.data.Dataset.from_tensor_slices((images, images)).batch(2))
    )
    train_step = type(model).train_step
    with mock.patch.object(type(model), "train_step", autospec=True, side_effect=train_step) as traced:
        model.fit(**data, epochs=1, steps_per_epoch=1, verbose=0)
    assert traced.call_count == 1
    assert model.optimizer.built
    assert len(model.optimizer.variables) > 2  # Its slots, for every trainable variable.
