"""Input checks that turn bad input into errors naming the problem and the fix."""

from __future__ import annotations

import contextlib
import numbers
import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.reference import ONE_THREAD_DOT_SIZE
from gmmkit.engine.threads import single_blas_thread

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from gmmkit.engine.types import AnyArray, BoolArray, FloatArray


def _to_float(array: AnyArray, name: str) -> FloatArray:
    """Convert an object array to float64, naming the first value that is not a number.

    None and pandas' NA (as in ``df.to_numpy()`` of nullable columns) become NaN.
    """
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError):
        pass
    missing = _is_pandas_na(array)
    if missing.any():
        array = array.copy()
        array[missing] = None
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError):
            pass
    for j in range(array.shape[1]):
        for value in array[:, j]:
            try:
                float(value)
            except (TypeError, ValueError) as exc:
                # a TypeError keeps Python's own wording ("float() argument must be
                # a string or a real number"), as scikit-learn's checks expect
                kind, detail = (
                    (TypeError, f" ({exc})") if isinstance(exc, TypeError) else (ValueError, "")
                )
                raise kind(
                    f"{name} has a non-numeric value {_show(value)} in column {j}{detail}; "
                    "encode categorical columns as numbers or drop them before fitting."
                ) from None
    raise ValueError(f"{name} could not be converted to float64.")


def _is_pandas_na(array: AnyArray) -> BoolArray:
    """Elementwise: is the value pandas' NA (pandas is not imported for this)."""
    return np.frompyfunc(lambda value: type(value).__name__ == "NAType", 1, 1)(array).astype(bool)


def _unmasked(X: np.ma.MaskedArray[Any, Any]) -> AnyArray:
    """A masked array's data with its masked entries NaN (a copy; float64 for integers)."""
    mask = np.ma.getmaskarray(X)
    data = np.ma.getdata(X)
    if not mask.any():
        return data
    if data.dtype.kind == "f":
        filled = data.copy()
    elif data.dtype.kind in "biu":
        filled = data.astype(np.float64)
    else:
        filled = data.astype(object)
        filled[mask] = None  # becomes NaN in _to_float
        return filled
    filled[mask] = np.nan
    return filled


def _frame_to_numpy(X: Any, name: str) -> Any:
    """A DataFrame as an ndarray; nullable columns (Float64, Int64, boolean) with NA as NaN."""
    bad = [str(c) for c, dt in zip(X.columns, X.dtypes) if not _is_numeric_dtype(dt)]
    if bad:
        raise ValueError(
            f"{name} has non-numeric columns {bad}; encode them as numbers "
            "(e.g. one-hot) or drop them before fitting."
        )
    if all(_is_numpy_dtype(dt) for dt in X.dtypes):
        return X
    kinds = [np.dtype(getattr(dt, "numpy_dtype", np.float64)) for dt in X.dtypes]
    dtype = np.result_type(*kinds) if kinds else np.dtype(np.float64)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)  # integers and booleans with NA need NaN
    return X.to_numpy(dtype=dtype, na_value=np.nan)


def check_array(X: object, *, name: str = "X") -> AnyArray:
    """Return ``X`` as a 2-D numeric ndarray, without copying when possible.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Lists, ndarrays, memmaps, numpy masked arrays and pandas DataFrames
        (nullable Float64/Int64/boolean columns too) are accepted.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        Integer, boolean and float16 data are kept as they are (cast chunk
        by chunk later); object arrays of numbers are converted to float64.
        Missing entries become NaN: masked entries of a masked array,
        pandas' NA and None (NaN is then refused unless the estimator fits
        missing values).

    Raises
    ------
    ValueError
        For non-numeric values, complex numbers, 1-D or 3-D input, and empty input.
    """
    if _is_sparse(X):
        raise TypeError(
            f"Sparse data was passed for {name}, but dense data is required: "
            f"convert it with {name}.toarray() (gmmkit does not fit sparse matrices)."
        )
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        X = _frame_to_numpy(X, name)
    elif isinstance(X, np.ma.MaskedArray):
        X = _unmasked(X)
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} could not be read as a numeric array ({exc}); pass a 2-D "
            "array of numbers with one row per sample."
        ) from None
    if np.iscomplexobj(array):
        raise ValueError(
            f"Complex data not supported: {name} has complex values; pass the "
            "real and imaginary parts as separate features."
        )
    if array.size == 0 and not (array.ndim == 2 and array.shape[0] > 0):
        raise ValueError(
            f"{name} is empty: found array with 0 samples (shape {array.shape}); "
            "a minimum of 1 is required."
        )
    if array.ndim == 0:
        raise ValueError(
            f"{name} must be a 2-D array of numbers (n_samples, n_features); got a "
            f"single value {_show(X)}."
        )
    if array.ndim != 2:
        if array.ndim == 1:
            raise ValueError(
                f"Expected a 2-D array for {name}, got a {array.ndim}-D array of shape "
                f"{array.shape}. Reshape your data with X.reshape(-1, 1) if it has a "
                "single feature or X.reshape(1, -1) if it is a single sample."
            )
        raise ValueError(
            f"Expected a 2-D array for {name} (n_samples, n_features), got shape "
            f"{array.shape}; reshape it, e.g. X.reshape(-1, X.shape[-1])."
        )
    if array.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required."
        )
    if array.dtype.kind in "biuf":
        return array
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported in {name}.")
    return _to_float(array, name)


