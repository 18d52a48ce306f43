"""Nothing lost, nothing silent: concurrent exports and runs, kill leftovers, clear errors.

The export tests replace the (slow) SavedModel writer by one that writes a
marker file: what they check is the versioned layout around it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import pixel_rnn_tf as prt
from pixel_rnn_tf import callbacks
from pixel_rnn_tf import files
from pixel_rnn_tf import serving
from pixel_rnn_tf.training import run as training  # train's namespace, which the tests patch
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES_PY = os.path.join(REPO, "pixel_rnn_tf", "files.py")
pytestmark = pytest.mark.slow

# Runs `files.py` alone (standard library only): a subprocess without TensorFlow.
_LOAD_FILES = f"""
import importlib.util
spec = importlib.util.spec_from_file_location("files", {FILES_PY!r})
files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(files)
"""


def _python(code, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-I", "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, **kwargs,
    )


def _run_main(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=REPO,
        timeout=timeout,
    )


# --- exports ----------------------------------------------------------------------


@pytest.fixture
def fake_writer(monkeypatch):
    """`serving.export_saved_model` replaced: writes `model` (a string) as the model."""
    hooks = {}

    def write(model, export_dir, **kwargs):
        hooks.get(model, lambda: None)()
        with open(os.path.join(export_dir, "saved_model.pb"), "w") as f:
            f.write(model)
        return export_dir

    monkeypatch.setattr(serving, "export_saved_model", write)
    return hooks


def _content(path):
    with open(os.path.join(path, "saved_model.pb")) as f:
        return f.read()


def _temporaries(base):
    return [name for name in os.listdir(base) if name.startswith(serving.TEMP_PREFIX)]


def test_concurrent_export_takes_the_next_version(tmp_path, fake_writer):
    base = str(tmp_path / "base")
    # While "slow" is being written, another export claims version 1.
    fake_writer["slow"] = lambda: serving.export_versioned("fast", base)
    assert serving.export_versioned("slow", base) == os.path.join(base, "2")
    assert (_content(os.path.join(base, "1")), _content(os.path.join(base, "2"))) == (
        "fast", "slow"
    )
    # An explicit version taken meanwhile: refused, the other one kept.
    fake_writer["slow3"] = lambda: serving.export_versioned("fast3", base, version=3)
    with pytest.raises(FileExistsError, match="appeared at .*3 during the export"):
        serving.export_versioned("slow3", base, version=3)
    assert _content(os.path.join(base, "3")) == "fast3"
    assert serving.versions(base) == [1, 2, 3] and not _temporaries(base)


def test_many_exports_at_once_get_distinct_versions(tmp_path, fake_writer):
    base = str(tmp_path / "base")
    count = 6
    barrier = threading.Barrier(count)
    for i in range(count):
        fake_writer[f"model{i}"] = barrier.wait  # All have chosen a version before any renames.
    paths, errors = [], []

    def export(i):
        try:
            paths.append(serving.export_versioned(f"model{i}", base))
        except Exception as error:  # Reported below.
            errors.append(error)

    threads = [threading.Thread(target=export, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert serving.versions(base) == list(range(1, count + 1))
    assert sorted(_content(p) for p in paths) == sorted(f"model{i}" for i in range(count))


def test_overwrite_never_leaves_the_version_missing(tmp_path, fake_writer, monkeypatch):
    base = str(tmp_path / "base")
    path = serving.export_versioned("old", base)
    probe_a, probe_b = tmp_path / "a", tmp_path / "b"
    probe_a.mkdir(), probe_b.mkdir()
    if not files.exchange(str(probe_a), str(probe_b)):
        pytest.skip("this file system has no atomic exchange (renameat2); see files.exchange")
    missing = []
    for module, name in ((os, "rename"), (os, "replace")):
        original = getattr(module, name)

        def checked(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            if not os.path.exists(os.path.join(path, "saved_model.pb")):
                missing.append(args)
            return result

        monkeypatch.setattr(module, name, checked)
    assert serving.export_versioned("new", base, version=1, overwrite=True) == path
    monkeypatch.undo()
    assert not missing, f"version 1 was missing after {missing}"
    assert _content(path) == "new"
    assert sorted(os.listdir(base)) == ["1"]  # The replaced version and the lock are gone.


def test_leftovers_of_killed_exports_are_ignored_and_cleaned(tmp_path, fake_writer):
    base = tmp_path / "base"
    base.mkdir()
    legacy = base / (serving.TEMP_PREFIX + "abc123")  # mkdtemp's, of an older version.
    (legacy / "variables").mkdir(parents=True)
    dead = base / (serving.TEMP_PREFIX + "dead")  # Its lock file is held by no process.
    (dead / "saved_model").mkdir(parents=True)
    (base / (serving.TEMP_PREFIX + "dead.lock")).write_text("")
    assert serving.versions(str(base)) == [] and serving.next_version(str(base)) == 1
    with files.locked_temporary_directory(str(base), serving.TEMP_PREFIX) as live:
        # Another export in progress: its directory must survive the cleaning.
        assert serving.export_versioned("model", str(base)) == str(base / "1")
        assert os.path.isdir(live)
        assert sorted(_temporaries(base)) == sorted(
            [os.path.basename(live), os.path.basename(live) + ".lock"]
        )
    assert sorted(os.listdir(base)) == ["1"]


def test_export_base_that_is_a_file_fails_before_exporting(tmp_path, fake_writer):
    base = tmp_path / "base"
    base.write_text("not a directory")
    fake_writer["model"] = lambda: pytest.fail("exported into a file")
    with pytest.raises(files.UnusableDirectoryError, match="export_base=.*which is a file"):
        serving.export_versioned("model", str(base))


# --- runs -------------------------------------------------------------------------


def _refuse_data(monkeypatch):
    def load(*args, **kwargs):
        raise AssertionError("data were loaded: the check came too late")

    monkeypatch.setattr(training.data, "load", load)


def test_second_run_into_a_directory_refuses_at_once(tmp_path, monkeypatch):
    _refuse_data(monkeypatch)
    with files.DirectoryLock(str(tmp_path)):
        with pytest.raises(files.DirectoryInUseError, match=re.escape(str(tmp_path))):
            training.train("digits_pixel_cnn", output_dir=str(tmp_path), epochs=1)


def test_run_lock_dies_with_its_process(tmp_path):
    holder = _python(_LOAD_FILES + f"""
