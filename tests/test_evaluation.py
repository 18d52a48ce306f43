"""Tests of `evaluate` (the library function) and `python -m pixel_rnn_tf.cli.evaluate`."""

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import pixel_rnn_tf as prt
from pixel_rnn_tf import data
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config

tfd = tfp.distributions
tfb = tfp.bijectors

IMAGE_SHAPE = (2, 3, 3)
NUM_LEVELS = 4  # Not 256: the dequantized units must use ln(num_levels).
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(num_classes=None, image_shape=IMAGE_SHAPE, num_levels=NUM_LEVELS,
           condition_shape=None):
    config = tiny_config("row_lstm", image_shape, num_levels=num_levels, num_classes=num_classes,
                         condition_shape=condition_shape)
    return randomize_weights(prt.build_model(config), seed=0, scale=0.3)


# The three kinds of condition: labels, vectors [2], maps [1, 1, 2] (upsampled to 2 x 3).
KINDS = {"labels": dict(num_classes=3), "vector": dict(condition_shape=(2,)),
         "map": dict(condition_shape=(1, 1, 2))}


def _conditions(kind, count, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "labels":
        return (np.arange(count, dtype=np.int32) + seed) % 3
    return rng.normal(size=(count,) + KINDS[kind]["condition_shape"]).astype(np.float32)


def _hand_nats(logits, images):
    """NLL per image from a numpy log-softmax of `logits`: `[batch]`."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_softmax, images[..., None].astype(np.int64), -1)
    return -picked.reshape(len(images), -1).sum(-1)


def _expected(nats_per_image):
    dims = int(np.prod(IMAGE_SHAPE))
    nats = nats_per_image.mean()
    return {
        "num_images": len(nats_per_image),
        "num_dims": dims,
        "nats": nats,
        "nats_std_error": nats_per_image.std(ddof=1) / math.sqrt(len(nats_per_image)),
        "bits_per_dim": nats / dims / math.log(2),
        "dequantized_nats": nats - dims * math.log(NUM_LEVELS),
        "dequantized_bits_per_dim": nats / dims / math.log(2) - math.log2(NUM_LEVELS),
    }


def _assert_results(results, expected):
    assert set(results) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(results[key], value, rtol=1e-5, err_msg=key)


def test_evaluate_matches_hand_computation_for_every_input_kind():
    model = _model()
    images = random_images((10,) + IMAGE_SHAPE, NUM_LEVELS, seed=1)
    expected = _expected(_hand_nats(model(images), images))
    dataset = tf.data.Dataset.from_tensor_slices(images)
    for inputs, batch_size in [
        (images, 4),  # 4 does not divide 10: a partial last batch.
        (tf.constant(images), 64),
        (dataset, 3),  # Unbatched elements are batched here.
        (dataset.batch(7), 64),  # Batched elements are used as they come.
    ]:
        _assert_results(prt.evaluate(model, inputs, batch_size=batch_size), expected)


@pytest.mark.parametrize("kind", list(KINDS))
def test_evaluate_conditional(kind):
    model = _model(**KINDS[kind])
    images = random_images((9,) + IMAGE_SHAPE, NUM_LEVELS, seed=2)
    condition = _conditions(kind, 9)
    expected = _expected(_hand_nats(model((images, condition)), images))
    _assert_results(prt.evaluate(model, images, batch_size=4, condition=condition), expected)
    pairs = tf.data.Dataset.from_tensor_slices((images, condition))
    _assert_results(prt.evaluate(model, pairs, batch_size=5), expected)
    _assert_results(prt.evaluate(model, pairs.batch(4)), expected)
    other = prt.evaluate(model, images, condition=_conditions(kind, 9, seed=1))
    assert not np.isclose(other["nats"], expected["nats"])


def test_dequantized_numbers_are_a_density_on_the_unit_cube():
    # `dequantized_nats` is the NLL of (x + u) / num_levels under the
    # Dequantized density rescaled to [0, 1]^D, for any u.
    model = _model()
    images = random_images((6,) + IMAGE_SHAPE, NUM_LEVELS, seed=3)
    unit = tfd.TransformedDistribution(
        prt.Dequantized(prt.PixelRNN(model)), tfb.Scale(1.0 / NUM_LEVELS)
    )
    noise = np.random.default_rng(0).uniform(0, 1, images.shape).astype(np.float32)
    nll = -unit.log_prob((images + noise) / NUM_LEVELS).numpy().mean()
    np.testing.assert_allclose(prt.evaluate(model, images)["dequantized_nats"], nll, rtol=1e-5)


def test_metrics_dequantized_nats_uses_num_levels():
    shape = (28, 28, 1)
    assert prt.metrics.dequantized_nats(100.0, shape) == pytest.approx(100 - 784 * math.log(256))
    assert prt.metrics.dequantized_nats(100.0, shape, num_levels=2) == pytest.approx(
        100 - 784 * math.log(2)
    )


def test_evaluate_bad_arguments():
    model, conditional = _model(), _model(num_classes=3)
    images = random_images((4,) + IMAGE_SHAPE, NUM_LEVELS)
    labels = np.zeros(4, np.int32)
    with pytest.raises(ValueError, match=r"conditioned on int labels.*pass `condition`"):
        prt.evaluate(conditional, images)
    with pytest.raises(ValueError, match=r"conditioned on int labels.*\(images, condition\)"):
        prt.evaluate(conditional, tf.data.Dataset.from_tensor_slices(images))
    with pytest.raises(ValueError, match=r"takes no condition.*`condition` must be None"):
        prt.evaluate(model, images, condition=labels)
    with pytest.raises(ValueError, match=r"takes no condition"):
        prt.evaluate(model, tf.data.Dataset.from_tensor_slices((images, labels)))
    with pytest.raises(ValueError, match=r"`condition` with 4 rows.*\(3,\)"):
        prt.evaluate(conditional, images, condition=labels[:3])
    with pytest.raises(ValueError, match=r"`condition` values in \[0, 3\)"):
        prt.evaluate(conditional, images, condition=labels + 3)
    with pytest.raises(ValueError, match=r"`condition` to be int labels.*float"):
        prt.evaluate(conditional, images, condition=labels + 0.5)
    with pytest.raises(ValueError, match=r"`condition` values in \[0, 3\)"):
        prt.evaluate(conditional, tf.data.Dataset.from_tensor_slices((images, labels - 1)))
    with pytest.raises(ValueError, match=r"Pass the condition inside the tf.data.Dataset"):
        prt.evaluate(conditional, tf.data.Dataset.from_tensor_slices(images), condition=labels)
    vector = _model(condition_shape=(2,))
    with pytest.raises(ValueError, match=r"`condition` of shape \[batch, 2\]"):
        prt.evaluate(vector, images, condition=np.zeros([4, 3], np.float32))
    with pytest.raises(ValueError, match=r"`condition` to be finite"):
        prt.evaluate(vector, images, condition=np.full([4, 2], np.nan, np.float32))
    with pytest.raises(ValueError, match=r"`dataset`.*integer dtype.*float"):
        prt.evaluate(model, images.astype(np.float32))
    with pytest.raises(ValueError, match=r"`dataset`.*integer.*float32"):
        prt.evaluate(model, tf.data.Dataset.from_tensor_slices(images.astype(np.float32)))
    with pytest.raises(ValueError, match=r"`dataset` of shape \[\.\.\., 2, 3, 3\]"):
        prt.evaluate(model, images[:, :1])
    with pytest.raises(ValueError, match=r"`dataset` values in \[0, 4\)"):
        prt.evaluate(model, images + NUM_LEVELS)
    with pytest.raises(ValueError, match=r"`batch_size`.*0"):
        prt.evaluate(model, images, batch_size=0)
    with pytest.raises(ValueError, match=r"non-empty `dataset`"):
        prt.evaluate(model, images[:0])


def test_markdown_table():
    results = prt.evaluate(_model(), random_images((5,) + IMAGE_SHAPE, NUM_LEVELS))
    table = prt.evaluation.markdown_table([("tiny test", results)], "data").splitlines()
    assert table[0].startswith("| data | images | NLL (nats/image) | bits/dim")
    assert table[2].startswith(f"| tiny test | 5 | {results['nats']:.3f} ± ")


def _run_main(*flags):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    # A subprocess: importing the main here would rebind `prt.evaluate` to the
    # module, and its flags would share absl's registry with other mains.
    return subprocess.run(
        [sys.executable, "-m", "pixel_rnn_tf.cli.evaluate", *flags],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


def test_main_prints_a_table_for_a_saved_model(tmp_path):
    config = tiny_config("pixel_cnn", (8, 8, 1), num_levels=2, hidden_units=3)
    model = randomize_weights(prt.build_model(config), seed=1, scale=0.3)
    path = str(tmp_path / "tiny.keras")
    model.save(path)
    split = "test[:20]"
    result = _run_main(f"--model={path}", "--dataset=digits", f"--split={split}", "--batch_size=8")
    assert result.returncode == 0, result.stderr[-2000:]
    images = data.load("digits", split, num_levels=2, as_numpy=True)
    expected = prt.evaluate(model, images)
    row = next(line for line in result.stdout.splitlines() if line.startswith("| digits"))
    assert row.startswith(f"| digits {split} | 20 | {expected['nats']:.3f} ± "), result.stdout
    assert f"| {expected['bits_per_dim']:.4f} |" in row

    unknown = _run_main(f"--model={path}", "--dataset=no_such_data")
    assert unknown.returncode != 0
    expected_error = r"Unknown --dataset='no_such_data'. Expected one of \[.*'digits'"
    assert re.search(expected_error, unknown.stderr), unknown.stderr[-2000:]


def test_main_conditions_a_label_model_on_the_data_sets_labels(tmp_path):
    config = tiny_config("pixel_cnn", (8, 8, 1), num_levels=2, hidden_units=3, num_classes=10)
    model = randomize_weights(prt.build_model(config), seed=1, scale=0.3)
    path = str(tmp_path / "labels.keras")
    model.save(path)
    split = "test[:20]"
    result = _run_main(f"--model={path}", "--dataset=digits", f"--split={split}")
    assert result.returncode == 0, result.stderr[-2000:]
    images = data.load("digits", split, num_levels=2, as_numpy=True)
    labels = data.load_labels("digits", split)
    assert labels.shape == (20,) and labels.dtype == np.int32 and labels.max() < 10
    expected = prt.evaluate(model, images, condition=labels)
    row = next(line for line in result.stdout.splitlines() if line.startswith("| digits"))
    assert row.startswith(f"| digits {split} | 20 | {expected['nats']:.3f} ± "), result.stdout


# --- non-finite models and conditions that name what the user wrote ---------------------


def _tiny_model(**kwargs):
    config = tiny_config("pixel_cnn", (8, 8, 1), num_levels=2, hidden_units=3, **kwargs)
    return randomize_weights(prt.build_model(config), seed=1, scale=0.3)


def test_non_finite_weights_are_an_error_naming_the_model():
    model = _tiny_model()
    images = random_images((3, 8, 8, 1), 2)
    kernel = model.weights[0]
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    with pytest.raises(FloatingPointError, match=rf"{model.name} has non-finite.*{kernel.path}"):
        prt.evaluate(model, images)


def test_an_overflowing_model_is_an_error_not_nan():
    model = _tiny_model()
    images = random_images((3, 8, 8, 1), 2)
    for weight in model.weights:  # Finite weights whose logits overflow float32.
        weight.assign(np.full(weight.shape, 1e30, np.float32))
    with pytest.raises(FloatingPointError, match=rf"{model.name} gives a non-finite NLL"):
        prt.evaluate(model, images)


def test_a_mixed_precision_overflow_is_reported():
    """Weights float32 holds and float16 overflows: the error names the compute dtype."""
    import keras

    config = tiny_config("pixel_cnn", (8, 8, 1), num_levels=2, hidden_units=3)
    images = random_images((3, 8, 8, 1), 2, seed=2)
    models = []
    for policy in ("float32", "mixed_float16"):
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(policy)
        try:
            models.append(randomize_weights(prt.build_model(config), seed=1, scale=0.3))
        finally:
            keras.config.set_dtype_policy(previous)
    for model in models:
        kernel = model.stem.weights[0]
        kernel.assign(np.full(kernel.shape, 1e5, np.float32))  # Over float16's 65504.
    assert math.isfinite(prt.evaluate(models[0], images)["nats"])
    with pytest.raises(FloatingPointError, match=r"overflow in its compute dtype float16"):
        prt.evaluate(models[1], images)


def test_main_exits_non_zero_on_a_non_finite_model_and_names_a_damaged_condition(tmp_path):
    model = _tiny_model(condition_shape=(2,))
    good = str(tmp_path / "vector.keras")
    model.save(good)
    damaged = tmp_path / "condition.npy"
    np.save(damaged, np.zeros((20, 2), np.float32))
    damaged.write_bytes(damaged.read_bytes()[:-40])  # Truncated.
    result = _run_main(f"--model={good}", "--split=test[:20]", f"--condition={damaged}")
    assert result.returncode != 0
    assert f"--condition={str(damaged)!r}" in result.stderr and "Traceback" not in result.stderr

    model = _tiny_model()
    model.weights[0].assign(np.full(model.weights[0].shape, np.inf, np.float32))
    broken = str(tmp_path / "broken.keras")
    model.save(broken)
    result = _run_main(f"--model={broken}", "--split=test[:20]")
    assert result.returncode != 0
    assert f"evaluate: The model {model.name} has non-finite" in result.stderr
    assert "nan" not in result.stdout.lower()
