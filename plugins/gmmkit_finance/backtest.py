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
  updated daily with the fitted parameters, so the VaR moves every day;
- ``garch-t``, ``gjr-mixture``, ... (``<garch|gjr|egarch>-<normal|t|mixture>``):
  the filter and its innovations estimated jointly (:func:`fit_volatility`);
- ``hmm``: a 2-regime Markov-switching model, its regime probabilities
  filtered every day (:func:`fit_regimes`).

Each model's exceedances go through the tests named in ``tests``
(:data:`TESTS`): Kupiec, Christoffersen, the dynamic-quantile test, the ES
backtests (Acerbi-Szekely Z1 and Z2, McNeil-Frey) and the Basel traffic
light of the last 250 days (:mod:`gmmkit_finance.backtest_table`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmkit_finance import risk
from gmmkit_finance.backtest_table import TESTS, check_tests, comparison_table
from gmmkit_finance.forecasters import MODELS, make_forecasters

#: the models compared when none are named
DEFAULT_MODELS = ("normal", "historical", "gmm", "filtered-gmm")


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
        One row per model: :func:`coverage_summary` and the other tests'
        statistics and p-values (see :func:`comparison_table`).
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


def backtest_var(returns, *, level=0.99, window=1000, refit_every=20, models=DEFAULT_MODELS,
                 expanding=False, n_components=2, volatility="garch", filter_refit_every=1,
                 warm_start=True, random_state=0, tests=TESTS, n_simulations=1000,
                 progress=None):
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
    models : sequence of str, default=DEFAULT_MODELS
        Names from :data:`MODELS` (normal, historical, gmm, filtered-gmm,
        garch-t, gjr-mixture, egarch-normal, ..., hmm).
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
    tests : sequence of str, default=TESTS
        Tests in the table: "kupiec", "christoffersen", "dq", "es", "traffic".
    n_simulations : int, default=1000
        Simulated paths behind the Acerbi-Szekely p-values.
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
    tests = check_tests(tests)
    forecasters = make_forecasters(models, n_components=n_components,
                                   random_state=random_state, warm_start=warm_start,
                                   volatility=volatility,
                                   filter_refit_every=max(1, int(filter_refit_every)))
    forecasts = _run(values, forecasters, level, window, refit_every, expanding, progress)
    realised = values[window:]
    var = np.column_stack([np.concatenate([f.var for f in model]) for model in forecasts])
    es = np.column_stack([np.concatenate([f.es for f in model]) for model in forecasts])
    table = comparison_table(realised, var, es, forecasts, models, level, tests,
                             n_simulations=n_simulations, random_state=random_state)
    return _result(realised, var, es, table, models, level,
                   None if index is None else index[window:], name)


def _run(values, forecasters, level, window, refit_every, expanding, progress):
    """Every model's :class:`Forecast` per refit block, in day order."""
    forecasts = [[] for _ in forecasters]
    starts = range(window, values.size, refit_every)
    for done, start in enumerate(starts, 1):
        stop = min(start + refit_every, values.size)
        lo = 0 if expanding else start - window
        for j, forecaster in enumerate(forecasters):
            forecaster.refit(values, lo, start)
            forecasts[j].append(forecaster.forecast(values, lo, start, stop, level))
        if progress is not None:
            progress(done, len(starts))
    return forecasts


def _result(realised, var, es, table, models, level, index, name):
    import pandas as pd

    hits = realised[:, None] < -var
    if index is not None:
        var = pd.DataFrame(var, index=index, columns=models)
        es = pd.DataFrame(es, index=index, columns=models)
        hits = pd.DataFrame(hits, index=index, columns=models)
        realised = pd.Series(realised, index=index, name=name)
    return Backtest(var, es, hits, realised, table, level, models)
