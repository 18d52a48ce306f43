"""The peer the benchmarks compare against: tfp's `tfd.PixelCNN`.

PixelCNN++ (Salimans et al. 2017) as tfp ships it, sized like the models
it is compared with: 1 ResNet block per hierarchy, 3 hierarchies, `filters`
filters, 5 logistic mixtures, no dropout. Its network is a Keras 2 model
(from `tf_keras`, which `tensorflow-probability[tf]` installs).
"""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras


def pixel_cnn(image_shape, num_levels, filters):
    """tfp's `tfd.PixelCNN` over int images `image_shape` with values in `[0, num_levels)`."""
    return tfp.distributions.PixelCNN(
        image_shape=image_shape, num_resnet=1, num_hierarchies=3, num_filters=filters,
        num_logistic_mix=5, dropout_p=0.0, high=num_levels - 1, use_data_init=False,
    )


def num_parameters(dist):
    """The number of trainable parameters of `dist`'s network."""
    return sum(int(tf.size(v)) for v in dist.network.trainable_variables)


def train_step(dist, learning_rate=1e-3, optimizer="sgd"):
    """A compiled training step of `dist`: `step(images) -> mean NLL`.

    `images` float32 `[batch, height, width, channels]`. With "sgd" the
    update is the cheapest there is, so the step's time is its forward and
    backward passes (`train_throughput.py`); "adam" trains it as a user
    would (`budget.py`).
    """
    variables = dist.network.trainable_variables
    # Its network is a Keras 2 model: a Keras 2 optimizer for its variables.
    adam = tf_keras.optimizers.Adam(learning_rate) if optimizer == "adam" else None

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(dist.log_prob(images))
        gradients = tape.gradient(loss, variables)
        if adam is not None:
            adam.apply_gradients(zip(gradients, variables))
        else:
            for variable, gradient in zip(variables, gradients):
                variable.assign_sub(learning_rate * gradient)
        return loss

    return step
