"""Short positions (the upper tail), backtests' -k auto, export and power, regime BIC."""

import warnings

import numpy as np
import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

from gmmkit_finance import (
    backtest_var,
    fit_filtered,
    fit_regimes,
    fit_returns,
    horizon_risk,
    kupiec_test,
    load_prices,
    regimes,
    to_returns,
)
from gmmkit_finance.backtest import LowPowerWarning, low_power_note
from gmmkit_finance.coverage import kupiec_power
from gmmkit_finance.garch import VolatilityModel
from gmmkit_finance.innovations import Innovations
from gmmkit_finance.regimes import DailyRegimesWarning, effective_bic
from gmmkit_finance.risk import historical_var_es, mixture_es, mixture_var, normal_var_es
from scipy import integrate, optimize, stats


@pytest.fixture(scope="module")
def sp500():
    return to_returns(load_prices("sp500"))


def upper_tail(weights, means, stds, level):
    """VaR and ES of a short position in a 1-D Gaussian mixture, by root finding and quadrature."""
    def cdf(x):
        return float(np.sum(weights * stats.norm.cdf(x, means, stds)))

    def pdf(x):
        return float(np.sum(weights * stats.norm.pdf(x, means, stds)))

    quantile = optimize.brentq(lambda x: cdf(x) - level, -10, 10, xtol=1e-14)
    tail = integrate.quad(lambda x: x * pdf(x), quantile, np.inf, epsabs=1e-13)[0]
    return quantile, tail / (1.0 - level)


MIXTURE = (np.array([0.7, 0.3]), np.array([0.001, -0.004]), np.array([0.008, 0.025]))


def test_short_var_es_of_normal_historical_and_mixtures_are_the_upper_tail():
    var, es = normal_var_es(0.001, 0.02, 0.99, position="short")
    z = stats.norm.ppf(0.99)
    assert var == pytest.approx(0.001 + 0.02 * z, rel=1e-12)
    assert es == pytest.approx(0.001 + 0.02 * stats.norm.pdf(z) / 0.01, rel=1e-12)
    draws = np.random.default_rng(0).standard_t(4, 3000) * 0.01
    var, es = historical_var_es(draws, 0.975, position="short")
    assert var == pytest.approx(np.quantile(draws, 0.975), rel=1e-12)
    assert es == pytest.approx(draws[draws >= np.quantile(draws, 0.975)].mean(), rel=1e-12)
    want = upper_tail(*MIXTURE, 0.99)
    assert mixture_var(*MIXTURE, 0.99, position="short") == pytest.approx(want[0], rel=1e-9)
    assert mixture_es(*MIXTURE, 0.99, position="short") == pytest.approx(want[1], rel=1e-7)
    assert mixture_var(*MIXTURE, 0.99) != pytest.approx(want[0], rel=1e-3)  # skewed: differs
    with pytest.raises(ValueError) as error:
        mixture_var(*MIXTURE, 0.99, position="upper")
    assert str(error.value) == ("position='upper'; use 'long' (losses when returns fall) or "
                                "'short' (losses when returns rise).")


def test_fitted_models_give_the_upper_tail_of_their_forecast(sp500):
    returns = sp500.iloc[-1500:]
    mixture = fit_returns(returns, 2)
    weights, means, covariances = mixture.components()
    want = upper_tail(weights, means[:, 0], np.sqrt(covariances[:, 0, 0]), 0.99)
    assert mixture.value_at_risk(0.99, position="short") == pytest.approx(want[0], rel=1e-9)
    assert mixture.expected_shortfall(0.99, position="short") == pytest.approx(want[1],
                                                                               rel=1e-7)
    hmm = fit_regimes(returns, 2)
    want = upper_tail(*hmm.next_day_mixture(), 0.99)
    assert hmm.value_at_risk(0.99, position="short") == pytest.approx(want[0], rel=1e-9)
    assert hmm.expected_shortfall(0.99, position="short") == pytest.approx(want[1], rel=1e-7)
    filtered = fit_filtered(returns)
    sigma, mu = filtered.volatility[-1], filtered.params.mu
    w, m, s = filtered.residual_mixture()
    want = upper_tail(w, mu + sigma * m, sigma * s, 0.99)
    assert filtered.value_at_risk(0.99, position="short") == pytest.approx(want[0], rel=1e-9)
    assert filtered.expected_shortfall(0.99, position="short") == pytest.approx(want[1],
                                                                                rel=1e-7)


