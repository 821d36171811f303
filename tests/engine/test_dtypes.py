"""Fitted attributes take X's dtype, as in scikit-learn 1.9 (issue 15, item 10).

GaussianMixture fitted on float32 X keeps weights_, means_, covariances_,
precisions_ and precisions_cholesky_ in float32; float64 and integer X give
float64. BayesianGaussianMixture keeps float64 (scikit-learn's does). The
lower bounds, scores and probabilities stay float64.
"""

import warnings

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture

from gmmkit import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureRegressor,
    GMMClassifier,
)

sklearn_mixture = pytest.importorskip("sklearn.mixture")

ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def dtypes(model):
    return {name: np.asarray(getattr(model, name)).dtype for name in ATTRIBUTES}


@pytest.fixture(scope="module")
def X():
    return make_mixture(n_samples=300, n_features=2, n_components=2)[0].astype(np.float32)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("kind", ["float32", "float64", "float16", "int64"])
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (GaussianMixture, sklearn_mixture.GaussianMixture),
        (BayesianGaussianMixture, sklearn_mixture.BayesianGaussianMixture),
    ],
    ids=["GaussianMixture", "BayesianGaussianMixture"],
)
def test_attribute_dtypes_match_scikit_learn(X, covariance_type, kind, ours, theirs):
    data = (X * 10 if kind == "int64" else X).astype(kind)
    settings = dict(n_components=2, covariance_type=covariance_type, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence of the variational fits
        model = ours(**settings).fit(data)
        reference = theirs(**settings).fit(data)
    assert dtypes(model) == dtypes(reference)
    assert type(model.lower_bound_) is float
    assert all(type(bound) is float for bound in model.lower_bounds_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_attributes_hold_the_fit_to_float32_accuracy(X, covariance_type):
    # a float32 E-step: X as float32, or float64 X with dtype="float32" (which keeps
    # X's float64 attributes: dtype only sets the E-step's precision there)
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    wide = GaussianMixture(
        2, covariance_type=covariance_type, random_state=0, dtype="float32"
    ).fit(X.astype(np.float64))
    assert set(dtypes(model).values()) == {np.dtype(np.float32)}
    assert set(dtypes(wide).values()) == {np.dtype(np.float64)}
    for name in ATTRIBUTES:
        np.testing.assert_allclose(
            getattr(model, name), getattr(wide, name), rtol=1e-5, atol=1e-6, err_msg=name
        )
    # and they agree with the float64 fit of the same data to float32 accuracy
    exact = GaussianMixture(
        2, covariance_type=covariance_type, random_state=0, dtype="float64"
    ).fit(X)
    assert set(dtypes(exact).values()) == {np.dtype(np.float64)}
    for name in ATTRIBUTES:
        np.testing.assert_allclose(
            getattr(model, name), getattr(exact, name), rtol=2e-4, atol=1e-5, err_msg=name
        )
    # precisions_ and covariances_ are derived in float64, then rounded: inverses
    # of each other to float32 accuracy
    if covariance_type == "full":
        product = model.covariances_.astype(np.float64) @ model.precisions_.astype(np.float64)
        np.testing.assert_allclose(product, np.broadcast_to(np.eye(2), product.shape), atol=1e-5)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_float32_model_scores_any_X_with_its_own_attributes(X, covariance_type):
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    widened = GaussianMixture(2, covariance_type=covariance_type).fit(X.astype(np.float64))
    for name in ATTRIBUTES:
        setattr(widened, name, getattr(model, name).astype(np.float64))
    X64 = X.astype(np.float64) + np.float64(1e-3)  # values float32 cannot hold
    for method in ("score_samples", "predict_proba"):
        ours = getattr(model, method)(X64)
        assert ours.dtype == np.float64
        np.testing.assert_array_equal(ours, getattr(widened, method)(X64))
        assert getattr(model, method)(X).dtype == np.float64
    np.testing.assert_array_equal(model.predict(X64), widened.predict(X64))
    assert type(model.score(X64)) is float and type(model.score(X)) is float
    assert isinstance(model.bic(X), float) and isinstance(model.aic(X64), float)
    assert model.sample(5)[0].dtype == np.float64


def test_explicit_dtype_never_rounds_below_what_was_asked(X):
    # dtype="float64" on float32 X: float64 attributes (asking for float64 never
    # rounds the result to float32); dtype="float32" on float64 X is a speed setting
    # of the E-step, the attributes keep X's float64; on float32 X, float32
    cases = [("float64", X, np.float64), ("float32", X.astype(float), np.float64),
             ("float32", X, np.float32), (None, X.astype(np.float16), np.float64)]
    for dtype, data, expected in cases:
        model = GaussianMixture(2, dtype=dtype, random_state=0).fit(data)
        assert set(dtypes(model).values()) == {np.dtype(expected)}, (dtype, data.dtype)
    # BayesianGaussianMixture keeps float64 whatever dtype says (as scikit-learn's)
    bayes = BayesianGaussianMixture(n_components=2, dtype="float32", max_iter=500).fit(X)
    assert set(dtypes(bayes).values()) == {np.dtype(np.float64)}


def test_warm_start_and_partial_fit_keep_float32(X):
    model = GaussianMixture(2, random_state=0, max_iter=2, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=2 does not converge
        model.fit(X)
        first = model.lower_bound_
        model.fit(X)  # continues from the float32 attributes
    assert set(dtypes(model).values()) == {np.dtype(np.float32)}
    assert type(model.lower_bound_) is float and model.lower_bound_ >= first - 1e-6

    online = GaussianMixture(2, random_state=0)
    for start in range(0, 300, 100):
        online.partial_fit(X[start : start + 100])
        assert set(dtypes(online).values()) == {np.dtype(np.float32)}
        assert type(online.lower_bound_) is float
    # a float64 batch: the attributes follow that batch's dtype
    online.partial_fit(X[:100].astype(np.float64))
    assert set(dtypes(online).values()) == {np.dtype(np.float64)}


@pytest.mark.filterwarnings("ignore::gmmkit.exceptions.PrecisionWarning")  # K up to 10
def test_auto_n_components_keeps_float32(X):
    model = GaussianMixture("auto", random_state=0).fit(X)
    assert set(dtypes(model).values()) == {np.dtype(np.float32)}


def assert_same_float32_fit(model, in_memory):
    assert dtypes(model) == dtypes(in_memory)
    assert set(dtypes(model).values()) == {np.dtype(np.float32)}
    for name in ATTRIBUTES:
        np.testing.assert_allclose(
            getattr(model, name), getattr(in_memory, name), rtol=1e-3, atol=1e-4
        )


def test_npy_file_and_chunk_function_fits_follow_the_data_dtype(X, tmp_path):
    path = tmp_path / "X32.npy"
    np.save(path, X)
    in_memory = GaussianMixture(2, random_state=0, chunk_size=128).fit(X)
    streamed = GaussianMixture(2, random_state=0, chunk_size=128).fit(str(path))
    chunks = GaussianMixture(2, random_state=0, chunk_size=128).fit(
        lambda: (X[start : start + 100] for start in range(0, len(X), 100))
    )
    missing = X.copy()
    missing[::7, 1] = np.nan
    holes = GaussianMixture(2, random_state=0, missing="em").fit(missing)
    assert set(dtypes(holes).values()) == {np.dtype(np.float32)}
    for model in (streamed, chunks):
        assert_same_float32_fit(model, in_memory)
    np.save(tmp_path / "X64.npy", X.astype(np.float64))
    wide = GaussianMixture(2, random_state=0).fit(str(tmp_path / "X64.npy"))
    assert set(dtypes(wide).values()) == {np.dtype(np.float64)}


def test_dask_fits_follow_the_data_dtype(X):
    dask = pytest.importorskip("dask", reason="the Dask extra: pip install 'gmmkit[distributed]'")
    da = pytest.importorskip("dask.array")
    in_memory = GaussianMixture(2, random_state=0, chunk_size=128).fit(X)
    with dask.config.set(scheduler="threads"):
        lazy = GaussianMixture(2, random_state=0, chunk_size=128).fit(
            da.from_array(X, chunks=100)
        )
    assert_same_float32_fit(lazy, in_memory)


def test_classifier_and_regressor_inner_models_follow_X(X):
    y = (X[:, 0] > X[:, 0].mean()).astype(int)
    classifier = GMMClassifier(n_components=1).fit(X, y)
    for model in classifier.estimators_:
        assert set(dtypes(model).values()) == {np.dtype(np.float32)}
    assert classifier.predict_proba(X.astype(np.float64)).dtype == np.float64

    target = (2.0 * X[:, 0] + X[:, 1]).astype(np.float64)
    regressor = GaussianMixtureRegressor(n_components=2, random_state=0).fit(X, target)
    assert set(dtypes(regressor.gmm_).values()) == {np.dtype(np.float32)}
    prediction = regressor.predict(X.astype(np.float64))
    assert prediction.dtype == np.float64
    assert regressor.score(X, target) > 0.99
    wide = GaussianMixtureRegressor(n_components=2, random_state=0).fit(X.astype(float), target)
    assert set(dtypes(wide.gmm_).values()) == {np.dtype(np.float64)}
