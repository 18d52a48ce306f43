"""The one sampler: cached == naive, correct in distribution, completion, errors.

Most comparisons run the cached stepper as a plain TensorFlow graph
(`jit_compile=False`): XLA compiles that same graph, and compiling costs
seconds per model, so `test_xla_equals_graph_and_naive` covers XLA once per
architecture.
"""

import numpy as np
import pytest
import tensorflow as tf

import pixel_rnn_tf as prt
from pixel_rnn_tf import sampling
from helpers import PAPER_ARCHITECTURES
from helpers import all_images
from helpers import chi_square_p_value
from helpers import image_codes
from helpers import random_images
from helpers import randomize_weights
from helpers import stepper_logits
from helpers import tiny_config

ARCHS = prt.configs.ARCHITECTURES
NUM_DRAWS = 20_000


def _model(arch, image_shape, num_layers=1, seed=0, scale=0.3, **kwargs):
    """A tiny model with random weights; scale 0.3 keeps every conditional non-degenerate."""
    model = prt.build_model(tiny_config(arch, image_shape, num_layers=num_layers, **kwargs))
    return randomize_weights(model, seed, scale)


@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("height_width,num_layers", [((3, 4), 1), ((4, 3), 3), ((3, 4), 3)])
def test_cached_equals_naive(arch, channels, height_width, num_layers):
    model = _model(arch, height_width + (channels,), num_layers)
    naive = sampling.sample(model, 4, seed=(1, 2), method="naive")
    cached = sampling.sample(model, 4, seed=(1, 2), method="cached", jit_compile=False)
    np.testing.assert_array_equal(cached, naive)
    assert len(np.unique(naive)) > 1  # Not a degenerate model.


@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
def test_xla_equals_graph_and_naive(arch):
    model = _model(arch, (4, 3, 3), num_layers=2)
    naive = sampling.sample(model, 3, seed=(3, 1), method="naive")
    xla = sampling.sample(model, 3, seed=(3, 1), method="cached", jit_compile=True)
    np.testing.assert_array_equal(xla, naive)
    # "auto", called eagerly, is the XLA-compiled cached sampler.
    np.testing.assert_array_equal(sampling.sample(model, 3, seed=(3, 1)), naive)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("image_shape", [(3, 4, 3), (4, 3, 1)])
def test_cached_logits_equal_model_at_every_step(arch, image_shape):
    """The stepper, run over a fixed random image, gives `model(images)`."""
    model = _model(arch, image_shape, num_layers=2)
    images = random_images((2,) + image_shape, 4, seed=7)
    expected = model(images).numpy()  # [B, H, W, C, L]
    np.testing.assert_allclose(
        stepper_logits(model, images), expected, atol=1e-5
    )


@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
def test_class_conditional(arch):
    model = _model(arch, (3, 4, 3), num_layers=2, num_classes=3)
    labels = np.array([0, 1, 2, 1], np.int32)
    images = random_images((4, 3, 4, 3), 4, seed=8)
    np.testing.assert_allclose(
        stepper_logits(model, images, tf.constant(labels)),
        model((images, labels)).numpy(),
        atol=1e-5,
    )
    naive = sampling.sample(model, 4, seed=(5, 6), method="naive", condition=labels)
    cached = sampling.sample(
        model, 4, seed=(5, 6), method="cached", condition=labels, jit_compile=False
    )
    np.testing.assert_array_equal(cached, naive)
    # The labels matter: the same seed with other labels draws other images.
    other = sampling.sample(model, 4, seed=(5, 6), condition=labels[::-1])
    assert not np.array_equal(other, naive)


