"""Reading input files: CSV, .npy and .npz, and whatever plugins add.

:func:`read_data` asks the ``gmmkit_read_data`` hook (plugins first, then
the readers here) and returns a :class:`gmmkit.datasets.Dataset`.

CSV: comma-separated, UTF-8 (a byte-order mark is ignored), an optional
header row (taken as a header when any of its non-empty fields is not a
number), empty fields read as NaN. Without a column selection every numeric
column is used and text columns (labels: the first non-empty value is not a
number) are left out; ``columns`` picks columns by header name or 0-based
index. Error messages give line numbers as in the file.
.npy: a 2-D array (a 1-D array is one feature). .npz: the array called
``X`` or the only array, or ``file.npz:name`` for another one.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from gmmkit.datasets import Dataset


class DataFileError(ValueError):
    """An input file that cannot be read as numeric rows."""


def read_data(path, columns=None):
    """Read an input file into a Dataset.

    Parameters
    ----------
    path : str or PathLike
    columns : sequence of str or int, optional
        Columns to keep, by name or 0-based index; None keeps every numeric column.

    Returns
    -------
    Dataset
        ``data`` of shape (n_samples, n_features).
    """
    from gmmkit.plugins import get_plugin_manager

    text_columns = None if columns is None else [str(c) for c in columns]
    dataset = get_plugin_manager().hook.gmmkit_read_data(path=str(path), columns=text_columns)
    if dataset is None:
        raise DataFileError(
            f"{path}: no reader for this kind of file; use CSV, .npy or .npz, or install "
            "a plugin that reads it (`gmmkit plugins` lists them)."
        )
    return dataset


def split_npz_key(path):
    """``("file.npz", "name")`` for ``file.npz:name``, else ``(path, None)``."""
    text = str(path)
    head, sep, key = text.rpartition(":")
    if sep and head.endswith(".npz") and key:
        return head, key
    return text, None


def read_npy(path, columns):
    """A .npy file as a Dataset (memory-mapped, never unpickled)."""
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataFileError(f"{path}: not a readable .npy array ({exc})") from None
    return _array_dataset(X, columns, str(path))


def read_npz(path, key, columns):
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


def _array_dataset(X, columns, source):
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataFileError(f"{source}: expected a 2-D array of rows, got shape {X.shape}")
    names = [f"x{j}" for j in range(X.shape[1])]
    picked = select_columns(names, columns, source)
    if picked != list(range(X.shape[1])):
        X = X[:, picked]
    return Dataset(X, [names[j] for j in picked], description=source)


def select_columns(header, columns, source):
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


def read_csv(path, columns):
    """A CSV file as a Dataset (see the module docstring for the rules)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            numbered = [(reader.line_num, row) for row in reader if row]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: cannot read as UTF-8 CSV ({exc})") from None
    if not numbered:
        raise DataFileError(f"{path}: the file is empty")
    lines, rows = [line for line, _ in numbered], [row for _, row in numbered]
    has_header = not all(_is_number(field) or not field.strip() for field in rows[0])
    width = len(rows[0])
    header = [h.strip() for h in rows[0]] if has_header else [f"x{j}" for j in range(width)]
    body = rows[1:] if has_header else rows
    body_lines = lines[1:] if has_header else lines
    if not body:
        raise DataFileError(f"{path}: no data rows after the header")
    for line, row in zip(body_lines, body):
        if len(row) != width:
            raise DataFileError(
                f"{path}: line {line} has {len(row)} fields, the first line has {width}"
            )
    if columns is None:
        picked = [j for j in range(width) if _is_number(_first_value(body, j))]
        if not picked:
            raise DataFileError(f"{path}: no numeric columns; pick some with --columns")
    else:
        picked = select_columns(header, columns, str(path))
    X = np.empty((len(body), len(picked)))
    for i, j in enumerate(picked):
        X[:, i] = _numeric_column(body, j, header[j], path, body_lines)
    skipped = [header[j] for j in range(width) if j not in picked]
    description = str(path) + (f" (left out: {', '.join(skipped)})" if skipped else "")
    return Dataset(X, [header[j] for j in picked], description=description)


def _first_value(body, j):
    """The first non-empty field of column ``j`` ("0" when it has none: a NaN column)."""
    return next((row[j] for row in body if row[j].strip()), "0")


def _numeric_column(body, j, name, path, lines):
    values = np.empty(len(body))
    for i, row in enumerate(body):
        text = row[j].strip()
        if text == "":
            values[i] = np.nan
            continue
        try:
            values[i] = float(text)
        except ValueError:
            raise DataFileError(
                f"{path}: column {name!r} holds {text!r} on line {lines[i]}, not a number; "
                "pick numeric columns with --columns"
            ) from None
    return values


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_builtin(path, columns):
    """The core reader: CSV, .npy or .npz by suffix; None for anything else."""
    file_path, key = split_npz_key(path)
    suffix = Path(file_path).suffix.lower()
    if suffix not in (".csv", ".npy", ".npz"):
        return None
    if not Path(file_path).is_file():
        raise DataFileError(f"{file_path}: no such file")
    if suffix == ".npy":
        return read_npy(file_path, columns)
    if suffix == ".npz":
        return read_npz(file_path, key, columns)
    return read_csv(file_path, columns)
