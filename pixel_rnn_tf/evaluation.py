"""`evaluate`: the test likelihood of a model, in every unit the paper uses (§5.1).

The paper reports the negative log-likelihood of the discrete distribution:
nats per image for binarized MNIST, bits per dimension (nats / D / ln 2,
`D = H * W * C`) for CIFAR-10 and ImageNet. To compare with continuous
models it dequantizes: `y = x + u`, `u ~ U[0, 1)^D`, has the density
`p(floor(y))` on `[0, num_levels)^D` (each image owns a unit cube), so there
its negative log-density *is* the discrete NLL. Continuous models usually
work on `[0, 1]^D`, where `y / num_levels` lives in cubes of side
`1 / num_levels`: the density is `num_levels^D` times larger and the NLL
`D * ln(num_levels)` nats smaller (`D * ln 256` for 8-bit data; for
binarized data the cubes have side 1/2 and it is `D * ln 2`).

Library code: plain arguments, no flags (the main is `evaluate.py`).
"""

import math

import numpy as np
import tensorflow as tf

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import metrics
from pixel_rnn_tf import validation
from pixel_rnn_tf.distribution import PixelRNN

DEFAULT_BATCH_SIZE = 64


# Through PixelRNN, so the likelihood is the package's one head. Defined once
# (traced per model and, with reduce_retracing, once for all batch sizes)
# rather than per `evaluate` call, which would retrace every time.
@tf.function(reduce_retracing=True)
def _negative_log_prob(model, images, condition):
    """Nats `[b]` of int `images` `[b, H, W, C]` given their `condition` `[b, ...]` or None."""
    return -PixelRNN(model, conditional_input=condition).log_prob(images)


def _as_batches(model, dataset, batch_size, condition):
    """`(batches, has_condition)`: a `tf.data.Dataset` of images `[b, H, W, C]`,
    or of `(images, condition [b, ...])` when `has_condition`."""
    config = model.config
    if isinstance(dataset, tf.data.Dataset):
        if condition is not None:
            raise ValueError(
                "Pass the condition inside the tf.data.Dataset, as (images, condition) "
                "elements, not as `condition`. Received: a Dataset and a condition"
            )
        spec = dataset.element_spec
        if isinstance(spec, tf.TensorSpec):
            image_spec, condition_spec = spec, None
        elif isinstance(spec, tuple) and len(spec) == 2:
            image_spec, condition_spec = spec
        else:
            raise ValueError(
                "Expected `dataset` elements to be images or (images, condition). "
                f"Received: element_spec={spec}"
            )
        # Unbatched elements [H, W, C] are batched here; batched ones
        # [b, H, W, C] are used as they come.
        if image_spec.shape.rank == 3:
            dataset = dataset.batch(batch_size)
        elif image_spec.shape.rank != 4:
            raise ValueError(
                "Expected `dataset` images of shape [height, width, channels] or "
                f"[batch, height, width, channels]. Received: element shape {image_spec.shape}"
            )
        if not image_spec.dtype.is_integer:
            raise ValueError(
                "Expected `dataset` images to be integers in "
                f"[0, {config.num_levels}). Received: dtype={image_spec.dtype.name}"
            )
        if not image_spec.shape[-3:].is_compatible_with(config.image_shape):
            expected = ", ".join(map(str, config.image_shape))
            raise ValueError(
                f"Expected `dataset` images of shape [..., {expected}] (the model's "
                f"image_shape). Received: element shape {image_spec.shape}"
            )
        has_condition = condition_spec is not None
        _check_has_condition(config, has_condition)
    else:
        # Arrays are validated whole, at once: a clear ValueError up front.
        images = validation.check_images(
            np.asarray(dataset), config.image_shape, config.num_levels, name="dataset"
        )
        condition = conditioning.check(config, condition, batch_size=images.shape[0])
        has_condition = condition is not None
        slices = (images, condition) if has_condition else images
        dataset = tf.data.Dataset.from_tensor_slices(slices).batch(batch_size)
    return dataset, has_condition


def non_finite_weights(model):
    """The paths of `model`'s weights that hold NaN or infinite values."""
    return [w.path for w in model.weights if not np.all(np.isfinite(w.numpy()))]


def check_finite_weights(model):
    """Raises `FloatingPointError` naming `model` and its non-finite weights, if any.

    A model with a NaN or infinite weight gives NaN likelihoods and
    meaningless samples: evaluation, sampling commands and export refuse it.
    """
    weights = non_finite_weights(model)
    if weights:
        shown = ", ".join(weights[:3]) + (f" and {len(weights) - 3} more" if len(weights) > 3 else "")
        raise FloatingPointError(
            f"The model {model.name} has non-finite (NaN or infinite) weights: {shown}. "
            "Use a checkpoint from before training diverged (last.keras, best.keras)."
        )


def check_finite_nll(model, nats):
    """Raises `FloatingPointError` naming `model` where the NLL `nats` is not finite.

    Finite weights can still overflow in a 16-bit compute dtype (mixed
    precision); the error says so rather than reporting NaN.
    """
    if math.isfinite(nats):
        return
    check_finite_weights(model)
    dtype = model.compute_dtype
    cause = (
        f"an overflow in its compute dtype {dtype}: evaluate it in float32 (load it with "
        "keras.config.set_dtype_policy('float32'))"
        if dtype != "float32" else "an overflow of its activations"
    )
    raise FloatingPointError(f"The model {model.name} gives a non-finite NLL ({nats}), from {cause}.")


