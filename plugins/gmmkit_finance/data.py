"""Prices and returns: loading (CSV, pandas, bundled indices), returns, input checks.

Everything here returns pandas objects indexed by date when the input had
dates, and plain numpy arrays otherwise. pandas is imported inside the
functions (it is the ``finance`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gmmkit_finance.dates import holds_dates, parse_dates

#: bundled daily closes (gmmkit/datasets/us_indices.csv, from the `arch` package;
#: see gmmkit/datasets/README.md)
BUNDLED_FILE = "us_indices.csv"
#: names load_prices accepts for the bundled file: name -> columns (None: all of them)
BUNDLED_PRICES = {"sp500": "sp500", "nasdaq": "nasdaq", "us_indices": None}
RETURN_KINDS = ("log", "simple")
MISSING_POLICIES = ("error", "drop", "ffill")


def load_prices(source, *, date_column=None, columns=None, date_format=None):
    """Load prices by bundled name, from a CSV file or from a pandas object.

    Parameters
    ----------
    source : str, path, pandas.Series or pandas.DataFrame
        ``"sp500"``, ``"nasdaq"`` (daily closes 1999-2018, bundled) or
        ``"us_indices"`` (both); a CSV file with a date column and one or
        more price columns; or a Series/DataFrame (its index is used as is).
    date_column : str, optional
        The CSV column holding dates. Default: a column named date/Date/
        datetime/time/timestamp, else the first column.
    columns : str or list of str, optional
        Price columns to keep (default: every numeric column).
    date_format : str, optional
        The strptime format of a CSV file's dates, such as ``"%d/%m/%Y"``
        (bundled series and pandas objects keep their own dates).
        Default: the one format that reads every date (see
        :func:`gmmkit_finance.dates.parse_dates`); a column that reads both
        day-first and month-first is refused as ambiguous.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Indexed by date (a DatetimeIndex, sorted) when the input had dates.
        A single column comes back as a Series named after it.

    Raises
    ------
    ValueError
        An empty file, no date column, unparseable, ambiguous or duplicated
        dates, unknown columns, no numeric column.
    """
    import pandas as pd

    if isinstance(source, (pd.Series, pd.DataFrame)):
        frame = source.to_frame() if isinstance(source, pd.Series) else source.copy()
    elif isinstance(source, str) and source in BUNDLED_PRICES and not Path(source).exists():
        frame = _read_bundled()
        if columns is None and BUNDLED_PRICES[source] is not None:
            columns = BUNDLED_PRICES[source]
    else:
        frame = _read_csv(source, date_column, date_format)
    if isinstance(frame.index, pd.DatetimeIndex):
        check_dates(frame.index)
        frame = frame.sort_index()
    frame = _pick_columns(frame, columns)
    return frame.iloc[:, 0] if frame.shape[1] == 1 else frame


def _read_bundled():
    from importlib import resources

    import pandas as pd

    with resources.files("gmmkit.datasets").joinpath(BUNDLED_FILE).open("r") as handle:
        return pd.read_csv(handle, index_col="date", parse_dates=["date"])


def _read_csv(path, date_column, date_format):
    import pandas as pd

    if not Path(path).is_file():
        raise ValueError(
            f"{path}: no such file; give a CSV of prices or a bundled series "
            f"({', '.join(BUNDLED_PRICES)})."
        )
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; give a CSV with a header line, then a date and "
                         "one or more prices on each line.") from None
    if frame.shape[1] < 2:
        raise ValueError(f"{path}: needs a date column and at least one price column.")
    if frame.shape[0] == 0:
        raise ValueError(f"{path} has a header line but no prices; give a date and one or "
                         "more prices on each line after it.")
    if date_column is None:
        named = [c for c in frame.columns if str(c).lower() in {"date", "datetime", "time",
                                                                  "timestamp"}]
        date_column = named[0] if named else frame.columns[0]
        if not named and date_format is None and not holds_dates(frame[date_column]):
            raise ValueError(
                f"{path} has no date column: the first column, {date_column!r}, holds "
                f"{str(frame[date_column].iloc[0])!r}, not a date; add a column of dates named "
                "date, or name the date column with date_column= (--date-column)."
            )
    elif date_column not in frame.columns:
        raise ValueError(
            f"{path}: no column {date_column!r}; columns are {', '.join(map(str, frame.columns))}."
        )
    frame.index = parse_dates(frame.pop(date_column), name=date_column,
                              date_format=date_format, where=_file_lines(path))
    return frame


def _file_lines(path):
    """``where(row)`` for parse_dates: the 1-based line of a CSV's 0-based data row."""

    def where(row):
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [number for number, line in enumerate(handle, 1) if line.strip()]
        line = lines[row + 1] if row + 1 < len(lines) else row + 2
        return f"line {line} of {path}"

    return where


