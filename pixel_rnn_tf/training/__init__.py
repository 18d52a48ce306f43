"""Training: `train`, the library entry of a run, with plain arguments (no flags).

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

Modules: `run` (`train` and its `TrainOptions`), `compiling`
(`compile_model`), `pipelines` (the `tf.data` batches of `model.fit`),
`runtime` (TensorFlow's threads, for programs).
"""

from pixel_rnn_tf.training.compiling import DEFAULT_LEARNING_RATE
from pixel_rnn_tf.training.compiling import JIT_COMPILE
from pixel_rnn_tf.training.compiling import compile_model
from pixel_rnn_tf.training.compiling import save_model_atomically
from pixel_rnn_tf.training.pipelines import epoch_batches
from pixel_rnn_tf.training.pipelines import pairs
from pixel_rnn_tf.training.run import EVAL_BATCH_SIZE
from pixel_rnn_tf.training.run import PRECISIONS
from pixel_rnn_tf.training.run import TrainOptions
from pixel_rnn_tf.training.run import evaluate_nll
from pixel_rnn_tf.training.run import train
from pixel_rnn_tf.training.runtime import INTRA_OP_THREADS
from pixel_rnn_tf.training.runtime import SINGLE_INTRA_OP_THREAD_CORES
from pixel_rnn_tf.training.runtime import available_cores
from pixel_rnn_tf.training.runtime import configure_threads
from pixel_rnn_tf.training.runtime import parse_intra_op_threads
from pixel_rnn_tf.training.runtime import resolve_intra_op_threads
