"""M-steps of the ellipsoidal models with a constraint: VEE, EVE, VVE, EEV, VEV, EVV.

Each minimises f = sum_k [ n_k log|Sigma_k| + tr(W_k Sigma_k^-1) ] over
Sigma_k = lambda_k D_k A_k D_k' within the model (see
:mod:`gmmkit.engine.mclust_models.diagonal` for f and the regularisation):

- EEV and EVV have closed forms from each scatter's eigendecomposition or
  determinant (Celeux and Govaert 1995);
- VEV alternates volumes and the shared shape on the sorted eigenvalues of
  each W_k, whose eigenvectors are the optimal orientations;
- VEE alternates volumes and the shared shape-and-orientation matrix C;
- EVE and VVE share an orientation D across components: they alternate the
  closed-form volumes and shapes given D with a sweep of exact plane
  rotations of D (:func:`rotation_sweep`), each of which lowers f. Browne and
  McNicholas (2014) use a majorisation step for D instead; both are monotone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.linalg import unpack_symmetric
from gmmkit.engine.mclust_models.diagonal import (
    INNER_MAX_ITER,
    INNER_TOL,
    equal_volume_variable_shape,
    volume_and_shape,
)

if TYPE_CHECKING:
    from gmmkit.engine.types import FloatArray

_TINY = np.finfo(np.float64).tiny


def full_scatter(nk: FloatArray, sx: FloatArray, sxx: FloatArray,
                 reg_covar: float) -> FloatArray:
    """Each component's scatter about its mean, regularised: (K, D, D).

    Parameters
    ----------
    nk : ndarray of shape (K,)
    sx : ndarray of shape (K, D)
        sum_n r_nk x_n (centred data).
    sxx : ndarray of shape (K, D (D + 1) / 2)
        Packed upper triangles of sum_n r_nk x_n x_n'.
    reg_covar : float

    Returns
    -------
    ndarray of shape (K, D, D)
        sum_n r_nk (x_n - mu_k)(x_n - mu_k)' + n_k reg_covar I, symmetric.
    """
    d = sx.shape[1]
    scatter = unpack_symmetric(sxx, d)
    scatter -= sx[:, :, None] * (sx / nk[:, None])[:, None, :]
    scatter = 0.5 * (scatter + scatter.transpose(0, 2, 1))
    scatter[:, np.arange(d), np.arange(d)] += nk[:, None] * reg_covar
    return scatter


def sorted_eigh(scatter: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Eigenvalues (K, D), largest first and positive, and eigenvectors (K, D, D) in that order."""
    values, vectors = np.linalg.eigh(scatter)
    return np.maximum(values[:, ::-1], _TINY), vectors[:, :, ::-1]


def rebuild(vectors: FloatArray, values: FloatArray) -> FloatArray:
    """sum_j values_kj v_kj v_kj': (K, D, D) from vectors (K or 1, D, D) and values (K, D)."""
    covariances = np.einsum("kij,kj,klj->kil", np.broadcast_to(
        vectors, (values.shape[0],) + vectors.shape[-2:]), values, np.broadcast_to(
        vectors, (values.shape[0],) + vectors.shape[-2:]))
    return 0.5 * (covariances + covariances.transpose(0, 2, 1))


def equal_volume_equal_shape_variable_orientation(nk: FloatArray, scatter: FloatArray
                                                   ) -> FloatArray:
    """EEV: Sigma_k = L_k diag(sum_j omega_j / n) L_k', W_k = L_k diag(omega_k) L_k'."""
    values, vectors = sorted_eigh(scatter)
    return rebuild(vectors, np.broadcast_to(values.sum(axis=0) / nk.sum(), values.shape))


def variable_volume_equal_shape_variable_orientation(nk: FloatArray, scatter: FloatArray
                                                      ) -> FloatArray:
    """VEV: Sigma_k = lambda_k L_k A L_k' with the eigenvectors L_k of W_k."""
    values, vectors = sorted_eigh(scatter)
    volumes, shape = volume_and_shape(nk, values)
    return rebuild(vectors, volumes[:, None] * shape)