@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
def test_frequencies_match_probabilities(arch):
    """20,000 samples of 2x2x1 binary images against exp(log_prob) of all 16.

    The same statistic against the probabilities of the images transposed or
    mirrored (pixels taken in a wrong order) must fail, so it is strict
    enough to catch a sampler that draws pixels in the wrong order.
    """
    image_shape = (2, 2, 1)
    model = _model(arch, image_shape, num_layers=2, num_levels=2, scale=0.25, seed=3)
    images = all_images(image_shape, 2)  # [16, 2, 2, 1]
    probs = np.exp(prt.head.log_prob(model(images), images).numpy())
    assert probs.min() > 0.004  # Every expected count is large: the chi-square test is valid.
    counts = np.bincount(image_codes(sampling.sample(model, NUM_DRAWS, seed=(7, 8)).numpy()), minlength=16)

    def p_value(reordered):
        return chi_square_p_value(counts[image_codes(reordered)], probs)

    assert p_value(images) > 1e-3, (counts[image_codes(images)], NUM_DRAWS * probs)
    assert np.abs(counts[image_codes(images)] / NUM_DRAWS - probs).max() < 0.01
    assert p_value(images.transpose(0, 2, 1, 3)) < 1e-6
    assert p_value(images[:, :, ::-1]) < 1e-6


@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
def test_frequencies_follow_channel_order(arch):
    """1x1x3 binary images: R, then G given R, then B given R and G."""
    image_shape = (1, 1, 3)
    model = _model(arch, image_shape, num_levels=2, scale=0.4, seed=11)
    images = all_images(image_shape, 2)  # [8, 1, 1, 3]
    probs = np.exp(prt.head.log_prob(model(images), images).numpy())
    counts = np.bincount(image_codes(sampling.sample(model, NUM_DRAWS, seed=(9, 9)).numpy()), minlength=8)
    assert chi_square_p_value(counts[image_codes(images)], probs) > 1e-3
    assert chi_square_p_value(counts[image_codes(images[..., ::-1])], probs) < 1e-6


def test_seeds_and_temperature():
    model = _model("row_lstm", (3, 4, 1))
    a = sampling.sample(model, 3, seed=(1, 2))
    assert a.dtype == tf.int32 and a.shape == (3, 3, 4, 1)
    np.testing.assert_array_equal(a, sampling.sample(model, 3, seed=(1, 2)))
    assert not np.array_equal(a, sampling.sample(model, 3, seed=(1, 3)))
    # A tiny temperature draws the argmax of each conditional.
    cold = sampling.sample(model, 2, seed=(4, 4), temperature=1e-4).numpy()
    np.testing.assert_array_equal(cold, model(cold).numpy().argmax(-1))


def test_sample_in_tf_function_with_dynamic_count():
    model = _model("diagonal_bilstm", (3, 4, 1))

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def draw(count):
        return sampling.sample(model, count, seed=tf.constant([3, 4]))

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def draw_xla(count):
        return sampling.sample(model, count, seed=tf.constant([3, 4]), jit_compile=True)

    for count in (1, 3):
        # Inside a graph the default is plain TensorFlow; eagerly, XLA: same images.
        expected = sampling.sample(model, count, seed=(3, 4))
        assert draw(tf.constant(count)).shape == (count, 3, 4, 1)
        np.testing.assert_array_equal(draw(tf.constant(count)), expected)
        np.testing.assert_array_equal(draw_xla(tf.constant(count)), expected)


@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
def test_complete(arch):
    image_shape = (4, 3, 3)
    model = _model(arch, image_shape, num_layers=2)
    images = random_images((3,) + image_shape, 4, seed=2)
    known = np.zeros(image_shape, bool)
    known[:2] = True
    known[2, 0, :2] = True  # A prefix in raster and channel order.
    completed = sampling.complete(model, images, known, seed=(1, 1)).numpy()
    np.testing.assert_array_equal(completed[:, known], images[:, known])
    np.testing.assert_array_equal(
        completed, sampling.complete(model, images, known, seed=(1, 1), method="naive")
    )
    # The completion depends on the known prefix.
    changed = images.copy()
    changed[:, 1] = (changed[:, 1] + 1) % 4
    assert not np.array_equal(
        sampling.complete(model, changed, known, seed=(1, 1))[:, 2:], completed[:, 2:]
    )
    everything = sampling.complete(model, images, np.ones(image_shape, bool), seed=(1, 1))
    np.testing.assert_array_equal(everything, images)
    # A per-image mask that is not a prefix keeps its known values too.
    scattered = np.random.default_rng(0).random((3,) + image_shape) < 0.5
    kept = sampling.complete(model, images, scattered, seed=(2, 2)).numpy()
    np.testing.assert_array_equal(kept[scattered], images[scattered])


