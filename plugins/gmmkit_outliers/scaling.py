"""Per-column centring and scaling, so that features in different units weigh alike."""

from __future__ import annotations

import numpy as np

#: the interquartile range of a standard normal: robust scales match standard ones on
#: Gaussian data
NORMAL_IQR = 1.3489795003921634


def fit_scaler(table, scale):
    """Centre and scale of every column, ignoring NaN.

    Parameters
    ----------
    table : ndarray of shape (n_samples, n_features)
    scale : {"standard", "robust", None}
        "standard": mean and standard deviation. "robust": median and
        interquartile range / 1.349 (equal to the standard deviation on
        Gaussian data, but not moved by a few extreme values); a column whose
        interquartile range is 0 falls back to its standard deviation.
        None: centre 0, scale 1.

    Returns
    -------
    center, spread : ndarrays of shape (n_features,)
    """
    n_features = table.shape[1]
    if scale is None:
        return np.zeros(n_features), np.ones(n_features)
    std = np.nanstd(table, axis=0)
    if scale == "standard":
        return np.nanmean(table, axis=0), std
    q1, median, q3 = np.nanpercentile(table, [25, 50, 75], axis=0)
    spread = (q3 - q1) / NORMAL_IQR
    return median, np.where(spread > 0, spread, std)


def apply_scaler(table, center, spread):
    """(table - center) / spread: ndarray of shape (n_samples, n_features)."""
    return (table - center) / spread
