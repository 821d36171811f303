"""Information criteria: the one place BIC and AIC are written.

BIC = -2 log L + p log n and AIC = -2 log L + 2 p, with log L the total
(weighted) log-likelihood, n the total sample weight and p the number of
free parameters of the mixture (:func:`n_parameters`). Lower is better.
"""

from __future__ import annotations

import numpy as np

from gmmkit.engine.covariance import get_covariance_type


def n_parameters(
    covariance_type: str, n_components: int, n_features: int, noise: bool = False
) -> int:
    """Free parameters of a mixture: covariances + means + (weights - 1) (+ the noise weight).

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_components, n_features : int
    noise : bool, default=False
        Whether the mixture has a uniform noise component (one more weight).

    Returns
    -------
    int
    """
    cov_type = get_covariance_type(covariance_type)
    return (
        cov_type.n_parameters(n_components, n_features)
        + n_components * n_features
        + n_components
        - 1
        + bool(noise)
    )


def information_criteria(total: float, weight: float, n_params: int) -> tuple[float, float]:
    """(BIC, AIC) from the total log-likelihood, the total weight and the parameter count.

    Parameters
    ----------
    total : float
        The total (weighted) log-likelihood log L.
    weight : float
        n: the number of rows, or the sum of the sample weights.
    n_params : int
        p, from :func:`n_parameters`.

    Returns
    -------
    bic, aic : float
    """
    return -2.0 * total + n_params * np.log(weight), -2.0 * total + 2.0 * n_params