files.DirectoryLock({str(tmp_path)!r}).acquire()
print("LOCKED", flush=True)
import time; time.sleep(600)
""")
    try:
        assert holder.stdout.readline().strip() == "LOCKED", holder.stderr.read()
        with pytest.raises(files.DirectoryInUseError, match=f"process {holder.pid}"):
            files.DirectoryLock(str(tmp_path)).acquire()
    finally:
        holder.kill()  # kill -9: no cleanup runs in the holder.
        holder.wait(timeout=30)
    with files.DirectoryLock(str(tmp_path)) as lock:
        assert lock.locked


@pytest.mark.parametrize("where", ["output_dir", "export_base"])
def test_output_dir_or_export_base_that_is_a_file_fails_before_the_data(
    tmp_path, monkeypatch, where
):
    _refuse_data(monkeypatch)
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    paths = {"output_dir": str(tmp_path / "run"), "export_base": None, where: str(a_file)}
    with pytest.raises(files.UnusableDirectoryError, match=f"{where}=.*which is a file"):
        training.train("digits_pixel_cnn", epochs=1, **paths)


def test_unwritable_directory_fails_clearly():
    # Not under pytest's owner-only tmp_path: user nobody must reach it.
    target = tempfile.mkdtemp(prefix="reliability-")
    try:
        if os.geteuid() == 0:  # Root writes anywhere: check as user nobody.
            os.chmod(target, 0o755)
            code = _LOAD_FILES + f"""
import os, pwd
os.setgid(pwd.getpwnam("nobody").pw_gid); os.setuid(pwd.getpwnam("nobody").pw_uid)
try:
    files.ensure_writable_directory({target!r}, "output_dir")
