"""`train`: the library entry of training, with plain arguments (no flags).

Training is plain `model.fit` with RMSProp (§5), `CategoricalNLL` and
`BitsPerDim`, under any `tf.distribute` strategy, in float32 or mixed
precision, XLA-compiled unless told otherwise. A run writes into `output_dir`:

    backup/          AtomicBackupAndRestore: rerunning the same command resumes
    logs/            TensorBoard scalars (loss, bits/dim, learning rate), samples
    export/<n>/      with `export_base`, a SavedModel for TF Serving
    last.keras       after every epoch, best.keras on the best validation loss
    model.keras      the final model
    results.json     NLL in nats and bits/dim; samples.png, completions.png
    .lock            held (`flock`) while a run uses the directory

Every file is written whole (`files.atomic_write`); BUILD.md, "What is
guaranteed", says what survives a kill and what concurrent runs do.
"""

import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from pixel_rnn_tf import callbacks as callbacks_lib
from pixel_rnn_tf import compat
from pixel_rnn_tf import conditioning
from pixel_rnn_tf import configs
from pixel_rnn_tf import data
from pixel_rnn_tf import evaluation
from pixel_rnn_tf import files as files_lib
from pixel_rnn_tf import metrics
from pixel_rnn_tf import serving
from pixel_rnn_tf import visualize
from pixel_rnn_tf.losses import CategoricalNLL
from pixel_rnn_tf.metrics import BitsPerDim
from pixel_rnn_tf.models import build_model

DEFAULT_LEARNING_RATE = 1e-3  # RMSProp, as in the paper (§5).
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
EVAL_BATCH_SIZE = 64
# Keras's "auto": XLA where the machine has a GPU or TPU, the plain graph on
# CPU-only machines. Measured on a 2-core CPU (BENCHMARKS.md, "Training
# throughput"), XLA halves the wall-clock images/s of PixelCNN and the Row
# LSTM and gains 1.08x on the Diagonal BiLSTM, with a compile of seconds to
# minutes per model; `jit_compile=True` (`--jit_compile`) asks for it anyway.
JIT_COMPILE = "auto"


# TensorFlow's intra-op pool splits one op across the cores. On two cores
# that only pays for large ops: the recurrent layers run two independent
# recurrences of small ops at once (`DiagonalBiLSTM`, `_row_lstm`), each
# wanting one core, and every op split across both waits for the other
# recurrence's current op. On two machines, one intra-op thread there
# trained the small models 0.97x (Gated PixelCNN) to 1.4x (Diagonal
# BiLSTM) as fast, the recurrent ones gaining most, and the paper's
# CIFAR-10 models 0.84x to 1.13x as fast (BENCHMARKS.md, "Training
# throughput"); on more cores TensorFlow's default (one per core) stands.
INTRA_OP_THREADS = "auto"
SINGLE_INTRA_OP_THREAD_CORES = 2


