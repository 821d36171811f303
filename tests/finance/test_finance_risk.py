"""Mixture VaR/ES against closed forms and simulation; fit_returns and regimes."""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import numpy as np
import pandas as pd
from gmmkit_finance import (
    fit_returns,
    load_prices,
    mixture_es,
    mixture_quantile,
    mixture_var,
    portfolio_mixture,
    regimes,
    to_returns,
)
from gmmkit_finance.risk import historical_var_es, normal_var_es
from scipy.stats import norm

from gmmkit import GaussianMixture


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99, 0.999])
def test_one_component_is_the_normal_var_and_es(level):
    mean, std = 0.0004, 0.012
    z = norm.ppf(1 - level)
    assert mixture_var([1.0], [mean], [std], level) == pytest.approx(-(mean + std * z), rel=1e-12)
    es = -(mean - std * norm.pdf(z) / (1 - level))
    assert mixture_es([1.0], [mean], [std], level) == pytest.approx(es, rel=1e-12)
    assert normal_var_es(mean, std, level) == pytest.approx((-(mean + std * z), es), rel=1e-12)


def test_mixture_quantile_inverts_the_cdf_exactly():
    weights, means, stds = [0.7, 0.25, 0.05], [0.001, -0.002, -0.01], [0.008, 0.02, 0.05]
    for prob in (1e-4, 0.01, 0.05, 0.5, 0.97):
        q = mixture_quantile(weights, means, stds, prob)
        assert np.dot(weights, norm.cdf(q, means, stds)) == pytest.approx(prob, rel=1e-12)


def test_var_and_es_of_a_mixture_match_monte_carlo():
    weights, means, stds = np.array([0.8, 0.2]), np.array([0.0005, -0.001]), np.array([0.01, 0.03])
    rng = np.random.default_rng(1)
    n = 2_000_000
    component = rng.choice(2, size=n, p=weights)
    draws = rng.normal(means[component], stds[component])
    q = np.quantile(draws, 0.01)
    assert mixture_var(weights, means, stds, 0.99) == pytest.approx(-q, rel=5e-3)
    assert mixture_es(weights, means, stds, 0.99) == pytest.approx(-draws[draws <= q].mean(),
                                                                   rel=5e-3)
    # and the numbers differ clearly from a normal with the same variance (fat tail)
    std = np.sqrt(weights @ (stds**2 + means**2) - (weights @ means) ** 2)
    assert mixture_var(weights, means, stds, 0.99) > 1.05 * normal_var_es(weights @ means,
                                                                          std, 0.99)[0]


def test_portfolio_var_of_a_two_asset_mixture_matches_simulation():
    weights = np.array([0.75, 0.25])
    means = np.array([[0.0005, 0.0003], [-0.002, -0.001]])
    covs = np.array([[[1e-4, 3e-5], [3e-5, 4e-5]], [[9e-4, 5e-4], [5e-4, 4e-4]]])
    a = np.array([0.6, 0.4])
    rng = np.random.default_rng(2)
    n = 1_000_000
    component = rng.choice(2, size=n, p=weights)
    draws = np.empty((n, 2))
    for k in range(2):
        rows = component == k
        draws[rows] = rng.multivariate_normal(means[k], covs[k], size=rows.sum())
    portfolio = draws @ a
    mix = portfolio_mixture(weights, means, covs, a)
    np.testing.assert_allclose(mix[2] ** 2, [a @ c @ a for c in covs])
    q = np.quantile(portfolio, 0.01)
    assert mixture_var(*mix, 0.99) == pytest.approx(-q, rel=5e-3)
    assert mixture_es(*mix, 0.99) == pytest.approx(-portfolio[portfolio <= q].mean(), rel=5e-3)


def test_fit_returns_matches_the_engine_in_return_units():
    returns = to_returns(load_prices("sp500"))
    fitted = fit_returns(returns, 2)
    scale = returns.std(ddof=0)
    model = GaussianMixture(2, n_init=3, random_state=0).fit(returns.to_numpy()[:, None] / scale)
    weights, means, covs = fitted.components()
    np.testing.assert_allclose(weights, model.weights_)
    np.testing.assert_allclose(means[:, 0], model.means_[:, 0] * scale)
    np.testing.assert_allclose(covs[:, 0, 0], model.covariances_[:, 0, 0] * scale**2)
    stds = np.sqrt(covs[:, 0, 0])
    assert fitted.value_at_risk(0.99) == mixture_var(weights, means[:, 0], stds, 0.99)
    # the mixture's 99% VaR sits between the normal's (too thin) and the worst losses
    normal_var = normal_var_es(returns.mean(), returns.std(), 0.99)[0]
    assert normal_var < fitted.value_at_risk(0.99) < -returns.min()


