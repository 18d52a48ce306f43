"""Tests of `PixelRNN` and `Dequantized`: likelihood, sampling, tfp composition."""

import functools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import pixel_rnn_tf as prt
from helpers import all_images
from helpers import black_box_violations
from helpers import flat_order
from helpers import gradient_dependence
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config

tfd = tfp.distributions
tfb = tfp.bijectors

ARCHS = ("pixel_cnn", "row_lstm", "diagonal_bilstm")
TINY = (1, 2, 1)  # 16 images of 4 levels: small enough to enumerate and to sample densely.


@functools.lru_cache(maxsize=None)
def _model(
    arch="pixel_cnn", image_shape=TINY, num_levels=4, num_classes=None, seed=0,
    condition_shape=None,
):
    config = tiny_config(
        arch, image_shape, num_levels=num_levels, num_classes=num_classes,
        condition_shape=condition_shape,
    )
    model = randomize_weights(prt.build_model(config), seed, scale=0.3)
    if num_classes:
        # Strong class biases, so a mixed-up label shows in the samples.
        rng = np.random.default_rng(seed + 100)
        for variable in model.weights:
            if variable.name == "embeddings":  # The label embeddings.
                variable.assign(rng.normal(0.0, 2.0, variable.shape))
    return model


# The three kinds of condition (`conditioning`), on TINY images: int labels,
# float vectors [3] and float maps [1, 1, 2] (upsampled to 1 x 2).
KINDS = {"labels": dict(num_classes=3), "vector": dict(condition_shape=(3,)),
         "map": dict(condition_shape=(1, 1, 2))}


def _kind_model(kind):
    return _model(**KINDS[kind])


def _conditions(kind, batch_shape, seed=0):
    """Conditions of `kind` with leading dims `batch_shape`."""
    rng = np.random.default_rng(seed)
    if kind == "labels":
        return rng.integers(0, 3, batch_shape).astype(np.int32)
    event = KINDS[kind]["condition_shape"]
    return rng.normal(size=tuple(batch_shape) + event).astype(np.float32)


