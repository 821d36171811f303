"""Outputs that never destroy data: checked targets, atomic writes, all-or-nothing commands.

Every file gmmkit writes (model files, CSV, images, plots, folders of
masks) goes through this module, and plugins' commands use it too:

- :func:`check_target` refuses a path that is empty, that is not a
  regular file (a directory, a character or block device, a FIFO, a
  socket), that is one of the command's inputs (also through symbolic and
  hard links), that is read-only for the user by its permission bits (also
  for root, who could write it anyway), that exists unless replacing it is
  allowed, or whose directory does not exist or cannot be written.
- :func:`atomic_write` writes one file under a hidden temporary name in
  the target's directory, fsyncs it, renames it over the target and fsyncs
  the directory, so the target is either the old file or the whole new one.
- :class:`Outputs` is a transaction for a command with several outputs:
  every target is checked before the work starts, the outputs are written
  under temporary names and renamed into place together when the command
  succeeds; when it fails, none of them is left behind.

A symbolic link as target is followed: the file it points to is replaced
and the link stays. Errors name the user's path, never the temporary file.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal, TypeVar, overload

from gmmkit.outputs.checks import check_target, os_error

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path
    from types import TracebackType

    from gmmkit.engine.types import PathLike

#: what a writer returns
T = TypeVar("T")

__all__ = ["OutputDirectory", "OutputFile", "Outputs", "atomic_write", "check_target"]


# ------------------------------------------------------------- one output


class OutputFile:
    """One output of a command: a checked target and the temporary path to write.

    Write the output to :attr:`temporary` (it does not exist yet: create it,
    e.g. ``open(out.temporary, "wb")``, ``numpy.save``, ``figure.savefig``);
    :meth:`Outputs.commit` moves it into place. Its suffix is the
    target's (in lower case), so writers that choose the format by suffix
    (matplotlib, imageio, ``numpy.save``) write exactly this path.

    Attributes
    ----------
    path : str
        The user's path.
    target : pathlib.Path
        Where the file ends up (absolute, symbolic links resolved).
    temporary : pathlib.Path
        Where to write it now.
    """

    is_directory = False

    def __init__(self, path: PathLike, target: Path) -> None:
        self.path = os.fsdecode(path)
        self.target = target
        self.temporary = _probe(self.path, target, directory=self.is_directory)
        self.skipped = False

    def skip(self) -> None:
        """This output will not be written after all: commit leaves its target alone."""
        self.skipped = True
        self._discard()

    def write(self, writer: Callable[[Path], T]) -> T:
        """Call ``writer(self.temporary)``; errors that name the temporary name the path instead."""
        try:
            return writer(self.temporary)
        except BaseException as exc:
            raise _renamed(exc, self.temporary, self.path) from None

    def _publish(self) -> bool:
        """Move the written temporary into place; False when it was skipped."""
        if self.skipped:
            return False
        if not os.path.isfile(self.temporary):
            raise os_error(FileNotFoundError, errno.ENOENT,
                         f"nothing was written to '{self.path}' (a writer wrote another file?)")
        _fsync(self.temporary)
        _keep_mode(self.temporary, self.target)
        os.replace(self.temporary, self.target)
        return True

    def _discard(self) -> None:
        try:
            os.unlink(self.temporary)
        except FileNotFoundError:
            pass


class OutputDirectory(OutputFile):
    """A folder of output files (``gmmkit image background -o``, ``gmmkit demo --out``).

    :attr:`temporary` is an empty folder that exists: write the files into
    it. On commit it becomes the target folder; into an existing non-empty
    folder (allowed with ``--force``) its files are moved one by one,
    replacing files of the same name and leaving the others.
    """

    is_directory = True

    def _publish(self) -> bool:
        if self.skipped:
            return False
        entries = sorted(self.temporary.iterdir())
        for entry in entries:
            if entry.is_file():
                _fsync(entry)
        if not self.target.exists() or not any(self.target.iterdir()):
            os.replace(self.temporary, self.target)  # onto an empty folder: allowed by rename(2)
        else:
            for entry in entries:
                os.replace(entry, self.target / entry.name)
            self.temporary.rmdir()
        _fsync_directory(self.target)
        return True

    def _discard(self) -> None:
        import shutil

        shutil.rmtree(self.temporary, ignore_errors=True)


def _probe(name: str, target: Path, *, directory: bool) -> Path:
    """A free temporary path beside ``target``, after proving the folder takes new files."""
    stem, suffix = (target.name, "") if directory else (target.stem, target.suffix)
    temporary = target.with_name(f".{stem[:64]}.{secrets.token_hex(4)}.tmp{suffix[:16].lower()}")
    try:
        if directory:
            temporary.mkdir()
        else:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            os.unlink(temporary)
    except OSError as exc:
        raise os_error(type(exc), exc.errno, f"cannot write '{name}': {exc.strerror}") from None
    return temporary


def _renamed(exc: BaseException, temporary: Path, name: str) -> BaseException:
    """``exc`` with the temporary path replaced by the user's ``name`` in its message."""
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.strerror is None:  # one of ours: it names the user's path already
            return exc
        return os_error(type(exc), exc.errno, f"cannot write '{name}': {exc.strerror}")
    text = str(exc)
    hidden = {str(temporary), os.fspath(temporary.name)}
    if not any(part in text for part in hidden):
        return exc
    for part in sorted(hidden, key=len, reverse=True):
        text = text.replace(part, name)
    try:
        return type(exc)(text)
    except Exception:  # noqa: BLE001 - an exception type with another signature
        return exc