except files.UnusableDirectoryError as error:
    print(error)
"""
            out, err = _python(code).communicate(timeout=30)
            if "KeyError" in err:
                pytest.skip("no user nobody to check as")
            message = out
        else:
            os.chmod(target, 0o555)
            with pytest.raises(files.UnusableDirectoryError) as raised:
                files.ensure_writable_directory(target, "output_dir")
            message = str(raised.value)
    finally:
        shutil.rmtree(target)
    assert "Expected `output_dir` to be a writable directory" in message
    assert "Permission denied" in message


@pytest.mark.parametrize("learning_rate", [float("nan"), float("inf"), 0.0, -1e-3])
def test_bad_learning_rate_is_refused(tmp_path, monkeypatch, learning_rate):
    _refuse_data(monkeypatch)
    expected = r"`learning_rate` to be a positive finite number. Received: learning_rate="
    with pytest.raises(ValueError, match=expected):
        training.train("digits_pixel_cnn", output_dir=str(tmp_path), learning_rate=learning_rate)


def test_empty_test_split_fails_before_training(tmp_path, monkeypatch):
    def build(*args):
        raise AssertionError("a model was built: the check came too late")

    monkeypatch.setattr(training, "build_model", build)
    with pytest.raises(ValueError, match=r"non-empty `test_split`.*'test\[:0\]'"):
        training.train("digits_pixel_cnn", output_dir=str(tmp_path), test_split="test[:0]")


def test_stray_temporaries_never_block_a_resume_and_are_cleaned(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    # What a kill -9 during the first backup and a model write leaves.
    strays = [backup / ".tmp-k1l2m3.weights.h5", tmp_path / ".tmp-x9y8.keras"]
    for stray in strays:
        stray.write_bytes(b"\x89HDF half written")
    assert callbacks.AtomicBackupAndRestore(str(backup)).saved_state() is None
    results = training.train(
        "digits_pixel_cnn", output_dir=str(tmp_path), train_split="train[:64]",
        test_split="test[:16]", epochs=1, steps_per_epoch=2, num_samples=0, verbose=0,
    )
    assert results["resumed_from_epoch"] == 0
    assert not any(stray.exists() for stray in strays)
    state = json.loads((backup / "backup.json").read_text())
    best = state["callbacks"]["ModelFiles"]
    assert best["monitor"] == "val_loss" and best["best_epoch"] == 1
    assert np.isfinite(best["best"])


def _small_model(hidden_units=6):
    keras.utils.set_random_seed(0)
    config = tiny_config("pixel_cnn", (4, 4, 1), num_levels=2, hidden_units=hidden_units)
    return training.compile_model(prt.build_model(config))


def _fit(model, directory, epochs, extra=()):
    files_callback = callbacks.ModelFiles(str(directory))
    backup = callbacks.AtomicBackupAndRestore(
        str(directory / "backup"), stateful=[files_callback]
    )
    images = random_images((32, 4, 4, 1), 2)
    history = model.fit(
        training.epoch_batches(images, 8, seed=0), steps_per_epoch=2, epochs=epochs,
        callbacks=[*extra, files_callback, backup], verbose=0,
    )
    return files_callback, backup, history


def test_resume_keeps_the_true_best_model(tmp_path):
    first, _, _ = _fit(_small_model(), tmp_path, epochs=2)
    best_bytes = (tmp_path / "best.keras").read_bytes()
    saved = json.loads((tmp_path / "backup" / "backup.json").read_text())
    assert saved["callbacks"]["ModelFiles"] == {
        "monitor": "val_loss", "best": first.best, "best_epoch": first.best_epoch
    }

    class Worsen(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            randomize_weights(self.model, seed=9, scale=3.0)  # The extension is worse.

    resumed, backup, history = _fit(_small_model(), tmp_path, epochs=3, extra=[Worsen()])
    assert backup.restored_epoch == 2
    (loss,) = history.history["loss"]  # The third epoch only.
    assert np.isfinite(loss) and loss > first.best
    assert (resumed.best, resumed.best_epoch) == (first.best, first.best_epoch)
    assert (tmp_path / "best.keras").read_bytes() == best_bytes


def test_resume_with_another_config_names_the_difference(tmp_path):
    _fit(_small_model(hidden_units=6), tmp_path, epochs=1)
    other = _small_model(hidden_units=3)
    backup = callbacks.AtomicBackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(callbacks.CheckpointError) as raised:
        backup.restore(other)
    message = str(raised.value)
    assert "hidden_units=6 in the backup, 3 in the model" in message
    assert "\n" not in message


# --- loading models ---------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    prt.build_model(tiny_config("pixel_cnn", (2, 3, 1), num_levels=2)).save(str(path))
    return path


def _broken(kind, good, directory):
    path = directory / f"{kind}.keras"
    data = good.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "not_a_zip":
        path.write_text("hello")
    elif kind == "zip_without_config":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "hello")
    return path


@pytest.mark.parametrize(
    "kind, message",
    [
        ("empty", "it is empty"),
        ("truncated", "not a .keras .zip. archive: truncated or corrupt"),
        ("not_a_zip", "not a .keras .zip. archive"),
        ("zip_without_config", "without config.json"),
    ],
)
def test_bad_keras_file_says_what_is_wrong(saved_model_file, tmp_path, kind, message):
    path = _broken(kind, saved_model_file, tmp_path)
    with pytest.raises(ValueError, match=message) as raised:
        serving.load_keras_model(str(path))
    assert "File not found" not in str(raised.value)
    assert serving.load_keras_model(str(saved_model_file)).config.image_shape == (2, 3, 1)


# --- the mains --------------------------------------------------------------------


def test_train_main_refuses_a_file_as_output_dir_and_nan_learning_rate(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    # Both in one process (one TensorFlow import): absl exits after each.
    code = f"""
        from absl import app
        from pixel_rnn_tf.cli import train
        for argv in (["train", "--output_dir={a_file}"],
                     ["train", "--learning_rate=nan", "--output_dir={tmp_path / 'run'}"]):
            try:
                app.run(train.main, argv=argv)
            except SystemExit as error:
                print("EXIT", error.code, flush=True)
    """
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, env=env, cwd=REPO, timeout=120)
    assert result.stdout.split() == ["EXIT", "1", "EXIT", "1"], result.stderr[-3000:]
    # Refused at once, before any data or training, without a traceback.
    assert "Expected `--output_dir` to be a directory" in result.stderr
    # absl's `lower_bound=0.0` let NaN through (NaN < 0 is False).
    assert "--learning_rate must be a positive finite number" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_evaluate_main_says_what_is_wrong_with_the_model_file(tmp_path):
    empty = tmp_path / "model.keras"
    empty.write_bytes(b"")
    result = _run_main("pixel_rnn_tf.cli.evaluate", f"--model={empty}")
    assert result.returncode != 0
    assert "it is empty (0 bytes)" in result.stderr
    assert "File not found" not in result.stderr


# --- XLA and empty batches ----------------------------------------------------------


def test_out_of_range_pixels_are_refused_under_xla():
    """XLA compiles the model's asserts away: `fit` and `evaluate` check the data before."""
    keras.utils.set_random_seed(0)
    config = tiny_config("pixel_cnn", (2, 2, 1), num_levels=2, hidden_units=2)
    model = training.compile_model(prt.build_model(config), jit_compile=True)
    images = random_images((4, 2, 2, 1), 2)
    bad = images.copy()
    bad[-1, -1, -1, -1] = 2
    message = r"Expected `images` values in \[0, 2\)"
    with pytest.raises(ValueError, match=message):
        model.fit(bad, images, batch_size=2, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.fit(images, images, batch_size=2, validation_data=(images, bad), verbose=0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(images, bad, batch_size=2, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((bad, bad)).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`images` values must be < 2"):
        model.fit(dataset, verbose=0)
    # Good data still trains under XLA.
    history = model.fit(images, images, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
