"""Marginals and conditionals of a mixture against textbook formulas, every covariance type."""

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gmmkit.estimators.conditional import condition, conditional_moments, fitted_mixture, marginal
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.exceptions import NotFittedError

N_COMPONENTS, N_FEATURES = 3, 4


def known_mixture(covariance_type, seed=0, offset=0.0):
    """A hand-made 3-component mixture in 4-D: (model, weights, means, dense covariances)."""
    rng = np.random.default_rng(seed)
    weights = np.array([0.5, 0.3, 0.2])
    means = rng.normal(0.0, 2.0, size=(N_COMPONENTS, N_FEATURES)) + offset
    factors = rng.normal(0.0, 0.7, size=(N_COMPONENTS, N_FEATURES, N_FEATURES))
    full = factors @ factors.transpose(0, 2, 1) + 0.5 * np.eye(N_FEATURES)
    variances = rng.uniform(0.3, 2.0, size=(N_COMPONENTS, N_FEATURES))
    layout, dense = {
        "full": (full, full),
        "tied": (full[0], np.stack([full[0]] * N_COMPONENTS)),
        "diag": (variances, np.stack([np.diag(v) for v in variances])),
        "spherical": (variances[:, 0], variances[:, 0, None, None] * np.eye(N_FEATURES)),
    }[covariance_type]
    template = GaussianMixture(N_COMPONENTS, covariance_type=covariance_type)
    model = fitted_mixture(template, weights, means, layout)
    return model, weights, means, dense


def textbook_conditional(weights, means, dense, observed, values):
    """Conditional weights (K,), means (K, m), covariances (K, m, m): explicit inverses."""
    missing = np.setdiff1d(np.arange(means.shape[1]), observed)
    cond_weights, cond_means, cond_covs = [], [], []
    for pi, mu, sigma in zip(weights, means, dense):
        s_oo = sigma[np.ix_(observed, observed)]
        s_mo = sigma[np.ix_(missing, observed)]
        s_mm = sigma[np.ix_(missing, missing)]
        inverse = np.linalg.inv(s_oo)
        cond_weights.append(pi * multivariate_normal(mu[observed], s_oo).pdf(values))
        cond_means.append(mu[missing] + s_mo @ inverse @ (values - mu[observed]))
        cond_covs.append(s_mm - s_mo @ inverse @ s_mo.T)
    cond_weights = np.array(cond_weights)
    return cond_weights / cond_weights.sum(), np.array(cond_means), np.array(cond_covs)


def in_layout(dense, covariance_type):
    """Dense (K, m, m) covariances in a covariance type's layout."""
    return {
        "full": lambda: dense,
        "tied": lambda: dense[0],
        "diag": lambda: np.diagonal(dense, axis1=1, axis2=2),
        "spherical": lambda: dense[:, 0, 0],
    }[covariance_type]()


def textbook_log_marginal(weights, means, dense, index, X):
    """log sum_k pi_k N(x | mu_k[index], Sigma_k[index, index]) with scipy: (n,)."""
    logs = [
        np.log(pi) + multivariate_normal(mu[index], sigma[np.ix_(index, index)]).logpdf(X)
        for pi, mu, sigma in zip(weights, means, dense)
    ]
    return logsumexp(np.reshape(logs, (len(weights), -1)), axis=0)


