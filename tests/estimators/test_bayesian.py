"""gmmkit.estimators.bayesian.BayesianGaussianMixture: variational inference on the chunked engine.

scikit-learn is only a test dependency: it serves as the reference here.
"""

import warnings

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture, run_check_estimator

from gmmkit.estimators.bayesian import BayesianGaussianMixture

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture  # noqa: E402

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
#: a small concentration switches surplus components off under a finite Dirichlet
SMALL_CONCENTRATION = {"dirichlet_process": None, "dirichlet_distribution": 1e-3}


@pytest.fixture(scope="module")
def three_clusters():
    X, labels, _ = make_mixture(n_samples=600, n_features=2, n_components=3, seed=3)
    return X, labels


def fit_quietly(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, **kwargs)


def assert_close(actual, expected, rtol):
    """max |actual - expected| <= rtol * max |expected| (relative to the array's scale)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    assert np.max(np.abs(actual - expected)) <= rtol * np.max(np.abs(expected))


# ------------------------------------------------------ the point of it all


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_surplus_components_get_weights_near_zero(three_clusters, prior_type, covariance_type):
    X, labels = three_clusters
    model = BayesianGaussianMixture(
        10,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        weight_concentration_prior=SMALL_CONCENTRATION[prior_type],
        max_iter=500,
        random_state=0,
    ).fit(X)
    assert model.converged_
    assert np.sum(model.weights_ >= 0.01) == 3
    assert model.weights_.sum() == pytest.approx(1.0)
    predicted = model.predict(X)
    # each true cluster lies (almost) entirely in one component, a different one each
    homes = [np.bincount(predicted[labels == k], minlength=10) for k in range(3)]
    assert all(home.max() >= 0.98 * home.sum() for home in homes)
    assert len({int(home.argmax()) for home in homes}) == 3


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_lower_bound_never_decreases(prior_type, covariance_type):
    X, _, _ = make_mixture(n_samples=400, n_features=3, n_components=3, seed=5)
    model = fit_quietly(
        BayesianGaussianMixture(
            8,
            covariance_type=covariance_type,
            weight_concentration_prior_type=prior_type,
            init_params="random",
            max_iter=200,
            tol=1e-8,
            random_state=1,
        ),
        X,
    )
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) == model.n_iter_ > 5
    assert np.all(np.diff(bounds) >= -1e-10 * abs(model.lower_bound_))
    assert model.lower_bound_ == bounds[-1]


# ----------------------------------------------------- parity with sklearn


class SklearnFromResp(SkBayesianGaussianMixture):
    """scikit-learn's estimator started from given responsibilities (n_samples, K)."""

    start_resp = None

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.start_resp)


def fit_both_from(resp, X, **params):
    reference = SklearnFromResp(**params)
    reference.start_resp = resp
    model = BayesianGaussianMixture(**params)
    model._initial_resp = resp
    return fit_quietly(model, X), fit_quietly(reference, X)


@pytest.fixture(scope="module")
def parity_data():
    X, _, _ = make_mixture(n_samples=500, n_features=3, n_components=3, seed=1, offset=10.0)
    resp = np.random.default_rng(0).dirichlet(np.ones(6), size=X.shape[0])
    return X, resp


FITTED = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
    "mean_precision_",
    "degrees_of_freedom_",
    "mean_prior_",
    "covariance_prior_",
)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_matches_sklearn_from_the_same_start(parity_data, prior_type, covariance_type):
    X, resp = parity_data
    model, reference = fit_both_from(
        resp,
        X,
        n_components=6,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        tol=1e-6,
        max_iter=300,
    )
    assert reference.converged_ and model.converged_
    assert model.n_iter_ == reference.n_iter_
    for name in FITTED:
        assert_close(getattr(model, name), getattr(reference, name), 1e-8)
    assert_close(model.weight_concentration_, reference.weight_concentration_, 1e-8)
    assert model.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-10)
    assert_close(model.lower_bounds_, np.ravel(reference.lower_bounds_), 1e-10)
    # predictions use the variational E-step, as scikit-learn's do
    assert_close(model.predict_proba(X), reference.predict_proba(X), 1e-8)
    assert_close(model.score_samples(X), reference.score_samples(X), 1e-10)
    assert model.score(X) == pytest.approx(reference.score(X), rel=1e-10)
    assert np.array_equal(model.predict(X), reference.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_sklearn_with_every_prior_given(parity_data, covariance_type):
    X, resp = parity_data
    n_features = X.shape[1]
    covariance_prior = {
        "full": np.diag([2.0, 1.0, 0.5]) + 0.1,
        "tied": np.diag([2.0, 1.0, 0.5]) + 0.1,
        "diag": np.array([2.0, 1.0, 0.5]),
        "spherical": 1.5,
    }[covariance_type]
    model, reference = fit_both_from(
        resp,
        X,
        n_components=6,
        covariance_type=covariance_type,
        weight_concentration_prior=0.3,
        mean_precision_prior=0.05,
        mean_prior=np.array([9.0, 11.0, 10.0]),
        degrees_of_freedom_prior=n_features + 1.5,
        covariance_prior=covariance_prior,
        tol=0.0,
        max_iter=25,
    )
    assert model.n_iter_ == reference.n_iter_ == 25
    assert not model.converged_
    for name in FITTED:
        assert_close(getattr(model, name), getattr(reference, name), 1e-8)
    assert model.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-10)