def available_cores():
    """The CPU cores this process may run on (its affinity, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_intra_op_threads(intra_op_threads=INTRA_OP_THREADS, cores=None):
    """The intra-op thread count `configure_threads` sets: an int, 0 being TensorFlow's default.

    Args:
      intra_op_threads: "auto" (1 on machines with at most
        `SINGLE_INTRA_OP_THREAD_CORES` cores, else 0), or an int >= 0 (0:
        TensorFlow's default, a thread per core).
      cores: the machine's cores; default `available_cores()`.
    """
    if intra_op_threads == "auto":
        cores = available_cores() if cores is None else cores
        return 1 if cores <= SINGLE_INTRA_OP_THREAD_CORES else 0
    if isinstance(intra_op_threads, bool) or not isinstance(intra_op_threads, int) or (
        intra_op_threads < 0
    ):
        raise ValueError(
            'Expected `intra_op_threads` to be "auto" or an int >= 0 (0: TensorFlow\'s default). '
            f"Received: intra_op_threads={intra_op_threads!r}"
        )
    return intra_op_threads


def parse_intra_op_threads(text):
    """`intra_op_threads` from a command line's text: "auto" or an int >= 0."""
    if text == "auto":
        return text
    if text.isdigit():
        return int(text)
    raise ValueError(f"Expected 'auto' or an int >= 0. Received: {text!r}")


def configure_threads(intra_op_threads=INTRA_OP_THREADS):
    """Sets TensorFlow's intra-op threads for this process, before it runs any op.

    A process-wide runtime setting, so it is for programs (the training
    command, the benchmarks), not for library code: call it first. The
    environment's `TF_NUM_INTRAOP_THREADS` wins over "auto".

    Args:
      intra_op_threads: as in `resolve_intra_op_threads`.

    Returns:
      The intra-op thread count in effect (0: TensorFlow's default).

    Raises:
      RuntimeError: TensorFlow ran an op already, with another count.
    """
    threads = resolve_intra_op_threads(intra_op_threads)
    if intra_op_threads == "auto" and os.environ.get("TF_NUM_INTRAOP_THREADS"):
        return int(os.environ["TF_NUM_INTRAOP_THREADS"])
    if tf.config.threading.get_intra_op_parallelism_threads() != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError as error:
            raise RuntimeError(
                f"Cannot set intra_op_threads={threads}: TensorFlow's runtime is running "
                "already. Call `configure_threads` before any TensorFlow op."
            ) from error
    return threads


def _check_jit_compile(jit_compile):
    """Resolves `jit_compile=None` to `JIT_COMPILE`; Keras resolves "auto"."""
    if jit_compile is None:
        return JIT_COMPILE
    if not isinstance(jit_compile, bool) and jit_compile != "auto":
        raise ValueError(
            'Expected `jit_compile` to be None, "auto" or a bool. '
            f"Received: jit_compile={jit_compile!r}"
        )
    return jit_compile


def compile_model(model, learning_rate=DEFAULT_LEARNING_RATE, clipnorm=None, jit_compile=None):
    """Compiles `model` with RMSProp, `CategoricalNLL` and `BitsPerDim`.

    Args:
      model: a model of `build_model`.
      learning_rate, clipnorm: RMSProp's (§5).
      jit_compile: XLA-compile the train and test steps: a bool, or "auto"
        (XLA on GPUs and TPUs only); None: `JIT_COMPILE` ("auto"). Where
        XLA cannot compile a step, Keras (a layer that says so, op
        determinism) or the model (the compiler refuses) warns and runs it
        without XLA.
    """
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate, clipnorm=clipnorm),
        loss=CategoricalNLL(),
        metrics=[BitsPerDim()],
        jit_compile=_check_jit_compile(jit_compile),
    )
    return model


def _with_targets(images, condition=None):
    """A batch as `model.fit` takes it: `(images, images)`, or `((images, condition), images)`."""
    return (images, images) if condition is None else ((images, condition), images)


