"""What the commands that write files or draw random numbers share: outputs, --force, --seed.

Public through :mod:`gmmkit.cli` (plugins' commands use them too):

- :func:`command_outputs` checks every output of a command before its work
  starts (a bad target is a usage error naming its option) and writes
  them all or none (:class:`gmmkit.outputs.Outputs`);
- :func:`force_option` adds ``--force``, :func:`seed_option` adds ``--seed``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, overload

import click

from gmmkit.outputs import Outputs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from gmmkit.cli.options import FC
    from gmmkit.engine.types import PathLike
    from gmmkit.outputs import OutputFile

#: the fix named when an output exists
FORCE_HINT = "pass --force to replace it"
#: figure formats matplotlib writes by suffix
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".svgz", ".eps", ".ps", ".jpg", ".jpeg", ".tif",
                   ".tiff", ".webp")
#: the seeds numpy accepts everywhere (RandomState too): 0 .. 2**32 - 1
SEED = click.IntRange(0, 2**32 - 1)


def force_option(function: FC) -> FC:
    """``--force``: replace output files that exist (never an input, a folder or a device)."""
    return click.option(
        "--force", is_flag=True,
        help="Replace output files that already exist (never an input, a read-only file, "
             "a directory or a device).",
    )(function)


def seed_option(default: int | None = 0,
                help: str = "Seed of the random starts (0 .. 2**32 - 1): the same seed gives "
                            "the same result.") -> Callable[[FC], FC]:
    """``--seed N``: an integer 0 .. 2**32 - 1; anything else is a usage error naming --seed."""
    return click.option("--seed", default=default, show_default=default is not None, type=SEED,
                        help=help)


class CommandOutputs(Outputs):
    """The outputs of one click command (see :func:`command_outputs`)."""

    @overload
    def file(
        self,
        path: PathLike,
        param: str | None = None,
        *,
        directory: bool = False,
        suffixes: Sequence[str] | None = None,
    ) -> OutputFile: ...

    @overload
    def file(
        self,
        path: None,
        param: str | None = None,
        *,
        directory: bool = False,
        suffixes: Sequence[str] | None = None,
    ) -> None: ...

    @overload
    def file(
        self,
        path: PathLike | None,
        param: str | None = None,
        *,
        directory: bool = False,
        suffixes: Sequence[str] | None = None,
    ) -> OutputFile | None: ...

    def file(
        self,
        path: PathLike | None,
        param: str | None = None,
        *,
        directory: bool = False,
        suffixes: Sequence[str] | None = None,
    ) -> OutputFile | None:
        """Check the target of the option called ``param``; see :meth:`Outputs.file`.

        Parameters
        ----------
        path : str or None
            The option's value (None: not given, nothing to write).
        param : str
            The click parameter's name (``"output"``, ``"plot_path"``): a
            problem with the target is a usage error (exit 2) naming it.
        directory : bool, default=False
            The output is a folder of files.
        suffixes : tuple of str, optional
            The suffixes the writer understands (".png", ".npy"): another
            one is refused now, not after the work.

        Returns
        -------
        gmmkit.outputs.OutputFile, OutputDirectory or None
        """
        try:
            if path is not None and suffixes and Path(path).suffix.lower() not in suffixes:
                raise ValueError(
                    f"cannot write '{path}': give a file ending in {', '.join(suffixes)}"
                )
            return super().file(path, directory=directory)
        except (ValueError, OSError) as exc:
            raise _usage_error(exc, param) from None

    @overload
    def directory(self, path: PathLike, param: str | None = None) -> OutputFile: ...

    @overload
    def directory(self, path: None, param: str | None = None) -> None: ...

    @overload
    def directory(self, path: PathLike | None, param: str | None = None) -> OutputFile | None: ...

    def directory(self, path: PathLike | None, param: str | None = None) -> OutputFile | None:
        """A folder of output files; see :meth:`file`."""
        return self.file(path, param, directory=True)

    @overload
    def figure(self, path: PathLike, param: str | None = None) -> OutputFile: ...

    @overload
    def figure(self, path: None, param: str | None = None) -> None: ...

    @overload
    def figure(self, path: PathLike | None, param: str | None = None) -> OutputFile | None: ...

    def figure(self, path: PathLike | None, param: str | None = None) -> OutputFile | None:
        """A matplotlib figure file: its suffix must name a format matplotlib writes.

        matplotlib chooses the format by the suffix (and appends ``.png`` to
        a name without one), so a missing or unknown suffix is refused now.
        """
        return self.file(path, param, suffixes=FIGURE_SUFFIXES)


def _usage_error(exc: BaseException, param: str | None) -> click.BadParameter:
    ctx = click.get_current_context(silent=True)
    option = None
    if ctx is not None:
        option = next((p for p in ctx.command.params if p.name == param), None)
    return click.BadParameter(str(exc), ctx=ctx, param=option,
                              param_hint=None if option is not None else param)


def command_outputs(
    force: bool, *inputs: PathLike | list[PathLike] | tuple[PathLike, ...] | None
) -> CommandOutputs:
    """The outputs of the running command: checked now, written together at ``commit()``.

    Call it first in a command; add every output with ``.file(path,
    "param_name")`` before the long work, write each to its
    ``.temporary`` (or with ``.write(writer)``), and call ``.commit()``
    when the command has succeeded. If the command fails before, the
    temporaries are removed when the click context closes: no output is
    left behind and no target is touched.

    Parameters
    ----------
    force : bool
        The command's ``--force``: replace targets that exist.
    *inputs : str or None
        The command's inputs (DATA, MODEL, ...): no output may be one of
        them. ``file.npz:key`` counts as ``file.npz``; names that are not
        files (bundled data sets) are ignored.

    Returns
    -------
    CommandOutputs
    """
    paths = []
    for source in inputs:
        if source is None:
            continue
        if isinstance(source, (list, tuple)):
            paths += [os.fsdecode(s) for s in source]
            continue
        text = os.fsdecode(source)
        paths.append(text)
        if ":" in text:
            paths.append(text.rsplit(":", 1)[0])
    outputs = CommandOutputs(inputs=paths, overwrite=force, force_hint=FORCE_HINT)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(outputs.abort)
    return outputs