def equal_volume_variable_shape_variable_orientation(nk: FloatArray, scatter: FloatArray
                                                      ) -> FloatArray:
    """EVV: Sigma_k = lambda W_k / |W_k|^(1/d), lambda = sum_k |W_k|^(1/d) / n."""
    d = scatter.shape[1]
    logdet = np.linalg.slogdet(scatter)[1]
    scale = np.maximum(np.exp(logdet / d), _TINY)
    return (scale.sum() / nk.sum()) * scatter / scale[:, None, None]


def variable_volume_equal_shape_equal_orientation(nk: FloatArray, scatter: FloatArray
                                                   ) -> FloatArray:
    """VEE: Sigma_k = lambda_k C with |C| = 1, alternating

    lambda_k = tr(W_k C^-1) / (d n_k) and C = S / |S|^(1/d), S = sum_k W_k / lambda_k,

    from C of the equal-volume fit (EEE).
    """
    d = scatter.shape[1]
    counts = np.maximum(nk, _TINY)

    def normalised(matrix: FloatArray) -> FloatArray:
        return matrix / np.exp(np.linalg.slogdet(matrix)[1] / d)

    shape = normalised(scatter.sum(axis=0))
    previous = np.inf
    for _ in range(INNER_MAX_ITER):
        traces = np.einsum("kij,ji->k", scatter, np.linalg.inv(shape))
        volumes = np.maximum(traces / (d * counts), _TINY)
        objective = float(d * nk @ np.log(volumes) + (traces / volumes).sum())
        shape = normalised((scatter / volumes[:, None, None]).sum(axis=0))
        if abs(previous - objective) <= INNER_TOL * abs(objective):
            break
        previous = objective
    traces = np.einsum("kij,ji->k", scatter, np.linalg.inv(shape))
    volumes = np.maximum(traces / (d * counts), _TINY)
    shape = 0.5 * (shape + shape.T)
    return volumes[:, None, None] * shape


