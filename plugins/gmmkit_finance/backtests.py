"""Expected-shortfall and dynamic-quantile backtests, and the Basel traffic light.

Conventions: ``returns`` ``X_t`` are profits (a loss is negative); VaR and
ES are positive losses at ``level``; ``alpha = 1 - level``; a day is an
exceedance when ``X_t < -VaR_t`` (``I_t = 1``).

- Acerbi and Szekely (2014), under H0 the ES is right (so E[Z] = 0) and a
  negative Z means the ES is too small:
  ``Z1 = sum_t X_t I_t / ES_t / N + 1`` (N = number of exceedances; Z1 = 0
  when there are none) and ``Z2 = sum_t X_t I_t / (T alpha ES_t) + 1``.
  Their distribution depends on the forecasts, so the p-value is
  simulated: draw every day's return from its forecast distribution,
  recompute Z, and count how often it is at most the observed Z.
- McNeil and Frey (2000): on exceedance days the residuals
  ``(L_t - ES_t) / sigma_t`` (``L = -X``) have mean zero if the ES is right;
  a one-sided bootstrap test of the mean (Efron and Tibshirani) rejects
  when they are too large.
- Engle and Manganelli (2004), dynamic quantile: regress
  ``Hit_t = I_t - alpha`` on a constant, its own ``lags`` lags and VaR_t;
  ``DQ = Hit' X (X'X)^+ X' Hit / (alpha (1 - alpha))`` is chi-squared with
  rank(X) degrees of freedom when hits are unpredictable with the right rate.
- Basel traffic light: the binomial probability of at most x exceedances
  in n days; green below 95%, yellow below 99.99%, red from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gmmkit_finance.coverage import CoverageTest
from gmmkit_finance.risk import check_level

#: simulated samples for the Acerbi-Szekely p-values
N_SIMULATIONS = 2000
#: bootstrap samples of the McNeil-Frey test
N_BOOTSTRAP = 5000
#: draws simulated at once (rows of n_days), to bound memory
_SIM_BATCH = 250
KINDS = ("z1", "z2")
#: Basel's plus factors for 5..9 exceedances in 250 days at 99% (yellow zone)
BASEL_PLUS_FACTORS = {5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}


@dataclass(frozen=True)
class SimulatedTest:
    """A test whose p-value comes from simulation or bootstrap.

    Attributes
    ----------
    statistic : float
    pvalue : float
        P(statistic at least this extreme | H0), estimated from ``n_samples``.
    n_samples : int
    """

    statistic: float
    pvalue: float
    n_samples: int

    def passes(self, alpha=0.05):
        """True when the test does not reject at significance ``alpha``."""
        return self.pvalue > alpha


def _series(returns, var, es, level):
    level = check_level(level)
    arrays = [np.asarray(a, dtype=np.float64).ravel() for a in (returns, var, es)]
    n = arrays[0].size
    for name, array in zip(("var", "es"), arrays[1:]):
        if array.size != n:
            raise ValueError(f"{name} has {array.size} values for {n} returns; give one "
                             "forecast per day.")
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError("returns, var and es must be finite numbers; drop the days without "
                         "a forecast.")
    if np.any(arrays[2] <= 0):
        raise ValueError("es must be positive losses (an expected shortfall of 0 or less "
                         "cannot be tested).")
    return (*arrays, level)


def acerbi_szekely_statistic(returns: Any, var: Any, es: Any, level: float,
                             kind: str = "z2") -> Any:
    """Z1 or Z2 of Acerbi and Szekely for one return path or many.

    Parameters
    ----------
    returns : ndarray of shape (n_days,) or (n_paths, n_days)
    var, es : ndarray of shape (n_days,)
        Positive losses.
    level : float
    kind : {"z1", "z2"}

    Returns
    -------
    float or ndarray of shape (n_paths,)
    """
    returns = np.asarray(returns, dtype=np.float64)
    hits = returns < -var
    terms = np.where(hits, returns / es, 0.0).sum(axis=-1)
    if kind == "z2":
        return terms / (returns.shape[-1] * (1.0 - level)) + 1.0
    if kind != "z1":
        raise ValueError(f"kind={kind!r}; use 'z1' or 'z2'.")
    count = hits.sum(axis=-1)
    return np.where(count > 0, terms / np.maximum(count, 1) + 1.0, 0.0)


def normal_sampler(var: Any, es: Any, level: float) -> Callable:
    """Draws from the normal distributions whose VaR and ES at ``level`` are ``var``, ``es``.

    A normal N(m, s^2) has ``VaR = -(m + s z)`` and ``ES = -m + s phi(z) /
    alpha`` (z the alpha-quantile), so ``s = (ES - VaR) / (phi(z) / alpha +
    z)`` and ``m = -VaR - s z``: the default forecast distribution when
    only VaR and ES are known.

    Returns
    -------
    callable(rng, n_paths) -> ndarray of shape (n_paths, n_days)
    """
    from scipy.stats import norm

    alpha = 1.0 - level
    z = norm.ppf(alpha)
    scale = (np.asarray(es) - np.asarray(var)) / (norm.pdf(z) / alpha + z)
    if np.any(scale <= 0):
        raise ValueError("es must exceed var on every day for the normal forecasts the test "
                         "simulates by default; give simulate= with the model's distribution.")
    location = -np.asarray(var) - scale * z

    def sample(rng, n_paths):
        return location + scale * rng.standard_normal((n_paths, location.size))

    return sample


def acerbi_szekely_test(returns: Any, var: Any, es: Any, level: float = 0.975, *,
                        kind: str = "z2", simulate: Callable | None = None,
                        n_simulations: int = N_SIMULATIONS,
                        random_state: int = 0) -> SimulatedTest:
    """Acerbi and Szekely's Z1 or Z2 test of Expected Shortfall forecasts.

    Parameters
    ----------
    returns : array-like of shape (n_days,)
        Realised returns (profits; losses negative).
    var, es : array-like of shape (n_days,)
        Each day's forecast VaR and ES at ``level`` (positive losses).
    level : float, default=0.975
    kind : {"z1", "z2"}, default="z2"
    simulate : callable(rng, n_paths) -> ndarray of shape (n_paths, n_days), optional
        Draws returns from each day's forecast distribution (H0). Default:
        the normal distributions with these VaR and ES (:func:`normal_sampler`).
    n_simulations : int, default=2000
    random_state : int, default=0

    Returns
    -------
    SimulatedTest
        ``pvalue`` is the share of simulated Z at or below the observed Z.
    """
    if kind not in ("z1", "z2"):
        raise ValueError(f"kind={kind!r}; use 'z1' or 'z2'.")
    z1, z2 = acerbi_szekely_tests(returns, var, es, level, simulate=simulate,
                                  n_simulations=n_simulations, random_state=random_state)
    return z1 if kind == "z1" else z2


def acerbi_szekely_tests(returns: Any, var: Any, es: Any, level: float = 0.975, *,
                         simulate: Callable | None = None, n_simulations: int = N_SIMULATIONS,
                         random_state: int = 0) -> tuple[SimulatedTest, SimulatedTest]:
    """Z1 and Z2 tests from the same simulated paths (see :func:`acerbi_szekely_test`).

    Returns
    -------
    z1, z2 : SimulatedTest
    """
    returns, var, es, level = _series(returns, var, es, level)
    observed = [float(acerbi_szekely_statistic(returns, var, es, level, k)) for k in KINDS]
    simulate = normal_sampler(var, es, level) if simulate is None else simulate
    rng = np.random.default_rng(random_state)
    below = np.zeros(2, dtype=np.int64)
    n_simulations = int(n_simulations)
    for start in range(0, n_simulations, _SIM_BATCH):
        paths = simulate(rng, min(_SIM_BATCH, n_simulations - start))
        for i, kind in enumerate(KINDS):
            below[i] += int(np.sum(acerbi_szekely_statistic(paths, var, es, level, kind)
                                   <= observed[i] + 1e-12))
    z1, z2 = (SimulatedTest(observed[i], float(below[i] / n_simulations), n_simulations)
              for i in range(2))
    return z1, z2


def mcneil_frey_test(returns: Any, var: Any, es: Any, *, scale: Any = None,
                     n_bootstrap: int = N_BOOTSTRAP, random_state: int = 0) -> SimulatedTest:
    """McNeil and Frey's exceedance-residual test of Expected Shortfall.

    Parameters
    ----------
    returns, var, es : array-like of shape (n_days,)
    scale : array-like of shape (n_days,), optional
        The conditional volatility sigma_t of each forecast. Default: ES_t,
        which tests the relative residuals (L_t - ES_t) / ES_t.
    n_bootstrap : int, default=5000
    random_state : int, default=0

    Returns
    -------
    SimulatedTest
        ``statistic`` is the t statistic of the residuals' mean;
        ``pvalue`` the bootstrap probability of a t at least as large under
        H0 (mean 0). No exceedance, or one: statistic 0, p-value 1.
    """
    returns, var, es, _ = _series(returns, var, es, 0.5)
    scale = es if scale is None else np.asarray(scale, dtype=np.float64).ravel()
    if scale.shape != returns.shape or np.any(scale <= 0):
        raise ValueError("scale must hold one positive volatility per day.")
    hits = returns < -var
    residuals = (-returns[hits] - es[hits]) / scale[hits]
    if residuals.size < 2:
        return SimulatedTest(0.0, 1.0, 0)
    observed = _t_statistic(residuals)
    if not np.isfinite(observed):  # every residual equal
        return SimulatedTest(float(observed), 0.0 if observed > 0 else 1.0, 0)
    rng = np.random.default_rng(random_state)
    centred = residuals - residuals.mean()
    draws = centred[rng.integers(0, residuals.size, (n_bootstrap, residuals.size))]
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = _t_statistic(draws)
    boot = np.where(np.isnan(boot), 0.0, boot)
    return SimulatedTest(float(observed), float(np.mean(boot >= observed)), int(n_bootstrap))


def _t_statistic(values):
    """mean / (sd / sqrt(n)) along the last axis (sd with n - 1); inf-signed when sd is 0."""
    n = values.shape[-1]
    mean = values.mean(axis=-1)
    sd = values.std(axis=-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return mean / (sd / np.sqrt(n))


def dynamic_quantile_test(returns: Any, var: Any, level: float, *, lags: int = 4,
                          include_var: bool = True) -> CoverageTest:
    """Engle and Manganelli's dynamic-quantile (DQ) test of VaR forecasts.

    Parameters
    ----------
    returns, var : array-like of shape (n_days,)
    level : float
    lags : int, default=4
        Lagged hits in the regression.
    include_var : bool, default=True
        Regress on the VaR forecast too.

    Returns
    -------
    CoverageTest
        Chi-squared with rank(regressors) degrees of freedom.
    """
    from scipy.stats import chi2

    returns, var, _, level = _series(returns, var, np.ones(np.size(returns)), level)
    lags = int(lags)
    if lags < 0 or returns.size < lags + 10:
        raise ValueError(f"lags={lags} for {returns.size} days; the DQ test needs lags >= 0 "
                         "and at least lags + 10 days.")
    alpha = 1.0 - level
    hit = (returns < -var).astype(np.float64) - alpha
    target = hit[lags:]
    columns = [np.ones(target.size)] + [hit[lags - j:hit.size - j] for j in range(1, lags + 1)]
    if include_var:
        columns.append(var[lags:])
    design = np.column_stack(columns)
    coef, _, rank, _ = np.linalg.lstsq(design, target, rcond=None)
    fitted = design @ coef
    statistic = float(fitted @ fitted) / (alpha * (1.0 - alpha))
    return CoverageTest(statistic, float(chi2.sf(statistic, rank)), int(rank))


@dataclass(frozen=True)
class TrafficLight:
    """The Basel traffic-light zone of a VaR backtest.

    Attributes
    ----------
    zone : {"green", "yellow", "red"}
    exceedances, days : int
    cumulative_probability : float
        P(at most this many exceedances) for a correct VaR (binomial).
    plus_factor : float or None
        Basel's addition to the capital multiplier of 3 (only for 250 days
        at 99%; None otherwise).
    """

    zone: str
    exceedances: int
    days: int
    cumulative_probability: float
    plus_factor: float | None


def traffic_light(exceedances: Any, level: float = 0.99, *,
                  days: int | None = None) -> TrafficLight:
    """The Basel traffic-light zone: green, yellow or red.

    Parameters
    ----------
    exceedances : array-like of bool of shape (n_days,), or int
        The hit sequence, or the number of exceedances (then give ``days``).
    level : float, default=0.99
    days : int, optional
        The number of days, when ``exceedances`` is a count.

    Returns
    -------
    TrafficLight
    """
    from scipy.stats import binom

    level = check_level(level)
    if np.ndim(exceedances) == 0:
        if days is None:
            raise ValueError("give days= with a number of exceedances (Basel uses 250).")
        count, days = int(exceedances), int(days)
    else:
        hits = np.asarray(exceedances)
        count, days = int(hits.sum()), int(hits.size)
    if not 0 <= count <= days:
        raise ValueError(f"{count} exceedances in {days} days; give 0 to {days}.")
    cumulative = float(binom.cdf(count, days, 1.0 - level))
    zone = "green" if cumulative < 0.95 else "yellow" if cumulative < 0.9999 else "red"
    plus = None
    if days == 250 and abs(level - 0.99) < 1e-12:
        plus = {"green": 0.0, "red": 1.0}.get(zone, BASEL_PLUS_FACTORS.get(count))
    return TrafficLight(zone, count, days, cumulative, plus)
