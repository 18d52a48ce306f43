"""The one conditioning input: labels, vectors and maps on every architecture."""

import numpy as np
import pytest
import tensorflow as tf

import pixel_rnn_tf as prt
from helpers import assert_keras_round_trip
from helpers import black_box_violations
from helpers import flat_order
from helpers import gradient_dependence
from helpers import random_images
from helpers import randomize_weights
from helpers import stepper_logits
from helpers import tiny_config
from helpers import total_probability
from pixel_rnn_tf import conditioning
from pixel_rnn_tf import sampling

ARCHS = prt.configs.ARCHITECTURES
IMAGE_SHAPE = (4, 4, 3)
# The two kinds beyond labels; the map is half the image in each direction.
KINDS = {"vector": (5,), "map": (2, 2, 2)}


def _model(arch, kind, image_shape=IMAGE_SHAPE, num_layers=2, seed=0, scale=0.3, **kwargs):
    condition_shape = KINDS[kind]
    if kind == "map":
        condition_shape = (image_shape[0] // 2, image_shape[1] // 2, 2)
    config = tiny_config(arch, image_shape, num_layers=num_layers,
                         condition_shape=condition_shape, **kwargs)
    return randomize_weights(prt.build_model(config), seed, scale)


def _conditions(model, count, seed=0):
    shape = conditioning.event_shape(model.config)
    return np.random.default_rng(seed).normal(size=(count,) + shape).astype(np.float32)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("arch", ARCHS)
def test_images_stay_causal_whatever_the_condition(arch, kind):
    model = _model(arch, kind, num_layers=1)
    conditions = _conditions(model, 2)
    for condition in conditions:
        assert black_box_violations(model, IMAGE_SHAPE, 4, seed=2, condition=condition) == []
    images = random_images((2,) + IMAGE_SHAPE, 4, seed=4)
    depends = gradient_dependence(model, images, tf.constant(conditions))
    rank = {position: k for k, position in enumerate(flat_order(IMAGE_SHAPE))}
    for b in range(2):
        assert not depends[b, ..., 1 - b, :, :, :].any()
        for position in rank:
            for source in map(tuple, np.argwhere(depends[(b,) + position + (b,)])):
                assert rank[source] < rank[position], (position, source)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("arch", ARCHS)
def test_condition_moves_the_logits(arch, kind):
    model = _model(arch, kind, hidden_units=12, output_units=48)
    images = np.repeat(random_images((1,) + IMAGE_SHAPE, 4, seed=1), 2, axis=0)
    logits = model((images, _conditions(model, 2, seed=3))).numpy()
    moved = ~np.isclose(logits[0], logits[1], atol=1e-6).all(-1)  # [H, W, C]
    # Nearly everywhere: a ReLU of these small layers may be off at a few places.
    assert moved.mean() > 0.9


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("arch", ARCHS)
def test_normalized_for_every_condition(arch, kind):
    model = _model(arch, kind, image_shape=(2, 2, 1), num_levels=2)
    for condition in _conditions(model, 2):
        assert total_probability(model, (2, 2, 1), 2, condition) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("arch", ARCHS)
def test_cached_steps_equal_the_model(arch, kind):
    """One channel: every step's logits are the model's (C=3 is sampled below)."""
    model = _model(arch, kind, image_shape=(4, 4, 1))
    images = random_images((2, 4, 4, 1), 4, seed=5)
    condition = tf.constant(_conditions(model, 2))
    np.testing.assert_allclose(
        stepper_logits(model, images, condition), model((images, condition)).numpy(), atol=1e-5
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("arch", ARCHS)
def test_cached_equals_naive_with_and_without_xla(arch, kind):
    model = _model(arch, kind, image_shape=(2, 2, 3), num_layers=1)
    condition = _conditions(model, 3)
    naive = sampling.sample(model, 3, seed=(1, 2), method="naive", condition=condition)
    graph = sampling.sample(model, 3, seed=(1, 2), condition=condition, jit_compile=False)
    np.testing.assert_array_equal(graph, naive)
    if (arch, kind) in (
        ("pixel_cnn", "vector"), ("row_lstm", "map"), ("diagonal_bilstm", "map"),
        ("gated_pixel_cnn", "map"),
    ):
        # XLA compiles the same graph (seconds per model): each kind and architecture once.
        xla = sampling.sample(model, 3, seed=(1, 2), condition=condition, jit_compile=True)
        np.testing.assert_array_equal(xla, naive)


@pytest.mark.parametrize(
    "arch,kind", [("pixel_cnn", "vector"), ("row_lstm", "map"), ("diagonal_bilstm", "map")]
)
def test_keras_round_trip(arch, kind, tmp_path):
    model = _model(arch, kind, num_layers=1)
    inputs = (random_images((2,) + IMAGE_SHAPE, 4), _conditions(model, 2))
    reloaded = assert_keras_round_trip(model, inputs, tmp_path)
    assert reloaded.config == model.config


def test_distribution_and_complete_take_the_condition():
    image_shape = (2, 4, 3)
    model = _model("row_lstm", "map", image_shape=image_shape, num_layers=1)
    condition = _conditions(model, 2)
    images = random_images((2,) + image_shape, 4)
    dist = prt.PixelRNN(model, conditional_input=condition)
    assert dist.batch_shape == [2]
    expected = prt.head.log_prob(model((images, condition)), images)
    np.testing.assert_allclose(dist.log_prob(images), expected, rtol=1e-5)
    known = np.zeros(image_shape, bool)
    known[:1] = True
    completed = sampling.complete(model, images, known, seed=(3, 3), condition=condition)
    np.testing.assert_array_equal(completed.numpy()[:, :1], images[:, :1])
    np.testing.assert_array_equal(
        completed,
        sampling.complete(model, images, known, seed=(3, 3), condition=condition, method="naive"),
    )


def _labels_model():
    return randomize_weights(prt.build_model(tiny_config("pixel_cnn", (3, 4, 1), num_classes=2)))


@pytest.mark.parametrize(
    "make,condition,message",
    [
        (_labels_model, np.array([0.5, 1.9]), r"int labels.*never rounded.*float"),
        (_labels_model, np.array([[0], [1]]), r"shape \[batch\].*\(2, 1\)"),
        (_labels_model, np.array([0, 1, 1]), r"2 rows \(one per image\).*\(3,\)"),
        (_labels_model, np.array([0, 2]), r"\[0, 2\)"),
        (_labels_model, None, r"\(images, condition\)|pass `condition`"),
        (lambda: _model("pixel_cnn", "vector"), np.zeros((2, 5), np.int32), "floating dtype"),
        (lambda: _model("pixel_cnn", "vector"), np.zeros((2, 4), np.float32), r"\[batch, 5\]"),
        (lambda: _model("pixel_cnn", "vector"), np.zeros((5,), np.float32), r"\[batch, 5\]"),
        (lambda: _model("pixel_cnn", "map"), np.zeros((2, 3, 2, 2), np.float32),
         r"\[batch, 2, 2, 2\]"),
        (lambda: _model("pixel_cnn", "vector"), np.full((2, 5), np.nan, np.float32), "finite"),
    ],
)
def test_bad_conditions_are_named(make, condition, message):
    model = make()
    height, width, channels = model.config.image_shape
    images = np.zeros((2, height, width, channels), np.int32)
    with pytest.raises(ValueError, match=message):
        model(images if condition is None else (images, condition))
    with pytest.raises(ValueError, match=message):
        sampling.sample(model, 2, condition=condition)


def test_condition_for_an_unconditioned_model():
    model = randomize_weights(prt.build_model(tiny_config("pixel_cnn", (3, 4, 1))))
    with pytest.raises(ValueError, match="takes no condition"):
        sampling.sample(model, 2, condition=np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="takes images alone"):
        model((np.zeros((2, 3, 4, 1), np.int32), np.zeros((2, 5), np.float32)))


def test_bad_condition_in_graph_is_invalid_argument():
    model = _model("pixel_cnn", "vector")
    call = tf.function(
        model, input_signature=[(tf.TensorSpec([None, 4, 4, 3], tf.int32),
                                 tf.TensorSpec([None, 5], tf.float32))]
    )
    images = np.zeros((2,) + IMAGE_SHAPE, np.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="condition"):
        call((images, np.zeros((3, 5), np.float32)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="condition"):
        call((images, np.full((2, 5), np.inf, np.float32)))


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(num_classes=3, condition_shape=(2,)), "not both"),
        (dict(condition_shape=(3, 3, 1)), r"h dividing the height 4"),
        (dict(condition_shape=(2, 3, 1)), r"w the width 4"),
        (dict(condition_shape=(0,)), r"condition_shape=\(0,\)"),
        (dict(condition_shape=(2, 3)), r"condition_shape=\(2, 3\)"),
        (dict(condition_shape=5), r"condition_shape=5"),
        (dict(residual="no"), r"residual='no'"),
        (dict(skip=1), r"skip=1"),
        (dict(kernel_size=True), r"kernel_size=True"),
    ],
)
def test_bad_condition_config(changes, message):
    with pytest.raises(ValueError, match=message):
        tiny_config("pixel_cnn", IMAGE_SHAPE, **changes)


