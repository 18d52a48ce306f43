"""Training: fit, strategies, mixed precision, XLA, backups, NaN stops.

Kills and two real worker processes: tests/test_faults.py.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import pixel_rnn_tf as prt
from pixel_rnn_tf import callbacks
from pixel_rnn_tf import training
from helpers import random_images
from helpers import tiny_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow


def _env():
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("TF_CONFIG", None)
    return env


def _run_python(code, timeout=240, env=None):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        timeout=timeout, env=env or _env(), cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_fit_with_keras_api_reduces_loss():
    keras.utils.set_random_seed(0)
    model = training.compile_model(prt.build_model(tiny_config("pixel_cnn", (4, 4, 1), num_levels=2)))
    images = (random_images((64, 4, 4, 1), 2) * 0)  # A deterministic target.
    history = model.fit(images, images, batch_size=16, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert "bits_per_dim" in history.history


def test_epoch_batches_are_epoch_exact():
    images = np.arange(10).reshape(10, 1, 1, 1)
    full = list(training.epoch_batches(images, 4, seed=3).take(6).as_numpy_iterator())
    for start in (1, 2, 3):  # 2 batches a pass; resume inside and between passes.
        resumed = training.epoch_batches(images, 4, seed=3, start_batch=start)
        for a, b in zip(full[start:], resumed.take(6 - start).as_numpy_iterator()):
            np.testing.assert_array_equal(a[0], b[0])
    first_epoch = np.concatenate([x for x, _ in full[:2]]).ravel()
    assert len(set(first_epoch)) == 8  # A permutation: no repeats within an epoch.
    with pytest.raises(ValueError, match="batch_size=32"):
        training.epoch_batches(images, 32, seed=0)


def test_mirrored_strategy_matches_single_device():
    out = _run_python(
        """
        import numpy as np, tensorflow as tf, keras
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        tf.config.experimental.enable_op_determinism()
        import pixel_rnn_tf as prt
        from pixel_rnn_tf import training
        images = np.random.default_rng(0).integers(0, 2, (64, 4, 4, 1)).astype(np.int32)
        losses = []
        for strategy in (tf.distribute.get_strategy(),
                         tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])):
            keras.utils.set_random_seed(0)
            with strategy.scope():
                config = prt.ModelConfig(arch="row_lstm", image_shape=(4, 4, 1), num_levels=2,
                                         num_layers=1, hidden_units=4, output_units=8)
                model = training.compile_model(prt.build_model(config), jit_compile=False)
            history = model.fit(training.epoch_batches(images, 16, seed=0), steps_per_epoch=4,
                                epochs=2, verbose=0)
            losses.append(history.history["loss"])
            print(strategy.num_replicas_in_sync)
        print("LOSSES", losses)
        np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
        """
    )
    assert "2\n" in out


def test_train_and_resume_under_mirrored_strategy(tmp_path):
    """`training.train` with two replicas, then a resume under the strategy (issue 13)."""
    out = _run_python(
        f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import pixel_rnn_tf as prt
        from pixel_rnn_tf import training
        config = prt.ModelConfig(arch="row_lstm", image_shape=(8, 8, 1), num_levels=2,
                                 num_layers=1, hidden_units=4, output_units=8)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        for epochs in (1, 2):
            results = training.train(
                config, output_dir={str(tmp_path)!r}, train_split="train[:32]",
                test_split="test[:8]", epochs=epochs, steps_per_epoch=2, batch_size=8,
                num_samples=0, strategy=strategy, jit_compile=False, verbose=0,
            )
            print("RESUMED", results["resumed_from_epoch"], results["test"]["nats"])
        """
    )
    resumed = [line.split() for line in out.splitlines() if line.startswith("RESUMED")]
    assert [int(r[1]) for r in resumed] == [0, 1]
    assert all(np.isfinite(float(r[2])) for r in resumed)


