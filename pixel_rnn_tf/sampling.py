"""The one sampler of the package: exact ancestral sampling and completion.

Pixels are drawn in raster order and, inside a pixel, R, then G given R,
then B given R and G (§2). The loop is a `tf.while_loop` over rows, inside
it one over the row's pixels, and inside a pixel the channels, unrolled.
Each step draws with Gumbel-max from stateless noise, drawn per row as a
function of `(seed, row)` only: the same seed gives the same images, and
every method draws with the same noise, so the methods differ only in how
they compute a step's logits:

* `"naive"`: the whole network over the whole images at every (pixel,
  channel) step; the reference, `H W C` full forward passes.
* `"cached"` (and `"auto"`): the network at the one pixel being drawn, from
  per-layer caches of what the earlier pixels produced (`caching`): each
  masked spatial convolution is evaluated at the pixel from a window of its
  input's last rows, the Row LSTM reads the previous row's states, the
  Diagonal BiLSTM's left-to-right direction the states of the left and upper
  neighbours, and its right-to-left direction is computed once per
  completed row. A step's work is one pixel's, whatever the image size, and
  the logits are the full forward pass's up to float rounding, so the two
  methods draw the same images.

Both are driven by a *stepper* (`NaiveStepper`, `caching.make_stepper`)
with `initial_state`, `step`, `update` (after a pixel) and `finish_row`
(after a row); the protocol is described in `caching`.

Called eagerly, the cached sampler compiles each row's loop with XLA
(`jit_compile`; the row's noise is drawn outside XLA, whose random numbers
differ from TensorFlow's kernels): a step is then a few tens of
microseconds on a CPU instead of the hundreds that the graph executor
spends dispatching its small ops. Inside a caller's `tf.function` (a
SavedModel signature, say) it runs as a plain graph unless
`jit_compile=True`. BENCHMARKS.md ("Sampling") has the numbers.
"""

import functools
import weakref

import tensorflow as tf
import tensorflow_probability as tfp

from pixel_rnn_tf import caching
from pixel_rnn_tf import validation

METHODS = ("auto", "naive", "cached")


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"Expected `method` to be one of {METHODS}. Received: method={method!r}")