def test_complete_of_a_prefix_samples_the_conditional():
    """Completing the first pixel of 1x2x1 binary images: p(x_2 | x_1)."""
    model = _model("pixel_cnn", (1, 2, 1), num_levels=2, scale=0.5, seed=4)
    images = all_images((1, 2, 1), 2)  # [4, 1, 2, 1]
    probs = np.exp(prt.head.log_prob(model(images), images).numpy()).reshape(2, 2)
    conditional = probs[1] / probs[1].sum()  # p(x_2 | x_1 = 1)
    prefix = np.ones((NUM_DRAWS, 1, 2, 1), np.int32)
    known = np.array([True, False]).reshape(1, 2, 1)
    completed = sampling.complete(model, prefix, known, seed=(6, 6)).numpy()
    assert np.all(completed[:, 0, 0, 0] == 1)
    counts = np.bincount(completed[:, 0, 1, 0], minlength=2)
    assert chi_square_p_value(counts, conditional) > 1e-3


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda m: sampling.sample(m, 2, temperature=0.0), "temperature"),
        (lambda m: sampling.sample(m, 2, temperature=-1.0), "temperature"),
        (lambda m: sampling.sample(m, 0), "num_samples=0"),
        (lambda m: sampling.sample(m, -3), "num_samples=-3"),
        (lambda m: sampling.sample(m, 2, method="fast"), "method='fast'"),
        (lambda m: sampling.sample(m, 2, jit_compile="yes"), "jit_compile='yes'"),
        (lambda m: sampling.sample(m, 2, condition=[0, 1]), "takes no condition"),
        (lambda m: sampling.sample(m, 2**32 + 1), r"num_samples=4294967297"),
        (lambda m: sampling.sample(m, 2.5), "never rounded"),
        (lambda m: sampling.sample(m, True), "never rounded"),
        (lambda m: sampling.sample(m, 2, temperature=float("inf")), "finite"),
        (lambda m: sampling.sample(m, 2, temperature=float("nan")), "finite"),
        (
            lambda m: sampling.complete(m, np.zeros((1, 3, 4, 1), np.int32), np.ones((3, 4), bool)),
            "known.shape",
        ),
        (
            lambda m: sampling.complete(m, np.zeros((1, 3, 4, 1), np.int32), np.ones((1, 3, 4, 1))),
            "known.dtype",
        ),
        (
            lambda m: sampling.complete(
                m, np.full((1, 3, 4, 1), 7, np.int32), np.ones((1, 3, 4, 1), bool)
            ),
            r"\[0, 4\)",
        ),
        (
            lambda m: sampling.complete(m, np.zeros((1, 3, 4, 1), np.float32), np.ones((3, 4, 1), bool)),
            "integer dtype",
        ),
        (
            lambda m: sampling.complete(m, np.zeros((1, 4, 3, 1), np.int32), np.ones((4, 3, 1), bool)),
            "images.shape",
        ),
    ],
)
def test_bad_arguments(call, message):
    model = _model("pixel_cnn", (3, 4, 1))
    with pytest.raises(ValueError, match=message):
        call(model)


def test_conditional_model_needs_a_valid_condition():
    model = _model("pixel_cnn", (3, 4, 1), num_classes=2)
    with pytest.raises(ValueError, match="pass `condition`"):
        sampling.sample(model, 2)
    with pytest.raises(ValueError, match=r"`condition` values in \[0, 2\)"):
        sampling.sample(model, 2, condition=[0, 5])
    with pytest.raises(ValueError, match="never rounded"):
        sampling.sample(model, 2, condition=[0.5, 1.9])
    with pytest.raises(ValueError, match=r"shape \[batch\]"):
        sampling.sample(model, 2, condition=[[0], [1]])
    with pytest.raises(ValueError, match="one per image"):
        sampling.sample(model, 2, condition=[0, 1, 1])
    with pytest.raises(ValueError, match="one per image"):
        sampling.sample(model, 2, condition=1)
    with pytest.raises(ValueError, match="one per image"):
        sampling.complete(
            model, np.zeros((3, 3, 4, 1), np.int32), np.ones((3, 4, 1), bool), condition=[1]
        )


