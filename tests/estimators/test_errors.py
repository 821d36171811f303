"""Bad input gets a clear error naming the problem and the fix."""

import numpy as np
import pytest
from helpers import make_mixture

from gmmkit import GaussianMixture, NotFittedError


@pytest.fixture
def X():
    return make_mixture(n_samples=60)[0]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.nan, r"X contains NaN in 2 rows \(first: row 3\); pass missing='em' to treat "
         "NaN as missing values, or drop those rows"),
        (np.inf, r"X contains infinity in 2 rows \(first: row 3\); infinity is not a missing "
         "value: drop or clip those rows"),
    ],
)
def test_non_finite_values(X, bad, message):
    X = X.copy()
    X[3, 1] = X[10, 0] = bad
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2).fit(X)
    model = GaussianMixture(2).fit(make_mixture(n_samples=60)[0])
    with pytest.raises(ValueError, match=message):
        model.predict(X)


def test_infinity_is_refused_even_with_missing_em(X):
    X = X.copy()
    X[5, 0] = np.inf
    X[6, 1] = np.nan
    message = r"X contains infinity in 1 row \(first: row 5\); infinity is not a missing value"
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, missing="em").fit(X)


def test_non_numeric_column():
    X = np.array([[1.0, "a"], [2.0, "b"], [3.0, "c"]], dtype=object)
    with pytest.raises(ValueError, match=r"non-numeric value 'a' in column 1.*encode"):
        GaussianMixture(1).fit(X)
    with pytest.raises(ValueError, match=r"non-numeric value 'red' in column 1; encode"):
        GaussianMixture(1).fit([[1, "red"], [2, "blue"]])


def test_non_numeric_dataframe_column():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["red", "green", "blue"]})
    with pytest.raises(ValueError, match=r"non-numeric columns \['colour'\]"):
        GaussianMixture(1).fit(frame)


def test_one_dimensional_X():
    with pytest.raises(ValueError, match=r"Expected a 2-D array.*reshape\(-1, 1\)"):
        GaussianMixture(1).fit(np.arange(10.0))


@pytest.mark.parametrize(
    ("empty", "message"),
    [(np.empty((0, 3)), "is empty"), ([], "is empty"), ([[]], r"0 feature\(s\)")],
)
def test_empty_X(empty, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(1).fit(empty)


def test_scalar_X():
    with pytest.raises(
        ValueError, match="must be a 2-D array of numbers.*got a single value 'abc'"
    ):
        GaussianMixture(1).fit("abc")


def test_one_bad_row_is_singular():
    X = np.ones((5, 2))
    X[4, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN in 1 row \(first: row 4\)"):
        GaussianMixture(1).fit(X)


def test_sparse_X():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"Sparse data.*toarray"):
        GaussianMixture(1).fit(sparse.csr_matrix(np.eye(3)))


def test_fewer_samples_than_components():
    with pytest.raises(ValueError, match="n_components = 5, n_samples = 3; use fewer components"):
        GaussianMixture(5).fit(np.eye(3))


def test_fewer_positively_weighted_samples_than_components(X):
    weights = np.zeros(len(X))
    weights[:2] = 1.0
    with pytest.raises(ValueError, match=r"n_samples = 2 \(with positive weight\)"):
        GaussianMixture(3).fit(X, sample_weight=weights)


@pytest.mark.parametrize("value", [0, -1, 2.5, "3"])
def test_bad_n_components(X, value):
    with pytest.raises(ValueError, match=r"n_components must be an integer >= 1"):
        GaussianMixture(value).fit(X)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("covariance_type", "banana", r"covariance_type='banana' is not supported; use one of"),
        ("init_params", "magic", r"init_params='magic' is not supported"),
        ("tol", -1.0, r"tol must be a number >= 0"),
        ("reg_covar", -1e-3, r"reg_covar must be a number >= 0"),
        ("max_iter", -1, r"max_iter must be an integer >= 0"),
        ("n_init", 0, r"n_init must be an integer >= 1"),
        ("chunk_size", 0, r"chunk_size must be an integer >= 1"),
        ("dtype", "int8", r"dtype='int8' is not supported"),
        ("random_state", "seed", r"random_state='seed' is not valid"),
        ("weights_init", [0.5, 0.6], r"weights_init should be normalized"),
        ("means_init", np.zeros((3, 2)), r"means_init must have shape \(2, 3\)"),
        ("precisions_init", -np.ones((2, 3)), r"precisions_init is not valid"),
    ],
)
def test_bad_parameters(X, name, value, message):
    params = {"covariance_type": "diag"} if name == "precisions_init" else {}
    params[name] = value
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, **params).fit(X)


def test_non_positive_definite_full_precisions(X):
    bad = np.stack([np.eye(3), -np.eye(3)])
    with pytest.raises(ValueError, match="precisions_init is not valid.*positive definite"):
        GaussianMixture(2, precisions_init=bad).fit(X)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (lambda n: -np.ones(n), r"sample_weight has 60 negative values; weights must be >= 0"),
        (lambda n: np.r_[-1.0, np.ones(n - 1)], r"sample_weight has 1 negative value; weights"),
        (lambda n: np.zeros(n), r"sample_weight sums to zero"),
        (lambda n: np.ones(n + 1), r"sample_weight has 61 entries but X has 60 samples"),
        (lambda n: np.ones((n, 2)), r"sample_weight must be 1-D"),
        (lambda n: np.full(n, np.nan), r"sample_weight contains NaN or inf"),
    ],
)
def test_bad_sample_weight(X, weights, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2).fit(X, sample_weight=weights(len(X)))


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "score_samples", "score", "bic", "aic"]
)
def test_use_before_fit(X, method):
    with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
        getattr(GaussianMixture(2), method)(X)


def test_sample_before_fit():
    with pytest.raises(NotFittedError):
        GaussianMixture(2).sample(5)


def test_bad_sample_size(X):
    model = GaussianMixture(2).fit(X)
    with pytest.raises(ValueError, match="requires at least one sample"):
        model.sample(0)


def test_different_number_of_features(X):
    model = GaussianMixture(2).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        model.predict(X[:, :2])
