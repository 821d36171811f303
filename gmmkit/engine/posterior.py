"""Posterior component weights of observed features, exact at any distance.

For a mixture sum_k pi_k N(x | mu_k, Sigma_k) (and an optional uniform
noise component) this gives p(k | x_o) from the marginal on the observed
features ``o``, for rows at any distance from the components:

- The Mahalanobis distances are computed in the direct form
  (x - mu_k)' A_k (x - mu_k), never expanded around a batch's centre,
  so a row's weights depend only on that row.
- Only differences of distances enter the weights. They are taken
  relative to the nearest component r, expanded around mu_r:

      m_k - m_r = d'(A_k - A_r) d - 2 delta_k' A_k d + delta_k' A_k delta_k,
      d = x - mu_r,  delta_k = mu_k - mu_r,

  with the quadratic term exactly 0 for components that share a
  covariance (tied), so a far row keeps the linear term that decides
  between them instead of losing it to rounding.
- Rows are scaled by their largest offset before anything is squared,
  so a row at 1e200 gives finite, one-hot weights instead of inf - inf.

Returns weights, never densities: a far row's density underflows, its
weights do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.covariance import get_covariance_type

if TYPE_CHECKING:
    from gmmkit.engine.types import FittedMixture, FloatArray, IntArray

#: elements of the widest (rows, K, d) temporary of one block of rows
BLOCK_ELEMENTS = 2**18

_LOG_2PI = np.log(2.0 * np.pi)


@dataclass
class MarginalGaussians:
    """The marginal mixture on the observed features, as the weights need it (float64)."""

    means: np.ndarray  # (K, d)
    prec_chol: np.ndarray  # (K, d, d), upper: A_k = P_k P_k'
    precisions: np.ndarray  # (K, d, d)
    log_const: np.ndarray  # (K,) log pi_k + log det P_k
    group: np.ndarray  # (K,) index of the first component with the same covariance
    noise_log: float | None  # log(noise weight x noise density on o), or None

    def __post_init__(self) -> None:
        n_components, width = self.means.shape
        half = 0.5 * self.means  # halves: x/2 - mu/2 cannot overflow for finite x, mu
        #: all factors side by side, (d, K * d): one GEMM whitens a block for every k
        self.factors = self.prec_chol.transpose(1, 0, 2).reshape(width, n_components * width)
        #: (K * d, K) ones on each component's block: squared entries @ sums = squared norms
        self.block_sums = np.kron(np.eye(n_components), np.ones((width, 1)))
        #: (K, K) 0.0 where two components share a covariance (their quadratic terms cancel)
        self.distinct = (self.group[:, None] != self.group[None, :]).astype(float)
        with np.errstate(over="ignore", invalid="ignore"):
            # the centre and the whitened half-means about it (the nearest-component guess)
            self.half_center = half.mean(axis=0)
            offsets = half - self.half_center
            self.reach = float(np.abs(offsets).max(initial=0.0))
            whitened_means = np.einsum("kd,kde->ke", offsets, self.prec_chol)
            #: [x/s, 1/s] @ guess = (x - mu_k)' P_k / s for every k in one GEMM
            self.guess = np.vstack([self.factors, -whitened_means.reshape(1, -1)])
        self._pairs: dict[int | np.integer[Any], tuple[FloatArray, FloatArray]] = {}

    def pairs(self, r: int | np.integer[Any]) -> tuple[FloatArray, FloatArray]:
        """For expansion point r, in halves: (A_k delta_k (K, d), delta_k' A_k delta_k (K,)),
        delta_k = mu_k/2 - mu_r/2 (made when first needed, then kept)."""
        if r not in self._pairs:
            with np.errstate(over="ignore", invalid="ignore"):
                half = 0.5 * self.means
                delta = half - half[r]
                vectors = np.einsum("kij,kj->ki", self.precisions, delta)
                self._pairs[r] = vectors, np.einsum("ki,ki->k", delta, vectors)
        return self._pairs[r]


def marginal_gaussians(model: FittedMixture, observed: IntArray) -> MarginalGaussians:
    """The marginal on features ``observed`` of a fitted mixture: MarginalGaussians."""
    from gmmkit.engine.noise import log_density

    n_components, n_features = model.means_.shape
    cov_type = get_covariance_type(model.covariance_type)
    dense = cov_type.dense(
        np.asarray(model.covariances_, dtype=np.float64), n_components, n_features
    )
    blocks = np.ascontiguousarray(dense[:, observed][:, :, observed])
    # the first component with each covariance block (tied: all the same)
    first: dict[bytes, int] = {}
    group = np.array([first.setdefault(block.tobytes(), k) for k, block in enumerate(blocks)])
    unique = np.unique(group)
    full = get_covariance_type("full")
    prec_chol = np.empty_like(blocks)
    prec_chol[unique] = full.precision_cholesky(blocks[unique].copy(), model.reg_covar)
    prec_chol = prec_chol[group]
    weights = np.asarray(model.weights_, dtype=np.float64)
    with np.errstate(divide="ignore"):  # a weight of 0: log 0 = -inf, never chosen
        log_const = np.log(weights) + full.log_det(prec_chol, len(observed))
    noise_log = None
    noise_weight = float(getattr(model, "noise_weight_", 0.0))
    noise_bounds = getattr(model, "noise_bounds_", None)
    if noise_bounds is not None and noise_weight > 0:
        noise_log = np.log(noise_weight) + float(log_density(noise_bounds)[observed].sum())
    return MarginalGaussians(
        np.asarray(model.means_, dtype=np.float64)[:, observed],
        prec_chol,
        full.precisions(prec_chol),
        log_const,
        group,
        noise_log,
    )


def posterior_weights(marginal: MarginalGaussians, X: FloatArray) -> FloatArray:
    """p(k | x_o) of every row of X: (n, K), or (n, K + 1) with the noise column last.

    Parameters
    ----------
    marginal : MarginalGaussians
    X : ndarray of shape (n, d), float64, finite

    Returns
    -------
    ndarray of shape (n, K) or (n, K + 1)
    """
    from gmmkit.engine.threads import ChunkRunner

    n_components, width = marginal.means.shape
    rows = max(1, BLOCK_ELEMENTS // (n_components * max(width, 1)))
    starts = list(range(0, X.shape[0], rows))
    with ChunkRunner() as runner:  # worker threads, BLAS held to one thread each
        parts = runner.map(lambda start: _block_weights(marginal, X[start : start + rows]), starts)
    columns = n_components + (marginal.noise_log is not None)
    return np.concatenate(parts) if parts else np.empty((0, columns))


def _block_weights(g: MarginalGaussians, X: FloatArray) -> FloatArray:
    """posterior_weights of one block of rows."""
    n, width = X.shape
    n_components = g.means.shape[0]
    half_x = 0.5 * X
    with np.errstate(over="ignore", invalid="ignore"):
        # 1. a guess of the nearest component r, from distances about the centre, each
        #    row scaled by a bound of its offsets; it only picks the expansion point of 2
        scaled = np.empty((n, width + 1))
        np.subtract(half_x, g.half_center, out=scaled[:, :width])
        scale = _row_scale(np.maximum(np.abs(scaled[:, :width]).max(axis=1), g.reach))
        scaled[:, width] = 1.0
        scaled /= scale[:, None]
        nearest = np.argmin(_square_norms(scaled @ g.guess, g), axis=1)
        rows = np.arange(n)
        # 2. differences m_k - m_r expanded around mu_r (see the module docstring), in halves
        d = half_x - 0.5 * g.means[nearest]  # (n, d)
        t = _row_scale(np.abs(d).max(axis=1))
        unit = d / t[:, None]
        squares = _square_norms(unit @ g.factors, g)  # ||d^' P_k||^2
        quadratic = squares - squares[rows, nearest][:, None]
        quadratic *= g.distinct[nearest]  # exactly 0 for a shared covariance
        linear = np.empty((n, n_components))
        constant = np.empty((n, n_components))
        order = np.argsort(nearest, kind="stable")
        bounds = np.searchsorted(nearest[order], np.arange(n_components + 1))
        for r in np.flatnonzero(np.diff(bounds)):
            picked = order[bounds[r] : bounds[r + 1]]
            vectors, constants = g.pairs(r)
            linear[picked] = unit[picked] @ vectors.T
            constant[picked] = constants
        differences = 4.0 * (t[:, None] * (t[:, None] * quadratic - 2.0 * linear) + constant)
        # overflow: inf - inf (components and row both astronomically apart): no weight
        differences[np.isnan(differences)] = np.inf
        logits = g.log_const[None, :] - 0.5 * differences
        if g.noise_log is not None:
            # the nearest component's absolute log density, to weigh against the noise
            distance = 2.0 * t * (2.0 * t * squares[rows, nearest])
            level = -0.5 * distance - 0.5 * width * _LOG_2PI
            gaussian = np.where(np.isneginf(level)[:, None], -np.inf, logits + level[:, None])
            logits = np.column_stack([gaussian, np.full(n, g.noise_log)])
    return _normalise(logits)


def _square_norms(whitened: FloatArray, g: MarginalGaussians) -> FloatArray:
    """Squared norms of each component's block of columns: (n, K * d) -> (n, K)."""
    return np.square(whitened, out=whitened) @ g.block_sums


def _row_scale(largest: FloatArray) -> FloatArray:
    """Per-row divisor: the largest offset, or 1 for a row at the means (n,)."""
    return np.where(largest > 0, largest, 1.0)


def _normalise(logits: FloatArray) -> FloatArray:
    """exp(logits) normalised per row; +inf logits share the row, all -inf is uniform."""
    top = logits.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        shifted = logits - top
    shifted[logits == top] = 0.0  # inf - inf, and the maximum itself
    weights = np.exp(shifted, out=shifted)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights
