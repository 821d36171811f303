"""One "check X against the fitted model" (issue 16): check_fitted_input and its users.

Every estimator (GaussianMixture, BayesianGaussianMixture, GMMClassifier,
GaussianMixtureRegressor), ``partial_fit`` after a first batch and
``impute`` run the same check, so they refuse the same input with the same
words.
"""

import re
import warnings

import numpy as np
import pytest

import gmmkit
from gmmkit import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureRegressor,
    GMMClassifier,
    NotFittedError,
)
from gmmkit.estimators.base import check_fitted_input

pd = pytest.importorskip("pandas")

RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(60, 3))
Y = (X3[:, 0] > 0).astype(int)
NAMES = ["a", "b", "c"]


def fitted(kind, X=X3):
    """A fitted estimator of ``kind`` and the method that checks X (predict-like)."""
    if kind == "GaussianMixture":
        return GaussianMixture(2, random_state=0).fit(X), "score_samples"
    if kind == "BayesianGaussianMixture":
        return BayesianGaussianMixture(n_components=2, random_state=0).fit(X), "predict"
    if kind == "GMMClassifier":
        return GMMClassifier(random_state=0).fit(X, Y), "predict_proba"
    return GaussianMixtureRegressor(2, random_state=0).fit(X, X3[:, 0] + 1.0), "predict"


KINDS = ["GaussianMixture", "BayesianGaussianMixture", "GMMClassifier",
         "GaussianMixtureRegressor"]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_not_fitted_is_the_same_error_everywhere(kind):
    model = getattr(gmmkit, kind)()
    method = fitted(kind)[1]
    message = (
        f"This {kind} instance is not fitted yet. Call 'fit' with appropriate arguments "
        "before using this estimator."
    )
    for call in (lambda: getattr(model, method)(X3), model.check_is_fitted,
                 lambda: check_fitted_input(model, X3)):
        with pytest.raises(NotFittedError, match=f"^{re.escape(message)}$"):
            call()


@pytest.mark.parametrize("kind", KINDS)
def test_another_number_of_features_is_refused_with_the_fix(kind):
    model, method = fitted(kind)
    message = (
        f"X has 2 features, but {kind} is expecting 3 features as input. Pass data with "
        "the same columns as at fit time."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        getattr(model, method)(X3[:, :2])
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_fitted_input(model, X3[:, :2])


@pytest.mark.parametrize("kind", KINDS)
def test_other_column_names_are_refused_and_missing_names_warn(kind):
    model, method = fitted(kind, pd.DataFrame(X3, columns=NAMES))
    other = pd.DataFrame(X3, columns=["a", "c", "b"])
    with pytest.raises(ValueError, match=re.escape(
        "The feature names should match those that were passed during fit: fitted with "
        "['a', 'b', 'c'], got ['a', 'c', 'b']. Select and order the columns as at fit time."
    )):
        getattr(model, method)(other)
    with pytest.warns(UserWarning, match=(
        f"^X does not have valid feature names, but {kind} was fitted with feature names$"
    )):
        getattr(model, method)(X3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(model, method)(pd.DataFrame(X3, columns=NAMES))  # the same names: silent


def test_names_given_only_after_fit_warn():
    model = GaussianMixture(2, random_state=0).fit(X3)
    with pytest.warns(UserWarning, match=(
        "^X has feature names, but GaussianMixture was fitted without feature names$"
    )):
        model.predict(pd.DataFrame(X3, columns=NAMES))


def test_check_fitted_input_returns_the_converted_array():
    model = GaussianMixture(2, random_state=0).fit(X3)
    out = check_fitted_input(model, X3.tolist())
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, X3)
    seen = []
    check_fitted_input(model, X3, convert=lambda X: seen.append(X) or np.asarray(X))
    assert seen[0] is X3


def test_partial_fit_checks_batches_as_predict_does():
    frame = pd.DataFrame(X3, columns=NAMES)
    model = GaussianMixture(2, random_state=0).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same names: no "does not have valid names"
        model.partial_fit(frame)
    with pytest.raises(ValueError, match="^The feature names should match"):
        model.partial_fit(pd.DataFrame(X3, columns=["c", "b", "a"]))
    with pytest.raises(ValueError, match="^X has 2 features, but GaussianMixture is expecting 3"):
        with pytest.warns(UserWarning, match="^X does not have valid feature names"):
            model.partial_fit(X3[:, :2])


def test_impute_checks_x_against_the_model():
    model = GaussianMixture(2, random_state=0).fit(X3)
    with pytest.raises(ValueError, match="^X has 2 features, but GaussianMixture is expecting 3"):
        gmmkit.impute(model, X3[:, :2])
    with pytest.raises(NotFittedError, match="^This GaussianMixture instance is not fitted"):
        gmmkit.impute(GaussianMixture(2), X3)
