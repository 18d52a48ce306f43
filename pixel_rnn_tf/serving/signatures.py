"""The serving signatures: `ExportModule`, the `tf.Module` a SavedModel is saved from.

A served PixelRNN takes raw integer images and needs nothing of this package
at load time: `tf.saved_model.load(path)` (or TF Serving) runs it. Layout on
disk is the one TF Serving watches, `<export_base>/<integer version>/`.

Signatures (plain tensors in and out; a conditional model, one whose
`conditioning.kind(model.config)` is not None, also takes a `condition`
input on every signature, one per image: int32 labels `[batch]` in
`[0, num_classes)`, float32 vectors `[batch, D]` or float32 maps
`[batch, h, w, c]`, as `conditioning.spec` says):

* `serving_default` and `log_prob`: `images` uint8 `[batch, H, W, C]` ->
  `log_prob` float32 `[batch]` (nats) and `bits_per_dim` float32 `[batch]`.
* `sample`: `num_samples` int32 `[]`, `seed` int32 `[2]`, `temperature`
  float32 `[]` -> `images` uint8 `[num_samples, H, W, C]`. The same seed
  gives the same images (`sampling.sample`, method "auto").
* `complete`: `images` uint8 `[batch, H, W, C]`, `known` bool
  `[batch, H, W, C]`, `seed`, `temperature` -> `images` uint8
  `[batch, H, W, C]`, equal to the input where `known` (`sampling.complete`).
* `metadata`: no inputs -> `num_levels` int32 `[]`, `image_shape` int32
  `[3]` (height, width, channels) and `levels` int32 `[num_levels]`, the
  values a pixel takes: constants, so `saved_model_cli show --all` shows the
  number of levels as the shape of `levels` (and the image shape as the
  `images` inputs' shape), and `saved_model_cli run --signature_def=metadata`
  prints every value.

A model with a NaN or infinite weight is refused before anything is written
(`FloatingPointError`).

Validation, all in the graph. A signature called with the wrong dtype is
refused before it runs (TF Serving: INVALID_ARGUMENT); TensorFlow's runtime
makes that message, naming the input by its position ("input #1"), not its
name, before any op of the SavedModel runs (`export/client.py` converts
every input to its dtype by name; the loaded `tf.function`s, `loaded.sample`
and the like, name it). Shapes are not
compared with the signature by TF Serving (tensorflow/serving#1436) nor by a
loaded signature called from Python, so each input passes an `EnsureShape`
op. Values: pixels `< num_levels` (checked by the model and the sampler,
`validation.check_range`), the condition's labels in `[0, num_classes)` or
its vectors and maps finite (`conditioning.check`), `1 <= num_samples <=
max_samples`, `len(images) <= max_samples` for `complete`, `temperature`
positive and finite, `len(condition)` and `len(known)` equal to the batch. A
failed check is an `InvalidArgumentError` (gRPC INVALID_ARGUMENT, HTTP 400)
whose message names the input, never a crash or a silently wrong answer.

An empty batch gets an empty answer (`log_prob` `[0]`, `complete`
`[0, H, W, C]`), as from the library.

Under XLA (`jit_compile=True`, TPUs) `Assert` ops are compiled away (a bad
pixel gives NaN): validate requests before they reach a compiled signature.

`sampling_jit_compile=True` compiles the sampler's row loop with XLA inside
the `sample` and `complete` signatures (the same images, faster on a
CPU; BENCHMARKS.md). The validation stays outside the compiled
part. A CPU TF Serving runs such functions only when started with
`--xla_cpu_compilation_enabled=true`; without it those two signatures fail
at their first request, so it is off by default.
"""

import tensorflow as tf

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import evaluation
from pixel_rnn_tf import head
from pixel_rnn_tf import metrics
from pixel_rnn_tf import sampling
from pixel_rnn_tf.validation import check_int

DEFAULT_MAX_SAMPLES = 64
LOG_PROB = "log_prob"
SAMPLE = "sample"
COMPLETE = "complete"
METADATA = "metadata"
SERVING_DEFAULT = tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY  # "serving_default"
SIGNATURES = (SERVING_DEFAULT, LOG_PROB, SAMPLE, COMPLETE, METADATA)


def _ensure_shape(tensor, shape, name):
    """Checks at run time that `tensor` has `shape` (`None`: any size).

    TF Serving feeds requests without comparing their shapes to the
    signature (tensorflow/serving#1436), and a loaded signature called from
    Python does not compare them either, so the graph must. `EnsureShape`
    checks at run time and is on the data path: every op that reads the
    returned tensor runs after the check, so no op ever sees a wrong shape.
    Its error names the input: "Shape of tensor ..._images... [5,3,4,1,1] is
    not compatible with expected shape [?,3,4,1]."

    Args:
      tensor: any tensor.
      shape: the expected shape, a sequence of ints and `None`s.
      name: the argument's name, for the message.

    Returns:
      `tensor`, to be used instead of it.
    """
    return tf.ensure_shape(tensor, shape, name=name)


