"""Robust scoring: which components describe normal data, and the score under them.

The detector fits one mixture (optionally with a uniform noise component,
and optionally refitted with the most anomalous rows left out) and then
scores rows by minus the log density of its *normal* part: the Gaussian
components that hold enough of the data to be trusted, renormalised. A
small, tight cluster of anomalies fitted as its own component therefore
does not make those anomalies look typical.
"""

from __future__ import annotations

import numpy as np

from gmmkit import GaussianMixture

#: a component is "small" when its weight is under this share of the data ...
AUTO_MIN_WEIGHT = 0.1
#: ... and under this fraction of an equal share 1/K
AUTO_FAIR_SHARE = 0.5


def min_weight_for(min_weight, n_components):
    """The weight under which a component is not trusted as normal.

    ``"auto"`` is min(0.1, 0.5 / K): with few components a component under
    10% of the data is suspect; with many, one under half its equal share is.
    """
    if min_weight == "auto":
        return min(AUTO_MIN_WEIGHT, AUTO_FAIR_SHARE / n_components)
    return float(min_weight)


def trusted_components(weights, min_weight):
    """Boolean mask of the components trusted as normal: shape (n_components,).

    The largest component is always trusted.
    """
    weights = np.asarray(weights)
    mask = weights >= min_weight
    mask[np.argmax(weights)] = True
    return mask


def normal_mixture(model, trusted):
    """The trusted components of ``model`` as a fitted GaussianMixture (no noise).

    Parameters
    ----------
    model : GaussianMixture
        Fitted.
    trusted : ndarray of bool, shape (n_components,)

    Returns
    -------
    GaussianMixture
        Its weights are the trusted weights renormalised to sum to 1, so its
        ``score_samples`` is the log density of the normal part of the data
        (with ``missing="em"``, of each row's observed features).
    """
    index = np.flatnonzero(trusted)
    tied = model.covariance_type == "tied"
    normal = GaussianMixture(
        len(index),
        covariance_type=model.covariance_type,
        missing=model.missing,
        random_state=model.random_state,
    )
    weights = model.weights_[index]
    normal.weights_ = weights / weights.sum()
    normal.means_ = model.means_[index]
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        value = getattr(model, name)
        setattr(normal, name, value if tied else value[index])
    normal.noise_weight_ = 0.0
    normal.n_features_in_ = model.n_features_in_
    normal.n_components_ = len(index)
    normal.converged_ = model.converged_
    normal.n_iter_ = model.n_iter_
    normal.lower_bound_ = model.lower_bound_
    return normal


def fit_mixture(Z, *, params, n_refits, trim, progress=None):
    """Fit the mixture; then refit ``n_refits`` times with the top ``trim`` rows left out.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Scaled training data.
    params : dict
        GaussianMixture keyword arguments.
    n_refits : int
    trim : float
        Share of rows (highest scores under the normal part) given weight 0
        in each refit.
    progress : callable(str) or None

    Returns
    -------
    model : GaussianMixture
    trusted : ndarray of bool, shape (n_components,)
    kept : ndarray of bool, shape (n_samples,)
        The rows the final fit used.
    """
    kept = np.ones(len(Z), dtype=bool)
    min_weight = params.pop("min_weight")
    for refit in range(n_refits + 1):
        if progress is not None:
            progress(f"fitting the mixture ({'all rows' if refit == 0 else f'refit {refit}'})")
        # a tiny weight, not 0: the noise box keeps every row's range
        weights = np.where(kept, 1.0, 1e-9)
        model = GaussianMixture(**params).fit(Z, sample_weight=weights)
        trusted = trusted_components(
            model.weights_, min_weight_for(min_weight, len(model.weights_))
        )
        if refit < n_refits:
            scores = -normal_mixture(model, trusted).score_samples(Z)
            kept = scores <= np.quantile(scores, 1.0 - trim)
    return model, trusted, kept
