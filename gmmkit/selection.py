"""Choosing the number of components by an information criterion.

For now one covariance type at a time and BIC or AIC; the grid over
covariance types, ICL and parallel fits arrive with the model-selection issue.
"""

from __future__ import annotations

import warnings

import numpy as np

CRITERIA = ("bic", "aic")


def select_n_components(X, candidates=range(1, 11), *, criterion="bic", **params):
    """Fit one GaussianMixture per candidate K and keep the best by ``criterion``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    candidates : iterable of int, default=range(1, 11)
        Numbers of components to try; those above n_samples are left out.
    criterion : {"bic", "aic"}, default="bic"
    **params
        Passed to every GaussianMixture (covariance_type, n_init, random_state...).

    Returns
    -------
    best : GaussianMixture
        The fitted model with the lowest criterion among the converged fits
        (among all fits when none converged).
    table : list of dict
        One row per candidate: n_components, the criterion, log_likelihood
        (mean per sample), converged, error (the message when the fit failed).
    """
    from gmmkit.mixture import GaussianMixture

    if criterion not in CRITERIA:
        raise ValueError(f"criterion={criterion!r} is not supported; use one of {list(CRITERIA)}")
    X = np.asarray(X)
    ks = sorted({int(k) for k in candidates if 1 <= int(k) <= X.shape[0]})
    if not ks:
        raise ValueError(
            f"no candidate number of components between 1 and n_samples={X.shape[0]}."
        )
    table, fitted = [], {}
    for k in ks:
        row = {"n_components": k, criterion: None, "log_likelihood": None, "converged": False}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # non-convergence is reported in the table
                model = GaussianMixture(k, **params).fit(X)
        except ValueError as exc:
            row["error"] = str(exc)
        else:
            row.update(
                {
                    criterion: float(getattr(model, criterion)(X)),
                    "log_likelihood": float(model.score(X)),
                    "converged": bool(model.converged_),
                }
            )
            fitted[k] = model
        table.append(row)
    if not fitted:
        raise ValueError(f"every fit failed; the first error: {table[0]['error']}")
    pool = [k for k in fitted if fitted[k].converged_] or list(fitted)
    best = min(pool, key=lambda k: next(r[criterion] for r in table if r["n_components"] == k))
    return fitted[best], table
