"""gmmkit_outliers: Gaussian mixture anomaly detection (built-in plugin).

Needs nothing beyond gmmkit. :class:`GMMOutlierDetector` is a robust
mixture anomaly detector with PyOD's API (docs/outliers.md). The plugin
registers the ``robust_scale`` feature, the ``outlier_score``
post-processor, the ``gmmkit outliers`` commands and the "outliers" demo.
The detector's modules load on first use, so ``gmmkit --help`` stays fast.
"""

from __future__ import annotations

from gmmkit import hookimpl

requires = ()
install_hint = "pip install gmmkit"

__all__ = [
    "ConstantColumnWarning",
    "GMMOutlierDetector",
    "load_detector",
    "outlier_score",
    "robust_scale",
    "save_detector",
]

_LAZY = {
    "ConstantColumnWarning": "gmmkit_outliers.checks",
    "GMMOutlierDetector": "gmmkit_outliers.detector",
    "load_detector": "gmmkit_outliers.persistence",
    "save_detector": "gmmkit_outliers.persistence",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gmmkit_outliers' has no attribute {name!r}")


def robust_scale(X):
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
    import numpy as np

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
    from gmmkit_outliers.demo import outliers_demo

    register("outliers", outliers_demo)


@hookimpl
def gmmkit_register_commands(cli):
    from gmmkit_outliers.cli import outliers

    cli.add_command(outliers)
