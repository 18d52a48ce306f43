"""The package with Keras's, TensorFlow's and tfp's own tools.

TF object tracking (`tf.train.Checkpoint`, `CheckpointManager`,
`tf.saved_model.save`), `model.export`, dtype policies (Keras's own layer
test harness among them), tfp's optimizers and `model.fit(images)`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from keras.src import testing  # The layer-test harness of Keras's own layers (tests only).

import pixel_rnn_tf as prt
from pixel_rnn_tf import layers
from helpers import LAYERS
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config

ARCHS = prt.configs.ARCHITECTURES
POLICIES = ("mixed_float16", "mixed_bfloat16")


def _multiscale_config(**kwargs):
    small = tiny_config("pixel_cnn", (2, 2, 1), num_levels=2, hidden_units=2, output_units=4)
    large = tiny_config("row_lstm", (4, 4, 1), num_levels=2, hidden_units=2, output_units=4)
    return prt.MultiScaleConfig(small=small, large=large, **kwargs)


def _config(kind):
    """A tiny config: an architecture, a conditioned one, or "multiscale"."""
    if kind == "multiscale":
        return _multiscale_config()
    if kind == "labels":
        return tiny_config("row_lstm", (3, 4, 1), num_levels=2, num_layers=2, hidden_units=2,
                           output_units=4, num_classes=3)
    if kind in ("small", "small_labels"):  # Where a test traces a training step.
        return tiny_config("pixel_cnn", (2, 3, 1), num_levels=2, hidden_units=2, output_units=4,
                           num_classes=3 if kind == "small_labels" else None)
    if kind == "map":
        return tiny_config("pixel_cnn", (4, 4, 1), num_levels=2, num_layers=2, hidden_units=2,
                           output_units=4, condition_shape=(2, 2, 1))
    return tiny_config(kind, (3, 4, 3), num_levels=4, num_layers=2, hidden_units=3,
                       output_units=6)


def _inputs(config, batch=2, seed=0):
    """Images for `config`'s model, paired with a condition where it takes one."""
    images = random_images((batch,) + config.image_shape, config.num_levels, seed)
    condition = prt.conditioning.spec(config)
    if condition is None:
        return images
    if condition.dtype == tf.int32:
        return images, np.arange(batch, dtype=np.int32) % config.num_classes
    rng = np.random.default_rng(seed)
    return images, rng.normal(size=(batch,) + tuple(condition.shape[1:])).astype(np.float32)


def _model(config, seed=0, **kwargs):
    model = prt.build_model(config) if not kwargs else _model_class(config)(config, **kwargs)
    model.build()
    return randomize_weights(model, seed)


def _model_class(config):
    multiscale = isinstance(config, prt.MultiScaleConfig)
    return prt.models.MultiScalePixelModel if multiscale else prt.models.PixelModel


# 1. TF object tracking.


@pytest.mark.parametrize("kind", ARCHS + ("labels", "map", "multiscale"))
def test_checkpoint_holds_every_variable_and_restores_outputs(kind, tmp_path):
    config = _config(kind)
    model, fresh = _model(config, seed=1), _model(config, seed=2)
    inputs = _inputs(config)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), tmp_path, 1)
    path = manager.save()
    saved = [name for name, _ in tf.train.list_variables(path) if name.startswith("model/")]
    assert len(saved) == len(model.weights)
    status = tf.train.Checkpoint(model=fresh).restore(manager.latest_checkpoint)
    status.assert_consumed()
    np.testing.assert_array_equal(fresh(inputs), model(inputs))


def test_saved_model_holds_every_variable(tmp_path):
    model = _model(_config("diagonal_bilstm"))
    tf.saved_model.save(model, str(tmp_path))
    saved = tf.train.list_variables(str(tmp_path / "variables" / "variables"))
    assert len([name for name, _ in saved if "VARIABLE_VALUE" in name]) == len(model.weights)


# 2. model.export with no arguments.


@pytest.mark.parametrize("kind", ["row_lstm", "labels"])
def test_keras_export_serves_the_logits(kind, tmp_path):
    config = _config(kind)
    model = _model(config)
    inputs = _inputs(config, batch=3)
    model.export(str(tmp_path), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path))  # Held: its variables die with it.
    served = loaded.serve(inputs)
    assert served.dtype == tf.float32
    np.testing.assert_allclose(served, model(inputs), atol=1e-6)


# 3. Dtype policies.

_FEATURES = (2, 2, 3, 6)  # [batch, height, width, features] into a layer.
CONDITIONINGS = [
    (dict(num_biases=2, features=4, image_shape=(2, 2, 1), num_classes=3),
     np.array([0, 2], np.int32)),
    (dict(num_biases=2, features=4, image_shape=(4, 2, 1), condition_shape=(2, 1, 1)),
     np.ones((2, 2, 1, 1), np.float32)),
]


def _layer_ids(cases):
    return [cls.__name__ for cls, _ in cases]


@pytest.mark.parametrize("cls,kwargs", LAYERS, ids=_layer_ids(LAYERS))
def test_keras_layer_harness(cls, kwargs):
    """Keras's own checks: symbolic and eager calls, config round trips, a
    training step and mixed_float16 (output specs match outputs)."""
    testing.TestCase().run_layer_test(
        cls, kwargs, input_shape=_FEATURES, input_dtype="float32",
        expected_output_dtype="float32",
    )


