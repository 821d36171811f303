"""Starts from a neighbouring fit: split a component of a K - 1 fit, merge two of a K + 1 fit.

A mixture of K + 1 components can reproduce any K-component fit (a
component split in two identical halves has the same likelihood), so the
best K + 1 fit is never worse than the best K fit. EM from one start may
land lower; model selection then restarts it from the K fit with its
widest component split in two (:func:`split_widest`), or the K fit from
the K + 1 fit with its two closest components merged (:func:`merge_closest`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.em import MixtureParams

if TYPE_CHECKING:
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.types import FloatArray


def _with_covariances(params: MixtureParams, cov_type: CovarianceType, weights: FloatArray,
                      means: FloatArray, covariances: FloatArray, reg_covar: float
                      ) -> MixtureParams:
    return replace(
        params, weights=weights, means=means, covariances=covariances,
        precisions_cholesky=cov_type.precision_cholesky(covariances.copy(), reg_covar),
        log_weights=None,
    )


def split_widest(params: MixtureParams, cov_type: CovarianceType,
                 reg_covar: float = 0.0) -> MixtureParams:
    """K + 1 components: the widest component split in two along its main axis.

    The component with the largest weight x standard deviation along its
    main axis is replaced by two halves of its weight, at its mean plus
    and minus half that standard deviation along the axis, with its
    covariance (EM from an exact duplicate would never separate them).

    Parameters
    ----------
    params : MixtureParams
        A fit with K components (covariances in ``cov_type``'s layout).
    cov_type : CovarianceType
    reg_covar : float

    Returns
    -------
    MixtureParams
        K + 1 components; a noise component is kept.
    """
    k_count, n_features = params.means.shape
    assert params.covariances is not None  # a fit's parameters (not precisions_init only)
    spreads = [cov_type.split_direction(params.covariances, k, n_features)
               for k in range(k_count)]
    k = int(np.argmax([w * s[0] for w, s in zip(params.weights, spreads)]))
    scale, axis = spreads[k]
    offset = 0.5 * scale * axis
    means = np.vstack([params.means, params.means[k] + offset])
    means[k] = params.means[k] - offset
    weights = np.append(params.weights, 0.5 * params.weights[k])
    weights[k] *= 0.5
    covariances = params.covariances
    if cov_type.layout != "tied":
        covariances = np.concatenate([covariances, covariances[k : k + 1]])
    return _with_covariances(params, cov_type, weights, means, covariances, reg_covar)


def merge_closest(params: MixtureParams, cov_type: CovarianceType,
                  reg_covar: float = 0.0) -> MixtureParams:
    """K - 1 components: the two components whose merge loses least merged into one.

    Two components i, j become one with their moment-matched weight, mean
    and covariance (w = w_i + w_j, Sigma = (w_i Sigma_i + w_j Sigma_j) / w
    + w_i w_j / w^2 (mu_i - mu_j)(mu_i - mu_j)'); the pair chosen has the
    smallest w log|Sigma| - w_i log|Sigma_i| - w_j log|Sigma_j|, the loss
    of expected complete-data log-likelihood per row of the merge.

    Parameters
    ----------
    params : MixtureParams
        A fit with K >= 2 components.
    cov_type : CovarianceType
    reg_covar : float

    Returns
    -------
    MixtureParams
        K - 1 components; a noise component is kept.
    """
    k_count, n_features = params.means.shape
    assert params.covariances is not None  # a fit's parameters (not precisions_init only)
    dense = cov_type.dense(params.covariances, k_count, n_features)
    logdet = np.linalg.slogdet(dense)[1]
    best: tuple[float, int, int, float, FloatArray, FloatArray] | None = None
    for i in range(k_count):
        for j in range(i + 1, k_count):
            wi, wj = params.weights[i], params.weights[j]
            w = wi + wj
            delta = params.means[i] - params.means[j]
            merged = (wi * dense[i] + wj * dense[j]) / w + (wi * wj / w**2) * np.outer(delta, delta)
            cost = w * np.linalg.slogdet(merged)[1] - wi * logdet[i] - wj * logdet[j]
            if best is None or cost < best[0]:
                mean = (wi * params.means[i] + wj * params.means[j]) / w
                best = (cost, i, j, w, mean, merged)
    assert best is not None  # K >= 2: one pair at least
    _, i, j, w, mean, merged = best
    keep = np.arange(k_count) != j
    weights = params.weights.copy()
    weights[i] = w
    means = params.means.copy()
    means[i] = mean
    if cov_type.layout == "tied":
        covariances = params.covariances
    else:
        new_dense = dense.copy()
        new_dense[i] = merged
        covariances = cov_type.from_dense(new_dense[keep])
    return _with_covariances(params, cov_type, weights[keep], means[keep], covariances,
                             reg_covar)
