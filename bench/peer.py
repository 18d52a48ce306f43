"""The peer the benchmarks compare against: tfp's `tfd.PixelCNN`.

PixelCNN++ (Salimans et al. 2017) as tfp ships it, sized like the models
it is compared with: 1 ResNet block per hierarchy, 3 hierarchies, `filters`
filters, 5 logistic mixtures, no dropout. Its network is a Keras 2 model
(from `tf_keras`, which `tensorflow-probability[tf]` installs).
"""

import tensorflow as tf
import tensorflow_probability as tfp


def pixel_cnn(image_shape, num_levels, filters):
    """tfp's `tfd.PixelCNN` over int images `image_shape` with values in `[0, num_levels)`."""
    return tfp.distributions.PixelCNN(
        image_shape=image_shape, num_resnet=1, num_hierarchies=3, num_filters=filters,
        num_logistic_mix=5, dropout_p=0.0, high=num_levels - 1, use_data_init=False,
    )


def num_parameters(dist):
    """The number of trainable parameters of `dist`'s network."""
    return sum(int(tf.size(v)) for v in dist.network.trainable_variables)


def train_step(dist, learning_rate=1e-3):
    """A compiled training step of `dist`: `step(images) -> mean NLL`, plain SGD.

    `images` float32 `[batch, height, width, channels]`. The update is the
    cheapest there is, so the step's time is its forward and backward passes.
    """

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(dist.log_prob(images))
        variables = dist.network.trainable_variables
        for variable, gradient in zip(variables, tape.gradient(loss, variables)):
            variable.assign_sub(learning_rate * gradient)
        return loss

    return step
