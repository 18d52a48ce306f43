"""Shared test helpers: random images, dependence measurement, round trips.

Written once, used by every model and layer test (keras-hub's TestCase habit).
"""

import itertools

import keras
import numpy as np
from scipy import stats
import tensorflow as tf

import pixel_rnn_tf as prt


# Every registered architecture runs the suite's cheap parametrizations; the
# costly ones (sampling loops, gradients of many shapes, training) run the
# paper's three, and a later architecture's own test module runs each once
# (the suite's CI budget).
PAPER_ARCHITECTURES = ("pixel_cnn", "row_lstm", "diagonal_bilstm")

# Every public layer of `pixel_rnn_tf.layers` with tiny arguments, for
# inputs of 6 features `[batch, height, width, 6]`.
LAYERS = [
    (prt.layers.MaskedConv2D,
     dict(filters=6, kernel_size=(1, 3), mask_type="A", color_channels=3)),
    (prt.layers.RowLSTM, dict(units=3, color_channels=3, kernel_width=3)),
    (prt.layers.DiagonalLSTM, dict(units=3, color_channels=1)),
    (prt.layers.DiagonalBiLSTM, dict(units=3, color_channels=3)),
    (prt.layers.PixelCNNBlock, dict(hidden_units=3, color_channels=3, residual=False)),
    (prt.layers.RowLSTMBlock, dict(hidden_units=3, color_channels=1)),
    (prt.layers.DiagonalBiLSTMBlock, dict(hidden_units=3, color_channels=3)),
    (prt.layers.OutputStack, dict(output_units=6, num_levels=4, color_channels=3)),
    (prt.layers.VerticalConv2D, dict(filters=4, kernel_width=3, rows=2, include_current_row=False)),
    (prt.layers.GatedStem, dict(hidden_units=3, color_channels=3, kernel_size=3)),
    (prt.layers.GatedPixelCNNBlock, dict(hidden_units=3, color_channels=3, residual=False)),
]


def random_images(shape, num_levels, seed=0):
    """Uniform int32 images `shape` with values in `[0, num_levels)`."""
    return np.random.default_rng(seed).integers(0, num_levels, size=shape).astype(np.int32)


def tiny_config(arch, image_shape, num_layers=1, num_levels=4, hidden_units=6, **kwargs):
    """A small `ModelConfig`; hidden_units 6 splits evenly into 3 colors."""
    return prt.ModelConfig(
        arch=arch,
        image_shape=image_shape,
        num_levels=num_levels,
        num_layers=num_layers,
        hidden_units=hidden_units,
        output_units=kwargs.pop("output_units", 12),
        **kwargs,
    )


def randomize_weights(model, seed=0, scale=0.5):
    """Replaces every weight by seeded noise so no connection is zero by chance.

    Zero-initialized weights (biases, learned initial states, class biases)
    would hide dependencies; masks are applied in `call`, so the stored
    kernels may hold anything.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(0.0, scale, size=variable.shape).astype(variable.dtype))
    return model


def flat_order(image_shape, factor=None):
    """Positions `(i, j, c)` in the model's order: raster, then channel.

    With a multi-scale `factor`, the subsampled positions (`i % f == 0` and
    `j % f == 0`) first, in raster order, then the others (§3.5).
    """
    height, width, channels = image_shape
    raster = list(itertools.product(range(height), range(width), range(channels)))
    if factor is None:
        return raster
    first = [p for p in raster if p[0] % factor == 0 and p[1] % factor == 0]
    return first + [p for p in raster if p not in first]


def model_order(model):
    """`flat_order` of `model`'s config (multi-scale or raster)."""
    return flat_order(model.config.image_shape, getattr(model.config, "factor", None))


def gradient_dependence(model, images, condition=None):
    """Which inputs each output depends on, from exact gradients.

    Args:
      model: a `PixelModel`.
      images: int `[batch, H, W, C]`.

    Returns:
      bool `[batch, H, W, C, batch, H, W, C]`: entry `[b, i, j, c, b2, i2,
      j2, c2]` is True where the logits of `(b, i, j, c)` have a non-zero
      gradient with respect to input `(b2, i2, j2, c2)`.
    """
    scaled = tf.Variable(model.scale(tf.constant(images)))
    num_levels = model.config.num_levels
    # A random projection of the levels: a plain sum could cancel.
    projection = tf.constant(
        np.random.default_rng(1).normal(size=(num_levels,)).astype(np.float32)
    )
    with tf.GradientTape() as tape:
        logits = model.logits_from_scaled(scaled, condition)
        outputs = tf.reduce_sum(logits * projection, axis=-1)  # [B, H, W, C]
    jacobian = tape.jacobian(outputs, scaled)
    return np.abs(jacobian.numpy()) > 0


