r"""Trains a PixelRNN model, reports its NLL, writes samples (the main job).

With no flags it trains a small Diagonal BiLSTM on scikit-learn's bundled
8x8 digits (no network needed) in a few minutes on two CPU cores:

  python -m pixel_rnn_tf.cli.train --output_dir=runs/demo

The paper's configurations are presets:

  python -m pixel_rnn_tf.cli.train --preset=mnist_row_lstm --dataset=mnist_idx \
      --data_dir=../shared/data/mnist --train_split='test[:8000]' \
      --test_split='test[8000:]'

Your own images (a folder of PNG or JPEG files, or of class subfolders),
cropped and resized to the preset's shape:

  python -m pixel_rnn_tf.cli.train --dataset=folder --data_dir=my_images \
      --train_split='train[:90%]' --test_split='train[90%:]'

A class-conditional model (§3.5) of the data set's labels (digits, mnist_idx,
mnist, cifar10, or a folder of class subfolders):

  python -m pixel_rnn_tf.cli.train --condition_on_labels --output_dir=runs/labels

Written to a log file (stdout not a terminal), training prints one line per
epoch instead of a progress bar.
"""

import math
import os
import sys

from absl import app
from absl import flags
import tensorflow as tf

from pixel_rnn_tf import callbacks
from pixel_rnn_tf import configs
from pixel_rnn_tf import data
from pixel_rnn_tf import files
from pixel_rnn_tf import training
from pixel_rnn_tf.cli import common

DEFAULT_PRESET = "digits_diagonal_bilstm"

_PRESET = flags.DEFINE_enum("preset", DEFAULT_PRESET, configs.names(), "Model preset.")
_ARCH = flags.DEFINE_enum(
    "arch", None, list(configs.ARCHITECTURES),
    "Overrides the preset's architecture (with --num_layers, --hidden_units).",
)
_NUM_LAYERS = flags.DEFINE_integer("num_layers", None, "Overrides the preset's depth.")
_HIDDEN_UNITS = flags.DEFINE_integer("hidden_units", None, "Overrides the preset's h.")
_DATASET = flags.DEFINE_enum("dataset", "digits", data.names(), "Data set.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, common.DATA_DIR_HELP)
_DOWNLOAD = flags.DEFINE_bool("download", False, common.DOWNLOAD_HELP)
_TRAIN_SPLIT = flags.DEFINE_string("train_split", "train", "Training split, tfds syntax.")
_TEST_SPLIT = flags.DEFINE_string("test_split", "test", "Evaluation split, tfds syntax.")
_EPOCHS = flags.DEFINE_integer("epochs", 30, "Training epochs.", lower_bound=1)
_STEPS_PER_EPOCH = flags.DEFINE_integer(
    "steps_per_epoch", None, "Steps per epoch; default: one pass over the data.", lower_bound=1
)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Batch size (16 in the paper).", lower_bound=1)
_LEARNING_RATE = flags.DEFINE_float(
    "learning_rate", training.DEFAULT_LEARNING_RATE, "RMSProp learning rate (positive, finite)."
)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of initialization, shuffling and sampling.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 16, "Samples in the grid.", lower_bound=0)
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "runs/demo", "Where outputs are written.")
_EXPORT = flags.DEFINE_bool(
    "export", True, "Export a SavedModel for TF Serving to <output_dir>/export/<next version>/."
)
_CLIPNORM = flags.DEFINE_float("clipnorm", None, "Gradient norm clipping (positive, finite).")
_STRATEGY = flags.DEFINE_enum(
    "strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
    "tf.distribute strategy: multi_worker reads TF_CONFIG; tpu uses --tpu.",
)
_TPU = flags.DEFINE_string("tpu", None, "TPU name or address for --strategy=tpu.")
_PRECISION = flags.DEFINE_enum("precision", "float32", list(training.PRECISIONS), "Compute dtype.")
_JIT_COMPILE = flags.DEFINE_bool(
    "jit_compile", None,
    "XLA-compile the training step (--nojit_compile: the plain graph). Unset: XLA "
    "where a GPU or TPU is present (training.JIT_COMPILE).",
)
_DETERMINISTIC = flags.DEFINE_bool(
    "deterministic", False, "Enable TensorFlow op determinism (bit-exact reruns and resumes)."
)
_INTRA_OP_THREADS = flags.DEFINE_string(
    "intra_op_threads", training.INTRA_OP_THREADS,
    "TensorFlow's intra-op threads: 'auto' (1 on machines of at most "
    f"{training.SINGLE_INTRA_OP_THREAD_CORES} cores, else TensorFlow's default) or an int >= 0 "
    "(0: TensorFlow's default, one per core).",
)
_BACKUP_EVERY = flags.DEFINE_string(
    "backup_every", "epoch", "Back up every epoch ('epoch') or every N batches."
)
_CONDITION_ON_LABELS = flags.DEFINE_bool(
    "condition_on_labels", False,
    "Condition the model on the data set's class labels (num_classes from --dataset); "
    "samples are drawn for the test images' labels.",
)
_SAMPLE_EVERY = flags.DEFINE_integer(
    "sample_every_n_epochs", 0, "TensorBoard sample images every N epochs (0: never).",
    lower_bound=0,
)


