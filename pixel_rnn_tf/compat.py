"""Every private Keras and TensorFlow API the package relies on, in one place.

Keras and TensorFlow do not promise to keep what this module touches; each
use is here once, says why it is needed, and has a test in
`tests/test_compat.py` that fails with the Keras and TensorFlow versions in
its message when a release changes it. Nothing else in the package reaches
into `keras.src`, or into `_`-prefixed attributes of Keras or TensorFlow
objects.
"""

import keras
import tensorflow as tf
from keras.src.backend.common import symbolic_scope as _symbolic_scope

VERSIONS = f"Keras {keras.__version__}, TensorFlow {tf.__version__}"


def in_symbolic_scope():
    """Whether Keras is tracing a call on symbolic tensors only for shapes.

    Keras's `compute_output_spec` and its symbolic build of a model (under
    a strategy, on the replica mean of a batch: a float where the model
    takes int images) run `call` in this scope.
    """
    return _symbolic_scope.in_symbolic_scope()


def in_multi_worker_mode(strategy):
    """Whether `strategy` is a MultiWorkerMirroredStrategy across several workers.

    TensorFlow says so only through the extended strategy's private method
    (a one-worker MultiWorkerMirroredStrategy is local).
    """
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def forget_distribute_strategy(model):
    """Makes Keras's `fit` take the strategy of its calling scope, not the model's.

    A Keras model remembers the strategy it was created under, and `fit`
    then first builds it symbolically on the replica mean of a batch (a
    float where the model takes int images, an error under
    MultiWorkerMirroredStrategy); a built model needs no such build.
    """
    model._distribute_strategy = None


def set_initial_epoch(model, epoch):
    """Makes the next `model.fit` start at `epoch` (how Keras's own
    `BackupAndRestore` resumes: `fit` reads the model's `_initial_epoch`)."""
    model._initial_epoch = epoch


class BackupHooks(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` with its saving as public hooks.

    Keras decides when to back up (each epoch, or every `save_freq`
    batches) and calls its private `_save_model`; subclasses override
    `save_backup` instead and read where training is from `position`.
    """

    def _save_model(self):
        self.save_backup()

    def save_backup(self):
        """Writes a backup (Keras's own by default)."""
        super()._save_model()

    @property
    def position(self):
        """`(epochs completed, last batch seen in the epoch)` at this backup."""
        return self._current_epoch, self._last_batch_seen


def track_layers(owner, name, layers):
    """Makes the layers of a list attribute visible to TensorFlow's object tracking.

    Keras wraps a list attribute in its own `TrackedList`, which
    `tf.train.Checkpoint`, `CheckpointManager` and `tf.saved_model.save` do
    not see (keras-team/keras#18398): their variables would be silently
    missing from a checkpoint. Each layer is also set as the private
    attribute `_<name>_<i>`, which TensorFlow tracks; Keras tracks a layer
    once, and its `.keras` saving visits private attributes last, so the
    `.keras` and `.weights.h5` layouts are those of the list.

    Returns:
      `layers`, to assign to `owner.<name>`.
    """
    for index, layer in enumerate(layers):
        setattr(owner, f"_{name}_{index}", layer)
    return layers


def sublayers(layer):
    """`layer` and every layer inside it, at any depth.

    Keras 3 lists only a model's direct layers publicly (`Model.layers`);
    its recursive walk is private.
    """
    return list(layer._flatten_layers(include_self=True, recursive=True))


def function_not_inlined(function):
    """`function` as a `tf.function` (no AutoGraph) that callers' graphs call, not inline.

    TensorFlow inlines every `tf.function` called in another one before the
    graph optimizer runs; the `_noinline` attribute of its function library
    keeps it a call. `tf.function` takes the attribute through its public
    `experimental_attributes`, but its name is private to TensorFlow.
    """
    return tf.function(function, autograph=False, experimental_attributes={"_noinline": True})
