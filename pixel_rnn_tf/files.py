"""Files that are never lost: atomic writes, no-replace renames, the run lock.

Everything a run or an export writes goes through here, so the guarantees
of BUILD.md ("What is guaranteed") hold in one place:

* `atomic_write`: a file is the old one or the whole new one, never a part.
  A job killed midway leaves at most a `.tmp-*` file, which no reader takes
  for a result and `remove_temporaries` deletes under the run lock.
* `rename_no_replace` and `exchange`: a directory is moved onto a name that
  must not exist yet (two exports never take the same version), or swapped
  with the one there (an overwritten version is never missing).
* `DirectoryLock`: an output directory belongs to one process at a time. The
  lock is `fcntl.flock` on a file inside it, so it dies with the process
  (even under `kill -9`) and a later run never has to remove it.
* `locked_temporary_directory` and `remove_stale_temporary_directories`: a
  work directory (an export's) is locked while in use, so the leftovers of
  killed processes can be deleted while other processes work beside them.
* `ensure_writable_directory`: a bad output path fails before any work.

`set_write_hook` lets a caller see each write complete (the fault-injection
tests, tests/test_faults.py, kill a run there with SIGKILL); none is set
unless a caller sets one.

Only the standard library is imported: a subprocess can load this module
without TensorFlow.
"""

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile

TEMP_PREFIX = ".tmp-"  # Every temporary name starts with it; no result does.
LOCK_NAME = ".lock"
_LOCK_SUFFIX = ".lock"  # Of the lock file beside a temporary directory.

WRITE_KINDS = ("backup", "model", "samples", "results", "export")
_write_hook = None  # `set_write_hook`'s.

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


class DirectoryInUseError(RuntimeError):
    """Another process holds the lock of a directory."""


class UnusableDirectoryError(ValueError):
    """A path given as an output directory is a file or cannot be written."""


def umask():
    """The process's umask (reading it means setting it; restored at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _file_mode(path):
    """The mode of the file at `path`, or of a new file under the process's umask."""
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o7777
    return 0o666 & ~umask()


def write_kind(path):
    """The kind of a run's file, for the write hook: one of `WRITE_KINDS`."""
    name = os.path.basename(path)
    if os.path.basename(os.path.dirname(os.path.abspath(path))) == "backup":
        return "backup"  # The weights and backup.json of `AtomicBackupAndRestore`.
    if name.endswith(".keras"):
        return "model"
    if name.endswith(".png"):
        return "samples"
    return "results"


def set_write_hook(hook):
    """Sets the process's write hook, `hook(kind, when)`; None removes it.

    The hook is called right before (`when="before"`) and right after
    (`"after"`) the rename that completes each `atomic_write` (`kind`:
    `write_kind` of its path) and each `rename_no_replace` (`kind`:
    "export"), so a caller can act at an exact point of a run; the
    fault-injection tests kill the process there.

    Returns:
      The hook it replaces.
    """
    global _write_hook
    previous, _write_hook = _write_hook, hook
    return previous


def _call_write_hook(kind, when):
    if _write_hook is not None:
        _write_hook(kind, when)


def atomic_write(path, write):
    """Calls `write(temporary_path)`, then renames the result onto `path`.

    A rename within one directory is atomic, so `path` is either the old
    file or the whole new one, never a part: a job killed midway leaves at
    most a stray `.tmp-*` file, which is removed when the write fails. The
    file gets the permissions a plain `open` would give it (or keeps those
    of the file it replaces), not `mkstemp`'s owner-only ones.

    Returns:
      `path`.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = "." + os.path.basename(path).split(".", 1)[-1]  # Keras checks extensions.
    handle, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=directory)
    os.close(handle)
    kind = write_kind(path)
    try:
        write(temporary)
        os.chmod(temporary, _file_mode(path))
        _call_write_hook(kind, "before")
        os.replace(temporary, path)
        _call_write_hook(kind, "after")
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def _renameat2(source, target, flags):
    """Linux's `renameat2`; False where the system or file system lacks it."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # An old kernel or a file system without the flag.
    raise OSError(code, os.strerror(code), source, None, target)


def rename_no_replace(source, target):
    """Renames `source` onto `target`, which must not exist.

    Its users are exports (a version directory); the write hook sees
    each call as a write of kind "export".

    Raises:
      FileExistsError: `target` exists (it is left untouched).
    """
    _call_write_hook("export", "before")
    _rename_no_replace(source, target)
    _call_write_hook("export", "after")


def _rename_no_replace(source, target):
    try:
        if _renameat2(source, target, _RENAME_NOREPLACE):
            return
    except OSError as error:
        if error.errno == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "Exists", target) from None
        raise
    # Without renameat2: a directory renamed onto another fails when that
    # one is not empty (POSIX), so a concurrent export's whole version is
    # never replaced; at worst an empty directory of that name is.
    if os.path.lexists(target) and not os.path.isdir(target):
        raise FileExistsError(errno.EEXIST, "Exists", target)
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(errno.EEXIST, "Exists", target) from None
        raise


def exchange(source, target):
    """Swaps two existing paths, so `target` is never missing (`renameat2`).

    Returns:
      True when swapped atomically; False where the system cannot, and
      nothing was moved.
    """
    return _renameat2(source, target, _RENAME_EXCHANGE)


