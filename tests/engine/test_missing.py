"""Missing values: exact EM over missingness patterns, marginal scoring, imputation."""

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture
from scipy.optimize import linear_sum_assignment
from scipy.stats import multivariate_normal

from gmmkit import GaussianMixture
from gmmkit.estimators.impute import impute


def with_missing(X, rate, seed=1):
    """A copy of X with a fraction ``rate`` of entries set to NaN at random (MCAR)."""
    rng = np.random.default_rng(seed)
    mask = rng.random(X.shape) < rate
    missing = X.copy()
    missing[mask] = np.nan
    return missing, mask


def parameter_error(model, truth):
    """Distance of fitted means and covariances from the truth, components matched."""
    cost = ((model.means_[:, None, :] - truth["means"][None]) ** 2).sum(axis=2)
    fitted, true = linear_sum_assignment(cost)
    covariances = model.covariances_
    mean_error = np.linalg.norm(model.means_[fitted] - truth["means"][true])
    cov_error = np.linalg.norm(covariances[fitted] - truth["covariances"][true])
    weight_error = np.abs(model.weights_[fitted] - truth["weights"][true]).sum()
    return mean_error + cov_error + weight_error


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.3])
def test_em_beats_complete_rows_and_mean_imputation(rate):
    X, _, truth = make_mixture(n_samples=1500, n_features=4, n_components=3, seed=4)
    X_missing, mask = with_missing(X, rate)
    params = dict(n_components=3, n_init=3, random_state=0, tol=1e-5)
    em = GaussianMixture(missing="em", **params).fit(X_missing)
    complete_rows = ~mask.any(axis=1)
    complete = GaussianMixture(**params).fit(X_missing[complete_rows])
    filled = np.where(mask, np.nanmean(X_missing, axis=0), X_missing)
    mean_imputed = GaussianMixture(**params).fit(filled)
    errors = {
        name: parameter_error(model, truth)
        for name, model in [("em", em), ("complete", complete), ("mean", mean_imputed)]
    }
    assert errors["em"] < errors["complete"], errors
    assert errors["em"] < errors["mean"], errors


def naive_em_step(X, weights, means, covariances, reg_covar):
    """One EM step written row by row from the textbook formulas (dense covariances)."""
    n_components, n_features = means.shape
    nk = np.zeros(n_components)
    s1 = np.zeros((n_components, n_features))
    s2 = np.zeros((n_components, n_features, n_features))
    loglik = 0.0
    for x in X:
        o = np.flatnonzero(~np.isnan(x))
        m = np.flatnonzero(np.isnan(x))
        densities = np.array([
            weights[k] * (multivariate_normal(means[k, o], covariances[k][np.ix_(o, o)]).pdf(
                x[o]) if o.size else 1.0)
            for k in range(n_components)
        ])
        loglik += np.log(densities.sum())
        resp = densities / densities.sum()
        for k in range(n_components):
            cov = covariances[k]
            completed, extra = x.copy(), np.zeros((n_features, n_features))
            if m.size:
                gain = cov[np.ix_(m, o)] @ np.linalg.inv(cov[np.ix_(o, o)]) if o.size else (
                    np.zeros((m.size, 0)))
                completed[m] = means[k, m] + gain @ (x[o] - means[k, o])
                extra[np.ix_(m, m)] = cov[np.ix_(m, m)] - gain @ cov[np.ix_(o, m)]
            nk[k] += resp[k]
            s1[k] += resp[k] * completed
            s2[k] += resp[k] * (np.outer(completed, completed) + extra)
    new_means = s1 / nk[:, None]
    new_covs = s2 / nk[:, None, None] - new_means[:, :, None] * new_means[:, None, :]
    return nk / nk.sum(), new_means, new_covs, loglik / len(X)


