"""GMMClassifier's default regularisation, ``reg_covar="auto"``: relative to the data.

Feature j gets r_j = AUTO_REG_COVAR * var_j + h_j**2 / 12 added to its
variance in every component: a share of its variance over the training
rows and the variance of rounding it to its resolution h_j (the smallest
gap between two of its values). The classifier fits every class's mixture
to the columns divided by sqrt(r_j / AUTO_REG_COVAR) with
``reg_covar=AUTO_REG_COVAR``, and :func:`unscaled` expresses it in X's units.
docs/classifier.md, "The default regularisation", gives the reasons.
"""

from __future__ import annotations

import numpy as np

from gmmkit.estimators.mixture import GaussianMixture

#: reg_covar="auto": the share of each feature's variance (over all training rows) added to
#: that feature's variance in every component, with its rounding variance (see
#: feature_regularisation; spherical: the mean over the features)
AUTO_REG_COVAR = 0.05

#: the parameter arrays of a fitted GaussianMixture
FITTED_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def feature_regularisation(X: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """What ``reg_covar="auto"`` adds to each feature's variance: ndarray (n_features,).

    ``AUTO_REG_COVAR * var_j + h_j**2 / 12``: a share of the feature's
    variance over the training rows (weighted; NaN left out), plus the
    variance of rounding to the feature's resolution h_j, the smallest gap
    between two of its distinct values (pixels 0-16: h = 1; Sheppard's
    correction). Both terms change with the feature's units, so the fit
    does not depend on them.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        NaN: missing, left out.
    weights : ndarray of shape (n_samples,) or None
        Rows of weight 0 are left out.

    Returns
    -------
    ndarray of shape (n_features,)
        Positive and finite: a column without spread (constant, or with
        fewer than two observed values) gets AUTO_REG_COVAR, the same in
        every class, so it does not move the decision.
    """
    if weights is not None:
        X, weights = X[weights > 0], weights[weights > 0]
    observed = ~np.isnan(X)
    w = (np.ones(len(X)) if weights is None else weights)[:, None] * observed
    values = np.where(observed, X, 0.0)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * values).sum(axis=0) / total
        variances = (w * np.where(observed, values - mean, 0.0) ** 2).sum(axis=0) / total
    gaps = np.diff(np.sort(X, axis=0), axis=0)  # NaN sort last: their gaps are NaN
    gaps = np.where(gaps > 0, gaps, np.inf).min(axis=0, initial=np.inf)
    step = np.where(np.isfinite(gaps), gaps, 0.0)
    reg = AUTO_REG_COVAR * variances + step**2 / 12.0
    return np.where(np.isfinite(reg) & (variances > 0), reg, AUTO_REG_COVAR)


def unscaled(model: GaussianMixture, scales: np.ndarray) -> GaussianMixture:
    """A mixture fitted to ``X / scales`` as the same mixture of X's rows.

    Parameters
    ----------
    model : GaussianMixture
        Fitted, with full, tied or diag covariances.
    scales : ndarray of shape (n_features,)

    Returns
    -------
    GaussianMixture
        Means times ``scales``, covariances times ``scales`` on both sides;
        ``lower_bound_`` (a mean log-likelihood per row) minus
        ``sum(log(scales))``, the change of the densities' units.
    """
    if model.covariance_type == "diag":
        covariances = model.covariances_ * scales**2
    else:
        covariances = model.covariances_ * np.outer(scales, scales)
    result = model.with_parameters(model.weights_, model.means_ * scales, covariances)
    for name in FITTED_ARRAYS:  # with_parameters gives float64; keep the fit's dtype
        setattr(result, name, getattr(result, name).astype(model.means_.dtype, copy=False))
    shift = float(np.log(scales).sum())
    result.lower_bound_ = model.lower_bound_ - shift
    return result