def _check_has_condition(config, has_condition):
    """A dataset's elements carry a condition exactly when the model takes one."""
    takes_condition = conditioning.kind(config) is not None
    if has_condition == takes_condition:
        return
    if takes_condition:
        raise ValueError(
            f"The model is conditioned on {conditioning.describe(config)}: pass "
            "(images, condition) dataset elements. Received: images alone"
        )
    raise ValueError(
        "The model takes no condition (num_classes=None, condition_shape=None): pass "
        "dataset elements of images alone. Received: (images, condition) elements"
    )


def evaluate(model, dataset, batch_size=DEFAULT_BATCH_SIZE, condition=None):
    """The mean negative log-likelihood of `dataset` under `model`, in every unit.

    Args:
      model: a `PixelModel` (any model with a `config`).
      dataset: int images `[N, H, W, C]` (array or tensor), or a
        `tf.data.Dataset` whose elements are images or `(images, condition)`,
        either unbatched (`[H, W, C]`, batched here) or already batched
        (`[b, H, W, C]`).
      batch_size: images per forward pass, for unbatched inputs.
      condition: with an array `dataset` and a conditional model, one
        condition per image (`conditioning`): int labels `[N]`, float
        vectors `[N, D]` or maps `[N, h, w, c]`.

    Raises:
      FloatingPointError: naming the model, where its weights or the NLL
        are not finite (a mixed-precision overflow, say); never a NaN result.

    Returns:
      A dict of Python numbers:
      * `num_images`: N; `num_dims`: D = H * W * C.
      * `nats`: mean NLL in nats per image, `-log p(x)`. It is also the
        negative log-density of the dequantized `x + u` on
        `[0, num_levels)^D`.
      * `nats_std_error`: the standard error of that mean over images.
      * `bits_per_dim`: `nats / (D * ln 2)`.
      * `dequantized_nats`: the negative log-density of `(x + u) / num_levels`
        on `[0, 1]^D`: `nats - D * ln(num_levels)` (may be negative).
      * `dequantized_bits_per_dim`: `dequantized_nats / (D * ln 2)`, i.e.
        `bits_per_dim - log2(num_levels)`.

    Example:

    ```python
    import pixel_rnn_tf as prt
    from pixel_rnn_tf import data

    model = prt.build_model(prt.configs.get("digits_pixel_cnn"))
    images = data.load("digits", "test", num_levels=2, as_numpy=True)  # [297, 8, 8, 1]
    prt.evaluate(model, images)["bits_per_dim"]
    ```
    """
    batch_size = validation.check_int("batch_size", batch_size, 1)
    config = model.config
    check_finite_weights(model)
    batches, has_condition = _as_batches(model, dataset, batch_size, condition)
    total, total_squares, count = 0.0, 0.0, 0
    for batch in batches:
        images, batch_condition = batch if has_condition else (batch, None)
        if has_condition:
            # Eagerly, per batch: a clear ValueError naming `condition` (a
            # dataset's dtype, shape, count or values), not a graph assertion.
            batch_condition = conditioning.check(
                config, batch_condition, batch_size=tf.shape(images)[0]
            )
        nats = _negative_log_prob(model, images, batch_condition).numpy().astype(np.float64)
        total += nats.sum()
        total_squares += np.square(nats).sum()
        count += nats.size
    if count == 0:
        raise ValueError("Expected a non-empty `dataset`. Received: 0 images")
    mean = total / count
    check_finite_nll(model, mean)
    variance = max(total_squares / count - mean**2, 0.0) * count / max(count - 1, 1)
    dequantized = float(metrics.dequantized_nats(mean, config.image_shape, config.num_levels))
    return {
        "num_images": count,
        "num_dims": int(np.prod(config.image_shape)),
        "nats": float(mean),
        "nats_std_error": math.sqrt(variance / count),
        "bits_per_dim": float(metrics.bits_per_dim(mean, config.image_shape)),
        "dequantized_nats": dequantized,
        "dequantized_bits_per_dim": float(metrics.bits_per_dim(dequantized, config.image_shape)),
    }


def markdown_table(results, title=None):
    """`evaluate`'s results as a markdown table (one row per dict in `results`).

    Args:
      results: a dict returned by `evaluate`, or a list of `(name, dict)`.
      title: the first column's heading.
    """
    rows = [("", results)] if isinstance(results, dict) else list(results)
    lines = [
        f"| {title or ''} | images | NLL (nats/image) | bits/dim "
        "| dequantized NLL on [0,1]^D (nats) | dequantized bits/dim |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['num_images']} | {r['nats']:.3f} ± {r['nats_std_error']:.3f} "
            f"| {r['bits_per_dim']:.4f} | {r['dequantized_nats']:.3f} "
            f"| {r['dequantized_bits_per_dim']:.4f} |"
        )
    return "\n".join(lines)
