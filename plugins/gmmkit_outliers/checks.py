"""Input checks of the outlier detector: each bad input gets one clear message."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from gmmkit_outliers.covariance import layout

SCALES = ("standard", "robust", None)
ENSEMBLES = ("bagging", None)
#: buckets of members for combination="aom" and "moa" (PyOD's default)
N_BUCKETS = 5
MISSING_OPTIONS = ("error", "em")
NAN_MESSAGE = (
    "X contains NaN in {rows} row(s); pass missing='em' to treat NaN as missing values, "
    "or drop those rows."
)


class EnsembleFallbackWarning(UserWarning):
    """The data are too small for the ensemble; the detector fitted the single model.

    ``ensemble_`` is then False. Pass ``ensemble=None`` to ask for the
    single model and silence it.
    """


class ConstantColumnWarning(UserWarning):
    """Training data had constant columns; the detector ignores them.

    A column that never varies cannot show an anomaly and has no spread to
    scale by. The fitted detector records them in ``ignored_columns_`` and
    scores every row (also of new data) without them. Filter it with
    ``warnings.filterwarnings("ignore", category=ConstantColumnWarning)``.
    """


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


def check_ensemble(*, ensemble, n_estimators, max_features, max_samples, bootstrap,
                   combination, combinations, member_scale="robust", member_scales=("robust",)):
    """Validate the ensemble's parameters (also when ``ensemble`` is None: a typo shows)."""
    if ensemble not in ENSEMBLES:
        raise ValueError(
            f"ensemble={ensemble!r} is not supported; use 'bagging' (bootstrap rows and random "
            "feature subspaces) or None (one robust mixture)."
        )
    if not _is_int(n_estimators) or n_estimators < 1:
        raise ValueError(f"n_estimators={n_estimators!r} is not valid; use an integer >= 1.")
    if not (isinstance(max_features, numbers.Real) and not isinstance(max_features, bool)
            and 0 < max_features <= 1):
        raise ValueError(
            f"max_features={max_features!r} is not valid; use a share of the columns in (0, 1]."
        )
    valid_samples = (
        (isinstance(max_samples, str) and max_samples == "auto")
        or (_is_int(max_samples) and max_samples >= 2)
        or (isinstance(max_samples, float) and 0 < max_samples <= 1)
    )
    if not valid_samples:
        raise ValueError(
            f"max_samples={max_samples!r} is not valid; use 'auto', a number of rows >= 2 or a "
            "share of the rows in (0, 1]."
        )
    if not isinstance(bootstrap, bool):
        raise ValueError(f"bootstrap={bootstrap!r} is not valid; use True or False.")
    if combination not in combinations:
        raise ValueError(
            f"combination={combination!r} is not supported; use one of "
            f"{', '.join(repr(c) for c in combinations)}."
        )
    if member_scale not in member_scales:
        raise ValueError(
            f"member_scale={member_scale!r} is not supported; use one of "
            f"{', '.join(repr(c) for c in member_scales)}."
        )
    if combination in ("aom", "moa") and n_estimators % N_BUCKETS:
        raise ValueError(
            f"combination={combination!r} splits the members into {N_BUCKETS} equal buckets, "
            f"and n_estimators={n_estimators} does not split evenly; use a multiple of "
            f"{N_BUCKETS} (e.g. {N_BUCKETS * max(1, round(n_estimators / N_BUCKETS))})."
        )


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


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
    """Refuse training data an anomaly detector cannot learn from; find constant columns.

    Parameters
    ----------
    table : ndarray of shape (n_samples, n_features)
    names : list of str or None
    covariance_type : str

    Returns
    -------
    ndarray of int
        The columns whose observed values are all equal (sorted), after a
        :class:`ConstantColumnWarning` naming them. The detector ignores them.

    Raises
    ------
    ValueError
        For an all-NaN column, identical rows, data where no column varies,
        (full and tied covariances) no more rows than varying columns, or a
        univariate model ("E", "V") for several columns.
    """
    n_samples, n_features = table.shape
    empty = np.flatnonzero(np.isnan(table).all(axis=0))
    if empty.size:
        raise ValueError(f"column {_label(empty[0], names)} has no values (all NaN); drop it.")
    if _all_rows_equal(table):
        rows = "X has a single row" if n_samples == 1 else f"all {n_samples} rows are identical"
        raise ValueError(
            f"{rows}; an anomaly is a row unlike the others, so the data need at least two "
            "distinct rows."
        )
    low, high = np.nanmin(table, axis=0), np.nanmax(table, axis=0)
    constant = np.flatnonzero(low == high)
    if constant.size == n_features:
        raise ValueError(
            "no column varies: every column has a single value (rows differ only in which "
            "values are missing); an anomaly needs a column in which it can differ."
        )
    n_varying = n_features - constant.size
    if covariance_type in ("E", "V") and n_varying > 1:
        raise ValueError(
            f"covariance_type={covariance_type!r} is mclust's univariate model, but X has "
            f"{n_varying} varying columns; use it for one column, or a multivariate model "
            f"such as {covariance_type * 2 + 'I'!r} (with one column, members and the single "
            "model use E or V by themselves)."
        )
    if layout(covariance_type) in ("full", "tied") and n_varying >= n_samples:
        ignored = f" ({constant.size} constant ones ignored)" if constant.size else ""
        raise ValueError(
            f"X has {n_samples} rows and {n_varying} columns{ignored}; a {covariance_type}-"
            "covariance mixture needs more rows than columns. Add rows, drop columns, or use "
            "covariance_type='diag'."
        )
    if constant.size:
        warnings.warn(_constant_message(constant, low, names), ConstantColumnWarning,
                      stacklevel=3)
    return constant


def _constant_message(constant, values, names):
    if constant.size == 1:
        j = constant[0]
        return (f"column {_label(j, names)} is constant (every value is {values[j]:g}) and is "
                "ignored: a constant column cannot show an anomaly; rows are scored without it.")
    shown = ", ".join(_label(j, names) for j in constant[:10])
    more = f" and {constant.size - 10} more ({constant.size} in all)" if constant.size > 10 \
        else ""
    return (f"columns {shown}{more} are constant and are ignored: a constant column cannot "
            "show an anomaly; rows are scored without them.")


def _all_rows_equal(table):
    first = table[0]
    same = (table == first) | (np.isnan(table) & np.isnan(first))
    return bool(same.all())


def _label(j, names):
    return f"{int(j)}" if names is None else f"{int(j)} ({names[j]!r})"
