"""Rows far from the centre a chunk is centred on: found in one pass, scored directly.

The EM loop (:func:`gmmkit.engine.em.map_chunks`) and scoring
(:mod:`gmmkit.engine.scoring`, whose docstring explains why) both send the
rows that :class:`FarCheck` finds to :class:`FarRows`, which computes their
log densities in float64 without the expanded quadratic form.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.covariance import LOG_2PI

if TYPE_CHECKING:
    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.types import BoolArray, FloatArray, IntArray

#: A row is "far" when it may lie more than this many standard deviations
#: from the centre in some component's metric: |x - c|^2 * max_precision >
#: FAR_WIDTHS**2. The expanded form's error there is about eps x r^2, so
#: this bounds it at ~1e-8 absolute (float64) and ~0.1 on log densities
#: below -5e5 (float32, ~2e-7 relative) for the rows it keeps.
FAR_WIDTHS = {np.float32: 1e3, np.float64: 1e4}

#: far rows are scored this many float64 numbers of (rows x K x D) at a time
FAR_BLOCK_VALUES = 2**20


class FarCheck:
    """Finds the rows of a chunk that lie far from the data's centre.

    Far: |x - c|^2 * max_precision > FAR_WIDTHS**2, i.e. possibly more than
    FAR_WIDTHS standard deviations from c in some component's metric; one
    pass over the centred chunk, none when the data's sum of squares
    (``ChunkedData.square_sum``, known for a scoring call's in-memory X)
    already bounds every row well within the radius. The largest squared
    norm of each chunk of a ChunkedData is remembered (the data do not
    change during a fit), so later passes skip the rows of chunks with no
    far row.

    ``precision_bound``: ``cov_type.precision_bound`` of the precision
    factors, when the caller keeps it (:class:`gmmkit.engine.covariance.EStepPlan`).

    Attributes
    ----------
    rows : FarRows
        Scores the far rows.
    """

    def __init__(
        self,
        data: ChunkedData,
        cov_type: CovarianceType,
        params: MixtureParams,
        precision_bound: float | None = None,
    ) -> None:
        self._widths2 = FAR_WIDTHS[data.dtype.type] ** 2
        self._cov_type, self._prec_chol = cov_type, params.precisions_cholesky
        # rows within this (<= radius2, from a cheap bound) are near without
        # computing radius2 (an SVD per component for full covariances)
        if precision_bound is None:
            precision_bound = cov_type.precision_bound(params.precisions_cholesky)
        self._inner2 = self._widths2 / precision_bound
        self._far_rows = (cov_type, params, data.center, params.noise_row(data.columns))
        self._largest = data.__dict__.setdefault("_largest_norms", {})
        # every row within |x| + |c| of the centre, its square sum <= X's: with twice
        # that inside the cheap bound (for the rounding of the centred rows and their
        # norms), no row is far and the pass is skipped
        self._all_near = math.isfinite(data.square_sum) and (
            2.0 * (math.sqrt(data.square_sum) + math.sqrt(float(data.center @ data.center))) ** 2
            <= self._inner2
        )

    @functools.cached_property
    def radius2(self) -> float:
        """Squared distance from the centre beyond which a row is far: float."""
        return self._widths2 / self._cov_type.max_precision(self._prec_chol)

    def _near(self, largest: float) -> bool:
        """Whether rows with squared norms up to ``largest`` are all near (False for NaN)."""
        return largest <= self._inner2 or largest <= self.radius2

    @functools.cached_property
    def rows(self) -> FarRows:
        """The scorer of far rows, built on first use (most calls have no far row)."""
        return FarRows(*self._far_rows)

    def mask(self, Xt: FloatArray, index: int | None = None) -> BoolArray | None:
        """Boolean mask of the far columns of a centred chunk Xt (D, n), or None.

        ``index`` (the chunk's number) lets a chunk known to have no far row
        skip the pass.
        """
        if self._all_near or (index is not None and self._near(self._largest.get(index, np.inf))):
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            norms = np.einsum("dn,dn->n", Xt, Xt)
            if index is None and np.max(norms, initial=0.0) <= self._inner2:
                return None  # (NaN fails the test)
            far = ~(norms <= self.radius2)  # inf and NaN are far
        if index is not None:
            self._largest[index] = np.inf if far.all() else float(np.max(norms, initial=0.0))
        return far if far.any() else None


class FarRows:
    """Direct float64 log densities of rows far from the centre.

    Parameters
    ----------
    cov_type : CovarianceType
    params : MixtureParams
    center : ndarray of shape (D,)
        The fixed reference point (only scales the rows, see ``log_prob``).
    noise : float or None
        The noise component's constant log density term, if any.
    """

    def __init__(
        self,
        cov_type: CovarianceType,
        params: MixtureParams,
        center: FloatArray,
        noise: float | None,
    ) -> None:
        self.cov_type = cov_type
        self.means = np.asarray(params.means, dtype=np.float64)
        self.prec_chol = np.asarray(params.precisions_cholesky, dtype=np.float64)
        self.center = np.asarray(center, dtype=np.float64)
        n_components, n_features = self.means.shape
        log_weights = params.log_weights
        if log_weights is None:
            with np.errstate(divide="ignore"):
                log_weights = np.log(params.weights)
        #: log weight + log det - D/2 log 2 pi: (K,)
        self.const = (
            np.asarray(log_weights, dtype=np.float64)
            + cov_type.log_det(self.prec_chol, n_features)
            - 0.5 * n_features * LOG_2PI
        )
        self.noise = noise
        self.block = max(1, FAR_BLOCK_VALUES // (n_components * n_features))

    def log_prob(self, X: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Weighted log densities of far rows, relative to each row's best component.

        Parameters
        ----------
        X : ndarray of shape (n, D), float64

        Returns
        -------
        log_prob : ndarray of shape (K, n) (K + 1 with a noise component)
            log w_k + log N(x | mu_k, Sigma_k) minus ``offset``: 0 for the
            row's best component, never +inf or NaN.
        offset : ndarray of shape (n,)
            The best component's weighted log density (-inf when it is below
            the float64 range).
        """
        parts = [self._block(X[s : s + self.block]) for s in range(0, len(X), self.block)]
        log_prob = np.concatenate([p[0] for p in parts], axis=1)
        offset = np.concatenate([p[1] for p in parts])
        if self.noise is not None:
            log_prob, offset = self._with_noise(log_prob, offset, self.noise)
        return log_prob, offset

    def _distances(self, X: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Rows scaled by a power of two each, and their Mahalanobis distances.

        Scaling by 2**e is exact; it keeps x / scale and c / scale below 2 in
        magnitude, so nothing overflows at any distance.

        Returns
        -------
        scale : ndarray of shape (n, 1)
        x : ndarray of shape (n, D)
            X / scale.
        q : ndarray of shape (n, K)
            Squared Mahalanobis distances to every mean, divided by scale**2.
        """
        base = np.maximum(np.max(np.abs(X), axis=1), np.max(np.abs(self.center), initial=0.0))
        scale = np.ldexp(1.0, np.frexp(base)[1] - 1)[:, None]
        x = X / scale
        diffs = x[:, None, :] - self.means[None] / scale[:, :, None]  # (n, K, D)
        z = self.cov_type.whiten(diffs, self.prec_chol)
        return scale, x, np.einsum("nkd,nkd->nk", z, z)

    def _block(self, X: FloatArray) -> tuple[FloatArray, FloatArray]:
        scale, x, q = self._distances(X)
        with np.errstate(over="ignore"):
            log_dens = self.const - 0.5 * scale * (scale * q)  # (n, K)
            if self.cov_type.layout == "tied":
                best, delta = self._tied_differences(x - self.center / scale, scale)
            else:
                best = self._best(log_dens, q)
                delta = (self.const - self.const[best][:, None]) - 0.5 * scale * (
                    scale * (q - np.take_along_axis(q, best[:, None], axis=1))
                )
        return delta.T, np.take_along_axis(log_dens, best[:, None], axis=1)[:, 0]

    def magnitude(self, X: FloatArray) -> tuple[FloatArray, FloatArray]:
        """How far out rows are whose every log density is below float64's range.

        Parameters
        ----------
        X : ndarray of shape (n, D), float64

        Returns
        -------
        log_size : ndarray of shape (n,)
            log(-log p(x)) to leading order: log(q / 2) + 2 log(scale) for the
            nearest component (q its squared Mahalanobis distance / scale^2).
            Comparable between models: the smaller, the more probable.
        const : ndarray of shape (n,)
            That component's log weight + log det - D/2 log 2 pi (breaks ties).
        """
        scale, _, q = self._distances(X)
        q = np.where(np.isfinite(self.const), q, np.inf)
        nearest = np.argmin(q, axis=1)
        with np.errstate(divide="ignore"):
            log_size = np.log(0.5 * np.take_along_axis(q, nearest[:, None], axis=1)[:, 0])
        return log_size + 2.0 * np.log(scale[:, 0]), self.const[nearest]

    def _best(self, log_dens: FloatArray, q: FloatArray) -> IntArray:
        """Each row's most probable component: argmax of the log densities, or,
        where all are -inf, the nearest one (ties: the largest constant)."""
        best = np.argmax(log_dens, axis=1)
        lost = ~np.isfinite(log_dens.max(axis=1))
        if lost.any():
            usable = np.isfinite(self.const)
            distance = np.where(usable, q[lost], np.inf)
            nearest = distance == distance.min(axis=1, keepdims=True)
            best[lost] = np.argmax(np.where(nearest, self.const, -np.inf), axis=1)
        return best

    def _tied_differences(self, u: FloatArray, scale: FloatArray) -> tuple[IntArray, FloatArray]:
        """Best component and log densities minus the best one's, for a shared precision.

        With one precision P the quadratic terms cancel exactly:
        log p_k - log p_j = (x - c)' P (mu_k - mu_j) - (mu_k' P mu_k - mu_j' P mu_j) / 2
        + const_k - const_j, linear in x, so the differences keep their
        digits at any distance (the direct form's would not beyond ~1e15).
        ``u`` is (x - c) / scale: (n, D).

        Returns
        -------
        best : ndarray of int, shape (n,)
        delta : ndarray of shape (n, K)
        """
        w = (self.means - self.center) @ self.prec_chol  # (K, D)
        own = self.const - 0.5 * np.einsum("kd,kd->k", w, w)  # (K,)
        # (n, K): (x - c)' P (mu_k - c) / scale; einsum, not BLAS, whose one-row
        # product rounds differently from a block's: each row's result is its own
        linear = np.einsum("ne,ke->nk", np.einsum("nd,de->ne", u, self.prec_chol), w)
        best = np.argmax(scale * linear + own, axis=1)
        delta = scale * (linear - np.take_along_axis(linear, best[:, None], axis=1))
        return best, delta + (own - own[best][:, None])

    def _with_noise(
        self, log_prob: FloatArray, offset: FloatArray, noise: float
    ) -> tuple[FloatArray, FloatArray]:
        """Append the noise row (``noise``: ``self.noise``) and re-reference rows
        where noise is the best."""
        noise_row = np.full((1, log_prob.shape[1]), -np.inf)
        if np.isfinite(noise):
            top = np.maximum(offset, noise)
            log_prob = log_prob + (offset - top)  # -inf where the Gaussians underflow
            noise_row[0] = noise - top
            offset = top
        return np.vstack([log_prob, noise_row]), offset
