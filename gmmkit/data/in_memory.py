"""An in-memory array as the engine's chunked data: centred, checked, missing values by pattern."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gmmkit.data.missing import make_missing_data
from gmmkit.data.validation import scan_rows
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.reference import (
    check_extent,
    reference_point,
    square_sum,
    square_sum_bound,
    within_extent,
)

if TYPE_CHECKING:
    from gmmkit.engine.missing import MissingData
    from gmmkit.engine.types import AnyArray, FloatArray


def in_memory_data(
    X: AnyArray,
    weights: FloatArray | None,
    *,
    dtype: np.dtype,
    chunk_rows: int,
    missing: str,
    nan_fix: str,
    fallback_center: FloatArray | None = None,
    center: FloatArray | None = None,
) -> ChunkedData | MissingData:
    """X served in chunks, centred on a trimmed mean (engine.reference); checks it is finite.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated (``check_array``).
    weights : ndarray of shape (n_samples,) or None
    dtype : numpy dtype
        The working dtype (:func:`gmmkit.data.settings.work_dtype`).
    chunk_rows : int
        Rows per chunk (:func:`gmmkit.data.settings.chunk_rows`).
    missing : {"error", "em"}
        "em": with NaN in X, a MissingData served pattern by pattern;
        ``fallback_center`` centres features that have no value.
    nan_fix : str
        The fix a NaN error proposes (with ``missing="error"``).
    center : ndarray of shape (n_features,), optional
        The reference point to centre on (online EM, scoring); None: fitting,
        the trimmed mean of the data.

    Returns
    -------
    ChunkedData or MissingData
    """
    if missing == "em":
        data = make_missing_data(
            X, weights, dtype, chunk_rows, fallback_center=fallback_center, center=center
        )
        if data is not None:
            return data
    if center is not None:  # scoring
        total = square_sum(X)  # a finite sum shows every value is finite
        if total is None or not np.isfinite(total):
            scan_rows(X, weights, nan_fix=nan_fix)  # names the first row that is not finite
        # (it also bounds every row's distance from the centre: engine.far_rows.FarCheck)
        return ChunkedData(X, weights, center, dtype, chunk_rows,
                           square_sum=square_sum_bound(X, total))
    # fitting: centre on the bulk of the data. One sum of squares usually shows
    # that every value is finite and within reach (engine.reference.within_extent);
    # otherwise the exact checks name the row at fault
    center = reference_point(X, weights)
    if np.isnan(center).any() or not within_extent(X, center):
        mean = scan_rows(X, weights, nan_fix=nan_fix)  # also checks X is finite
        center[np.isnan(center)] = mean[np.isnan(center)]
        check_extent(X, center)
    return ChunkedData(X, weights, center, dtype, chunk_rows)