def check_dates(index):
    """Raise a ValueError naming the first duplicated date of ``index``."""
    duplicated = index.duplicated(keep=False)
    if duplicated.any():
        first = index[duplicated][0]
        count = int((index == first).sum())
        raise ValueError(
            f"duplicated dates: {first.date()} appears {count} times; keep one row per date "
            "(e.g. prices[~prices.index.duplicated()])."
        )


def _pick_columns(frame, columns):
    if columns is not None:
        wanted = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in wanted if c not in frame.columns]
        if unknown:
            raise ValueError(
                f"no price column {unknown[0]!r}; columns are "
                f"{', '.join(map(str, frame.columns))}."
            )
        frame = frame[wanted]
    numeric = frame.select_dtypes(include="number")
    if numeric.shape[1] == 0:
        raise ValueError("no numeric price column; give a table of prices with a date column.")
    return numeric.astype(np.float64)


def to_returns(prices, *, kind="log", missing="error"):
    """Daily returns from prices, one row per date after the first.

    Days absent from the index (weekends, holidays) need nothing: a return
    runs from one observed date to the next. NaN prices are gaps: an error
    by default, or dropped/filled as ``missing`` says.

    Parameters
    ----------
    prices : array-like of shape (n_dates,) or (n_dates, n_assets), or a pandas
        Series/DataFrame
    kind : {"log", "simple"}, default="log"
        ``log(p_t / p_{t-1})`` or ``p_t / p_{t-1} - 1``.
    missing : {"error", "drop", "ffill"}, default="error"
        NaN prices: refuse; drop those dates (the next return spans the
        gap); or carry the last price forward (a zero return).

    Returns
    -------
    pandas.Series/DataFrame or ndarray of shape (n_dates - 1,) or (n_dates - 1, n_assets)
        The same kind of object as ``prices``.
    """
    import pandas as pd

    if kind not in RETURN_KINDS:
        raise ValueError(f"kind={kind!r}; use 'log' or 'simple'.")
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing={missing!r}; use 'error', 'drop' or 'ffill'.")
    is_pandas = isinstance(prices, (pd.Series, pd.DataFrame))
    frame = (prices.to_frame() if isinstance(prices, pd.Series) else prices) if is_pandas \
        else pd.DataFrame(np.asarray(prices, dtype=np.float64))
    frame = _fill_gaps(frame.astype(np.float64), missing)
    if frame.shape[0] < 2:
        raise ValueError(f"returns need at least 2 prices; got {frame.shape[0]}.")
    _check_prices(frame, kind)
    ratio = frame / frame.shift(1)
    returns = (np.log(ratio) if kind == "log" else ratio - 1.0).iloc[1:]
    check_returns(returns)
    if not is_pandas:
        values = returns.to_numpy()
        return values[:, 0] if np.ndim(prices) == 1 else values
    return returns.iloc[:, 0].rename(prices.name) if isinstance(prices, pd.Series) else returns


def _fill_gaps(frame, missing):
    gaps = frame.isna().any(axis=1)
    if not gaps.any():
        return frame
    if missing == "drop":
        return frame[~gaps]
    if missing == "ffill":
        filled = frame.ffill()
        if filled.isna().any().any():
            raise ValueError(
                "the first prices are missing (NaN) and there is no earlier price to carry "
                "forward; use missing='drop'."
            )
        return filled
    column = frame.columns[frame.isna().any(axis=0).to_numpy()][0]
    where = frame.index[frame[column].isna().to_numpy()]
    raise ValueError(
        f"{_label(column)} has {_count(len(where), 'missing price')} (NaN gaps), the first on "
        f"{_date(where[0])}; pass missing='drop' or missing='ffill' (CLI: --missing drop)."
    )


