"""The process's TensorFlow runtime for training: intra-op threads.

A process-wide setting, so it is for programs (the training command, the
benchmarks), not for library code.
"""

import os

import tensorflow as tf

from pixel_rnn_tf import validation

# TensorFlow's intra-op pool splits one op across the cores. On two cores
# that only pays for large ops: the recurrent layers run two independent
# recurrences of small ops at once (`DiagonalBiLSTM`, `_row_lstm`), each
# wanting one core, and every op split across both waits for the other
# recurrence's current op; the recurrent models gain most from one thread
# (BENCHMARKS.md, "Training throughput"). On more cores TensorFlow's
# default (one per core) stands.
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
    if not validation.is_int(intra_op_threads) or intra_op_threads < 0:
        raise ValueError(
            'Expected `intra_op_threads` to be "auto" or an int >= 0 (0: TensorFlow\'s default). '
            f"Received: intra_op_threads={intra_op_threads!r}"
        )
    return int(intra_op_threads)


def parse_intra_op_threads(text):
    """`intra_op_threads` from a command line's text: "auto" or an int >= 0."""
    if text == "auto":
        return text
    if text.isdigit():
        return int(text)
    raise ValueError(f"Expected 'auto' or an int >= 0. Received: {text!r}")


def configure_threads(intra_op_threads=INTRA_OP_THREADS):
    """Sets TensorFlow's intra-op threads for this process, before it runs any op.

    Call it first: TensorFlow takes its thread counts when it runs its
    first op. The environment's `TF_NUM_INTRAOP_THREADS` wins over "auto".

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
