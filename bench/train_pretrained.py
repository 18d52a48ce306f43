r"""Trains the models that ship with the package (`prt.pretrained`), resuming each.

The paper's Table 4 on its own benchmark: binarized MNIST (Salakhutdinov &
Murray's stochastic binarization), 50,000 training images, the model kept
by its validation NLL (10,000 images), its test NLL recorded. Every run
starts from the shipped `.keras` file of a model where there is one (its
optimizer state included) and adds to it, so training spreads over as
many sittings as it takes; each model gets a wall-clock budget per sitting.

  .venv/bin/python bench/train_pretrained.py --names=mnist_diagonal_bilstm_7x16 \
      --minutes=60 --data_dir=../shared/data/binarized_mnist

The learner is Adam (the paper used RMSProp, §5; Adam converges faster per
image seen, which is what a CPU budget buys), batch 32, no augmentation.
"""

import argparse
import json
import os
import platform
import time

import keras
import numpy as np
import tensorflow as tf

import pixel_rnn_tf as prt
from pixel_rnn_tf import files
from pixel_rnn_tf import training
from pixel_rnn_tf.losses import CategoricalNLL
from pixel_rnn_tf.metrics import BitsPerDim

SLICE = 500


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    threads = tf.config.threading.get_intra_op_parallelism_threads() or training.available_cores()
    return f"{cpu}, {threads} intra-op thread(s) on {os.cpu_count()} cores, no GPU"


class _Budget(keras.callbacks.Callback):
    """Stops `fit` after `seconds`; counts images; keeps the best validation model."""

    def __init__(self, seconds, batch_size, save, best=None):
        super().__init__()
        self.seconds, self.batch_size, self.save = seconds, batch_size, save
        self.start = time.perf_counter()
        self.images = 0
        # A resumed model is replaced only by a better one than it was.
        self.best = best
        self.improved = False

    def on_train_batch_end(self, batch, logs=None):
        self.images += self.batch_size
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        val = float(logs["val_loss"])
        print(f"epoch {epoch}: {self.images} images, val {val:.3f} nats", flush=True)
        if np.isfinite(val) and (self.best is None or val < self.best):
            self.best = val
            self.improved = True
            self.save(self.model, val, self.images, time.perf_counter() - self.start)


def train_one(name, args, train, valid, test):
    directory = os.path.abspath(args.out_dir)
    model_path = os.path.join(directory, f"{name}.keras")
    record_path = os.path.join(directory, f"{name}.json")
    record = {}
    if os.path.exists(model_path):
        model = keras.saving.load_model(model_path)
        with open(record_path) as f:
            record = json.load(f)
        print(f"{name}: resuming at {record['images_seen']} images", flush=True)
        if args.learning_rate is not None:
            model.optimizer.learning_rate.assign(args.learning_rate)
    else:
        keras.utils.set_random_seed(args.seed)
        model = prt.build_model(prt.configs.get(name))
        model.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate or 1e-3),
            loss=CategoricalNLL(), metrics=[BitsPerDim()],
        )
    base_images = record.get("images_seen", 0)
    base_seconds = record.get("train_seconds", 0.0)
    sittings = record.get("sittings", 0)
    keras.utils.set_random_seed(args.seed + sittings + 1)  # A new data order per sitting.

    def save(model, val, images, seconds):
        files.atomic_write(model_path, model.save)
        new = {
            "name": name,
            "dataset": "binarized_mnist (Salakhutdinov & Murray), 50,000 train",
            "learner": {
                "optimizer": keras.optimizers.serialize(model.optimizer)["class_name"],
                "learning_rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
                "batch_size": args.batch_size,
            },
            "images_seen": base_images + images,
            "train_seconds": round(base_seconds + seconds, 1),
            "sittings": sittings + 1,
            "machine": _machine(),
            "num_params": int(model.count_params()),
            "validation_nats": round(val, 4),
            "last_sitting_images_per_second": round(images / seconds, 1),
        }

        def write(path):
            with open(path, "w") as f:
                json.dump(new, f, indent=2)

        files.atomic_write(record_path, write)

    trained = model if args.implementation is None else _with_implementation(model, args.implementation)
    if trained is not model:
        save = _saved_through(model, trained, save)
    budget = _Budget(args.minutes * 60, args.batch_size, save, best=record.get("validation_nats"))
    trained.fit(
        train, batch_size=args.batch_size, epochs=10**6, shuffle=True,
        validation_data=valid, validation_batch_size=500, callbacks=[budget], verbose=2,
        steps_per_epoch=args.steps_per_epoch,
    )
    if not budget.improved:
        print(f"{name}: no better validation NLL within the budget; nothing saved", flush=True)
        return
    record_test(name, args.out_dir, test)


