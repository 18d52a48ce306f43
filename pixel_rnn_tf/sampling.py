"""The one sampler of the package: exact ancestral sampling and completion.

Pixels are drawn in the model's order: raster order and, inside a pixel, R,
then G given R, then B given R and G (§2); a composite model (the
Multi-Scale PixelRNN) runs one such loop per network it is made of
(`fill_in_order`). The loop is a `tf.while_loop` over rows, inside it one
over the row's pixels, and inside a pixel the channels, unrolled. Each step
draws with Gumbel-max from stateless noise, drawn per row as a function of
`(seed, row)` only: the same seed gives the same images, and every method
draws with the same noise, so the methods differ only in how they compute a
step's logits:

* `"naive"`: the whole network over the whole images at every (pixel,
  channel) step; the reference, `H W C` full forward passes.
* `"cached"` (and `"auto"`): the network's own one-pixel step
  (`layers.stepping`): each layer computes its output at the pixel from its
  cache of what the earlier pixels produced. A step's work is one pixel's,
  whatever the image size, and the logits are the full forward pass's up
  to float rounding, so the two methods draw the same images.

The driver names no architecture: it calls the network's `initial_state`,
`step` (per channel), `end_pixel` and `end_row` (`PixelModel`), or the same
methods of `NaiveStepper`.

Called eagerly, the cached sampler compiles each row's loop with XLA
(`jit_compile`; the row's noise is drawn outside XLA, whose random numbers
differ from TensorFlow's kernels): a step then runs as one compiled
program instead of the graph executor dispatching its many small ops. Inside a caller's `tf.function` (a
SavedModel signature, say) it runs as a plain graph unless
`jit_compile=True`. BENCHMARKS.md ("Sampling") has the numbers.
"""

import functools
import weakref

import tensorflow as tf
import tensorflow_probability as tfp

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import validation
from pixel_rnn_tf.layers.stepping import pixel_at
from pixel_rnn_tf.validation import check_num_samples
from pixel_rnn_tf.validation import check_seed
from pixel_rnn_tf.validation import check_temperature

METHODS = ("auto", "naive", "cached")


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"Expected `method` to be one of {METHODS}. Received: method={method!r}")


def gumbel_noise(seed, row, shape):
    """The Gumbel noise of one image row's steps, `shape` `[width, channels, batch, levels]`.

    Stateless: a function of `(seed, row)` only. It is drawn by TensorFlow's
    own kernels outside any XLA computation (XLA's stateless generators give
    other numbers for the same seed), so every method and compilation mode
    draws with the same noise.
    """
    uniform = tf.random.stateless_uniform(
        shape,
        seed=tf.random.experimental.stateless_fold_in(seed, row),
        minval=1e-7,
        maxval=1.0 - 1e-7,
    )
    return -tf.math.log(-tf.math.log(uniform))


def draw(logits, gumbel, temperature):
    """Draws one value per row of `logits` `[batch, num_levels]` (Gumbel-max).

    With stateless noise, the draw is a deterministic function of the logits
    and the seed: samplers that compute the same logits draw the same values.
    The logits are shifted to a maximum of 0 before the division (the
    softmax is the same): at a tiny temperature the others go to -inf, not
    the largest to +inf, so the draw tends to the greedy choice instead of
    overflowing.

    Args:
      logits: `[batch, num_levels]`.
      gumbel: `[batch, num_levels]`, from `gumbel_noise`.
      temperature: float32 scalar > 0.

    Returns:
      int32 `[batch]`.
    """
    shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)  # <= 0
    return tf.argmax(shifted / temperature + gumbel, axis=-1, output_type=tf.int32)


class NaiveStepper:
    """The reference: a full forward pass of the network over the images per step.

    Implements the network's step protocol (`PixelModel.initial_state`,
    `step`, `end_pixel`, `end_row`) with no cache.
    """

    def __init__(self, network):
        self.network = network

    def initial_state(self, batch_size, condition=None):
        return {} if condition is None else {"condition": condition}

    def step(self, state, images, position):
        """`(logits [batch, num_levels] of position (i, j, c), state)`."""
        inputs = (images, state["condition"]) if state else images
        logits = self.network(inputs)  # [B, H, W, C, levels]
        i, j, c = position
        return pixel_at(logits, i, j)[:, c], state  # [B, levels]

    def end_pixel(self, state, images, i, j):
        return state

    def end_row(self, state, i):
        return state


