"""The absl mains (`pixel_rnn_tf.cli`): flags, errors, outputs, quiet logs, scripts."""

import configparser
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow


def _run(*args, timeout=300):
    # No TF_CPP_MIN_LOG_LEVEL here: the mains' own quiet default is under test.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = REPO
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=REPO,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("run")
    result = _run(
        "pixel_rnn_tf.cli.train", "--preset=digits_pixel_cnn", "--epochs=1", "--steps_per_epoch=5",
        "--num_samples=4", "--nojit_compile", f"--output_dir={output_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir, result.stdout, result.stderr


def test_train_main_reports_and_writes(trained):
    output_dir, stdout, _ = trained
    assert "| test (test) |" in stdout and "bits/dim" in stdout
    results = json.loads((output_dir / "results.json").read_text())
    assert results["test"]["bits_per_dim"] > 0
    for name in ("model.keras", "last.keras", "samples.png", "completions.png"):
        assert (output_dir / name).exists(), name


def test_train_main_rerun_of_a_finished_run_says_so_and_exports_nothing(trained):
    output_dir, _, _ = trained
    results = (output_dir / "results.json").read_text()
    result = _run(
        "pixel_rnn_tf.cli.train", "--preset=digits_pixel_cnn", "--epochs=1", "--steps_per_epoch=5",
        "--num_samples=4", "--nojit_compile", f"--output_dir={output_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "is complete already (1 epochs)" in result.stdout and "| test (test) |" in result.stdout
    versions = [name for name in os.listdir(output_dir / "export") if name.isdigit()]
    assert versions == ["1"]  # No identical version 2.
    assert (output_dir / "results.json").read_text() == results


def test_train_main_trains_the_multiscale_preset(tmp_path):
    from PIL import Image
    import numpy as np

    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for k in range(10):
        pixels = (rng.random((28, 28)) > 0.5).astype(np.uint8) * 255
        Image.fromarray(pixels).save(images / f"{k}.png")
    output_dir = tmp_path / "run"
    result = _run(
        "pixel_rnn_tf.cli.train", "--preset=mnist_multiscale_row_lstm", "--arch=pixel_cnn",
        "--num_layers=1", "--hidden_units=2", "--dataset=folder", f"--data_dir={images}",
        "--train_split=train[:8]", "--test_split=train[8:]", "--epochs=1",
        "--steps_per_epoch=1", "--batch_size=4", "--num_samples=0", "--noexport",
        "--nojit_compile", f"--output_dir={output_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "multiscale (pixel_cnn 1x2, then pixel_cnn 1x2) on folder (28, 28, 1)" in result.stdout
    assert "| test (train[8:]) |" in result.stdout
    results = json.loads((output_dir / "results.json").read_text())
    assert results["config"]["small"]["image_shape"] == [14, 14, 1]
    assert results["test"]["bits_per_dim"] > 0


def test_importing_the_library_imports_no_command():
    code = (
        "import pixel_rnn_tf, sys; "
        "assert not any(m.startswith('pixel_rnn_tf.cli') for m in sys.modules), "
        "[m for m in sys.modules if m.startswith('pixel_rnn_tf.cli')]"
    )
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def test_sample_main(trained, tmp_path):
    output_dir, _, _ = trained
    result = _run(
        "pixel_rnn_tf.cli.sample", f"--model={output_dir / 'model.keras'}", "--num_samples=3",
        f"--output_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path)) == ["completions.png", "samples.png"]


def test_sample_main_refuses_a_split_smaller_than_num_samples(trained, tmp_path):
    output_dir, _, _ = trained
    result = _run(
        "pixel_rnn_tf.cli.sample", f"--model={output_dir / 'model.keras'}", "--split=test[:2]",
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
        "pixel_rnn_tf.cli.sample", f"--model={path}", "--num_samples=3", "--condition=2,0,1",
        f"--output_dir={tmp_path / 'out'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "out")) == ["completions.png", "samples.png"]


def test_train_main_conditions_on_the_data_sets_labels(tmp_path):
    result = _run(
        "pixel_rnn_tf.cli.train", "--condition_on_labels", "--preset=digits_pixel_cnn",
        "--num_layers=1", "--hidden_units=2", "--epochs=1", "--steps_per_epoch=1",
        "--train_split=train[:32]", "--test_split=test[:8]", "--num_samples=2", "--noexport",
        "--nojit_compile", f"--output_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["num_classes"] == 10
    assert (tmp_path / "samples.png").exists()


def test_sample_main_checks_its_output_dir_first_and_names_a_damaged_condition(tmp_path):
    import pixel_rnn_tf as prt

    config = prt.configs.get("digits_pixel_cnn", num_layers=1, hidden_units=2,
                             condition_shape=(2,))
    path = tmp_path / "vector.keras"
    prt.build_model(config).save(path)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result = _run(
        "pixel_rnn_tf.cli.sample", f"--model={path}", f"--output_dir={blocker / 'out'}",
        "--condition=missing.npy", timeout=120,
    )
    assert result.returncode != 0
    assert "--output_dir" in result.stderr and str(blocker) in result.stderr
    assert "No .npy" not in result.stderr and "Traceback" not in result.stderr  # Checked first.
    damaged = tmp_path / "damaged.npy"
    damaged.write_bytes(b"\x93NUMPY garbage")
    result = _run(
        "pixel_rnn_tf.cli.sample", f"--model={path}", f"--output_dir={tmp_path / 'out'}",
        "--num_samples=2", f"--condition={damaged}", timeout=120,
    )
    assert result.returncode != 0
    assert f"--condition={str(damaged)!r}" in result.stderr and "Traceback" not in result.stderr
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.parametrize(
    "flag,message",
    [
        ("--preset=nope", "value should be one of"),
        ("--dataset=imagenet", "value should be one of"),
        ("--epochs=0", "0 is not a positive integer"),
        ("--colour=1", "Unknown command line flag 'colour'"),
        ("--backup_every=often", "--backup_every must be 'epoch' or a positive int"),
        ("--intra_op_threads=two", "--intra_op_threads: Expected 'auto' or an int >= 0"),
        ("--condition_on_labels --dataset=folder", "--condition_on_labels: Expected `data_dir`"),
    ],
)
def test_train_main_rejects_bad_flags(flag, message, tmp_path):
    result = _run("pixel_rnn_tf.cli.train", *flag.split(), f"--output_dir={tmp_path}",
                  timeout=120)
    assert result.returncode != 0
    assert message in result.stderr


# --- quiet logs and the commands' names --------------------------------------------

# A C++ INFO line of TF/XLA/absl ("I0000 00:00:..." or "I1202 04:14:19..."), or
# the Python `tensorflow` logger's ("INFO:tensorflow:...").
_INFO_LINE = re.compile(r"^(I\d{4} |INFO:)", re.M)


def test_train_main_shows_progress_and_results_not_info_logs(trained):
    _, stdout, stderr = trained
    assert "step" in stdout and "| test (test) |" in stdout  # Keras's progress, the table.
    # Not a terminal: one line per epoch (Keras's verbose=2), no redrawn progress bar.
    assert len(re.findall(r"^5/5 - .*loss: ", stdout, re.M)) == 1, stdout
    assert "\r" not in stdout and "\x1b" not in stdout and "\u2501" not in stdout
    assert not _INFO_LINE.search(stderr), stderr[-3000:]
    # The SavedModel writer's signature-serialization notices are gone too.
    assert "signature_serialization" not in stderr and "Assets written" not in stderr


def test_the_mains_read_verbosity_before_tensorflow():
    from pixel_rnn_tf import cli

    assert cli.verbosity(["pixel-rnn-train"]) is None  # Quiet.
    assert cli.verbosity(["pixel-rnn-train", "--verbosity=-1"]) == -1  # Quiet too.
    assert cli.verbosity(["pixel-rnn-train", "--verbosity=0"]) == 0
    assert cli.verbosity(["pixel-rnn-train", "-v", "1", "--epochs=1"]) == 1
    assert cli.verbosity(["pixel-rnn-train", "--", "--verbosity=1"]) is None
    assert cli.started_command(["/venv/bin/pixel-rnn-train"], []) == "train"
    assert cli.started_command(["-m"], ["python", "-m", "pixel_rnn_tf.cli.export"]) == "export"
    assert cli.started_command(["export/export_saved_model.py"], []) == "export"
    # A library user's process (pytest's, here) is left alone.
    assert cli.started_command(["-m"], ["python", "-m", "pytest"]) is None
    assert cli.started_command(sys.argv, sys.orig_argv) is None


def test_console_scripts_and_python_m_help():
    from pixel_rnn_tf import cli

    setup = configparser.ConfigParser()
    setup.read(os.path.join(REPO, "setup.cfg"))
    scripts = dict(
        line.replace(" ", "").split("=")
        for line in setup["options.entry_points"]["console_scripts"].strip().splitlines()
    )
    assert scripts == {
        script: f"pixel_rnn_tf.cli.{name}:run" for script, name in cli.COMMANDS.items()
    }
    # `python -m pixel_rnn_tf.cli.<name> --help` for each, in one process (one
    # TensorFlow import): absl's flags are global, so each main's are removed after it.
    code = textwrap.dedent(
        f"""
        import runpy, sys
        from absl import flags
        import pixel_rnn_tf as prt
        for name in {sorted(cli.COMMANDS.values())}:
            sys.argv = [name, "--help"]
            try:
                runpy.run_module("pixel_rnn_tf.cli." + name, run_name="__main__")
            except SystemExit as error:
                print("EXIT", name, error.code, flush=True)
            for flag in flags.FLAGS.get_key_flags_for_module(sys.argv[0]):
                delattr(flags.FLAGS, flag.name)
        print("EVALUATE", callable(prt.evaluate))
        """
    )
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=120)
    exits = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("EXIT")]
    # absl's --help prints the main's flags and exits with status 1.
    assert exits == [[name, "1"] for name in sorted(cli.COMMANDS.values())], result.stderr[-3000:]
    for flag in ("--output_dir", "--num_samples", "--condition", "--export_base"):
        assert flag in result.stdout
    assert "EVALUATE True" in result.stdout  # Importing the evaluate main shadows nothing.


def test_sample_main_refuses_a_read_only_output_dir_before_sampling():
    import shutil
    import tempfile

    import pixel_rnn_tf as prt

    # Not under pytest's owner-only tmp_path: user nobody must reach it.
    root = tempfile.mkdtemp(prefix="read-only-")
    try:
        os.chmod(root, 0o755)
        model = os.path.join(root, "model.keras")
        prt.build_model(prt.configs.get("digits_pixel_cnn", num_layers=1, hidden_units=2)).save(model)
        os.chmod(model, 0o644)
        target = os.path.join(root, "samples")
        os.mkdir(target)
        os.chmod(target, 0o555)
        argv = ["pixel-rnn-sample", f"--model={model}", f"--output_dir={target}",
                "--num_samples=2"]
        # Root writes anywhere: the command runs as user nobody, its modules
        # imported first (the interpreter's own files may be root's alone).
        code = textwrap.dedent(f"""
            import os, pwd, sys
            import pixel_rnn_tf.cli.sample
            if os.geteuid() == 0:
                try:
                    nobody = pwd.getpwnam("nobody")
                except KeyError:
                    sys.exit("no user nobody")
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            sys.argv = {argv!r}
            pixel_rnn_tf.cli.sample.run()  # The console script.
        """)
        env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
        env.update(PYTHONPATH=REPO)
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root,
            timeout=120,
        )
        if "no user nobody" in result.stderr:
            pytest.skip("no user nobody to run the command as")
        assert os.listdir(target) == []
    finally:
        shutil.rmtree(root)
    assert result.returncode != 0
    assert "output_dir" in result.stderr and "writable directory" in result.stderr, (
        result.stderr[-2000:]
    )
    assert "Permission denied" in result.stderr
    assert "Traceback" not in result.stderr
