"""Robust scoring: which components describe normal data, and the score under them.

The detector fits one mixture (optionally with a uniform noise component,
and optionally refitted with the most anomalous rows left out) and then
scores rows by minus the log density of its *normal* part: the Gaussian
components that hold enough of the data to be trusted, renormalised. A
small, tight cluster of anomalies fitted as its own component therefore
does not make those anomalies look typical.
"""

from __future__ import annotations

import warnings

import numpy as np

from gmmkit import ConvergenceWarning, DegenerateComponentWarning, GaussianMixture
from gmmkit_outliers.covariance import layout
from gmmkit_outliers.discrete import floor_mixture

#: warnings of a member's fits that the ensemble absorbs (a member that did not converge or
#: re-seeded a component is one vote of many; the single model still shows them)
MEMBER_WARNINGS = (ConvergenceWarning, DegenerateComponentWarning)

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
    kind = layout(model.covariance_type)  # only the arrays matter for scoring
    tied = kind == "tied"
    normal = GaussianMixture(
        len(index),
        covariance_type=kind,
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


def mixture_from_arrays(covariance_type, missing, weights, means, covariances,
                        precisions_cholesky):
    """A fitted GaussianMixture (no noise component) with the given parameters.

    ``precisions_`` are derived from ``precisions_cholesky`` (P = C C' per
    component; C**2 for diag and spherical), so a mixture rebuilt from
    these arrays (a detector file) is the same to the last bit.

    Parameters
    ----------
    covariance_type : str
    missing : {"error", "em"}
    weights : array-like of shape (n_components,)
    means : array-like of shape (n_components, n_features)
    covariances, precisions_cholesky : array-like
        In the layout of ``covariances_`` for ``covariance_type``.

    Returns
    -------
    GaussianMixture
    """
    chol = np.asarray(precisions_cholesky, dtype=np.float64)
    covariance_type = layout(covariance_type)
    model = GaussianMixture(len(weights), covariance_type=covariance_type, missing=missing)
    model.weights_ = np.asarray(weights, dtype=np.float64)
    model.means_ = np.asarray(means, dtype=np.float64)
    model.covariances_ = np.asarray(covariances, dtype=np.float64)
    model.precisions_cholesky_ = chol
    if covariance_type in ("full", "tied"):
        model.precisions_ = chol @ np.swapaxes(chol, -1, -2)
    else:
        model.precisions_ = chol**2
    model.noise_weight_ = 0.0
    model.n_features_in_ = model.means_.shape[1]
    model.n_components_ = len(weights)
    model.converged_ = True
    model.n_iter_ = 0
    model.lower_bound_ = -np.inf  # not fitted by EM: no lower bound
    model.lower_bounds_ = []
    return model


def fit_mixture(Z, *, params, n_refits, trim, progress=None, max_components=None, floor=None):
    """Fit the mixture; then refit ``n_refits`` times with the top ``trim`` rows left out.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Scaled training data.
    params : dict
        GaussianMixture keyword arguments, and ``min_weight``.
    n_refits : int
    trim : float
        Share of rows (highest scores under the normal part) given weight 0
        in each refit.
    progress : callable(str) or None
    max_components : int or None
        With ``n_components="auto"``: the largest K that BIC may choose
        (None: GaussianMixture's own 1..10).
    floor : ndarray of shape (n_features,) or None
        Variance added to each column of every fit, after the fit
        (:func:`gmmkit_outliers.discrete.floor_mixture`; ``discrete_floor``).

    Returns
    -------
    model : GaussianMixture
    trusted : ndarray of bool, shape (n_components,)
    kept : ndarray of bool, shape (n_samples,)
        The rows the final fit used.
    """
    kept = np.ones(len(Z), dtype=bool)
    params = dict(params)
    min_weight = params.pop("min_weight")
    for refit in range(n_refits + 1):
        if progress is not None:
            progress(f"fitting the mixture ({'all rows' if refit == 0 else f'refit {refit}'})")
        # a tiny weight, not 0: the noise box keeps every row's range
        weights = np.where(kept, 1.0, 1e-9)
        model = floor_mixture(_fit(Z, weights, params, max_components), floor)
        trusted = trusted_components(
            model.weights_, min_weight_for(min_weight, len(model.weights_))
        )
        if refit < n_refits:
            scores = -normal_mixture(model, trusted).score_samples(Z)
            kept = scores <= np.quantile(scores, 1.0 - trim)
    return model, trusted, kept


def _fit(Z, weights, params, max_components):
    """GaussianMixture(**params) fitted on Z; with max_components, "auto" K from 1..it by BIC.

    The smallest BIC among the fits that succeed (a K with more components
    than distinct rows fails and is skipped); gmmkit.select_model would also
    compute AIC, ICL and a collapse check per fit, which an ensemble of small
    members does not need. Only ensemble members pass ``max_components``:
    their :data:`MEMBER_WARNINGS` are silenced.
    """
    if max_components is None:
        return GaussianMixture(**params).fit(Z, sample_weight=weights)
    auto = params["n_components"] == "auto"
    best, best_bic, first_error = None, np.inf, None
    for k in range(1, max_components + 1) if auto else [params["n_components"]]:
        try:
            with warnings.catch_warnings():
                for category in MEMBER_WARNINGS:
                    warnings.simplefilter("ignore", category)
                model = GaussianMixture(**{**params, "n_components": k}).fit(
                    Z, sample_weight=weights)
        except ValueError as error:
            first_error = first_error or error
            break
        bic = model.bic(Z, sample_weight=weights)
        if bic < best_bic:
            best, best_bic = model, bic
    if best is None:
        raise first_error
    return best
