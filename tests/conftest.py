import os
import sys

# Tests import their shared helpers as a plain module.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_xla_training_by_default(monkeypatch):
    """Tests that train tiny models check behaviour, not speed: without XLA's
    compile per model (seconds each) the suite stays in its CI budget. Tests
    about XLA pass `jit_compile=True`."""
    from pixel_rnn_tf.training import compiling

    monkeypatch.setattr(compiling, "JIT_COMPILE", False)
