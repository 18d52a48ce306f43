"""The one Keras registration decorator of the package.

Every public layer, model, loss and metric is registered under the package
name `pixel_rnn_tf`, so `.keras` files reload with `safe_mode=True` and
without `custom_objects`.
"""

import keras

PACKAGE = "pixel_rnn_tf"

register_serializable = keras.saving.register_keras_serializable(package=PACKAGE)
