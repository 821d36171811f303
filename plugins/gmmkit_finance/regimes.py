"""Volatility regimes: mixture components ordered from calm to turbulent.

Each component of a return mixture is a regime. Regime 0 has the lowest
volatility (for several assets: the smallest total variance, the trace of
its covariance). Every date gets the posterior probability of each regime
and the most probable one as its label.

A mixture of daily returns (no ``window``) labels each day by its own
return: its "regimes" are large and small moves, often up days and down
days, not persistent market states; :func:`regimes` warns
(:class:`DailyRegimesWarning`). With a ``window`` the mixture is fitted to
the trailing volatility, whose overlapping windows share most of their
days: ``n_components="auto"`` then picks K by a BIC whose sample size is
the number of non-overlapping windows, ``n / window`` (the log-likelihood
weighted by ``1 / window``), not the ``n`` overlapping ones, which would
over-count the evidence ``window`` times and favour too many regimes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: the largest number of regimes n_components="auto" tries
MAX_REGIMES = 10


class DailyRegimesWarning(UserWarning):
    """Regimes of a mixture of daily returns: each day labelled by its own return."""


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
    bic : dict of int to float
        With a window and ``n_components="auto"``: the effective-sample BIC
        of each K tried (empty otherwise).
    n_effective : float or None
        The effective sample size of that BIC, ``n / window``.
    """

    probabilities: object
    labels: object
    table: object
    order: np.ndarray
    bic: dict = field(default_factory=dict)
    n_effective: float | None = None


def regimes(returns, n_components="auto", *, window=None, **fit_params):
    """Fit a mixture and read off volatility regimes, one posterior per date.

    Parameters
    ----------
    returns : pandas.Series/DataFrame or array-like of shape (n_dates,) or (n_dates, n_assets)
    n_components : int or "auto", default="auto"
        "auto": K = 1..10 by BIC (with a window: the effective-sample BIC of
        the module docstring).
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

    Warns
    -----
    DailyRegimesWarning
        Without a window (see the module docstring).
    """
    from gmmkit_finance.fit import fit_returns

    if window is None:
        warnings.warn(daily_regimes_note("window=21", "fit_regimes"), DailyRegimesWarning,
                      stacklevel=2)
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
    scaled = (features - center) / spread
    model, bic = _fit_overlapping(scaled, n_components, window, params)
    order = np.argsort(model.means_.sum(axis=1), kind="stable")
    proba = model.predict_proba((features - center) / spread)[:, order]
    kept = values[window - 1:]
    mass = proba.sum(axis=0)
    mean = proba.T @ kept / mass[:, None]
    variance = proba.T @ kept**2 / mass[:, None] - mean**2
    stats = {"weight": mass / mass.sum(), "mean": mean, "variance": variance}
    kept_index = None if index is None else index[window - 1:]
    found = _assemble(proba, stats, names, kept_index, TRADING_DAYS, order)
    found.bic, found.n_effective = bic, scaled.shape[0] / window
    return found


def daily_regimes_note(window_hint: str, hmm_hint: str) -> str:
    """The warning on regimes of a mixture of daily returns, naming the two remedies."""
    return (f"mixture regimes of daily returns label each day by its own return (big and "
            f"small moves, up days and down days), not persistent market states; use "
            f"{window_hint} for regimes of the trailing volatility, or {hmm_hint} for "
            "Markov-switching regimes")


def effective_bic(model: Any, X: np.ndarray, window: int) -> float:
    """BIC of a mixture fitted to ``X`` (n, d) of overlapping ``window``-day windows.

    The log-likelihood is weighted by ``1 / window`` and the sample size is
    ``n / window``: the number of non-overlapping windows.

    Returns
    -------
    float
    """
    from gmmkit import information_criteria

    n = X.shape[0]
    total = float(model.score(X)) * n
    n_parameters = round((float(model.bic(X)) + 2.0 * total) / np.log(n))
    return information_criteria(total / window, n / window, n_parameters)[0]


def _fit_overlapping(X, n_components, window, params):
    """(mixture, {K: effective BIC}): K given, or chosen by :func:`effective_bic`."""
    from gmmkit import GaussianMixture

    if n_components != "auto":
        return GaussianMixture(n_components, **params).fit(X), {}
    n_effective = X.shape[0] / window
    best, bic = None, {}
    for k in range(1, MAX_REGIMES + 1):
        per = (k - 1) + k * X.shape[1] * (X.shape[1] + 3) / 2
        if k > 1 and per >= n_effective:  # more parameters than independent windows
            break
        model = GaussianMixture(k, **params).fit(X)
        bic[k] = effective_bic(model, X, window)
        if best is None or bic[k] < bic[best[0]]:
            best = (k, model)
    return best[1], bic


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