def round_robin(d: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rounds of disjoint pairs (i, j) covering every pair of 0..d-1 once (circle method)."""
    players = list(range(d)) + ([-1] if d % 2 else [])
    m = len(players)
    rounds = []
    for _ in range(m - 1):
        pairs = [(players[i], players[m - 1 - i]) for i in range(m // 2)]
        pairs = [(min(p), max(p)) for p in pairs if -1 not in p]
        rounds.append((np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])))
        players = [players[0], players[-1]] + players[1:-1]
    return rounds


def rotation_sweep(rotated: FloatArray, orientation: FloatArray,
                   precisions: FloatArray) -> None:
    """One sweep of exact plane rotations of a shared orientation, in place.

    Minimises g(D) = sum_k tr(W_k D P_k D') over orthogonal D, P_k =
    diag(``precisions[k]``), one plane (i, j) at a time: rotating columns
    i and j of D by theta changes g by A cos 2 theta + B sin 2 theta with
    A = sum_k (p_ki - p_kj)(m_kii - m_kjj) / 2 and B = sum_k (p_ki - p_kj)
    m_kij (M_k = D' W_k D), which is smallest at 2 theta = atan2(-B, -A).
    Disjoint planes do not interact, so each round of the circle method
    rotates d / 2 planes at once.

    Parameters
    ----------
    rotated : ndarray of shape (K, D, D)
        M_k = D' W_k D, updated.
    orientation : ndarray of shape (D, D)
        D, updated.
    precisions : ndarray of shape (K, D)
    """
    d = orientation.shape[0]
    for i, j in round_robin(d):
        diff = precisions[:, i] - precisions[:, j]  # (K, pairs)
        a = 0.5 * np.einsum("kp,kp->p", diff, rotated[:, i, i] - rotated[:, j, j])
        b = np.einsum("kp,kp->p", diff, rotated[:, i, j])
        theta = 0.5 * np.arctan2(-b, -a)
        cos, sin = np.cos(theta), np.sin(theta)
        rotation = np.eye(d)
        rotation[i, i] = cos
        rotation[j, j] = cos
        rotation[j, i] = sin  # new column i = cos d_i + sin d_j
        rotation[i, j] = -sin  # new column j = -sin d_i + cos d_j
        orientation[:] = orientation @ rotation
        rotated[:] = rotation.T @ rotated @ rotation


def common_orientation(nk: FloatArray, scatter: FloatArray, equal_volume: bool,
                       previous: FloatArray | None = None) -> FloatArray:
    """EVE (``equal_volume``) or VVE: Sigma_k = D diag(Lambda_k) D' with one orientation D.

    Given D, Lambda_k is closed form on psi_k = diag(D' W_k D): psi_k / n_k
    (VVE) or the EVI solution (EVE); given Lambda, a rotation sweep lowers f.
    D starts from the eigenvectors of the ``previous`` covariances' sum (the
    last EM iteration's orientation, so few sweeps are needed) or of sum_k W_k.

    Parameters
    ----------
    nk : ndarray of shape (K,)
    scatter : ndarray of shape (K, D, D)
    equal_volume : bool
    previous : ndarray of shape (K, D, D) or None

    Returns
    -------
    ndarray of shape (K, D, D)
    """
    counts = np.maximum(nk, _TINY)
    start = scatter.sum(axis=0) if previous is None else previous.sum(axis=0)
    orientation = np.linalg.eigh(start)[1]
    rotated = orientation.T @ scatter @ orientation

    def variances(psi: FloatArray) -> FloatArray:
        if equal_volume:
            return equal_volume_variable_shape(nk, psi)
        return psi / counts[:, None]

    previous_objective = np.inf
    for _ in range(INNER_MAX_ITER):
        psi = np.maximum(np.diagonal(rotated, axis1=1, axis2=2), _TINY)
        values = np.maximum(variances(psi), _TINY)
        objective = float((nk[:, None] * np.log(values) + psi / values).sum())
        if abs(previous_objective - objective) <= INNER_TOL * abs(objective):
            break
        previous_objective = objective
        rotation_sweep(rotated, orientation, 1.0 / values)
    psi = np.maximum(np.diagonal(rotated, axis1=1, axis2=2), _TINY)
    return rebuild(orientation[None], np.maximum(variances(psi), _TINY))


def equal_volume_variable_shape_equal_orientation(nk: FloatArray, scatter: FloatArray,
                                                   previous: FloatArray | None = None
                                                   ) -> FloatArray:
    """EVE: Sigma_k = lambda D A_k D'."""
    return common_orientation(nk, scatter, True, previous)


def variable_volume_variable_shape_equal_orientation(nk: FloatArray, scatter: FloatArray,
                                                      previous: FloatArray | None = None
                                                      ) -> FloatArray:
    """VVE: Sigma_k = lambda_k D A_k D'."""
    return common_orientation(nk, scatter, False, previous)


def complete_objective(nk: FloatArray, scatter: FloatArray, covariances: FloatArray) -> float:
    """f = sum_k [ n_k log|Sigma_k| + tr(W_k Sigma_k^-1) ]: what every M-step minimises.

    Minus twice the expected complete-data log-likelihood of the
    covariances, up to a constant (the means at their optimum).

    Parameters
    ----------
    nk : ndarray of shape (K,)
    scatter : ndarray of shape (K, D, D)
    covariances : ndarray of shape (K, D, D)

    Returns
    -------
    float
    """
    logdet = np.linalg.slogdet(covariances)[1]
    traces = np.einsum("kij,kji->k", scatter, np.linalg.inv(covariances))
    return float(nk @ logdet + traces.sum())