def _check_prices(frame, kind):
    values = frame.to_numpy()
    if not np.all(np.isfinite(values)):
        raise ValueError("prices must be finite numbers; remove infinite values.")
    bad = values <= 0
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        hint = (
            "log returns need positive prices; use kind='simple' for series that cross zero"
            if kind == "log" else "returns need positive prices"
        )
        count = _count(int(bad[:, col].sum()), "non-positive price")
        raise ValueError(
            f"{_label(frame.columns[col])} has {count}, "
            f"the first on {_date(frame.index[row])} ({values[row, col]:g}); {hint}, "
            "or drop those rows."
        )


def check_returns(returns, *, name=None):
    """Raise a ValueError when any return column is constant (prices that never move).

    A single return is not called constant: :func:`require_returns` says
    how many a method needs.

    Parameters
    ----------
    returns : pandas.DataFrame or ndarray of shape (n_dates, n_assets)
    name : list of str, optional
        Column names for the message (default: the frame's).
    """
    values = np.asarray(returns, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    names = list(getattr(returns, "columns", name or range(values.shape[1])))
    for j in range(values.shape[1]):
        if values.shape[0] > 1 and np.ptp(values[:, j]) == 0:
            raise ValueError(
                f"{_label(names[j])} is constant (every return is {values[0, j]:g}): prices "
                "that never move have no return distribution; drop that column."
            )


def require_returns(n_returns, minimum, what):
    """Raise a ValueError when ``what`` gets fewer than ``minimum`` returns.

    Parameters
    ----------
    n_returns : int
    minimum : int
    what : str
        Names the method in the message, e.g. ``"a mixture of returns"``.
    """
    if n_returns < minimum:
        raise ValueError(
            f"{what} needs at least {minimum} returns; got {n_returns}; give a longer series "
            "(n prices give n - 1 returns)."
        )


def as_returns(returns):
    """Validated returns as a float array plus what is needed to label results.

    Parameters
    ----------
    returns : array-like of shape (n_dates,) or (n_dates, n_assets), or a pandas
        Series/DataFrame of returns

    Returns
    -------
    values : ndarray of shape (n_dates, n_assets)
    index : pandas.Index or None
        The dates, when ``returns`` was a pandas object.
    names : list of str, length n_assets
    """
    index = getattr(returns, "index", None)
    if hasattr(returns, "columns"):
        names = [str(c) for c in returns.columns]
    elif getattr(returns, "name", None) is not None:
        names = [str(returns.name)]
    else:
        names = None
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"returns must be 1-D or 2-D (dates x assets); got shape {values.shape}.")
    names = names or [f"asset{j}" for j in range(values.shape[1])]
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values).any(axis=1))[0])
        when = _date(index[row]) if index is not None else f"row {row}"
        raise ValueError(
            f"returns have {_count(int(np.isnan(values).any(axis=1).sum()), 'missing value')} "
            f"(NaN gaps), the first on {when}; compute returns with "
            "to_returns(prices, missing='drop') "
            "or drop those dates."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("returns must be finite; remove infinite values.")
    check_returns(values, name=names)
    return values, index, names


def as_one_series(returns, caller):
    """Validated returns of exactly one series: values (n_dates,), index or None, name.

    ``caller`` names the function in the message for a table of several columns.
    """
    values, index, names = as_returns(returns)
    if values.shape[1] != 1:
        raise ValueError(
            f"{caller} one series; got {values.shape[1]} columns ({', '.join(names)}). "
            "Pass a portfolio's returns, e.g. returns @ weights."
        )
    return values[:, 0], index, names[0]


def _count(number, noun):
    """'1 missing price', '2 missing prices'."""
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _label(column):
    return f"price column {column!r}" if not isinstance(column, (int, np.integer)) \
        else f"column {column}"


def _date(value):
    return str(value.date()) if hasattr(value, "date") else f"row {value}"
