"""h-day VaR/ES by simulation against closed forms, sqrt-of-time and its warning."""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import math
import warnings

import numpy as np
from finance_helpers import markov_returns
from gmmkit_finance import (
    Innovations,
    SqrtTimeWarning,
    VolatilityModel,
    fit_regimes,
    fit_returns,
    fit_volatility,
    horizon_risk,
    load_prices,
    to_returns,
)
from scipy.stats import norm


def random_walk(mu, sigma, n_obs=1000):
    """A fitted-looking constant-volatility model: GARCH with alpha = gamma = beta = 0."""
    return VolatilityModel("garch", Innovations("normal"), mu, sigma**2, 0.0, 0.0, 0.0,
                           start_variance=sigma**2, n_obs=n_obs)


@pytest.mark.parametrize("mu", [0.0, 0.0004])
def test_simulated_var_of_a_normal_random_walk_is_the_closed_form(mu):
    sigma, horizon, level, n_paths = 0.01, 10, 0.99, 200_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SqrtTimeWarning)
        risk = horizon_risk(random_walk(mu, sigma), horizon, level,
                            returns=np.zeros(1000), n_paths=n_paths)
    z = norm.ppf(1 - level)
    spread = sigma * math.sqrt(horizon)
    want_var = -(horizon * mu + spread * z)
    want_es = -(horizon * mu - spread * norm.pdf(z) / (1 - level))
    # the standard error of a simulated quantile: sqrt(p (1 - p) / n) / density
    error = math.sqrt(0.01 * 0.99 / n_paths) / (norm.pdf(z) / spread)
    assert abs(risk.var - want_var) < 4 * error
    assert risk.es == pytest.approx(want_es, abs=6 * error)
    assert risk.sqrt_time_var == pytest.approx(math.sqrt(horizon) * -(mu + sigma * z))


def test_sqrt_of_time_is_exact_and_silent_for_a_zero_mean_normal_random_walk():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SqrtTimeWarning)
        risk = horizon_risk(random_walk(0.0, 0.02), 5, 0.99, returns=np.zeros(1000),
                            n_paths=100_000)
    assert risk.var == pytest.approx(risk.sqrt_time_var, rel=0.02)


def test_the_same_seed_gives_the_same_figures_and_another_seed_differs_a_little():
    model = random_walk(0.0, 0.01)
    one = horizon_risk(model, 10, returns=np.zeros(1000), n_paths=20_000, random_state=1)
    again = horizon_risk(model, 10, returns=np.zeros(1000), n_paths=20_000, random_state=1)
    other = horizon_risk(model, 10, returns=np.zeros(1000), n_paths=20_000, random_state=2)
    assert one == again and one.var != other.var
    assert other.var == pytest.approx(one.var, rel=0.05)


def test_garch_horizon_risk_warns_and_differs_from_sqrt_of_time():
    calm = to_returns(load_prices("sp500"))[:"2006-12-29"].to_numpy()  # volatility is low
    model = fit_volatility(calm, "gjr", "t")
    with pytest.warns(SqrtTimeWarning, match=r"the square-root-of-time rule does not hold "
                      r"here: the gjr variance changes along the path .*; the t innovations "
                      r"are fat-tailed"):
        risk = horizon_risk(model, 10, returns=calm, n_paths=50_000)
    # volatility mean-reverts up from a calm spell, and losses raise it (leverage):
    # sqrt-of-time understates the 10-day VaR
    assert risk.var > 1.05 * risk.sqrt_time_var
    assert risk.es > risk.var > 0


def test_regime_and_mixture_horizon_risk():
    returns, _ = markov_returns(1500, means=(0.0, 0.0), seed=4)
    regimes = fit_regimes(returns, 2)
    with pytest.warns(SqrtTimeWarning, match="the regimes persist"):
        risk = horizon_risk(regimes, 10, n_paths=40_000)
    assert np.isfinite(risk.var) and risk.es > risk.var
    one = fit_regimes(returns, 1)
    single = horizon_risk(one, 10, n_paths=100_000)
    sigma = math.sqrt(one.covariances[0, 0, 0, 0])
    mean = one.means[0, 0, 0]
    assert single.var == pytest.approx(-(10 * mean + math.sqrt(10) * sigma * norm.ppf(0.01)),
                                       rel=0.02)
    mixture = fit_returns(returns, 2)
    with pytest.warns(SqrtTimeWarning, match="Gaussian mixture"):
        assert horizon_risk(mixture, 5, n_paths=20_000).var > 0


@pytest.mark.parametrize("horizon, message", [
    (0, "horizon=0; give a whole number of days, 1 or more."),
    (2.5, "horizon=2.5; give a whole number of days, 1 or more."),
    (101, "horizon=101 days is more than the data support: the model was fitted to 1000 "
          "returns, and an h-day forecast needs at least 10 h of them; use horizon <= 100 or a "
          "longer series."),
])
def test_horizons_the_data_cannot_support_are_refused(horizon, message):
    with pytest.raises(ValueError) as error:
        horizon_risk(random_walk(0.0, 0.01), horizon, returns=np.zeros(1000))
    assert str(error.value) == message


def test_a_volatility_model_needs_its_returns():
    with pytest.raises(ValueError, match=r"give returns= \(the returns the model was fitted "
                       r"to\)"):
        horizon_risk(random_walk(0.0, 0.01), 5)
