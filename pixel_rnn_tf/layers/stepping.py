"""The one-pixel step protocol: each layer owns its incremental step.

The cached sampler computes a network at one pixel `(i, j)` at a time, from
caches of what the earlier pixels produced. Every layer it runs defines,
beside `call` and with the same weights and cell function:

* `initial_cache(inputs, width)`: the layer's cache before the first pixel,
  a nest of tensors of fixed shapes; `inputs` is an example of its one-pixel
  input, `[batch, features]`, and `width` the image width.
* `step(cache, inputs, i, j) -> (outputs, cache)`: the layer's output
  `[batch, features']` at pixel `(i, j)` from its input there,
  `[batch, features]`. The step also writes the pixel into the cache. A
  pixel is stepped once per channel (R, then G, then B), every time from
  the cache as it was before the pixel, and the last step's cache is kept
  (the others' writes are dead code, which TensorFlow and XLA drop): its
  values are final, since nothing at `(i, j)` depends on the pixel's last
  channel (mask A hides a channel from its own position, mask B only
  passes groups on, §3.4). So a step must not change the `cache` it is
  given (a new dict, not an update of the old one), and what it writes at
  `(i, j)` is read only at later pixels: state carried from one pixel to
  the next (the previous pixel's, say) can be a plain cache entry. Steps
  come in raster order; `i` and `j` are int32 scalars. Under XLA, a step
  that reads a buffer it also writes has the whole buffer copied at every
  step: keep what the next pixels read apart from what they only need at
  the row's end (`MaskedConv2D`'s `left` and `row`).
* `end_row(cache, i) -> cache`: after row `i`'s last pixel: the work that
  needs a whole row, and moving the cache on to row `i + 1`.

Kinds of layers:

* leaf layers (`MaskedConv2D`, `RowLSTM`, `DiagonalBiLSTM`) implement the
  two methods with their own caches (a `1 x 1` convolution's holds only its
  masked kernel, prepared once per sampling call);
* composite layers (residual blocks, the output stack, the models) write
  their wiring once, `forward(inputs, run)`, where `run(layer, x)` applies
  a sublayer: `call` runs it on whole maps with `apply`, `step` with a
  `Steps` runner that threads the sublayers' caches, `end_row` with an
  `EndRow` runner (`Composite`).

A new architecture is one layer module of these kinds; the sampler's driver
(`sampling`) only calls the model's `initial_state`, `step`, `end_pixel`
and `end_row`.
"""

import tensorflow as tf


def apply(layer, inputs):
    """The `run` of `call`: the layer on whole maps."""
    return layer(inputs)


class Steps:
    """The `run` of `step`: a sublayer's step at `(i, j)`, its cache threaded.

    Args:
      caches: dict of the sublayers' caches, by sublayer name.
      i, j: int32 scalars, the pixel.
    """

    def __init__(self, caches, i, j):
        self.caches = dict(caches)
        self.i, self.j = i, j

    def __call__(self, layer, inputs):
        outputs, self.caches[layer.name] = layer.step(self.caches[layer.name], inputs, self.i, self.j)
        return outputs


class InitialCaches:
    """The `run` that makes the sublayers' initial caches, by sublayer name.

    Each sublayer's output comes from a step on its fresh cache, so the
    wiring can go on to the next sublayer; the steps' own caches are
    dropped.
    """

    def __init__(self, width):
        self.width = width
        self.caches = {}

    def __call__(self, layer, inputs):
        cache = layer.initial_cache(inputs, self.width)
        self.caches[layer.name] = cache
        outputs, _ = layer.step(cache, inputs, tf.constant(0), tf.constant(0))
        return outputs


class EndRow:
    """The `run` of `end_row`: each sublayer's end of row `i`, its cache threaded.

    The wiring needs a value from each sublayer to go on to the next; only
    shapes matter there, so a leaf layer gives zeros of its output's shape
    (dead code, which TensorFlow and XLA drop).
    """

    def __init__(self, caches, i):
        self.caches = dict(caches)
        self.i = i

    def __call__(self, layer, inputs):
        cache = self.caches[layer.name]
        if isinstance(layer, Composite):
            outputs, self.caches[layer.name] = layer.end_row(cache, self.i, inputs)
            return outputs
        self.caches[layer.name] = layer.end_row(cache, self.i)
        features = layer.compute_output_shape(tuple(inputs.shape))[-1]
        return tf.zeros(tf.concat([tf.shape(inputs)[:-1], [features]], 0), inputs.dtype)


class Composite:
    """Mixin: a layer whose wiring of sublayers is `forward(inputs, run)`, written once."""

    def forward(self, inputs, run):
        raise NotImplementedError

    def call(self, inputs):
        return self.forward(inputs, apply)

    def initial_cache(self, inputs, width):
        run = InitialCaches(width)
        self.forward(inputs, run)
        return run.caches

    def step(self, cache, inputs, i, j):
        run = Steps(cache, i, j)
        return self.forward(inputs, run), run.caches

    def end_row(self, cache, i, inputs):
        """`(outputs, cache)`: `inputs` is any one-pixel input (only its shape
        matters); `outputs` carries the shapes on through a parent's wiring."""
        run = EndRow(cache, i)
        return self.forward(inputs, run), run.caches


def pixel_at(images, i, j):
    """`images[:, i, j]`: `[batch, H, W, ...]` -> `[batch, ...]`.

    Gathers rather than slices: under XLA a slice whose start is an argument
    of the compiled function (the row) becomes a compile-time constant, and
    the function would be compiled once per row.
    """
    return tf.gather(tf.gather(images, i, axis=1), j, axis=1)


def write_at(buffer, index, value):
    """`buffer[:, *index] = value`: one scatter of the batch (in place under XLA).

    Args:
      buffer: `[batch, d1, ..., dk, features]`.
      index: `k` int32 scalars.
      value: `[batch, features]`.

    Returns:
      The new buffer.
    """
    batch = tf.shape(buffer)[0]
    indices = tf.stack(
        [tf.range(batch)] + [tf.fill([batch], tf.cast(k, tf.int32)) for k in index], axis=1
    )  # [B, 1 + k]
    return tf.tensor_scatter_nd_update(buffer, indices, tf.cast(value, buffer.dtype))


class StartRow:
    """The `run` of the row pass: whole-row work before row `i`'s first pixel.

    A layer whose output at a pixel needs a whole row of its input (the
    Gated PixelCNN's vertical stack) defines `start_row(cache, i, inputs)
    -> (outputs, cache)`, `inputs` and `outputs` being row `i`'s
    `[batch, width, features]`. Composites run their wiring on rows; any
    other layer gives zeros of its output's shape (dead code, as in
    `EndRow`). A model runs this pass only if some layer has `start_row`.
    """

    def __init__(self, caches, i):
        self.caches = dict(caches)
        self.i = i

    def __call__(self, layer, inputs):
        cache = self.caches[layer.name]
        if hasattr(layer, "start_row"):
            outputs, self.caches[layer.name] = layer.start_row(cache, self.i, inputs)
            return outputs
        if isinstance(layer, Composite):
            run = StartRow(cache, self.i)
            outputs = layer.forward(inputs, run)
            self.caches[layer.name] = run.caches
            return outputs
        features = layer.compute_output_shape(tuple(inputs.shape))[-1]
        return tf.zeros(tf.concat([tf.shape(inputs)[:-1], [features]], 0), inputs.dtype)
