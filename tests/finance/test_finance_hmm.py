"""Markov-switching regimes: forward-backward, Viterbi, Baum-Welch against statsmodels/hmmlearn."""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import itertools

import numpy as np
from finance_helpers import markov_returns
from gmmkit_finance import MarkovRegimes, fit_regimes, load_prices, mixture_var, to_returns
from gmmkit_finance import hmm as hmm_module
from gmmkit_finance.hmm_scan import forward_backward, viterbi
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import norm


def random_hmm(rng, n_days, k):
    log_emissions = 5 * rng.normal(size=(n_days, k))
    transmat = rng.random((k, k))
    startprob = rng.random(k)
    return log_emissions, startprob / startprob.sum(), transmat / transmat.sum(1, keepdims=True)


def naive_forward_backward(log_emissions, startprob, transmat):
    """The textbook log-space recursions, one day at a time."""
    n_days, k = log_emissions.shape
    log_a = np.log(transmat)
    alpha = np.empty((n_days, k))
    alpha[0] = np.log(startprob) + log_emissions[0]
    for t in range(1, n_days):
        alpha[t] = logsumexp(alpha[t - 1][:, None] + log_a, axis=0) + log_emissions[t]
    beta = np.zeros((n_days, k))
    for t in range(n_days - 2, -1, -1):
        beta[t] = logsumexp(log_a + (log_emissions[t + 1] + beta[t + 1])[None, :], axis=1)
    loglik = logsumexp(alpha[-1])
    pairs = np.zeros((k, k))
    for t in range(1, n_days):
        pairs += np.exp(alpha[t - 1][:, None] + log_a + (log_emissions[t] + beta[t])[None, :]
                        - loglik)
    filtered = np.exp(alpha - logsumexp(alpha, axis=1, keepdims=True))
    return filtered, np.exp(alpha + beta - loglik), pairs, loglik


@pytest.mark.parametrize("n_days", [1, 2, 9, 64, 65, 700])
def test_forward_backward_equals_the_day_by_day_log_space_recursion(n_days):
    rng = np.random.default_rng(n_days)
    hmm = random_hmm(rng, n_days, 3)
    filtered, smoothed, pairs, loglik = forward_backward(*hmm)
    want = naive_forward_backward(*hmm)
    np.testing.assert_allclose(filtered, want[0], atol=1e-10)
    np.testing.assert_allclose(smoothed, want[1], atol=1e-10)
    np.testing.assert_allclose(pairs, want[2], atol=1e-8, rtol=1e-9)
    assert loglik == pytest.approx(want[3], rel=1e-12)


def test_forward_backward_survives_densities_that_underflow_in_linear_space():
    rng = np.random.default_rng(0)
    log_emissions, startprob, transmat = random_hmm(rng, 3000, 2)
    log_emissions = log_emissions - 2000.0  # exp() of these is 0.0 in float64
    _, smoothed, _, loglik = forward_backward(log_emissions, startprob, transmat)
    assert np.isfinite(loglik) and np.all(np.isfinite(smoothed))
    assert loglik == pytest.approx(naive_forward_backward(log_emissions, startprob,
                                                          transmat)[3], rel=1e-12)


def test_viterbi_finds_the_most_probable_path_by_enumeration():
    rng = np.random.default_rng(3)
    log_emissions, startprob, transmat = random_hmm(rng, 6, 3)
    best, best_path = -np.inf, None
    for path in itertools.product(range(3), repeat=6):
        score = np.log(startprob[path[0]]) + log_emissions[0, path[0]] + sum(
            np.log(transmat[a, b]) + log_emissions[t + 1, b]
            for t, (a, b) in enumerate(zip(path[:-1], path[1:])))
        if score > best:
            best, best_path = score, path
    path, log_prob = viterbi(log_emissions, startprob, transmat)
    assert tuple(path) == best_path
    assert log_prob == pytest.approx(best)


@pytest.fixture(scope="module")
def simulated():
    returns, path = markov_returns(1500, seed=1)
    return returns, path, fit_regimes(returns, 2)


def test_baum_welch_recovers_a_simulated_two_regime_chain(simulated):
    returns, path, fitted = simulated
    assert isinstance(fitted, MarkovRegimes) and fitted.converged
    np.testing.assert_allclose(fitted.transmat, [[0.98, 0.02], [0.05, 0.95]], atol=0.02)
    np.testing.assert_allclose(np.sqrt(fitted.covariances[:, 0, 0, 0]), [0.6, 2.0], rtol=0.08)
    assert np.mean(np.asarray(fitted.path) == path) > 0.95
    np.testing.assert_allclose(fitted.expected_durations(), 1 / (1 - np.diag(fitted.transmat)))
    assert fitted.smoothed.shape == (1500, 2)