def _show(value: object) -> str:
    """repr of a value as the user typed it (no numpy scalar wrappers)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 row', '3 rows' ('1 entry', '2 entries' with ``nouns``)."""
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


def _is_sparse(X: object) -> bool:
    """A scipy.sparse matrix or array (without importing scipy.sparse: it
    cannot be one unless the caller has imported it)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def _is_numeric_dtype(dtype: Any) -> bool:
    """numpy's numbers, and pandas' nullable ones (Float64, Int64, boolean: kind b, i, u, f)."""
    if _is_numpy_dtype(dtype):
        return np.dtype(dtype).kind in "biuf"
    return getattr(dtype, "kind", None) in tuple("biuf") and hasattr(dtype, "numpy_dtype")


def _is_numpy_dtype(dtype: Any) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


def check_sample_weight(sample_weight: ArrayLike | None, n_samples: int) -> FloatArray | None:
    """Validate sample weights.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
    n_samples : int

    Returns
    -------
    ndarray of shape (n_samples,), float64, or None when all weights are 1.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "sample_weight must be numeric: one non-negative number per row of X."
        ) from None
    if weights.ndim != 1:
        raise ValueError(
            f"sample_weight must be 1-D with one weight per sample, got shape "
            f"{weights.shape}; use sample_weight.ravel() if it is a column."
        )
    if weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {weights.shape[0]} entries but X has {n_samples} "
            "samples; pass one weight per row of X."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError(
            f"sample_weight contains NaN or inf in "
            f"{plural(int(np.sum(~np.isfinite(weights))), 'entry', 'entries')}; "
            "weights must be finite."
        )
    negative = int(np.sum(weights < 0))
    if negative:
        raise ValueError(
            f"sample_weight has {plural(negative, 'negative value')}; weights must be >= 0."
        )
    if not np.any(weights > 0):
        raise ValueError(
            "sample_weight sums to zero: every sample has weight 0; give at least "
            "one sample a positive weight."
        )
    return weights


#: what to do about NaN, for estimators that can fit missing values
NAN_FIX = "pass missing='em' to treat NaN as missing values, or drop those rows"


def scan_rows(
    X: AnyArray, sample_weight: FloatArray | None, chunk_size: int = 65536, nan_fix: str = NAN_FIX
) -> FloatArray:
    """One pass over ``X``: check every value is finite and find the weighted mean.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
    chunk_size : int
        Rows read at a time.
    nan_fix : str
        The fix the NaN message proposes.

    Returns
    -------
    center : ndarray of shape (n_features,), float64
        The (weighted) mean of the finite rows: the reference point the
        engine centres data on.

    Raises
    ------
    ValueError
        If X contains NaN or inf, naming how many rows and the first one.
    """
    scan = RowScan(X.shape[1], nan_fix)
    for start in range(0, X.shape[0], chunk_size):
        w = None if sample_weight is None else sample_weight[start : start + chunk_size]
        scan.add(X[start : start + chunk_size], w, start)
    return scan.center()