def test_mixed_bfloat16_and_jit_compile_train(tmp_path):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = prt.build_model(tiny_config("diagonal_bilstm", (3, 4, 3)))
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.stem.compute_dtype == "bfloat16"
    training.compile_model(model, jit_compile=True)
    images = random_images((8, 3, 4, 3), 4)
    history = model.fit(images, images, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model(images).dtype == tf.float32


def test_train_library_with_precision_and_jit(tmp_path):
    results = training.train(
        "digits_row_lstm", output_dir=str(tmp_path), epochs=1, steps_per_epoch=5,
        precision="mixed_bfloat16", jit_compile=True, num_samples=0, verbose=0,
    )
    assert np.isfinite(results["test"]["bits_per_dim"])
    assert keras.config.dtype_policy().name == "float32"  # Restored.
    with pytest.raises(ValueError, match="precision='float64'"):
        training.train("digits_row_lstm", output_dir=str(tmp_path), precision="float64")


def _fit_with_backup(model, directory, epochs, **kwargs):
    backup = callbacks.AtomicBackupAndRestore(str(directory))
    images = random_images((32, 4, 4, 1), 2)
    model.fit(training.epoch_batches(images, 8, seed=0), steps_per_epoch=2, epochs=epochs,
              callbacks=[backup], verbose=0, **kwargs)
    return backup


def _small_model():
    keras.utils.set_random_seed(0)
    return training.compile_model(prt.build_model(tiny_config("pixel_cnn", (4, 4, 1), num_levels=2)))


def test_corrupt_backup_falls_back_then_errors(tmp_path):
    directory = tmp_path / "backup"
    _fit_with_backup(_small_model(), directory, epochs=2)
    state = json.loads((directory / "backup.json").read_text())
    assert state["epoch"] == 2 and state["previous"]["epoch"] == 1
    # A half-written latest weights file: fall back to the previous backup.
    (directory / state["weights"]).write_bytes(b"\x89HDF\r\n half written")
    backup = _fit_with_backup(_small_model(), directory, epochs=3)
    assert backup.restored_epoch == 1
    # Garbage metadata: a clear error, never a silent restart from scratch.
    (directory / "backup.json").write_text("{not json")
    with pytest.raises(callbacks.CheckpointError, match="unreadable"):
        _fit_with_backup(_small_model(), directory, epochs=4)


def test_nan_loss_stops_with_message_and_keeps_last_good_model(tmp_path, capsys):
    model = _small_model()
    files = callbacks.ModelFiles(str(tmp_path))
    stop = callbacks.StopOnNaN(files.last_path)

    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:  # Diverge in the second epoch.
                bias = self.model.head.logits.bias  # No ReLU after it to absorb the NaN.
                bias.assign(np.full(bias.shape, np.nan, np.float32))

    images = random_images((32, 4, 4, 1), 2)
    model.fit(images, images, batch_size=8, epochs=3, verbose=0,
              callbacks=[Poison(), stop, files])
    assert stop.stopped_at == (1, 0)
    assert "Training stopped: the loss became nan" in capsys.readouterr().out
    restored = keras.saving.load_model(files.last_path)
    assert all(np.isfinite(w).all() for w in restored.get_weights())


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    path = tmp_path / "model.keras"

    def fail(temporary):
        with open(temporary, "w") as f:
            f.write("partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        callbacks.atomic_write(str(path), fail)
    assert os.listdir(tmp_path) == []


def test_atomic_write_gives_plain_file_permissions(tmp_path):
    """Not mkstemp's owner-only 0600: a new file follows the umask, a replaced one keeps its mode."""
    path = tmp_path / "notes.txt"
    write = lambda temporary: open(temporary, "w").close()
    umask = os.umask(0o022)
    try:
        callbacks.atomic_write(str(path), write)
        assert os.stat(path).st_mode & 0o777 == 0o644
        os.chmod(path, 0o640)
        callbacks.atomic_write(str(path), write)
        assert os.stat(path).st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_tensorboard_scalars_and_sample_images(tmp_path):
    training.train(
        "digits_pixel_cnn", output_dir=str(tmp_path), epochs=1, steps_per_epoch=3,
        sample_every_n_epochs=1, num_samples=0, verbose=0,
    )
    tags = set()
    for root, _, files in os.walk(tmp_path / "logs"):
        for name in files:
            for event in tf.compat.v1.train.summary_iterator(os.path.join(root, name)):
                tags.update(value.tag for value in event.summary.value)
    assert {"epoch_loss", "epoch_bits_per_dim", "epoch_learning_rate", "samples"} <= tags


def test_xla_where_an_accelerator_is_and_falls_back_where_it_cannot_compile(monkeypatch):
    monkeypatch.setattr(training.compiling, "JIT_COMPILE", "auto")  # The library's default.
    model = training.compile_model(prt.build_model(tiny_config("row_lstm", (2, 3, 1))))
    accelerator = tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU")
    assert model.jit_compile == bool(accelerator)  # Keras's "auto": no XLA on a CPU.
    assert training.compile_model(model, jit_compile=True).jit_compile
    assert not training.compile_model(model, jit_compile=False).jit_compile
    with pytest.raises(ValueError, match="jit_compile='yes'"):
        training.compile_model(model, jit_compile="yes")

    model = training.compile_model(
        prt.build_model(tiny_config("row_lstm", (2, 3, 1))), jit_compile=True
    )
    refused = tf.errors.InvalidArgumentError(
        None, None, "Detected unsupported operations when trying to compile graph on XLA_CPU_JIT"
    )
    calls = []

    def xla_step(*args):
        calls.append(model.jit_compile)
        if model.jit_compile:
            raise refused
        return "ran"

    monkeypatch.setattr(keras.Model, "make_train_function", lambda self, force=False: setattr(
        self, "train_function", xla_step))
    step = model.make_train_function()
    with pytest.warns(UserWarning, match="XLA could not compile the train step"):
        assert step("batch") == "ran"
    assert calls == [True, False] and not model.jit_compile
    # Errors of the data, not of the compiler, are not swallowed.
    bad_data = tf.errors.InvalidArgumentError(None, None, "images must be in [0, 2)")
    model.jit_compile = True
    monkeypatch.setattr(keras.Model, "make_train_function", lambda self, force=False: setattr(
        self, "train_function", lambda *args: (_ for _ in ()).throw(bad_data)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be in"):
        model.make_train_function(force=True)("batch")


# --- TensorFlow's thread pools -------------------------------------------------------


@pytest.mark.parametrize("cores,threads", [(1, 1), (2, 1), (3, 0), (16, 0)])
def test_auto_intra_op_threads_are_one_on_two_cores_only(cores, threads):
    assert training.resolve_intra_op_threads("auto", cores=cores) == threads
    assert training.resolve_intra_op_threads(4, cores=cores) == 4  # Asked for: kept.
    assert training.resolve_intra_op_threads(0, cores=cores) == 0  # TensorFlow's default.


@pytest.mark.parametrize("value", [-1, 1.5, True, "two", None])
def test_intra_op_threads_reject_what_is_not_a_count(value):
    with pytest.raises(ValueError, match=r"Expected `intra_op_threads` to be \"auto\" or an int"):
        training.resolve_intra_op_threads(value)


def test_intra_op_threads_parse_from_text():
    assert training.parse_intra_op_threads("auto") == "auto"
    assert training.parse_intra_op_threads("3") == 3
    for text in ("-1", "two", "", "1.5"):
        with pytest.raises(ValueError, match=f"Received: {text!r}"):
            training.parse_intra_op_threads(text)


def test_configure_threads_sets_them_before_the_first_op_and_refuses_after():
    # A fresh process: the package and TensorFlow imported, no op run yet.
    stdout = _run_python(
        """
        import os
        os.environ.pop("TF_NUM_INTRAOP_THREADS", None)
        import tensorflow as tf
        import pixel_rnn_tf as prt
        from pixel_rnn_tf import training

        assert training.configure_threads(3) == 3
        print(float(tf.reduce_sum(tf.ones([4]))))
        print(tf.config.threading.get_intra_op_parallelism_threads())
        assert training.configure_threads(3) == 3  # The same count: nothing to do.
        try:
            training.configure_threads(1)
        except RuntimeError as error:
            print(error)
        """
    )
    lines = stdout.splitlines()
    assert lines[:2] == ["4.0", "3"]
    assert "Cannot set intra_op_threads=1: TensorFlow's runtime is running already" in lines[2]


def test_auto_intra_op_threads_leave_the_environments_count():
    stdout = _run_python(
        """
        from pixel_rnn_tf import training
        import tensorflow as tf
        print(training.configure_threads("auto"))
        print(tf.config.threading.get_intra_op_parallelism_threads())
        """,
        env=dict(_env(), TF_NUM_INTRAOP_THREADS="2"),
    )
    assert stdout.split() == ["2", "0"]  # TensorFlow reads the variable itself.


def test_train_conditions_on_labels_refuses_fewer_epochs_and_skips_a_finished_run(tmp_path):
    config = tiny_config("pixel_cnn", (8, 8, 1), num_levels=2, hidden_units=2, num_classes=10)
    options = training.TrainOptions(
        output_dir=str(tmp_path), train_split="train[:64]", test_split="test[:16]",
        steps_per_epoch=2, num_samples=0, verbose=0, export_base=str(tmp_path / "export"),
    )
    results = training.train(config, "digits", options=options, epochs=2)
    assert results["config"]["num_classes"] == 10
    assert np.isfinite(results["test"]["bits_per_dim"])
    record = (tmp_path / "results.json").read_text()
    with pytest.raises(ValueError, match=r"trained for 2 epochs already, more than epochs=1"):
        training.train(config, "digits", options=options, epochs=1)
    assert (tmp_path / "results.json").read_text() == record  # Not rewritten as 1 epoch.
    again = training.train(config, "digits", options=options, epochs=2)  # Finished already.
    assert again == dict(json.loads(record), already_complete=True)
    assert prt.serving.versions(str(tmp_path / "export")) == [1]  # No identical second one.
    assert (tmp_path / "results.json").read_text() == record


def test_train_options_are_checked_when_made(tmp_path):
    with pytest.raises(ValueError, match="precision='float16'"):
        training.TrainOptions(output_dir=str(tmp_path), precision="float16")
    with pytest.raises(ValueError, match="clipnorm=nan"):
        training.TrainOptions(output_dir=str(tmp_path), clipnorm=float("nan"))


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(num_classes=3), r"num_classes=3 labels.*'digits' with 10 classes"),
        (dict(condition_shape=(2,)), r"labels only.*float vector"),
    ],
)
def test_train_refuses_conditions_the_data_set_cannot_give(changes, message, tmp_path):
    config = tiny_config("pixel_cnn", (8, 8, 1), num_levels=2, hidden_units=2, **changes)
    with pytest.raises(ValueError, match=message):
        training.train(config, "digits", output_dir=str(tmp_path), epochs=1, verbose=0)


def test_evaluate_nll_refuses_a_non_finite_model():
    model = _small_model()
    model.weights[0].assign(np.full(model.weights[0].shape, np.nan, np.float32))
    with pytest.raises(FloatingPointError, match=rf"{model.name} has non-finite"):
        training.evaluate_nll(model, random_images((4, 4, 4, 1), 2))
