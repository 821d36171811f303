"""gmmkit.GaussianMixture inside scikit-learn's machinery.

scikit-learn is only a test dependency of gmmkit.
"""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import make_mixture, run_check_estimator

from gmmkit import ConvergenceWarning, GaussianMixture, NotFittedError

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["error", "em"])
def test_passes_check_estimator(missing):
    """With missing="em" the estimator declares allow_nan, so NaN checks run too."""
    failed, n_passed = run_check_estimator(GaussianMixture(missing=missing))
    assert failed == {}
    assert n_passed >= 40


def test_clone_keeps_parameters_not_state():
    X, _, _ = make_mixture()
    model = GaussianMixture(3, covariance_type="diag", chunk_size=64, dtype="float32").fit(X)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "means_")


def test_pipeline_and_grid_search_pick_the_true_number_of_components():
    X, _, _ = make_mixture(n_samples=900, n_components=3, seed=1)
    pipeline = make_pipeline(StandardScaler(), GaussianMixture(random_state=0))
    search = GridSearchCV(pipeline, {"gaussianmixture__n_components": [1, 2, 3]}, cv=3)
    search.fit(X)
    assert search.best_params_["gaussianmixture__n_components"] == 3
    assert search.best_estimator_.predict(X).shape == (900,)


def test_sklearn_exception_types_are_honoured():
    from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
    from sklearn.exceptions import NotFittedError as SkNotFittedError

    with pytest.raises(SkNotFittedError):
        GaussianMixture().predict(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        GaussianMixture().predict(np.zeros((2, 2)))
    X, _, _ = make_mixture()
    with pytest.warns(SkConvergenceWarning):
        GaussianMixture(3, max_iter=1, tol=0).fit(X)
    with pytest.warns(ConvergenceWarning):
        GaussianMixture(3, max_iter=1, tol=0).fit(X)


def test_repr_shows_changed_parameters():
    assert repr(GaussianMixture(4, covariance_type="diag")) == (
        "GaussianMixture(covariance_type='diag', n_components=4)"
    )


def test_set_params_rejects_unknown_names():
    with pytest.raises(ValueError, match="Invalid parameter 'n_component'"):
        GaussianMixture().set_params(n_component=3)


def test_fitted_model_survives_a_pickle_round_trip_for_sklearn_tools():
    # joblib / GridSearchCV move estimators between processes with pickle;
    # gmmkit itself never pickles (its model files are issue #3).
    X, _, _ = make_mixture()
    model = GaussianMixture(3, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.score_samples(X), model.score_samples(X))


def test_gmmkit_does_not_import_sklearn():
    code = (
        "import sys, gmmkit; gmmkit.GaussianMixture(2).fit([[0.0], [1.0], [5.0]]); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dataframe_feature_names_are_remembered_and_checked():
    pd = pytest.importorskip("pandas")
    X, _, _ = make_mixture()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = GaussianMixture(3, random_state=0).fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = model.predict(X)
    np.testing.assert_array_equal(model.predict(frame), from_array)
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame[["c", "b", "a"]])
    refit = model.fit(X)
    assert not hasattr(refit, "feature_names_in_")


@pytest.mark.parametrize("estimator", ["GaussianMixture", "BayesianGaussianMixture"])
def test_convergence_warning_starts_with_scikit_learns_sentence(estimator):
    import sklearn.mixture

    import gmmkit

    sentence = (
        "Best performing initialization did not converge. Try different init parameters, "
        "or increase max_iter, tol, or check for degenerate data."
    )
    X, _, _ = make_mixture()
    with pytest.warns(sklearn.exceptions.ConvergenceWarning) as theirs:
        getattr(sklearn.mixture, estimator)(n_components=3, max_iter=1, tol=0).fit(X)
    assert str(theirs[0].message) == sentence  # the installed scikit-learn's words
    model = getattr(gmmkit, estimator)(n_components=3, max_iter=1, tol=0, n_init=2)
    with pytest.warns(ConvergenceWarning) as caught:
        model.fit(X)
    (message,) = {str(w.message) for w in caught}
    assert message.startswith(sentence)
    assert "0 of 2" in message and "max_iter=1" in message  # gmmkit's details follow
    # a filter written for scikit-learn silences gmmkit's warning
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.filterwarnings(
            "ignore", message="Best performing initialization did not converge"
        )
        model.fit(X)
    assert not [w for w in seen if issubclass(w.category, ConvergenceWarning)]
