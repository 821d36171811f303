"""Small linear-algebra helpers of the covariance table."""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from gmmkit.exceptions import DegenerateComponentWarning

if TYPE_CHECKING:
    from gmmkit.engine.types import FloatArray, IntArray


def warn_floored(label: str, amount: float) -> None:
    warnings.warn(
        f"{label} has a singular covariance (it collapsed onto a point or a "
        f"subspace); added {amount:.3g} to its diagonal. Increase reg_covar, "
        "reduce n_components or scale the data.",
        DegenerateComponentWarning,
        stacklevel=5,
    )


def cholesky_or_jitter(cov: FloatArray, reg_covar: float, label: str) -> FloatArray:
    """Lower Cholesky factor of ``cov``; on failure adds diagonal jitter to ``cov``.

    Parameters
    ----------
    cov : ndarray of shape (D, D)
        Modified in place when jitter is needed, so the stored covariance
        stays consistent with its precision.
    reg_covar : float
    label : str
        Names the component in the warning ("component 3").

    Returns
    -------
    ndarray of shape (D, D)
    """
    if not np.all(np.isfinite(cov)):
        raise ValueError(
            f"{label} has a covariance matrix that is not finite; check the data "
            "for extreme values, scale it, or increase reg_covar."
        )
    if cov.dtype == np.float64 and cov.ndim == 2 and cov.size:
        # LAPACK's potrf as scipy.linalg.cholesky calls it (finite: checked above)
        chol, info = lapack.dpotrf(cov, lower=1, clean=1)
        if info == 0:
            return chol
    else:
        try:
            return linalg.cholesky(cov, lower=True)
        except linalg.LinAlgError:
            pass
    jitter = max(reg_covar, 1e-10 * max(float(np.mean(np.abs(np.diag(cov)))), 1.0))
    diagonal = np.arange(cov.shape[0])
    for _ in range(40):
        try:
            chol = linalg.cholesky(cov + jitter * np.eye(cov.shape[0]), lower=True)
        except linalg.LinAlgError:
            jitter *= 10.0
            continue
        cov[diagonal, diagonal] += jitter
        warn_floored(label, jitter)
        return chol
    raise ValueError(f"{label} has a covariance matrix that cannot be factorised; scale the data.")


def precision_cholesky_from_cov(cov: FloatArray, reg_covar: float, label: str) -> FloatArray:
    """Upper-triangular P with P P^T = inv(cov), scikit-learn's convention.

    Call it on one BLAS thread (:func:`gmmkit.engine.threads.single_blas_thread`):
    scipy's multi-threaded OpenBLAS took 10-30 ms for a 15 x 15 triangular
    solve on a busy machine (9 us on one thread). float64 factors go to
    LAPACK's trtrs directly, as ``scipy.linalg.solve_triangular`` does after
    its checks (the same numbers, without 20 us of checks per matrix).
    """
    chol = cholesky_or_jitter(cov, reg_covar, label)
    identity = np.eye(cov.shape[0])
    if chol.dtype == np.float64 and chol.flags.f_contiguous:
        solution, info = lapack.dtrtrs(chol, identity, lower=1)
        if info == 0:
            return solution.T
    return linalg.solve_triangular(chol, identity, lower=True).T


def precision_cholesky_from_precision(precision: FloatArray) -> FloatArray:
    """Upper-triangular P with P P^T = precision (flip trick, as scikit-learn)."""
    if not np.allclose(precision, precision.T, rtol=1e-8, atol=1e-12 * np.abs(precision).max()):
        raise ValueError("precision matrices must be symmetric; got an asymmetric one.")
    try:
        flipped = np.linalg.cholesky(precision[::-1, ::-1])
    except np.linalg.LinAlgError:
        raise ValueError(
            "precision matrices must be positive definite; got one that is not."
        ) from None
    return flipped[::-1, ::-1]


