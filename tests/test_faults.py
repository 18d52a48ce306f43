"""Fault injection: a run killed (SIGKILL) at each kind of write resumes to the same result.

Each case kills a deterministic training run at an exact write through the
write hook of `files` (`files.set_write_hook`, set to `kill_at`: the process
kills itself right before or after the rename that completes its n-th write
of a kind), then reruns it. The rerun's `model.keras`, `best.keras`,
`samples.png` and export must equal those of one uninterrupted run, and no
integer version directory may ever be partial (BUILD.md, "What is
guaranteed"). One tiny run costs a few seconds; the processes run side by side.
"""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import zipfile

import h5py
import numpy as np
import pytest
import tensorflow as tf

from pixel_rnn_tf import files
from pixel_rnn_tf import serving

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow

CONFIG = dict(
    arch="pixel_cnn", image_shape=(8, 8, 1), num_levels=2, num_layers=1, hidden_units=2,
    output_units=4,
)
# Two epochs of two steps. Writes in order: per epoch last.keras, best.keras
# (model) then the backup's weights and backup.json (backup); after training
# model.keras, samples.png, completions.png, the export, results.json.
RUN = dict(
    train_split="train[:32]", test_split="test[:16]", epochs=2, steps_per_epoch=2, batch_size=8,
    num_samples=1, jit_compile=False, verbose=0,
)

# (kind, n, when) of the kill, and the epoch the rerun resumes from.
CASES = {
    "backup:1:before": 0,  # The first backup's weights, never renamed.
    "backup:3:after": 1,  # Epoch 2's weights are in, its backup.json is not.
    "model:3:before": 1,  # Epoch 2's last.keras.
    "samples:2:before": 2,  # completions.png, after model.keras and samples.png.
    "export:1:after": 2,  # Version 1 is in; results.json is not.
}
# A kill before the export's rename: test_serving.test_killed_export_leaves_no_version.

# The driver scripts' start: argv[1] and argv[2] are the config and the run,
# argv[3] the `kill_at` setting ("" for none).
_START = """
import json, os, signal, sys
import tensorflow as tf
tf.config.experimental.enable_op_determinism()
from pixel_rnn_tf import files
from pixel_rnn_tf import training
config, run = json.loads(sys.argv[1]), json.loads(sys.argv[2])


def kill_at(setting):
    \"\"\"A write hook: SIGKILL (as `kill -9`) at `<kind>:<n>:<before|after>`, the
    moment right before or after the rename completing the n-th write of `kind`,
    so a test kills a run at an exact point instead of racing it with a timer.\"\"\"
    target_kind, target_count, target_when = setting.split(":")
    counts = {}

    def hook(kind, when):
        if when == "before":
            counts[kind] = counts.get(kind, 0) + 1
        if (kind, counts.get(kind, 0), when) == (target_kind, int(target_count), target_when):
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


if sys.argv[3]:
    files.set_write_hook(kill_at(sys.argv[3]))
"""

# Trains into each output directory read from stdin (one a line), as
# `python -m pixel_rnn_tf.cli.train --deterministic` would.
_DRIVER = _START + """
for line in sys.stdin:
    output_dir = line.strip()
    results = training.train(
        config, output_dir=output_dir, export_base=output_dir + "/export", **run
    )
    print("RESULTS", json.dumps(results), flush=True)
"""


def _driver(kill_at=None):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    command = [
        sys.executable, "-c", textwrap.dedent(_DRIVER), json.dumps(CONFIG), json.dumps(RUN),
        kill_at or "",
    ]
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd=REPO,
    )