@pytest.mark.parametrize("innovations", [
    Innovations("t", nu=5.0),
    Innovations("mixture", weights=np.array([0.8, 0.2]), means=np.array([0.15, -0.6]),
                stds=np.array([0.8, 1.4])),
])
def test_volatility_models_short_var_is_the_upper_quantile(innovations):
    model = VolatilityModel("gjr", innovations, mu=0.0005, omega=1e-6, alpha=0.05, gamma=0.1,
                            beta=0.85)
    sigma = np.array([0.01, 0.03])
    if innovations.kind == "t":
        scale = np.sqrt(3.0 / 5.0)
        quantile = stats.t.ppf(0.99, 5) * scale
        tail = integrate.quad(lambda z: z * stats.t.pdf(z / scale, 5) / scale, quantile,
                              np.inf)[0] / 0.01
    else:
        quantile, tail = upper_tail(innovations.weights, innovations.means, innovations.stds,
                                    0.99)
    np.testing.assert_allclose(model.value_at_risk(0.99, sigma=sigma, position="short"),
                               0.0005 + sigma * quantile, rtol=1e-8)
    np.testing.assert_allclose(model.expected_shortfall(0.99, sigma=sigma, position="short"),
                               0.0005 + sigma * tail, rtol=1e-6)


def test_horizon_risk_short_is_the_upper_tail_of_the_h_day_return(sp500):
    returns = sp500.iloc[-1000:]
    normal = fit_returns(returns, 1)  # five independent normal days: N(5 m, 5 s^2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        short = horizon_risk(normal, 5, 0.99, n_paths=40000, position="short")
        long = horizon_risk(normal, 5, 0.99, n_paths=40000)
    mean, std = 5 * returns.mean(), np.sqrt(5) * returns.std(ddof=0)
    z = stats.norm.ppf(0.99)
    assert short.var == pytest.approx(mean + std * z, rel=0.03)  # simulation error ~1%
    assert short.es == pytest.approx(mean + std * stats.norm.pdf(z) / 0.01, rel=0.03)
    assert long.var == pytest.approx(-mean + std * z, rel=0.03)
    assert short.sqrt_time_var == pytest.approx(
        np.sqrt(5) * normal.value_at_risk(0.99, position="short"), rel=1e-12)


@pytest.mark.filterwarnings("ignore::gmmkit_finance.backtest.LowPowerWarning")
def test_short_backtest_exceeds_when_returns_rise_above_the_var(sp500):
    returns = sp500.iloc[:1400]
    result = backtest_var(returns, window=1000, refit_every=100, level=0.975,
                          models=["historical", "normal"], position="short")
    assert result.position == "short"
    for start in (1000, 1300):
        train = returns.to_numpy()[start - 1000:start]
        row = start - 1000
        assert result.var["historical"].iloc[row] == pytest.approx(np.quantile(train, 0.975))
        assert result.var["normal"].iloc[row] == pytest.approx(
            train.mean() + train.std(ddof=1) * stats.norm.ppf(0.975))
    np.testing.assert_array_equal(result.exceedances["historical"],
                                  returns.iloc[1000:] > result.var["historical"])
    assert result.table.loc["historical", "exceedances"] == int(
        (returns.iloc[1000:] > result.var["historical"]).sum())
    frame = result.to_frame()
    assert list(frame.columns) == ["return", "var historical", "es historical",
                                   "exceedance historical", "var normal", "es normal",
                                   "exceedance normal"]
    np.testing.assert_array_equal(frame["return"], returns.iloc[1000:])
    np.testing.assert_array_equal(frame["exceedance normal"],
                                  result.exceedances["normal"].astype(int))
    assert frame.index.name == "date"