@pytest.mark.parametrize("switching, options", [
    ("both", {"switching_variance": True}),
    ("variance", {"switching_variance": True, "switching_trend": False}),
    ("mean", {"switching_variance": False}),
])
def test_loglik_and_smoothed_probabilities_match_statsmodels_markov_regression(switching,
                                                                               options):
    sm = pytest.importorskip("statsmodels.api")
    means = (0.0, 0.0) if switching == "variance" else (1.0, -1.0)
    stds = (0.7, 0.7) if switching == "mean" else (0.6, 2.0)
    returns, _ = markov_returns(800, means=means, stds=stds, seed=2)
    ours = fit_regimes(returns, 2, switching=switching, tol=1e-9)
    theirs = sm.tsa.MarkovRegression(returns, k_regimes=2, trend="c", **options).fit()
    # statsmodels starts from the chain's stationary distribution; Baum-Welch
    # estimates the first day's probabilities too, so its optimum is at least as high
    assert ours.loglik >= theirs.llf - 1e-6 * abs(theirs.llf)
    assert ours.loglik - theirs.llf < 2.0
    probabilities = theirs.smoothed_marginal_probabilities
    correlation = max(abs(np.corrcoef(probabilities[:, j], ours.smoothed[:, 1])[0, 1])
                      for j in range(2))
    assert correlation >= 0.99


def test_the_e_step_and_viterbi_equal_hmmlearn_at_the_same_parameters():
    hmm = pytest.importorskip("hmmlearn.hmm")
    returns = 100 * to_returns(load_prices("us_indices")).iloc[-1200:]
    fitted = fit_regimes(returns, 2)
    theirs = hmm.GaussianHMM(2, covariance_type="full", init_params="", params="")
    theirs.startprob_, theirs.transmat_ = fitted.startprob, fitted.transmat
    theirs.means_, theirs.covars_ = fitted.means[:, 0], fitted.covariances[:, 0]
    values = returns.to_numpy()
    assert theirs.score(values) == pytest.approx(fitted.loglik, rel=1e-10)
    np.testing.assert_allclose(theirs.predict_proba(values), fitted.smoothed, atol=1e-8)
    np.testing.assert_array_equal(theirs.decode(values)[1], fitted.path)


@pytest.mark.slow
def test_baum_welch_reaches_hmmlearns_optimum_on_two_assets():
    hmm = pytest.importorskip("hmmlearn.hmm")
    values = 100 * to_returns(load_prices("us_indices")).to_numpy()[-1200:]
    ours = fit_regimes(values, 2, tol=1e-10)
    theirs = hmm.GaussianHMM(2, covariance_type="full", n_iter=3000, tol=1e-9, random_state=0,
                             covars_prior=0.0, min_covar=1e-8).fit(values)
    order = np.argsort(np.trace(theirs.covars_, axis1=1, axis2=2))
    assert ours.loglik == pytest.approx(theirs.score(values), rel=1e-6)
    np.testing.assert_allclose(ours.means[:, 0], theirs.means_[order], atol=1e-3)
    np.testing.assert_allclose(ours.covariances[:, 0], theirs.covars_[order], atol=2e-3)
    np.testing.assert_allclose(ours.transmat, theirs.transmat_[np.ix_(order, order)], atol=1e-3)


@pytest.mark.slow
def test_one_regime_of_a_two_gaussian_mixture_is_sklearns_gaussian_mixture():
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(5)
    returns = np.concatenate([rng.normal(0, 1, 700), rng.normal(0.5, 3, 300)])
    ours = fit_regimes(returns, 1, n_mix=2, tol=1e-12)
    theirs = GaussianMixture(2, tol=1e-10, max_iter=2000, n_init=3, random_state=0,
                             reg_covar=0).fit(returns[:, None])
    assert ours.loglik == pytest.approx(theirs.score(returns[:, None]) * returns.size, rel=1e-7)
    np.testing.assert_allclose(np.sort(ours.weights[0]), np.sort(theirs.weights_), atol=1e-4)


@pytest.mark.parametrize("name", ["sp500", "nasdaq"])
def test_a_two_regime_hmm_puts_the_2008_crisis_in_a_high_volatility_regime_lasting_weeks(name):
    fitted = fit_regimes(to_returns(load_prices(name)), 2)
    crisis = fitted.smoothed.loc["2008-10-01":"2009-03-31", 1]
    assert (crisis > 0.5).mean() > 0.95
    assert (fitted.path.loc["2008-10-01":"2009-03-31"] == 1).mean() > 0.95
    calm, turbulent = np.sqrt(np.diagonal(fitted.regime_covariances(), axis1=1, axis2=2)[:, 0])
    assert turbulent > 2 * calm
    assert 10 <= fitted.expected_durations()[1] <= 250  # weeks to months, not days