def _numpy_log_prob(logits, images):
    """Sum over pixels of a numpy log-softmax, picked at `images`: `[batch]`."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_softmax, images[..., None].astype(np.int64), -1)
    return picked.reshape(len(images), -1).sum(-1)


def _frequencies(samples, image_shape, num_levels):
    """Empirical probability of each image of `all_images` order: `[L ** D]`."""
    flat = np.asarray(samples).reshape(-1, int(np.prod(image_shape)))
    index = flat @ (num_levels ** np.arange(flat.shape[1])[::-1])
    return np.bincount(index, minlength=num_levels ** flat.shape[1]) / len(flat)


def _total_variation(p, q):
    return 0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum()


# Likelihood.


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("image_shape", [(2, 3, 1), (2, 2, 3)])
def test_log_prob_is_sum_of_per_pixel_log_softmax(arch, image_shape):
    model = _model(arch, image_shape)
    images = random_images((3,) + image_shape, 4, seed=1)
    expected = _numpy_log_prob(model(images), images)
    np.testing.assert_allclose(prt.PixelRNN(model).log_prob(images), expected, rtol=1e-5)


def test_shapes_and_leading_dims():
    model = _model(image_shape=(2, 3, 1))
    dist = prt.PixelRNN(model)
    assert dist.dtype == tf.int32
    assert dist.event_shape == [2, 3, 1] and dist.batch_shape == []
    assert dist.reparameterization_type == tfd.NOT_REPARAMETERIZED
    assert list(dist.event_shape_tensor().numpy()) == [2, 3, 1]
    assert dist.parameters["model"] is model
    images = random_images((4, 5, 2, 3, 1), 4, seed=2)  # [S, B, H, W, C]
    flat = dist.log_prob(images.reshape(20, 2, 3, 1)).numpy()  # [S * B]
    log_prob = dist.log_prob(images)
    assert log_prob.shape == (4, 5)
    np.testing.assert_allclose(log_prob.numpy().reshape(20), flat, rtol=1e-6)
    assert dist.log_prob(images[0, 0]).shape == ()
    assert dist.sample(seed=(1, 2)).shape == (2, 3, 1)
    assert dist.sample([2, 3], seed=(1, 2)).shape == (2, 3, 2, 3, 1)


@pytest.mark.parametrize("arch", ARCHS)
def test_normalization(arch):
    image_shape = (1, 2, 3)  # 4 ** 6 = 4096 images.
    dist = prt.PixelRNN(_model(arch, image_shape))
    total = tf.reduce_sum(tf.exp(dist.log_prob(all_images(image_shape, 4))))
    np.testing.assert_allclose(float(total), 1.0, atol=1e-4)


def test_intractable_statistics_raise():
    dist = prt.PixelRNN(_model())
    for statistic in (dist.mean, dist.mode, dist.variance, dist.stddev, dist.entropy):
        with pytest.raises(NotImplementedError, match="intractable"):
            statistic()
    assert dist.experimental_default_event_space_bijector() is None


def test_trainable_variables_are_the_networks():
    model = _model()
    dist = prt.PixelRNN(model)
    assert len(dist.trainable_variables) == len(model.trainable_variables) > 0
    images = all_images(TINY, 4)
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(dist.log_prob(images))
    gradients = tape.gradient(loss, dist.trainable_variables)
    assert all(g is not None for g in gradients)


# Sampling.


def test_sample_shape_dtype_range_and_seeds():
    dist = prt.PixelRNN(_model(image_shape=(2, 3, 1)))
    samples = dist.sample(6, seed=(1, 2))
    assert samples.shape == (6, 2, 3, 1) and samples.dtype == tf.int32
    assert 0 <= samples.numpy().min() and samples.numpy().max() < 4
    np.testing.assert_array_equal(dist.sample(6, seed=(1, 2)), samples)
    np.testing.assert_array_equal(dist.sample(6, seed=tf.constant([1, 2])), samples)
    assert not np.array_equal(dist.sample(6, seed=(1, 3)), samples)


def test_sample_in_tf_function_matches_eager():
    dist = prt.PixelRNN(_model(image_shape=(2, 3, 1)))

    @tf.function
    def sample_and_score(seed):
        samples = dist.sample(3, seed=seed)
        return samples, dist.log_prob(samples)

    samples, log_prob = sample_and_score(tf.constant([4, 5]))
    np.testing.assert_array_equal(samples, dist.sample(3, seed=(4, 5)))
    np.testing.assert_allclose(log_prob, dist.log_prob(samples), rtol=1e-6)


def test_sample_frequencies_match_probabilities():
    dist = prt.PixelRNN(_model())
    expected = np.exp(dist.log_prob(all_images(TINY, 4)).numpy())
    observed = _frequencies(dist.sample(4000, seed=(7, 8)), TINY, 4)
    assert _total_variation(observed, expected) < 0.05


# Composition with tfp.


def test_sample_wrapper():
    dist = prt.PixelRNN(_model())
    iid = tfd.Sample(dist, 3)
    assert iid.event_shape == [3] + list(TINY)
    draws = iid.sample(2, seed=(1, 2))  # [2, 3, 1, 2, 1]
    assert draws.shape == (2, 3) + TINY
    np.testing.assert_allclose(
        iid.log_prob(draws), tf.reduce_sum(dist.log_prob(draws), -1), rtol=1e-6
    )


def test_mixture_log_prob_and_samples():
    first = prt.PixelRNN(_model("pixel_cnn", seed=1))
    second = prt.PixelRNN(_model("row_lstm", seed=2))
    weights = np.array([0.3, 0.7], np.float32)
    mixture = tfd.Mixture(
        cat=tfd.Categorical(probs=weights), components=[first, second]
    )
    images = all_images(TINY, 4)
    by_hand = np.logaddexp(
        np.log(weights[0]) + first.log_prob(images).numpy(),
        np.log(weights[1]) + second.log_prob(images).numpy(),
    )
    log_prob = mixture.log_prob(images)
    np.testing.assert_allclose(log_prob, by_hand, rtol=1e-5)
    samples = mixture.sample(4000, seed=(3, 4))
    assert samples.shape == (4000,) + TINY and samples.dtype == tf.int32
    np.testing.assert_array_equal(mixture.sample(5, seed=(3, 4)), mixture.sample(5, seed=(3, 4)))
    observed = _frequencies(samples, TINY, 4)
    assert _total_variation(observed, np.exp(by_hand)) < 0.05
    # Graph mode.
    np.testing.assert_allclose(tf.function(mixture.log_prob)(images), by_hand, rtol=1e-5)


def _class_prior():
    return tfd.Categorical(probs=[0.2, 0.3, 0.5], dtype=tf.int32)


def _joint_distributions(model):
    def coroutine():
        label = yield tfd.JointDistributionCoroutine.Root(_class_prior())
        yield prt.PixelRNN(model, conditional_input=label)

    def coroutine_autobatched():
        label = yield _class_prior()
        yield prt.PixelRNN(model, conditional_input=label)

    named = tfd.JointDistributionNamed(
        dict(label=_class_prior(), image=lambda label: prt.PixelRNN(model, conditional_input=label))
    )
    return {
        "coroutine": tfd.JointDistributionCoroutine(coroutine),
        "coroutine_autobatched": tfd.JointDistributionCoroutineAutoBatched(coroutine_autobatched),
        "named": named,
    }


# The autobatched joint warns that stateless seeds make it loop: expected.
@pytest.mark.filterwarnings("ignore:Saw Tensor seed")
@pytest.mark.parametrize("kind", ["coroutine", "coroutine_autobatched", "named"])
def test_joint_distribution_with_class_prior(kind):
    model = _model(num_classes=3)
    joint = _joint_distributions(model)[kind]
    draw = joint.sample(4, seed=(1, 2))
    label, image = (draw["label"], draw["image"]) if kind == "named" else draw
    assert label.shape == (4,) and image.shape == (4,) + TINY and image.dtype == tf.int32
    by_hand = _class_prior().log_prob(label) + prt.PixelRNN(
        model, conditional_input=label
    ).log_prob(image)
    np.testing.assert_allclose(joint.log_prob(draw), by_hand, rtol=1e-5)
    np.testing.assert_allclose(tf.function(joint.log_prob)(draw), by_hand, rtol=1e-5)


def test_joint_distribution_sample_in_graph():
    model = _model(num_classes=3)
    joint = _joint_distributions(model)["coroutine"]

    @tf.function
    def sample_and_score(seed):
        draw = joint.sample(3, seed=seed)
        return draw, joint.log_prob(draw)

    draw, log_prob = sample_and_score(tf.constant([5, 6]))
    assert draw[1].shape == (3,) + TINY
    assert np.all(np.isfinite(log_prob))


def test_batch_slicing_and_copy():
    model = _model(num_classes=3)
    dist = prt.PixelRNN(model, conditional_input=[[0, 1, 2]])
    assert dist.batch_shape == [1, 3]
    images = random_images((1, 3) + TINY, 4, seed=3)
    sliced = dist[0, 1:]
    assert sliced.batch_shape == [2]
    np.testing.assert_allclose(sliced.log_prob(images[0, 1:]), dist.log_prob(images)[0, 1:])
    assert dist.copy(conditional_input=2).batch_shape == []
    independent = tfd.Independent(dist, reinterpreted_batch_ndims=2)
    assert independent.batch_shape == [] and independent.event_shape == [1, 3] + list(TINY)
    np.testing.assert_allclose(
        independent.log_prob(images), tf.reduce_sum(dist.log_prob(images)), rtol=1e-6
    )


# Class conditioning.


@pytest.mark.parametrize("arch", ARCHS)
def test_conditional_model_is_causal(arch):
    image_shape = (3, 4, 3)
    model = _model(arch, image_shape, num_classes=3)
    for label in range(3):
        assert black_box_violations(model, image_shape, 4, seed=2, condition=label) == []
    images = random_images((2,) + image_shape, 4, seed=4)
    depends = gradient_dependence(model, images, condition=np.array([0, 2], np.int32))
    rank = {position: k for k, position in enumerate(flat_order(image_shape))}
    for b in range(2):
        assert not depends[b, ..., 1 - b, :, :, :].any()
        for position in rank:
            for source in map(tuple, np.argwhere(depends[(b,) + position + (b,)])):
                assert rank[source] < rank[position]


@pytest.mark.parametrize("arch", ARCHS)
def test_conditional_log_prob_differs_by_label_and_normalizes(arch):
    model = _model(arch, num_classes=3)
    images = all_images(TINY, 4)
    dist = prt.PixelRNN(model, conditional_input=[[0], [1], [2]])  # batch [3, 1]
    log_prob = dist.log_prob(images).numpy()  # [3, 16]: labels x images
    assert log_prob.shape == (3, 16)
    assert not np.allclose(log_prob[0], log_prob[1]) and not np.allclose(log_prob[1], log_prob[2])
    np.testing.assert_allclose(np.exp(log_prob).sum(-1), 1.0, atol=1e-5)
    logits = model((images, np.full(16, 2, np.int32)))
    np.testing.assert_allclose(log_prob[2], _numpy_log_prob(logits, images), rtol=1e-5)


def test_conditional_samples_follow_their_labels():
    model = _model(num_classes=3)
    dist = prt.PixelRNN(model, conditional_input=[[0, 1, 2]])
    samples = dist.sample(3000, seed=(9, 9))
    assert samples.shape == (3000, 1, 3) + TINY
    images = all_images(TINY, 4)
    for label in range(3):
        expected = np.exp(prt.PixelRNN(model, conditional_input=label).log_prob(images))
        observed = _frequencies(samples[:, 0, label], TINY, 4)
        assert _total_variation(observed, expected) < 0.06, f"label {label}"


# Every kind of condition: labels, vectors, maps.


@pytest.mark.parametrize("kind", list(KINDS))
def test_condition_log_prob_is_the_models(kind):
    model = _kind_model(kind)
    images = random_images((4,) + TINY, 4, seed=5)
    condition = _conditions(kind, (4,), seed=1)
    nll = -prt.head.log_prob(model((images, condition)), images)
    dist = prt.PixelRNN(model, conditional_input=condition)
    assert dist.batch_shape == [4]
    np.testing.assert_allclose(dist.log_prob(images), -nll, rtol=1e-5)
    np.testing.assert_allclose(tf.function(dist.log_prob)(images), -nll, rtol=1e-5)
    # The condition matters, and each image's own is used.
    other = _conditions(kind, (4,), seed=2)
    assert not np.allclose(prt.PixelRNN(model, conditional_input=other).log_prob(images), -nll)
    np.testing.assert_allclose(
        prt.PixelRNN(model, conditional_input=condition[2]).log_prob(images[2]), -nll[2],
        rtol=1e-5,
    )


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("batch_shape", [(), (3,), (2, 3)])
def test_condition_batch_shapes_and_samples(kind, batch_shape):
    model = _kind_model(kind)
    condition = _conditions(kind, batch_shape, seed=3)
    # The naive sampler: no XLA compilation per shape (TINY has 2 pixels).
    dist = prt.PixelRNN(model, conditional_input=condition, sample_method="naive")
    assert dist.batch_shape == batch_shape
    assert list(dist.batch_shape_tensor().numpy()) == list(batch_shape)
    images = random_images(batch_shape + TINY, 4, seed=6)
    log_prob = dist.log_prob(images)
    assert log_prob.shape == batch_shape
    flat = condition.reshape((-1,) + condition.shape[len(batch_shape):])
    expected = prt.head.log_prob(model((images.reshape((-1,) + TINY), flat)), images.reshape(
        (-1,) + TINY))
    np.testing.assert_allclose(log_prob.numpy().reshape(-1), expected, rtol=1e-5)
    samples = dist.sample(2, seed=(1, 2))
    assert samples.shape == (2,) + batch_shape + TINY and samples.dtype == tf.int32
    if len(batch_shape) == 1:  # Once per kind: sampling is the costly part.
        np.testing.assert_array_equal(dist.sample(2, seed=(1, 2)), samples)
        # [n, batch...] row-major: the sampler's images for the conditions in that order.
        tiled = np.concatenate([condition, condition])
        np.testing.assert_array_equal(
            samples.numpy().reshape((-1,) + TINY),
            prt.sampling.sample(model, len(tiled), seed=(1, 2), method="naive", condition=tiled),
        )
    density = prt.Dequantized(dist)
    assert density.batch_shape == batch_shape
    np.testing.assert_allclose(density.log_prob(images + 0.5), log_prob, rtol=1e-6)
    if batch_shape:
        # tfp slices the condition by its event_ndims (0, 1 or 3).
        sliced = dist[..., 1:]
        assert sliced.batch_shape == batch_shape[:-1] + (batch_shape[-1] - 1,)
        np.testing.assert_allclose(sliced.log_prob(images[..., 1:, :, :, :]), log_prob[..., 1:],
                                   rtol=1e-6)
        independent = tfd.Independent(dist, reinterpreted_batch_ndims=len(batch_shape))
        np.testing.assert_allclose(independent.log_prob(images), tf.reduce_sum(log_prob),
                                   rtol=1e-5)


def test_joint_distribution_with_a_vector_prior():
    model = _kind_model("vector")
    joint = tfd.JointDistributionNamed(dict(
        vector=tfd.Sample(tfd.Normal(0.0, 1.0), 3),
        image=lambda vector: prt.PixelRNN(model, conditional_input=vector, sample_method="naive"),
    ))
    draw = joint.sample(4, seed=(1, 2))
    assert draw["vector"].shape == (4, 3) and draw["image"].shape == (4,) + TINY
    by_hand = tfd.Sample(tfd.Normal(0.0, 1.0), 3).log_prob(draw["vector"]) + prt.PixelRNN(
        model, conditional_input=draw["vector"]
    ).log_prob(draw["image"])
    np.testing.assert_allclose(joint.log_prob(draw), by_hand, rtol=1e-5)


# (kind, condition of 2 images, error pattern) for `PixelRNN` and the sampler.
BAD_CONDITIONS = [
    ("labels", np.array([0.5, 1.9]), r"`{}` to be int labels.*float64"),
    ("labels", np.array([0, 3]), r"`{}` values in \[0, 3\)"),
    ("vector", np.zeros([2, 3], np.int32), r"`{}` to be a float vector.*int32"),
    ("vector", np.zeros([2, 4], np.float32), r"`{}` of shape \[batch, 3\].*\(2, 4\)"),
    ("vector", np.array([[0.0, np.nan, 1.0]] * 2, np.float32), r"`{}` to be finite"),
    ("map", np.zeros([2, 1, 2, 2], np.float32), r"`{}` of shape \[batch, 1, 1, 2\]"),
    ("map", np.zeros([2, 1, 1], np.float32), r"`{}` of shape \[(batch, )?1, 1, 2\]"),
    ("map", np.full([2, 1, 1, 2], np.inf, np.float32), r"`{}` to be finite"),
]


@pytest.mark.parametrize("kind, condition, pattern", BAD_CONDITIONS)
def test_bad_conditions_name_the_argument(kind, condition, pattern):
    model = _kind_model(kind)
    with pytest.raises(ValueError, match=pattern.format("conditional_input")):
        prt.PixelRNN(model, conditional_input=condition)
    with pytest.raises(ValueError, match=pattern.format("condition")):
        prt.sampling.sample(model, 2, seed=(1, 2), condition=condition)


@pytest.mark.parametrize("kind", list(KINDS))
def test_sampler_wants_one_condition_per_image(kind):
    model = _kind_model(kind)
    with pytest.raises(ValueError, match=r"`condition` with 3 rows.*\(2"):
        prt.sampling.sample(model, 3, seed=(1, 2), condition=_conditions(kind, (2,)))
    with pytest.raises(ValueError, match=r"`condition`"):
        prt.sampling.sample(model, 2, seed=(1, 2))
    with pytest.raises(ValueError, match=r"pass `conditional_input`"):
        prt.PixelRNN(model)
    if kind == "labels":
        # [B, 1] labels would broadcast one label per row: refused, not reshaped.
        with pytest.raises(ValueError, match=r"`condition` of shape \[batch\].*\(2, 1\)"):
            prt.sampling.sample(model, 2, seed=(1, 2), condition=np.zeros([2, 1], np.int32))
    with pytest.raises(ValueError, match=r"`conditional_input` must be None"):
        prt.PixelRNN(_model(), conditional_input=_conditions(kind, (2,)))


# Bad input.


def test_bad_images_name_the_argument():
    dist = prt.PixelRNN(_model())
    images = random_images((2,) + TINY, 4)
    for floats in (images + 0.5, tf.constant(images, tf.float32), [[[[0.5], [1.0]]]]):
        # numpy floats would be truncated by tfp's int32 conversion: caught first.
        with pytest.raises(ValueError, match=r"`value`.*integer dtype.*float"):
            dist.log_prob(floats)
    with pytest.raises(ValueError, match=r"`value`.*integer dtype.*float64"):
        dist.prob(images + 0.5)
    with pytest.raises(ValueError, match=r"`value` of shape \[\.\.\., 1, 2, 1\].*\(2, 1, 3, 1\)"):
        dist.log_prob(random_images((2, 1, 3, 1), 4))
    too_big = images.copy()
    too_big[1, 0, 1, 0] = 4
    with pytest.raises(ValueError, match=r"`value` values in \[0, 4\).*4\]"):
        dist.log_prob(too_big)
    with pytest.raises(ValueError, match=r"`value` values in \[0, 4\)"):
        dist.log_prob(images - 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`value` values must be < 4"):
        tf.function(dist.log_prob)(tf.constant(images + 4))


def test_bad_labels_and_arguments_name_the_argument():
    conditional, plain = _model(num_classes=3), _model()
    with pytest.raises(ValueError, match=r"`conditional_input` values in \[0, 3\).*\[1, 3\]"):
        prt.PixelRNN(conditional, conditional_input=[1, 3])
    with pytest.raises(ValueError, match=r"`conditional_input`.*float32"):
        prt.PixelRNN(conditional, conditional_input=[1.0])
    with pytest.raises(ValueError, match=r"int labels.*in \[0, 3\).*pass `conditional_input`"):
        prt.PixelRNN(conditional)
    with pytest.raises(ValueError, match=r"num_classes=None.*`conditional_input` must be None"):
        prt.PixelRNN(plain, conditional_input=[0])
    with pytest.raises(ValueError, match=r"`sample_method`.*'fast'"):
        prt.PixelRNN(plain, sample_method="fast")
    with pytest.raises(ValueError, match=r"`model`.*str"):
        prt.PixelRNN("model.keras")
    with pytest.raises(ValueError, match=r"`value` to broadcast.*\(3,\).*`conditional_input`"):
        prt.PixelRNN(conditional, conditional_input=[0, 1, 2]).log_prob(
            random_images((2,) + TINY, 4)
        )


# Dequantized.


def test_dequantized_log_prob_is_discrete_log_prob_of_floor():
    dist = prt.PixelRNN(_model(image_shape=(2, 2, 3)))
    density = prt.Dequantized(dist)
    assert density.dtype == tf.float32 and density.num_levels == 4
    assert density.event_shape == [2, 2, 3] and density.batch_shape == []
    images = random_images((5, 2, 2, 3), 4, seed=6)
    corners = images.astype(np.float32)
    noise = np.random.default_rng(0).uniform(0.0, 1.0, images.shape).astype(np.float32)
    values = corners + noise  # [5, 2, 2, 3] float32
    values[0] = corners[0]  # The cube's closed corner.
    values[1] = np.nextafter(corners[1] + 1, corners[1])  # Just inside its open side.
    np.testing.assert_allclose(density.log_prob(values), dist.log_prob(images), rtol=1e-6)
    np.testing.assert_allclose(density.log_prob(images), dist.log_prob(images), rtol=1e-6)
    off = np.tile(images[:1].astype(np.float32), (4, 1, 1, 1))
    off[0, 0, 0, 0], off[1, 1, 1, 2], off[2, 0, 1, 1], off[3, 0, 0, 0] = -1e-3, 4.0, np.nan, 7.5
    assert np.all(density.log_prob(off).numpy() == -np.inf)


def test_dequantized_density_integrates_to_one():
    density = prt.Dequantized(prt.PixelRNN(_model()))  # On [0, 4)^2, volume 16.
    points = np.random.default_rng(1).uniform(0.0, 4.0, (20000,) + TINY).astype(np.float32)
    integral = 16.0 * np.mean(np.exp(density.log_prob(points).numpy()))
    np.testing.assert_allclose(integral, 1.0, atol=0.03)


def test_dequantized_samples():
    dist = prt.PixelRNN(_model(image_shape=(2, 3, 1)))
    density = prt.Dequantized(dist)
    samples = density.sample(5, seed=(1, 2))
    assert samples.shape == (5, 2, 3, 1) and samples.dtype == tf.float32
    assert 0.0 <= samples.numpy().min() and samples.numpy().max() < 4.0
    np.testing.assert_array_equal(density.sample(5, seed=(1, 2)), samples)
    assert not np.array_equal(density.sample(5, seed=(1, 3)), samples)
    assert not np.all(samples.numpy() == np.floor(samples.numpy()))  # Noise was added.
    floors = tf.cast(tf.floor(samples), tf.int32)
    np.testing.assert_allclose(density.log_prob(samples), dist.log_prob(floors), rtol=1e-6)
    in_graph = tf.function(lambda seed: density.sample(5, seed=seed))(tf.constant([1, 2]))
    np.testing.assert_array_equal(in_graph, samples)


def test_dequantized_samples_stay_below_the_top_level():
    # 255 + u rounds to 256 in float32 for u > 1 - 2^-17: about 8 times in
    # 10^6 draws. Samples must stay in their discrete value's cube.
    top = tfd.Sample(tfd.Deterministic(tf.constant(255, tf.int32)), [1000, 1000])
    samples = prt.Dequantized(top, num_levels=256).sample(seed=(0, 1)).numpy()
    assert samples.min() >= 255.0 and samples.max() < 256.0


def test_dequantized_unit_scale_matches_metrics():
    # On [0, 1]^D (y / num_levels) the NLL is D * ln(num_levels) smaller.
    dist = prt.PixelRNN(_model(image_shape=(2, 2, 3)))
    unit = tfd.TransformedDistribution(prt.Dequantized(dist), tfb.Scale(1.0 / 4))
    images = random_images((3, 2, 2, 3), 4, seed=7)
    nats = -dist.log_prob(images).numpy()
    np.testing.assert_allclose(
        -unit.log_prob((images + 0.5) / 4).numpy(),
        prt.metrics.dequantized_nats(nats, (2, 2, 3), num_levels=4),
        rtol=1e-5,
    )


def test_dequantized_delegates_moments_and_validates():
    logits = tf.constant(np.random.default_rng(2).normal(size=(2, 1, 2, 1, 3)), tf.float32)
    discrete = prt.head.pixel_distribution(logits)  # batch [2], event [1, 2, 1]
    density = prt.Dequantized(discrete, num_levels=3)
    assert density.batch_shape == [2]
    np.testing.assert_allclose(density.entropy(), discrete.entropy(), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="intractable"):
        prt.Dequantized(prt.PixelRNN(_model())).entropy()
    with pytest.raises(ValueError, match=r"`num_levels`.*None"):
        prt.Dequantized(discrete)
    with pytest.raises(ValueError, match=r"`num_levels`.*0"):
        prt.Dequantized(discrete, num_levels=0)
    with pytest.raises(ValueError, match=r"`distribution`.*integers"):
        prt.Dequantized(tfd.Normal(0.0, 1.0), num_levels=2)
    with pytest.raises(ValueError, match=r"`value` of shape \[\.\.\., 1, 2, 1\].*\(3, 2, 1\)"):
        density.log_prob(tf.zeros([3, 2, 1]))
    assert isinstance(density.experimental_default_event_space_bijector(), tfb.Sigmoid)


@pytest.mark.parametrize("seed", ["abc", (1, 2, 3), 1.5])
def test_sample_names_a_bad_seed(seed):
    dist = prt.PixelRNN(prt.build_model(tiny_config("pixel_cnn", (2, 2, 1), num_levels=2)))
    with pytest.raises(ValueError, match=r"Expected `seed`.*Received: seed="):
        dist.sample(1, seed=seed)


def test_log_prob_under_xla_answers_outside_the_support_as_tfp_does():
    """XLA compiles the assertions away: a pixel out of range gives probability zero
    (`-inf`), a label out of range NaN; valid values keep their log-probabilities."""
    model = prt.build_model(tiny_config("pixel_cnn", (2, 2, 1), num_levels=2, num_classes=3))
    randomize_weights(model, seed=3)
    images = random_images((3, 2, 2, 1), 2)
    labels = np.array([0, 1, 2], np.int32)
    expected = prt.PixelRNN(model, conditional_input=labels).log_prob(images).numpy()

    @tf.function(jit_compile=True)
    def log_prob(images, labels):
        return prt.PixelRNN(model, conditional_input=labels).log_prob(images)

    np.testing.assert_allclose(log_prob(images, labels).numpy(), expected, rtol=1e-5)
    bad_images = images.copy()
    bad_images[1, 1, 1, 0] = 2
    answer = log_prob(bad_images, labels).numpy()
    np.testing.assert_allclose(answer[[0, 2]], expected[[0, 2]], rtol=1e-5)
    assert answer[1] == -np.inf
    answer = log_prob(images, np.array([0, 3, 2], np.int32)).numpy()
    assert np.isnan(answer[1]) and np.isfinite(answer[[0, 2]]).all()
    # Without XLA the same values are refused, naming them.
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="value"):
        prt.PixelRNN(model, conditional_input=labels).log_prob(bad_images)