@pytest.mark.filterwarnings("ignore::gmmkit_finance.backtest.LowPowerWarning")
def test_backtest_auto_components_are_chosen_on_the_first_window(sp500):
    returns = sp500.iloc[:1300]
    options = dict(window=1000, refit_every=150, models=["gmm"])
    auto = backtest_var(returns, n_components="auto", **options)
    chosen = fit_returns(returns.iloc[:1000], "auto").n_components
    assert auto.n_components == chosen
    fixed = backtest_var(returns, n_components=chosen, **options)
    np.testing.assert_allclose(auto.var, fixed.var, rtol=1e-12)
    without_gmm = backtest_var(returns, n_components="auto", window=1000, refit_every=150,
                               models=["filtered-gmm"])
    np.testing.assert_allclose(without_gmm.var, backtest_var(
        returns, n_components=2, window=1000, refit_every=150, models=["filtered-gmm"]).var)
    with pytest.raises(ValueError, match=r"n_components='many'; give a whole number or 'auto'"):
        backtest_var(returns, n_components="many", **options)


def test_kupiec_power_is_the_binomial_mass_of_the_rejected_counts():
    from scipy.stats import binom

    n, level = 258, 0.99
    rejected = [x for x in range(n + 1)
                if kupiec_test(np.arange(n) < x, level).pvalue <= 0.05]
    assert kupiec_power(n, level) == pytest.approx(binom.pmf(rejected, n, 0.02).sum(),
                                                   rel=1e-12)
    assert kupiec_power(n, level, rate=0.01) == pytest.approx(
        binom.pmf(rejected, n, 0.01).sum(), rel=1e-12)  # the size: about 5%
    assert kupiec_power(2500, level) > 0.95


def test_a_short_test_window_warns_of_low_power(sp500):
    with pytest.warns(LowPowerWarning) as caught:
        backtest_var(sp500.iloc[:1258], window=1000, refit_every=129, models=["normal"])
    assert str(caught[0].message) == (
        "258 test days at level 0.99 leave 2.6 exceedances expected: the tests have little "
        "power (a VaR exceeded on 2.0% of days, twice as often as promised, fails Kupiec's "
        f"test with probability only {kupiec_power(258, 0.99):.2f}); use a shorter window, a "
        "longer series or a lower level.")
    assert low_power_note(2000, 0.99) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", LowPowerWarning)
        backtest_var(sp500.iloc[:1300], window=300, refit_every=500, models=["normal"])


def test_daily_return_regimes_warn_and_window_regimes_use_an_effective_bic(sp500):
    returns = sp500.iloc[-1500:]
    with pytest.warns(DailyRegimesWarning, match="label each day by its own return"):
        regimes(returns, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DailyRegimesWarning)
        found = regimes(returns, "auto", window=21)
    n = 1500 - 20
    assert found.n_effective == pytest.approx(n / 21)
    assert min(found.bic, key=found.bic.get) == len(found.order)
    from gmmkit import GaussianMixture

    windows = np.lib.stride_tricks.sliding_window_view(returns.to_numpy(), 21)
    features = np.log(windows.std(axis=-1))[:, None]
    X = (features - features.mean()) / features.std()
    model = GaussianMixture(2, n_init=3, random_state=0).fit(X)
    by_hand = -2 * model.score(X) * n / 21 + (3 * 2 - 1) * np.log(n / 21)
    assert effective_bic(model, X, 21) == pytest.approx(by_hand, rel=1e-10)
    assert found.bic[2] == pytest.approx(by_hand, rel=1e-6)
    # the overlapping windows counted as independent would choose more regimes
    naive = GaussianMixture("auto", n_init=3, random_state=0).fit(X)
    assert len(naive.weights_) > len(found.order)
