"""Quiet command output: TensorFlow's INFO logs off while a command imports it.

The commands (`pixel_rnn_tf.cli`) show Keras's progress bar and their
results, not TensorFlow's and XLA's INFO logs: `quiet_tensorflow_import`
runs before TensorFlow is imported (TF reads its log level once, at import)
and keeps INFO lines out of stderr. absl's own `--verbosity` flag brings
them back: with `--verbosity=0` (INFO) or more, nothing is hidden.

Python imports `pixel_rnn_tf` (which imports TensorFlow) before any module
of `pixel_rnn_tf.cli`, both for `python -m pixel_rnn_tf.cli.<name>` and for
the console scripts, so the package calls `quiet_tensorflow_import` first.
In a process that is not one of the commands it returns at once, touching
no file descriptor. Only the standard library is imported here.
"""

import logging
import os
import re
import sys
import tempfile

# Console script -> module of this package (the scripts of setup.cfg).
COMMANDS = {
    "pixel-rnn-train": "train",
    "pixel-rnn-sample": "sample",
    "pixel-rnn-evaluate": "evaluate",
    "pixel-rnn-export": "export",
    "pixel-rnn-compress": "compress",
    "pixel-rnn-decompress": "decompress",
}
# Scripts that run a command from a file: export/'s older path of the export CLI.
_SCRIPT_FILES = {"export_saved_model.py": "export"}
_VERBOSITY_FLAG = re.compile(r"--?(?:verbosity|v)(?:=(.*))?")
# TF's C++ log level: 1 hides INFO and keeps warnings and errors.
_QUIET_CPP_LEVEL = "1"
# What TF's shared libraries print before absl's log is initialized (no
# environment variable silences these): the notice and INFO lines.
_INFO_LINE = re.compile(
    r"I\d{4} |WARNING: All log messages before absl::InitializeLog\(\) is called"
)


def verbosity(argv):
    """absl's `--verbosity` (or `-v`) in `argv`, read before absl parses flags.

    Args:
      argv: the command line, `sys.argv`.

    Returns:
      The last value given, or None where none is (or it is not an int:
      absl then reports it).
    """
    value = None
    args = list(argv[1:])
    for index, arg in enumerate(args):
        if arg == "--":
            break
        match = _VERBOSITY_FLAG.fullmatch(arg)
        if not match:
            continue
        text = match.group(1)
        if text is None:
            text = args[index + 1] if index + 1 < len(args) else ""
        try:
            value = int(text)
        except ValueError:
            value = None
    return value


def started_command(argv=None, orig_argv=None):
    """The command this process runs (a key of `COMMANDS`' values), or None.

    A command starts as a console script (`argv[0]` is its name), as
    `python export/export_saved_model.py`, or as
    `python -m pixel_rnn_tf.cli.<name>` (while Python imports the package,
    `argv[0]` is "-m"; `orig_argv` holds the module name).
    """
    argv = sys.argv if argv is None else argv
    orig_argv = getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv
    if not argv:
        return None
    script = os.path.basename(argv[0])
    if script.endswith(".exe"):
        script = script[: -len(".exe")]
    if script in COMMANDS:
        return COMMANDS[script]
    if script in _SCRIPT_FILES:
        return _SCRIPT_FILES[script]
    if argv[0] == "-m" and "-m" in orig_argv[:-1]:
        module = orig_argv[orig_argv.index("-m") + 1]
        package, _, name = module.rpartition(".")
        if package == "pixel_rnn_tf.cli" and name in COMMANDS.values():
            return name
    return None


def quiet_tensorflow_import(argv=None):
    """Imports TensorFlow with its INFO logs off, when a command runs quietly.

    Does nothing unless this process is one of the commands
    (`started_command`) run without absl's `--verbosity` or with it below 0
    (WARNING), or where TensorFlow is imported already. Otherwise it sets TF's C++
    log level (`TF_CPP_MIN_LOG_LEVEL`, unless set; it also governs XLA's
    logs), imports TensorFlow with stderr caught and written back without
    the INFO lines its libraries print before any setting applies, and sets
    the `tensorflow` Python logger and absl's (the SavedModel writer's
    signature-serialization and asset notices) to WARNING.
    """
    argv = sys.argv if argv is None else argv
    if "tensorflow" in sys.modules or started_command(argv) is None:
        return
    level = verbosity(argv)
    if level is not None and level >= 0:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", _QUIET_CPP_LEVEL)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow  # noqa: F401  (its shared libraries log as they load)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines(keepends=True):
                if not _INFO_LINE.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    # TF's SavedModel writer logs through absl, whose level app.run sets
    # from --verbosity (INFO when absent): lowered once app.run is done.
    from absl import app
    from absl import logging as absl_logging

    app.call_after_init(lambda: absl_logging.set_verbosity(absl_logging.WARNING))