def check_temperature(temperature):
    """Validates `temperature > 0`; returns it as a float32 tensor."""
    if isinstance(temperature, (int, float)):
        if not temperature > 0:
            raise ValueError(
                f"Expected `temperature` > 0. Received: temperature={temperature}"
            )
        return tf.constant(temperature, tf.float32)
    temperature = tf.cast(temperature, tf.float32)
    if tf.executing_eagerly():
        return check_temperature(float(temperature))
    with tf.control_dependencies(
        [tf.debugging.assert_positive(temperature, message="`temperature` must be > 0")]
    ):
        return tf.identity(temperature)


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

    Args:
      logits: `[batch, num_levels]`.
      gumbel: `[batch, num_levels]`, from `gumbel_noise`.
      temperature: float32 scalar > 0.

    Returns:
      int32 `[batch]`.
    """
    return tf.argmax(logits / temperature + gumbel, axis=-1, output_type=tf.int32)


class NaiveStepper:
    """The reference stepper: a full forward pass over the images per step.

    Implements the stepper protocol of `caching` (`initial_state`, `step`,
    `update`, `finish_row`) with no state.
    """

    def __init__(self, model):
        self.model = model

    def initial_state(self, batch_size, labels):
        return ()

    def step(self, state, images, position, labels):
        """`(logits [batch, num_levels] of position (i, j, c), state)`."""
        inputs = images if labels is None else (images, labels)
        logits = self.model(inputs)  # [B, H, W, C, levels]
        i, j, c = position
        return caching.pixel_at(logits, i, j)[:, c], state  # [B, levels]

    def update(self, state, images, position, labels):
        return state

    def finish_row(self, state, row):
        return state


def _stepper(model, method):
    _check_method(method)
    if method == "naive":
        return NaiveStepper(model)
    return caching.make_stepper(model)  # "auto" and "cached": exact and fastest.


def _put(images, known, position, drawn):
    """Writes `drawn` `[batch]` at `position` `(i, j, c)` where `known` is False."""
    i, j, c = position
    kept = caching.pixel_at(images, i, j)[:, c]  # [B]
    value = tf.where(caching.pixel_at(known, i, j)[:, c], kept, drawn)
    batch = tf.shape(images)[0]
    index = tf.stack(
        [tf.range(batch), tf.fill([batch], i), tf.fill([batch], j), tf.fill([batch], c)], axis=1
    )  # [B, 4]: one scatter of batch values, in place under XLA.
    return tf.tensor_scatter_nd_update(images, index, value)


def _fill_row(stepper, row, images, known, state, gumbel, temperature, labels):
    """Draws row `row`, pixel by pixel, each pixel channel by channel.

    Args:
      stepper: a stepper (`NaiveStepper` or one of `caching`).
      row: int32 scalar.
      images: int32 `[batch, H, W, C]`.
      known: bool `[batch, H, W, C]`.
      state: the stepper's state.
      gumbel: float32 `[W, C, batch, num_levels]`, this row's noise.
      temperature: float32 scalar.
      labels: int32 `[batch]` or `None`.

    Returns:
      `(images, state)`, the row drawn and `finish_row` applied.
    """
    _, width, channels = stepper.model.config.image_shape

    def pixel(j, images, state):
        for c in range(channels):  # Unrolled: a pixel's channels are drawn in order.
            logits, state = stepper.step(state, images, (row, j, c), labels)
            drawn = draw(logits, gumbel[j, c], temperature)
            images = _put(images, known, (row, j, c), drawn)
        return j + 1, images, stepper.update(state, images, (row, j), labels)

    _, images, state = tf.while_loop(lambda j, *_: j < width, pixel, (0, images, state))
    return images, stepper.finish_row(state, row)


def _fill(model, images, known, seed, temperature, labels, method, jit_compile):
    """The sampling loop: draws every value where `known` is False.

    A `tf.while_loop` over rows; each row draws its noise (outside XLA) and
    runs `_fill_row`, XLA-compiled with `jit_compile`.

    Args:
      images: int32 `[batch, H, W, C]`.
      known: bool `[batch, H, W, C]`.
      seed: int32 `[2]`, a stateless seed.
      temperature: float32 scalar > 0.
      labels: int32 `[batch]` or `None`.
      method: "auto", "naive" or "cached".
      jit_compile: bool, compile each row's loop with XLA.

    Returns:
      int32 images `[batch, H, W, C]`.
    """
    height, width, channels = model.config.image_shape
    stepper = _stepper(model, method)
    batch_size = tf.shape(images)[0]
    fill_row = functools.partial(_fill_row, stepper)
    if jit_compile:
        fill_row = tf.function(fill_row, jit_compile=True)

    def body(row, images, state):
        # The shape from the loop's own `images`: a compile-time constant
        # under XLA (a whole-loop compilation, e.g. on TPUs, needs it).
        noise_shape = [width, channels, tf.shape(images)[0], model.config.num_levels]
        gumbel = gumbel_noise(seed, row, noise_shape)  # [W, C, B, levels]
        images, state = fill_row(row, images, known, state, gumbel, temperature, labels)
        return row + 1, images, state

    _, images, _ = tf.while_loop(
        lambda row, *_: row < height,
        body,
        (tf.constant(0), images, stepper.initial_state(batch_size, labels)),
    )
    return images


def _check_num_samples(num_samples):
    if isinstance(num_samples, int):
        if num_samples <= 0:
            raise ValueError(
                f"Expected `num_samples` to be a positive int. Received: num_samples={num_samples}"
            )
        return num_samples
    num_samples = tf.cast(num_samples, tf.int32)
    with tf.control_dependencies(
        [tf.debugging.assert_positive(num_samples, message="`num_samples` must be > 0")]
    ):
        return tf.identity(num_samples)


def _check_labels(model, labels, batch_size):
    if model.config.num_classes is None:
        if labels is not None:
            raise ValueError(
                "`labels` given for a model that is not class-conditional (num_classes=None)."
            )
        return None
    if labels is None:
        raise ValueError(
            f"The model is class-conditional (num_classes={model.config.num_classes}): "
            "pass `labels`, int [num_samples]."
        )
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer or labels.shape.rank != 1:
        raise ValueError(
            "Expected `labels` to be an int vector [num_samples]. "
            f"Received: labels.dtype={labels.dtype.name}, labels.shape={labels.shape}"
        )
    labels = validation.check_range(labels, model.config.num_classes, "labels")
    # Known now (eagerly, or from static shapes in a graph): a ValueError at
    # once; otherwise an assertion when the graph runs.
    count, expected = tf.get_static_value(tf.size(labels)), tf.get_static_value(batch_size)
    if count is not None and expected is not None:
        if int(count) != int(expected):
            raise ValueError(
                f"Expected one label per image, `labels` of shape [{int(expected)}]. "
                f"Received: labels.shape={labels.shape}"
            )
        return labels
    with tf.control_dependencies(
        [tf.debugging.assert_equal(tf.size(labels), batch_size,
                                   message="Expected one of `labels` per image")]
    ):
        return tf.identity(labels)


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


def _run(model, images, known, seed, temperature, labels, method, jit_compile):
    jit_compile = _check_jit_compile(jit_compile, method)
    args = (images, known, tfp.random.sanitize_seed(seed), temperature, labels)
    if tf.executing_eagerly():
        return _function(model, method, jit_compile)(*args)
    return _fill(model, *args, method=method, jit_compile=jit_compile)


def sample(
    model, num_samples, seed=None, temperature=1.0, method="auto", labels=None, jit_compile=None
):
    """Draws images from `model`, exactly, in raster and R-G-B order.

    Args:
      model: a `PixelModel`.
      num_samples: positive int (or int32 scalar tensor).
      seed: a stateless seed: int, pair of ints or int32 `[2]`; the same
        seed gives the same images.
      temperature: float > 0; logits are divided by it.
      method: "auto" (the fastest exact method), "naive" or "cached".
      labels: int `[num_samples]` for a class-conditional model.
      jit_compile: compile each row's loop with XLA (the noise is drawn
        outside it, so the images do not change). `None`: for the cached
        method when called eagerly, not inside a caller's `tf.function`.

    Returns:
      int32 images `[num_samples, height, width, channels]`.
    """
    _check_method(method)
    num_samples = _check_num_samples(num_samples)
    temperature = check_temperature(temperature)
    labels = _check_labels(model, labels, num_samples)
    shape = tf.concat([[num_samples], model.config.image_shape], axis=0)
    images = tf.zeros(shape, tf.int32)
    known = tf.zeros(shape, tf.bool)
    return _run(model, images, known, seed, temperature, labels, method, jit_compile)


def complete(
    model, images, known, seed=None, temperature=1.0, method="auto", labels=None,
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
      seed, temperature, method, labels, jit_compile: as in `sample`.

    Returns:
      int32 images `[batch, H, W, C]`.
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
    labels = _check_labels(model, labels, tf.shape(images)[0])
    return _run(model, images, known, seed, temperature, labels, method, jit_compile)
