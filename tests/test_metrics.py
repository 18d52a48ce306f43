"""Metrics: units, and the direction Keras's callbacks infer from them."""

import keras
import numpy as np
import pytest

import pixel_rnn_tf as prt
from pixel_rnn_tf import metrics
from pixel_rnn_tf import training
from helpers import random_images
from helpers import tiny_config


def test_callbacks_infer_that_lower_is_better():
    """`EarlyStopping(monitor="val_bits_per_dim")` needs no `mode="min"`."""
    model = prt.build_model(tiny_config("pixel_cnn", (2, 3, 1), num_levels=2, hidden_units=2))
    training.compile_model(model)
    model.compile(
        optimizer=model.optimizer, loss=model.loss,
        metrics=[metrics.BitsPerDim(), metrics.NatsPerImage()],
    )
    images = random_images((4, 2, 3, 1), 2)
    stops = [
        keras.callbacks.EarlyStopping(monitor=f"val_{name}", patience=5)
        for name in ("bits_per_dim", "nats_per_image")
    ]
    history = model.fit(images, batch_size=2, validation_data=(images,), callbacks=stops, verbose=0)
    for stop in stops:
        assert stop.monitor_op is keras.ops.less
    logs = history.history
    np.testing.assert_allclose(logs["val_nats_per_image"], logs["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(
        logs["val_bits_per_dim"], metrics.bits_per_dim(np.array(logs["val_loss"]), (2, 3, 1)),
        rtol=1e-5,
    )


@pytest.mark.parametrize("metric", [metrics.BitsPerDim, metrics.NatsPerImage])
def test_metrics_round_trip(metric):
    restored = keras.metrics.deserialize(keras.metrics.serialize(metric(name="m")))
    assert type(restored) is metric and restored.name == "m" and restored._direction == "down"
