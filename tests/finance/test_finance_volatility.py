"""GARCH(1,1) and EWMA filters (against the arch package and explicit loops), filtered mixtures."""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import numpy as np
import pandas as pd
from gmmkit_finance import (
    GarchParams,
    conditional_volatility,
    ewma_variance,
    fit_filtered,
    fit_garch,
    garch_variance,
    load_prices,
    mixture_es,
    mixture_var,
    to_returns,
)
from gmmkit_finance.volatility import backcast


@pytest.fixture(scope="module")
def sp500_percent():
    return 100 * to_returns(load_prices("sp500"))


def loop_variance(returns, mu, omega, alpha, beta, start):
    variance = [start]
    e2 = start
    for r in returns:
        variance.append(omega + alpha * e2 + beta * variance[-1])
        e2 = (r - mu) ** 2
    return np.array(variance[1:] + [omega + alpha * e2 + beta * variance[-1]])


def test_variance_recursion_matches_an_explicit_loop():
    rng = np.random.default_rng(0)
    returns = rng.standard_t(5, size=300)
    params = GarchParams(0.05, 0.02, 0.1, 0.85)
    start = backcast(returns - params.mu)
    expected = loop_variance(returns, 0.05, 0.02, 0.1, 0.85, start)
    np.testing.assert_allclose(garch_variance(returns, params), expected, rtol=1e-12)
    ewma = loop_variance(returns, 0.0, 0.0, 0.06, 0.94, backcast(returns))
    np.testing.assert_allclose(ewma_variance(returns, decay=0.94), ewma, rtol=1e-12)


def test_garch_estimates_match_the_arch_package(sp500_percent):
    arch = pytest.importorskip("arch")
    fitted = arch.arch_model(sp500_percent.to_numpy(), mean="Constant", vol="GARCH",
                             dist="normal").fit(disp="off")
    ours = fit_garch(sp500_percent)
    theirs = fitted.params
    np.testing.assert_allclose([ours.mu, ours.omega, ours.alpha, ours.beta],
                               [theirs["mu"], theirs["omega"], theirs["alpha[1]"],
                                theirs["beta[1]"]], rtol=2e-3)
    assert ours.loglik == pytest.approx(fitted.loglikelihood, abs=1e-3)
    np.testing.assert_allclose(np.sqrt(garch_variance(sp500_percent, ours)[:-1]),
                               fitted.conditional_volatility, rtol=5e-3)
    via_arch = fit_garch(sp500_percent, backend="arch")
    assert via_arch.alpha == pytest.approx(theirs["alpha[1]"], rel=1e-4)


def test_garch_recovers_simulated_parameters_and_is_scale_free():
    rng = np.random.default_rng(3)
    mu, omega, alpha, beta = 0.0, 0.05, 0.08, 0.9
    n = 6000
    returns = np.empty(n)
    variance = omega / (1 - alpha - beta)
    for t in range(n):
        returns[t] = mu + np.sqrt(variance) * rng.standard_normal()
        variance = omega + alpha * (returns[t] - mu) ** 2 + beta * variance
    fitted = fit_garch(returns)
    assert fitted.alpha == pytest.approx(alpha, abs=0.02)
    assert fitted.beta == pytest.approx(beta, abs=0.03)
    assert fitted.persistence < 1
    small = fit_garch(returns / 100)  # daily returns as fractions, not percent
    assert small.alpha == pytest.approx(fitted.alpha, rel=1e-3)
    assert small.omega == pytest.approx(fitted.omega / 1e4, rel=1e-2)
    warm = fit_garch(returns, init=fitted)
    assert warm.loglik == pytest.approx(fitted.loglik, abs=1e-2)


def test_conditional_volatility_is_dated(sp500_percent):
    sigma = conditional_volatility(sp500_percent, method="ewma")
    assert isinstance(sigma, pd.Series) and sigma.index.equals(sp500_percent.index)
    assert sigma.loc["2008-10"].mean() > 3 * sigma.loc["2006"].mean()
    with pytest.raises(ValueError, match="decay=1.5; it must be between 0 and 1"):
        ewma_variance(sp500_percent, decay=1.5)


@pytest.mark.parametrize("method", ["garch", "ewma"])
def test_filtered_mixture_var_and_es(sp500_percent, method):
    returns = sp500_percent / 100
    fitted = fit_filtered(returns, 2, volatility=method)
    sigma = fitted.conditional_volatility()
    residuals = (returns - fitted.params.mu) / sigma
    assert residuals.std() == pytest.approx(1.0, abs=0.1)
    w, m, s = fitted.residual_mixture()
    next_sigma = fitted.volatility[-1]
    assert fitted.value_at_risk(0.99) == pytest.approx(
        next_sigma * mixture_var(w, m, s, 0.99) - fitted.params.mu, rel=1e-12)
    assert fitted.expected_shortfall(0.99) == pytest.approx(
        next_sigma * mixture_es(w, m, s, 0.99) - fitted.params.mu, rel=1e-12)
    # VaR scales with the volatility it is given
    both = fitted.value_at_risk(0.99, sigma=np.array([0.01, 0.02]))
    assert both[1] + fitted.params.mu == pytest.approx(2 * (both[0] + fitted.params.mu))


def test_filtered_mixture_with_arch_estimates(sp500_percent):
    pytest.importorskip("arch")
    returns = sp500_percent / 100
    ours = fit_filtered(returns).value_at_risk(0.99)
    assert fit_filtered(returns, backend="arch").value_at_risk(0.99) == pytest.approx(ours,
                                                                                      rel=1e-3)


def test_filtered_mixture_needs_one_series():
    returns = to_returns(load_prices("us_indices"))
    with pytest.raises(ValueError, match="fit_filtered models one series; got 2 columns"):
        fit_filtered(returns)