OBSERVED_SETS = [[1], [0, 2], [3, 1, 0]]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("observed", OBSERVED_SETS)
def test_condition_matches_the_textbook_formulas(covariance_type, observed):
    model, weights, means, dense = known_mixture(covariance_type)
    values = np.array([0.7, -1.2, 2.0])[: len(observed)]
    expected_w, expected_mu, expected_cov = textbook_conditional(
        weights, means, dense, observed, values
    )
    result = condition(model, observed, values)
    assert isinstance(result, GaussianMixture)
    assert result.covariance_type == covariance_type
    assert result.n_components == N_COMPONENTS
    assert result.n_features_in_ == N_FEATURES - len(observed)
    np.testing.assert_allclose(result.weights_, expected_w, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(result.means_, expected_mu, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        result.covariances_, in_layout(expected_cov, covariance_type), rtol=1e-10
    )
    if covariance_type in ("diag", "spherical"):  # no correlation: means do not move
        np.testing.assert_array_equal(
            result.means_, means[:, np.setdiff1d(np.arange(N_FEATURES), observed)]
        )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("observed", OBSERVED_SETS)
def test_conditional_density_is_joint_over_marginal(covariance_type, observed):
    model, *_ = known_mixture(covariance_type, seed=1)
    missing = np.setdiff1d(np.arange(N_FEATURES), observed)
    rng = np.random.default_rng(2)
    values = rng.normal(0.0, 2.0, size=len(observed))
    points = rng.normal(0.0, 3.0, size=(20, N_FEATURES))
    points[:, observed] = values
    conditional = condition(model, observed, values)
    expected = model.score_samples(points) - marginal(model, observed).score_samples(
        points[:, observed]
    )
    np.testing.assert_allclose(conditional.score_samples(points[:, missing]), expected, atol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_marginal_density_matches_scipy_on_the_sub_blocks(covariance_type):
    model, weights, means, dense = known_mixture(covariance_type, seed=3)
    index = [2, 0]
    X = np.random.default_rng(4).normal(0.0, 3.0, size=(30, 2))
    result = marginal(model, index)
    np.testing.assert_array_equal(result.weights_, weights)
    np.testing.assert_array_equal(result.means_, means[:, index])
    np.testing.assert_allclose(
        result.score_samples(X), textbook_log_marginal(weights, means, dense, index, X), atol=1e-10
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_marginal_on_all_features_is_the_model(covariance_type):
    model, *_ = known_mixture(covariance_type)
    same = marginal(model, range(N_FEATURES))
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(same, name), getattr(model, name), rtol=1e-12)
    X = np.random.default_rng(5).normal(size=(10, N_FEATURES))
    np.testing.assert_allclose(same.score_samples(X), model.score_samples(X), rtol=1e-12)


def test_derived_models_behave_like_fitted_models():
    X = np.random.default_rng(6).normal(size=(300, 3)) @ np.array(
        [[1, 0.5, 0], [0, 1, 0.3], [0, 0, 1]]
    )
    model = GaussianMixture(2, random_state=0, means_init=np.zeros((2, 3)) + [[-1], [1]]).fit(X)
    for derived in (marginal(model, [0, 1]), condition(model, [2], [0.5])):
        assert derived.n_components == 2
        assert derived.means_init is None and derived.precisions_init is None
        assert derived.random_state == 0 and derived.n_iter_ == model.n_iter_
        assert derived.converged_ == model.converged_
        assert derived.lower_bound_ == model.lower_bound_
        samples, labels = derived.sample(50)
        assert samples.shape == (50, 2) and labels.shape == (50,)
        assert derived.predict_proba(samples).shape == (50, 2)
        np.testing.assert_allclose(derived.precisions_, np.linalg.inv(derived.covariances_))
    refit = marginal(model, [0, 1]).fit(X[:, :2])  # constructor arguments fit the new shape
    assert refit.means_.shape == (2, 2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_conditioning_twice_equals_conditioning_once(covariance_type):
    model, *_ = known_mixture(covariance_type, seed=7)
    once = condition(model, [0, 1], [0.3, -0.8])
    twice = condition(condition(model, [0], [0.3]), [0], [-0.8])
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(twice, name), getattr(once, name), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_conditional_moments_of_many_rows_match_condition_row_by_row(covariance_type):
    model, *_ = known_mixture(covariance_type, seed=8)
    observed, missing = [3, 1], [0, 2]
    rows = np.random.default_rng(9).normal(0.0, 2.0, size=(6, 2))
    weights, means, covariances = conditional_moments(model, rows, observed, missing)
    assert weights.shape == (6, N_COMPONENTS) and means.shape == (6, N_COMPONENTS, 2)
    assert covariances.shape == (N_COMPONENTS, 2, 2)
    for row, w, mu in zip(rows, weights, means):
        single = condition(model, observed, row)
        np.testing.assert_allclose(w, single.weights_, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(mu, single.means_, rtol=1e-12)
    np.testing.assert_allclose(in_layout(covariances, covariance_type), single.covariances_)


def test_conditional_moments_stay_accurate_far_from_the_origin():
    model, *_ = known_mixture("full", seed=10)
    shifted, *_ = known_mixture("full", seed=10, offset=1e7)
    rows = np.random.default_rng(11).normal(0.0, 2.0, size=(5, 2))
    w, mu, _ = conditional_moments(model, rows, [0, 1])
    w_shifted, mu_shifted, _ = conditional_moments(shifted, rows + 1e7, [0, 1])
    np.testing.assert_allclose(w_shifted, w, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(mu_shifted - 1e7, mu, atol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weights_stay_exact_far_in_the_tails(covariance_type):
    # every N(v | ...) underflows to 0 here; the weights must come from log densities
    model, weights, means, dense = known_mixture(covariance_type, seed=13)
    values = np.array([60.0, -45.0])
    logs = [
        np.log(pi) + multivariate_normal(mu[[0, 1]], sigma[:2, :2]).logpdf(values)
        for pi, mu, sigma in zip(weights, means, dense)
    ]
    assert max(logs) < -800
    result = condition(model, [0, 1], values)
    np.testing.assert_allclose(result.weights_, np.exp(logs - logsumexp(logs)), atol=1e-12)
    assert np.all(np.isfinite(result.means_))


def test_feature_names_select_features_and_carry_over():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(12)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    model = GaussianMixture(2, random_state=0).fit(frame)
    by_name = marginal(model, ["c", "a"])
    assert list(by_name.feature_names_in_) == ["c", "a"]
    np.testing.assert_array_equal(by_name.means_, marginal(model, [2, 0]).means_)
    conditional = condition(model, "b", 0.5)
    assert list(conditional.feature_names_in_) == ["a", "c"]
    assert conditional.score_samples(frame[["a", "c"]]).shape == (200,)


def test_negative_indices_count_from_the_end():
    model, *_ = known_mixture("full")
    np.testing.assert_array_equal(marginal(model, [-1]).means_, model.means_[:, [3]])


@pytest.mark.parametrize(
    ("indices", "values", "message"),
    [
        ([4], [0.0], r"feature index 4 is out of range .* use indices in \[0, 4\)"),
        ([-5], [0.0], "out of range"),
        ([1, 1], [0.0, 0.0], "more than once"),
        ([0, -4], [0.0, 0.0], "more than once"),
        ([], [], "indices is empty"),
        ([0, 1, 2, 3], [0.0] * 4, "cover all 4 features, so none is left"),
        ([1.0], [0.0], "is not an integer"),
        ([True], [0.0], "is not an integer"),
        (["a"], [0.0], "fitted without feature names"),
        ([0, 1], [0.0], "values has 1 entries but 2 feature"),
        ([0], [0.0, 1.0], "values has 2 entries"),
        ([0, 1], [[0.0, 1.0]], "values must be 1-D"),
        ([0], [np.nan], "values must be finite"),
        ([0], [np.inf], "values must be finite"),
        ([0], ["x"], "values must be numbers"),
    ],
)
def test_condition_rejects_bad_indices_and_values(indices, values, message):
    model, *_ = known_mixture("diag")
    with pytest.raises(ValueError, match=message):
        condition(model, indices, values)


def test_errors_of_marginal_and_conditional_moments():
    model, *_ = known_mixture("tied")
    with pytest.raises(ValueError, match="out of range"):
        marginal(model, [0, 9])
    with pytest.raises(ValueError, match="overlap"):
        conditional_moments(model, np.zeros((2, 2)), [0, 1], [1, 2])
    with pytest.raises(ValueError, match="X_obs has 3 columns but 2 feature"):
        conditional_moments(model, np.zeros((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="NaN or infinity in 1 row.*first: row 1"):
        conditional_moments(model, [[0.0, 1.0], [np.nan, 1.0]], [0, 1])


def test_unfitted_model_raises_not_fitted():
    for call in (
        lambda m: marginal(m, [0]),
        lambda m: condition(m, [0], [1.0]),
        lambda m: conditional_moments(m, np.zeros((1, 1)), [0]),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call(GaussianMixture(2))


# ------------------------------------------------- far observations (issue 15, item 11)


def two_blobs():
    """The issue's model: two blobs at -3 and +3, 500 rows, 2-D, full covariances."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (250, 2)), rng.normal(3, 1, (250, 2))])
    return GaussianMixture(2, random_state=0).fit(X)


@pytest.mark.parametrize("value", [1e200, -1e200, 1e300, 1e6])
def test_a_far_observation_gets_the_component_with_the_wider_tail(value):
    # far from both means, (v - mu_k)^2 / var_k decides: the larger variance of
    # feature 1 takes all the weight (the prior weights are wrong)
    model = two_blobs()
    wider = int(np.argmax(model.covariances_[:, 1, 1]))
    conditional = model.condition(1, value)
    np.testing.assert_array_equal(conditional.weights_, np.eye(2)[wider])
    assert np.all(np.isfinite(conditional.means_))
    weights, _, _ = conditional_moments(model, [[value]], [1])
    np.testing.assert_array_equal(weights[0], np.eye(2)[wider])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("distance", [0.0, 1e2, 1e4, 1e6])
def test_posterior_weights_match_scipy_near_and_far(covariance_type, distance):
    model, weights, means, dense = known_mixture(covariance_type)
    observed = [0, 2]
    rng = np.random.default_rng(3)
    rows = rng.normal(0.0, 2.0, size=(5, 2)) + distance * rng.normal(size=(5, 2))
    found, _, _ = conditional_moments(model, rows, observed)
    logs = np.array([
        np.log(pi) + multivariate_normal(mu[observed], s[np.ix_(observed, observed)]).logpdf(rows)
        for pi, mu, s in zip(weights, means, dense)
    ]).T
    expected = np.exp(logs - logsumexp(logs, axis=1, keepdims=True))
    # scipy's own rounding grows with the distance squared
    np.testing.assert_allclose(found, expected, rtol=1e-9 + 1e-14 * distance**2, atol=1e-300)


def test_tied_components_far_away_keep_the_linear_term():
    # shared covariance: log(w1 / w0) is linear in x, exactly; rows 1e12 .. 1e250 away
    # along a direction where the means agree must get that log-odds, not rounding noise
    template = GaussianMixture(2, covariance_type="tied")
    covariance = np.array([[1.0, 0.0, 0.5], [0.0, 4.0, 0.0], [0.5, 0.0, 2.0]])
    means = np.array([[-1.0, 5.0, 0.0], [1.0, 5.0, 2.0]])
    model = fitted_mixture(template, [0.4, 0.6], means, covariance)
    precision = np.linalg.inv(covariance[:2, :2])
    mu = means[:, :2]
    for far in (1e12, 1e100, -1e250):
        x = np.array([0.3, far])
        log_odds = (
            np.log(0.6 / 0.4)
            + (mu[1] - mu[0]) @ precision @ x
            - 0.5 * (mu[1] @ precision @ mu[1] - mu[0] @ precision @ mu[0])
        )
        weights = conditional_moments(model, x[None, :], [0, 1])[0][0]
        assert np.log(weights[1] / weights[0]) == pytest.approx(log_odds, rel=1e-12)
        assert model.condition([0, 1], x).weights_ == pytest.approx(weights, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    exponents=st.lists(st.integers(0, 300), min_size=1, max_size=4),
    signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=4, max_size=4),
)
def test_a_rows_conditional_does_not_depend_on_the_other_rows(covariance_type, exponents, signs):
    model, *_ = known_mixture(covariance_type)
    observed = [3, 1]
    row = np.array([[0.4, -1.1]])
    far = np.array([[s * 10.0**e, -s * 10.0 ** (e // 2)] for s, e in zip(signs, exponents)])
    alone = conditional_moments(model, row, observed)
    for batch in (np.vstack([row, far]), np.vstack([far, row, far, [[1e8, 1e12]]])):
        index = int(np.flatnonzero((batch == row).all(axis=1))[0])
        weights, means, _ = conditional_moments(model, batch, observed)
        np.testing.assert_array_equal(weights[index], alone[0][0])
        np.testing.assert_array_equal(means[index], alone[1][0])
        assert np.all(np.isfinite(weights)) and np.allclose(weights.sum(axis=1), 1.0)


# --------------------------------------------------------- bad arguments (item 11)


@pytest.mark.parametrize("indices", [0.0, 1.5, None, {0: 1}, np.zeros((1, 1), int)])
def test_indices_that_are_not_ints_names_or_sequences_are_a_type_error(indices):
    model = two_blobs()
    with pytest.raises(TypeError, match=r"^indices must be an int, a feature name or a "
                       r"sequence of them .*; got .*\((float|NoneType|dict|ndarray)\)\.$"):
        model.condition(indices, 1.0)
    with pytest.raises(TypeError, match="^indices must be an int"):
        model.marginal(indices)
    with pytest.raises(TypeError, match="^observed must be an int"):
        conditional_moments(model, [[1.0]], indices)


def test_a_bayesian_mixture_conditions_as_its_point_estimate_mixture():
    from gmmkit import BayesianGaussianMixture

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (250, 3)), rng.normal(3, 1, (250, 3))])
    bayes = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=500).fit(X)
    # the mixture its sample() draws from, as a GaussianMixture
    point = fitted_mixture(
        GaussianMixture(3), bayes.weights_, bayes.means_, bayes.covariances_
    )
    ours = condition(bayes, [0, 2], [2.5, 3.5])
    expected = point.condition([0, 2], [2.5, 3.5])
    assert type(ours) is GaussianMixture and ours.n_features_in_ == 1
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(expected, name), rtol=1e-12)
    w, mu, cov = textbook_conditional(
        bayes.weights_, bayes.means_, bayes.covariances_, [0, 2], np.array([2.5, 3.5])
    )
    np.testing.assert_allclose(ours.weights_, w, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, mu, rtol=1e-9)
    assert type(marginal(bayes, [1])) is GaussianMixture


@pytest.mark.parametrize(
    ("kind", "instead"),
    [("GMMClassifier", r"clf\.estimators_\[i\]"), ("GaussianMixtureRegressor", r"reg\.gmm_")],
)
def test_estimators_that_are_not_a_mixture_of_the_features_are_refused(kind, instead):
    import gmmkit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    model = getattr(gmmkit, kind)().fit(X, (X[:, 0] > 0).astype(int))
    for function, args in [(condition, (0, 1.0)), (marginal, (0,)),
                           (conditional_moments, ([[1.0]], [0]))]:
        with pytest.raises(TypeError, match=(
            f"^{function.__name__} needs a fitted GaussianMixture or BayesianGaussianMixture "
            f"\\(a mixture of the features\\); got a {kind}\\. Pass .*{instead}"
        )):
            function(model, *args)
