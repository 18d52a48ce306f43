"""Training callbacks: backups written whole, NaN stops, model files, sample images."""

import json
import math
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from pixel_rnn_tf import sampling


def atomic_write(path, write):
    """Calls `write(temporary_path)`, then renames the result onto `path`.

    A rename within one directory is atomic, so `path` is either the old
    file or the whole new one, never a part: a job killed midway leaves at
    most a stray temporary file, which is removed when the write fails. The
    file gets the permissions a plain `open` would give it (or keeps those
    of the file it replaces), not `mkstemp`'s owner-only ones.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = "." + os.path.basename(path).split(".", 1)[-1]  # Keras checks extensions.
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def _file_mode(path):
    """The mode of the file at `path`, or of a new file under the process's umask."""
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0)  # Reading the umask means setting it; restored at once.
    os.umask(umask)
    return 0o666 & ~umask


def _finite(logs):
    loss = (logs or {}).get("loss")
    return loss is None or math.isfinite(float(loss))


class CheckpointError(RuntimeError):
    """A backup directory holds no backup that can be restored."""


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
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

    Args:
      backup_dir: a directory for this run's backups only.
      save_freq: "epoch" or a number of batches.
      delete_checkpoint: delete the backups when training ends.
    """

    METADATA = "backup.json"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=False):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self._metadata_path = os.path.join(backup_dir, self.METADATA)
        self._last_logs = None
        self.restored_epoch = None

    def saved_state(self):
        """The metadata of the latest backup, or `None` without one."""
        if not os.path.exists(self._metadata_path):
            if os.path.isdir(self.backup_dir) and any(
                name.endswith(".weights.h5") for name in os.listdir(self.backup_dir)
            ):
                raise CheckpointError(
                    f"The backup directory {self.backup_dir} holds weights but no "
                    f"{self.METADATA}: it was not written by this callback. Remove it "
                    "to start from scratch."
                )
            return None
        try:
            with open(self._metadata_path) as f:
                state = json.load(f)
            int(state["epoch"]), str(state["weights"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointError(
                f"The backup metadata {self._metadata_path} is unreadable ({error}). "
                "Remove the directory to start from scratch."
            ) from error
        return state

    def restore(self, model):
        """Loads the latest backup that loads into `model`.

        Falls back to the previous backup when the latest fails to load.

        Returns:
          The number of epochs the restored state has completed, or `None`
          when there is no backup.

        Raises:
          CheckpointError: there are backups and none loads.
        """
        state = self.saved_state()
        if state is None:
            return None
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        errors = []
        for candidate in (state, state.get("previous")):
            if not candidate:
                continue
            path = os.path.join(self.backup_dir, candidate["weights"])
            try:
                model.load_weights(path)
            except Exception as error:  # h5py and Keras raise several types.
                errors.append(f"{path}: {error}")
                continue
            if errors:
                print(f"Backup {errors[0]} failed to load; restored the previous one.")
            self.restored_epoch = int(candidate["epoch"])
            return self.restored_epoch
        raise CheckpointError(
            f"No backup in {self.backup_dir} could be restored: {'; '.join(errors)}"
        )

    def on_train_begin(self, logs=None):
        if self.restored_epoch is None:
            self.restore(self.model)
        if self.restored_epoch is not None:
            self.model._initial_epoch = self.restored_epoch

    def on_epoch_end(self, epoch, logs=None):
        self._last_logs = logs
        super().on_epoch_end(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._last_logs = logs
        super().on_train_batch_end(batch, logs)

    def _save_model(self):
        if not _finite(self._last_logs) or self.model.stop_training:
            return  # Never back up a diverged state.
        previous = self.saved_state()
        name = f"epoch{self._current_epoch:05d}-batch{self._last_batch_seen:06d}.weights.h5"
        atomic_write(
            os.path.join(self.backup_dir, name),
            lambda path: self.model.save_weights(path, overwrite=True),
        )
        if previous:
            previous.pop("previous", None)
        state = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights": name,
            "previous": previous,
        }

        def write_metadata(path):
            with open(path, "w") as f:
                json.dump(state, f)

        atomic_write(self._metadata_path, write_metadata)
        keep = {name, previous["weights"] if previous else None, self.METADATA}
        for stale in os.listdir(self.backup_dir):
            if stale not in keep and not stale.startswith(".tmp-"):
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
    """

    def __init__(self, directory, monitor="val_loss"):
        super().__init__()
        self.directory = directory
        self.monitor = monitor
        self.best = np.inf
        self.last_path = os.path.join(directory, "last.keras")
        self.best_path = os.path.join(directory, "best.keras")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not _finite(logs) or self.model.stop_training:
            return
        atomic_write(self.last_path, self.model.save)
        value = logs.get(self.monitor, logs.get("loss"))
        if value is not None and float(value) < self.best:
            self.best = float(value)
            atomic_write(self.best_path, self.model.save)


class SampleImages(keras.callbacks.Callback):
    """Writes an image summary of samples every `every_n_epochs` epochs.

    Args:
      log_dir: TensorBoard log directory (its `samples` subdirectory is used).
      num_samples: images per summary.
      every_n_epochs: how often.
      seed: sampling seed; the same seed every time shows the model's progress.
    """

    def __init__(self, log_dir, num_samples=4, every_n_epochs=1, seed=0):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "samples"))
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.seed = seed

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        config = self.model.config
        labels = None
        if config.num_classes:
            labels = np.arange(self.num_samples) % config.num_classes
        images = sampling.sample(self.model, self.num_samples, seed=(self.seed, 0), labels=labels)
        scaled = tf.cast(images, tf.float32) / (config.num_levels - 1)  # [N, H, W, C] in [0, 1]
        with self.writer.as_default():
            tf.summary.image("samples", scaled, step=epoch, max_outputs=self.num_samples)
        self.writer.flush()
