"""The comparison table of a backtest: every model's exceedances through every test.

Columns per model (one row each):

- always: ``days``, ``exceedances``, ``expected``, ``rate`` and the
  Kupiec / Christoffersen figures of :func:`coverage_summary`
  (``kupiec_lr``, ``kupiec_p``, ``independence_lr``, ``independence_p``,
  ``cc_lr``, ``cc_p``);
- ``"dq"``: ``dq``, ``dq_p`` (Engle-Manganelli, 4 lags and the VaR);
- ``"es"``: ``z1``, ``z1_p``, ``z2``, ``z2_p`` (Acerbi-Szekely, simulated from
  each model's own forecast distributions) and ``mcneil_frey``,
  ``mcneil_frey_p`` (residuals scaled by the model's volatility where it has
  one, else by the ES);
- ``"traffic"``: ``zone`` and ``zone_exceedances``: the Basel traffic light
  of the last 250 days (all days when fewer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gmmkit_finance.backtests import (
    acerbi_szekely_tests,
    dynamic_quantile_test,
    mcneil_frey_test,
    traffic_light,
)
from gmmkit_finance.coverage import coverage_summary

#: the tests a backtest table can hold
TESTS = ("kupiec", "christoffersen", "dq", "es", "traffic")
#: days of the traffic light (Basel)
TRAFFIC_DAYS = 250


def check_tests(tests: Any) -> list:
    """``tests`` as a list of distinct names of :data:`TESTS`, or a ValueError."""
    tests = [tests] if isinstance(tests, str) else list(tests)
    unknown = [t for t in tests if t not in TESTS]
    if unknown:
        raise ValueError(f"unknown test {unknown[0]!r}; choose from {', '.join(TESTS)}.")
    if not tests:
        raise ValueError(f"no test given; choose one or more of {', '.join(TESTS)}.")
    return list(dict.fromkeys(tests))


def _joined(blocks, field):
    parts = [getattr(block, field) for block in blocks]
    return None if any(p is None for p in parts) else np.concatenate(parts)


def _sampler(blocks):
    def simulate(rng, n_paths):
        return np.concatenate([block.sample(rng, n_paths) for block in blocks], axis=1)
    return simulate


def comparison_table(realised: np.ndarray, var: np.ndarray, es: np.ndarray, forecasts: list,
                     models: list, level: float, tests: list, *, n_simulations: int = 1000,
                     random_state: int = 0) -> Any:
    """One row per model with the columns of the tests asked for (see the module docstring).

    Parameters
    ----------
    realised : ndarray of shape (n_days,)
    var, es : ndarray of shape (n_days, n_models)
    forecasts : list (per model) of lists of Forecast
    models : list of str
    level : float
    tests : list of str
    n_simulations : int, default=1000
    random_state : int, default=0

    Returns
    -------
    pandas.DataFrame
        Indexed by model.
    """
    import pandas as pd

    rows = []
    for j, model in enumerate(models):
        hits = realised < -var[:, j]
        row = coverage_summary(hits, level)
        if "dq" in tests:
            dq = dynamic_quantile_test(realised, var[:, j], level)
            row.update(dq=dq.statistic, dq_p=dq.pvalue)
        if "es" in tests:
            z1, z2 = acerbi_szekely_tests(realised, var[:, j], es[:, j], level,
                                          simulate=_sampler(forecasts[j]),
                                          n_simulations=n_simulations,
                                          random_state=random_state)
            frey = mcneil_frey_test(realised, var[:, j], es[:, j],
                                    scale=_joined(forecasts[j], "volatility"),
                                    random_state=random_state)
            row.update(z1=z1.statistic, z1_p=z1.pvalue, z2=z2.statistic, z2_p=z2.pvalue,
                       mcneil_frey=frey.statistic, mcneil_frey_p=frey.pvalue)
        if "traffic" in tests:
            light = traffic_light(hits[-TRAFFIC_DAYS:], level)
            row.update(zone=light.zone, zone_exceedances=light.exceedances)
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(models, name="model"))
