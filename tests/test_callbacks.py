"""`callbacks.SampleImages` with conditional models (the other callbacks: test_training)."""

import os

import numpy as np
import tensorflow as tf

import pixel_rnn_tf as prt
from pixel_rnn_tf import callbacks
from helpers import random_images
from helpers import tiny_config

IMAGE_SHAPE = (2, 2, 1)


def _callback(model, log_dir, **kwargs):
    callback = callbacks.SampleImages(str(log_dir), num_samples=3, **kwargs)
    callback.set_model(model)
    return callback


def test_sample_images_of_a_vector_model_take_the_validation_conditions(tmp_path, capsys):
    model = prt.build_model(tiny_config("pixel_cnn", IMAGE_SHAPE, condition_shape=(2,)))
    skipping = _callback(model, tmp_path / "none")
    skipping.on_epoch_end(0)
    skipping.on_epoch_end(1)
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "float vector [batch, 2]" in printed[0], printed
    assert "validation_data" in printed[0]

    images = random_images((2,) + IMAGE_SHAPE, 4)
    vectors = np.array([[1.0, -1.0], [0.5, 2.0]], np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((images, vectors))  # Unbatched elements.
    for data in ((images, vectors), dataset, dataset.batch(2)):
        callback = _callback(model, tmp_path / "vectors", validation_data=data)
        condition, usable = callback._condition(model.config)
        assert usable
        # Cycled over the 2 conditions for 3 samples.
        np.testing.assert_array_equal(condition, vectors[[0, 1, 0]])
    callback.on_epoch_end(0)
    assert capsys.readouterr().out == ""
    assert os.listdir(tmp_path / "vectors" / "samples")


def test_sample_images_of_a_label_model_cycle_over_the_classes(tmp_path):
    model = prt.build_model(tiny_config("pixel_cnn", IMAGE_SHAPE, num_classes=2))
    condition, usable = _callback(model, tmp_path)._condition(model.config)
    assert usable and condition.tolist() == [0, 1, 0]