def _with_implementation(model, implementation):
    """A compiled copy of `model` whose recurrent layers take `implementation`'s path.

    The weights and the optimizer's state are the model's: the path changes
    the speed, not the function (`ModelConfig.implementation`).
    """
    config = model.config.replace(implementation=implementation)
    copy = prt.build_model(config)
    copy.compile(
        optimizer=keras.optimizers.deserialize(keras.optimizers.serialize(model.optimizer)),
        loss=CategoricalNLL(), metrics=[BitsPerDim()],
    )
    copy.optimizer.build(copy.trainable_variables)
    _copy_state(model, copy)
    return copy


def _copy_state(source, target):
    target.set_weights(source.get_weights())
    for to, value in zip(target.optimizer.variables, source.optimizer.variables, strict=True):
        to.assign(value)


def _saved_through(model, trained, save):
    """`save`, of `model` holding `trained`'s weights and optimizer state.

    The shipped file keeps the model's own configuration, whatever path
    trained it.
    """

    def save_model(_, val, images, seconds):
        _copy_state(trained, model)
        save(model, val, images, seconds)

    return save_model


def record_test(name, out_dir, test):
    """Evaluates a saved model on the test split (and its first 500 images) into its record."""
    directory = os.path.abspath(out_dir)
    record_path = os.path.join(directory, f"{name}.json")
    best = keras.saving.load_model(os.path.join(directory, f"{name}.keras"))
    result = prt.evaluate(best, test, batch_size=500)
    with open(record_path) as f:
        record = json.load(f)
    record["test_nats"] = round(result["nats"], 4)
    record["test_nats_std_error"] = round(result["nats_std_error"], 4)
    # What the tests check the shipped model against, without the whole split.
    record[f"test_{SLICE}_nats"] = round(prt.evaluate(best, test[:SLICE], batch_size=500)["nats"], 4)

    def write(path):
        with open(path, "w") as f:
            json.dump(record, f, indent=2)

    files.atomic_write(record_path, write)
    print(f"{name}: {json.dumps(record)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", default=",".join(prt.pretrained.NAMES))
    parser.add_argument("--minutes", type=float, default=30.0, help="Budget per model.")
    parser.add_argument("--data_dir", default="../shared/data/binarized_mnist")
    parser.add_argument("--out_dir", default=prt.pretrained.DIRECTORY)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=None,
                        help="Adam's rate; default 1e-3 for a new model, the saved one's on resume.")
    parser.add_argument("--steps_per_epoch", type=int, default=None,
                        help="Batches between validations; default one pass.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--implementation", default=None, choices=("reference", "fused"),
                        help="The recurrent layers' path while training (default: the model's "
                             "own); the shipped file keeps the model's configuration.")
    parser.add_argument("--intra_op_threads", default="auto")
    parser.add_argument("--record_only", action="store_true",
                        help="Only evaluate the saved models on the test split into their records.")
    args = parser.parse_args()
    training.configure_threads(training.parse_intra_op_threads(args.intra_op_threads))
    load = dict(data_dir=args.data_dir, as_numpy=True)
    train = prt.data.load("binarized_mnist", "train", **load)
    valid = prt.data.load("binarized_mnist", "validation", **load)
    test = prt.data.load("binarized_mnist", "test", **load)
    for name in args.names.split(","):
        if args.record_only:
            record_test(name, args.out_dir, test)
        else:
            train_one(name, args, train, valid, test)


if __name__ == "__main__":
    main()
