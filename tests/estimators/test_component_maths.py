"""The plugin-facing maths: component_log_densities and fit_from_responsibilities."""

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from gmmkit import GaussianMixture


def _dense(model, k):
    covariances, n_features = model.covariances_, model.means_.shape[1]
    return {
        "full": lambda: covariances[k],
        "tied": lambda: covariances,
        "diag": lambda: np.diag(covariances[k]),
        "spherical": lambda: covariances[k] * np.eye(n_features),
    }[model.covariance_type]()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_component_log_densities_match_scipy(covariance_type):
    X = make_mixture()[0]
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    far = [[1e6, -1e6, 3.0], [-2e5, 0.0, 1e5]]  # far rows: scored directly (2 != K rows)
    rows = np.vstack([X[:50], far])
    got = model.component_log_densities(rows)
    expected = np.column_stack([
        multivariate_normal(model.means_[k], _dense(model, k)).logpdf(rows) for k in range(3)
    ])
    assert got.shape == (52, 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-9)


def test_component_log_densities_add_up_to_score_samples_and_are_row_independent():
    X = make_mixture()[0]
    model = GaussianMixture(3, random_state=0).fit(X)
    densities = model.component_log_densities(X)
    weighted = densities + np.log(model.weights_)
    top = weighted.max(axis=1)
    total = top + np.log(np.exp(weighted - top[:, None]).sum(axis=1))
    np.testing.assert_allclose(total, model.score_samples(X), rtol=1e-12)
    # one row alone scores as within the batch (up to the GEMM's summation order)
    np.testing.assert_allclose(model.component_log_densities(X[7:8]), densities[7:8], rtol=1e-13)


def test_component_log_densities_float32_work_is_close():
    X = make_mixture()[0]
    model = GaussianMixture(3, random_state=0).fit(X)
    exact = model.component_log_densities(X)
    model.set_params(dtype="float32")
    np.testing.assert_allclose(model.component_log_densities(X), exact, rtol=1e-4, atol=1e-4)


def test_component_log_densities_leave_out_the_noise_component():
    X = make_mixture()[0]
    model = GaussianMixture(3, noise="uniform", random_state=0).fit(X)
    assert model.component_log_densities(X).shape == (len(X), 3)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_from_responsibilities_is_sklearn_m_step(covariance_type):
    X = make_mixture()[0]
    resp = np.random.default_rng(1).dirichlet(np.ones(3), size=len(X))
    model = GaussianMixture(3, covariance_type=covariance_type).fit_from_responsibilities(X, resp)
    reference = SkGaussianMixture(3, covariance_type=covariance_type)
    reference._initialize(X, resp)  # scikit-learn's M-step from given responsibilities
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(model, name), getattr(reference, name),
                                   rtol=1e-9, atol=1e-12, err_msg=name)
    assert model.n_features_in_ == 3 and model.n_components_ == 3


def test_fit_from_responsibilities_with_sample_weight_is_a_hand_computation():
    X = make_mixture(n_samples=200)[0]
    rng = np.random.default_rng(2)
    resp = rng.dirichlet(np.ones(2), size=len(X))
    weight = rng.uniform(0.5, 2.0, size=len(X))
    model = GaussianMixture(2, reg_covar=0.0).fit_from_responsibilities(X, resp, weight)
    mass = (resp * weight[:, None]).sum(axis=0)
    np.testing.assert_allclose(model.weights_, mass / mass.sum(), rtol=1e-12)
    means = (resp * weight[:, None]).T @ X / mass[:, None]
    np.testing.assert_allclose(model.means_, means, rtol=1e-10)
    centred = X - means[1]
    covariance = (resp[:, 1] * weight * centred.T) @ centred / mass[1]
    np.testing.assert_allclose(model.covariances_[1], covariance, rtol=1e-9)


def test_fit_from_responsibilities_is_one_em_iteration_of_fit():
    X = make_mixture()[0]
    start = GaussianMixture(3, random_state=0, max_iter=5).fit(X)
    one_more = GaussianMixture(
        3, max_iter=1, tol=0.0, weights_init=start.weights_, means_init=start.means_,
        precisions_init=start.precisions_,
    )
    with pytest.warns(Warning):  # max_iter=1: not converged
        one_more.fit(X)
    stepped = GaussianMixture(3).fit_from_responsibilities(X, start.predict_proba(X))
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(stepped, name), getattr(one_more, name),
                                   rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(("resp", "message"), [
    (np.ones((5, 3)), r"resp has shape \(5, 3\); expected \(600, 3\): one row per row of X "
                      r"and one column per component\."),
    (np.ones((600, 2)), r"resp has shape \(600, 2\); expected \(600, 3\)"),
    (-np.ones((600, 3)), r"resp must hold finite values >= 0 \(memberships of each row\)\."),
])
def test_fit_from_responsibilities_bad_resp(resp, message):
    X = make_mixture()[0]
    with pytest.raises(ValueError, match=message):
        GaussianMixture(3).fit_from_responsibilities(X, resp)


