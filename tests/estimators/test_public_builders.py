"""The public API that replaced private calls across modules (issue 16).

GaussianMixture.from_parameters and BayesianGaussianMixture.from_posterior
build fitted models without fitting (model files, conditioning use them),
check_params checks constructor arguments as fit does, icl is the model
selection's ICL, GaussianMixtureRegressor.y_ndim_ is stored in model files.
"""

import re

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import gmmkit
from gmmkit import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureRegressor,
    GMMClassifier,
    select_model,
)

X, _, _ = make_mixture(400, 3, 2, seed=1)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_from_parameters_rebuilds_a_fit_bit_for_bit(covariance_type):
    fitted = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    rebuilt = GaussianMixture.from_parameters(
        fitted.weights_, fitted.means_, fitted.covariances_,
        precisions_cholesky=fitted.precisions_cholesky_,
        training={"converged_": fitted.converged_, "n_iter_": fitted.n_iter_},
        covariance_type=covariance_type, random_state=0,
    )
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
                 "converged_", "n_iter_", "n_features_in_", "n_components_"):
        np.testing.assert_array_equal(getattr(rebuilt, name), getattr(fitted, name), name)
    np.testing.assert_array_equal(rebuilt.score_samples(X), fitted.score_samples(X))
    np.testing.assert_array_equal(rebuilt.predict_proba(X), fitted.predict_proba(X))


def test_from_parameters_scores_as_scipy_and_derives_the_factors():
    weights = np.array([0.3, 0.7])
    means = np.array([[0.0, 0.0], [3.0, 1.0]])
    covariances = np.array([[[1.0, 0.3], [0.3, 2.0]], [[0.5, 0.0], [0.0, 0.5]]])
    model = GaussianMixture.from_parameters(
        weights, means, covariances, feature_names=["a", "b"], reg_covar=0.0
    )
    rows = np.array([[0.5, -1.0], [2.0, 2.0], [10.0, -4.0]])
    expected = logsumexp([np.log(w) + multivariate_normal(m, c).logpdf(rows)
                          for w, m, c in zip(weights, means, covariances)], axis=0)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_allclose(model.score_samples(rows), expected, rtol=1e-12)
    np.testing.assert_allclose(model.precisions_, np.linalg.inv(covariances), rtol=1e-12)
    assert list(model.feature_names_in_) == ["a", "b"] and model.n_components_ == 2
    assert model.means_.dtype == np.float64
    small = GaussianMixture.from_parameters(weights, means.astype(np.float32), covariances)
    assert small.means_.dtype == small.precisions_.dtype == np.float32  # the means' dtype


def test_from_parameters_takes_a_noise_component():
    bounds = np.array([[-5.0, 5.0], [-2.0, 8.0]])
    model = GaussianMixture.from_parameters(
        [0.5, 0.4], [[0.0, 0.0], [3.0, 3.0]], [1.0, 2.0], covariance_type="spherical",
        noise_bounds=bounds, noise_weight=0.1,
    )
    assert model.noise == "uniform" and model.noise_weight_ == 0.1
    np.testing.assert_array_equal(model.noise_bounds_, bounds)
    assert model.predict(np.array([[4.9, -1.9]]))[0] == -1  # far from both: the noise
    assert model.predict_proba(X[:3, :2]).shape == (3, 3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"weights": [1.0]},
         "weights has shape (1,); a 'full' mixture of 2 components and 2 features needs (2,)."),
        ({"covariances": np.ones((2, 2))},
         "covariances has shape (2, 2); a 'full' mixture of 2 components and 2 features "
         "needs (2, 2, 2)."),
        ({"means": [1.0, 2.0]},
         "means has shape (2,); pass an array of shape (n_components, n_features)."),
        ({"noise_weight": 0.1},
         "a noise component (noise='uniform') needs both noise_bounds and noise_weight; "
         "pass both with noise='uniform', or neither."),
        ({"noise": "uniform"},
         "a noise component (noise='uniform') needs both noise_bounds and noise_weight; "
         "pass both with noise='uniform', or neither."),
        ({"noise_bounds": np.ones((3, 2)), "noise_weight": 0.1},
         "the noise bounds have shape (3, 2); pass (2, 2): each feature's (min, max)."),
        ({"training": {"converged_": True, "weights_": 1}},
         "training has ['weights_']; it takes ['converged_', 'n_iter_', 'lower_bound_', "
         "'lower_bounds_', 'n_steps_', 'selection_']."),
    ],
)  # fmt: skip
def test_from_parameters_refuses_what_does_not_fit_together(arguments, message):
    given = {"weights": [0.5, 0.5], "means": np.zeros((2, 2)),
             "covariances": np.stack([np.eye(2)] * 2), **arguments}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        GaussianMixture.from_parameters(
            given.pop("weights"), given.pop("means"), given.pop("covariances"), **given
        )


