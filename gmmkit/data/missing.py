"""Missing values in X: one scan for the patterns, then the engine's MissingData.

``missing="em"`` (:mod:`gmmkit.engine.missing` has the maths): :func:`scan_missing`
finds each row's missingness pattern and refuses infinity, :func:`make_missing_data`
chooses the reference point and groups the rows into the engine's patterns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.validation import plural
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.missing import MissingData, group_patterns
from gmmkit.engine.reference import check_extent, reference_point

if TYPE_CHECKING:
    from gmmkit.engine.types import AnyArray, BoolArray, FloatArray, IntArray

#: the values of the estimators' ``missing`` parameter
MISSING_OPTIONS = ("error", "em")


def scan_missing(
    X: AnyArray, sample_weight: FloatArray | None, chunk_size: int = 65536
) -> tuple[FloatArray, IntArray, BoolArray]:
    """One pass over X: the mean of the observed values and each row's pattern.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    center : ndarray of shape (n_features,)
        Per feature, the (weighted) mean of its observed values (NaN for a
        feature that has none).
    pattern_of_row : ndarray of shape (n_samples,), int
    masks : ndarray of shape (n_patterns, n_features), bool
        True where a pattern misses the feature.

    Raises
    ------
    ValueError
        If X contains infinity.
    """
    n_samples, n_features = X.shape
    sums, counts = np.zeros(n_features), np.zeros(n_features)
    pattern_of_row = np.empty(n_samples, dtype=np.intp)
    known: dict[bytes, int] = {}
    for start in range(0, n_samples, chunk_size):
        chunk = np.asarray(X[start : start + chunk_size], dtype=np.float64)
        w = None if sample_weight is None else sample_weight[start : start + chunk_size]
        _check_no_infinity(chunk, start)
        missing = np.isnan(chunk)
        observed_weight = (~missing).astype(np.float64)
        if w is not None:
            observed_weight *= w[:, None]
        sums += np.einsum("nd,nd->d", np.where(missing, 0.0, chunk), observed_weight)
        counts += observed_weight.sum(axis=0)
        keys = np.packbits(missing, axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        ids = [known.setdefault(key.tobytes(), len(known)) for key in unique]
        pattern_of_row[start : start + len(chunk)] = np.asarray(ids)[inverse.ravel()]
    masks = np.array(
        [np.unpackbits(np.frombuffer(key, np.uint8))[:n_features] for key in known], dtype=np.bool_
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        center = sums / counts
    return center, pattern_of_row, masks.reshape(len(known), n_features)


def _check_no_infinity(chunk: FloatArray, start: int) -> None:
    infinite = np.isinf(chunk).any(axis=1)
    if infinite.any():
        rows = np.flatnonzero(infinite)
        raise ValueError(
            f"X contains infinity in {plural(rows.size, 'row')} (first: row {start + rows[0]}); "
            "infinity is not a missing value: drop or clip those rows "
            "(e.g. X[~np.isinf(X).any(axis=1)])."
        )


def make_missing_data(
    X: AnyArray,
    sample_weight: FloatArray | None,
    dtype: np.dtype[Any],
    chunk_size: int,
    *,
    fallback_center: FloatArray | None = None,
    center: FloatArray | None = None,
) -> MissingData | None:
    """MissingData for X, or None when X has no NaN (the ordinary path applies).

    Parameters
    ----------
    fallback_center : ndarray of shape (n_features,), optional
        Centre for features with no observed value (scoring); without it
        such a feature is an error (fitting).
    center : ndarray of shape (n_features,), optional
        A fixed reference point (scoring, online EM) instead of the trimmed mean
        of X's observed values (:func:`gmmkit.engine.reference.reference_point`).
    """
    observed_means, pattern_of_row, masks = scan_missing(X, sample_weight)
    if not masks.any():
        return None
    empty = np.isnan(observed_means)
    if center is not None:
        empty[:] = False
    else:
        center = reference_point(X, sample_weight)
        unsampled = np.isnan(center) & ~empty
        center[unsampled] = observed_means[unsampled]
        check_extent(X, np.where(empty, 0.0, center))
    if empty.any():
        if fallback_center is None:
            raise ValueError(
                f"feature {int(np.argmax(empty))} has no observed value (with positive "
                "weight) in X; drop that column: missing='em' needs some values of every "
                "feature."
            )
        center[empty] = fallback_center[empty]
    filled = ChunkedData(X, sample_weight, center, dtype, chunk_size, fill_missing=True)
    patterns = group_patterns(X, sample_weight, center, pattern_of_row, masks, dtype, chunk_size)
    return MissingData(filled, patterns)