def pairs(images, batch_size, shuffle_seed=None, condition=None):
    """A `tf.data.Dataset` of `(images, images)` batches for `model.fit`.

    Args:
      images: a `tf.data.Dataset` of int `[H, W, C]` images, or an int
        array `[N, H, W, C]`.
      batch_size: int.
      shuffle_seed: `None` for no shuffling, else the seed of a shuffle that
        is redone every epoch.
      condition: for a conditioned model with array `images`, one condition
        per image (int labels `[N]`, say): the batches are then
        `((images, condition), images)`.
    """
    if isinstance(images, tf.data.Dataset):
        dataset = images
    else:
        dataset = tf.data.Dataset.from_tensor_slices(
            images if condition is None else (images, condition)
        )
    dataset = dataset.cache()  # Deterministic preprocessing happens once.
    if shuffle_seed is not None:
        dataset = dataset.shuffle(10_000, seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(_with_targets)
    return dataset.prefetch(tf.data.AUTOTUNE)


def epoch_batches(images, batch_size, seed, start_batch=0, condition=None):
    """An endless dataset of `(images, images)` batches, resumable anywhere.

    Pass `e` over the data visits `images` in a permutation that depends
    only on `(seed, e)` (a stateless index shuffle), so a run resumed at
    batch `b` sees exactly the batches an uninterrupted run would from its
    batch `b` on. Each pass has `len(images) // batch_size` full batches.

    Args:
      images: int array `[N, H, W, C]`.
      batch_size: int, the global batch size.
      seed: int.
      start_batch: the index of the first batch to produce.
      condition: for a conditioned model, one condition per image (int
        labels `[N]`, say), drawn with its image: the batches are then
        `((images, condition), images)`.
    """
    images = np.asarray(images)
    count = len(images)
    per_epoch = count // batch_size * batch_size
    if per_epoch == 0:
        raise ValueError(
            f"Expected at least `batch_size` images. Received: {count} images, "
            f"batch_size={batch_size}"
        )
    tables = (tf.constant(images),) + (() if condition is None else (tf.constant(condition),))

    def epoch(e):
        order = tf.random.experimental.index_shuffle(
            tf.range(per_epoch, dtype=tf.int64),
            seed=tf.stack([tf.cast(seed, tf.int64), e]),
            max_index=count - 1,
        )
        return tf.data.Dataset.from_tensor_slices(order)

    batches_per_pass = per_epoch // batch_size
    first_pass, skip = divmod(start_batch, batches_per_pass)
    dataset = tf.data.Dataset.range(first_pass, 2**62).flat_map(epoch)
    dataset = dataset.batch(batch_size, drop_remainder=True).skip(skip)
    dataset = dataset.map(
        lambda i: tuple(tf.gather(table, i) for table in tables),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.map(_with_targets).prefetch(tf.data.AUTOTUNE)


def evaluate_nll(model, images, batch_size=EVAL_BATCH_SIZE, condition=None):
    """Mean NLL of `images` under `model`: `{"nats": ..., "bits_per_dim": ...}`.

    `condition`: for a conditioned model, one condition per image.

    Raises:
      FloatingPointError: the NLL is not finite (non-finite weights, or a
        mixed-precision overflow), naming the model.
    """
    results = model.evaluate(
        pairs(images, batch_size, condition=condition), verbose=0, return_dict=True
    )
    nats = float(results["loss"])
    evaluation.check_finite_nll(model, nats)
    return {
        "nats": nats,
        "bits_per_dim": float(metrics.bits_per_dim(nats, model.config.image_shape)),
    }


def save_model_atomically(model, path):
    """Writes `model` to `path` (`.keras`) whole or not at all."""
    return files_lib.atomic_write(path, model.save)


def _check_positive_finite(name, value):
    """Refuses NaN, infinities, zero and negatives (NaN slips through `value < 0` checks)."""
    number = isinstance(value, (int, float, np.integer, np.floating))
    number = number and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"Expected `{name}` to be a positive finite number. Received: {name}={value!r}"
        )


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def train(
    config,
    dataset="digits",
    *,
    output_dir,
    data_dir=None,
    train_split="train",
    test_split="test",
    download=False,
    epochs=10,
    batch_size=16,
    learning_rate=DEFAULT_LEARNING_RATE,
    clipnorm=None,
    steps_per_epoch=None,
    seed=0,
    strategy=None,
    precision="float32",
    jit_compile=None,
    backup_every="epoch",
    sample_every_n_epochs=0,
    num_samples=16,
    export_base=None,
    verbose="auto",
):
    """Trains a model on a named data set and reports its NLL.

    Rerunning the same call after an interruption resumes from the last
    backup in `output_dir/backup` (epoch-exact: the data order of an epoch
    depends only on the seed and the epoch), with the best validation loss
    so far, so `best.keras` is never replaced by a worse model. Rerunning
    it with more `epochs` extends the run the same way.

    `output_dir` is locked for the whole call (`files.DirectoryLock`, which
    dies with the process): a second run into it fails at once. Under the
    lock, stray `.tmp-*` files of a killed run are deleted first.

    Args:
      config: a `ModelConfig`, a `MultiScaleConfig`, a dict of fields or a
        preset name. A config with `num_classes` is conditioned on the
        data set's labels (`data.load_labels`), which must have as many
        classes.
      dataset: a name known to `pixel_rnn_tf.data`.
      output_dir: where the run's files are written (see the module doc).
      data_dir, train_split, test_split, download: passed to `data.load`,
        with the model's `image_shape` (the shape a "folder" data set's
        images are cropped and resized to).
      epochs, batch_size, learning_rate, clipnorm, steps_per_epoch: the
        training budget; `batch_size` is global (split across replicas).
      seed: seeds initialization, data order and sampling.
      strategy: a `tf.distribute.Strategy`, or `None` for the default.
      precision: "float32", "mixed_float16" or "mixed_bfloat16"; logits
        and the likelihood stay float32.
      jit_compile: XLA-compile the training step; None: `JIT_COMPILE`, as
        in `compile_model`.
      backup_every: "epoch" or a number of batches.
      sample_every_n_epochs: image summaries of samples in TensorBoard; 0: none.
      num_samples: samples drawn into `samples.png`, and test images whose
        lower halves are completed into `completions.png`; 0 for none.
      export_base: if set, the trained model is exported for TF Serving to
        `<export_base>/<next version>/` (`serving.export_versioned`).
      verbose: Keras's `fit` setting: "auto" or 1 a progress bar, 2 one line
        per epoch (for logs), 0 silent.

    Returns:
      dict with the config, train and test NLL in nats and bits/dim, the
      number of parameters, the training time and the files written.

    Raises:
      files.DirectoryInUseError: another run holds `output_dir`.
      files.UnusableDirectoryError: `output_dir` or `export_base` is a file
        or cannot be written (both raised before any data is loaded).
      ValueError: a bad argument, an empty split, or `output_dir` holding a
        run trained for more than `epochs` epochs.
      FloatingPointError: the loss became NaN, or the final NLL is not finite.
    """
    config = configs.normalize(config)
    if precision not in PRECISIONS:
        raise ValueError(
            f"Expected `precision` to be one of {PRECISIONS}. Received: precision={precision!r}"
        )
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        _check_positive_finite("learning_rate", learning_rate)
    if clipnorm is not None:
        _check_positive_finite("clipnorm", clipnorm)
    strategy = strategy or tf.distribute.get_strategy()
    chief = _is_chief(strategy)
    # Every worker restores the chief's backup, so all resume at one epoch.
    restore_dir = os.path.join(output_dir, "backup")
    if not chief:
        # Saving a model runs collective ops, so every worker saves its
        # model files and backups, but another worker than the chief saves
        # them where they cannot clobber the chief's; it writes no samples
        # and no export (only the chief's can be served).
        output_dir = os.path.join(output_dir, "workers", str(strategy.cluster_resolver.task_id))
        export_base = None
    files_lib.ensure_writable_directory(output_dir, "output_dir")
    if export_base:
        files_lib.ensure_writable_directory(export_base, "export_base")
    with files_lib.DirectoryLock(output_dir):
        # The leftovers of a killed run; an export's own temporaries (locked
        # by a possibly live export) are `serving`'s to clean.
        for directory in (output_dir, os.path.join(output_dir, "backup")):
            files_lib.remove_temporaries(directory, keep_prefixes=(serving.TEMP_PREFIX,))
        return _train_locked(
            config, dataset, output_dir=output_dir, data_dir=data_dir,
            train_split=train_split, test_split=test_split, download=download, epochs=epochs,
            batch_size=batch_size, learning_rate=learning_rate, clipnorm=clipnorm,
            steps_per_epoch=steps_per_epoch, seed=seed, strategy=strategy,
            precision=precision, jit_compile=jit_compile, backup_every=backup_every,
            sample_every_n_epochs=sample_every_n_epochs, num_samples=num_samples,
            export_base=export_base, verbose=verbose, chief=chief, restore_dir=restore_dir,
        )


def _train_locked(
    config, dataset, *, output_dir, data_dir, train_split, test_split, download, epochs,
    batch_size, learning_rate, clipnorm, steps_per_epoch, seed, strategy, precision, jit_compile,
    backup_every, sample_every_n_epochs, num_samples, export_base, verbose, chief, restore_dir,
):
    """`train`'s work, once `output_dir` is locked."""
    load = dict(
        num_levels=config.num_levels, data_dir=data_dir, as_numpy=True, download=download,
        image_shape=config.image_shape,
    )
    train_images = data.load(dataset, train_split, **load)
    test_images = data.load(dataset, test_split, **load)
    for name, split, images in (
        ("train_split", train_split, train_images), ("test_split", test_split, test_images)
    ):
        if not len(images):  # Found now, not as `KeyError: 'loss'` after all epochs.
            raise ValueError(
                f"Expected a non-empty `{name}`. Received: {name}={split!r}, which holds no "
                f"images of {dataset!r}."
            )
    if tuple(train_images.shape[1:]) != config.image_shape:
        raise ValueError(
            f"The data set {dataset!r} has images of shape {tuple(train_images.shape[1:])} "
            f"but the model expects image_shape={config.image_shape}."
        )
    train_labels, test_labels = (
        _labels(config, dataset, split, images, data_dir, download)
        for split, images in ((train_split, train_images), (test_split, test_images))
    )
    keras.utils.set_random_seed(seed)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        with strategy.scope():
            model = compile_model(build_model(config), learning_rate, clipnorm, jit_compile)
            # The optimizer's variables are made here, in the scope, as the
            # model's are. Left to fit, they would be made inside the
            # replicated step (under MirroredStrategy with two replicas the
            # step then fails), and a restore could not make them at all.
            model.optimizer.build(model.trainable_variables)
    finally:
        keras.config.set_dtype_policy(previous_policy)

    files = callbacks_lib.ModelFiles(output_dir)
    backup = callbacks_lib.AtomicBackupAndRestore(
        os.path.join(output_dir, "backup"), save_freq=backup_every, stateful=[files],
        restore_dir=restore_dir,
    )
    with strategy.scope():
        start_epoch = backup.restore(model) or 0  # Before the data: it starts there.
    if start_epoch > epochs:  # Never a record of fewer epochs than the weights had.
        raise ValueError(
            f"The run in output_dir={output_dir!r} has trained for {start_epoch} epochs "
            f"already, more than epochs={epochs}. Pass epochs={start_epoch} (or more) to "
            "resume or extend it, or another output_dir to train anew."
        )
    log_dir = os.path.join(output_dir, "logs")
    callbacks = [
        callbacks_lib.StopOnNaN(files.last_path),
        files,  # Before the backup, which saves its best metric.
        backup,
        keras.callbacks.TensorBoard(log_dir, write_graph=False),
    ]
    if sample_every_n_epochs and chief:
        callbacks.append(
            callbacks_lib.SampleImages(log_dir, every_n_epochs=sample_every_n_epochs, seed=seed)
        )
    steps_per_epoch = steps_per_epoch or len(train_images) // batch_size
    start = time.time()
    with strategy.scope():
        # Keras's fit under a strategy first builds the model symbolically
        # on the replica *mean* of a batch (float for int images, and an
        # error under MultiWorkerMirroredStrategy). The model is built
        # already; fit then traces its step in this scope on real batches.
        compat.forget_distribute_strategy(model)
        model.fit(
            epoch_batches(
                train_images, batch_size, seed, start_epoch * steps_per_epoch,
                condition=train_labels,
            ),
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            validation_data=pairs(test_images, EVAL_BATCH_SIZE, condition=test_labels),
            callbacks=callbacks,
            shuffle=False,  # epoch_batches already orders each epoch.
            verbose=verbose,
        )
    seconds = time.time() - start
    nan_stop = callbacks[0].stopped_at
    if nan_stop is not None:
        raise FloatingPointError(
            f"Training stopped at epoch {nan_stop[0] + 1}, batch {nan_stop[1]}: the loss "
            f"became NaN or infinite. The last good model is {files.last_path} "
            "(if it exists); lower the learning rate or set clipnorm."
        )
    results = {
        "config": config.to_dict(),
        "dataset": dataset,
        "splits": {"train": train_split, "test": test_split},
        "train": evaluate_nll(model, train_images, condition=train_labels),
        "test": evaluate_nll(model, test_images, condition=test_labels),
        "num_params": int(model.count_params()),
        "epochs": epochs,
        "resumed_from_epoch": start_epoch,
        "train_seconds": round(seconds, 1),
    }
    results["model_path"] = save_model_atomically(model, os.path.join(output_dir, "model.keras"))
    if num_samples and chief:
        results.update(
            visualize.write_samples_and_completions(
                model, test_images[:num_samples], output_dir, seed,
                condition=None if test_labels is None else test_labels[:num_samples],
            )
        )
    if export_base:
        results["export_path"] = serving.export_versioned(model, export_base)

    def write_results(path):
        with open(path, "w") as f:
            json.dump(results, f, indent=2)

    files_lib.atomic_write(os.path.join(output_dir, "results.json"), write_results)
    return results


def _labels(config, dataset, split, images, data_dir, download):
    """The labels of a split's `images` for a label-conditioned config, else `None`.

    `train` conditions on the data set's own labels only; a model
    conditioned on vectors or maps trains with `model.fit` on `(images,
    condition)` data.
    """
    kind = conditioning.kind(config)
    if kind is None:
        return None
    if kind != "labels":
        raise ValueError(
            f"`train` conditions a model on the data set's labels only. Received: a config "
            f"conditioned on {conditioning.describe(config)}; train it with `model.fit` on "
            "(images, condition) data (README, Keras)."
        )
    classes = data.num_classes(dataset, data_dir)
    if classes != config.num_classes:
        raise ValueError(
            f"Expected a data set with num_classes={config.num_classes} labels, as the "
            f"config. Received: dataset={dataset!r} with "
            f"{'no labels' if classes is None else f'{classes} classes'}"
        )
    labels = data.load_labels(dataset, split, data_dir=data_dir, download=download)
    if len(labels) != len(images):
        raise ValueError(
            f"The data set {dataset!r} split {split!r} has {len(images)} images but "
            f"{len(labels)} labels."
        )
    return labels


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
            f"| {split} ({results['splits'][split]}) | {results[split]['nats']:.3f} "
            f"| {results[split]['bits_per_dim']:.4f} |"
        )
    for key in ("model_path", "samples_path", "completions_path", "export_path"):
        if key in results:
            lines.append(f"{key.replace('_', ' ')}: {results[key]}")
    return "\n".join(lines)