def test_from_posterior_rebuilds_a_bayesian_fit():
    fitted = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=1000).fit(X)
    posterior = {name: getattr(fitted, name) for name in (
        "weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_",
        "covariances_", "precisions_cholesky_")}
    priors = {name: getattr(fitted, name) for name in (
        "weight_concentration_prior_", "mean_precision_prior_", "mean_prior_",
        "degrees_of_freedom_prior_", "covariance_prior_")}
    rebuilt = BayesianGaussianMixture.from_posterior(
        posterior, priors, training={"converged_": fitted.converged_}, n_components=3,
        random_state=0,
    )
    np.testing.assert_array_equal(rebuilt.weights_, fitted.weights_)
    np.testing.assert_array_equal(rebuilt.precisions_, fitted.precisions_)
    np.testing.assert_array_equal(rebuilt.predict_proba(X), fitted.predict_proba(X))
    assert rebuilt.converged_ == fitted.converged_ and rebuilt.n_features_in_ == 3
    with pytest.raises(ValueError, match=re.escape(
        "posterior lacks ['means_']; it takes ['weight_concentration_', 'mean_precision_', "
        "'means_', 'degrees_of_freedom_', 'covariances_', 'precisions_cholesky_']."
    )):
        BayesianGaussianMixture.from_posterior(
            {k: v for k, v in posterior.items() if k != "means_"}, priors
        )
    with pytest.raises(ValueError, match=r"^priors has \['mean_prior'\]; it takes"):
        BayesianGaussianMixture.from_posterior(posterior, {**priors, "mean_prior": 0})


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (GaussianMixture(n_init=0), "n_init must be an integer >= 1; got 0."),
        (GaussianMixture(init_params="nope"),
         "init_params='nope' is not supported; use one of ['kmeans', 'k-means++', "
         "'random', 'random_from_data', 'hc']"),
        (BayesianGaussianMixture(n_components="auto"),
         "n_components must be an integer >= 1; got 'auto'."),
        (GMMClassifier(reg_covar=-1.0), "reg_covar must be a number >= 0.0; got -1.0."),
        (GMMClassifier(max_components=0), "max_components must be an integer >= 1; got 0."),
    ],
)  # fmt: skip
def test_check_params_refuses_what_fit_refuses(model, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        model.check_params()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        model.fit(X, np.arange(len(X)) % 2) if isinstance(model, GMMClassifier) else (
            model.fit(X))


def test_icl_is_bic_plus_twice_the_entropy_and_select_models_column():
    model = GaussianMixture(2, random_state=0).fit(X)
    resp = model.predict_proba(X)
    entropy = -np.sum(resp * np.log(np.maximum(resp, np.finfo(float).tiny)))
    assert model.icl(X) == pytest.approx(model.bic(X) + 2 * entropy, rel=1e-12)
    weights = np.linspace(0.5, 2.0, len(X))
    weighted = -np.sum(weights[:, None] * resp * np.log(np.maximum(resp, 1e-300)))
    assert model.icl(X, weights) == pytest.approx(model.bic(X, weights) + 2 * weighted,
                                                  rel=1e-12)
    best, table = select_model(X, n_components=[2], covariance_types="full", random_state=0,
                               as_frame=False)
    assert table[0]["icl"] == best.icl(X)


@pytest.mark.parametrize(("y_shape", "expected"), [((400,), 1), ((400, 1), 2), ((400, 2), 2)])
def test_the_regressor_records_y_ndim(tmp_path, y_shape, expected):
    y = np.resize(X[:, 0] * 2.0, y_shape)
    model = GaussianMixtureRegressor(2, random_state=0).fit(X, y)
    assert model.y_ndim_ == expected and model.predict(X).ndim == expected
    gmmkit.save(model, tmp_path / "r.gmm")
    loaded = gmmkit.load(tmp_path / "r.gmm")
    assert loaded.y_ndim_ == expected
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
