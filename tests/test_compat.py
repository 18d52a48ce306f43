"""Each private Keras or TensorFlow API of `pixel_rnn_tf.compat` still does what we rely on.

A failure names the Keras and TensorFlow versions: a release changed the
API, and `compat.py` (only) needs updating.
"""

import inspect

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from pixel_rnn_tf import compat


def _changed(what):
    return f"{what} changed in {compat.VERSIONS}: update pixel_rnn_tf/compat.py."


def _dense_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


_X, _Y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)


def test_in_symbolic_scope_is_true_in_keras_shape_inference():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, inputs):
            seen.append(compat.in_symbolic_scope())
            return inputs

    Probe()(np.zeros((1, 2), np.float32))
    Probe()(keras.KerasTensor((1, 2)))  # Keras's compute_output_spec.
    assert seen == [False, True], _changed("keras.src.backend.common.symbolic_scope")


def test_in_multi_worker_mode():
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective

    method = getattr(collective.CollectiveAllReduceExtended, "_in_multi_worker_mode", None)
    assert callable(method), _changed("MultiWorkerMirroredStrategy.extended._in_multi_worker_mode")
    assert issubclass(collective.CollectiveAllReduceStrategy, tf.distribute.MultiWorkerMirroredStrategy)
    assert not compat.in_multi_worker_mode(tf.distribute.get_strategy())


def test_forget_distribute_strategy():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = _dense_model()
    assert model.distribute_strategy is strategy, _changed("keras.Model._distribute_strategy")
    compat.forget_distribute_strategy(model)
    assert model.distribute_strategy is tf.distribute.get_strategy(), _changed(
        "keras.Model._distribute_strategy"
    )


def test_set_initial_epoch_makes_fit_resume():
    model, epochs = _dense_model(), []

    class Resume(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            compat.set_initial_epoch(self.model, 2)

        def on_epoch_begin(self, epoch, logs=None):
            epochs.append(epoch)

    model.fit(_X, _Y, epochs=3, verbose=0, callbacks=[Resume()])
    assert epochs == [2], _changed("keras.Model._initial_epoch")


@pytest.mark.parametrize(
    "save_freq,expected", [("epoch", [(1, 0), (2, 0)]), (2, [(0, 1), (0, 3), (1, 1), (1, 3)])]
)
def test_backup_hooks(save_freq, expected, tmp_path):
    positions = []

    class Recording(compat.BackupHooks):
        def save_backup(self):
            positions.append(self.position)
            super().save_backup()  # Keras's own.

    model = _dense_model()
    backup = Recording(str(tmp_path), save_freq=save_freq, delete_checkpoint=False)
    model.fit(_X, _Y, epochs=2, batch_size=1, verbose=0, callbacks=[backup])
    what = "keras.callbacks.BackupAndRestore._save_model, _current_epoch or _last_batch_seen"
    assert positions == expected, _changed(what)
    assert (tmp_path / "latest.weights.h5").exists(), _changed(what)


def test_track_layers_reach_tf_checkpoints_and_keep_the_keras_layout(tmp_path):
    class Stack(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.parts = compat.track_layers(
                self, "parts", [keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")]
            )

        def call(self, inputs):
            return self.parts[1](self.parts[0](inputs))

    model = keras.Sequential([keras.Input((2,)), Stack(name="stack")])
    assert len(model.weights) == 4  # Keras tracks each layer once.
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    saved = [name for name, _ in tf.train.list_variables(path) if name.startswith("model/")]
    assert len(saved) == 4, _changed("TF's tracking of Keras layer attributes")
    model.save_weights(tmp_path / "model.weights.h5")
    names = []
    with h5py.File(tmp_path / "model.weights.h5") as f:
        f.visit(names.append)
    assert any("/parts/" in name for name in names) and not any("_parts_" in n for n in names), (
        _changed("the `.weights.h5` layout (private attributes visited last)")
    )


def test_sublayers_walks_nested_layers():
    inner = keras.layers.Dense(1, name="inner")

    class Outer(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.parts = [keras.layers.Dense(2, name="part"), inner]

    names = [layer.name for layer in compat.sublayers(Outer(name="outer"))]
    assert {"outer", "part", "inner"} <= set(names) and names.count("inner") == 1, (
        _changed("keras.Layer._flatten_layers")
    )


def test_keras_variables_wrap_tf_variables():
    # `distribution.PixelRNN.trainable_variables` hands tfp these (public API, Keras on TF).
    variable = keras.Variable(np.ones(2, np.float32))
    assert isinstance(variable.value, tf.Variable), _changed("keras.Variable.value")


def test_keras_layer_test_harness():
    # Tests only (tests/test_ecosystem.py): Keras's own layer-test harness.
    from keras.src import testing

    parameters = inspect.signature(testing.TestCase.run_layer_test).parameters
    for name in ("run_training_check", "run_mixed_precision_check", "expected_output_dtype"):
        assert name in parameters, _changed("keras.src.testing.TestCase.run_layer_test")


def test_function_not_inlined_is_a_call_with_the_noinline_attribute():
    inner = compat.function_not_inlined(lambda x: tf.tanh(x) * 2.0)

    @tf.function
    def outer(x):
        return inner(x) + 1.0

    graph = outer.get_concrete_function(tf.TensorSpec([3])).graph.as_graph_def()
    calls = [node for node in graph.node if node.op in ("PartitionedCall", "StatefulPartitionedCall")]
    assert calls, f"{compat.VERSIONS}: the inner function is not a call op"
    (called,) = [f for f in graph.library.function if f.signature.name == calls[0].attr["f"].func.name]
    assert called.attr["_noinline"].b, f"{compat.VERSIONS}: `_noinline` is not on the function"
    np.testing.assert_allclose(outer(tf.ones([3])), 2 * np.tanh(1.0) + 1, rtol=1e-6)
