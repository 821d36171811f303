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

``position="short"`` backtests the loss of a short position (the upper
tail): every model is fitted to the mirrored returns ``-r`` and its VaR is
exceeded when the return rises above it. Normal, historical, the mixtures,
the hmm, GARCH and EGARCH are mirror-symmetric, so this is the upper tail
of the model of ``r``; GJR's leverage term then acts on rises.

A test window with few expected exceedances cannot tell a good VaR from a
bad one: when Kupiec's test would catch a VaR exceeded twice as often as
promised with probability below :data:`LOW_POWER` (:func:`kupiec_power`),
a :class:`LowPowerWarning` says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmmkit_finance import risk
from gmmkit_finance.backtest_table import TESTS, check_tests, comparison_table
from gmmkit_finance.coverage import kupiec_power
from gmmkit_finance.forecasters import MODELS, make_forecasters

#: the models compared when none are named
DEFAULT_MODELS = ("normal", "historical", "gmm", "filtered-gmm")
#: below this power (against a doubled exceedance rate) a backtest warns
LOW_POWER = 0.5


class LowPowerWarning(UserWarning):
    """The backtest's test days hold too few expected exceedances for the tests to judge."""


@dataclass
class Backtest:
    """What a backtest produced.

    Attributes
    ----------
    var, es : pandas.DataFrame or ndarray of shape (n_days, n_models)
        Each model's forecast VaR / ES (positive losses) per backtest day.
    exceedances : pandas.DataFrame or ndarray of shape (n_days, n_models), bool
        True where the position's loss exceeded the VaR: the return fell
        below -VaR (long) or rose above VaR (short).
    returns : pandas.Series or ndarray of shape (n_days,)
        The realised returns of the backtest days (not mirrored).
    table : pandas.DataFrame
        One row per model: :func:`coverage_summary` and the other tests'
        statistics and p-values (see :func:`comparison_table`).
    level : float
    models : list of str
    position : {"long", "short"}
    n_components : int
        Components of the gmm mixture (chosen by BIC on the first window
        when ``n_components="auto"`` was asked for).
    """

    var: object
    es: object
    exceedances: object
    returns: object
    table: object
    level: float
    models: list
    position: str = "long"
    n_components: int = 2

    def to_frame(self) -> Any:
        """The backtest day by day: one row per day, ``return`` then per model
        ``var <model>``, ``es <model>`` and ``exceedance <model>`` (0/1).

        Returns
        -------
        pandas.DataFrame of shape (n_days, 1 + 3 n_models)
            Indexed by date when the returns were (else by day number).
        """
        import pandas as pd

        index = getattr(self.returns, "index", None)
        columns = {"return": np.asarray(self.returns)}
        for j, model in enumerate(self.models):
            columns[f"var {model}"] = np.asarray(self.var)[:, j]
            columns[f"es {model}"] = np.asarray(self.es)[:, j]
            columns[f"exceedance {model}"] = np.asarray(self.exceedances)[:, j].astype(int)
        frame = pd.DataFrame(columns, index=index)
        frame.index.name = "date" if index is not None else "day"
        return frame

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
                 position="long", progress=None):
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
    n_components : int or "auto", default=2
        Components of the gmm and filtered-gmm mixtures (and of the
        filters' mixture innovations). "auto", as in ``gmmkit finance var``:
        gmm's K is chosen once by BIC (K = 1..10) on the first window's
        returns, which precede every test day, and kept for every refit;
        the filtered mixtures use 2.
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
    position : {"long", "short"}, default="long"
        "short": the VaR/ES of a short position (the upper tail; see the
        module docstring).
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

    Warns
    -----
    LowPowerWarning
        When the test days hold too few expected exceedances (see
        :func:`low_power_note`).
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
    sign = risk.position_sign(position)
    values = sign * values  # a short position's loss is a long position's in -r
    first = values[:window] if "gmm" in models else None  # only gmm's K is chosen by BIC
    gmm_components = _components(n_components, first, random_state)
    n_components = 2 if n_components == "auto" else gmm_components
    forecasters = make_forecasters(models, n_components=n_components,
                                   gmm_components=gmm_components, random_state=random_state,
                                   warm_start=warm_start, volatility=volatility,
                                   filter_refit_every=max(1, int(filter_refit_every)))
    forecasts = _run(values, forecasters, level, window, refit_every, expanding, progress)
    realised = values[window:]
    var = np.column_stack([np.concatenate([f.var for f in model]) for model in forecasts])
    es = np.column_stack([np.concatenate([f.es for f in model]) for model in forecasts])
    table = comparison_table(realised, var, es, forecasts, models, level, tests,
                             n_simulations=n_simulations, random_state=random_state)
    note = low_power_note(realised.size, level)
    if note is not None:
        warnings.warn(f"{note}; use a shorter window, a longer series or a lower level.",
                      LowPowerWarning, stacklevel=2)
    result = _result(sign * realised, var, es, table, models, level,
                     None if index is None else index[window:], name, sign)
    result.position, result.n_components = position, gmm_components
    return result


def _components(n_components, first_window, random_state):
    """``n_components`` as an int: BIC's choice on the first window for "auto" (2 without one)."""
    if isinstance(n_components, str):
        if n_components != "auto":
            raise ValueError(f"n_components={n_components!r}; give a whole number or 'auto'.")
        if first_window is None:
            return 2
        from gmmkit_finance.fit import fit_returns

        return fit_returns(first_window, "auto", random_state=random_state).n_components
    if isinstance(n_components, bool) or int(n_components) != n_components or n_components < 1:
        raise ValueError(f"n_components={n_components!r}; give a whole number >= 1 or 'auto'.")
    return int(n_components)


def low_power_note(n_days: int, level: float) -> str | None:
    """A sentence on the coverage tests' low power, or None when they have enough.

    Parameters
    ----------
    n_days : int
        Test days.
    level : float

    Returns
    -------
    str or None
        Set when Kupiec's test catches a VaR exceeded twice as often as
        promised with probability below :data:`LOW_POWER`.
    """
    power = kupiec_power(n_days, level)
    if power >= LOW_POWER:
        return None
    rate = 2.0 * (1.0 - level)
    return (f"{n_days} test days at level {level:g} leave {n_days * (1.0 - level):.1f} "
            f"exceedances expected: the tests have little power (a VaR exceeded on {rate:.1%} "
            f"of days, twice as often as promised, fails Kupiec's test with probability only "
            f"{power:.2f})")


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


def _result(realised, var, es, table, models, level, index, name, sign):
    import pandas as pd

    hits = sign * realised[:, None] < -var
    if index is not None:
        var = pd.DataFrame(var, index=index, columns=models)
        es = pd.DataFrame(es, index=index, columns=models)
        hits = pd.DataFrame(hits, index=index, columns=models)
        realised = pd.Series(realised, index=index, name=name)
    return Backtest(var, es, hits, realised, table, level, models)
