"""Multi-day (h-day) VaR and ES: seeded simulation from a fitted model, and sqrt-of-time.

The h-day return is the sum of the next h daily log returns. Its
distribution is simulated, all paths at once (one numpy step per day):

- a volatility model (:func:`fit_volatility`): the variance follows the
  fitted recursion along each path, shocks drawn from its innovations;
- a regime HMM (:func:`fit_regimes`): regimes follow the transition matrix
  from the next day's regime probabilities, returns drawn from each regime;
- a return mixture (:func:`fit_returns`): independent days.

The square-root-of-time rule ``VaR_h = sqrt(h) VaR_1`` is exact only for
independent normal returns with mean 0. It is computed beside the
simulation for comparison, with a :class:`SqrtTimeWarning` naming what
breaks it for the model at hand: volatility that mean-reverts or clusters,
fat-tailed innovations, regimes, a non-zero mean.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmmkit_finance.risk import check_level, position_sign

#: the fitted returns must span this many horizons
HORIZONS_PER_FIT = 10
N_PATHS = 100_000


class SqrtTimeWarning(UserWarning):
    """The square-root-of-time rule does not hold for this model."""


@dataclass(frozen=True)
class HorizonRisk:
    """h-day VaR and ES (positive losses, in return units).

    Attributes
    ----------
    horizon : int
    level : float
    var, es : float
        By simulation.
    sqrt_time_var, sqrt_time_es : float
        ``sqrt(horizon)`` times the one-day VaR and ES.
    n_paths : int
    """

    horizon: int
    level: float
    var: float
    es: float
    sqrt_time_var: float
    sqrt_time_es: float
    n_paths: int


def var_es_of_draws(draws: np.ndarray, level: float) -> tuple[float, float]:
    """VaR and ES (positive losses) of simulated returns (n_paths,)."""
    quantile = float(np.quantile(draws, 1.0 - level))
    return -quantile, -float(draws[draws <= quantile].mean())


def horizon_risk(model: Any, horizon: int, level: float = 0.99, *, returns: Any = None,
                 weights: Any = None, n_paths: int = N_PATHS,
                 random_state: int = 0, position: str = "long") -> HorizonRisk:
    """h-day VaR and ES of a fitted model by simulation, and by the sqrt-of-time rule.

    Parameters
    ----------
    model : VolatilityModel, MarkovRegimes or ReturnMixture
    horizon : int
        Days ahead (h >= 1); the fitted returns must span at least 10 horizons.
    level : float in (0, 1), default=0.99
    returns : array-like of shape (n_dates,), optional
        For a VolatilityModel: the returns it was fitted to (the next day's
        variance is filtered from them). Required there.
    weights : array-like of shape (n_assets,), optional
        Portfolio weights for a model of several assets.
    n_paths : int, default=100000
    random_state : int, default=0
    position : {"long", "short"}, default="long"
        "short": the loss is the h-day return itself (the upper tail).

    Returns
    -------
    HorizonRisk

    Warns
    -----
    SqrtTimeWarning
        When ``horizon > 1`` and the model breaks the square-root-of-time rule.
    """
    level = check_level(level)
    sign = position_sign(position)
    horizon = _check_horizon(horizon, _n_obs(model))
    rng = np.random.default_rng(random_state)
    draws, one_day, reasons = _simulate(model, horizon, level, returns, weights, int(n_paths),
                                        rng, position)
    var, es = var_es_of_draws(sign * draws, level)
    if horizon > 1 and reasons:
        warnings.warn(f"the square-root-of-time rule does not hold here: {'; '.join(reasons)}; "
                      "use the simulated figures.", SqrtTimeWarning, stacklevel=2)
    root = math.sqrt(horizon)
    return HorizonRisk(horizon, level, var, es, root * one_day[0], root * one_day[1],
                       int(n_paths))


def _n_obs(model):
    return int(getattr(model, "n_obs", 0) or len(getattr(model, "returns", ())))


def _check_horizon(horizon, n_obs):
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon={horizon!r}; give a whole number of days, 1 or more.")
    if n_obs and horizon * HORIZONS_PER_FIT > n_obs:
        raise ValueError(
            f"horizon={horizon} days is more than the data support: the model was fitted to "
            f"{n_obs} returns, and an h-day forecast needs at least {HORIZONS_PER_FIT} h of "
            f"them; use horizon <= {n_obs // HORIZONS_PER_FIT} or a longer series."
        )
    return int(horizon)


def _simulate(model, horizon, level, returns, weights, n_paths, rng, position):
    from gmmkit_finance.fit import ReturnMixture
    from gmmkit_finance.garch import VolatilityModel
    from gmmkit_finance.regime_model import MarkovRegimes

    if isinstance(model, VolatilityModel):
        return _simulate_volatility(model, horizon, level, returns, n_paths, rng, position)
    if isinstance(model, MarkovRegimes):
        return _simulate_regimes(model, horizon, level, weights, n_paths, rng, position)
    if isinstance(model, ReturnMixture):
        mixture = model._portfolio(weights)
        draws = sum(_mixture_draws(*mixture, n_paths, rng) for _ in range(horizon))
        one_day = (model.value_at_risk(level, weights=weights, position=position),
                   model.expected_shortfall(level, weights=weights, position=position))
        reasons = ([] if model.n_components == 1 else
                   ["the days are a Gaussian mixture, whose fat tails thin out over h days"])
        return draws, one_day, reasons + _mean_reason(mixture[0] @ mixture[1], one_day[0])
    raise ValueError(f"horizon_risk takes a VolatilityModel, MarkovRegimes or ReturnMixture; "
                     f"got {type(model).__name__}.")


def _simulate_volatility(model, horizon, level, returns, n_paths, rng, position):
    if returns is None:
        raise ValueError("give returns= (the returns the model was fitted to): the next day's "
                         "variance is filtered from them.")
    variance = np.full(n_paths, model.variance(returns)[-1])
    sigma = math.sqrt(variance[0])
    total = np.zeros(n_paths)
    for _ in range(horizon):
        shock = np.sqrt(variance) * model.innovations.sample(rng, n_paths)
        total += model.mu + shock
        variance = model.step(variance, shock)
    one_day = (float(model.value_at_risk(level, sigma=sigma, position=position)),
               float(model.expected_shortfall(level, sigma=sigma, position=position)))
    reasons = []
    if model.volatility != "garch" or model.alpha or model.gamma:
        reasons.append(f"the {model.volatility} variance changes along the path (today's "
                       "volatility mean-reverts and shocks cluster)")
    if model.innovations.kind != "normal":
        reasons.append(f"the {model.innovations.kind} innovations are fat-tailed, and sums of "
                       "fat-tailed days are less so")
    return total, one_day, reasons + _mean_reason(model.mu, one_day[0])


def _simulate_regimes(model, horizon, level, weights, n_paths, rng, position):
    mix_weights, means, stds = model.next_day_mixture(weights)
    n_regimes, n_mix = model.weights.shape
    means, stds = means.reshape(n_regimes, n_mix), stds.reshape(n_regimes, n_mix)
    cumulative = np.cumsum(model.transmat, axis=1)
    within = np.cumsum(model.weights, axis=1)
    state = _categorical(np.tile(model.next_regime_probabilities().cumsum(), (n_paths, 1)), rng)
    total = np.zeros(n_paths)
    for day in range(horizon):
        if day:
            state = _categorical(cumulative[state], rng)
        component = _categorical(within[state], rng)
        total += means[state, component] + stds[state, component] * rng.standard_normal(n_paths)
    one_day = (model.value_at_risk(level, weights=weights, position=position),
               model.expected_shortfall(level, weights=weights, position=position))
    reasons = ["the regimes persist, so bad days follow bad days"] if n_regimes > 1 else []
    return total, one_day, reasons + _mean_reason(mix_weights @ means.ravel(), one_day[0])


def _categorical(cumulative, rng):
    """One draw per row from rows of cumulative probabilities (n_rows, n_categories)."""
    draws = rng.random(cumulative.shape[0]) * cumulative[:, -1]
    return np.minimum((cumulative < draws[:, None]).sum(axis=1), cumulative.shape[1] - 1)


def _mixture_draws(weights, means, stds, n_paths, rng):
    component = rng.choice(len(weights), size=n_paths, p=np.asarray(weights) / np.sum(weights))
    return means[component] + stds[component] * rng.standard_normal(n_paths)


def _mean_reason(mean, one_day_var):
    if abs(mean) > 0.01 * abs(one_day_var):
        return [f"the mean return ({mean:.3g} a day) adds up with h, not sqrt(h)"]
    return []
