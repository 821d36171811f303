"""ES backtests (Acerbi-Szekely, McNeil-Frey), the DQ test and the traffic light, by hand."""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import numpy as np
from gmmkit_finance import (
    acerbi_szekely_test,
    dynamic_quantile_test,
    mcneil_frey_test,
    traffic_light,
)
from gmmkit_finance.backtests import acerbi_szekely_statistic, normal_sampler
from scipy.stats import chi2, norm

LEVEL = 0.99


def flat(n_days, var=2.0, es=3.0):
    return np.full(n_days, var), np.full(n_days, es)


def test_z1_and_z2_of_hand_made_exceedances():
    var, es = flat(100)
    returns = np.zeros(100)
    returns[10] = -3.0  # one exceedance exactly at the ES
    assert acerbi_szekely_statistic(returns, var, es, LEVEL, "z1") == pytest.approx(0.0)
    assert acerbi_szekely_statistic(returns, var, es, LEVEL, "z2") == pytest.approx(0.0)
    returns[20] = -6.0  # a second one, twice the ES
    assert acerbi_szekely_statistic(returns, var, es, LEVEL, "z1") == pytest.approx(-0.5)
    assert acerbi_szekely_statistic(returns, var, es, LEVEL, "z2") == pytest.approx(-2.0)
    returns[30] = -1.9  # a loss below the VaR is no exceedance
    assert acerbi_szekely_statistic(returns, var, es, LEVEL, "z2") == pytest.approx(-2.0)
    assert acerbi_szekely_statistic(np.zeros(100), var, es, LEVEL, "z1") == 0.0


def test_the_default_simulation_is_the_normal_with_the_given_var_and_es():
    mean, std = 0.1, 2.0
    var = -(mean + std * norm.ppf(0.025))
    es = -(mean - std * norm.pdf(norm.ppf(0.025)) / 0.025)
    draws = normal_sampler(np.full(3, var), np.full(3, es), 0.975)(np.random.default_rng(0),
                                                                   200_000)
    assert draws.shape == (200_000, 3)
    assert draws.mean() == pytest.approx(mean, abs=0.01)
    assert draws.std() == pytest.approx(std, rel=0.01)


def test_z2_p_values_are_uniform_under_h0_and_small_for_an_understated_es():
    rng = np.random.default_rng(1)
    level = 0.975
    z = norm.ppf(1 - level)
    var = np.full(500, -z)
    es = np.full(500, norm.pdf(z) / (1 - level))
    honest = [acerbi_szekely_test(rng.standard_normal(500), var, es, level, n_simulations=400,
                                  random_state=i).pvalue for i in range(30)]
    assert 0.25 < np.mean(honest) < 0.75
    fat = rng.standard_t(3, 500) * 1.3
    result = acerbi_szekely_test(fat, var, es, level, n_simulations=2000)
    assert result.statistic < 0 and result.pvalue < 0.01 and not result.passes()


def test_simulating_the_observed_path_gives_p_value_one():
    var, es = flat(50)
    returns = np.linspace(-4, 1, 50)
    result = acerbi_szekely_test(returns, var, es, LEVEL, kind="z1",
                                 simulate=lambda rng, n: np.tile(returns, (n, 1)),
                                 n_simulations=300)
    assert result.pvalue == 1.0 and result.n_samples == 300


def test_mcneil_frey_t_statistic_and_bootstrap_p_value_by_hand():
    var, es = flat(6, 1.0, 2.0)
    # exceedance residuals (-x - es) / es: 0.5, 1.0, 1.5 -> mean 1, sd 0.5, t = 2 sqrt(3)
    returns = np.array([-3.0, 0.5, -4.0, -5.0, 0.0, 0.2])
    result = mcneil_frey_test(returns, var, es)
    assert result.statistic == pytest.approx(2 * np.sqrt(3))
    assert result.pvalue < 0.1
    symmetric = np.array([-1.5, -2.5, -1.2, -2.8, 0.0, 0.0])  # residuals +-0.25, +-0.4
    balanced = mcneil_frey_test(symmetric, var, es, scale=np.full(6, 2.0))
    assert balanced.statistic == pytest.approx(0.0, abs=1e-12)
    assert balanced.pvalue == pytest.approx(0.5, abs=0.05)
    assert mcneil_frey_test(np.zeros(6), var, es).pvalue == 1.0  # no exceedance
    same = mcneil_frey_test(np.array([-3.0, -3.0, 0, 0, 0, 0]), var, es)
    assert same.statistic == np.inf and same.pvalue == 0.0


