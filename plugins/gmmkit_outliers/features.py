"""The feature extractor and the post-processor the plugin registers for gmmkit's pipeline.

``robust_scale`` (a feature extractor: a table in, scaled columns out) and
``outlier_score`` (a post-processor: a fitted mixture's minus log density
of each row) are what ``gmmkit.run_pipeline`` and ``gmmkit features``
reach by name; :data:`FEATURES` and :data:`POSTPROCESSORS` list them.
"""

from __future__ import annotations

import numpy as np


def robust_scale(X) -> np.ndarray:
    """Columns centred on their median and divided by their interquartile range.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        The raw interquartile range (q75 - q25, not rescaled to a standard
        deviation). Quantiles are those of a column's values that are not
        NaN; a NaN stays NaN in its own cell. Columns with a zero
        interquartile range are only centred; columns without a value stay NaN.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"robust_scale expects a 2-D table; got shape {X.shape}.")
    quartiles = np.full((3, X.shape[1]), np.nan)
    observed = ~np.isnan(X).all(axis=0)  # nanpercentile of an all-NaN column warns
    if observed.any():
        quartiles[:, observed] = np.nanpercentile(X[:, observed], [25, 50, 75], axis=0)
    q1, median, q3 = quartiles
    scale = q3 - q1
    scale[scale == 0] = 1.0
    return (X - median) / scale


def outlier_score(model, features, responsibilities, *, data=None) -> np.ndarray:
    """Negative log density of each row: higher is more anomalous, shape (n_samples,)."""
    return -model.score_samples(features)


#: feature extractors registered by the plugin, by name
FEATURES = {"robust_scale": robust_scale}
#: post-processors registered by the plugin, by name
POSTPROCESSORS = {"outlier_score": outlier_score}
