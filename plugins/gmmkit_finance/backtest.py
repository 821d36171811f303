"""Rolling or expanding VaR backtests of several models side by side.

Every ``refit_every`` days each model is refitted on the last ``window``
returns (rolling) or on all returns so far (expanding) and forecasts the
VaR of each day until the next refit, using only returns before that day.
Mixture fits are warm-started from the previous refit. Models:

- ``normal``: mean and standard deviation of the window;
- ``historical``: the empirical quantile of the window;
- ``gmm``: a Gaussian mixture of the window's returns (exact quantile);
- ``filtered-gmm``: GARCH(1,1) volatility with mixture residuals
  (:mod:`gmmkit_finance.filtered`); between refits the volatility is
  updated daily with the fitted parameters, so the VaR moves every day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmkit_finance import risk
from gmmkit_finance.coverage import coverage_summary
from gmmkit_finance.filtered import filter_variance, fit_filter

MODELS = ("normal", "historical", "gmm", "filtered-gmm")


@dataclass
class Backtest:
    """What a backtest produced.

    Attributes
    ----------
    var, es : pandas.DataFrame or ndarray of shape (n_days, n_models)
        Each model's forecast VaR / ES (positive losses) per backtest day.
    exceedances : pandas.DataFrame or ndarray of shape (n_days, n_models), bool
        True where the return fell below -VaR.
    returns : pandas.Series or ndarray of shape (n_days,)
        The realised returns of the backtest days.
    table : pandas.DataFrame
        One row per model: see :func:`coverage_summary`.
    level : float
    models : list of str
    """

    var: object
    es: object
    exceedances: object
    returns: object
    table: object
    level: float
    models: list

    def passes(self, model, alpha=0.05):
        """True when ``model`` passes Kupiec and conditional coverage at ``alpha``."""
        row = self.table.loc[model]
        return bool(row["kupiec_p"] > alpha and row["independence_p"] > alpha
                    and row["cc_p"] > alpha)


class _Normal:
    def refit(self, values, lo, hi):
        train = values[lo:hi]
        self.mean, self.std = train.mean(), train.std(ddof=1)

    def forecast(self, values, lo, start, stop, level):
        var, es = risk.normal_var_es(self.mean, self.std, level)
        return np.full(stop - start, var), np.full(stop - start, es)


class _Historical:
    def refit(self, values, lo, hi):
        self.train = values[lo:hi]

    def forecast(self, values, lo, start, stop, level):
        var, es = risk.historical_var_es(self.train, level)
        return np.full(stop - start, var), np.full(stop - start, es)


class _Mixture:
    """A GaussianMixture of (scaled) data, refitted with warm starts."""

    def __init__(self, n_components, random_state, warm_start):
        from gmmkit import GaussianMixture

        self.model = GaussianMixture(n_components, n_init=3, random_state=random_state)
        self.warm_start = warm_start

    def fit(self, data):
        import warnings

        from gmmkit.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(data[:, None])
        if self.warm_start:
            self.model.set_params(warm_start=True, n_init=1)

    def var_es(self, level):
        stds = np.sqrt(risk.full_covariances(self.model)[:, 0, 0])
        mixture = (self.model.weights_, self.model.means_[:, 0], stds)
        quantile = risk.mixture_quantile(*mixture, 1.0 - level)
        return -quantile, -risk.mixture_tail_mean(*mixture, quantile)


class _GMM(_Mixture):
    def refit(self, values, lo, hi):
        train = values[lo:hi]
        self.scale = train.std()
        self.fit(train / self.scale)

    def forecast(self, values, lo, start, stop, level):
        var, es = self.var_es(level)
        return np.full(stop - start, var * self.scale), np.full(stop - start, es * self.scale)


class _FilteredGMM(_Mixture):
    def __init__(self, n_components, random_state, warm_start, method, filter_every):
        super().__init__(n_components, random_state, warm_start)
        self.method, self.filter_every = method, filter_every
        self.params, self.refits = None, 0

    def refit(self, values, lo, hi):
        if self.params is None or self.refits % self.filter_every == 0:
            init = self.params if self.warm_start else None
            self.params = fit_filter(values[lo:hi], self.method, init=init)
        self.refits += 1
        sigma = np.sqrt(filter_variance(values[lo:hi], self.params, self.method))
        self.fit((values[lo:hi] - self.params.mu) / sigma[:-1])

    def forecast(self, values, lo, start, stop, level):
        var, es = self.var_es(level)
        variance = filter_variance(values[lo:stop], self.params, self.method)
        sigma = np.sqrt(variance[start - lo:stop - lo])
        mu = self.params.mu
        return sigma * var - mu, sigma * es - mu


def _forecasters(models, n_components, random_state, warm_start, volatility,
                 filter_refit_every):
    makers = {
        "normal": _Normal,
        "historical": _Historical,
        "gmm": lambda: _GMM(n_components, random_state, warm_start),
        "filtered-gmm": lambda: _FilteredGMM(n_components, random_state, warm_start,
                                             volatility, filter_refit_every),
    }
    return [makers[m]() for m in check_models(models)]


def check_models(models):
    """``models`` as a list of distinct names of :data:`MODELS`, or a ValueError.

    Parameters
    ----------
    models : sequence of str

    Returns
    -------
    list of str
    """
    models = [models] if isinstance(models, str) else list(models)
    if not models:
        raise ValueError(f"no model given; choose one or more of {', '.join(MODELS)}.")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}.")
    repeated = [m for i, m in enumerate(models) if m in models[:i]]
    if repeated:
        raise ValueError(f"model {repeated[0]!r} is named twice; give each model once, such as "
                         f"{','.join(dict.fromkeys(models))}.")
    return models


def backtest_var(returns, *, level=0.99, window=1000, refit_every=20, models=MODELS,
                 expanding=False, n_components=2, volatility="garch", filter_refit_every=1,
                 warm_start=True, random_state=0, progress=None):
    """Backtest one-day VaR forecasts of several models on one return series.

    Parameters
    ----------
    returns : pandas.Series or array-like of shape (n_dates,)
        One asset's or one portfolio's returns, in date order.
    level : float in (0, 1), default=0.99
    window : int, default=1000
        Returns in each fit (the first fit's, when ``expanding``).
    refit_every : int, default=20
        Days between refits.
    models : sequence of str, default=all of MODELS
    expanding : bool, default=False
        Fit on every return so far instead of the last ``window``.
    n_components : int, default=2
        Components of the gmm and filtered-gmm mixtures.
    volatility : {"garch", "ewma"}, default="garch"
        The filter of filtered-gmm.
    filter_refit_every : int, default=1
        Re-estimate the GARCH parameters at every this many refits (the
        residual mixture is refitted at every refit).
    warm_start : bool, default=True
        Start each refit's EM (one run) and GARCH optimisation from the
        previous refit's estimates; False refits from scratch (3 EM starts).
    random_state : int or None, default=0
    progress : callable(done, total), optional
        Called after each refit, for progress bars.

    Returns
    -------
    Backtest
        Indexed by date when ``returns`` was.

    Raises
    ------
    ValueError
        Too few returns for the window, NaN gaps, constant returns, bad level.
    """
    from gmmkit_finance.data import as_one_series

    level = risk.check_level(level)
    values, index, name = as_one_series(returns, "backtest_var tests")
    window, refit_every = int(window), int(refit_every)
    if window < 50 or refit_every < 1:
        raise ValueError(f"window={window}, refit_every={refit_every}: the window needs at least "
                         "50 returns and refit_every at least 1 day.")
    if values.size <= window:
        raise ValueError(
            f"too few observations for the window: {values.size} returns, but a window of "
            f"{window} needs more than {window} (some to fit, the rest to test); use a shorter "
            "window or a longer series."
        )
    models = check_models(models)
    forecasters = _forecasters(models, n_components, random_state, warm_start, volatility,
                               max(1, int(filter_refit_every)))
    var, es = _run(values, forecasters, level, window, refit_every, expanding, progress)
    return _result(values[window:], var, es, models, level, None if index is None
                   else index[window:], name)


def _run(values, forecasters, level, window, refit_every, expanding, progress):
    n_days = values.size - window
    var = np.empty((n_days, len(forecasters)))
    es = np.empty_like(var)
    starts = range(window, values.size, refit_every)
    for done, start in enumerate(starts, 1):
        stop = min(start + refit_every, values.size)
        lo = 0 if expanding else start - window
        for j, forecaster in enumerate(forecasters):
            forecaster.refit(values, lo, start)
            block = slice(start - window, stop - window)
            var[block, j], es[block, j] = forecaster.forecast(values, lo, start, stop, level)
        if progress is not None:
            progress(done, len(starts))
    return var, es


def _result(realised, var, es, models, level, index, name):
    import pandas as pd

    hits = realised[:, None] < -var
    table = pd.DataFrame([coverage_summary(hits[:, j], level) for j in range(len(models))],
                         index=pd.Index(models, name="model"))
    if index is not None:
        var = pd.DataFrame(var, index=index, columns=models)
        es = pd.DataFrame(es, index=index, columns=models)
        hits = pd.DataFrame(hits, index=index, columns=models)
        realised = pd.Series(realised, index=index, name=name)
    return Backtest(var, es, hits, realised, table, level, models)
