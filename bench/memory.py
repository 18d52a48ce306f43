"""Peak memory of a benchmark row: the GPU's where there is one, else the process's."""

import resource
import sys

import tensorflow as tf


def _gpu():
    return "GPU:0" if tf.config.list_physical_devices("GPU") else None


def reset():
    """Starts a new peak where the device allows it (a GPU); a CPU process's
    peak RSS only grows, so rows measured later include earlier ones'."""
    if _gpu():
        tf.config.experimental.reset_memory_stats(_gpu())


def peak():
    """`(bytes, what)`: the peak since `reset` on the GPU, else the process's peak RSS."""
    if _gpu():
        return tf.config.experimental.get_memory_info(_gpu())["peak"], "GPU peak"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss * (1 if sys.platform == "darwin" else 1024), "process peak RSS"


def formatted():
    """The peak as `"1.23 GiB (GPU peak)"`."""
    size, what = peak()
    return f"{size / 2**30:.2f} GiB ({what})"