def dense(model):
    n_components, n_features = model.means_.shape
    return np.stack([
        {
            "full": lambda k: model.covariances_[k],
            "tied": lambda k: model.covariances_,
            "diag": lambda k: np.diag(model.covariances_[k]),
            "spherical": lambda k: model.covariances_[k] * np.eye(n_features),
        }[model.covariance_type](k)
        for k in range(n_components)
    ])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_em_step_matches_the_textbook_computation(covariance_type):
    """Closed-form completed moments == conditional expectations row by row."""
    X, _, _ = make_mixture(n_samples=120, n_features=4, n_components=2, seed=7)
    X_missing, _ = with_missing(X, 0.3, seed=3)
    X_missing[5] = np.nan  # a row with nothing observed
    start = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    step = GaussianMixture(
        2, covariance_type=covariance_type, missing="em", max_iter=1, reg_covar=0.0,
        weights_init=start.weights_, means_init=start.means_,
        precisions_init=start.precisions_,
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=1 does not converge
        step.fit(X_missing)
    weights, means, covs, loglik = naive_em_step(
        X_missing, start.weights_, start.means_, dense(start), 0.0
    )
    np.testing.assert_allclose(step.lower_bound_, loglik, rtol=1e-10)
    np.testing.assert_allclose(step.weights_, weights, rtol=1e-9)
    np.testing.assert_allclose(step.means_, means, rtol=1e-8, atol=1e-10)
    expected = {
        "full": covs,
        "tied": (covs * weights[:, None, None]).sum(axis=0),
        "diag": np.diagonal(covs, axis1=1, axis2=2),
        "spherical": np.diagonal(covs, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]
    np.testing.assert_allclose(step.covariances_, expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_nothing_missing_gives_the_ordinary_fit(covariance_type):
    X, _, _ = make_mixture(n_samples=400, seed=2)
    plain = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    em = GaussianMixture(3, covariance_type=covariance_type, random_state=0, missing="em")
    em.fit(X)
    np.testing.assert_array_equal(em.means_, plain.means_)
    np.testing.assert_array_equal(em.covariances_, plain.covariances_)
    assert em.lower_bounds_ == plain.lower_bounds_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases_and_chunking_does_not_matter(covariance_type):
    X, _, _ = make_mixture(n_samples=500, n_features=3, seed=5)
    X_missing, _ = with_missing(X, 0.25)
    params = dict(covariance_type=covariance_type, missing="em", random_state=0, tol=1e-8)
    model = GaussianMixture(3, **params).fit(X_missing)
    assert np.all(np.diff(model.lower_bounds_) > -1e-10)
    chunked = GaussianMixture(3, chunk_size=37, **params).fit(X_missing)
    np.testing.assert_allclose(chunked.means_, model.means_, rtol=1e-9)
    np.testing.assert_allclose(chunked.lower_bound_, model.lower_bound_, rtol=1e-12)


def test_integer_weights_equal_repeated_rows():
    X, _, _ = make_mixture(n_samples=200, n_features=3, seed=6)
    X_missing, _ = with_missing(X, 0.2)
    counts = np.random.default_rng(0).integers(0, 4, size=len(X))
    params = dict(missing="em", init_params="random_from_data", random_state=0, tol=1e-8)
    start = GaussianMixture(3, random_state=0).fit(X)
    init = dict(weights_init=start.weights_, means_init=start.means_,
                precisions_init=start.precisions_)
    weighted = GaussianMixture(3, **params, **init).fit(X_missing, sample_weight=counts)
    repeated = GaussianMixture(3, **params, **init).fit(np.repeat(X_missing, counts, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-8)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-7)
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=1e-10)


def test_scoring_uses_the_marginal_density_of_the_observed_features():
    X, _, _ = make_mixture(n_samples=400, n_features=3, seed=8)
    model = GaussianMixture(3, missing="em", random_state=0).fit(X)
    rows = np.array([[np.nan, 1.0, -2.0], [0.5, np.nan, np.nan], [np.nan] * 3, X[0]])
    expected = []
    for row in rows:
        o = np.flatnonzero(~np.isnan(row))
        expected.append(np.log(sum(
            model.weights_[k] * (multivariate_normal(
                model.means_[k, o], model.covariances_[k][np.ix_(o, o)]).pdf(row[o])
                if o.size else 1.0)
            for k in range(3)
        )))
    np.testing.assert_allclose(model.score_samples(rows), expected, rtol=1e-10)
    proba = model.predict_proba(rows)
    np.testing.assert_allclose(proba[2], model.weights_, rtol=1e-12)  # nothing observed
    np.testing.assert_allclose(proba[3], model.predict_proba(X[:1])[0], rtol=1e-12)
    assert model.predict(rows)[3] == model.predict(X[:1])[0]
    strict = GaussianMixture(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="pass missing='em'"):
        strict.predict(rows)


def test_imputation_beats_mean_imputation_and_draws_vary():
    X, _, _ = make_mixture(n_samples=1500, n_features=4, seed=9)
    X_missing, mask = with_missing(X, 0.2)
    model = GaussianMixture(3, missing="em", random_state=0).fit(X_missing)
    filled = impute(model, X_missing)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~mask], X[~mask])  # observed values kept
    rmse = np.sqrt(np.mean((filled - X)[mask] ** 2))
    mean_filled = np.where(mask, np.nanmean(X_missing, axis=0), X_missing)
    mean_rmse = np.sqrt(np.mean((mean_filled - X)[mask] ** 2))
    assert rmse < 0.7 * mean_rmse, (rmse, mean_rmse)
    draws = impute(model, X_missing, strategy="draw", n_draws=4, random_state=0)
    assert draws.shape == (4,) + X.shape
    np.testing.assert_array_equal(draws[:, ~mask], np.broadcast_to(X[~mask], (4, (~mask).sum())))
    assert np.all(np.std(draws[:, mask], axis=0) > 0)
    # the draws average to the conditional mean
    many = impute(model, X_missing, strategy="draw", n_draws=200, random_state=1)
    assert np.abs(many.mean(axis=0)[mask] - filled[mask]).mean() < 0.15
    again = impute(model, X_missing, strategy="draw", n_draws=4, random_state=0)
    np.testing.assert_array_equal(draws, again)


