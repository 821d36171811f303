"""Reading input files: CSV, .npy and .npz, and whatever plugins add.

:func:`read_data` asks the ``gmmkit_read_data`` hook (plugins first, then
the readers here) and returns a :class:`gmmkit.datasets.Dataset`.

CSV (:mod:`gmmkit.inputs.csv_text` has the rules): UTF-8 (a byte-order mark is
ignored), fields separated by commas, semicolons or tabs (sniffed from the
first line), an optional header row (a header when one of its fields is
text), empty fields and NA, N/A, nan, null ... (pandas' missing-value
spellings, any case) read as NaN. Without a column selection every numeric
column is used; text columns are left out and named in a
:class:`LeftOutColumnsWarning`. ``columns`` picks columns by header name or
0-based index. Error messages give line numbers as in the file.
.npy: a 2-D array (a 1-D array is one feature). .npz: the array called
``X`` or the only array, or ``file.npz:name`` for another one. Suffixes
are compared case-insensitively (``.NPY``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.data.dataset import Dataset
from gmmkit.inputs import csv_text as _csv
from gmmkit.inputs.csv_text import DataFileError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gmmkit.engine.types import AnyArray, PathLike

__all__ = ["DataFileError", "LeftOutColumnsWarning", "read_data", "read_file"]


class LeftOutColumnsWarning(UserWarning):
    """Columns of an input file were not read (text columns, without a column selection)."""


def data_suffix(path: PathLike) -> str:
    """The lower-case suffix of a data file's name (``.npz`` for ``file.NPZ:name``)."""
    return Path(split_npz_key(path)[0]).suffix.lower()


def read_data(path: PathLike, columns: Sequence[str | int] | None = None) -> Dataset:
    """Read an input file into a Dataset; warn about the text columns left out.

    Parameters
    ----------
    path : str or PathLike
    columns : sequence of str or int, optional
        Columns to keep, by name or 0-based index; None keeps every numeric column.

    Returns
    -------
    Dataset
        ``data`` of shape (n_samples, n_features).

    Warns
    -----
    LeftOutColumnsWarning
        When ``columns`` is None and text columns of the file were left out.
    """
    dataset = read_file(path, columns)
    message = left_out_message(dataset, path) if columns is None else None
    if message:
        warnings.warn(message, LeftOutColumnsWarning, stacklevel=2)
    return dataset


def read_file(path: PathLike, columns: Sequence[str | int] | None = None) -> Dataset:
    """:func:`read_data` without the warning (the columns left out are in ``extra``)."""
    from gmmkit.plugins.manager import get_plugin_manager

    text_columns = None if columns is None else [str(c) for c in columns]
    dataset = get_plugin_manager().hook.gmmkit_read_data(path=str(path), columns=text_columns)
    if dataset is None and Path(path).is_dir():
        raise DataFileError(
            f"{path} is a directory; give a data file: CSV, .npy or .npz, or a file an "
            "installed plugin reads (`gmmkit plugins` lists them)"
        )
    if dataset is None:
        raise DataFileError(
            f"{path}: no reader for this kind of file; use CSV, .npy or .npz, or install "
            "a plugin that reads it (`gmmkit plugins` lists them)."
        )
    return dataset


def split_npz_key(path: PathLike) -> tuple[str, str | None]:
    """``("file.npz", "name")`` for ``file.npz:name``, else ``(path, None)``."""
    text = str(path)
    head, sep, key = text.rpartition(":")
    if sep and head.lower().endswith(".npz") and key:
        return head, key
    return text, None


def read_npy(path: PathLike, columns: Sequence[str | int] | None) -> Dataset:
    """A .npy file as a Dataset (memory-mapped, never unpickled)."""
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataFileError(f"{path}: not a readable .npy array ({exc})") from None
    return _array_dataset(X, columns, str(path))


