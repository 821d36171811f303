"""Checks and the centre pass of Dask arrays (:mod:`gmmkit.data.dask_arrays`).

The centre pass is one Dask computation: every block gives a
:class:`Summary` (weighted column sums, bad rows, weight problems, the
noise box), and the summaries add up. The errors then raised are those
in-memory data get (:func:`gmmkit.data.validation.scan_rows`,
:func:`gmmkit.data.validation.check_sample_weight`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from gmmkit.data.validation import plural

if TYPE_CHECKING:
    import dask.array as da
    from numpy.typing import ArrayLike

    from gmmkit.data.settings import DataSettings
    from gmmkit.engine.em import Stats
    from gmmkit.engine.types import FloatArray

#: what the tree reductions sum: the engine's Stats, or the centre pass's Summary
S = TypeVar("S", "Stats", "Summary")

#: rows converted to float64 at a time by the centre pass
SCAN_ROWS = 65536

#: the NaN fix the messages propose (missing="em" does not take Dask arrays)
NAN_FIX = "drop those rows (missing='em' does not take Dask arrays)"


def add_all(*parts: S | None) -> S | None:
    """The sum of the parts that are not None, in order (None if there are none)."""
    present = [part for part in parts if part is not None]
    return reduce(lambda a, b: a + b, present) if present else None


def check_dask_array(X: da.Array) -> da.Array:
    """X as a 2-D numeric Dask array of known shape with its columns in one block."""
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D Dask array for X (n_samples, n_features), got shape {X.shape}; "
            "reshape it, e.g. X.reshape(-1, 1) for a single feature."
        )
    if np.dtype(X.dtype).kind not in "biuf":
        raise ValueError(
            f"X has dtype {X.dtype}; a Dask array must hold real numbers (bool, int or "
            "float): convert it with X.astype('float64')."
        )
    if any(np.isnan(size) for size in X.shape):
        raise ValueError(
            "X has unknown chunk sizes (e.g. after boolean indexing); call "
            "X.compute_chunk_sizes() before fitting."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"X is empty: found an array of shape {X.shape}; a minimum of 1 sample and "
            "1 feature is required."
        )
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def aligned_weights(sample_weight: ArrayLike | da.Array | None, X: da.Array) -> da.Array | None:
    """Sample weights as a float64 Dask array with X's row chunks, or None.

    In-memory weights are checked here (gmmkit's usual messages); the
    values of Dask weights are checked by the centre pass.
    """
    if sample_weight is None:
        return None
    import dask.array as da

    from gmmkit.data.validation import check_sample_weight

    n_samples = X.shape[0]
    if not isinstance(sample_weight, da.Array):
        weights = check_sample_weight(sample_weight, n_samples)
        return da.from_array(weights, chunks=(X.chunks[0],))
    if any(np.isnan(size) for size in sample_weight.shape):
        raise ValueError("sample_weight has unknown chunk sizes; call "
                         "sample_weight.compute_chunk_sizes() before fitting.")
    if sample_weight.shape != (n_samples,):  # the in-memory message, from a stand-in
        check_sample_weight(np.broadcast_to(0.0, sample_weight.shape), n_samples)
    if np.dtype(sample_weight.dtype).kind not in "biuf":
        raise ValueError("sample_weight must be numeric: one non-negative number per row of X.")
    weights = sample_weight.astype(np.float64)
    if weights.chunks[0] != X.chunks[0]:
        weights = weights.rechunk((X.chunks[0],))
    return weights


@dataclass
class Summary:
    """What the centre pass learns about a block of rows; summaries add up.

    Attributes
    ----------
    sums : ndarray of shape (D,)
        sum_n w_n x_n over the finite rows, float64.
    weight : float
        sum_n w_n over the finite rows.
    bad_rows : int
        Rows with NaN or infinity; ``first_bad`` the index of the first
        (None: none), ``has_nan`` whether one of them has a NaN.
    positive : int
        Rows with a positive weight.
    bad_weights, negative : int
        Weights that are NaN or infinite, weights below 0.
    low, high : ndarray of shape (D,) or None
        Per feature, min and max over finite rows with positive weight
        (only when the noise box is wanted).
    """

    sums: np.ndarray
    weight: float
    bad_rows: int = 0
    first_bad: int | None = None
    has_nan: bool = False
    positive: int = 0
    bad_weights: int = 0
    negative: int = 0
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def __add__(self, other: Summary) -> Summary:
        firsts = [i for i in (self.first_bad, other.first_bad) if i is not None]
        return Summary(
            self.sums + other.sums,
            self.weight + other.weight,
            self.bad_rows + other.bad_rows,
            min(firsts) if firsts else None,
            self.has_nan or other.has_nan,
            self.positive + other.positive,
            self.bad_weights + other.bad_weights,
            self.negative + other.negative,
            None if self.low is None or other.low is None else np.fmin(self.low, other.low),
            None if self.high is None or other.high is None else np.fmax(self.high, other.high),
        )

    def check(self, settings: DataSettings, *, weighted: bool) -> None:
        """Raise the errors in-memory data would raise (same messages).

        ``settings`` is the estimator's :class:`gmmkit.data.settings.DataSettings`.
        """
        if self.bad_weights:
            raise ValueError(
                f"sample_weight contains NaN or inf in "
                f"{plural(self.bad_weights, 'entry', 'entries')}; weights must be finite."
            )
        if self.negative:
            raise ValueError(
                f"sample_weight has {plural(self.negative, 'negative value')}; "
                "weights must be >= 0."
            )
        if weighted and not self.positive:
            raise ValueError(
                "sample_weight sums to zero: every sample has weight 0; give at least "
                "one sample a positive weight."
            )
        if weighted:  # counts rows with positive weight, without holding the weights
            settings.check_enough_samples(self.positive, weighted=True)
        if self.bad_rows:
            fix = NAN_FIX if self.has_nan else (
                "infinity is not a missing value: drop or clip those rows")
            raise ValueError(
                f"X contains {'NaN' if self.has_nan else 'infinity'} in "
                f"{plural(self.bad_rows, 'row')} (first: row {self.first_bad}); {fix} "
                "(e.g. X[np.isfinite(X).all(axis=1)])."
            )


def summarize_block(x: ArrayLike, w: ArrayLike | None, offset: int, with_bounds: bool) -> Summary:
    """The :class:`Summary` of one block; ``offset`` is its first row's index in X."""
    x = np.asarray(x)
    w = None if w is None else np.asarray(w, dtype=np.float64)
    n_features = x.shape[1]
    empty = Summary(np.zeros(n_features), 0.0)
    if with_bounds:
        empty.low, empty.high = np.full(n_features, np.inf), np.full(n_features, -np.inf)
    parts = [
        _summarize_rows(
            np.asarray(x[s : s + SCAN_ROWS], dtype=np.float64),
            None if w is None else w[s : s + SCAN_ROWS], offset + s, with_bounds,
        )
        for s in range(0, x.shape[0], SCAN_ROWS)
    ]
    total = add_all(empty, *parts)
    assert total is not None  # (empty is not None)
    return total


def _summarize_rows(
    chunk: FloatArray, w: FloatArray | None, offset: int, with_bounds: bool
) -> Summary:
    n = chunk.shape[0]
    summary = Summary(np.zeros(chunk.shape[1]), 0.0)
    if w is None:
        w = np.ones(n)
    else:
        valid = np.isfinite(w)
        summary.bad_weights = int(n - np.count_nonzero(valid))
        summary.negative = int(np.count_nonzero(w[valid] < 0))
        w = np.where(valid & (w > 0), w, 0.0)
    summary.positive = int(np.count_nonzero(w > 0))
    finite = np.isfinite(chunk).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        summary.bad_rows, summary.first_bad = bad.size, offset + int(bad[0])
        summary.has_nan = bool(np.isnan(chunk[bad]).any())
        chunk, w = chunk[finite], w[finite]
    summary.sums = w @ chunk
    summary.weight = float(w.sum())
    if with_bounds:
        kept = chunk[w > 0]
        summary.low = kept.min(axis=0) if kept.size else np.full(chunk.shape[1], np.inf)
        summary.high = kept.max(axis=0) if kept.size else np.full(chunk.shape[1], -np.inf)
    return summary
