"""The options every command spells the same way: --json, -q/--quiet, -o/--output.

Public through :mod:`gmmkit.cli.helpers` (plugins' commands use them too).
Each option is made by a :class:`SharedOption` subclass, so a test can check
that no command defines its own ``--json``; :func:`echo_json` prints what a
``--json`` run prints: strict JSON, with NaN and infinities as null.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, TypeVar, Union, overload

import click

#: a command function (or a click command) that an option decorates
FC = TypeVar("FC", bound=Union[Callable[..., Any], click.Command])


class SharedOption(click.Option):
    """A click option made by one of this module's factories (a marker class)."""


class JsonOption(SharedOption):
    """``--json`` (see :func:`json_option`)."""


class QuietOption(SharedOption):
    """``-q/--quiet`` (see :func:`quiet_option`)."""


class OutputOption(SharedOption):
    """``-o/--output`` (see :func:`output_option`)."""


@overload
def json_option(what: FC) -> FC: ...


@overload
def json_option(what: str = "the result") -> Callable[[FC], FC]: ...


def json_option(what: str | FC = "the result") -> FC | Callable[[FC], FC]:
    """``--json`` (parameter ``as_json``): print ``what`` as JSON on stdout.

    Use as ``@json_option("the summary")`` (help: "Print the summary as
    JSON."), or bare ``@json_option`` for "the result". The command prints
    with :func:`echo_json`.
    """
    if callable(what):  # used bare: @json_option
        return json_option()(what)
    return click.option("--json", "as_json", is_flag=True, cls=JsonOption,
                        help=f"Print {what} as JSON.")


@overload
def quiet_option(what: FC) -> FC: ...


@overload
def quiet_option(what: str = "progress") -> Callable[[FC], FC]: ...


def quiet_option(what: str | FC = "progress") -> FC | Callable[[FC], FC]:
    """``-q/--quiet`` (parameter ``quiet``): no ``what`` on stderr.

    Use as ``@quiet_option`` (help: "No progress on stderr.") or
    ``@quiet_option("progress bar")``.
    """
    if callable(what):  # used bare: @quiet_option
        return quiet_option()(what)
    return click.option("-q", "--quiet", is_flag=True, cls=QuietOption,
                        help=f"No {what} on stderr.")


def output_option(
    help: str, *, dest: str = "output", required: bool = False, directory: bool = False
) -> Callable[[FC], FC]:
    """``-o/--output PATH``: where a command writes its main output file (or folder).

    Parameters
    ----------
    help : str
        The option's help text (what is written there).
    dest : str, default="output"
        The command function's parameter name (such as ``"model_path"``).
    required : bool, default=False
        The option must be given.
    directory : bool, default=False
        The output is a folder (a file path is a usage error), else a file.

    Notes
    -----
    Check the target with ``command_outputs(...).file(path, dest)`` before the
    work starts, so a bad target is a usage error naming the option.
    """
    kind = click.Path(file_okay=False) if directory else click.Path(dir_okay=False)
    return click.option("-o", "--output", dest, required=required, type=kind,
                        cls=OutputOption, help=help)


def echo_json(value: Any, indent: int | None = 2, err: bool = False) -> None:
    """Print ``value`` as strict JSON on stdout: NaN, inf and -inf become null.

    Parameters
    ----------
    value : dict, list, str, int, float, bool or None, nested
        What to print; numpy scalars and arrays are converted to Python ones.
    indent : int or None, default=2
        JSON indentation (None: one line).
    err : bool, default=False
        Print on stderr instead (a summary that stdout's data would mix with).
    """
    click.echo(json.dumps(_strict(value), indent=indent, allow_nan=False), err=err)


def _strict(value: Any) -> Any:
    """``value`` with non-finite floats as None and numpy values as Python ones."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy scalar or array
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    return value


def missing_option(function: FC) -> FC:
    """``--missing error|em`` (parameter ``missing``): NaN / empty fields refused or fitted."""
    return click.option(
        "--missing", type=click.Choice(["error", "em"]), default="error", show_default=True,
        help="'em': empty fields / NaN are missing values, fitted by EM; 'error': refuse them.",
    )(function)


def noise_option(function: FC) -> FC:
    """``--noise none|uniform`` (parameter ``noise``): a uniform noise component or none."""
    return click.option(
        "--noise", type=click.Choice(["none", "uniform"]), default="none", show_default=True,
        help="'uniform': add a uniform noise component (outliers).",
    )(function)
