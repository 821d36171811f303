"""Dates of a price file: one format for the whole column, inferred or given.

pandas' ``format="mixed"`` guesses each value on its own, so a day-first
column reads 02/01/2015 as 1 February but 13/01/2015 as 13 January: a
silently wrong series. Here a column gets exactly one format. Every
candidate format (:data:`DATE_FORMATS` with and without a time of day) is
tried on every value; the formats that read every value are kept. If they
disagree on some value (02/01/2015 read day-first and month-first), the
column is ambiguous and refused: the caller must say which format it is.
"""

from __future__ import annotations

import numpy as np

#: the date part of the formats tried when no format is given
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y")
#: the time parts tried after each date part ("" = a date alone; %z = a UTC offset or Z)
TIME_FORMATS = tuple(
    f"{sep}{clock}{zone}" for sep in (" ", "T")
    for clock in ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f") for zone in ("", "%z")
)
TIME_FORMATS = ("", *TIME_FORMATS)
#: every candidate format, in order of preference for messages
CANDIDATE_FORMATS = tuple(day + time for day in DATE_FORMATS for time in TIME_FORMATS)

_FIX = ("give their format with date_format='%d/%m/%Y' (--date-format), or name the date "
        "column with date_column= (--date-column).")


def parse_dates(values, *, name="date", date_format=None, where=None):
    """A DatetimeIndex from strings, all read with one format.

    Parameters
    ----------
    values : array-like of shape (n_dates,)
        Date strings (numbers are read as their text).
    name : str, default="date"
        The column's name, for messages and the index.
    date_format : str, optional
        A strptime format such as ``"%d/%m/%Y"`` (or ``"ISO8601"``). Default:
        the one format of :data:`CANDIDATE_FORMATS` that reads every value.
    where : callable(int) -> str, optional
        Describes the 0-based row ``i`` for messages, e.g. ``"line 4 of
        prices.csv"``. Default: ``"row i + 1"``.

    Returns
    -------
    pandas.DatetimeIndex of shape (n_dates,)

    Raises
    ------
    ValueError
        A missing date, a value no format reads (naming it and its row), or
        an ambiguous column (day-first and month-first both read every value).
    """
    import pandas as pd

    where = where or (lambda row: f"row {row + 1}")
    values = pd.Series(values).reset_index(drop=True)
    missing = np.flatnonzero(values.isna().to_numpy())
    if missing.size:
        raise ValueError(f"column {name!r} has no date on {where(int(missing[0]))}; give every "
                         "row a date, or drop that row.")
    text = values.astype(str).str.strip()
    if date_format is not None:
        parsed = _parse(text, date_format, strict=True, name=name)
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            row = int(bad[0])
            raise ValueError(
                f"column {name!r} has a value that does not match date_format={date_format!r} "
                f"(--date-format): {text.iloc[row]!r} ({where(row)}); give the format every "
                "date is written in, such as '%Y-%m-%d' or '%d/%m/%Y'."
            )
        return pd.DatetimeIndex(parsed, name=name)
    return pd.DatetimeIndex(_infer(text, name, where), name=name)


def holds_dates(values, *, sample=100):
    """False when none of the first ``sample`` values is a date in any candidate format.

    Parameters
    ----------
    values : array-like of shape (n_dates,)
    sample : int, default=100

    Returns
    -------
    bool
    """
    import pandas as pd

    text = pd.Series(values).iloc[:sample].reset_index(drop=True).astype(str).str.strip()
    try:
        return any(_parse(text, f).notna().any() for f in CANDIDATE_FORMATS)
    except ValueError:  # dates with different UTC offsets: parse_dates says so
        return True


def _infer(text, name, where):
    """The one reading of ``text`` that every fitting candidate format agrees on."""
    if text.empty:
        return _parse(text, CANDIDATE_FORMATS[0])
    first = text.iloc[:1]
    readings = {}
    for candidate in CANDIDATE_FORMATS:
        if _parse(first, candidate, name=name).notna().all():
            parsed = _parse(text, candidate, name=name)
            if parsed.notna().all():
                readings[candidate] = parsed
    if not readings:
        failures = {f: _first_failure(_parse(text, f, name=name)) for f in CANDIDATE_FORMATS}
        row = max(failures.values())
        raise ValueError(
            f"column {name!r} has a value that is not a date: {text.iloc[row]!r} ({where(row)}); "
            "use dates such as 2020-01-31 or 31/01/2020, " + _FIX
        )
    (chosen, reading), *others = readings.items()
    for other, other_reading in others:
        differ = np.flatnonzero((reading != other_reading).to_numpy())
        if differ.size:
            row = int(differ[0])
            raise ValueError(
                f"column {name!r} is ambiguous: {chosen!r} reads {text.iloc[row]!r} "
                f"({where(row)}) as {_day(reading.iloc[row])}, {other!r} as "
                f"{_day(other_reading.iloc[row])}; say which with date_format={chosen!r} or "
                f"date_format={other!r} (--date-format {chosen!r})."
            )
    return reading


def _parse(text, date_format, strict=False, name="date"):
    """``text`` read with one format; NaT where it does not fit."""
    import pandas as pd

    try:
        return pd.to_datetime(text, format=date_format, errors="coerce")
    except (ValueError, OverflowError) as error:
        if "Mixed timezones" in str(error):
            raise ValueError(
                f"column {name!r} has dates with different UTC offsets ({_offsets(text)}); "
                "they are read with one offset per column: write the dates in one time zone, "
                "or without offsets."
            ) from None
        if strict:
            raise ValueError(
                f"date_format={date_format!r} (--date-format) is not a date format: {error}; "
                "write one with strptime codes, such as '%Y-%m-%d' or '%d/%m/%Y'."
            ) from None
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")


def _first_failure(parsed):
    """Index of the first NaT of ``parsed``, or its length when there is none."""
    bad = np.flatnonzero(parsed.isna().to_numpy())
    return int(bad[0]) if bad.size else len(parsed)


def _day(timestamp):
    return str(timestamp.date()) if timestamp == timestamp.normalize() else str(timestamp)


def _offsets(text):
    """'-05:00, -04:00': the distinct trailing UTC offsets of ``text`` (the first few)."""
    found = text.str.extract(r"([+-]\d\d:?\d\d|Z)$", expand=False).dropna().unique()
    return ", ".join(found[:4])