def _put(images, known, position, drawn):
    """Writes `drawn` `[batch]` at `position` `(i, j, c)` where `known` is False."""
    i, j, c = position
    kept = pixel_at(images, i, j)[:, c]  # [B]
    value = tf.where(pixel_at(known, i, j)[:, c], kept, drawn)
    batch = tf.shape(images)[0]
    index = tf.stack(
        [tf.range(batch), tf.fill([batch], i), tf.fill([batch], j), tf.fill([batch], c)], axis=1
    )  # [B, 4]: one scatter of batch values, in place under XLA.
    return tf.tensor_scatter_nd_update(images, index, value)


def _fill_row(stepper, shape, row, images, known, state, gumbel, temperature):
    """Draws row `row`, pixel by pixel, each pixel channel by channel.

    Args:
      stepper: the network (cached) or a `NaiveStepper`.
      shape: the network's `(height, width, channels)`.
      row: int32 scalar.
      images: int32 `[batch, H, W, C]`.
      known: bool `[batch, H, W, C]`.
      state: the stepper's state.
      gumbel: float32 `[W, C, batch, num_levels]`, this row's noise.
      temperature: float32 scalar.

    Returns:
      `(images, state)`, the row drawn and `end_row` applied.
    """
    _, width, channels = shape

    def pixel(j, images, state):
        for c in range(channels):  # Unrolled: a pixel's channels are drawn in order.
            # Every channel steps from the state before the pixel; the last
            # channel's state is kept (`layers.stepping`): the other steps'
            # cache writes are dead code, dropped by TensorFlow and XLA.
            logits, stepped = stepper.step(state, images, (row, j, c))
            drawn = draw(logits, gumbel[j, c], temperature)
            images = _put(images, known, (row, j, c), drawn)
        return j + 1, images, stepper.end_pixel(stepped, images, row, j)

    _, images, state = tf.while_loop(lambda j, *_: j < width, pixel, (0, images, state))
    return images, stepper.end_row(state, row)


def _fill_network(network, images, known, seed, temperature, condition, method, jit_compile):
    """The sampling loop of one network: draws every value where `known` is False.

    A `tf.while_loop` over rows; each row draws its noise (outside XLA) and
    runs `_fill_row`, XLA-compiled with `jit_compile`.

    Args:
      network: a `PixelModel`.
      images: int32 `[batch, H, W, C]`.
      known: bool `[batch, H, W, C]`.
      seed: int32 `[2]`, a stateless seed.
      temperature: float32 scalar > 0.
      condition: the network's checked condition, or `None`.
      method: "auto", "naive" or "cached".
      jit_compile: bool, compile each row's loop with XLA.

    Returns:
      int32 images `[batch, H, W, C]`.
    """
    shape = network.config.image_shape
    stepper = NaiveStepper(network) if method == "naive" else network
    fill_row = functools.partial(_fill_row, stepper, shape)
    if jit_compile:
        fill_row = tf.function(fill_row, jit_compile=True)

    def body(row, images, state):
        # The shape from the loop's own `images`: a compile-time constant
        # under XLA (a whole-loop compilation, e.g. on TPUs, needs it).
        noise_shape = [shape[1], shape[2], tf.shape(images)[0], network.config.num_levels]
        gumbel = gumbel_noise(seed, row, noise_shape)  # [W, C, B, levels]
        images, state = fill_row(row, images, known, state, gumbel, temperature)
        return row + 1, images, state

    _, images, _ = tf.while_loop(
        lambda row, *_: row < shape[0],
        body,
        (tf.constant(0), images, stepper.initial_state(tf.shape(images)[0], condition)),
    )
    return images


def _fill(model, images, known, seed, temperature, condition, method, jit_compile):
    """Draws every value where `known` is False, in the model's order.

    The model calls `fill` once per network it is made of
    (`fill_in_order`); each stage draws with its own noise.
    """

    def fill(network, images, known, condition, stage):
        stage_seed = seed if stage == 0 else tf.random.experimental.stateless_fold_in(seed, stage)
        return _fill_network(
            network, images, known, stage_seed, temperature, condition, method, jit_compile
        )

    return model.fill_in_order(fill, images, known, condition)


def _check_condition(model, condition, batch_size):
    return conditioning.check(model.config, condition, batch_size)


# One traced function per (model, method, jit_compile); weak keys free them
# with the model.
_FUNCTIONS = weakref.WeakKeyDictionary()


