"""`compile_model`: RMSProp, `CategoricalNLL` and `BitsPerDim` (§5), XLA or not."""

import keras

from pixel_rnn_tf import files
from pixel_rnn_tf.losses import CategoricalNLL
from pixel_rnn_tf.metrics import BitsPerDim

DEFAULT_LEARNING_RATE = 1e-3  # RMSProp, as in the paper (§5).
# Keras's "auto": XLA where the machine has a GPU or TPU, the plain graph on
# CPU-only machines, where XLA's compile (seconds to minutes per model)
# does not pay for itself (BENCHMARKS.md, "Training throughput");
# `jit_compile=True` (`--jit_compile`) asks for it anyway.
JIT_COMPILE = "auto"


def _check_jit_compile(jit_compile):
    """Resolves `jit_compile=None` to `JIT_COMPILE`; Keras resolves "auto"."""
    if jit_compile is None:
        return JIT_COMPILE
    if not isinstance(jit_compile, bool) and jit_compile != "auto":
        raise ValueError(
            'Expected `jit_compile` to be None, "auto" or a bool. '
            f"Received: jit_compile={jit_compile!r}"
        )
    return jit_compile


def compile_model(model, learning_rate=DEFAULT_LEARNING_RATE, clipnorm=None, jit_compile=None):
    """Compiles `model` with RMSProp, `CategoricalNLL` and `BitsPerDim`.

    Args:
      model: a model of `build_model`.
      learning_rate, clipnorm: RMSProp's (§5).
      jit_compile: XLA-compile the train and test steps: a bool, or "auto"
        (XLA on GPUs and TPUs only); None: `JIT_COMPILE` ("auto"). Where
        XLA cannot compile a step, Keras (a layer that says so, op
        determinism) or the model (the compiler refuses) warns and runs it
        without XLA.
    """
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate, clipnorm=clipnorm),
        loss=CategoricalNLL(),
        metrics=[BitsPerDim()],
        jit_compile=_check_jit_compile(jit_compile),
    )
    return model


def save_model_atomically(model, path):
    """Writes `model` to `path` (`.keras`) whole or not at all."""
    return files.atomic_write(path, model.save)
