"""M-steps of the diagonal models (orientation I): EII/E, EEI, VEI, EVI.

Each M-step minimises, over the model's covariances Sigma_k,

    f = sum_k [ n_k log|Sigma_k| + tr(W_k Sigma_k^-1) ]

(minus twice the expected complete-data log-likelihood up to a constant),
with W_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)' the component's scatter
about its new mean and n_k = sum_n r_nk. For a diagonal model only the
diagonal w_k of W_k matters. ``reg_covar`` enters as n_k * reg_covar added
to every w_k, which for VII and VVI is exactly scikit-learn's "add
reg_covar to the variances" and keeps every other model inside its
constraint. Closed forms follow Celeux and Govaert (1995), Table 1; VEI
alternates the two closed-form block updates, each of which lowers f.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gmmkit.engine.types import FloatArray

#: the iterative M-steps stop when f changes by less than this, relative
INNER_TOL = 1e-11
#: and after at most this many block updates
INNER_MAX_ITER = 1000

_TINY = np.finfo(np.float64).tiny


def diagonal_scatter(nk: FloatArray, sx: FloatArray, sxx: FloatArray,
                     reg_covar: float) -> FloatArray:
    """The diagonal of each component's scatter, regularised: (K, D).

    Parameters
    ----------
    nk : ndarray of shape (K,)
    sx : ndarray of shape (K, D)
        sum_n r_nk x_n (centred data).
    sxx : ndarray of shape (K, D)
        sum_n r_nk x_n**2.
    reg_covar : float

    Returns
    -------
    ndarray of shape (K, D)
        sum_n r_nk (x_n - mu_k)**2 + n_k reg_covar, floored at the smallest
        positive float.
    """
    w = sxx - sx**2 / nk[:, None]
    np.maximum(w, 0.0, out=w)  # centred sums keep this accurate; clip the rounding below 0
    w += nk[:, None] * reg_covar
    return np.maximum(w, _TINY, out=w)


def geometric_mean(values: FloatArray) -> FloatArray:
    """Geometric mean along the last axis, of positive values: (...,)."""
    return np.exp(np.log(values).mean(axis=-1))


def normalise_shape(values: FloatArray) -> FloatArray:
    """``values`` (..., D) scaled to a geometric mean of 1 along the last axis (det 1)."""
    return values / geometric_mean(values)[..., None]


def equal_spherical(nk: FloatArray, w: FloatArray) -> FloatArray:
    """EII (and E): one variance for every feature and component: (K,)."""
    variance = w.sum() / (nk.sum() * w.shape[1])
    return np.full(nk.shape, variance)


def equal_diagonal(nk: FloatArray, w: FloatArray) -> FloatArray:
    """EEI: one diagonal covariance for all components, sum_k w_k / n: (K, D)."""
    return np.broadcast_to(w.sum(axis=0) / nk.sum(), w.shape).copy()


def equal_volume_variable_shape(nk: FloatArray, w: FloatArray) -> FloatArray:
    """EVI: Sigma_k = lambda B_k with B_k = w_k / |w_k|^(1/d), lambda = sum_k |w_k|^(1/d) / n."""
    scale = geometric_mean(w)  # |diag w_k|^(1/d)
    volume = scale.sum() / nk.sum()
    return volume * w / scale[:, None]


def volume_and_shape(nk: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Variable volumes, one shared diagonal shape: minimise f over lambda_k and A.

    f = sum_k [ n_k d log lambda_k + sum_j w_kj / (lambda_k A_j) ], |A| = 1,
    by alternating its two exact minimisers,

        lambda_k = sum_j (w_kj / A_j) / (d n_k),
        A = s / |s|^(1/d),  s_j = sum_k w_kj / lambda_k,

    from A of the equal-volume fit (Celeux and Govaert 1995, model
    [lambda_k B]). The VEI M-step (w the diagonal scatter) and the VEV one
    (w the eigenvalues of each scatter, sorted) share it.

    Parameters
    ----------
    nk : ndarray of shape (K,)
    w : ndarray of shape (K, D), positive

    Returns
    -------
    volumes : ndarray of shape (K,)
    shape : ndarray of shape (D,), geometric mean 1
    """
    d = w.shape[1]
    counts = np.maximum(nk, _TINY)
    shape = normalise_shape(w.sum(axis=0))
    previous = np.inf
    for _ in range(INNER_MAX_ITER):
        volumes = np.maximum((w / shape).sum(axis=1) / (d * counts), _TINY)
        objective = float(d * nk @ np.log(volumes) + ((w / shape).sum(axis=1) / volumes).sum())
        shape = normalise_shape((w / volumes[:, None]).sum(axis=0))
        if abs(previous - objective) <= INNER_TOL * abs(objective):
            break
        previous = objective
    volumes = np.maximum((w / shape).sum(axis=1) / (d * counts), _TINY)
    return volumes, shape


def variable_volume_equal_shape(nk: FloatArray, w: FloatArray) -> FloatArray:
    """VEI: Sigma_k = lambda_k A, A diagonal with |A| = 1 shared: (K, D)."""
    volumes, shape = volume_and_shape(nk, w)
    return volumes[:, None] * shape