def ensure_writable_directory(path, name):
    """Creates directory `path` if needed and checks a file can be written in it.

    Done before anything slow (data loading, training, an export), so a bad
    `output_dir` or `export_base` fails at once.

    Args:
      path: the directory.
      name: the argument's name, for the message.

    Returns:
      `path`.

    Raises:
      UnusableDirectoryError: `path` (or a parent) is a file, or cannot be
        created or written.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UnusableDirectoryError(
            f"Expected `{name}` to be a directory. Received: {name}={path!r}, which is a file."
        )
    try:
        os.makedirs(path, exist_ok=True)
        # os.access is no test for root or a read-only mount: write a file.
        handle, probe = tempfile.mkstemp(prefix=TEMP_PREFIX + "probe-", dir=path)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise UnusableDirectoryError(
            f"Expected `{name}` to be a writable directory. Received: {name}={path!r} "
            f"({error.strerror or error})."
        ) from error
    return path


class DirectoryLock:
    """An exclusive lock on a directory for the life of a process (`fcntl.flock`).

    The lock is held on an open file `<directory>/.lock`; the operating
    system releases it when the process ends, however it ends, so a lock
    is never stale. The file holds the owner's process id, for the message
    of the process that is refused.

    Example:
      ```python
      with DirectoryLock("runs/demo"):
          ...  # No other process can lock runs/demo here.
      ```

    Args:
      directory: created if missing.
      what: what the directory is, for the message ("output directory").
    """

    def __init__(self, directory, what="output directory"):
        self.directory = os.fspath(directory)
        self.what = what
        self.path = os.path.join(self.directory, LOCK_NAME)
        self._fd = None

    @property
    def locked(self):
        return self._fd is not None

    def acquire(self):
        """Takes the lock at once, or raises `DirectoryInUseError`."""
        if self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~umask())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DirectoryInUseError(
                f"The {self.what} {self.directory} is in use by another run (process "
                f"{owner}). Wait for it to end, or choose another directory."
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # Closing the descriptor releases the flock.
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def remove_temporaries(directory, keep_prefixes=()):
    """Deletes the `.tmp-*` files directly in `directory` (leftovers of kills).

    Call it only while holding the directory's `DirectoryLock`: then no
    other process is writing them. Directories are left alone (an export's
    temporary directories clean themselves, see `serving`).

    Args:
      directory: a directory; missing is fine.
      keep_prefixes: names starting with one of these are kept.

    Returns:
      The names removed.
    """
    if not os.path.isdir(directory):
        return []
    removed = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if (
            name.startswith(TEMP_PREFIX)
            and not name.startswith(tuple(keep_prefixes))
            and os.path.isfile(path)
            and not os.path.islink(path)
        ):
            try:
                os.remove(path)
                removed.append(name)
            except FileNotFoundError:
                pass
    return removed



@contextlib.contextmanager
def locked_temporary_directory(parent, prefix):
    """A new directory `<parent>/<prefix>*`, locked while in use, deleted after.

    Its lock is a file beside it, `<name>.lock`, held with `flock` from
    before the directory exists until after it is gone, so
    `remove_stale_temporary_directories` can tell the directory of a live
    process (locked) from the leftover of a killed one (unlocked, or no
    lock file at all).

    Yields:
      The directory's path (mode 0700; move what it holds out of it).
    """
    while True:
        fd, lock_path = tempfile.mkstemp(prefix=prefix, suffix=_LOCK_SUFFIX, dir=parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = lock_path[: -len(_LOCK_SUFFIX)]
        try:
            # A cleaner may have taken the new file for a stale one and
            # deleted it before this process locked it: then start again.
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                os.mkdir(path, 0o700)
                break
        except (FileNotFoundError, FileExistsError):
            pass
        os.close(fd)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)  # The directory goes first, the lock last.
        try:
            os.remove(lock_path)
        except FileNotFoundError:
            pass
        os.close(fd)


def remove_stale_temporary_directories(parent, prefix):
    """Deletes the leftovers of killed `locked_temporary_directory` users.

    A directory whose lock file is unlocked (its process died) or missing
    (a leftover of an older layout) is deleted; a locked one is in use and
    kept. Safe to call while other processes create and use theirs.

    Returns:
      The names of the directories removed.
    """
    if not os.path.isdir(parent):
        return []
    removed = []
    for name in sorted(os.listdir(parent)):
        if not name.startswith(prefix):
            continue
        path = os.path.join(parent, name)
        if name.endswith(_LOCK_SUFFIX):
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue  # Gone meanwhile.
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # A live process holds it.
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue  # Replaced meanwhile.
                directory = path[: -len(_LOCK_SUFFIX)]
                if os.path.isdir(directory):
                    shutil.rmtree(directory, ignore_errors=True)
                    removed.append(os.path.basename(directory))
                os.remove(path)
            except OSError:
                continue
            finally:
                os.close(fd)
        elif os.path.isdir(path) and not os.path.lexists(path + _LOCK_SUFFIX):
            # The lock file is made before the directory and removed after
            # it, so a directory without one belongs to no live process.
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    return removed