@lru_cache(maxsize=64)
def triu_pairs(n_features: int) -> tuple[IntArray, IntArray]:
    """(rows, cols) of the upper triangle: the order of pairwise products.

    Cached (read-only arrays): missing-value patterns ask for it thousands of times.
    """
    rows, cols = np.triu_indices(n_features)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def pairwise_products_t(Xt: FloatArray, out: FloatArray) -> FloatArray:
    """Upper-triangle pairwise products of the rows of ``Xt``, written to ``out``.

    Parameters
    ----------
    Xt : ndarray of shape (D, n)
        A transposed chunk.
    out : ndarray of shape (D*(D+1)/2, n)
        Row order follows ``np.triu_indices(D)``; every write is contiguous.

    Returns
    -------
    out
    """
    d = Xt.shape[0]
    start = 0
    for i in range(d):
        stop = start + d - i
        np.multiply(Xt[i:], Xt[i], out=out[start:stop])
        start = stop
    return out


def unpack_symmetric(packed: FloatArray, n_features: int) -> FloatArray:
    """(..., D*(D+1)/2) upper-triangle vectors -> (..., D, D) symmetric."""
    rows, cols = triu_pairs(n_features)
    full = np.zeros(packed.shape[:-1] + (n_features, n_features), dtype=np.float64)
    full[..., rows, cols] = packed
    full[..., cols, rows] = packed
    return full


#: OpenBLAS is slow on products with a small output and a long inner
#: dimension (3x for a (10, 65536) @ (65536, 8) product, 1.4x for (33, 32768)
#: @ (32768, 32), measured with OpenBLAS 0.3.30 on AMD EPYC): such products
#: are summed over blocks of columns.  (output size limit, block columns)
INNER_BLOCKS = ((256, 4096), (2048, 512))


def inner_block(m: int, k: int) -> int | None:
    """Columns per block for an (m, n) @ (n, k) product, or None for one GEMM."""
    for size_limit, columns in INNER_BLOCKS:
        if m * k <= size_limit:
            return columns
    return None


def inner_products(A: FloatArray, B: FloatArray) -> FloatArray:
    """A @ B.T for wide A (m, n) and B (k, n): (m, k).

    Parameters
    ----------
    A : ndarray of shape (m, n)
    B : ndarray of shape (k, n)

    Returns
    -------
    ndarray of shape (m, k)
    """
    n = A.shape[1]
    block = inner_block(A.shape[0], B.shape[0])
    if block is None or n <= 2 * block:
        return A @ B.T
    total = A[:, :block] @ B[:, :block].T
    for start in range(block, n, block):
        total += A[:, start : start + block] @ B[:, start : start + block].T
    return total


def conditional_blocks(
    covariances: FloatArray, observed: IntArray, missing: IntArray
) -> tuple[FloatArray, FloatArray]:
    """How the ``missing`` features of each Gaussian depend on the ``observed`` ones.

    For x ~ N(mu, Sigma) split into observed o and missing m,
    x_m | x_o ~ N(mu_m + B (x_o - mu_o), C) with B = Sigma_mo Sigma_oo^-1 and
    C = Sigma_mm - B Sigma_om.

    Parameters
    ----------
    covariances : ndarray of shape (K, D, D)
    observed, missing : ndarray of int
        Disjoint feature indices.

    Returns
    -------
    B : ndarray of shape (K, len(missing), len(observed))
    C : ndarray of shape (K, len(missing), len(missing))
    """
    s_oo = covariances[:, observed][:, :, observed]
    s_om = covariances[:, observed][:, :, missing]
    s_mm = covariances[:, missing][:, :, missing]
    if len(observed) == 0:
        return np.zeros((len(covariances), len(missing), 0)), s_mm.copy()
    B = np.linalg.solve(s_oo, s_om).transpose(0, 2, 1)
    C = s_mm - B @ s_om
    C = 0.5 * (C + C.transpose(0, 2, 1))  # exactly symmetric
    return B, C


def batched_precision_cholesky(covariances: FloatArray) -> FloatArray | None:
    """Upper-triangular precision factors of a stack of covariances in one call.

    The batched twin of :func:`precision_cholesky_from_cov` for many small
    matrices (the marginals of missing-value patterns), without its jitter:
    returns None when a matrix is not positive definite, so the caller can
    fall back to the per-matrix path.

    Parameters
    ----------
    covariances : ndarray of shape (K, d, d)

    Returns
    -------
    ndarray of shape (K, d, d) or None
    """
    try:
        chol = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        return None
    identity = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
    return np.linalg.solve(chol, identity).transpose(0, 2, 1)
