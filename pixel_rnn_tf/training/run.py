"""`train`: one run of `model.fit` into an output directory, resumable, exportable."""

import dataclasses
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
from pixel_rnn_tf import serving
from pixel_rnn_tf import validation
from pixel_rnn_tf import visualize
from pixel_rnn_tf.models import build_model
from pixel_rnn_tf.training.compiling import DEFAULT_LEARNING_RATE
from pixel_rnn_tf.training.compiling import compile_model
from pixel_rnn_tf.training.compiling import save_model_atomically
from pixel_rnn_tf.training.pipelines import epoch_batches
from pixel_rnn_tf.training.pipelines import pairs

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
EVAL_BATCH_SIZE = 64
RESULTS_NAME = "results.json"


def _check_positive_finite(name, value):
    """Refuses NaN, infinities, zero and negatives (NaN slips through `value < 0` checks)."""
    number = isinstance(value, (int, float, np.integer, np.floating))
    number = number and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"Expected `{name}` to be a positive finite number. Received: {name}={value!r}"
        )


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """Everything of a `train` run but the model config and the data set's name.

    The fields are `train`'s keyword arguments, documented there; they are
    checked when the options are made.
    """

    output_dir: str
    data_dir: str = None
    train_split: str = "train"
    test_split: str = "test"
    download: bool = False
    epochs: int = 10
    batch_size: int = 16
    learning_rate: object = DEFAULT_LEARNING_RATE
    clipnorm: float = None
    steps_per_epoch: int = None
    seed: int = 0
    strategy: object = None
    precision: str = "float32"
    jit_compile: object = None
    backup_every: object = "epoch"
    sample_every_n_epochs: int = 0
    num_samples: int = 16
    export_base: str = None
    verbose: object = "auto"

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"Expected `precision` to be one of {PRECISIONS}. "
                f"Received: precision={self.precision!r}"
            )
        if not isinstance(self.learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            _check_positive_finite("learning_rate", self.learning_rate)
        if self.clipnorm is not None:
            _check_positive_finite("clipnorm", self.clipnorm)


def evaluate_nll(model, images, batch_size=EVAL_BATCH_SIZE, condition=None):
    """`{"nats": ..., "bits_per_dim": ...}` of `evaluation.evaluate`, as `results.json` holds them.

    Raises:
      FloatingPointError: non-finite weights or NLL, naming the model.
    """
    results = evaluation.evaluate(model, images, batch_size=batch_size, condition=condition)
    return {key: results[key] for key in ("nats", "bits_per_dim")}


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def train(config, dataset="digits", *, options=None, **fields):
    """Trains a model on a named data set and reports its NLL.

    Rerunning the same call after an interruption resumes from the last
    backup in `output_dir/backup` (epoch-exact: the data order of an epoch
    depends only on the seed and the epoch), with the best validation loss
    so far, so `best.keras` is never replaced by a worse model. Rerunning
    it with more `epochs` extends the run the same way. Rerunning a
    finished run (its `results.json` written for these `epochs`) trains,
    writes and exports nothing: it returns those results, with
    `"already_complete": True`.

    `output_dir` is locked for the whole call (`files.DirectoryLock`, which
    dies with the process): a second run into it fails at once. Under the
    lock, stray `.tmp-*` files of a killed run are deleted first.

    The options are keyword arguments (the fields of `TrainOptions`), or a
    `TrainOptions` as `options` (which keyword arguments then amend):

      output_dir: where the run's files are written (see the package doc).
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

    Args:
      config: a `ModelConfig`, a `MultiScaleConfig`, a dict of fields or a
        preset name. A config with `num_classes` is conditioned on the
        data set's labels (`data.load_labels`), which must have as many
        classes.
      dataset: a name known to `pixel_rnn_tf.data`.
      options: a `TrainOptions`, or None.
      **fields: `TrainOptions` fields.

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
    options = dataclasses.replace(options, **fields) if options else TrainOptions(**fields)
    strategy = options.strategy or tf.distribute.get_strategy()
    chief = _is_chief(strategy)
    # Every worker restores the chief's backup, so all resume at one epoch.
    restore_dir = os.path.join(options.output_dir, "backup")
    if not chief:
        # Saving a model runs collective ops, so every worker saves its
        # model files and backups, but another worker than the chief saves
        # them where they cannot clobber the chief's; it writes no samples
        # and no export (only the chief's can be served).
        worker_dir = os.path.join(
            options.output_dir, "workers", str(strategy.cluster_resolver.task_id)
        )
        options = dataclasses.replace(options, output_dir=worker_dir, export_base=None)
    options = dataclasses.replace(options, strategy=strategy)
    files_lib.ensure_writable_directory(options.output_dir, "output_dir")
    if options.export_base:
        files_lib.ensure_writable_directory(options.export_base, "export_base")
    with files_lib.DirectoryLock(options.output_dir):
        # The leftovers of a killed run; an export's own temporaries (locked
        # by a possibly live export) are `serving`'s to clean.
        for directory in (options.output_dir, os.path.join(options.output_dir, "backup")):
            files_lib.remove_temporaries(directory, keep_prefixes=(serving.TEMP_PREFIX,))
        return _Run(config, dataset, options, chief, restore_dir).run()


class _Run:
    """`train`'s work, once `output_dir` is locked."""

    def __init__(self, config, dataset, options, chief, restore_dir):
        self.config, self.dataset, self.options = config, dataset, options
        self.chief, self.restore_dir = chief, restore_dir

    def run(self):
        config, options = self.config, self.options
        train_images, train_labels = self._split("train_split", options.train_split)
        test_images, test_labels = self._split("test_split", options.test_split)
        model = self._model()
        files = callbacks_lib.ModelFiles(options.output_dir)
        backup = callbacks_lib.AtomicBackupAndRestore(
            os.path.join(options.output_dir, "backup"), save_freq=options.backup_every,
            stateful=[files], restore_dir=self.restore_dir,
        )
        with options.strategy.scope():
            start_epoch = backup.restore(model) or 0  # Before the data: it starts there.
        if start_epoch > options.epochs:  # Never a record of fewer epochs than the weights had.
            raise ValueError(
                f"The run in output_dir={options.output_dir!r} has trained for {start_epoch} "
                f"epochs already, more than epochs={options.epochs}. Pass epochs={start_epoch} "
                "(or more) to resume or extend it, or another output_dir to train anew."
            )
        finished = self._finished_results() if start_epoch == options.epochs else None
        if finished is not None:
            return finished
        seconds = self._fit(model, files, backup, start_epoch, train_images, train_labels,
                            test_images, test_labels)
        results = {
            "config": config.to_dict(),
            "dataset": self.dataset,
            "splits": {"train": options.train_split, "test": options.test_split},
            "train": evaluate_nll(model, train_images, condition=train_labels),
            "test": evaluate_nll(model, test_images, condition=test_labels),
            "num_params": int(model.count_params()),
            "epochs": options.epochs,
            "resumed_from_epoch": start_epoch,
            "train_seconds": round(seconds, 1),
        }
        results["model_path"] = save_model_atomically(
            model, os.path.join(options.output_dir, "model.keras")
        )
        if options.num_samples and self.chief:
            count = options.num_samples
            results.update(
                visualize.write_samples_and_completions(
                    model, test_images[:count], options.output_dir, options.seed,
                    condition=None if test_labels is None else test_labels[:count],
                )
            )
        if options.export_base:
            results["export_path"] = serving.export_versioned(model, options.export_base)

        def write_results(path):
            with open(path, "w") as f:
                json.dump(results, f, indent=2)

        files_lib.atomic_write(os.path.join(options.output_dir, RESULTS_NAME), write_results)
        return results

    def _split(self, name, split):
        """`(images, labels or None)` of a split, checked before any training."""
        config, options, dataset = self.config, self.options, self.dataset
        images = data.load(
            dataset, split, num_levels=config.num_levels, data_dir=options.data_dir,
            as_numpy=True, download=options.download, image_shape=config.image_shape,
        )
        if not len(images):  # Found now, not as `KeyError: 'loss'` after all epochs.
            raise ValueError(
                f"Expected a non-empty `{name}`. Received: {name}={split!r}, which holds no "
                f"images of {dataset!r}."
            )
        validation.check_dataset_image_shape(dataset, images.shape[1:], config.image_shape)
        return images, _labels(config, dataset, split, images, options.data_dir, options.download)

    def _model(self):
        """The compiled model, its optimizer's variables made, in the strategy's scope."""
        options = self.options
        keras.utils.set_random_seed(options.seed)
        previous_policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(options.precision)
        try:
            with options.strategy.scope():
                model = compile_model(
                    build_model(self.config), options.learning_rate, options.clipnorm,
                    options.jit_compile,
                )
                # The optimizer's variables are made here, in the scope, as
                # the model's are. Left to fit, they would be made inside the
                # replicated step (under MirroredStrategy with two replicas
                # the step then fails), and a restore could not make them.
                model.optimizer.build(model.trainable_variables)
        finally:
            keras.config.set_dtype_policy(previous_policy)
        return model

    def _finished_results(self):
        """The results of this very run when it finished already, else None.

        `results.json` is the run's last write, so a run killed before it
        (after its export, say) is finished anew, not taken for complete.
        """
        path = os.path.join(self.options.output_dir, RESULTS_NAME)
        try:
            with open(path) as f:
                results = json.load(f)
        except (OSError, ValueError):
            return None
        expected = {
            "config": json.loads(json.dumps(self.config.to_dict())),
            "dataset": self.dataset,
            "splits": {"train": self.options.train_split, "test": self.options.test_split},
            "epochs": self.options.epochs,
        }
        if not isinstance(results, dict) or any(
            results.get(key) != value for key, value in expected.items()
        ):
            return None
        return dict(results, already_complete=True)

    def _fit(self, model, files, backup, start_epoch, train_images, train_labels, test_images,
             test_labels):
        """Runs `model.fit` from `start_epoch`; returns its seconds."""
        options, strategy = self.options, self.options.strategy
        log_dir = os.path.join(options.output_dir, "logs")
        callbacks = [
            callbacks_lib.StopOnNaN(files.last_path),
            files,  # Before the backup, which saves its best metric.
            backup,
            keras.callbacks.TensorBoard(log_dir, write_graph=False),
        ]
        if options.sample_every_n_epochs and self.chief:
            callbacks.append(
                callbacks_lib.SampleImages(
                    log_dir, every_n_epochs=options.sample_every_n_epochs, seed=options.seed
                )
            )
        steps_per_epoch = options.steps_per_epoch or len(train_images) // options.batch_size
        start = time.time()
        with strategy.scope():
            # Keras's fit under a strategy first builds the model symbolically
            # on the replica *mean* of a batch (float for int images, and an
            # error under MultiWorkerMirroredStrategy). The model is built
            # already; fit then traces its step in this scope on real batches.
            compat.forget_distribute_strategy(model)
            model.fit(
                epoch_batches(
                    train_images, options.batch_size, options.seed,
                    start_epoch * steps_per_epoch, condition=train_labels,
                ),
                epochs=options.epochs,
                steps_per_epoch=steps_per_epoch,
                validation_data=pairs(test_images, EVAL_BATCH_SIZE, condition=test_labels),
                callbacks=callbacks,
                shuffle=False,  # epoch_batches already orders each epoch.
                verbose=options.verbose,
            )
        seconds = time.time() - start
        nan_stop = callbacks[0].stopped_at
        if nan_stop is not None:
            raise FloatingPointError(
                f"Training stopped at epoch {nan_stop[0] + 1}, batch {nan_stop[1]}: the loss "
                f"became NaN or infinite. The last good model is {files.last_path} "
                "(if it exists); lower the learning rate or set clipnorm."
            )
        return seconds


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
