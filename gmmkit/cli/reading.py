"""DATA of the commands: reading it, checking its values, matching a model's columns.

Messages speak the command line: options (``--missing em``, ``--columns``)
and the file's own 1-based line numbers (the header is line 1). These
helpers are public through :mod:`gmmkit.cli` for plugins' commands.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from gmmkit.data.validation import plural
from gmmkit.inputs.readers import DataFileError, LeftOutColumnsWarning, left_out_message

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from gmmkit.data.dataset import Dataset

#: DATA ``-``: CSV read from standard input
STDIN = "-"
#: the fix a NaN message proposes when the command has ``--missing``
MISSING_FIX = "pass --missing em to fit them as missing values, or drop those rows"
INF_FIX = "infinity is not a missing value: drop or clip those rows"


def shown(source: str) -> str:
    """DATA as messages name it (``-`` is "stdin")."""
    return "stdin" if source == STDIN else source


def parse_columns(columns: str | None) -> list[str] | None:
    """``--columns a,3`` -> ["a", "3"]; None -> None."""
    return None if columns is None else [c.strip() for c in columns.split(",") if c.strip()]


def read_input(source: str, columns: str | None = None) -> Dataset:
    """A Dataset from a bundled data set name, ``-`` (CSV on stdin) or a file.

    Nothing is checked or warned about beyond what the reader refuses; see
    :func:`load_input`.
    """
    from gmmkit.datasets import list_datasets, load
    from gmmkit.inputs.readers import read_csv_bytes, read_file, select_columns, split_npz_key

    picked = parse_columns(columns)
    if source == STDIN:
        stdin = getattr(sys.stdin, "buffer", None)
        raw = stdin.read() if stdin is not None else sys.stdin.read().encode()
        return read_csv_bytes(raw, picked, shown(source))
    if Path(split_npz_key(source)[0]).exists():
        return read_file(source, picked)
    names = list_datasets()
    if source not in names:
        raise click.BadParameter(
            f"{source!r} is neither a file nor a bundled data set ({', '.join(names)}); "
            "give - to read CSV from stdin",
            param_hint="DATA",
        )
    dataset = load(source)
    if picked is not None:
        index = select_columns(dataset.feature_names, picked, source)
        dataset.data = dataset.data[:, index]
        dataset.feature_names = [dataset.feature_names[j] for j in index]
    return dataset


def load_input(source: str, columns: str | None = None, *, missing: str | None = None) -> Dataset:
    """A Dataset from a bundled data set name, ``-`` (CSV on stdin) or an input file.

    Parameters
    ----------
    source : str
    columns : str, optional
        Comma-separated column names or 0-based indices.
    missing : {"error", "em"} or None
        The command's ``--missing``: "error" refuses NaN (naming ``--missing
        em``) and infinity, "em" refuses infinity, None leaves the checks to
        the estimator.

    Returns
    -------
    gmmkit.datasets.Dataset

    Warns
    -----
    LeftOutColumnsWarning
        Text columns were left out (no ``columns`` given).
    """
    dataset = read_input(source, columns)
    if columns is None:
        warn_left_out(dataset, source)
    if missing is not None:
        check_values(dataset, source, nan_fix=None if missing == "em" else MISSING_FIX)
    return dataset


def warn_left_out(dataset: Dataset, source: str) -> None:
    message = left_out_message(dataset, shown(source))
    if message:
        warnings.warn(message, LeftOutColumnsWarning, stacklevel=3)


def check_values(dataset: Dataset, source: str, *, nan_fix: str | None) -> None:
    """Refuse infinity, and NaN unless ``nan_fix`` is None, naming the first line.

    Parameters
    ----------
    dataset : Dataset
        ``extra["lines"]`` (the file line of each row), when present, gives
        the line numbers; else rows are counted from 1.
    source : str
    nan_fix : str or None
        What to do about missing values; None: they are allowed.

    Raises
    ------
    DataFileError
    """
    X = dataset.data
    if X.dtype.kind != "f" or np.isfinite(X).all():
        return
    cells = np.isinf(X)
    if cells.any():
        what, fix = "infinity", INF_FIX
    elif nan_fix is None:
        return
    else:
        cells = np.isnan(X)
        spelled = "empty or NA fields" if "lines" in dataset.extra else "NaN"
        what, fix = f"missing values ({spelled})", nan_fix
    rows = np.flatnonzero(cells.any(axis=1))
    where = _where(dataset, rows[0], np.flatnonzero(cells[rows[0]])[0])
    raise DataFileError(
        f"{shown(source)}: {what} in {plural(rows.size, 'row')} (first: {where}); {fix}"
    )


def out_of_core_error(non_finite: tuple[str, int, int], source: str, missing: str) -> DataFileError:
    """NaN or inf found while fitting a .npy file out of core (``fit``), in CLI terms.

    Parameters
    ----------
    non_finite : tuple (kind, n_rows, first_row)
        The engine's row scan: "NaN" or "infinity", rows, first row (0-based).
    source : str
    missing : {"error", "em"}

    Returns
    -------
    DataFileError
    """
    kind, n_rows, first_row = non_finite
    if kind == "infinity":
        fix = INF_FIX
    elif missing == "em":
        fix = ("a file over --memory-budget is fitted out of core, which cannot fit missing "
               "values: drop those rows, or raise --memory-budget to fit it in memory")
    else:
        fix = MISSING_FIX + " (--missing em needs the data in memory: raise --memory-budget)"
    return DataFileError(
        f"{source}: {kind} in {plural(n_rows, 'row')} (first: row {first_row + 1}); {fix}"
    )


def _where(dataset: Dataset, i: int, j: int) -> str:
    """'line 4, column 'b'' (a file's line) or 'row 4, column 'b'' (counted from 1)."""
    lines = dataset.extra.get("lines")
    place = f"line {lines[i]}" if lines is not None else f"row {i + 1}"
    return f"{place}, column {dataset.feature_names[j]!r}"


def model_nan_fix(model_path: str) -> str:
    """The NaN fix for data scored by a model fitted without ``--missing em``."""
    return (
        f"{model_path} was fitted without --missing em, so it cannot use rows with missing "
        "values: drop those rows, or refit the model with --missing em"
    )


def match_columns(
    dataset: Dataset,
    source: str,
    *,
    fitted_names: Sequence[str] | None,
    n_features: int,
    model: str,
    picked: bool = False,
) -> Dataset:
    """DATA's columns for a fitted model: by name when the file has the names, else by position.

    Parameters
    ----------
    dataset : Dataset
    source : str
    fitted_names : list of str or None
        The columns the model was fitted on. Names x0, x1, ... (a file
        without a header) are positions, not names.
    n_features : int
    model : str
        The model's file, for messages.
    picked : bool
        The user chose the columns with ``--columns``: taken as they are.

    Returns
    -------
    Dataset
        With ``n_features`` columns, in the model's order.

    Raises
    ------
    DataFileError
        When the file's header lacks some of the model's names, or the
        number of columns differs.
    """
    names = list(dataset.feature_names)
    fitted = list(fitted_names or [])
    if fitted and not picked and names != fitted:
        if set(fitted) <= set(names):
            index = [names.index(name) for name in fitted]
            dataset.data = dataset.data[:, index]
            dataset.feature_names = fitted
            return dataset
        if dataset.extra.get("header", True) and not _positional(fitted):
            raise DataFileError(_missing_names_message(dataset, source, fitted, model))
        warn_left_out(dataset, source)  # matched by position: a left-out column shifts them
    if dataset.data.shape[1] != n_features:
        given = "--columns picks" if picked else f"{shown(source)} has"
        fitted_on = f" ({', '.join(fitted)})" if fitted else ""
        raise DataFileError(
            f"{given} {plural(dataset.data.shape[1], 'numeric column')} but {model} was fitted "
            f"on {n_features}{fitted_on}; give the columns the model was fitted on, in its order"
        )
    return dataset


def _positional(names: Iterable[str]) -> bool:
    return all(re.fullmatch(r"x\d+", name) for name in names)


def _missing_names_message(dataset: Dataset, source: str, fitted: list[str], model: str) -> str:
    names = list(dataset.feature_names)
    absent = [name for name in fitted if name not in names]
    left_out = dataset.extra.get("left_out") or {}
    text = "".join(
        f"; column {name!r} holds text ({left_out[name]})" for name in absent if name in left_out
    )
    return (
        f"{shown(source)} has no column {', '.join(map(repr, absent))} that {model} was fitted on "
        f"(it needs {', '.join(fitted)}; the file's numeric columns are {', '.join(names)}"
        f"{text}); rename the header to match, or pick {len(fitted)} columns in the "
        "model's order with --columns"
    )