def _fsync(path: PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: PathLike) -> None:
    """fsync a folder so a rename in it survives a crash (where the system allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_mode(temporary: Path, target: Path) -> None:
    """A replaced file keeps its permission bits."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return
    os.chmod(temporary, mode)


# ------------------------------------------------------------ transaction


class Outputs:
    """The outputs of one command, written all together or not at all.

    Use it as a context manager: add every output first (each is checked
    at once, before the long work), write each to its temporary path, and
    leave the block; the outputs are then moved into place. If the block
    raises, every temporary is removed and no target is touched::

        with Outputs(inputs=[data_path]) as outputs:
            model = outputs.file("model.gmm")
            plot = outputs.file("bic.png")
            ...                                       # the long work
            gmmkit.save(best, model.temporary)
            figure.savefig(plot.temporary)

    Parameters
    ----------
    inputs : iterable of str or os.PathLike, optional
        The command's inputs: no output may be one of them.
    overwrite : bool, default=False
        Replace targets that exist (``--force``).
    force_hint : str
        The fix named when a target exists.
    """

    def __init__(
        self,
        *,
        inputs: Iterable[PathLike | None] = (),
        overwrite: bool = False,
        force_hint: str = "pass overwrite=True to replace it",
    ) -> None:
        self.inputs = [source for source in inputs if source is not None]
        self.overwrite = overwrite
        self.force_hint = force_hint
        self._outputs: list[OutputFile] = []

    @overload
    def file(self, path: PathLike, *, directory: bool = False) -> OutputFile: ...

    @overload
    def file(self, path: None, *, directory: bool = False) -> None: ...

    @overload
    def file(self, path: PathLike | None, *, directory: bool = False) -> OutputFile | None: ...

    def file(self, path: PathLike | None, *, directory: bool = False) -> OutputFile | None:
        """Check one output target and reserve its temporary path.

        Parameters
        ----------
        path : str, os.PathLike or None
            None (an option not given) returns None.
        directory : bool, default=False
            The output is a folder of files (:class:`OutputDirectory`).

        Returns
        -------
        OutputFile, OutputDirectory or None

        Raises
        ------
        ValueError, OSError
            As :func:`check_target`, or when two outputs are the same file.
        """
        if path is None:
            return None
        target = check_target(path, inputs=self.inputs, overwrite=self.overwrite,
                              force_hint=self.force_hint, directory=directory)
        for other in self._outputs:
            if other.target == target:
                raise ValueError(
                    f"'{os.fsdecode(path)}' is given for two outputs (also as '{other.path}'); "
                    "give each output its own file"
                )
        output = (OutputDirectory if directory else OutputFile)(path, target)
        self._outputs.append(output)
        return output

    @overload
    def directory(self, path: PathLike) -> OutputFile: ...

    @overload
    def directory(self, path: None) -> None: ...

    @overload
    def directory(self, path: PathLike | None) -> OutputFile | None: ...

    def directory(self, path: PathLike | None) -> OutputFile | None:
        """Same as ``file(path, directory=True)``."""
        return self.file(path, directory=True)

    def commit(self) -> None:
        """Move every output into place (except those skipped with ``OutputFile.skip()``).

        Raises
        ------
        FileNotFoundError
            When an output was neither written nor skipped.
        """
        folders = set()
        try:
            for output in self._outputs:
                try:
                    if output._publish():
                        folders.add(output.target.parent)
                except OSError as exc:
                    raise _renamed(exc, output.temporary, output.path) from None
        finally:
            self.abort()
        for folder in folders:
            _fsync_directory(folder)

    def abort(self) -> None:
        """Remove every temporary; the targets stay as they were."""
        for output in self._outputs:
            output._discard()
        self._outputs = []

    def __enter__(self) -> Outputs:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if kind is None:
            self.commit()
        else:
            self.abort()
        return False


@contextmanager
def atomic_write(
    path: PathLike,
    *,
    overwrite: bool = False,
    replaceable: Callable[[Path], bool] | None = None,
    kind: str | None = None,
    inputs: Iterable[PathLike | None] = (),
    force_hint: str = "pass overwrite=True to replace it",
) -> Iterator[Path]:
    """``with atomic_write(path) as temporary:`` write one file, all or nothing.

    The target is checked first (:func:`check_target`, with the same
    arguments). Write the file to ``temporary`` (a path in the target's
    directory that does not exist yet, with the target's suffix); when the
    block ends without an error, the file is fsynced, renamed over the
    target (keeping an existing target's permission bits) and the directory
    is fsynced. When the block raises, the temporary is removed and the
    target is untouched. Errors name ``path``, never the temporary.

    Yields
    ------
    pathlib.Path
    """
    target = check_target(path, inputs=inputs, overwrite=overwrite, replaceable=replaceable,
                          kind=kind, force_hint=force_hint)
    transaction = Outputs()
    output = OutputFile(path, target)
    transaction._outputs.append(output)
    try:
        yield output.temporary
    except BaseException as exc:
        transaction.abort()
        renamed = _renamed(exc, output.temporary, output.path)
        if renamed is exc:
            raise
        raise renamed from None
    transaction.commit()