def test_fit_returns_auto_picks_k_by_bic_and_portfolios_need_weights():
    returns = to_returns(load_prices("us_indices")).iloc[-1500:]
    fitted = fit_returns(returns)
    scaled = returns.to_numpy() / returns.to_numpy().std(axis=0)
    bics = [GaussianMixture(k, n_init=3, random_state=0).fit(scaled).bic(scaled)
            for k in range(1, 11)]
    assert fitted.n_components == int(np.argmin(bics)) + 1 == 2
    with pytest.raises(ValueError, match="give portfolio weights, one per asset"):
        fitted.value_at_risk(0.99)
    with pytest.raises(ValueError, match="1 portfolio weights for 2 assets"):
        fitted.value_at_risk(0.99, weights=[1.0])
    # a portfolio all in one asset is that asset's marginal mixture
    weights, means, covs = fitted.components()
    marginal = mixture_var(weights, means[:, 0], np.sqrt(covs[:, 0, 0]), 0.99)
    assert fitted.value_at_risk(0.99, weights=[1, 0]) == pytest.approx(marginal, rel=1e-12)


def test_levels_are_probabilities():
    with pytest.raises(ValueError, match=r"level=99; give a probability such as 0.99"):
        mixture_var([1.0], [0.0], [1.0], 99)


def test_historical_var_es():
    returns = np.arange(-50, 50) / 1000.0  # -0.05 .. 0.049
    var, es = historical_var_es(returns, 0.95)
    # linear interpolation at position 0.05 * 99 = 4.95 between -0.046 and -0.045
    assert var == pytest.approx(0.04505, rel=1e-12)
    assert es == pytest.approx(0.048, rel=1e-12)  # mean of -0.050 .. -0.046


def test_regimes_ordered_by_volatility_with_dated_posteriors():
    returns = to_returns(load_prices("sp500"))
    found = regimes(returns, 2)
    assert isinstance(found.labels, pd.Series) and found.labels.index.equals(returns.index)
    np.testing.assert_allclose(found.probabilities.sum(axis=1), 1.0)
    vols = found.table["annual volatility"].to_numpy()
    assert vols[0] < vols[1]
    fitted = fit_returns(returns, 2)
    weights, means, covs = fitted.components()
    k = found.order
    np.testing.assert_allclose(found.table["weight"], weights[k])
    np.testing.assert_allclose(found.table["annual mean"], means[k, 0] * 252)
    np.testing.assert_allclose(vols, np.sqrt(covs[k, 0, 0] * 252))
    assert found.table["days"].sum() == len(returns)
    # the calm regime holds most days and the turbulent one the largest moves
    assert found.labels.loc[returns.abs().idxmax()] == 1
    assert found.table["days"].iloc[0] > found.table["days"].iloc[1]


def test_volatility_window_regimes_are_persistent_and_find_2008():
    returns = to_returns(load_prices("sp500"))
    found = regimes(returns, 3, window=21)
    assert len(found.labels) == len(returns) - 20
    switches = int((found.labels.diff().fillna(0) != 0).sum())
    daily = regimes(returns, 3).labels
    assert switches < 0.2 * int((daily.diff().fillna(0) != 0).sum())
    assert (found.labels.loc["2008-10"] == 2).all()  # the crisis is the turbulent regime
    vols = found.table["annual volatility"].to_numpy()
    assert np.all(np.diff(vols) > 0)
    # per-regime figures are the posterior-weighted moments of the returns
    p = found.probabilities.to_numpy()
    kept = returns.to_numpy()[20:]
    np.testing.assert_allclose(found.table["annual mean"], p.T @ kept / p.sum(axis=0) * 252)


#: regimes of daily returns are fitted on purpose here; the warning has its own test
pytestmark = pytest.mark.filterwarnings("ignore::gmmkit_finance.regimes.DailyRegimesWarning")
