"""GaussianMixtureRegressor keeps its conditioner (marginal of X, precision factors,
regression coefficients) per fitted model: built once, dropped on refit, bit-identical."""

import gc
import pickle
import zipfile

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES

from gmmkit import load, save
from gmmkit.estimators import conditioner, regression
from gmmkit.estimators.conditional import conditional_moments
from gmmkit.estimators.regression import GaussianMixtureRegressor

RNG = np.random.default_rng(3)
X = RNG.normal(size=(400, 3))
Y = np.column_stack([np.sin(X[:, 0]) + X[:, 1], X[:, 2] ** 2]) + 0.1 * RNG.normal(size=(400, 2))
#: test rows, two of them far out (scored by the direct form at any distance)
ROWS = np.vstack([RNG.normal(size=(60, 3)), [[1e6, -1e6, 3.0], [1e200, 0.0, -1e200]]])


def fitted(y=Y[:, 0], X=X, **kwargs):
    return GaussianMixtureRegressor(4, random_state=0, max_iter=30, **kwargs).fit(X, y)


def counting_conditioners(monkeypatch):
    """A list that grows by one per MixtureConditioner built."""
    built = []
    original = conditioner.MixtureConditioner.__init__

    def init(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(conditioner.MixtureConditioner, "__init__", init)
    return built


def from_scratch(model, rows):
    """E[y | x] by a conditioner built for this call, scoring as predict does (direct=False)."""
    d = model.n_features_in_
    fresh = conditioner.MixtureConditioner(
        model.gmm_, np.arange(d), np.arange(d, d + model.n_targets_), direct=False
    )
    weights, means, _ = fresh.moments(rows)
    return np.einsum("nk,nkt->nt", weights, means)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predict_agrees_with_the_direct_form_of_conditional_moments(covariance_type):
    # predict scores as predict_proba does (BLAS); the public conditional_moments uses
    # the direct form for every row: the two agree to a few ulps, far rows included
    model = fitted(Y, covariance_type=covariance_type)
    d = model.n_features_in_
    weights, means, _ = conditional_moments(
        model.gmm_, ROWS, np.arange(d), np.arange(d, d + model.n_targets_)
    )
    direct = np.einsum("nk,nkt->nt", weights, means)
    np.testing.assert_allclose(model.predict(ROWS), direct, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_repeated_predicts_equal_a_fresh_models_bit_for_bit(covariance_type):
    model = fitted(Y, covariance_type=covariance_type)
    for size in (1, 7, len(ROWS)):  # the cache built by the first call serves the others
        model.predict(ROWS[:size])
    fresh = fitted(Y, covariance_type=covariance_type)
    mean, std = model.predict(ROWS, return_std=True)
    fresh_mean, fresh_std = fresh.predict(ROWS, return_std=True)
    np.testing.assert_array_equal(mean, fresh_mean)
    np.testing.assert_array_equal(std, fresh_std)
    np.testing.assert_array_equal(mean, from_scratch(model, ROWS))
    for i in (0, 30, len(ROWS) - 1):  # one row alone, through the cached conditioner
        row = ROWS[i : i + 1]
        np.testing.assert_array_equal(model.predict(row), from_scratch(model, row))


def test_the_conditioner_is_built_once_for_many_predicts(monkeypatch):
    model = fitted()
    built = counting_conditioners(monkeypatch)
    for size in range(1, 41):
        model.predict(ROWS[:size])
        model.score(ROWS[:size], np.zeros(size))
    assert len(built) == 1


def test_refit_drops_the_conditioner(monkeypatch):
    model = fitted()
    model.predict(ROWS)
    built = counting_conditioners(monkeypatch)
    other = np.cos(X[:, 1])
    model.fit(X, other)
    np.testing.assert_array_equal(model.predict(ROWS), fitted(other).predict(ROWS))
    assert len(built) == 2  # the refitted model's and the fresh one's


@pytest.mark.filterwarnings("ignore::gmmkit.ConvergenceWarning")  # max_iter=2
def test_warm_start_refit_of_the_same_joint_model_drops_the_conditioner():
    model = GaussianMixtureRegressor(4, random_state=0, max_iter=2, warm_start=True)
    model.fit(X, Y[:, 0])
    joint = model.gmm_
    before = model.predict(ROWS)
    model.fit(X, Y[:, 1])  # the same GaussianMixture object, refitted in place
    assert model.gmm_ is joint
    after = model.predict(ROWS)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, from_scratch(model, ROWS)[:, 0])


def test_a_replaced_or_refitted_joint_model_is_noticed():
    model = fitted()
    model.predict(ROWS)
    other = fitted(np.cos(X[:, 1]))
    model.gmm_ = other.gmm_  # replaced
    np.testing.assert_array_equal(model.predict(ROWS), other.predict(ROWS))
    model.gmm_.fit(np.column_stack([X, Y[:, 1]]))  # refitted behind the regressor's back
    np.testing.assert_array_equal(model.predict(ROWS), from_scratch(model, ROWS)[:, 0])
    model.gmm_.set_params(reg_covar=1e-2)  # floors the marginal's covariances in conditioning
    np.testing.assert_array_equal(model.predict(ROWS), from_scratch(model, ROWS)[:, 0])


def test_model_files_and_pickles_do_not_hold_the_conditioner(tmp_path):
    model = fitted(Y)
    save(model, tmp_path / "before.gmm")
    expected = model.predict(ROWS)
    save(model, tmp_path / "after.gmm")
    with zipfile.ZipFile(tmp_path / "before.gmm") as a, zipfile.ZipFile(
        tmp_path / "after.gmm"
    ) as b:
        assert a.namelist() == b.namelist()
        assert all(a.read(name) == b.read(name) for name in a.namelist())
    loaded = load(tmp_path / "after.gmm")
    assert loaded not in regression._CONDITIONERS
    np.testing.assert_array_equal(loaded.predict(ROWS), expected)
    before = pickle.dumps(fitted(Y))
    assert model in regression._CONDITIONERS and pickle.dumps(model) == before
    copy = pickle.loads(before)
    assert copy not in regression._CONDITIONERS
    np.testing.assert_array_equal(copy.predict(ROWS), expected)


def test_predict_leaves_the_estimators_dict_unchanged_and_frees_the_conditioner():
    model = fitted()
    state = dict(vars(model))
    model.predict(ROWS)
    assert vars(model) == state and model in regression._CONDITIONERS
    size = len(regression._CONDITIONERS)
    del model
    gc.collect()
    assert len(regression._CONDITIONERS) == size - 1


def test_conditional_moments_covariances_are_the_callers_to_keep():
    model = fitted(Y)
    model.predict(ROWS[:3])
    conditioner = model._conditioner()
    _, _, covariances = conditioner.moments(ROWS[:3])
    kept = conditioner.covariances.copy()
    covariances[...] = 0.0  # a caller writing to its result leaves the cached blocks alone
    np.testing.assert_array_equal(conditioner.covariances, kept)
