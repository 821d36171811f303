"""Volatility regimes: mixture components ordered from calm to turbulent.

Each component of a return mixture is a regime. Regime 0 has the lowest
volatility (for several assets: the smallest total variance, the trace of
its covariance). Every date gets the posterior probability of each regime
and the most probable one as its label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Regimes:
    """Regimes of a return series.

    Attributes
    ----------
    probabilities : pandas.DataFrame or ndarray of shape (n_dates, n_regimes)
        Posterior probability of each regime per date (columns 0..K-1).
    labels : pandas.Series or ndarray of shape (n_dates,)
        The most probable regime per date.
    table : pandas.DataFrame
        One row per regime: weight, days (dates labelled with it), and per
        asset the annualised mean and volatility.
    order : ndarray of shape (n_regimes,)
        ``order[r]`` is the model component behind regime r.
    """

    probabilities: object
    labels: object
    table: object
    order: np.ndarray


def regimes(returns, n_components="auto", *, window=None, **fit_params):
    """Fit a mixture and read off volatility regimes, one posterior per date.

    Parameters
    ----------
    returns : pandas.Series/DataFrame or array-like of shape (n_dates,) or (n_dates, n_assets)
    n_components : int or "auto", default="auto"
    window : int, optional
        None: the regimes are the components of the return mixture itself
        (:func:`fit_returns`), so each day is labelled by its own return and
        labels can change every day. An int: the mixture is fitted to the
        log of each asset's trailing ``window``-day realised volatility
        instead, which gives persistent regimes (calm years, crises); the
        first ``window - 1`` dates get no label.
    **fit_params
        GaussianMixture parameters (random_state, n_init, covariance_type, ...).

    Returns
    -------
    Regimes
        Indexed by date when the returns were.
    """
    from gmmkit_finance.fit import fit_returns

    if window is None:
        return regimes_of(fit_returns(returns, n_components, **fit_params))
    return _volatility_regimes(returns, n_components, int(window), fit_params)


def regimes_of(fitted):
    """The :class:`Regimes` of a fitted :class:`ReturnMixture` (regime = component)."""
    weights, means, covariances = fitted.components()
    order = np.argsort(np.trace(covariances, axis1=1, axis2=2), kind="stable")
    proba = fitted.model.predict_proba(fitted.returns / fitted.scale)[:, order]
    stats = {"weight": weights[order], "mean": means[order],
             "variance": np.diagonal(covariances, axis1=1, axis2=2)[order]}
    return _assemble(proba, stats, fitted.names, fitted.index, fitted.periods_per_year)


def _volatility_regimes(returns, n_components, window, fit_params):
    from gmmkit import GaussianMixture
    from gmmkit_finance.data import as_returns
    from gmmkit_finance.fit import TRADING_DAYS

    values, index, names = as_returns(returns)
    if not 2 <= window < values.shape[0]:
        raise ValueError(
            f"window={window} for {values.shape[0]} returns; a trailing volatility needs "
            "2 <= window < the number of returns."
        )
    windows = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)
    features = np.log(np.maximum(windows.std(axis=-1), 1e-12))
    center, spread = features.mean(axis=0), features.std(axis=0)
    spread[spread == 0] = 1.0
    params = {"n_init": 3, "random_state": 0, **fit_params}
    model = GaussianMixture(n_components, **params).fit((features - center) / spread)
    order = np.argsort(model.means_.sum(axis=1), kind="stable")
    proba = model.predict_proba((features - center) / spread)[:, order]
    kept = values[window - 1:]
    mass = proba.sum(axis=0)
    mean = proba.T @ kept / mass[:, None]
    variance = proba.T @ kept**2 / mass[:, None] - mean**2
    stats = {"weight": mass / mass.sum(), "mean": mean, "variance": variance}
    kept_index = None if index is None else index[window - 1:]
    return _assemble(proba, stats, names, kept_index, TRADING_DAYS, order)


def _assemble(proba, stats, names, index, periods_per_year, order=None):
    import pandas as pd

    n_regimes = proba.shape[1]
    labels = proba.argmax(axis=1)
    rows = {"weight": stats["weight"], "days": np.bincount(labels, minlength=n_regimes)}
    for j, name in enumerate(names):
        prefix = "" if len(names) == 1 else f"{name} "
        rows[f"{prefix}annual mean"] = stats["mean"][:, j] * periods_per_year
        rows[f"{prefix}annual volatility"] = np.sqrt(stats["variance"][:, j] * periods_per_year)
    table = pd.DataFrame(rows, index=pd.RangeIndex(n_regimes, name="regime"))
    if index is not None:
        proba = pd.DataFrame(proba, index=index, columns=range(n_regimes))
        labels = pd.Series(labels, index=index, name="regime")
    return Regimes(proba, labels, table, np.arange(n_regimes) if order is None else order)