def test_with_parameters_is_a_fitted_copy_with_the_new_parameters():
    X = make_mixture()[0]
    model = GaussianMixture(3, covariance_type="diag", reg_covar=1e-4, random_state=0).fit(X)
    weights, means, variances = [1.0 / 3] * 3, model.means_ + 1.0, model.covariances_ * 2.0
    copy = model.with_parameters(weights, means, variances)
    assert type(copy) is GaussianMixture and copy is not model
    assert copy.get_params() == model.get_params()
    np.testing.assert_array_equal(copy.means_, means)
    np.testing.assert_allclose(copy.precisions_, 1.0 / variances, rtol=1e-12)
    expected = np.column_stack([
        multivariate_normal(means[k], np.diag(variances[k])).logpdf(X) for k in range(3)
    ])
    np.testing.assert_allclose(copy.component_log_densities(X), expected, rtol=1e-10)


def test_with_parameters_bad_shape():
    model = GaussianMixture(3, random_state=0).fit(make_mixture()[0])
    with pytest.raises(ValueError, match=r"means has shape \(2, 3\); this model's means_ has "
                                         r"shape \(3, 3\), and the new parameters must have "
                                         r"the same\."):
        model.with_parameters(model.weights_, model.means_[:2], model.covariances_)


def _with_far_rows(X):
    return np.vstack([X, np.random.default_rng(1).uniform(-30.0, 30.0, size=(20, X.shape[1]))])


def test_with_parameters_keep_noise_keeps_the_noise_component():
    X = _with_far_rows(make_mixture()[0])
    model = GaussianMixture(3, noise="uniform", random_state=0).fit(X)
    assert model.noise_weight_ > 0
    covariances = model.covariances_ * 1.5
    kept = model.with_parameters(model.weights_, model.means_, covariances, keep_noise=True)
    fresh = GaussianMixture.from_parameters(
        model.weights_, model.means_, covariances, noise_bounds=model.noise_bounds_,
        noise_weight=model.noise_weight_, **model.get_params())
    assert kept.get_params() == model.get_params()  # noise="uniform" kept
    assert kept.noise_weight_ == model.noise_weight_
    np.testing.assert_array_equal(kept.noise_bounds_, model.noise_bounds_)
    np.testing.assert_array_equal(kept.covariances_, covariances)
    np.testing.assert_array_equal(kept.score_samples(X), fresh.score_samples(X))
    np.testing.assert_array_equal(kept.predict_proba(X), fresh.predict_proba(X))
    # the default drops it: the far rows then score as under the Gaussians alone
    dropped = model.with_parameters(model.weights_, model.means_, covariances)
    assert dropped.noise is None and not hasattr(dropped, "noise_bounds_")
    assert np.all(kept.score_samples(X[-20:]) > dropped.score_samples(X[-20:]))


def test_with_parameters_keep_noise_without_a_noise_component_changes_nothing():
    X = make_mixture()[0]
    model = GaussianMixture(3, random_state=0).fit(X)
    kept = model.with_parameters(model.weights_, model.means_, model.covariances_,
                                 keep_noise=True)
    assert kept.noise is None and not hasattr(kept, "noise_bounds_")
    np.testing.assert_array_equal(
        kept.score_samples(X),
        model.with_parameters(model.weights_, model.means_, model.covariances_).score_samples(X))


def test_with_parameters_covariance_type_of_the_layout_for_a_constrained_model():
    X = make_mixture()[0]
    model = GaussianMixture(3, covariance_type="VEV", random_state=0).fit(X)
    covariances = model.covariances_ + np.diag([0.5, 0.0, 0.25])  # loses the equal shape
    with pytest.raises(ValueError, match="needs the same shape in every component"):
        model.with_parameters(model.weights_, model.means_, covariances)
    full = model.with_parameters(model.weights_, model.means_, covariances,
                                 covariance_type="full")
    assert full.covariance_type == "full"
    assert {**full.get_params(), "covariance_type": "VEV"} == model.get_params()
    fresh = GaussianMixture.from_parameters(model.weights_, model.means_, covariances)
    np.testing.assert_array_equal(full.score_samples(X), fresh.score_samples(X))
    with pytest.raises(ValueError, match=r"^covariance_type='diag' stores covariances in "
                                         r"another layout than this model's 'VEV'; pass a "
                                         r"type of the 'full' layout, such as 'full'\.$"):
        model.with_parameters(model.weights_, model.means_, covariances,
                              covariance_type="diag")
