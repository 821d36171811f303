"""GJR-GARCH and EGARCH with normal, t and mixture innovations (against arch and by hand)."""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import math
import warnings

import numpy as np
from gmmkit_finance import (
    NonStationaryWarning,
    VolatilityModel,
    fit_volatility,
    load_prices,
    to_returns,
)
from gmmkit_finance.innovations import Innovations, mixture_from_raw
from scipy import integrate
from scipy.stats import norm


@pytest.fixture(scope="module")
def sp500_percent():
    return 100 * to_returns(load_prices("sp500")).to_numpy()[-2000:]


ARCH_MODELS = {"garch": ("GARCH", 0), "gjr": ("GARCH", 1), "egarch": ("EGARCH", 1)}


@pytest.mark.parametrize("volatility", ["garch", "gjr", "egarch"])
@pytest.mark.parametrize("innovations", ["normal", "t"])
def test_estimates_equal_arch(sp500_percent, volatility, innovations):
    arch = pytest.importorskip("arch")
    vol, o = ARCH_MODELS[volatility]
    theirs = arch.arch_model(sp500_percent, mean="Constant", vol=vol, p=1, o=o, q=1,
                             dist=innovations, rescale=False).fit(
        disp="off", tol=1e-12, options={"maxiter": 2000})
    ours = fit_volatility(sp500_percent, volatility, innovations)
    assert ours.loglik == pytest.approx(theirs.loglikelihood, rel=1e-6)
    want = theirs.params.to_numpy()
    got = [ours.mu, ours.omega, ours.alpha] + ([ours.gamma] if o else []) + [ours.beta]
    np.testing.assert_allclose(got, want[:len(got)], atol=1e-3)
    if innovations == "t":
        assert ours.innovations.nu == pytest.approx(want[-1], rel=1e-3)
    variance = ours.variance(sp500_percent)
    np.testing.assert_allclose(np.sqrt(variance[:-1]), theirs.conditional_volatility,
                               rtol=2e-3)


def loop_loglik(model, returns):
    """The likelihood by an explicit day-by-day recursion and density."""
    variance, total = model.start_variance, 0.0
    w, m, s = model.innovations.weights, model.innovations.means, model.innovations.stds
    log_variance = model.omega + model.beta * math.log(variance)
    for t, r in enumerate(returns):
        e = r - model.mu
        if t == 0:
            if model.volatility == "egarch":
                variance = math.exp(log_variance)
            else:
                variance = (model.omega + (model.alpha + 0.5 * model.gamma + model.beta)
                            * model.start_variance)
        z = e / math.sqrt(variance)
        total += math.log(sum(wk * norm.pdf(z, mk, sk) for wk, mk, sk in zip(w, m, s)))
        total -= 0.5 * math.log(variance)
        if model.volatility == "egarch":
            log_variance = (model.omega + model.alpha * (abs(z) - math.sqrt(2 / math.pi))
                            + model.gamma * z + model.beta * math.log(variance))
            variance = math.exp(log_variance)
        else:
            variance = (model.omega + (model.alpha + model.gamma * (e < 0)) * e * e
                        + model.beta * variance)
    return total


@pytest.mark.parametrize("volatility", ["gjr", "egarch"])
def test_the_mixture_density_sits_inside_the_likelihood(sp500_percent, volatility):
    returns = sp500_percent[-800:]
    model = fit_volatility(returns, volatility, "mixture")
    assert model.loglik == pytest.approx(loop_loglik(model, returns), rel=1e-10)
    mix = model.innovations
    assert mix.weights @ mix.means == pytest.approx(0.0, abs=1e-12)
    assert mix.weights @ (mix.stds**2 + mix.means**2) == pytest.approx(1.0)
    t_model = fit_volatility(returns, volatility, "t")
    normal = fit_volatility(returns, volatility, "normal")
    assert model.loglik > normal.loglik + 10  # fat tails the normal misses
    assert model.bic() < normal.bic() and t_model.bic() < normal.bic()


def test_joint_estimation_beats_filter_then_mixture(sp500_percent):
    from gmmkit import GaussianMixture

    returns = sp500_percent[-1000:]
    joint = fit_volatility(returns, "gjr", "mixture")
    normal = fit_volatility(returns, "gjr", "normal")
    sigma = np.sqrt(normal.variance(returns)[:-1])
    z = ((returns - normal.mu) / sigma)[:, None]
    two_stage = GaussianMixture(2, n_init=3, random_state=0).fit(z)
    two_stage_loglik = two_stage.score(z) * z.shape[0] - np.log(sigma).sum()
    assert joint.loglik >= two_stage_loglik - 1e-6