# -------------------------------------------------------------- the engine


def test_integer_sample_weights_equal_repeated_rows():
    X, _, _ = make_mixture(n_samples=300, n_features=3, seed=2)
    weights = np.random.default_rng(0).integers(0, 4, size=X.shape[0])
    for covariance_type in COVARIANCE_TYPES:
        params = dict(n_components=5, covariance_type=covariance_type, random_state=0)
        weighted = fit_quietly(BayesianGaussianMixture(**params), X, sample_weight=weights)
        repeated = fit_quietly(BayesianGaussianMixture(**params), np.repeat(X, weights, axis=0))
        assert weighted.n_iter_ == repeated.n_iter_
        assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=1e-10)
        for name in ("weights_", "means_", "covariances_", "covariance_prior_", "mean_prior_"):
            assert_close(getattr(weighted, name), getattr(repeated, name), 1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_agrees_with_float64(covariance_type):
    X, _, _ = make_mixture(n_samples=600, n_features=3, seed=3)
    params = dict(
        n_components=6, covariance_type=covariance_type, max_iter=20, tol=0.0, random_state=0
    )
    exact = fit_quietly(BayesianGaussianMixture(**params), X)
    single = fit_quietly(BayesianGaussianMixture(dtype="float32", chunk_size=128, **params), X)
    from_data = fit_quietly(BayesianGaussianMixture(**params), X.astype(np.float32))
    for model in (single, from_data):
        assert model.lower_bound_ == pytest.approx(exact.lower_bound_, rel=1e-5)
        assert model.means_.dtype == np.float64
        assert_close(model.means_, exact.means_, 1e-4)


def test_chunk_size_does_not_change_the_answer():
    X, _, _ = make_mixture(n_samples=500, seed=4)
    params = dict(n_components=5, random_state=0, max_iter=30, tol=0.0)
    whole = fit_quietly(BayesianGaussianMixture(**params), X)
    chunked = fit_quietly(BayesianGaussianMixture(chunk_size=37, **params), X)
    assert chunked.lower_bound_ == pytest.approx(whole.lower_bound_, rel=1e-12)
    assert_close(chunked.means_, whole.means_, 1e-10)
    assert np.array_equal(chunked.predict(X), whole.predict(X))


def test_data_far_from_the_origin_fits_as_well_as_centred_data():
    X, _, _ = make_mixture(n_samples=400, seed=6)
    params = dict(n_components=5, random_state=0, max_iter=40, tol=0.0)
    near = fit_quietly(BayesianGaussianMixture(**params), X)
    far = fit_quietly(BayesianGaussianMixture(**params), X + 1e6)
    assert far.lower_bound_ == pytest.approx(near.lower_bound_, rel=1e-8)
    assert_close(far.means_ - 1e6, near.means_, 1e-6)


# ------------------------------------------------------------------- the API


def test_methods_and_attributes(three_clusters):
    X, _ = three_clusters
    model = BayesianGaussianMixture(4, random_state=0)
    labels = model.fit_predict(X)
    assert np.array_equal(labels, model.predict(X))
    proba = model.predict_proba(X)
    assert proba.shape == (X.shape[0], 4)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert model.score_samples(X).shape == (X.shape[0],)
    assert model.score(X) == pytest.approx(model.score_samples(X).mean())
    samples, components = model.sample(50)
    assert samples.shape == (50, 2) and components.shape == (50,)
    a, b = model.weight_concentration_
    assert a.shape == b.shape == (4,)
    assert model.weight_concentration_prior_ == 0.25
    assert model.mean_precision_prior_ == 1.0
    assert model.degrees_of_freedom_prior_ == 2
    assert np.allclose(model.mean_prior_, X.mean(axis=0))
    assert np.allclose(model.covariance_prior_, np.cov(X.T))
    assert model.n_features_in_ == 2


def test_warm_start_continues_from_the_last_posterior(three_clusters):
    X, _ = three_clusters
    model = fit_quietly(BayesianGaussianMixture(5, max_iter=3, tol=0.0, random_state=0), X)
    first = model.lower_bound_
    model.set_params(warm_start=True, max_iter=200, tol=1e-6)
    model.fit(X)
    assert model.lower_bounds_[0] >= first - 1e-9 * abs(first)
    assert model.converged_


def test_best_of_several_initialisations_is_kept(three_clusters):
    X, _ = three_clusters
    params = dict(n_components=6, init_params="random", max_iter=200, random_state=0)
    # the first of three starts is the single start of the same seed
    single = fit_quietly(BayesianGaussianMixture(**params), X)
    several = fit_quietly(BayesianGaussianMixture(n_init=3, **params), X)
    assert several.lower_bound_ >= single.lower_bound_


def test_not_converging_warns_like_sklearn(three_clusters):
    from sklearn.exceptions import ConvergenceWarning

    X, _ = three_clusters
    with pytest.warns(ConvergenceWarning, match="^Best performing initialization did not converge"):
        BayesianGaussianMixture(5, max_iter=2, tol=0.0).fit(X)


def test_sklearn_tools_see_the_same_parameters():
    ours = set(BayesianGaussianMixture().get_params())
    theirs = set(SkBayesianGaussianMixture().get_params())
    assert ours == theirs | {"chunk_size", "dtype"}
    for name in theirs:
        assert (
            BayesianGaussianMixture().get_params()[name]
            == (SkBayesianGaussianMixture().get_params()[name])
        )
    model = BayesianGaussianMixture(4, covariance_type="diag", dtype="float32")
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model


def test_passes_check_estimator():
    failed, n_passed = run_check_estimator(BayesianGaussianMixture())
    assert failed == {}
    assert n_passed >= 40


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"weight_concentration_prior": -1.0},
            "The 'weight_concentration_prior' parameter of BayesianGaussianMixture must be "
            "None or a float in the range (0.0, inf). Got -1.0 instead; pass a positive number",
        ),
        (
            {"mean_precision_prior": 0},
            "The 'mean_precision_prior' parameter of BayesianGaussianMixture must be None",
        ),
        (
            {"mean_prior": [0.0, 1.0, 2.0]},
            "The parameter 'mean_prior' should have the shape of (2,), but got (3,); pass one "
            "value per feature of X, or None for the data mean.",
        ),
        (
            {"degrees_of_freedom_prior": 0.5},
            "The parameter 'degrees_of_freedom_prior' should be greater than 1, but got "
            "0.500; pass a number > n_features - 1 = 1, or None for n_features = 2.",
        ),
        (
            {"covariance_prior": [[1.0, 2.0], [2.0, 1.0]]},
            "'full covariance_prior' should be symmetric, positive-definite; pass e.g. a scaled "
            "identity (np.eye(2)), or None for the data covariance.",
        ),
        (
            {"covariance_prior": np.eye(3)},
            "The parameter 'full covariance_prior' should have the shape of (2, 2), but got (3, 3)",
        ),
        (
            {"covariance_type": "diag", "covariance_prior": [1.0, -1.0]},
            "'diag covariance_prior' should be positive; pass positive variances",
        ),
        (
            {"covariance_type": "spherical", "covariance_prior": [1.0, 2.0]},
            "'spherical covariance_prior' should be a positive float, but got [1.0, 2.0]",
        ),
        (
            {"weight_concentration_prior_type": "dirichlet"},
            "weight_concentration_prior_type='dirichlet' is not supported; use "
            "'dirichlet_process' (stick-breaking) or 'dirichlet_distribution'.",
        ),
        ({"n_components": "auto"}, "n_components must be an integer >= 1; got 'auto'."),
        ({"covariance_type": "round"}, "covariance_type='round' is not supported"),
    ],
)
def test_bad_priors_are_named_with_the_fix(three_clusters, params, message):
    X, _ = three_clusters
    with pytest.raises(ValueError) as raised:
        BayesianGaussianMixture(**{"n_components": 3, **params}).fit(X)
    assert str(raised.value).startswith(message)


def test_unfitted_model_says_to_fit_first():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="Call 'fit'"):
        BayesianGaussianMixture().predict(np.zeros((2, 2)))


def test_nan_error_does_not_offer_missing_em():
    X = np.random.default_rng(0).normal(size=(50, 2))
    X[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN in 1 row \(first: row 3\); drop or "
                       r"impute those rows \(missing='em' is GaussianMixture's\)"):
        BayesianGaussianMixture(2).fit(X)