def test_bic_chooses_two_regimes_for_a_two_regime_chain_and_one_for_white_noise(simulated):
    returns, _, fitted = simulated
    auto = fit_regimes(returns, "auto")
    assert auto.n_regimes == 2 and auto.loglik == pytest.approx(fitted.loglik, rel=1e-6)
    noise = np.random.default_rng(0).normal(size=600)
    assert fit_regimes(noise, "auto").n_regimes == 1
    one = fit_regimes(noise, 1)
    assert one.loglik == pytest.approx(norm.logpdf(noise, noise.mean(), noise.std()).sum(),
                                       rel=1e-9)
    assert one.bic() == pytest.approx(-2 * one.loglik + 2 * np.log(600))


def test_predict_regime_on_the_fitted_returns_is_the_fits_filter(simulated):
    returns, _, fitted = simulated
    again = fitted.predict_regime(returns, start=fitted.startprob)
    np.testing.assert_allclose(again, fitted.filtered, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(cut=st.integers(1, 199), shift=st.floats(-5, 5))
def test_predict_regime_never_looks_ahead(simulated, cut, shift):
    returns, _, fitted = simulated
    new = returns[:200].copy()
    changed = new.copy()
    changed[cut:] += shift
    before = fitted.predict_regime(new)
    after = fitted.predict_regime(changed)
    np.testing.assert_array_equal(before[:cut], after[:cut])
    np.testing.assert_array_equal(new, returns[:200])  # the input is not modified


def test_regime_var_is_the_transition_weighted_mixture_of_the_regimes(simulated):
    _, _, fitted = simulated
    stds = np.sqrt(fitted.covariances[:, 0, 0, 0])
    means = fitted.means[:, 0, 0]
    for k in range(2):
        one_hot = np.eye(2)[k]
        want = -(means[k] + stds[k] * norm.ppf(0.01))
        assert fitted.value_at_risk(0.99, probabilities=one_hot) == pytest.approx(want)
    p = np.asarray(fitted.filtered)[-1] @ fitted.transmat
    assert fitted.value_at_risk(0.99) == pytest.approx(mixture_var(p, means, stds, 0.99))
    assert fitted.expected_shortfall(0.99) > fitted.value_at_risk(0.99)


def test_portfolio_var_of_a_two_asset_regime_model():
    returns = to_returns(load_prices("us_indices")).iloc[-800:]
    fitted = fit_regimes(returns, 2)
    with pytest.raises(ValueError, match="give portfolio weights, one per asset"):
        fitted.value_at_risk(0.99)
    single = fit_regimes(returns @ np.array([0.5, 0.5]), 1)
    both_one = fit_regimes(returns, 1)
    assert both_one.value_at_risk(0.99, weights=[0.5, 0.5]) == pytest.approx(
        single.value_at_risk(0.99), rel=1e-6)
    assert fitted.value_at_risk(0.99, weights=[0.5, 0.5]) > 0


def test_too_few_returns_say_how_many_each_regime_needs():
    with pytest.raises(ValueError) as error:
        fit_regimes(np.random.default_rng(0).normal(size=50), 3)
    assert str(error.value) == (
        "fit_regimes with n_regimes=3 needs at least 60 returns (20 per regime); got 50. "
        "Give a longer series or fewer regimes.")


def test_a_regime_that_empties_in_every_start_is_refused(monkeypatch):
    monkeypatch.setattr(hmm_module, "MIN_REGIME_DAYS", 1e9)  # every regime counts as empty
    with pytest.raises(ValueError, match=r"every start of fit_regimes emptied a regime during "
                       r"EM \(regime \d kept [\d.]+ days' weight, fewer than 1e\+09\): the "
                       r"returns do not support 2 regimes; fit fewer \(n_regimes=1\) or let BIC "
                       r"choose \(n_regimes='auto'\)\."):
        fit_regimes(markov_returns(300)[0], 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_regimes": 0}, "n_regimes=0; give a number of regimes such as 2 or 3, or 'auto'"),
    ({"n_regimes": "two"}, "n_regimes='two'; give a number of regimes"),
    ({"switching": "drift"}, "switching='drift'; use 'both', 'mean' or 'variance'."),
    ({"n_mix": 2, "switching": "variance"}, "n_mix > 1 needs switching='both' or 'mean'"),
    ({"covariance_type": "tied"}, "covariance_type='tied'; use 'full' or 'diag'."),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit_regimes(markov_returns(300)[0], **{"n_regimes": 2, **kwargs})


def test_constant_returns_are_refused():
    with pytest.raises(ValueError, match=r"is constant \(every return is 0\)"):
        fit_regimes(np.zeros(100), 2)


#: short test windows keep these tests fast; the warnings have their own tests
pytestmark = [pytest.mark.filterwarnings("ignore::gmmkit_finance.backtest.LowPowerWarning"),
              pytest.mark.filterwarnings("ignore::gmmkit_finance.regimes.DailyRegimesWarning")]
