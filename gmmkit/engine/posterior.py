"""Posterior component weights p(k | x_o) of observed features, exact at any distance.

For a mixture sum_k pi_k N(x | mu_k, Sigma_k) (and an optional uniform
noise component), the weights of a row given its observed features ``o``
are those of the marginal mixture on ``o``. They are computed by the same
direct-form scoring as the engine's far rows (:class:`gmmkit.engine.far_rows.FarRows`),
for every row:

- the Mahalanobis distances are (x - mu_k)' A_k (x - mu_k) in the direct
  form, never expanded around a batch's centre, so a row's weights depend
  only on that row;
- rows are scaled by a power of two before anything is squared, so a row
  at 1e200 gives finite, one-hot weights instead of inf - inf;
- components that share a covariance (tied) differ by a term linear in x,
  computed exactly, so a far row keeps what decides between them;
- only log densities relative to each row's best component are
  exponentiated.

Returns weights, never densities: a far row's density underflows, its
weights do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.em import MixtureParams
from gmmkit.engine.far_rows import FarRows
from gmmkit.engine.noise import log_density
from gmmkit.engine.threads import ChunkRunner

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.types import FloatArray, IntArray

#: elements of the widest (rows, K, d) temporary of one block of rows
BLOCK_ELEMENTS = 2**18


def marginal_params(
    cov_type: CovarianceType,
    weights: ArrayLike,
    means: ArrayLike,
    covariances: ArrayLike,
    reg_covar: float,
    observed: IntArray,
    noise_bounds: FloatArray | None = None,
    noise_weight: float = 0.0,
) -> MixtureParams:
    """The marginal mixture on the features ``observed``, as engine parameters (float64).

    Parameters
    ----------
    cov_type : CovarianceType
    weights : array-like of shape (K,)
    means : array-like of shape (K, D)
    covariances : array-like
        In ``cov_type``'s layout for D features.
    reg_covar : float
        Floors a singular marginal covariance, as in ``fit``.
    observed : ndarray of int, shape (d,)
    noise_bounds : ndarray of shape (D, 2), optional
        A uniform noise component's box, with its weight ``noise_weight``.
    noise_weight : float, default=0.0

    Returns
    -------
    MixtureParams
        Over the d observed features, in ``cov_type``'s layout.
    """
    covariances = np.array(
        cov_type.select(np.asarray(covariances, dtype=np.float64), observed), dtype=np.float64
    )  # a copy: precision_cholesky may floor it
    params = MixtureParams(
        np.asarray(weights, dtype=np.float64),
        np.asarray(means, dtype=np.float64)[:, observed],
        covariances,
        cov_type.precision_cholesky(covariances, reg_covar),
    )
    if noise_bounds is not None and noise_weight > 0:
        params.noise_log_density = log_density(noise_bounds)[observed]
        params.noise_weight = float(noise_weight)
    return params


class PosteriorWeights:
    """p(k | x) of rows under one fixed mixture, the per-model work done once.

    Building it prepares the mixture's direct-form scorer (log weights,
    log determinants, the centre the rows are scaled against); calling it
    scores rows. Keep one per fitted model to score many small batches
    (:func:`posterior_weights` builds one per call). Read-only after
    construction, so one instance may serve several threads.

    Parameters
    ----------
    cov_type : CovarianceType
    params : MixtureParams
        The mixture over X's features (:func:`marginal_params` for some of them).
    """

    def __init__(self, cov_type: CovarianceType, params: MixtureParams) -> None:
        n_components, width = params.means.shape
        center = params.weights @ params.means  # scales the rows only: fixed per model
        self._far = FarRows(cov_type, params, center, params.noise_row())
        self._rows = max(1, BLOCK_ELEMENTS // (n_components * max(width, 1)))
        #: columns of the result: K, or K + 1 with a noise component
        self.n_columns = n_components + (self._far.noise is not None)

    def __call__(self, X: FloatArray) -> FloatArray:
        """p(k | x) of every row of X.

        Parameters
        ----------
        X : ndarray of shape (n, d), float64, finite

        Returns
        -------
        ndarray of shape (n, K) or (n, K + 1), the noise column last
        """
        far, rows = self._far, self._rows

        def block(start: int) -> FloatArray:
            log_prob, _ = far.log_prob(X[start : start + rows])
            return _normalise(log_prob.T)

        starts = list(range(0, X.shape[0], rows))
        with ChunkRunner() as runner:  # worker threads, BLAS held to one thread each
            parts = runner.map(block, starts)
        return np.concatenate(parts) if parts else np.empty((0, self.n_columns))


def posterior_weights(
    cov_type: CovarianceType, params: MixtureParams, X: FloatArray
) -> FloatArray:
    """p(k | x) of every row of X: (n, K), or (n, K + 1) with the noise column last.

    Parameters
    ----------
    cov_type : CovarianceType
    params : MixtureParams
        The mixture over X's features (:func:`marginal_params` for some of them).
    X : ndarray of shape (n, d), float64, finite

    Returns
    -------
    ndarray of shape (n, K) or (n, K + 1)
    """
    return PosteriorWeights(cov_type, params)(X)


def _normalise(logits: FloatArray) -> FloatArray:
    """exp(logits) normalised per row; +inf logits share the row, all -inf is uniform."""
    top = logits.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        shifted = logits - top
    shifted[logits == top] = 0.0  # inf - inf, and the maximum itself
    weights = np.exp(shifted, out=shifted)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights
