"""Checks of an output target, before anything is written (used by gmmkit.outputs).

:func:`check_target` is public as ``gmmkit.outputs.check_target``; the
messages name the user's path.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from gmmkit.engine.types import PathLike

#: an OSError class
E = TypeVar("E", bound=OSError)

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def check_target(
    path: PathLike,
    *,
    inputs: Iterable[PathLike | None] = (),
    overwrite: bool = False,
    replaceable: Callable[[Path], bool] | None = None,
    kind: str | None = None,
    force_hint: str = "pass overwrite=True to replace it",
    directory: bool = False,
) -> Path:
    """Check that ``path`` is a safe place to write an output; return where it goes.

    Parameters
    ----------
    path : str or os.PathLike
        The user's path.
    inputs : iterable of str or os.PathLike, optional
        The command's input paths; the target must not be any of them (paths
        that do not exist, such as bundled data set names, are skipped).
    overwrite : bool, default=False
        Allow replacing an existing regular file (a read-only one is still
        refused).
    replaceable : callable, optional
        ``replaceable(path) -> bool``: an existing regular file for which it
        returns True is replaced even without ``overwrite`` (``gmmkit.save``
        replaces gmmkit model files).
    kind : str, optional
        What ``replaceable`` accepts, for the message ("a gmmkit model file").
    force_hint : str
        The fix named when an existing file is refused.
    directory : bool, default=False
        The output is a folder of files: an existing empty folder is
        accepted, a non-empty one only with ``overwrite``.

    Returns
    -------
    pathlib.Path
        The absolute target, symbolic links resolved.

    Raises
    ------
    ValueError
        Empty path; a device, FIFO or socket; one of the inputs.
    IsADirectoryError, NotADirectoryError
        A directory where a file is written, or the other way round.
    FileExistsError
        The target exists and may not be replaced.
    FileNotFoundError
        Its directory does not exist.
    PermissionError
        The target is read-only, or its directory is not writable.
    """
    name = _name(path)
    if not directory and name.endswith(os.sep):
        raise os_error(IsADirectoryError, errno.EISDIR,
                     f"'{name}' names a directory (it ends with '{os.sep}'); give a file path")
    target = Path(os.path.realpath(name))
    status = _status(target, name)
    if status is not None:
        _check_existing(name, target, status, inputs, overwrite, replaceable, kind, force_hint,
                        directory)
    _check_directory(name, target.parent)
    return target


def os_error(kind: type[E], code: int | None, message: str) -> E:
    """An OSError of class ``kind`` whose text is ``message`` alone, with ``errno`` set."""
    exc = kind(message)
    exc.errno = code
    return exc


def _name(path: PathLike | None) -> str:
    if path is None:
        raise ValueError("the output path is None; give a file path")
    name = os.fsdecode(path)
    if not name.strip():
        raise ValueError(f"the output path {name!r} is empty; give a file path")
    if "\0" in name:
        raise ValueError(f"the output path {name!r} holds a NUL character; give a file path")
    return name


def _status(target: Path, name: str) -> os.stat_result | None:
    """os.stat of the target (None when it does not exist)."""
    try:
        return target.stat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        message = f"cannot write '{name}': a part of its path is a file, not a directory"
        raise os_error(NotADirectoryError, errno.ENOTDIR, message) from None
    except OSError as exc:
        raise os_error(type(exc), exc.errno, f"cannot write '{name}': {exc.strerror}") from None


def _check_existing(
    name: str,
    target: Path,
    status: os.stat_result,
    inputs: Iterable[PathLike | None],
    overwrite: bool,
    replaceable: Callable[[Path], bool] | None,
    kind: str | None,
    force_hint: str,
    directory: bool,
) -> None:
    mode = status.st_mode
    if directory:
        if not stat.S_ISDIR(mode):
            raise os_error(NotADirectoryError, errno.ENOTDIR,
                         f"'{name}' exists and is not a directory; give a folder path")
    elif stat.S_ISDIR(mode):
        raise os_error(IsADirectoryError, errno.EISDIR,
                       f"'{name}' is a directory; give a file path")
    elif not stat.S_ISREG(mode):
        what = next((text for test, text in _KINDS if test(mode)), "not a regular file")
        raise ValueError(
            f"'{name}' is {what}, not a regular file; gmmkit writes outputs only to regular "
            "files: give a file path"
        )
    for source in inputs:
        if source is not None and _same_file(target, source):
            shown = os.fsdecode(source)
            same = "" if shown == name else f" (the same file as the input '{shown}')"
            raise ValueError(
                f"'{name}' is an input of this command{same}; writing it would destroy the "
                "input: write the output to another file"
            )
    if not _writable(status):
        raise os_error(
            PermissionError, errno.EACCES,
            f"'{name}' is read-only (mode {stat.S_IMODE(mode):04o}, owner uid {status.st_uid}); "
            "gmmkit does not replace it: write to another file, or make it writable first",
        )
    if directory and not any(target.iterdir()):
        return
    if overwrite or (replaceable is not None and replaceable(target)):
        return
    held = "exists and is not empty" if directory else "already exists"
    if kind is not None:
        held += f" and is not {kind}"
    raise os_error(FileExistsError, errno.EEXIST, f"'{name}' {held}; {force_hint}")


def _same_file(target: Path, source: PathLike) -> bool:
    try:
        return os.path.samefile(target, os.fsdecode(source))
    except (OSError, ValueError):
        return False


def _writable(status: os.stat_result) -> bool:
    """Writable by its permission bits for this process (root's override not counted)."""
    mode = status.st_mode
    if status.st_uid == os.geteuid():
        return bool(mode & stat.S_IWUSR)
    if status.st_gid == os.getegid() or status.st_gid in os.getgroups():
        return bool(mode & stat.S_IWGRP)
    return bool(mode & stat.S_IWOTH)


def _check_directory(name: str, parent: Path) -> None:
    shown = os.path.dirname(name.rstrip(os.sep)) or "."
    if not parent.exists():
        raise os_error(
            FileNotFoundError, errno.ENOENT,
            f"cannot write '{name}': the directory '{shown}' does not exist; create it first",
        )
    if not parent.is_dir():
        raise os_error(NotADirectoryError, errno.ENOTDIR,
                     f"cannot write '{name}': '{shown}' is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise os_error(PermissionError, errno.EACCES,
                     f"cannot write '{name}': the directory '{shown}' is not writable")
