"""CSV text to numeric columns: the rules of the core CSV reader (gmmkit.inputs.readers).

- Delimiter: sniffed from the first line: ``;`` when it holds one (outside
  quotes), else a tab when it holds tabs and no comma, else ``,``.
- Missing values: an empty field and the spellings of :data:`NA_VALUES`
  (pandas' default ``na_values``, compared case-insensitively) read as NaN;
  ``inf`` reads as infinity (which the fit refuses).
- Header: the first line is a header when one of its fields is text (neither
  a number nor a missing value). A column without a name, and every column of
  a file without a header, is called ``x0``, ``x1``, ... by its position.
- A delimiter at the end of every line (an empty last column without a
  name), of the data lines only, or of the header only, is ignored.
- Text columns: without a column selection, a column that holds text and no
  number is left out (and reported); a column of numbers with a text cell is
  refused, naming the cell's line.
- Line numbers are those of the file: 1-based, the header is line 1.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.exceptions import DataFileError  # noqa: F401 (re-exported: readers raise it)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gmmkit.engine.types import FloatArray

#: fields read as a missing value (NaN), lower-case: pandas' default na_values
NA_VALUES = frozenset(
    text.lower()
    for text in (
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
        "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
    )
)

DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}


@dataclass
class Table:
    """The fields of a CSV file, before conversion to numbers.

    Attributes
    ----------
    header : list of str, one name per column
    has_header : bool
        False when the names were made up (x0, x1, ...).
    rows : list of list of str
        The data rows, each with ``len(header)`` fields.
    lines : list of int
        The file's line number (1-based) of every data row.
    delimiter : str
    """

    header: list[str]
    has_header: bool
    rows: list[list[str]]
    lines: list[int]
    delimiter: str


def sniff_delimiter(line: str) -> str:
    """The delimiter of a file whose first line is ``line``: ``;``, a tab or ``,``."""
    unquoted = re.sub(r'"[^"]*"', "", line)
    if ";" in unquoted:
        return ";"
    if "\t" in unquoted and "," not in unquoted:
        return "\t"
    return ","


def is_missing(text: str) -> bool:
    """True when a field spells a missing value (empty, NA, N/A, null, ...)."""
    return text.strip().lower() in NA_VALUES


def is_number(text: str) -> bool:
    """True when a field is a number (NaN spellings count as missing, not as numbers)."""
    if is_missing(text):
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse(text: str, source: str) -> Table:
    """Split CSV ``text`` into a :class:`Table` (header found, lengths checked).

    Raises
    ------
    DataFileError
        For an empty file, a header without rows, or lines of different lengths.
    """
    first = next((line for line in io.StringIO(text) if line.strip(" \r\n")), None)
    if first is None:
        raise DataFileError(f"{source}: the file is empty; give a header line and rows of numbers")
    delimiter = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    numbered = [(reader.line_num, row) for row in reader if _not_blank(row)]
    rows = _without_trailing_delimiter([row for _, row in numbered])
    lines = [line for line, _ in numbered]
    has_header = any(not is_number(field) and not is_missing(field) for field in rows[0])
    width = len(rows[0])
    if has_header:
        header = [name.strip() or f"x{j}" for j, name in enumerate(rows[0])]
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise DataFileError(
                f"{source}: no data rows after the header (line {numbered[0][0]}); "
                "give one row of numbers per line"
            )
    else:
        header = [f"x{j}" for j in range(width)]
    for line, row in zip(lines, rows):
        if len(row) != width:
            raise DataFileError(
                f"{source}: line {line} has {_fields(len(row))}, the first line has "
                f"{_fields(width)} (fields separated by {DELIMITER_NAMES[delimiter]}); "
                "give every line the same fields, with an empty field for a missing value"
            )
    return Table(header, has_header, rows, lines, delimiter)


def _not_blank(row: list[str]) -> bool:
    return bool(row) and not (len(row) == 1 and not row[0].strip())


def _fields(count: int) -> str:
    return f"{count} field" if count == 1 else f"{count} fields"


def _without_trailing_delimiter(rows: list[list[str]]) -> list[list[str]]:
    """Drop the empty last field a delimiter at the end of a line makes.

    On every line (an empty last column with no name), on the data lines
    only (one field more than the first line), or on the first line only.
    """
    width = len(rows[0])
    if width > 1 and all(not row[-1].strip() for row in rows):
        return [row[:-1] for row in rows]
    if width > 1 and not rows[0][-1].strip() and all(len(row) == width - 1 for row in rows[1:]):
        return [rows[0][:-1], *rows[1:]]
    return [row[:-1] if len(row) == width + 1 and not row[-1].strip() else row for row in rows]


def convert(cells: Sequence[str]) -> tuple[FloatArray, list[int], bool]:
    """Numbers of one column: (values (n,) float64, index of every text cell, any number?)."""
    values = np.empty(len(cells))
    text_cells = []
    for i, text in enumerate(cells):
        try:
            values[i] = float(text)  # "nan" and "-NaN" too: missing, as pandas reads them
        except ValueError:
            values[i] = np.nan
            if not is_missing(text):
                text_cells.append(i)
    return values, text_cells, not np.isnan(values).all()


def numeric_columns(
    table: Table, picked: list[int] | None, source: str
) -> tuple[FloatArray, list[int], dict[str, str]]:
    """The numbers of ``table``.

    Parameters
    ----------
    table : Table
    picked : list of int or None
        0-based column indices; None: every column that holds a number.
    source : str
        The file's name in messages.

    Returns
    -------
    X : ndarray of shape (n_rows, n_picked), float64
    picked : list of int
    left_out : dict
        Column name -> why it was left out (only when ``picked`` is None).
    """
    width = len(table.header)
    converted, left_out = {}, {}
    for j in range(width) if picked is None else picked:
        values, text_cells, has_number = convert([row[j] for row in table.rows])
        if text_cells and picked is None and not has_number:
            i = text_cells[0]
            text = table.rows[i][j].strip()
            left_out[table.header[j]] = f"{text!r} on line {table.lines[i]}"
            continue
        if text_cells:
            raise DataFileError(_text_cell_message(table, j, text_cells[0], source))
        converted[j] = values
    if picked is None:
        picked = sorted(converted)
        if not picked:
            raise DataFileError(
                f"{source}: no numeric columns: every column holds text (fields separated by "
                f"{DELIMITER_NAMES[table.delimiter]}); give columns of numbers"
            )
    X = np.empty((len(table.rows), len(picked)))
    for column, j in enumerate(picked):
        X[:, column] = converted[j]
    return X, picked, left_out


def _text_cell_message(table: Table, j: int, i: int, source: str) -> str:
    text = table.rows[i][j].strip()
    if re.fullmatch(r"[-+]?[\d.]*,[\d,]+", text):
        fix = "write numbers with a decimal point, without thousands separators"
    else:
        fix = ("write a missing value as an empty field or NA, or leave the column out "
               "with --columns")
    return (
        f"{source}: column {table.header[j]!r} holds {text!r} on line {table.lines[i]}, "
        f"not a number; {fix}"
    )