def test_bad_values_in_graph_are_invalid_argument():
    model = _model("pixel_cnn", (3, 4, 1), num_classes=2)
    labels = tf.constant([0, 1])
    by_temperature = tf.function(
        lambda t: sampling.sample(model, 2, seed=(1, 1), temperature=t, condition=labels)
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="temperature"):
        by_temperature(tf.constant(-1.0))
    by_count = tf.function(lambda n: sampling.sample(model, n, seed=(1, 1), condition=labels))
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples"):
        by_count(tf.constant(0))
    by_labels = tf.function(
        lambda y: sampling.sample(model, 2, seed=(1, 1), condition=y),
        input_signature=[tf.TensorSpec([None], tf.int32)],
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="condition"):
        by_labels(tf.constant([0, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="condition"):
        by_labels(tf.constant([0, 1, 1]))
    completing = tf.function(
        lambda x: sampling.complete(model, x, tf.ones([3, 4, 1], tf.bool), condition=labels)
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="images"):
        completing(tf.fill([2, 3, 4, 1], 4))


def test_sampling_from_several_models_does_not_warn_of_retracing(caplog):
    """Each model's loop is its own function: a few models are not "retracing"."""
    caplog.set_level("WARNING", logger="tensorflow")
    for seed in range(4):
        model = _model("pixel_cnn", (2, 2, 1), seed=seed)
        for count in (1, 2):
            sampling.sample(model, count, seed=(1, 2), jit_compile=False)
    assert "retracing" not in caplog.text


@pytest.mark.parametrize(
    "temperature,shown",
    [
        (1e300, r"temperature=1e\+300"),  # float32: inf
        (1e-50, r"temperature=1e-50"),  # float32: 0
        (1e-45, r"holds it as 1\.4.*temperature=1e-45"),  # float32: a subnormal
        (None, r"temperature=None"),
        ("1.0", r"temperature='1\.0'"),
        (np.float64(-2.0), r"temperature=.*-2\.0"),
        ([1.0, 2.0], r"scalar.*temperature=\[1\.0, 2\.0\]"),
    ],
)
def test_temperature_is_checked_as_float32(temperature, shown):
    model = _model("pixel_cnn", (2, 2, 1))
    with pytest.raises(ValueError, match=r"Expected `temperature`.*float32.*" + shown):
        sampling.sample(model, 1, seed=(1, 1), temperature=temperature)


def test_temperature_is_checked_as_float32_in_a_graph():
    model = _model("pixel_cnn", (2, 2, 1))
    draw = tf.function(lambda t: sampling.sample(model, 1, seed=(1, 1), temperature=t))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`temperature` must be >="):
        draw(tf.constant(1e-45))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`temperature` must be finite"):
        draw(tf.constant(np.inf, tf.float32))


def test_smallest_temperature_draws_the_argmax_without_overflow():
    """Logits over a normal float32's reciprocal would overflow; shifted, they cannot."""
    model = _model("pixel_cnn", (2, 3, 1), scale=2.0)
    cold = sampling.sample(
        model, 3, seed=(4, 4), temperature=prt.validation.MIN_TEMPERATURE, method="naive"
    ).numpy()
    np.testing.assert_array_equal(cold, model(cold).numpy().argmax(-1))


@pytest.mark.parametrize("seed", ["abc", (1, 2, 3), 1.5, True, (1.5, 2), [[1, 2]]])
def test_bad_seeds_name_the_argument(seed):
    model = _model("pixel_cnn", (2, 2, 1))
    with pytest.raises(ValueError, match=r"Expected `seed`.*Received: seed="):
        sampling.sample(model, 1, seed=seed)
    with pytest.raises(ValueError, match=r"Expected `seed`"):
        sampling.complete(model, np.zeros((1, 2, 2, 1), np.int32), np.zeros((2, 2, 1), bool),
                          seed=seed)
