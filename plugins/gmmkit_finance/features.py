"""The feature extractors gmmkit_finance registers (``gmmkit_register_features``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def log_returns(prices: Any) -> np.ndarray:
    """Log returns of price series: shape (n_dates - 1, n_assets).

    Parameters
    ----------
    prices : array-like of shape (n_dates,) or (n_dates, n_assets), or a pandas
        Series/DataFrame
        Positive prices in date order.

    Returns
    -------
    ndarray of shape (n_dates - 1, n_assets)
    """
    prices = np.asarray(prices, dtype=np.float64)
    if prices.ndim == 1:
        prices = prices[:, None]
    if prices.shape[0] < 2:
        raise ValueError(f"log_returns needs at least 2 prices; got {prices.shape[0]}.")
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError(
            "log_returns needs positive, finite prices; drop or fill missing and "
            "non-positive prices first."
        )
    return np.diff(np.log(prices), axis=0)