class RowScan:
    """The running totals of :func:`scan_rows`, fed chunk by chunk (also by data streams).

    Parameters
    ----------
    n_features : int
    nan_fix : str
        The fix the NaN message proposes.
    """

    def __init__(self, n_features: int, nan_fix: str = NAN_FIX) -> None:
        self.total = np.zeros(n_features)
        self.weight_sum = 0.0
        self.bad_rows, self.has_nan = 0, False
        self.first_bad: int | None = None
        self.nan_fix = nan_fix

    def add(self, chunk: AnyArray, w: FloatArray | None, start: int) -> None:
        """Add rows ``start .. start + len(chunk)``: chunk (n, D), weights (n,) or None."""
        # One product per chunk both sums the rows and checks them: a NaN or
        # inf anywhere makes its column sum non-finite.
        column_sums = _weighted_column_sums(chunk, w)
        if not np.all(np.isfinite(column_sums)):
            finite = (
                np.isfinite(chunk).all(axis=1)
                if chunk.dtype.kind == "f"
                else np.ones(len(chunk), bool)
            )
            bad = np.flatnonzero(~finite)
            if bad.size:
                self.bad_rows += bad.size
                self.has_nan = self.has_nan or bool(np.isnan(chunk[bad]).any())
                if self.first_bad is None:
                    self.first_bad = start + int(bad[0])
                chunk = chunk[finite]
                w = None if w is None else w[finite]
            # (finite values can also overflow a float32 sum: redo in float64)
            column_sums = _weighted_column_sums(chunk.astype(np.float64), w)
        self.total += column_sums
        self.weight_sum += chunk.shape[0] if w is None else float(w.sum())

    def center(self) -> FloatArray:
        """The weighted mean: ndarray of shape (n_features,); raises if a row was not finite."""
        if self.bad_rows:
            if self.has_nan:
                fix = self.nan_fix
            else:
                fix = "infinity is not a missing value: drop or clip those rows"
            kind = "NaN" if self.has_nan else "infinity"
            error = ValueError(
                f"X contains {kind} in {plural(self.bad_rows, 'row')} (first: row "
                f"{self.first_bad}); {fix} (e.g. X[np.isfinite(X).all(axis=1)])."
            )
            # for messages in other terms (the command line): kind, rows, first row (0-based)
            error.non_finite = (kind, self.bad_rows, self.first_bad)  # type: ignore[attr-defined]
            raise error
        if self.weight_sum <= 0:
            return np.zeros(self.total.size)
        return self.total / self.weight_sum


def _weighted_column_sums(chunk: AnyArray, weights: FloatArray | None) -> FloatArray:
    """sum_n w_n x_n of a chunk as float64: (D,). One GEMV in the chunk's dtype.

    From :data:`~gmmkit.engine.reference.ONE_THREAD_DOT_SIZE` values the
    GEMV runs on one BLAS thread: a BLAS team splits the sum by its size,
    so the float32 sums (a Bayesian mixture's default ``mean_prior``) would
    depend on the thread count; one thread is also no slower for a
    memory-bound GEMV (1,000,000 x 16: 4.4 ms against 8.9 ms on two).
    """
    if chunk.dtype.kind != "f":
        chunk = chunk.astype(np.float64)
    if weights is None:
        weights = np.ones(chunk.shape[0], dtype=chunk.dtype)
    one_thread = single_blas_thread("blas") if chunk.size >= ONE_THREAD_DOT_SIZE else None
    with one_thread or contextlib.nullcontext():
        return (weights.astype(chunk.dtype, copy=False) @ chunk).astype(np.float64)


def check_n_features(X: AnyArray, n_features_in: int, estimator_name: str) -> None:
    """Raise when X has a different number of features than at fit time."""
    if X.shape[1] != n_features_in:
        raise ValueError(
            f"X has {X.shape[1]} features, but {estimator_name} is expecting "
            f"{n_features_in} features as input. Pass data with the same columns "
            "as at fit time."
        )


def feature_names(X: object) -> NDArray[np.object_] | None:
    """Column names of a DataFrame-like X when they are all strings, else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size and all(isinstance(name, str) for name in names):
        return names
    return None


def check_feature_names(
    X: object, fitted_names: NDArray[np.object_] | None, estimator_name: str
) -> None:
    """Compare X's column names with those seen at fit time (scikit-learn's rules).

    Raises
    ------
    ValueError
        When both have names and they differ.
    """
    names = feature_names(X)
    if fitted_names is None and names is not None:
        warnings.warn(
            f"X has feature names, but {estimator_name} was fitted without feature names",
            UserWarning,
            stacklevel=4,
        )
    elif fitted_names is not None and names is None:
        warnings.warn(
            f"X does not have valid feature names, but {estimator_name} was fitted "
            "with feature names",
            UserWarning,
            stacklevel=4,
        )
    elif names is not None and fitted_names is not None and not np.array_equal(names, fitted_names):
        raise ValueError(
            "The feature names should match those that were passed during fit: "
            f"fitted with {list(fitted_names)}, got {list(names)}. Select and order "
            "the columns as at fit time."
        )


def check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")


def check_number(name: str, value: object, minimum: float) -> None:
    if (
        isinstance(value, bool) or not isinstance(value, numbers.Real)
        or not value >= minimum  # type: ignore[operator]  # (typeshed: Real has no >=)
    ):
        raise ValueError(f"{name} must be a number >= {minimum}; got {value!r}.")


def as_float_array(name: str, value: ArrayLike, shape: Sequence[int]) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf.")
    return array