def test_imputation_conditional_mean_is_exact_for_one_gaussian():
    rng = np.random.default_rng(0)
    cov = np.array([[2.0, 0.8, 0.3], [0.8, 1.0, 0.2], [0.3, 0.2, 0.5]])
    X = rng.multivariate_normal([1.0, -1.0, 2.0], cov, size=2000)
    model = GaussianMixture(1).fit(X)
    row = np.array([[np.nan, 0.5, np.nan]])
    mu, sigma = model.means_[0], model.covariances_[0]
    o, m = [1], [0, 2]
    expected = mu[m] + sigma[np.ix_(m, o)] @ np.linalg.solve(sigma[np.ix_(o, o)], row[0, o] - mu[o])
    np.testing.assert_allclose(impute(model, row)[0, m], expected, rtol=1e-12)


def test_missing_errors():
    X, _, _ = make_mixture(n_samples=100, n_features=3)
    with pytest.raises(ValueError, match="missing='maybe' is not supported; use 'error'"):
        GaussianMixture(2, missing="maybe").fit(X)
    X_missing = X.copy()
    X_missing[:, 1] = np.nan
    with pytest.raises(ValueError, match="feature 1 has no observed value .* drop that column"):
        GaussianMixture(2, missing="em").fit(X_missing)
    model = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="strategy='median' is not supported"):
        impute(model, X_missing, strategy="median")
    with pytest.raises(ValueError, match="n_draws needs strategy='draw'"):
        impute(model, X_missing, n_draws=3)


@pytest.mark.parametrize("n_draws", [2.7, 2.0, True, 0, -1, "3"])
def test_n_draws_must_be_a_whole_number_of_draws(n_draws):
    X, _, _ = make_mixture(n_samples=100, n_features=3)
    model = GaussianMixture(2, random_state=0).fit(X)
    X_missing = X.copy()
    X_missing[0, 1] = np.nan
    with pytest.raises(ValueError, match=rf"^n_draws must be an integer >= 1; got {n_draws!r}\.$"):
        impute(model, X_missing, strategy="draw", n_draws=n_draws)
    assert impute(model, X_missing, strategy="draw", n_draws=np.int64(2)).shape == (2, 100, 3)


def test_a_bayesian_mixture_imputes_from_its_point_estimates():
    from gmmkit import BayesianGaussianMixture
    from gmmkit.estimators.conditional import fitted_mixture

    X, _, _ = make_mixture(n_samples=400, n_features=3)
    X_missing, _ = with_missing(X, 0.2)
    bayes = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=500).fit(X)
    point = fitted_mixture(GaussianMixture(3), bayes.weights_, bayes.means_, bayes.covariances_)
    filled = impute(bayes, X_missing)
    np.testing.assert_allclose(filled, impute(point, X_missing), rtol=1e-12)
    assert not np.isnan(filled).any()
    draws = impute(bayes, X_missing, strategy="draw", n_draws=2, random_state=0)
    np.testing.assert_array_equal(
        draws, impute(point, X_missing, strategy="draw", n_draws=2, random_state=0)
    )


@pytest.mark.parametrize(
    ("kind", "instead"),
    [("GMMClassifier", r"clf\.estimators_\[i\]"), ("GaussianMixtureRegressor", r"reg\.gmm_")],
)
def test_impute_refuses_estimators_that_are_not_a_mixture_of_the_features(kind, instead):
    import gmmkit

    X, labels, _ = make_mixture(n_samples=200, n_features=3)
    model = getattr(gmmkit, kind)().fit(X, labels)
    X_missing, _ = with_missing(X, 0.1)
    with pytest.raises(TypeError, match=(
        rf"^impute needs a fitted GaussianMixture or BayesianGaussianMixture \(a mixture of "
        rf"the features\); got a {kind}\. Pass .*{instead}"
    )):
        impute(model, X_missing)