def read_npz(path: PathLike, key: str | None, columns: Sequence[str | int] | None) -> Dataset:
    """One array of a .npz archive as a Dataset."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if key is None:
                key = "X" if "X" in names else (names[0] if len(names) == 1 else None)
            if key is None or key not in names:
                raise DataFileError(
                    f"{path}: say which array to use as {path}:NAME; it holds {', '.join(names)}"
                )
            X = archive[key]
    except (ValueError, OSError) as exc:
        if isinstance(exc, DataFileError):
            raise
        raise DataFileError(f"{path}: not a readable .npz archive ({exc})") from None
    return _array_dataset(X, columns, f"{path}:{key}")


def _array_dataset(X: AnyArray, columns: Sequence[str | int] | None, source: str) -> Dataset:
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataFileError(f"{source}: expected a 2-D array of rows, got shape {X.shape}")
    names = [f"x{j}" for j in range(X.shape[1])]
    picked = select_columns(names, columns, source)
    if picked != list(range(X.shape[1])):
        X = X[:, picked]
    # no header: columns x0, x1, ... match a model's columns by position
    return Dataset(X, [names[j] for j in picked], description=source, extra={"header": False})


def select_columns(
    header: Sequence[str], columns: Sequence[str | int] | None, source: PathLike
) -> list[int]:
    """0-based indices of ``columns`` (names or index strings) in ``header``."""
    if columns is None:
        return list(range(len(header)))
    picked = []
    for column in columns:
        column = str(column).strip()
        if column in header:
            picked.append(header.index(column))
        elif column.lstrip("-").isdigit() and -len(header) <= int(column) < len(header):
            picked.append(int(column) % len(header))
        else:
            raise DataFileError(
                f"{source}: no column {column!r}; columns are {', '.join(header)} "
                f"(or indices 0..{len(header) - 1})"
            )
    return picked


def read_csv(path: PathLike, columns: Sequence[str | int] | None) -> Dataset:
    """A CSV file as a Dataset (see :mod:`gmmkit.inputs.csv_text` for the rules)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return read_csv_bytes(raw, columns, str(path))


def read_csv_bytes(raw: bytes, columns: Sequence[str | int] | None, source: str) -> Dataset:
    """CSV content (bytes, UTF-8, a byte-order mark is ignored) as a Dataset.

    Parameters
    ----------
    raw : bytes
    columns : sequence of str or int, or None
        Columns to keep, by name or 0-based index; None keeps every column
        that holds numbers (text columns are left out and listed in
        ``extra["left_out"]``).
    source : str
        The file's name in messages and in the Dataset's description.

    Returns
    -------
    Dataset
        ``data`` (n_rows, n_columns) float64; ``extra`` holds ``header``
        (False when the file has none), ``lines`` (the file line of every
        row, 1-based) and ``left_out`` (column name -> reason).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the CSV as UTF-8"
        ) from None
    table = _csv.parse(text, source)
    picked = None if columns is None else select_columns(table.header, columns, source)
    X, picked, left_out = _csv.numeric_columns(table, picked, source)
    skipped = [name for j, name in enumerate(table.header) if j not in picked]
    description = source + (f" (left out: {', '.join(skipped)})" if skipped else "")
    extra = {"header": table.has_header, "lines": np.asarray(table.lines), "left_out": left_out}
    return Dataset(X, [table.header[j] for j in picked], description=description, extra=extra)


def left_out_message(dataset: Dataset, source: PathLike) -> str | None:
    """'x.csv: left out column 'species' (text: 'setosa' on line 2); ...' or None."""
    left_out = dataset.extra.get("left_out") or {}
    if not left_out:
        return None
    reasons = "; ".join(f"{name!r} ({why})" for name, why in left_out.items())
    noun = "column" if len(left_out) == 1 else "columns"
    return (
        f"{source}: left out text {noun} {reasons}; only numeric columns are fitted: encode "
        "text as numbers to use it, or pick the columns with --columns"
    )


def read_builtin(path: str, columns: Sequence[str | int] | None) -> Dataset | None:
    """The core reader: CSV, .npy or .npz by suffix; None for anything else."""
    file_path, key = split_npz_key(path)
    suffix = data_suffix(file_path)
    if suffix not in (".csv", ".npy", ".npz"):
        return None
    if Path(file_path).is_dir():
        raise DataFileError(f"{file_path} is a directory; give a data file")
    if not Path(file_path).is_file():
        raise DataFileError(f"{file_path}: no such file")
    if suffix == ".npy":
        return read_npy(file_path, columns)
    if suffix == ".npz":
        return read_npz(file_path, key, columns)
    return read_csv(file_path, columns)