def test_gjr_mixture_recovers_simulated_parameters():
    rng = np.random.default_rng(0)
    truth = VolatilityModel("gjr", mixture_from_raw(np.array([-1.0, -1.5, 0.8]), 2), 0.05,
                            0.02, 0.03, 0.12, 0.88, start_variance=1.0)
    n = 4000
    z = truth.innovations.sample(rng, n)
    returns, variance = np.empty(n), 1.0
    for t in range(n):
        returns[t] = truth.mu + math.sqrt(variance) * z[t]
        variance = float(truth.step(variance, returns[t] - truth.mu))
    fitted = fit_volatility(returns, "gjr", "mixture")
    np.testing.assert_allclose([fitted.alpha, fitted.gamma, fitted.beta], [0.03, 0.12, 0.88],
                               atol=0.04)
    np.testing.assert_allclose(np.sort(fitted.innovations.weights),
                               np.sort(truth.innovations.weights), atol=0.08)


@pytest.mark.parametrize("innovations", [
    Innovations("normal"), Innovations("t", nu=5.0),
    mixture_from_raw(np.array([-1.0, -1.2, 0.7]), 2),
])
def test_innovations_are_standardised_and_their_tails_are_exact(innovations):
    def density(z):
        return math.exp(float(innovations.logpdf(np.array(z))))

    assert integrate.quad(density, -np.inf, np.inf)[0] == pytest.approx(1.0, abs=1e-8)
    assert integrate.quad(lambda z: z * density(z), -np.inf, np.inf)[0] == pytest.approx(
        0.0, abs=1e-8)
    assert integrate.quad(lambda z: z * z * density(z), -np.inf, np.inf)[0] == pytest.approx(
        1.0, abs=1e-7)
    q = innovations.quantile(0.01)
    assert integrate.quad(density, -np.inf, q)[0] == pytest.approx(0.01, abs=1e-9)
    tail = integrate.quad(lambda z: z * density(z), -np.inf, q)[0] / 0.01
    assert innovations.tail_mean(q) == pytest.approx(tail, rel=1e-6)
    kappa = integrate.quad(lambda z: z * z * density(z), -np.inf, 0)[0]
    assert innovations.negative_square_mean() == pytest.approx(kappa, abs=1e-7)


def test_var_and_es_of_a_fitted_model_use_the_innovation_quantile(sp500_percent):
    model = fit_volatility(sp500_percent, "gjr", "t")
    sigma = np.sqrt(model.variance(sp500_percent)[-1])
    q = model.innovations.quantile(0.01)
    assert model.value_at_risk(0.99, sigma=sigma) == pytest.approx(-(model.mu + sigma * q))
    assert model.expected_shortfall(0.99, sigma=sigma) > model.value_at_risk(0.99, sigma=sigma)


def test_a_variance_break_gives_a_non_stationary_warning_and_finite_var():
    rng = np.random.default_rng(3)
    returns = np.concatenate([rng.normal(0, 0.5, 600), rng.normal(0, 5.0, 600)])
    with pytest.warns(NonStationaryWarning, match=r"the garch estimate is not stationary "
                      r"\(persistence 0\.99\d+ >= 1 in effect\)"):
        model = fit_volatility(returns, "garch", "normal")
    sigma = np.sqrt(model.variance(returns)[-1])
    assert np.isfinite(model.value_at_risk(0.99, sigma=sigma))
    assert np.isfinite(model.expected_shortfall(0.99, sigma=sigma))


def test_a_stationary_fit_does_not_warn(sp500_percent):
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonStationaryWarning)
        assert fit_volatility(sp500_percent, "gjr", "normal").persistence < 0.9999


@pytest.mark.parametrize("kwargs, message", [
    ({"volatility": "figarch"}, "volatility='figarch'; use 'garch', 'gjr' or 'egarch'."),
    ({"innovations": "skewt"}, "innovations='skewt'; use 'normal', 't' or 'mixture'."),
])
def test_bad_settings_are_named(sp500_percent, kwargs, message):
    with pytest.raises(ValueError) as error:
        fit_volatility(sp500_percent, **kwargs)
    assert str(error.value) == message


def test_too_few_returns_for_a_mixture_model():
    with pytest.raises(ValueError, match=r"a gjr-mixture model needs at least 200 returns; "
                       r"got 100"):
        fit_volatility(np.random.default_rng(0).normal(size=100), "gjr", "mixture")


#: short test windows keep these tests fast; the warnings have their own tests
pytestmark = [pytest.mark.filterwarnings("ignore::gmmkit_finance.backtest.LowPowerWarning"),
              pytest.mark.filterwarnings("ignore::gmmkit_finance.regimes.DailyRegimesWarning")]