@pytest.mark.parametrize("kwargs,condition", CONDITIONINGS, ids=["labels", "map"])
def test_keras_layer_harness_conditioning(kwargs, condition):
    testing.TestCase().run_layer_test(prt.conditioning.Conditioning, kwargs, input_data=condition)


def test_keras_layer_harness_model():
    config = _config("small_labels")
    images, labels = _inputs(config)
    testing.TestCase().run_layer_test(
        prt.models.PixelModel, dict(config=config), input_data=(images, labels),
        expected_output_shape=(2,) + config.image_shape + (config.num_levels,),
        expected_output_dtype="float32",
    )


def _sublayers(layer):
    """Every layer inside `layer`, recursively (attributes and lists of layers)."""
    found = []
    for value in vars(layer).values():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, keras.layers.Layer) and item is not layer and item not in found:
                found += [item] + [x for x in _sublayers(item) if x not in found]
    return found


def _assert_policy(layer, policy):
    """`layer` and every layer inside it have `policy`; the weights stay float32."""
    for sublayer in [layer] + _sublayers(layer):
        assert sublayer.dtype_policy.name == policy, sublayer.name
    for weight in layer.weights:
        assert weight.dtype == "float32", weight.path


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("cls,kwargs", LAYERS, ids=_layer_ids(LAYERS))
def test_layer_policy_reaches_sublayers(cls, kwargs, policy):
    x = np.random.default_rng(0).normal(size=_FEATURES).astype(np.float32)
    layer = cls(**kwargs, dtype=policy)
    outputs = layer(x)
    spec = layer.compute_output_spec(keras.KerasTensor(_FEATURES, dtype=layer.compute_dtype))
    assert outputs.dtype == spec.dtype == ("float32" if cls is layers.OutputStack else
                                           policy.split("_")[1])
    assert outputs.shape == spec.shape
    _assert_policy(layer, policy)
    assert cls.from_config(layer.get_config()).dtype_policy.name == policy


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("kind", ARCHS + ("labels", "multiscale"))
def test_model_policy_per_model_and_keras_round_trip(kind, policy, tmp_path):
    config = _config(kind)
    model = _model(config, dtype=policy)
    inputs = _inputs(config)
    logits = model(inputs)
    assert logits.dtype == tf.float32  # The likelihood stays float32.
    _assert_policy(model, policy)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert reloaded.dtype_policy.name == policy
    _assert_policy(reloaded, policy)
    np.testing.assert_array_equal(reloaded(inputs), logits)


@pytest.fixture
def global_policy(request):
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("global_policy", POLICIES, indirect=True)
def test_model_follows_the_global_policy(global_policy):
    config = _config("diagonal_bilstm")
    model = prt.build_model(config)
    _assert_policy(model, global_policy)
    assert model(_inputs(config)).dtype == tf.float32
    assert model.compute_dtype == global_policy.split("_")[1]


# 4. tfp's optimizers and TF's tape take the distribution's variables.


def test_trainable_variables_are_tf_variables_for_tape_and_tfp():
    config = _config("small")
    dist = prt.PixelRNN(_model(config, seed=0))
    images = random_images((4,) + config.image_shape, config.num_levels)
    variables = dist.trainable_variables
    assert variables and all(isinstance(v, tf.Variable) for v in variables)
    assert len(variables) == len(dist.model.trainable_weights)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(variables)
        loss = -tf.reduce_mean(dist.log_prob(images))
    assert all(g is not None for g in tape.gradient(loss, variables))
    losses = tfp.math.minimize(
        lambda: -tf.reduce_mean(dist.log_prob(images)), num_steps=5,
        optimizer=keras.optimizers.Adam(0.05), trainable_variables=variables,
    )
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(-tf.reduce_mean(dist.log_prob(images)), losses[-1], rtol=0.2)


# 5. fit without targets, output shapes, build twice.


@pytest.mark.parametrize("kind", ["small", "small_labels"])
def test_fit_and_evaluate_without_targets(kind):
    """A density model's target is its input: the images."""
    config = _config(kind)
    model = _model(config)
    loss = prt.losses.CategoricalNLL()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
    inputs = _inputs(config, batch=4)
    images = inputs[0] if isinstance(inputs, tuple) else inputs
    history = model.fit(inputs, epochs=3, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    expected = loss(images, model(inputs))
    np.testing.assert_allclose(model.evaluate(inputs, verbose=0), expected, rtol=1e-5)


@pytest.mark.parametrize("kind", ["row_lstm", "labels", "multiscale"])
def test_output_shape_keeps_the_batch_and_build_twice_is_harmless(kind):
    config = _config(kind)
    model = _model(config)
    weights = [w.numpy() for w in model.weights]
    model.build()
    model.build((3,) + config.image_shape)
    assert len(model.weights) == len(weights)
    for before, after in zip(weights, model.weights):
        np.testing.assert_array_equal(after, before)
    specs = tf.nest.map_structure(
        lambda s: keras.KerasTensor((3,) + tuple(s.shape[1:]), dtype=s.dtype.name),
        model.input_signature()[0],
    )
    shapes = tf.nest.map_structure(lambda s: s.shape, specs)
    expected = (3,) + config.image_shape + (config.num_levels,)
    assert model.compute_output_shape(shapes) == expected
    assert model(specs).shape == expected
    assert model.compute_output_spec(specs).dtype == "float32"
