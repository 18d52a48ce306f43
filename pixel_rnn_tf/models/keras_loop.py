"""Where the models meet Keras's `fit` and `evaluate` loop.

Every batch layout of `model_batch` is accepted; under `jit_compile` the
data is checked before the compiled step (XLA drops the model's own
asserts); a step XLA cannot compile reruns without it; and a step's logs
reduce across workers.
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

from pixel_rnn_tf import compat
from pixel_rnn_tf import conditioning
from pixel_rnn_tf import validation
from pixel_rnn_tf.models.batches import model_batch


class KerasLoop(keras.Model):
    """`fit`, `evaluate` and their steps for a model with `config` and `conditional`.

    `fit` and `evaluate` take a batch in any layout of `model_batch`:
    images alone (the target of a density model is its input), `(images,
    condition)` pairs or `{"images", "condition"}` dicts for a conditioned
    model. Under `jit_compile` they check the data before the compiled step
    (`_checked_data`), so XLA refuses what the plain graph refuses.
    """

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        x, y, kwargs = self._checked_data(x, y, kwargs)
        if validation_data is not None:
            if isinstance(validation_data, tf.data.Dataset):
                validation_data = self._checked_dataset(validation_data)
            elif isinstance(validation_data, (tuple, list)):
                x_val, y_val, weights = self._checked_data(validation_data, None, {})
                validation_data = (x_val, y_val) + tuple(weights.values())
        self._build_optimizer()
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        self._build_optimizer()
        return super().train_on_batch(*args, **kwargs)

    def _build_optimizer(self):
        """Creates the optimizer's variables before the train step is traced.

        Without a distribution strategy Keras creates them inside the first
        trace of the step, and a `tf.function` that creates variables is
        traced twice (once creating them, once more without): the whole
        step, the recurrences' loops and their gradients, twice over. The
        variables are the ones Keras would create at that point, for the
        model's trainable variables when `fit` is called (an unbuilt model
        is left to Keras, which builds both in the trace).
        """
        if self.built and self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x, y, kwargs = self._checked_data(x, y, kwargs)
        return super().evaluate(x, y, *args, **kwargs)

    def _checked_data(self, x, y, kwargs):
        """`fit`'s or `evaluate`'s `(x, y, kwargs)` in one layout, checked where XLA cannot.

        Arrays, tensors and dicts or tuples of them, and a
        `tf.data.Dataset`'s elements, are brought to `model_batch`'s layout
        here, before Keras builds its metrics on a first batch as it comes.
        Under `jit_compile` XLA compiles away the asserts of the model's
        `call` (an out-of-range pixel or label gives a finite or NaN loss,
        never an error), so the data is also checked before the compiled
        step, as the plain graph checks it: arrays at once (`ValueError`), a
        dataset in its pipeline (`InvalidArgumentError` at the bad batch),
        images and condition alike. Other data (generators,
        `keras.utils.PyDataset`) is used as it comes.
        """
        if isinstance(x, tf.data.Dataset):
            return self._checked_dataset(x), y, kwargs
        arrays = (np.ndarray, tf.Tensor, dict, tuple, list)
        if not isinstance(x, arrays) or not (y is None or isinstance(y, (np.ndarray, tf.Tensor))):
            return x, y, kwargs
        batch = model_batch(self.config, self.conditional, x if y is None else (x, y))
        if self.jit_compile:
            self._check_batch(batch)
        x, y, sample_weight = batch
        if sample_weight is not None:
            kwargs = dict(kwargs, sample_weight=sample_weight)
        return x, y, kwargs

    def _checked_dataset(self, dataset):
        """`dataset` in the layout `model_batch` makes, checked in the pipeline under XLA."""
        spec = dataset.element_spec
        nested = isinstance(spec, tuple)
        jit_compile = self.jit_compile
        if not jit_compile and nested and len(spec) == 2:
            # Already `(x, y)` as the step takes it: left as it is (a mapped
            # dataset would be distributed anew under a multi-worker strategy).
            x, y, _ = model_batch(self.config, self.conditional, spec)
            if x == spec[0] and y == spec[1]:
                return dataset

        def canonical(*element):
            x, y, sample_weight = model_batch(
                self.config, self.conditional, element if nested else element[0]
            )
            if jit_compile:
                x, y = self._check_batch((x, y, sample_weight))
            return (x, y) if sample_weight is None else (x, y, sample_weight)

        return dataset.map(canonical)

    def _check_batch(self, batch):
        """`(x, y)` of `model_batch`'s `batch`, with images, targets and condition checked.

        Eagerly a `ValueError`; in a graph (a `tf.data` pipeline) assertions
        that fail with `InvalidArgumentError`, naming `images` or `condition`.
        """
        x, y, _ = batch
        config = self.config
        raw_images, condition = x if self.conditional else (x, None)
        images = validation.check_images(raw_images, config.image_shape, config.num_levels)
        if y is raw_images:
            y = images
        elif tf.as_dtype(y.dtype).is_integer:  # Targets as images; float ones are the loss's.
            y = validation.check_range(y, config.num_levels, "images")
        if condition is None:
            return images, y
        condition = conditioning.check(config, condition, tf.shape(images)[0])
        return (images, condition), y

    def train_step(self, data):
        return _logs_for_reduction(
            super().train_step(model_batch(self.config, self.conditional, data))
        )

    def make_train_function(self, force=False):
        super().make_train_function(force)
        self.train_function = self._falling_back_from_xla(self.train_function, "train_function")
        return self.train_function

    def make_test_function(self, force=False):
        super().make_test_function(force)
        self.test_function = self._falling_back_from_xla(self.test_function, "test_function")
        return self.test_function

    def _falling_back_from_xla(self, function, attribute):
        """`function`, which reruns without XLA where XLA cannot compile the step.

        Training compiles with XLA on accelerators (`training.compile_model`);
        Keras already falls back where a layer says it cannot be compiled,
        this where the compiler itself refuses (an op without an XLA kernel,
        a shape that is not a compile-time constant). The failure comes
        before the step updates anything; the rerun gets the same arguments
        (a data iterator may have advanced past one batch).
        """
        if not self.jit_compile or getattr(function, "_xla_fallback", False):
            return function

        def run(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
                if not self.jit_compile or not _is_xla_compile_error(error):
                    raise
                warnings.warn(
                    f"XLA could not compile the {attribute.split('_')[0]} step; running it "
                    f"without XLA (jit_compile=False). The error: {str(error)[:500]}",
                    stacklevel=2,
                )
                self.jit_compile = False
                getattr(self, f"make_{attribute}")(force=True)
                return getattr(self, attribute)(*args, **kwargs)

        run._xla_fallback = True
        return run

    def test_step(self, data):
        return _logs_for_reduction(
            super().test_step(model_batch(self.config, self.conditional, data))
        )


def _is_xla_compile_error(error):
    """Whether `error` says XLA could not compile a function (not bad data)."""
    message = str(error)
    return any(
        text in message
        for text in ("XLA_CPU_JIT", "XLA_GPU_JIT", "XLA_TPU_JIT", "compile-time constant",
                     "unsupported operations when trying to compile")
    )


def _logs_for_reduction(logs):
    """Gives scalar logs a leading axis across several workers.

    Keras 3 reduces a step's logs across workers with a mean over axis 0,
    which fails on scalars (tensorflow/tensorflow#72388); a `[1]` log
    reduces to the mean over workers, a scalar again.
    """
    if compat.in_multi_worker_mode(tf.distribute.get_strategy()):
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs
