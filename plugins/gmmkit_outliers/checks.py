"""Input checks of the outlier detector: each bad input gets one clear message."""

from __future__ import annotations

import numbers

import numpy as np

SCALES = ("standard", "robust", None)
MISSING_OPTIONS = ("error", "em")
NAN_MESSAGE = (
    "X contains NaN in {rows} row(s); pass missing='em' to treat NaN as missing values, "
    "or drop those rows."
)


def check_contamination(contamination):
    """``contamination`` as a float in (0, 0.5] or the string "auto"; ValueError otherwise."""
    if isinstance(contamination, str) and contamination == "auto":
        return contamination
    valid = (
        isinstance(contamination, numbers.Real)
        and not isinstance(contamination, bool)
        and 0.0 < float(contamination) <= 0.5
    )
    if not valid:
        raise ValueError(
            f"contamination={contamination!r} is not valid; use a number in (0, 0.5] "
            "(the expected share of anomalies, e.g. 0.05) or 'auto' (a threshold from the "
            "fitted mixture's own tail)."
        )
    return float(contamination)


def check_options(*, scale, missing, min_weight, n_refits, trim):
    """Validate the detector's choice parameters."""
    if not isinstance(n_refits, numbers.Integral) or isinstance(n_refits, bool) or n_refits < 0:
        raise ValueError(f"n_refits={n_refits!r} is not valid; use an integer >= 0.")
    if not (isinstance(trim, numbers.Real) and 0 < trim <= 0.5):
        raise ValueError(f"trim={trim!r} is not valid; use a share of rows in (0, 0.5].")
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r} is not supported; use 'standard', 'robust' or None.")
    if missing not in MISSING_OPTIONS:
        raise ValueError(f"missing={missing!r} is not supported; use 'error' or 'em'.")
    if not (min_weight == "auto" or isinstance(min_weight, numbers.Real) and 0 <= min_weight < 1):
        raise ValueError(
            f"min_weight={min_weight!r} is not valid; use 'auto' or a number in [0, 1)."
        )


def column_names(X):
    """String column names of a DataFrame, else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    return [str(c) for c in columns]


def as_table(X, *, missing):
    """X as a float64 ndarray of shape (n_samples, n_features), NaN checked.

    Masked entries of a masked array and pandas' NA are NaN.

    Raises
    ------
    ValueError
        For input that is not a 2-D numeric table, infinite values, or NaN
        when ``missing="error"``.
    """
    if isinstance(X, np.ma.MaskedArray):  # masked entries are missing values
        X = np.ma.filled(np.ma.asarray(X, dtype=np.float64), np.nan)
    elif hasattr(X, "to_numpy") and hasattr(X, "columns"):
        try:  # pandas' nullable columns (Float64, Int64): NA is NaN
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            pass  # text columns: refused below
    try:
        table = np.array(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "X must be a numeric table (rows of numbers); encode text columns as numbers "
            "or drop them."
        ) from None
    if table.ndim != 2 or table.size == 0:
        raise ValueError(
            f"X must be a non-empty 2-D table of shape (n_samples, n_features); got shape "
            f"{table.shape}. Reshape a single feature with X.reshape(-1, 1)."
        )
    if np.isinf(table).any():
        raise ValueError("X contains infinity; replace it by a finite value or NaN.")
    nan_rows = int(np.isnan(table).any(axis=1).sum())
    if nan_rows and missing != "em":
        raise ValueError(NAN_MESSAGE.format(rows=nan_rows))
    return table


def check_training_table(table, names, *, covariance_type):
    """Refuse training data an anomaly detector cannot learn from.

    Parameters
    ----------
    table : ndarray of shape (n_samples, n_features)
    names : list of str or None
    covariance_type : str
    """
    n_samples, n_features = table.shape
    full_rank = covariance_type in ("full", "tied")
    if full_rank and n_features >= n_samples:
        raise ValueError(
            f"X has {n_samples} rows and {n_features} columns; a {covariance_type}-covariance "
            "mixture needs more rows than columns. Add rows, drop columns, or use "
            "covariance_type='diag'."
        )
    empty = np.flatnonzero(np.isnan(table).all(axis=0))
    if empty.size:
        raise ValueError(f"column {_label(empty[0], names)} has no values (all NaN); drop it.")
    if n_samples > 1 and _all_rows_equal(table):
        raise ValueError(
            f"all {n_samples} rows are identical; an anomaly is a row unlike the others, so "
            "the data need at least two distinct rows."
        )
    low, high = np.nanmin(table, axis=0), np.nanmax(table, axis=0)
    constant = np.flatnonzero(low == high)
    if constant.size:
        j = constant[0]
        raise ValueError(
            f"column {_label(j, names)} is constant (every value is {low[j]:g}); a constant "
            "column cannot show an anomaly and has no spread to scale by: drop it."
        )


def _all_rows_equal(table):
    first = table[0]
    same = (table == first) | (np.isnan(table) & np.isnan(first))
    return bool(same.all())


def _label(j, names):
    return f"{int(j)}" if names is None else f"{int(j)} ({names[j]!r})"
