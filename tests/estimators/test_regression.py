"""GaussianMixtureRegressor: accuracy, exact linear-Gaussian case, scikit-learn API, errors."""


import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, run_check_estimator

from gmmkit.estimators.regression import GaussianMixtureRegressor, r2_score
from gmmkit.exceptions import NotFittedError


def sine_data(seed=0, n_samples=1000):
    """y = sin(3x) + N(0, 0.1^2), x ~ U(-2, 2): 700 training and 300 test rows."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n_samples)
    y = np.sin(3.0 * x) + 0.1 * rng.normal(size=n_samples)
    return x[:700, None], y[:700], x[700:, None], y[700:]


def least_squares(X_train, y_train, X_test):
    """Ordinary least squares with an intercept (numpy lstsq): predictions on X_test."""
    design = np.column_stack([X_train, np.ones(len(X_train))])
    coef = np.linalg.lstsq(design, y_train, rcond=None)[0]
    return np.column_stack([X_test, np.ones(len(X_test))]) @ coef


def test_beats_linear_regression_by_a_wide_margin_on_a_sine():
    # measured over seeds 0-4: mixture R^2 0.968-0.980, least squares 0.12-0.18
    X_train, y_train, X_test, y_test = sine_data()
    model = GaussianMixtureRegressor(8, random_state=0).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.95
    assert r2_score(y_test, least_squares(X_train, y_train, X_test)) < 0.3


def test_return_std_estimates_the_noise_level():
    X_train, y_train, X_test, y_test = sine_data(seed=1)
    model = GaussianMixtureRegressor(8, random_state=0).fit(X_train, y_train)
    mean, std = model.predict(X_test, return_std=True)
    assert mean.shape == std.shape == (300,)
    np.testing.assert_array_equal(mean, model.predict(X_test))
    assert 0.07 <= np.median(std) <= 0.2  # the noise is 0.1
    covered = np.mean(np.abs(y_test - mean) <= std)
    assert 0.6 <= covered <= 0.9  # about 68% for a Gaussian


def test_multi_output_predicts_every_target():
    X_train, _, X_test, _ = sine_data(seed=2)
    rng = np.random.default_rng(3)

    def targets(X):
        return np.column_stack([np.sin(3 * X[:, 0]), np.cos(3 * X[:, 0])]) + 0.1 * rng.normal(
            size=(len(X), 2)
        )

    Y_train, Y_test = targets(X_train), targets(X_test)
    model = GaussianMixtureRegressor(8, random_state=0).fit(X_train, Y_train)
    mean, std = model.predict(X_test, return_std=True)
    assert mean.shape == std.shape == (300, 2)
    assert model.n_targets_ == 2
    assert model.score(X_test, Y_test) > 0.95
    column = GaussianMixtureRegressor(8, random_state=0).fit(X_train, Y_train[:, :1])
    assert column.predict(X_test).shape == (300, 1)  # a 2-D y gives 2-D predictions


def linear_data(n_samples=400, seed=4):
    """y = 2 x0 - 3 x1 + 1 + N(0, 0.5^2) with correlated x."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]]) + [5.0, -2.0]
    y = X @ [2.0, -3.0] + 1.0 + 0.5 * rng.normal(size=n_samples)
    return X, y


def test_one_full_component_is_least_squares():
    X, y = linear_data()
    model = GaussianMixtureRegressor(1, reg_covar=0.0).fit(X, y)
    X_new = np.random.default_rng(5).normal(size=(50, 2)) * 3
    np.testing.assert_allclose(model.predict(X_new), least_squares(X, y, X_new), rtol=1e-9)
    # the conditional std is the (maximum-likelihood) residual standard deviation
    residual = y - least_squares(X, y, X)
    _, std = model.predict(X_new, return_std=True)
    np.testing.assert_allclose(std, np.sqrt(np.mean(residual**2)), rtol=1e-9)


