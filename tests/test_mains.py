"""The absl mains: flags, errors, outputs."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow


def _run(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=REPO,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("run")
    result = _run(
        "pixel_rnn_tf.train", "--preset=digits_pixel_cnn", "--epochs=1", "--steps_per_epoch=5",
        "--num_samples=4", "--nojit_compile", f"--output_dir={output_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir, result.stdout


def test_train_main_reports_and_writes(trained):
    output_dir, stdout = trained
    assert "| test (test) |" in stdout and "bits/dim" in stdout
    results = json.loads((output_dir / "results.json").read_text())
    assert results["test"]["bits_per_dim"] > 0
    for name in ("model.keras", "last.keras", "samples.png", "completions.png"):
        assert (output_dir / name).exists(), name


def test_sample_main(trained, tmp_path):
    output_dir, _ = trained
    result = _run(
        "pixel_rnn_tf.sample", f"--model={output_dir / 'model.keras'}", "--num_samples=3",
        f"--output_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path)) == ["completions.png", "samples.png"]


def test_sample_main_refuses_a_split_smaller_than_num_samples(trained, tmp_path):
    output_dir, _ = trained
    result = _run(
        "pixel_rnn_tf.sample", f"--model={output_dir / 'model.keras'}", "--split=test[:2]",
        "--num_samples=3", f"--output_dir={tmp_path}",
    )
    assert result.returncode != 0
    assert "holds 2 images, fewer than --num_samples=3" in result.stderr
    assert os.listdir(tmp_path) == []  # Not silently 2 samples and completions.


def test_sample_main_takes_a_condition(tmp_path):
    import pixel_rnn_tf as prt

    config = prt.configs.get("digits_pixel_cnn", num_layers=1, hidden_units=4, num_classes=3)
    path = tmp_path / "labels.keras"
    prt.build_model(config).save(path)
    result = _run(
        "pixel_rnn_tf.sample", f"--model={path}", "--num_samples=3", "--condition=2,0,1",
        f"--output_dir={tmp_path / 'out'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "out")) == ["completions.png", "samples.png"]


@pytest.mark.parametrize(
    "flag,message",
    [
        ("--preset=nope", "value should be one of"),
        ("--dataset=imagenet", "value should be one of"),
        ("--epochs=0", "0 is not a positive integer"),
        ("--colour=1", "Unknown command line flag 'colour'"),
        ("--backup_every=often", "--backup_every must be 'epoch' or a positive int"),
    ],
)
def test_train_main_rejects_bad_flags(flag, message, tmp_path):
    result = _run("pixel_rnn_tf.train", flag, f"--output_dir={tmp_path}", timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
