"""Trained models that ship with the package: the paper's Table 4 on its benchmark.

Each is a preset trained on the paper's binarized MNIST (Salakhutdinov &
Murray's stochastic binarization: 50,000 training images, the weights kept
by their validation NLL on 10,000 more) by `bench/train_pretrained.py`, and
installed as package data: loading needs no network.

```python
import pixel_rnn_tf as prt

prt.pretrained.available()          # ["mnist_diagonal_bilstm_1x32", ...]
model = prt.pretrained.load("mnist_diagonal_bilstm_7x16")
prt.pretrained.record("mnist_diagonal_bilstm_7x16")["test_nats"]
```
"""

import json
import os

# The paper's four Table 4 models and the Gated PixelCNN, by preset name.
NAMES = (
    "mnist_pixel_cnn",
    "mnist_row_lstm",
    "mnist_diagonal_bilstm_1x32",
    "mnist_diagonal_bilstm_7x16",
    "mnist_gated_pixel_cnn",
)
DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


def available():
    """The sorted names of the trained models installed with the package."""
    return sorted(name for name in NAMES if os.path.exists(_path(name, ".keras")))


def _path(name, suffix):
    return os.path.join(DIRECTORY, name + suffix)


def _check_name(name):
    if name not in available():
        raise ValueError(
            f"Unknown pretrained model. Expected one of {available()}. Received: name={name!r}"
        )


def record(name):
    """How model `name` was trained and what it scores, a dict.

    Keys: `images_seen`, `train_seconds` (wall-clock, all sittings),
    `sittings`, `machine`, `learner` (optimizer, learning rate, batch
    size), `num_params`, `validation_nats`, `test_nats` and
    `test_nats_std_error` (nats per image on the 10,000 test images).
    """
    _check_name(name)
    with open(_path(name, ".json")) as file:
        return json.load(file)


def load(name, compile=False):
    """The trained model `name` (one of `available()`), a `PixelModel`.

    Args:
      name: a preset name, e.g. "mnist_diagonal_bilstm_7x16".
      compile: whether to restore the training state too (loss, metrics,
        the optimizer and its variables), to train on from it.
    """
    import keras  # Here: the package imports Keras anyway, but lazily costs nothing.

    _check_name(name)
    return keras.saving.load_model(_path(name, ".keras"), compile=compile)
