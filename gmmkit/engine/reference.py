"""The reference point a fit centres the data on, and the values it cannot take.

The engine subtracts one point from every chunk (gmmkit.engine.chunked_data.ChunkedData) so
that expanded quadratic forms and second moments keep their digits for
data far from the origin; their rounding grows as eps x (distance of a
component from that point, in its own widths)**2. :func:`reference_point`
chooses the point so that one far row cannot drag it away from the bulk
of the data; :class:`ReferenceSample` finds the same point in one pass over
a stream; :func:`check_extent` refuses values whose squares overflow
(:func:`within_extent` first tries to prove in one quick pass that none does).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.threads import single_blas_thread

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from gmmkit.engine.types import AnyArray, FloatArray, IntArray

#: rows of X (evenly spaced) that :func:`reference_point` looks at
REFERENCE_ROWS = 4096
#: share of the weight :func:`reference_point` leaves out at each end
REFERENCE_TRIM = 0.1


def reference_point(X: AnyArray, sample_weight: FloatArray | None = None) -> FloatArray:
    """The point a fit centres the data on: a coordinate-wise trimmed mean.

    The weighted mean of each feature's values between its 10% and 90%
    weighted quantiles, over at most ``REFERENCE_ROWS`` evenly spaced rows
    (:func:`reference_rows`; any point near the bulk of the data will do).
    Not the mean: one row at 1e12 drags the mean of 500 rows to 2e9, and
    the expanded quadratic forms and second moments of every component
    would then lose eps x (2e9 / spread)**2 of accuracy. Not the median
    either: between two equal clusters the median sits at the edge of one
    of them, the trimmed mean in the middle, like the mean.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        NaN entries are ignored.
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    ndarray of shape (n_features,), float64
        NaN for a feature without a value (of positive weight) among those rows.
    """
    rows = reference_rows(X.shape[0])
    return trimmed_mean(X[rows], None if sample_weight is None else sample_weight[rows])


def reference_rows(n_samples: int) -> IntArray:
    """The rows :func:`reference_point` looks at: every 2**j-th, at most REFERENCE_ROWS.

    (A power of two, so :class:`ReferenceSample` finds the same rows in one
    pass over a stream whose length it learns only at the end.)
    """
    step = 1
    while -(-n_samples // step) > REFERENCE_ROWS:
        step *= 2
    return np.arange(0, n_samples, step)


class ReferenceSample:
    """The rows of :func:`reference_rows` picked from blocks read in order, in one pass.

    It keeps every ``step``-th row, doubling ``step`` (and dropping every
    other row kept) before more than REFERENCE_ROWS would be kept; memory
    stays bounded by REFERENCE_ROWS rows.
    """

    def __init__(self) -> None:
        self.step = 1
        self.rows: list[IntArray] = []
        self.values: list[FloatArray] = []
        self.weights: list[FloatArray | None] = []

    def add(self, start: int, block: FloatArray, weights: FloatArray | None = None) -> None:
        """Rows ``start .. start + len(block)``: block (n, D), weights (n,) or None."""
        kept = sum(len(rows) for rows in self.rows)
        while kept + len(range(-start % self.step, block.shape[0], self.step)) > REFERENCE_ROWS:
            self._double()
            kept = len(self.rows[0]) if self.rows else 0
        first = -start % self.step
        self.rows.append(np.arange(start + first, start + block.shape[0], self.step))
        self.values.append(np.array(block[first :: self.step], dtype=np.float64))
        self.weights.append(None if weights is None else weights[first :: self.step])

    def _double(self) -> None:
        """Keep every 2 * step-th row only."""
        self.step *= 2
        if not self.rows:
            return
        rows, values, weights = self._joined()
        keep = rows % self.step == 0
        self.rows, self.values = [rows[keep]], [values[keep]]
        self.weights = [None if weights is None else weights[keep]]

    def _joined(self) -> tuple[IntArray, FloatArray, FloatArray | None]:
        known = [w for w in self.weights if w is not None]
        weights = np.concatenate(known) if len(known) == len(self.weights) else None
        return np.concatenate(self.rows), np.concatenate(self.values), weights

    def center(self) -> FloatArray:
        """:func:`trimmed_mean` of the rows picked: (D,)."""
        _, values, weights = self._joined()
        return trimmed_mean(values, weights)


def trimmed_mean(sample: ArrayLike, weights: ArrayLike | None = None) -> FloatArray:
    """Each column's weighted mean between its 10% and 90% weighted quantiles: (D,).

    NaN entries are ignored; a column without values gives NaN.
    """
    # C order: einsum's sums below add in an order that depends on the layout,
    # and a column subset X[:, cols] comes in Fortran order
    sample = np.ascontiguousarray(sample, dtype=np.float64)
    if weights is None:  # the sorted values suffice (np.sort: 0.5 ms, not 7, at 4,096 x 39)
        values = np.sort(sample, axis=0)  # NaN last
        if values.size and not np.isnan(values[-1]).any():
            return _unit_trimmed_mean(values)
        sorted_weights = np.ones_like(values)
    else:
        order = np.argsort(sample, axis=0, kind="stable")  # NaN last
        values = np.take_along_axis(sample, order, axis=0)
        sorted_weights = np.asarray(weights, np.float64)[order]
    known = ~np.isnan(values)
    upper = np.cumsum(np.where(known, sorted_weights, 0.0), axis=0)
    lower = upper - np.where(known, sorted_weights, 0.0)
    kept = _kept_weights(upper, lower, upper[-1])
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0: a column without values
        return np.einsum("nd,nd->d", np.where(kept > 0, values, 0.0), kept) / kept.sum(axis=0)


def _kept_weights(upper: FloatArray, lower: FloatArray, total: FloatArray) -> FloatArray:
    """The weight each sorted value keeps between the trimmed quantiles.

    A value spans the cumulative weights [lower, upper) of its column (of
    ``total``); it keeps the part inside [REFERENCE_TRIM, 1 - REFERENCE_TRIM]
    of the total.
    """
    return np.clip(
        np.minimum(upper, (1 - REFERENCE_TRIM) * total) - np.maximum(lower, REFERENCE_TRIM * total),
        0.0, None,
    )


def _unit_trimmed_mean(values: FloatArray) -> FloatArray:
    """:func:`trimmed_mean` of sorted columns (n, D) without NaN, unweighted: (D,).

    Every column then has the same cumulative weights 1..n, so the weight
    each value keeps is computed once for all columns: the same numbers as
    the general path (integers and the same operations on them), with 4
    arrays of the sample's size instead of 13 (1 against 3 ms at 3,125 x 39).
    """
    upper = np.arange(1.0, values.shape[0] + 1.0)  # the cumulative sum of unit weights
    share = _kept_weights(upper, upper - 1.0, upper[-1])
    kept = np.empty_like(values)
    kept[...] = share[:, None]
    inside = np.where((share > 0)[:, None], values, 0.0)
    return np.einsum("nd,nd->d", inside, kept) / kept.sum(axis=0)


#: a fit squares distances from the reference point; beyond this they overflow float64
MAX_FIT_EXTENT = 1e150

#: :func:`square_sum` holds BLAS to one thread from this many values on:
#: OpenBLAS's dot product wakes its thread team above 10,000 values, and a
#: team woken by a scoring call's check (1,000 x 60 rows) took 8-12 ms
#: instead of 3 us on a busy machine, then spun on a core after it
ONE_THREAD_DOT_SIZE = 2**13


def check_extent(X: AnyArray, center: FloatArray, chunk_size: int = 65536) -> None:
    """Refuse values a fit cannot square: farther than MAX_FIT_EXTENT from ``center``.

    Two reductions over all of X (no copy); only when they find a value
    that may be that far is X searched for its row. NaN entries are ignored.

    Raises
    ------
    ValueError
        Naming the first such row and feature.
    """
    largest = np.fmax(np.abs(np.fmin.reduce(X, axis=None)), np.abs(np.fmax.reduce(X, axis=None)))
    if not largest > MAX_FIT_EXTENT - np.max(np.abs(center), initial=0.0):
        return  # (also when every value is NaN)
    for start in range(0, X.shape[0], chunk_size):
        chunk = np.asarray(X[start : start + chunk_size], dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            far = np.abs(chunk - center) > MAX_FIT_EXTENT
        if far.any():
            row, feature = np.argwhere(far)[0]
            raise ValueError(
                f"X row {start + row} has {chunk[row, feature]:.3g} in feature {feature}, "
                f"{_TOO_FAR}: drop or clip that row, or rescale X."
            )


def square_sum(X: AnyArray) -> float | None:
    """The sum of the squares of X's values: one BLAS dot product on one thread.

    About 1.7 ms for 200,000 x 39 float64 (7 for a column sum and two
    extreme-value reductions). One thread because OpenBLAS would wake its
    team above 10,000 values, which keeps spinning for a while after the
    call (up to ~0.1 s) and takes a core from the chunk passes that follow,
    and took 8-12 ms for a scoring call's 1,000 x 60 rows on a busy machine.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    float or None
        inf or NaN when X has a value that is not finite or the sum
        overflows; None when X is not a contiguous float32/float64 array.
    """
    if (
        not isinstance(X, np.ndarray)
        or X.dtype not in (np.float32, np.float64)
        or not (X.flags.c_contiguous or X.flags.f_contiguous)
    ):
        return None
    values = X.ravel(order="K")  # a view (X is contiguous)
    one_thread = single_blas_thread("blas") if values.size >= ONE_THREAD_DOT_SIZE else None
    with np.errstate(all="ignore"), one_thread or contextlib.nullcontext():
        return float(np.dot(values, values))


def square_sum_bound(X: AnyArray, total: float | None) -> float:
    """An upper bound of the exact sum of squares of X from its computed one ``total``.

    A sum of m terms rounds by at most (m - 1) eps of the exact one; a bound
    is given while that is at most half of it (float32 X up to ~8 M values).

    Returns
    -------
    float
        inf when ``total`` is None, not finite, or too coarse.
    """
    if total is None or not np.isfinite(total):
        return float(np.inf)
    rounding = X.size * float(np.finfo(X.dtype).eps)
    return total / (1.0 - rounding) if rounding <= 0.5 else float(np.inf)


def within_extent(X: AnyArray, center: FloatArray | None = None) -> bool:
    """A quick proof that X is finite (and within MAX_FIT_EXTENT of ``center``).

    One sum of squares over all of X (:func:`square_sum`): a finite sum
    bounds every value by its square root. True means every value is
    finite and, given ``center``, no farther than MAX_FIT_EXTENT from it
    (with a factor of two to spare for the rounding of the sum); False
    proves nothing (a NaN, an inf, a huge value, or X not a contiguous
    float32/float64 array): the exact checks then find the row to name.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    center : ndarray of shape (n_features,) or None
        None: check only that every value is finite.

    Returns
    -------
    bool
    """
    total = square_sum(X)
    if total is None:
        return False
    if center is None:
        return bool(np.isfinite(total))
    room = 0.5 * (MAX_FIT_EXTENT - np.max(np.abs(center), initial=0.0))
    return bool(np.sqrt(total) <= room)  # (False for NaN)


def check_range(low: ArrayLike, high: ArrayLike, center: FloatArray) -> None:
    """:func:`check_extent` from each feature's (low, high) (data read in a stream)."""
    feature = _beyond_range(low, high, center)
    if feature is not None:
        raise ValueError(
            f"X has values in feature {feature} {_TOO_FAR}: drop or clip those rows, or "
            "rescale X."
        )


_TOO_FAR = (
    f"more than {MAX_FIT_EXTENT:g} from the bulk of the data; fitting squares such "
    "distances, which overflows float64"
)


def _beyond_range(low: ArrayLike, high: ArrayLike, center: FloatArray) -> int | None:
    """The first feature whose [low, high] reaches beyond MAX_FIT_EXTENT of ``center``, or None."""
    with np.errstate(invalid="ignore", over="ignore"):
        extent = np.fmax(np.abs(np.asarray(high, np.float64) - center),
                         np.abs(np.asarray(low, np.float64) - center))
    beyond = np.flatnonzero(extent > MAX_FIT_EXTENT)
    return int(beyond[0]) if beyond.size else None