def test_specs_and_descriptions():
    labels = tiny_config("pixel_cnn", IMAGE_SHAPE, num_classes=3)
    vector = tiny_config("pixel_cnn", IMAGE_SHAPE, condition_shape=(5,))
    image_map = tiny_config("pixel_cnn", IMAGE_SHAPE, condition_shape=[2, 2, 2])
    assert image_map.condition_shape == (2, 2, 2)  # Normalized once, where it enters.
    assert [conditioning.kind(c) for c in (labels, vector, image_map)] == ["labels", "vector", "map"]
    assert conditioning.spec(labels) == tf.TensorSpec([None], tf.int32, name="condition")
    assert conditioning.spec(image_map) == tf.TensorSpec([None, 2, 2, 2], tf.float32, name="condition")
    assert conditioning.spec(tiny_config("pixel_cnn", IMAGE_SHAPE)) is None
    assert prt.ModelConfig.from_dict(image_map.to_dict()) == image_map


def test_load_file_names_the_argument_for_missing_and_damaged_files(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, np.arange(3, dtype=np.int32))
    np.testing.assert_array_equal(conditioning.load_file(str(good)), [0, 1, 2])
    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(good.read_bytes()[:-5])
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not numpy at all")
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for path in (truncated, garbage, pickled):
        with pytest.raises(ValueError, match=rf"--condition={str(path)!r}, which numpy cannot"):
            conditioning.load_file(str(path), "--condition")
    with pytest.raises(ValueError, match=r"condition=.*missing.npy.*no file"):
        conditioning.load_file(str(tmp_path / "missing.npy"))
