"""Training callbacks: backups written whole, NaN stops, model files, sample images."""

import json
import math
import os

import keras
import numpy as np
import tensorflow as tf

from pixel_rnn_tf import compat
from pixel_rnn_tf import conditioning
from pixel_rnn_tf import sampling
from pixel_rnn_tf import files
from pixel_rnn_tf.files import atomic_write  # noqa: F401  (its old home)


def _finite(logs):
    loss = (logs or {}).get("loss")
    return loss is None or math.isfinite(float(loss))


def _model_config(model):
    """The model's config as JSON would return it (lists for tuples), or None."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "to_dict"):
        return None
    return json.loads(json.dumps(config.to_dict()))


def _config_differences(saved, current, prefix=""):
    """`["key: A in the backup, B in the model", ...]` for keys both configs have.

    A key only one side has (a field added by a newer package) is no
    mismatch: its default describes the older model.
    """
    differences = []
    for key in sorted(set(saved) & set(current)):
        a, b = saved[key], current[key]
        if isinstance(a, dict) and isinstance(b, dict):
            differences += _config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            differences.append(f"{prefix}{key}={a!r} in the backup, {b!r} in the model")
    return differences


class CheckpointError(RuntimeError):
    """A backup directory holds no backup that can be restored."""


class AtomicBackupAndRestore(compat.BackupHooks):
    """`keras.callbacks.BackupAndRestore` whose backups are written whole.

    With `save_freq` a number of batches, a resumed run restarts the epoch
    of the backup from its first batch with the backup's weights (Keras
    resumes by epoch); only epoch backups make a resumed run bit-exact.

    Each backup is a weights file named after its epoch and batch, written
    to a temporary file and renamed; then a small metadata file naming it
    (and the previous backup) is replaced the same way. A kill at any moment
    leaves the metadata pointing at a whole weights file. On restore, a
    backup that fails to load falls back to the previous one; if none loads
    the error says so, rather than training silently from scratch. A state
    whose loss is not finite is never backed up.

    The metadata also holds the model's config, so resuming into a model of
    another config fails with one line naming the difference, and the state
    of the `stateful` callbacks (the best metric of `ModelFiles`), so a
    resumed or extended run keeps tracking the true best. Stray `.tmp-*`
    files (of a write killed midway) are ignored.

    With `restore_dir` it restores from another directory than it writes
    to: under MultiWorkerMirroredStrategy every worker restores the chief's
    backup, so all resume from one epoch (their own backups can be an epoch
    apart after a kill; the weights are the same on every worker). Each
    worker still writes its own, because saving runs collective ops that
    need every worker.

    Args:
      backup_dir: a directory for this run's backups only.
      save_freq: "epoch" or a number of batches.
      delete_checkpoint: delete the backups when training ends.
      stateful: callbacks with `get_state()` (a JSON-able dict) and
        `set_state(state)`, saved with every backup (keyed by class name)
        and handed back on restore. Put them before this callback in
        `fit`'s list, so an epoch's backup holds their state after it.
      restore_dir: where `restore` reads; default `backup_dir`.
    """

    METADATA = "backup.json"

    def __init__(
        self, backup_dir, save_freq="epoch", delete_checkpoint=False, stateful=(),
        restore_dir=None,
    ):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self.restore_dir = restore_dir or backup_dir
        self._metadata_path = os.path.join(backup_dir, self.METADATA)
        self._last_logs = None
        self.stateful = list(stateful)
        self.restored_epoch = None

    def saved_state(self, directory=None):
        """The metadata of the latest backup in `directory` (default `backup_dir`), or `None`."""
        directory = directory or self.backup_dir
        metadata_path = os.path.join(directory, self.METADATA)
        if not os.path.exists(metadata_path):
            if os.path.isdir(directory) and any(
                name.endswith(".weights.h5") and not name.startswith(files.TEMP_PREFIX)
                for name in os.listdir(directory)
            ):
                raise CheckpointError(
                    f"The backup directory {directory} holds weights but no "
                    f"{self.METADATA}: it was not written by this callback. Remove it "
                    "to start from scratch."
                )
            return None
        try:
            with open(metadata_path) as f:
                state = json.load(f)
            int(state["epoch"]), str(state["weights"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointError(
                f"The backup metadata {metadata_path} is unreadable ({error}). "
                "Remove the directory to start from scratch."
            ) from error
        return state

    def restore(self, model):
        """Loads the latest backup in `restore_dir` that loads into `model`.

        Falls back to the previous backup when the latest fails to load.

        Returns:
          The number of epochs the restored state has completed, or `None`
          when there is no backup.

        Raises:
          CheckpointError: there are backups and none loads, or they were
            written by a model of another config.
        """
        directory = self.restore_dir
        state = self.saved_state(directory)
        if state is None:
            return None
        saved_config, config = state.get("config"), _model_config(model)
        if isinstance(saved_config, dict) and config is not None:
            differences = _config_differences(saved_config, config)
            if differences:
                raise CheckpointError(
                    f"The backup in {directory} is of another model config: "
                    f"{'; '.join(differences)}. Resume with the backup's config, or use "
                    "another output directory (or remove this one) to start from scratch."
                )
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        errors = []
        for candidate in (state, state.get("previous")):
            if not candidate:
                continue
            path = os.path.join(directory, candidate["weights"])
            try:
                model.load_weights(path)
            except Exception as error:  # h5py and Keras raise several types.
                errors.append(f"{path}: {error}")
                continue
            if errors:
                print(f"Backup {errors[0]} failed to load; restored the previous one.")
            self.restored_epoch = int(candidate["epoch"])
            saved = candidate.get("callbacks") or {}
            for callback in self.stateful:
                if type(callback).__name__ in saved:
                    callback.set_state(saved[type(callback).__name__])
            return self.restored_epoch
        raise CheckpointError(
            f"No backup in {directory} could be restored: {'; '.join(errors)}"
        )

    def on_train_begin(self, logs=None):
        if self.restored_epoch is None:
            self.restore(self.model)
        if self.restored_epoch is not None:
            compat.set_initial_epoch(self.model, self.restored_epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._last_logs = logs
        super().on_epoch_end(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._last_logs = logs
        super().on_train_batch_end(batch, logs)

    def save_backup(self):
        if not _finite(self._last_logs) or self.model.stop_training:
            return  # Never back up a diverged state.
        previous = self.saved_state()
        epoch, batch = self.position
        name = f"epoch{epoch:05d}-batch{batch:06d}.weights.h5"
        atomic_write(
            os.path.join(self.backup_dir, name),
            lambda path: self.model.save_weights(path, overwrite=True),
        )
        if previous:
            previous.pop("previous", None)
        state = {
            "epoch": epoch,
            "batch": batch,
            "weights": name,
            "config": _model_config(self.model),
            "callbacks": {type(c).__name__: c.get_state() for c in self.stateful},
            "previous": previous,
        }

        def write_metadata(path):
            with open(path, "w") as f:
                json.dump(state, f)

        atomic_write(self._metadata_path, write_metadata)
        keep = {name, previous["weights"] if previous else None, self.METADATA}
        for stale in os.listdir(self.backup_dir):
            if stale not in keep and not stale.startswith(files.TEMP_PREFIX):
                os.remove(os.path.join(self.backup_dir, stale))


class StopOnNaN(keras.callbacks.Callback):
    """Stops training when the loss stops being finite, and says why.

    Unlike `keras.callbacks.TerminateOnNaN` it prints what happened and
    where the last good model is; the callbacks of this module never save a
    state with a non-finite loss, so that model is intact.
    """

    def __init__(self, last_good_path=None):
        super().__init__()
        self.last_good_path = last_good_path
        self.epoch = 0
        self.stopped_at = None  # (epoch, batch) once stopped.

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if not _finite(logs):
            self.stopped_at = (self.epoch, batch)
            self.model.stop_training = True
            kept = (
                f"The last good model is {self.last_good_path}."
                if self.last_good_path and os.path.exists(self.last_good_path)
                else "No model was saved before it."
            )
            print(
                f"\nTraining stopped: the loss became {logs['loss']} at epoch "
                f"{self.epoch + 1}, batch {batch}. "
                f"Lower the learning rate or clip gradients (clipnorm). {kept}"
            )


class ModelFiles(keras.callbacks.Callback):
    """Writes `last.keras` every epoch and `best.keras` on a better `monitor`.

    Both are written whole or not at all, and never from a non-finite loss.
    The best value and its epoch (`best`, `best_epoch`, 1-based) are this
    callback's state (`get_state`, `set_state`): passed to
    `AtomicBackupAndRestore(stateful=...)`, they survive a resume, so
    `best.keras` is never replaced by a worse model.
    """

    def __init__(self, directory, monitor="val_loss"):
        super().__init__()
        self.directory = directory
        self.monitor = monitor
        self.best = np.inf
        self.best_epoch = None
        self.last_path = os.path.join(directory, "last.keras")
        self.best_path = os.path.join(directory, "best.keras")

    def get_state(self):
        best = None if math.isinf(self.best) else self.best  # JSON has no infinity.
        return {"monitor": self.monitor, "best": best, "best_epoch": self.best_epoch}

    def set_state(self, state):
        if state.get("monitor") != self.monitor:
            return  # Another metric: its best says nothing of this one.
        best = state.get("best")
        self.best = np.inf if best is None else float(best)
        self.best_epoch = state.get("best_epoch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not _finite(logs) or self.model.stop_training:
            return
        atomic_write(self.last_path, self.model.save)
        value = logs.get(self.monitor, logs.get("loss"))
        if value is not None and float(value) < self.best:
            self.best = float(value)
            self.best_epoch = epoch + 1
            atomic_write(self.best_path, self.model.save)


class SampleImages(keras.callbacks.Callback):
    """Writes an image summary of samples every `every_n_epochs` epochs.

    A label-conditioned model samples with labels cycling over its classes;
    a vector- or map-conditioned one with the first conditions of
    `validation_data`, and without them it skips its summaries (saying so
    once).

    Args:
      log_dir: TensorBoard log directory (its `samples` subdirectory is used).
      num_samples: images per summary.
      every_n_epochs: how often.
      seed: sampling seed; the same seed every time shows the model's progress.
      validation_data: for a vector- or map-conditioned model, `(images,
        condition)` arrays or a `tf.data.Dataset` of such elements (batched
        or not), whose conditions the samples take; else unused.
    """

    def __init__(self, log_dir, num_samples=4, every_n_epochs=1, seed=0, validation_data=None):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "samples"))
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.seed = seed
        self.validation_data = validation_data
        self._told_skipping = False

    def _condition(self, config):
        """`(condition or None, usable)`: `num_samples` conditions for the samples."""
        kind = conditioning.kind(config)
        if kind is None:
            return None, True
        if kind == "labels":
            return np.arange(self.num_samples, dtype=np.int32) % config.num_classes, True
        data = self.validation_data
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            unbatched = len(conditioning.event_shape(config))
            if isinstance(spec, tuple) and spec[-1].shape.rank == unbatched:
                data = data.batch(self.num_samples)  # Unbatched elements.
            data = next(iter(data.take(1)), None)  # The first batch.
        if not isinstance(data, (tuple, list)) or len(data) != 2 or not len(data[1]):
            return None, False
        condition = np.asarray(data[1], np.float32)
        # Cycled when the data holds fewer conditions than samples.
        return np.resize(condition, (self.num_samples,) + condition.shape[1:]), True

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        config = self.model.config
        condition, usable = self._condition(config)
        if not usable:
            if not self._told_skipping:
                print(
                    f"SampleImages: no sample summaries: the model is conditioned on "
                    f"{conditioning.describe(config)} and no `validation_data` conditions "
                    "were given to draw from."
                )
                self._told_skipping = True
            return
        images = sampling.sample(
            self.model, self.num_samples, seed=(self.seed, 0), condition=condition
        )
        scaled = tf.cast(images, tf.float32) / (config.num_levels - 1)  # [N, H, W, C] in [0, 1]
        with self.writer.as_default():
            tf.summary.image("samples", scaled, step=epoch, max_outputs=self.num_samples)
        self.writer.flush()
