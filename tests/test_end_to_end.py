"""The whole story: the main job's command, then its export served by a fresh process."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow


def test_main_job_to_served_export(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    output_dir = tmp_path / "run"
    train = subprocess.run(
        [sys.executable, "-m", "pixel_rnn_tf.cli.train", "--epochs=2", "--steps_per_epoch=10",
         "--num_samples=4", f"--output_dir={output_dir}"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    assert "bits/dim" in train.stdout
    results = json.loads((output_dir / "results.json").read_text())
    for key in ("model_path", "samples_path", "completions_path", "export_path"):
        assert os.path.exists(results[key]), key
    # A process that cannot import pixel_rnn_tf (an editable install would
    # otherwise put it on every path) answers log_prob and sample.
    script = textwrap.dedent(
        f"""
        import sys

        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "pixel_rnn_tf":
                    raise ImportError("pixel_rnn_tf is hidden from this process")

        sys.meta_path.insert(0, Refuse())
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({str(results['export_path'])!r})
        images = loaded.signatures["sample"](
            num_samples=tf.constant(3), seed=tf.constant([1, 2]), temperature=tf.constant(1.0)
        )["images"]
        assert images.shape == (3, 8, 8, 1) and images.dtype == tf.uint8
        nats = loaded.signatures["log_prob"](images=images)["log_prob"].numpy()
        assert nats.shape == (3,) and np.all(nats < 0), nats
        print("served", nats)
        """
    )
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    served = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True,
        env=clean_env, cwd=tmp_path, timeout=300,
    )
    assert served.returncode == 0, served.stderr[-3000:]
    assert "served" in served.stdout