def measured_field(model, num_images=12):
    """bool `[H, W, C, H, W, C]`: the inputs each logit has a non-zero gradient
    for, over `num_images` random images (so that no dependency hides behind
    a ReLU that happens to be off)."""
    images = random_images((num_images,) + model.config.image_shape, model.config.num_levels)
    depends = gradient_dependence(model, images)
    return np.any([depends[b, :, :, :, b] for b in range(num_images)], axis=0)


def black_box_violations(model, image_shape, num_levels, seed=0, condition=None):
    """Positions `k` where changing the pixels at positions `>= k` (in the
    model's order, `model_order`) moves the logits at positions `<= k`;
    empty when the model is causal.

    All the changed images go through the model as one batch (batch items
    are independent, which `gradient_dependence` checks).
    """
    order = model_order(model)
    size = len(order)
    index = tuple(np.array(order).T)  # (i, j, c) arrays, in the model's order.
    base = random_images((1,) + image_shape, num_levels, seed)
    shift = np.random.default_rng(seed + 1).integers(1, num_levels, size=(size, size))
    later = np.triu(np.ones((size, size), bool))  # Row k: positions >= k.
    ordered = base[(0,) + index][None]  # [1, size]
    changed = np.where(later, (ordered + shift) % num_levels, ordered)  # [size, size]
    images = np.repeat(base, size + 1, axis=0)
    images[(slice(1, None),) + index] = changed
    inputs = images
    if condition is not None:
        inputs = (images, np.repeat(np.asarray(condition)[None], size + 1, axis=0))
    logits = model(inputs).numpy()[(slice(None),) + index]  # [size + 1, size, L]
    moved = ~np.isclose(logits[1:], logits[:1], atol=1e-5).all(-1)  # [k, position]
    not_after_k = np.tril(np.ones((size, size), bool))  # Row k: positions <= k.
    return [(k, order[p]) for k, p in zip(*np.nonzero(moved & not_after_k))]


def chi_square_p_value(counts, probs):
    """Pearson's test of `counts` `[k]` against probabilities `[k]`."""
    expected = counts.sum() * probs
    return stats.chi2.sf(((counts - expected) ** 2 / expected).sum(), df=len(probs) - 1)


def image_codes(images):
    """Each image `[n, H, W, C]` as an integer, its values as digits in raster order."""
    flat = images.reshape(len(images), -1)
    return flat @ (2 ** np.arange(flat.shape[1])[::-1])


def all_images(image_shape, num_levels):
    """Every image of a tiny space, int32 `[num_levels ** D, H, W, C]`."""
    size = int(np.prod(image_shape))
    values = np.array(list(itertools.product(range(num_levels), repeat=size)), np.int32)
    return values.reshape((-1,) + tuple(image_shape))


def total_probability(model, image_shape, num_levels, condition=None):
    """Sum of `exp(log_prob)` over every image of the space, given one `condition`."""
    images = all_images(image_shape, num_levels)
    inputs = images
    if condition is not None:
        inputs = (images, np.repeat(np.asarray(condition)[None], len(images), axis=0))
    logits = model(inputs)
    return float(tf.reduce_sum(tf.exp(prt.head.log_prob(logits, images))))


def assert_keras_round_trip(model, inputs, tmp_path):
    """`get_config`/`from_config` and `.keras` save/reload (safe mode) keep outputs."""
    expected = keras.ops.convert_to_numpy(model(inputs))
    clone = model.__class__.from_config(model.get_config())
    clone.build(model.input_shape if hasattr(model, "input_shape") else None)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(inputs)), expected, atol=1e-6)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(reloaded(inputs)), expected, atol=1e-6
    )
    return reloaded


def stepper_logits(network, images, condition=None):
    """Every step's logits from a network's one-pixel steps over fixed `images`.

    Drives the step protocol (`initial_state`, `step` per channel,
    `end_pixel` after a pixel's last channel, `end_row` after a row) as the
    sampler does, but on
    given images, so the result is comparable with `network(images)`.

    Returns:
      numpy float32 `[batch, H, W, C, num_levels]`.
    """
    images = tf.constant(images, tf.int32)
    batch, height, width, channels = images.shape
    state = network.initial_state(batch, condition)
    logits = np.zeros(tuple(images.shape) + (network.config.num_levels,), np.float32)
    for i in range(height):
        for j in range(width):
            i_, j_ = tf.constant(i), tf.constant(j)
            for c in range(channels):
                step_logits, state = network.step(state, images, (i_, j_, c))
                logits[:, i, j, c] = step_logits
            state = network.end_pixel(state, images, i_, j_)
        state = network.end_row(state, tf.constant(i))
    return logits