def _version_files(export_base):
    """`{version: sorted relative paths of its files}` of the integer versions."""
    listing = {}
    for version in serving.versions(export_base):
        root = os.path.join(export_base, str(version))
        listing[version] = sorted(
            os.path.relpath(os.path.join(directory, name), root)
            for directory, _, names in os.walk(root)
            for name in names
        )
    return listing


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One uninterrupted run, and each case killed then rerun (the reruns in one process)."""
    root = tmp_path_factory.mktemp("faults")
    resumer = _driver()
    try:
        resumer.stdin.write(f"{root / 'reference'}\n")
        resumer.stdin.flush()
        killed = {case: _driver(kill_at=case) for case in CASES}
        after_kill = {}
        for case, process in killed.items():
            _, err = process.communicate(f"{root / case}\n", timeout=600)
            after_kill[case] = {
                "returncode": process.returncode,
                "stderr": err[-3000:],
                "versions": _version_files(str(root / case / "export")),
            }
        out, err = resumer.communicate("".join(f"{root / case}\n" for case in CASES), timeout=600)
    finally:
        for process in [resumer, *killed.values()]:
            if process.poll() is None:
                process.kill()
    assert resumer.returncode == 0, err[-3000:]
    results = [json.loads(line[8:]) for line in out.splitlines() if line.startswith("RESULTS ")]
    assert len(results) == 1 + len(CASES), err[-3000:]
    return {
        "root": root,
        "reference": results[0],
        "resumed": dict(zip(CASES, results[1:])),
        "after_kill": after_kill,
    }


def _keras_weights(path):
    """`{name: array}` of every weight (the optimizer's too) in a `.keras` file."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    weights = {}
    with h5py.File(io.BytesIO(data), "r") as h5:
        h5.visititems(
            lambda name, item: weights.__setitem__(name, item[()])
            if isinstance(item, h5py.Dataset) else None
        )
    return weights


def _export_variables(version_dir):
    """`{name: array}` of a SavedModel's variables."""
    reader = tf.train.load_checkpoint(os.path.join(version_dir, "variables", "variables"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def _assert_same(a, b):
    assert sorted(a) == sorted(b) and a
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
def test_killed_run_resumes_to_the_uninterrupted_result(runs, case):
    root, reference = runs["root"], runs["root"] / "reference"
    after_kill = runs["after_kill"][case]
    assert after_kill["returncode"] == -signal.SIGKILL, after_kill["stderr"]
    # Right after the kill, every integer version is whole.
    whole = _version_files(str(reference / "export"))[1]
    assert all(names == whole for names in after_kill["versions"].values())
    assert list(after_kill["versions"]) == ([1] if case == "export:1:after" else [])

    resumed, directory = runs["resumed"][case], root / case
    assert resumed["resumed_from_epoch"] == CASES[case]
    assert resumed["test"] == runs["reference"]["test"]
    for name in ("model.keras", "best.keras"):
        _assert_same(_keras_weights(reference / name), _keras_weights(directory / name))
    assert (directory / "samples.png").read_bytes() == (reference / "samples.png").read_bytes()
    export = directory / "export"
    versions = serving.versions(str(export))
    assert versions == ([1, 2] if case == "export:1:after" else [1])
    _assert_same(
        _export_variables(str(reference / "export" / "1")),
        _export_variables(str(export / str(versions[-1]))),
    )
    # Nothing of the killed run is left: no temporary file or directory.
    leftovers = [
        os.path.join(path, name)
        for path, names, file_names in os.walk(directory)
        for name in names + file_names
        if name.startswith(files.TEMP_PREFIX)
    ]
    assert not leftovers


# --- two real workers (MultiWorkerMirroredStrategy) ---------------------------------

_WORKER = _START + """
output_dir = sys.argv[4]
results = training.train(
    config, output_dir=output_dir, export_base=output_dir + "/export",
    strategy=tf.distribute.MultiWorkerMirroredStrategy(), **run
)
print("RESULTS", json.dumps(results), flush=True)
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _workers(output_dir, kill_at=None):
    """Starts two workers on 127.0.0.1; worker 1 is killed at `kill_at` (the write hook)."""
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
    processes = []
    for index in range(2):
        env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        command = [
            sys.executable, "-c", textwrap.dedent(_WORKER), json.dumps(CONFIG), json.dumps(RUN),
            kill_at if kill_at and index == 1 else "", str(output_dir),
        ]
        processes.append(subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
        ))
    return processes


def _wait_for(predicate, timeout):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_two_workers_killed_and_resumed_equal_one_process(runs, tmp_path):
    """Two worker processes, a kill of one, both rerun: the single-process result."""
    run = tmp_path / "run"
    chief, worker = _workers(run, kill_at="backup:2:after")  # After its epoch-1 backup.
    try:
        worker.wait(timeout=600)
        assert worker.returncode == -signal.SIGKILL, worker.stderr.read()[-3000:]
        # The chief cannot go on without the worker; its epoch-1 backup is whole.
        metadata = run / "backup" / "backup.json"
        assert _wait_for(lambda: metadata.exists(), 120), chief.stderr.read()[-3000:]
    finally:
        for process in (chief, worker):
            if process.poll() is None:
                process.kill()
            process.wait(timeout=60)
    assert json.loads(metadata.read_text())["epoch"] == 1

    processes = _workers(run)
    outputs = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, err[-3000:]
            outputs.append(json.loads(out.split("RESULTS ", 1)[1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    # Both resumed from the chief's backup (the worker's own was as far).
    assert [results["resumed_from_epoch"] for results in outputs] == [1, 1]
    reference = runs["root"] / "reference"
    for name in ("model.keras", "best.keras"):
        expected, got = _keras_weights(reference / name), _keras_weights(run / name)
        assert sorted(expected) == sorted(got)
        for key in expected:  # Two half-batch gradients, summed: not bit-exact.
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-4, atol=1e-6, err_msg=key)
    assert serving.versions(str(run / "export")) == [1]
    assert (run / "samples.png").exists()
    # The other worker wrote no samples and no export; its model files are its own.
    worker_dir = run / "workers" / "1"
    assert not (worker_dir / "export").exists() and not (worker_dir / "samples.png").exists()