def _assert_in_range(value, low, high, name):
    """Checks an integer scalar lies in `[low, high]`; returns it."""
    check = tf.debugging.Assert(
        tf.logical_and(value >= low, value <= high),
        [f"Expected `{name}` in [{low}, {high}]. Received: {name} =", value],
    )
    with tf.control_dependencies([check]):
        return tf.identity(value)


def _assert_same_batch(tensor, batch_size, name, batch_name):
    """Checks `len(tensor)` equals `batch_size`, the length of `batch_name`."""
    size = tf.shape(tensor)[0]
    check = tf.debugging.Assert(
        tf.equal(size, batch_size),
        [f"Expected len({name}) == {batch_name} =", batch_size, f"Received: len({name}) =", size],
    )
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


class ExportModule(tf.Module):
    """A `tf.Module` holding a `PixelModel` and its serving signatures.

    Each signature is a `tf.function` with an explicit `input_signature` of
    `tf.TensorSpec`s, so it is traced once, at construction, for any batch
    size. Likelihoods come from `head.log_prob` and `metrics.bits_per_dim`,
    samples from `sampling.sample` / `sampling.complete` (method "auto": the
    fastest exact sampler), so served numbers are the library's numbers.

    Args:
      model: a built `PixelModel` (any model with a `config`, the
        multi-scale one among them).
      max_samples: the most images one `sample` or `complete` request may
        draw; their cost grows with it, so it caps a request's work.
      sampling_jit_compile: compile the sampler's row loop with XLA in the
        `sample` and `complete` signatures (see the module docstring).

    Example:
      ```python
      module = ExportModule(model)
      tf.saved_model.save(module, path, signatures=module.signatures())
      served = tf.saved_model.load(path)
      served.signatures["log_prob"](images=tf.zeros([2, 28, 28, 1], tf.uint8))
      # {"log_prob": [2] float32 nats, "bits_per_dim": [2] float32}
      ```
    """

    def __init__(
        self, model, max_samples=DEFAULT_MAX_SAMPLES, sampling_jit_compile=False, name=None
    ):
        super().__init__(name=name)
        config = getattr(model, "config", None)
        if config is None or not hasattr(config, "image_shape"):
            raise ValueError(
                "Expected `model` to be a PixelModel (with a `config`). "
                f"Received: model of type {type(model).__name__}"
            )
        check_int("max_samples", max_samples, 1)
        # NaN weights would serve NaN likelihoods and noise as samples.
        evaluation.check_finite_weights(model)
        # Track the model's `tf.Variable`s themselves, not the Keras objects:
        # saving a Keras 3 variable wraps a copy of it whose restore op never
        # initializes the resource the traced functions read, so a session
        # loader (TF Serving's C++ `LoadSavedModel`, `saved_model_cli run`)
        # fails with "Could not find variable". `tf.saved_model.save` refuses
        # a function that reads a variable tracked by neither.
        object.__setattr__(self, "_model", model)  # Bypasses tracking.
        self.model_variables = [getattr(v, "value", v) for v in model.variables]
        if not isinstance(sampling_jit_compile, bool):
            raise ValueError(
                "Expected `sampling_jit_compile` to be a bool. "
                f"Received: sampling_jit_compile={sampling_jit_compile!r}"
            )
        self.max_samples = int(max_samples)
        self.sampling_jit_compile = sampling_jit_compile
        self.image_shape = tuple(config.image_shape)
        self.num_levels = config.num_levels
        object.__setattr__(self, "_config", config)  # Not trackable state.
        # `condition` int32 [batch] (labels) or float32 [batch, ...], or None.
        object.__setattr__(self, "_condition_spec", conditioning.spec(config))

        images_shape = (None,) + self.image_shape
        images = tf.TensorSpec(images_shape, tf.uint8, name="images")
        known = tf.TensorSpec(images_shape, tf.bool, name="known")
        num_samples = tf.TensorSpec([], tf.int32, name="num_samples")
        seed = tf.TensorSpec([2], tf.int32, name="seed")
        temperature = tf.TensorSpec([], tf.float32, name="temperature")
        condition = [] if self._condition_spec is None else [self._condition_spec]

        self.log_prob = tf.function(self._log_prob, input_signature=[images] + condition)
        self.sample = tf.function(
            self._sample, input_signature=[num_samples, seed, temperature] + condition
        )
        self.complete = tf.function(
            self._complete, input_signature=[images, known, seed, temperature] + condition
        )
        self.metadata = tf.function(self._metadata, input_signature=[])

    @property
    def model(self):
        """The `PixelModel` (not itself part of the SavedModel's object graph)."""
        return self._model

    @property
    def condition_spec(self):
        """The `tf.TensorSpec` of the `condition` input, or `None` (no condition)."""
        return self._condition_spec

    def signatures(self):
        """The signatures to save: `{name: concrete function}`."""
        log_prob = self.log_prob.get_concrete_function()
        return {
            SERVING_DEFAULT: log_prob,
            LOG_PROB: log_prob,
            SAMPLE: self.sample.get_concrete_function(),
            COMPLETE: self.complete.get_concrete_function(),
            METADATA: self.metadata.get_concrete_function(),
        }

    def _metadata(self):
        """What a client needs to know of the model: constants, no inputs."""
        return {
            "num_levels": tf.constant(self.num_levels, tf.int32),
            "image_shape": tf.constant(self.image_shape, tf.int32),
            "levels": tf.range(self.num_levels, dtype=tf.int32),  # [num_levels]
        }

    def _checked_images(self, images, name="images"):
        return _ensure_shape(images, (None,) + self.image_shape, name)

    def _checked_condition(self, condition, batch_size):
        """The request's `condition`, one per image, validated in the graph; or `None`."""
        if self._condition_spec is None:
            return None
        condition = _ensure_shape(condition, self._condition_spec.shape, "condition")
        # Range (labels) or finiteness (vectors, maps), and the count: a
        # length-1 `condition` would broadcast over the batch, a silent wrong answer.
        return conditioning.check(self._config, condition, batch_size=batch_size)

    def _checked_seed_and_temperature(self, seed, temperature):
        seed = _ensure_shape(seed, (2,), "seed")
        temperature = _ensure_shape(temperature, (), "temperature")
        # `sampling` checks `temperature > 0`; infinity would silently mean "uniform".
        check = tf.debugging.Assert(
            tf.math.is_finite(temperature),
            ["Expected a finite `temperature`. Received: temperature =", temperature],
        )
        with tf.control_dependencies([check]):
            return seed, tf.identity(temperature)

    def _log_prob(self, images, condition=None):
        """Log-likelihood of images.

        Args:
          images: uint8 `[batch, H, W, C]`, values in `[0, num_levels)`.
          condition: one per image (`condition_spec`); conditional models only.

        Returns:
          `{"log_prob": float32 [batch] (nats), "bits_per_dim": float32 [batch]}`.
        """
        images = self._checked_images(images)
        condition = self._checked_condition(condition, tf.shape(images)[0])
        inputs = images if condition is None else (images, condition)
        # The model checks pixel values against their range.
        log_prob = head.log_prob(self.model(inputs), images)  # [batch]
        return {
            "log_prob": log_prob,
            "bits_per_dim": metrics.bits_per_dim(-log_prob, self.image_shape),
        }

    def _sample(self, num_samples, seed, temperature, condition=None):
        """Draws images (exact ancestral sampling).

        Args:
          num_samples: int32 scalar in `[1, max_samples]`.
          seed: int32 `[2]`, a stateless seed: the same seed, the same images.
          temperature: float32 scalar > 0; logits are divided by it.
          condition: `[num_samples, ...]` (`condition_spec`); conditional models only.

        Returns:
          `{"images": uint8 [num_samples, H, W, C]}`.
        """
        num_samples = _ensure_shape(num_samples, (), "num_samples")
        num_samples = _assert_in_range(num_samples, 1, self.max_samples, "num_samples")
        seed, temperature = self._checked_seed_and_temperature(seed, temperature)
        condition = self._checked_condition(condition, num_samples)
        images = sampling.sample(
            self.model, num_samples, seed=seed, temperature=temperature, condition=condition,
            jit_compile=self.sampling_jit_compile,
        )  # int32 [num_samples, H, W, C]
        return {"images": tf.cast(images, tf.uint8)}

    def _complete(self, images, known, seed, temperature, condition=None):
        """Fills the pixels where `known` is False, keeping the others exactly.

        Args:
          images: uint8 `[batch, H, W, C]`, values in `[0, num_levels)` (also
            where `known` is False), batch at most `max_samples`.
          known: bool `[batch, H, W, C]`, the shape of `images`.
          seed, temperature, condition: as in `sample` (`condition` `[batch, ...]`).

        Returns:
          `{"images": uint8 [batch, H, W, C]}`.
        """
        images = self._checked_images(images)
        known = self._checked_images(known, "known")
        # Completion costs as much per image as sampling: the same cap.
        batch_size = _assert_in_range(tf.shape(images)[0], 0, self.max_samples, "len(images)")
        # `sampling.complete` would broadcast a batch-1 mask; a request must be exact.
        known = _assert_same_batch(known, batch_size, "known", "len(images)")
        seed, temperature = self._checked_seed_and_temperature(seed, temperature)
        condition = self._checked_condition(condition, batch_size)
        completed = sampling.complete(
            self.model, images, known, seed=seed, temperature=temperature, condition=condition,
            jit_compile=self.sampling_jit_compile,
        )  # int32 [batch, H, W, C]
        return {"images": tf.cast(completed, tf.uint8)}
