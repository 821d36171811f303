"""The uniform noise component: robust fits, -1 labels, exact densities."""

import copy

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture
from scipy.optimize import linear_sum_assignment
from scipy.stats import multivariate_normal

from gmmkit import GaussianMixture, impute


def with_outliers(fraction=0.05, seed=3, n_samples=1900):
    """A 3-component mixture plus uniform outliers over a box larger than the data."""
    X, _, truth = make_mixture(n_samples=n_samples, n_features=2, n_components=3, seed=seed)
    rng = np.random.default_rng(seed)
    n_out = int(round(fraction * n_samples / (1 - fraction)))
    outliers = rng.uniform(X.min(axis=0) - 6, X.max(axis=0) + 6, size=(n_out, 2))
    is_outlier = np.r_[np.zeros(len(X), bool), np.ones(n_out, bool)]
    return np.vstack([X, outliers]), is_outlier, X, truth


def matched(model, reference):
    """model's components reordered to match reference's means."""
    cost = ((model.means_[:, None, :] - reference.means_[None]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    return rows[np.argsort(cols)]


def test_outliers_do_not_distort_the_gaussians_and_are_labelled_noise():
    X, is_outlier, clean_X, _ = with_outliers()
    params = dict(n_components=3, n_init=3, random_state=0)
    clean = GaussianMixture(**params).fit(clean_X)
    plain = GaussianMixture(**params).fit(X)
    robust = GaussianMixture(noise="uniform", **params).fit(X)

    def covariance_gap(model):
        order = matched(model, clean)
        return np.abs(model.covariances_[order] - clean.covariances_).max()

    def mean_gap(model):
        return np.abs(model.means_[matched(model, clean)] - clean.means_).max()

    # the plain fit is visibly off, the noise fit is close to the fit without outliers
    assert covariance_gap(plain) > 1.0
    assert covariance_gap(robust) < 0.15 * covariance_gap(plain)
    assert mean_gap(robust) < 0.1
    assert robust.noise_weight_ == pytest.approx(is_outlier.mean(), abs=0.015)
    labels = robust.predict(X)
    flagged = labels == -1
    assert (flagged & is_outlier).sum() / flagged.sum() > 0.9  # flagged are outliers
    assert (flagged & is_outlier).sum() / is_outlier.sum() > 0.8  # most outliers flagged
    assert set(labels[~flagged]) == {0, 1, 2}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_densities_probabilities_and_criteria_are_exact(covariance_type):
    X, _, _, _ = with_outliers(n_samples=600)
    model = GaussianMixture(
        3, covariance_type=covariance_type, noise="uniform", random_state=0, tol=1e-6
    ).fit(X)
    assert np.all(np.diff(model.lower_bounds_) > -1e-10)
    assert model.weights_.sum() + model.noise_weight_ == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(model.noise_bounds_, np.column_stack([X.min(0), X.max(0)]))
    volume = np.prod(np.ptp(X, axis=0))
    dense = [
        {
            "full": model.covariances_[k] if covariance_type == "full" else None,
            "tied": model.covariances_ if covariance_type == "tied" else None,
            "diag": np.diag(model.covariances_[k]) if covariance_type == "diag" else None,
            "spherical": model.covariances_[k] * np.eye(2)
            if covariance_type == "spherical" else None,
        }[covariance_type]
        for k in range(3)
    ]
    parts = np.column_stack(
        [model.weights_[k] * multivariate_normal(model.means_[k], dense[k]).pdf(X) for k in
         range(3)] + [np.full(len(X), model.noise_weight_ / volume)]
    )
    np.testing.assert_allclose(model.score_samples(X), np.log(parts.sum(axis=1)), rtol=1e-10)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 4)
    np.testing.assert_allclose(proba, parts / parts.sum(axis=1, keepdims=True), atol=1e-10)
    labels = np.where(parts.argmax(axis=1) == 3, -1, parts.argmax(axis=1))
    np.testing.assert_array_equal(model.predict(X), labels)
    plain = GaussianMixture(3, covariance_type=covariance_type).fit(X)
    assert model._n_parameters() == plain._n_parameters() + 1
    log_lik = np.log(parts.sum(axis=1)).sum()
    n_params = plain._n_parameters() + 1
    assert model.bic(X) == pytest.approx(-2 * log_lik + n_params * np.log(len(X)), rel=1e-10)
    assert model.aic(X) == pytest.approx(-2 * log_lik + 2 * n_params, rel=1e-10)


def test_sampling_draws_noise_from_the_box():
    X, _, _, _ = with_outliers(fraction=0.2, n_samples=800)
    model = GaussianMixture(3, noise="uniform", random_state=0).fit(X)
    draws, labels = model.sample(20000)
    noise = labels == -1
    assert noise.mean() == pytest.approx(model.noise_weight_, abs=0.01)
    low, high = model.noise_bounds_[:, 0], model.noise_bounds_[:, 1]
    assert np.all((draws[noise] >= low) & (draws[noise] <= high))
    # uniform: each quarter of the box gets a quarter of the noise draws
    middle = (low + high) / 2
    assert np.mean(draws[noise, 0] < middle[0]) == pytest.approx(0.5, abs=0.03)


def test_noise_with_missing_values_uses_the_observed_ranges():
    X, _, _, _ = with_outliers(n_samples=800)
    rng = np.random.default_rng(0)
    X_missing = X.copy()
    X_missing[rng.random(X.shape) < 0.15] = np.nan
    model = GaussianMixture(3, noise="uniform", missing="em", random_state=0).fit(X_missing)
    assert 0.02 < model.noise_weight_ < 0.1
    row = np.array([[np.nan, 0.3]])
    marginal = sum(
        model.weights_[k] * multivariate_normal(model.means_[k, 1],
                                                model.covariances_[k, 1, 1]).pdf(0.3)
        for k in range(3)
    ) + model.noise_weight_ / np.ptp(model.noise_bounds_[1])
    np.testing.assert_allclose(model.score_samples(row), [np.log(marginal)], rtol=1e-10)
    nothing = model.predict_proba(np.full((1, 2), np.nan))
    np.testing.assert_allclose(nothing[0], np.append(model.weights_, model.noise_weight_))
    filled = impute(model, X_missing)
    assert not np.isnan(filled).any()


def test_marginal_and_condition_keep_the_noise_component():
    X, _, _, _ = with_outliers(n_samples=800)
    model = GaussianMixture(3, noise="uniform", random_state=0).fit(X)
    marginal = model.marginal([1])
    assert marginal.noise_weight_ == model.noise_weight_
    points = np.linspace(-10, 10, 7)[:, None]
    joint_rows = np.column_stack([np.full(7, np.nan), points[:, 0]])
    em_model = copy.deepcopy(model).set_params(missing="em")  # scores rows with NaN
    np.testing.assert_allclose(
        marginal.score_samples(points), em_model.score_samples(joint_rows), rtol=1e-10
    )
    conditional = model.condition([0], [X[0, 0]])
    total = conditional.weights_.sum() + conditional.noise_weight_
    assert total == pytest.approx(1.0)
    y = np.linspace(-10, 10, 5)
    both = np.column_stack([np.full(5, X[0, 0]), y])
    expected = model.score_samples(both) - model.marginal([0]).score_samples(both[:, :1])
    np.testing.assert_allclose(conditional.score_samples(y[:, None]), expected, rtol=1e-9)


def test_warm_start_keeps_the_noise_component():
    X, _, _, _ = with_outliers(n_samples=600)
    model = GaussianMixture(3, noise="uniform", random_state=0, warm_start=True, max_iter=5)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
        first = model.lower_bound_
        model.fit(X)
    assert model.lower_bound_ >= first - 1e-12
    assert model.noise_weight_ > 0


def test_noise_errors():
    X, _, _, _ = with_outliers(n_samples=200)
    with pytest.raises(ValueError, match="noise='gaussian' is not supported; use None"):
        GaussianMixture(2, noise="gaussian").fit(X)
    flat = np.column_stack([X[:, 0], np.ones(len(X))])
    with pytest.raises(ValueError, match="feature 1 takes a single value, so the noise"):
        GaussianMixture(2, noise="uniform").fit(flat)


def test_integer_weights_equal_repeated_rows_with_noise():
    X, _, _, _ = with_outliers(n_samples=300)
    counts = np.random.default_rng(1).integers(0, 4, size=len(X))
    start = GaussianMixture(3, random_state=0).fit(X)
    params = dict(noise="uniform", tol=1e-8, weights_init=start.weights_,
                  means_init=start.means_, precisions_init=start.precisions_)
    weighted = GaussianMixture(3, **params).fit(X, sample_weight=counts)  # zeros left out
    repeated = GaussianMixture(3, **params).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-8)
    assert weighted.noise_weight_ == pytest.approx(repeated.noise_weight_, rel=1e-8)
    np.testing.assert_array_equal(weighted.noise_bounds_, repeated.noise_bounds_)