def test_diag_without_correlation_predicts_a_constant():
    X, y = linear_data()
    model = GaussianMixtureRegressor(1, covariance_type="diag").fit(X, y)
    np.testing.assert_allclose(model.predict(X[:5]), np.full(5, y.mean()), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_covariance_type_fits_and_predicts(covariance_type):
    X_train, y_train, X_test, y_test = sine_data(seed=6)
    model = GaussianMixtureRegressor(6, covariance_type=covariance_type, random_state=0)
    mean, std = model.fit(X_train, y_train).predict(X_test, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    assert model.score(X_test, y_test) > 0.5  # even piecewise-constant fits follow the sine


def test_integer_sample_weights_equal_repeated_rows():
    X, y = linear_data(n_samples=60)
    weights = np.random.default_rng(7).integers(0, 4, size=60)
    weighted = GaussianMixtureRegressor(1).fit(X, y, sample_weight=weights)
    repeated = GaussianMixtureRegressor(1).fit(np.repeat(X, weights, 0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-8)


def test_r2_score_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(8)
    y, noise, w = rng.normal(size=(30, 3)), rng.normal(size=(30, 3)), rng.uniform(size=30)
    assert r2_score(y, y + noise) == pytest.approx(metrics.r2_score(y, y + noise))
    assert r2_score(y[:, 0], y[:, 0] + noise[:, 0], sample_weight=w) == pytest.approx(
        metrics.r2_score(y[:, 0], y[:, 0] + noise[:, 0], sample_weight=w)
    )
    constant = np.ones(5)
    assert r2_score(constant, constant) == 1.0
    assert r2_score(constant, constant + 1) == 0.0


def test_works_inside_scikit_learn():
    pytest.importorskip("sklearn")
    from sklearn.base import clone, is_regressor
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = GaussianMixtureRegressor(8, covariance_type="full", random_state=0)
    assert is_regressor(model)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "gmm_")
    assert model.set_params(n_components=6).n_components == 6
    X_train, y_train, _, _ = sine_data(seed=9)
    scores = cross_val_score(make_pipeline(StandardScaler(), model), X_train, y_train, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9  # the default scoring is R^2


@pytest.mark.slow
def test_passes_check_estimator():
    failed, n_passed = run_check_estimator(GaussianMixtureRegressor())
    assert failed == {}
    assert n_passed >= 50


def test_feature_names_are_remembered_and_checked():
    pd = pytest.importorskip("pandas")
    X, y = linear_data(n_samples=50)
    frame = pd.DataFrame(X, columns=["a", "b"])
    model = GaussianMixtureRegressor().fit(frame, pd.Series(y))
    assert list(model.feature_names_in_) == ["a", "b"]
    assert model.predict(frame).shape == (50,)
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame[["b", "a"]])


def test_unfitted_regressor_raises_not_fitted():
    with pytest.raises(NotFittedError, match="GaussianMixtureRegressor instance is not fitted"):
        GaussianMixtureRegressor().predict(np.zeros((2, 1)))


def test_bad_input_raises_clear_errors():
    X, y = linear_data(n_samples=40)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"X contains NaN or infinity in 1 row\(s\) \(first: row 3"
    ):
        GaussianMixtureRegressor().fit(bad, y)
    with pytest.raises(ValueError, match="requires y to be passed"):
        GaussianMixtureRegressor().fit(X, None)
    with pytest.raises(ValueError, match="X has 40 samples but y has 39"):
        GaussianMixtureRegressor().fit(X, y[:-1])
    with pytest.raises(ValueError, match="y contains NaN"):
        GaussianMixtureRegressor().fit(X, np.where(np.arange(40) == 5, np.nan, y))
    with pytest.raises(ValueError, match="y must be 1-D"):
        GaussianMixtureRegressor().fit(X, y.reshape(40, 1, 1))
    model = GaussianMixtureRegressor().fit(X, y)
    with pytest.raises(ValueError, match="NaN or infinity in 1 row"):
        model.predict(bad)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixtureRegressor is"):
        model.predict(np.zeros((2, 3)))