def _function(model, method, jit_compile):
    functions = _FUNCTIONS.setdefault(model, {})
    key = (method, jit_compile)
    if key not in functions:
        # A partial, not a lambda: TF counts retracing per Python code object,
        # so one lambda shared by every model would warn of "retracing" as
        # soon as a few models each traced once.
        functions[key] = tf.function(
            functools.partial(_fill, model, method=method, jit_compile=jit_compile),
            reduce_retracing=True,
        )
    return functions[key]


def _check_jit_compile(jit_compile, method):
    """Resolves `jit_compile=None`: XLA for the cached method, called eagerly.

    Inside a caller's graph (a SavedModel signature, say) the default is
    plain TensorFlow, so the graph runs wherever TensorFlow does.
    """
    if jit_compile is None:
        return method != "naive" and tf.executing_eagerly()
    if not isinstance(jit_compile, bool):
        raise ValueError(
            f"Expected `jit_compile` to be None or a bool. Received: jit_compile={jit_compile!r}"
        )
    return jit_compile


def _run(model, images, known, seed, temperature, condition, method, jit_compile):
    jit_compile = _check_jit_compile(jit_compile, method)
    args = (images, known, tfp.random.sanitize_seed(check_seed(seed)), temperature, condition)
    if tf.executing_eagerly():
        return _function(model, method, jit_compile)(*args)
    return _fill(model, *args, method=method, jit_compile=jit_compile)


def sample(
    model, num_samples, seed=None, temperature=1.0, method="auto", condition=None, jit_compile=None
):
    """Draws images from `model`, exactly, in raster and R-G-B order.

    Args:
      model: a `PixelModel`.
      num_samples: positive int (or int32 scalar tensor).
      seed: a stateless seed: int, pair of ints or int32 `[2]`; the same
        seed gives the same images.
      temperature: float > 0 that float32 holds as a normal number
        (`check_temperature`); logits are divided by it.
      method: "auto" (the fastest exact method), "naive" or "cached".
      condition: the model's condition, one per image (`conditioning`), or `None`.
      jit_compile: compile each row's loop with XLA (the noise is drawn
        outside it, so the images do not change). `None`: for the cached
        method when called eagerly, not inside a caller's `tf.function`.

    Returns:
      int32 images `[num_samples, height, width, channels]`.
    """
    _check_method(method)
    num_samples = check_num_samples(num_samples)
    temperature = check_temperature(temperature)
    condition = _check_condition(model, condition, num_samples)
    shape = tf.concat([[num_samples], model.config.image_shape], axis=0)
    images = tf.zeros(shape, tf.int32)
    known = tf.zeros(shape, tf.bool)
    return _run(model, images, known, seed, temperature, condition, method, jit_compile)


def complete(
    model, images, known, seed=None, temperature=1.0, method="auto", condition=None,
    jit_compile=None,
):
    """Fills the pixels where `known` is False, keeping the others exactly.

    Pixels are drawn in raster order, each conditioned on everything before
    it. When `known` is a prefix in that order (the paper's occluded lower
    halves) this samples the exact conditional distribution; for any other
    mask a drawn pixel is conditioned only on its past, not on known pixels
    after it.

    Args:
      model: a `PixelModel`.
      images: int `[batch, H, W, C]`; values where `known` is False are ignored
        but must still be in range.
      known: bool `[batch, H, W, C]` (or broadcastable `[H, W, C]`).
      seed, temperature, method, condition, jit_compile: as in `sample`.

    Returns:
      int32 images `[batch, H, W, C]` (`[0, H, W, C]` for an empty batch).
    """
    _check_method(method)
    config = model.config
    images = validation.check_images(images, config.image_shape, config.num_levels)
    known = tf.convert_to_tensor(known)
    if known.dtype != tf.bool:
        raise ValueError(f"Expected `known` to be bool. Received: known.dtype={known.dtype.name}")
    if not known.shape.is_compatible_with(images.shape) and tuple(known.shape) != config.image_shape:
        raise ValueError(
            f"Expected `known` of shape {images.shape} or {config.image_shape}. "
            f"Received: known.shape={known.shape}"
        )
    known = tf.broadcast_to(known, tf.shape(images))
    temperature = check_temperature(temperature)
    condition = _check_condition(model, condition, tf.shape(images)[0])

    def run():
        return _run(model, images, known, seed, temperature, condition, method, jit_compile)

    # An empty batch has nothing to fill: it is returned as it is (TF's CPU
    # kernels mishandle empty batches, so the sampler is not run on one).
    batch = images.shape[0]
    if batch is not None:
        return images if batch == 0 else run()
    return tf.cond(tf.shape(images)[0] > 0, run, lambda: images)
