"""gmmkit_outliers: Gaussian mixture anomaly detection (built-in plugin).

Needs nothing beyond gmmkit. This package registers the ``robust_scale``
feature, the ``outlier_score`` post-processor and a demo; the outlier issue
fills in the detector.
"""

from __future__ import annotations

from gmmkit import hookimpl

requires = ()
install_hint = "pip install gmmkit"


def robust_scale(X):
    """Columns centred on their median and divided by their interquartile range.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        Columns with a zero interquartile range are only centred.
    """
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"robust_scale expects a 2-D table; got shape {X.shape}.")
    q1, median, q3 = np.percentile(X, [25, 50, 75], axis=0)
    scale = q3 - q1
    scale[scale == 0] = 1.0
    return (X - median) / scale


def outlier_score(model, features, responsibilities, *, data=None):
    """Negative log density of each row: higher is more anomalous, shape (n_samples,)."""
    return -model.score_samples(features)


@hookimpl
def gmmkit_register_features(register):
    register("robust_scale", robust_scale)


@hookimpl
def gmmkit_register_postprocessors(register):
    register("outlier_score", outlier_score)


@hookimpl
def gmmkit_register_demos(register):
    from gmmkit_outliers.demo import wholesale_demo

    register("outliers", wholesale_demo)
