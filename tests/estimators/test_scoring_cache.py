"""The per-model scoring setup (gmmkit.estimators.chunked.ScoringSetup) never goes stale.

predict/score_samples/predict_proba keep the engine parameters, the
model's centre and the E-step plan of a fitted model between calls. After
a refit, ``set_params`` + refit, or an assignment of a fitted attribute,
the results must be those of a model that was never scored before
(a deep copy: not in the cache), bit for bit.
"""

import copy
import gc
import warnings
import weakref

import numpy as np
import pytest
from helpers import make_mixture

from gmmkit import BayesianGaussianMixture, ConvergenceWarning, GaussianMixture
from gmmkit.estimators import chunked

X, _, _ = make_mixture(400, 4, 3, seed=3)
X_OTHER, _, _ = make_mixture(400, 4, 3, seed=11, offset=5.0)


def fresh_results(model, rows):
    """Results of a copy of ``model`` that has no cached setup."""
    twin = copy.deepcopy(model)
    return twin.predict(rows), twin.score_samples(rows), twin.predict_proba(rows)


def assert_current(model, rows):
    ours = model.predict(rows), model.score_samples(rows), model.predict_proba(rows)
    for got, expected in zip(ours, fresh_results(model, rows)):
        np.testing.assert_array_equal(got, expected)


def fitted(estimator, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(data)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianMixture(3, covariance_type="diag", random_state=0),
        lambda: GaussianMixture(3, covariance_type="full", random_state=0),
        lambda: BayesianGaussianMixture(n_components=3, random_state=0, max_iter=20),
    ],
    ids=["diag", "full", "bayesian"],
)
def test_refit_and_set_params_are_seen(make):
    model = fitted(make(), X)
    before = model.score_samples(X)
    assert_current(model, X)
    fitted(model, X_OTHER)  # refit on other data
    assert not np.array_equal(model.score_samples(X), before)
    assert_current(model, X)
    model.set_params(n_components=2)  # set_params, then refit
    fitted(model, X)
    assert model.predict_proba(X).shape == (len(X), 2)
    assert_current(model, X)


def test_assigned_attributes_and_component_densities_are_seen():
    model = fitted(GaussianMixture(3, random_state=0), X)
    densities = model.component_log_densities(X)  # the unweighted setup
    model.score_samples(X)
    model.means_ = model.means_ + 1.0  # assignment, as copying parameters in does
    assert_current(model, X)
    np.testing.assert_array_equal(
        model.component_log_densities(X), copy.deepcopy(model).component_log_densities(X)
    )
    assert not np.array_equal(model.component_log_densities(X), densities)
    model.set_params(dtype="float32")  # another working dtype: another plan
    assert_current(model, X)


def test_setup_is_kept_between_calls(monkeypatch):
    model = fitted(GaussianMixture(3, random_state=0), X)
    calls = []
    original = type(model)._get_params_object
    monkeypatch.setattr(
        type(model), "_get_params_object", lambda self: calls.append(1) or original(self)
    )
    for _ in range(5):
        model.predict(X[:10])
    assert len(calls) == 1
    setup = chunked._SETUPS[model][False]
    assert len(setup._plans) == 1
    alive = weakref.ref(model)
    del model  # the cache does not keep the model alive
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("attribute", ["means_", "weights_", "precisions_cholesky_"])
def test_in_place_edits_of_fitted_arrays_are_seen(attribute):
    """Editing a fitted array in place keeps the object (and its id): the values tell."""
    model = fitted(GaussianMixture(3, covariance_type="diag", random_state=0), X)
    before = model.score_samples(X)
    array = getattr(model, attribute)
    array[0] = array[0] * 0.5 if attribute == "weights_" else array[0] + 1.0
    if attribute == "weights_":
        array /= array.sum()
    assert not np.array_equal(model.score_samples(X), before)
    assert_current(model, X)


def test_training_rows_attributes_are_not_compared_on_every_call():
    """select_model's ``uncertainty_`` holds one value per training row: scoring does not read
    it, so editing it keeps the setup (no copy of it per call), while editing means_ does not."""
    model = fitted(GaussianMixture(3, random_state=0), X)
    model.uncertainty_ = model.uncertainty(X)
    model.predict(X[:5])
    setup = chunked._SETUPS[model][False]
    model.uncertainty_[:] = 0.0
    model.predict(X[:5])
    assert chunked._SETUPS[model][False] is setup
    model.means_[0] += 1.0
    model.predict(X[:5])
    assert chunked._SETUPS[model][False] is not setup


def test_the_kept_plan_carries_the_precision_bound_of_the_current_factors():
    """The far-row check's bound is kept with the plan and follows an in-place edit."""
    from gmmkit.engine.covariance import get_covariance_type
    from gmmkit.engine.far_rows import FAR_WIDTHS

    model = fitted(GaussianMixture(3, covariance_type="diag", random_state=0), X)
    diag = get_covariance_type("diag")
    model.predict(X[:5])
    (plan,) = chunked._SETUPS[model][False]._plans.values()
    assert plan.precision_bound == diag.precision_bound(model.precisions_cholesky_)
    radius = FAR_WIDTHS[np.float64] / np.sqrt(diag.max_precision(model.precisions_cholesky_))
    row = X[:1] + 0.5 * radius  # near under the fitted factors
    model.precisions_cholesky_[:] *= 1e3  # 1e3 times tighter: that row is now far
    assert_current(model, row)
    (plan,) = chunked._SETUPS[model][False]._plans.values()
    assert plan.precision_bound == diag.precision_bound(model.precisions_cholesky_)
