"""`train`: the library entry of training, with plain arguments (no flags)."""

import json
import math
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from pixel_rnn_tf import configs
from pixel_rnn_tf import data
from pixel_rnn_tf import metrics
from pixel_rnn_tf import sampling
from pixel_rnn_tf import visualize
from pixel_rnn_tf.losses import CategoricalNLL
from pixel_rnn_tf.metrics import BitsPerDim
from pixel_rnn_tf.models import build_model

# RMSProp, as in the paper (§5).
DEFAULT_LEARNING_RATE = 1e-3


def compile_model(model, learning_rate=DEFAULT_LEARNING_RATE, clipnorm=None, jit_compile=False):
    """Compiles `model` with RMSProp, `CategoricalNLL` and `BitsPerDim`."""
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate, clipnorm=clipnorm),
        loss=CategoricalNLL(),
        metrics=[BitsPerDim()],
        jit_compile=jit_compile,
    )
    return model


def pairs(images, batch_size, shuffle_seed=None):
    """A `tf.data.Dataset` of `(images, images)` batches for `model.fit`.

    Args:
      images: a `tf.data.Dataset` of int `[H, W, C]` images, or an int
        array `[N, H, W, C]`.
      batch_size: int.
      shuffle_seed: `None` for no shuffling, else the seed of a shuffle that
        is redone every epoch.
    """
    dataset = images if isinstance(images, tf.data.Dataset) else tf.data.Dataset.from_tensor_slices(images)
    dataset = dataset.cache()  # Deterministic preprocessing happens once.
    if shuffle_seed is not None:
        dataset = dataset.shuffle(10_000, seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(lambda x: (x, x))
    return dataset.prefetch(tf.data.AUTOTUNE)


def evaluate_nll(model, images, batch_size=64):
    """Mean NLL of `images` under `model`: `{"nats": ..., "bits_per_dim": ...}`."""
    results = model.evaluate(pairs(images, batch_size), verbose=0, return_dict=True)
    nats = float(results["loss"])
    return {"nats": nats, "bits_per_dim": float(metrics.bits_per_dim(nats, model.config.image_shape))}


def save_model_atomically(model, path):
    """Writes `model` to `path` (`.keras`) whole or not at all."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".keras", dir=directory)
    os.close(handle)
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def train(
    config,
    dataset="digits",
    *,
    output_dir,
    data_dir=None,
    train_split="train",
    test_split="test",
    epochs=10,
    batch_size=16,
    learning_rate=DEFAULT_LEARNING_RATE,
    steps_per_epoch=None,
    seed=0,
    num_samples=16,
    verbose="auto",
):
    """Trains a model on a named data set and reports its NLL.

    Args:
      config: a `ModelConfig` or a preset name.
      dataset: a name known to `pixel_rnn_tf.data`.
      output_dir: where `model.keras` and `results.json` are written.
      data_dir, train_split, test_split: passed to `data.load`.
      epochs, batch_size, learning_rate, steps_per_epoch: training budget.
      seed: seeds weights initialization, shuffling and sampling.
      num_samples: samples drawn into `samples.png`, and test images whose
        lower halves are completed into `completions.png`; 0 for none.
      verbose: Keras's progress bar setting.

    Returns:
      dict with the config, train and test NLL in nats and bits/dim, the
      number of parameters, the training time and the model's path.
    """
    if isinstance(config, str):
        config = configs.get(config)
    keras.utils.set_random_seed(seed)
    load = dict(num_levels=config.num_levels, data_dir=data_dir, as_numpy=True)
    train_images = data.load(dataset, train_split, **load)
    test_images = data.load(dataset, test_split, **load)
    if tuple(train_images.shape[1:]) != config.image_shape:
        raise ValueError(
            f"The data set {dataset!r} has images of shape {tuple(train_images.shape[1:])} "
            f"but the model expects image_shape={config.image_shape}."
        )
    model = compile_model(build_model(config), learning_rate)
    start = time.time()
    train_data = pairs(train_images, batch_size, shuffle_seed=seed)
    if steps_per_epoch:
        train_data = train_data.repeat()
    model.fit(
        train_data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=pairs(test_images, 64),
        verbose=verbose,
    )
    seconds = time.time() - start
    os.makedirs(output_dir, exist_ok=True)
    model_path = save_model_atomically(model, os.path.join(output_dir, "model.keras"))
    results = {
        "config": config.to_dict(),
        "dataset": dataset,
        "train": evaluate_nll(model, train_images),
        "test": evaluate_nll(model, test_images),
        "num_params": int(model.count_params()),
        "train_seconds": round(seconds, 1),
        "model_path": model_path,
    }
    if num_samples:
        results.update(write_pictures(model, test_images[:num_samples], output_dir, seed))
    with open(os.path.join(output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    return results


def write_pictures(model, images, output_dir, seed):
    """Writes `samples.png` and `completions.png` (lower halves occluded).

    Returns:
      dict of the two paths.
    """
    height = model.config.image_shape[0]
    samples = sampling.sample(model, len(images), seed=(seed, 1))
    known = np.zeros(model.config.image_shape, bool)
    known[: height // 2] = True  # The upper half, a prefix in raster order.
    completions = sampling.complete(model, images, known, seed=(seed, 2))
    num_levels = model.config.num_levels
    # Each row of the completion grid: the original, then the completion.
    pairs_of_rows = np.stack([images, completions.numpy()], axis=1).reshape((-1,) + images.shape[1:])
    return {
        "samples_path": visualize.save_grid(
            samples.numpy(), os.path.join(output_dir, "samples.png"), num_levels=num_levels
        ),
        "completions_path": visualize.save_grid(
            pairs_of_rows, os.path.join(output_dir, "completions.png"), num_levels=num_levels,
            num_cols=2 * int(math.ceil(math.sqrt(len(images)))),
        ),
    }


def format_results(results):
    """A printable table of `train`'s results."""
    config = results["config"]
    lines = [
        f"{config['arch']} {config['num_layers']}x{config['hidden_units']} on "
        f"{results['dataset']} {tuple(config['image_shape'])}, "
        f"{results['num_params']:,} parameters, trained in {results['train_seconds']} s",
        "| split | NLL (nats/image) | bits/dim |",
        "| --- | --- | --- |",
    ]
    for split in ("train", "test"):
        lines.append(
            f"| {split} | {results[split]['nats']:.3f} | {results[split]['bits_per_dim']:.4f} |"
        )
    for key in ("model_path", "samples_path", "completions_path", "export_path"):
        if key in results:
            lines.append(f"{key.replace('_', ' ')}: {results[key]}")
    return "\n".join(lines)