def _positive_finite(value):
    """A flag validator: absl's `lower_bound` lets NaN (and infinity) through."""
    return value is None or (math.isfinite(value) and value > 0)


for _name in ("learning_rate", "clipnorm"):
    flags.register_validator(
        _name, _positive_finite, message=f"--{_name} must be a positive finite number"
    )


def make_strategy(name, tpu=None):
    """The `tf.distribute` strategy named by --strategy."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    return tf.distribute.get_strategy()


def progress_verbosity(stream):
    """Keras's `verbose` for `stream`: a progress bar on a terminal, else one line per epoch.

    A progress bar redraws itself with control characters, which a log
    file keeps: megabytes of them over a long run.
    """
    isatty = getattr(stream, "isatty", None)
    return "auto" if isatty is not None and isatty() else 2


def _backup_every(value):
    if value == "epoch":
        return value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise app.UsageError(f"--backup_every must be 'epoch' or a positive int. Received: {value!r}")


def main(argv):
    common.check_no_arguments(argv)
    # First: TensorFlow takes its thread counts when it runs its first op.
    with common.usage_errors(prefix="--intra_op_threads: "):
        intra_op_threads = training.parse_intra_op_threads(_INTRA_OP_THREADS.value)
    training.configure_threads(intra_op_threads)
    overrides = {
        name: flag.value
        for name, flag in (
            ("arch", _ARCH), ("num_layers", _NUM_LAYERS), ("hidden_units", _HIDDEN_UNITS)
        )
        if flag.value is not None
    }
    if _CONDITION_ON_LABELS.value:
        # A folder data set without its folder is a ValueError.
        with common.usage_errors(prefix="--condition_on_labels: "):
            num_classes = data.num_classes(_DATASET.value, _DATA_DIR.value)
        if num_classes is None:
            raise app.UsageError(
                f"--condition_on_labels: --dataset={_DATASET.value!r} has no class labels "
                f"(--data_dir={_DATA_DIR.value!r}). Use a data set with labels (digits, "
                "mnist_idx, mnist, cifar10) or a folder of class subfolders."
            )
        overrides["num_classes"] = num_classes
    with common.usage_errors(prefix=f"--preset={_PRESET.value}: "):  # An override it cannot take.
        config = configs.get(_PRESET.value, **overrides)
    if _DETERMINISTIC.value:
        tf.config.experimental.enable_op_determinism()
    output_dir = _OUTPUT_DIR.value
    export_base = os.path.join(output_dir, "export") if _EXPORT.value else None
    # The cheap checks first, before the strategy and the data.
    common.writable_directory(output_dir, "--output_dir")
    if export_base:
        common.writable_directory(export_base, "export_base")
    try:
        options = training.TrainOptions(
            output_dir=output_dir,
            data_dir=_DATA_DIR.value,
            train_split=_TRAIN_SPLIT.value,
            test_split=_TEST_SPLIT.value,
            download=_DOWNLOAD.value,
            epochs=_EPOCHS.value,
            batch_size=_BATCH_SIZE.value,
            learning_rate=_LEARNING_RATE.value,
            steps_per_epoch=_STEPS_PER_EPOCH.value,
            seed=_SEED.value,
            clipnorm=_CLIPNORM.value,
            strategy=make_strategy(_STRATEGY.value, _TPU.value),
            precision=_PRECISION.value,
            jit_compile=_JIT_COMPILE.value,
            backup_every=_backup_every(_BACKUP_EVERY.value),
            sample_every_n_epochs=_SAMPLE_EVERY.value,
            num_samples=_NUM_SAMPLES.value,
            export_base=export_base,
            verbose=progress_verbosity(sys.stdout),
        )
        results = training.train(config, _DATASET.value, options=options)
    except (
        files.DirectoryInUseError, callbacks.CheckpointError, FloatingPointError, ValueError
    ) as error:
        sys.exit(f"train: {error}")  # Exit status 1, one line on stderr.
    except data.NotPreparedError as error:  # Says which flag fetches it.
        raise app.UsageError(str(error)) from None  # Exit status 1, the message on stderr.
    if results.get("already_complete"):
        print(
            f"The run in {output_dir} is complete already ({results['epochs']} epochs): "
            "nothing trained, written or exported. Pass a larger --epochs to extend it."
        )
    print(format_results(results))


def _describe(config):
    """A config dict in words: `row_lstm 7x16`, or both networks of a multi-scale one."""
    if "small" in config:
        return f"multiscale ({_describe(config['small'])}, then {_describe(config['large'])})"
    return f"{config['arch']} {config['num_layers']}x{config['hidden_units']}"


def format_results(results):
    """A printable table of `training.train`'s results."""
    config = results["config"]
    shape = (config["large"] if "small" in config else config)["image_shape"]
    lines = [
        f"{_describe(config)} on {results['dataset']} {tuple(shape)}, "
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


def run():
    """The console script `pixel-rnn-train` (setup.cfg)."""
    app.run(main)


if __name__ == "__main__":
    run()