def test_dq_with_a_constant_only_is_the_score_test_of_the_hit_rate():
    rng = np.random.default_rng(2)
    returns = rng.standard_normal(1000)
    var = np.full(1000, 2.0)
    result = dynamic_quantile_test(returns, var, LEVEL, lags=0, include_var=False)
    rate = np.mean(returns < -2.0)
    want = 1000 * (rate - 0.01) ** 2 / (0.01 * 0.99)
    assert result.statistic == pytest.approx(want) and result.df == 1
    assert result.pvalue == pytest.approx(chi2.sf(want, 1))


def test_dq_of_alternating_hits_is_the_whole_sum_of_squares():
    returns = np.tile([-5.0, 0.0], 50)  # hit, no hit, hit, ...: predictable from one lag
    var = np.full(100, 1.0)
    result = dynamic_quantile_test(returns, var, LEVEL, lags=1, include_var=True)
    alpha = 0.01
    n = 99  # days with a lag; 49 hits (days 3, 5, ...), 50 without
    want = (49 * (1 - alpha) ** 2 + 50 * alpha**2) / (alpha * (1 - alpha))
    assert result.statistic == pytest.approx(want)
    assert result.df == 2  # the constant VaR adds nothing to the constant
    assert result.pvalue < 1e-10 and n == 99


def test_dq_equals_statsmodels_ols_explained_sum_of_squares():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(4)
    returns = rng.standard_t(4, 800)
    var = 2.0 + 0.3 * np.abs(rng.standard_normal(800))
    hit = (returns < -var) - 0.01
    design = np.column_stack([np.ones(796)] + [hit[4 - j:800 - j] for j in range(1, 5)]
                             + [var[4:]])
    fitted = sm.OLS(hit[4:], design).fit().fittedvalues
    result = dynamic_quantile_test(returns, var, LEVEL)
    assert result.statistic == pytest.approx(fitted @ fitted / (0.01 * 0.99))
    assert result.df == 6


@pytest.mark.parametrize("count, zone, plus", [
    (0, "green", 0.0), (4, "green", 0.0), (5, "yellow", 0.40), (6, "yellow", 0.50),
    (7, "yellow", 0.65), (8, "yellow", 0.75), (9, "yellow", 0.85), (10, "red", 1.0),
    (14, "red", 1.0),
])
def test_traffic_light_is_the_basel_table(count, zone, plus):
    light = traffic_light(count, 0.99, days=250)
    assert (light.zone, light.plus_factor) == (zone, plus)
    hits = np.zeros(250, dtype=bool)
    hits[:count] = True
    assert traffic_light(hits).zone == zone


def test_traffic_light_elsewhere_has_zones_but_no_plus_factor():
    from scipy.stats import binom

    for count, zone in [(14, "green"), (15, "yellow"), (23, "yellow"), (24, "red")]:
        light = traffic_light(count, 0.99, days=1000)
        assert light.cumulative_probability == pytest.approx(binom.cdf(count, 1000, 0.01))
        assert light.zone == zone and light.plus_factor is None
    assert binom.cdf(14, 1000, 0.01) < 0.95 <= binom.cdf(15, 1000, 0.01)


@pytest.mark.parametrize("call, message", [
    (lambda: acerbi_szekely_test(np.zeros(5), np.ones(4), np.ones(5)),
     "var has 4 values for 5 returns; give one forecast per day."),
    (lambda: acerbi_szekely_test(np.zeros(5), np.ones(5), np.zeros(5)),
     "es must be positive losses (an expected shortfall of 0 or less cannot be tested)."),
    (lambda: acerbi_szekely_test([0, np.nan], [1, 1], [2, 2]),
     "returns, var and es must be finite numbers; drop the days without a forecast."),
    (lambda: dynamic_quantile_test(np.zeros(12), np.ones(12), 0.99, lags=4),
     "lags=4 for 12 days; the DQ test needs lags >= 0 and at least lags + 10 days."),
    (lambda: traffic_light(3), "give days= with a number of exceedances (Basel uses 250)."),
    (lambda: traffic_light(300, days=250), "300 exceedances in 250 days; give 0 to 250."),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message


#: short test windows keep these tests fast; the warnings have their own tests
pytestmark = [pytest.mark.filterwarnings("ignore::gmmkit_finance.backtest.LowPowerWarning"),
              pytest.mark.filterwarnings("ignore::gmmkit_finance.regimes.DailyRegimesWarning")]
