"""mclust's 14 covariance models: M-steps, constraints, parameter counts, monotone EM.

Every M-step must minimise f = sum_k [n_k log|Sigma_k| + tr(W_k Sigma_k^-1)]
(minus twice the expected complete-data log-likelihood) over the model's
covariances; a general-purpose optimiser over an independent
parametrisation (volume, shape, orientation) must not find anything lower.
"""

import warnings

import numpy as np
import pytest
from helpers import make_mixture
from scipy import optimize

from gmmkit import ConvergenceWarning, GaussianMixture
from gmmkit.engine.covariance import COVARIANCE_TYPES, get_covariance_type
from gmmkit.engine.criteria import n_parameters
from gmmkit.engine.linalg import triu_pairs
from gmmkit.engine.mclust_models import (
    MODEL_NAMES,
    check_model_dimensions,
    complete_objective,
    full_scatter,
)
from gmmkit.engine.mclust_models.constraints import structure_problem

NEW_MODELS = ("EII", "EEI", "VEI", "EVI", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV")


def _moments(n_components=3, n_features=3, seed=0):
    """nk, sx, packed sxx and scatter of soft responsibilities on clusters of distinct shapes.

    Distinct volumes, shapes and orientations make the iterative M-steps
    work: one block update of them stays 1e-6 to 2e-2 (relative) above the
    minimum here.
    """
    rng = np.random.default_rng(seed)
    blocks = [
        rng.normal(size=(15, n_features)) @ (rng.normal(size=(n_features, n_features))
                                             * rng.uniform(0.2, 3.0, size=n_features))
        + 3.0 * rng.normal(size=n_features)
        for _ in range(n_components)
    ]
    X = np.vstack(blocks)
    resp = np.full((len(X), n_components), 0.05)
    resp[np.arange(len(X)), np.repeat(np.arange(n_components), 15)] = 1.0
    resp /= resp.sum(axis=1, keepdims=True)
    nk = resp.sum(axis=0)
    sx = resp.T @ X
    rows, cols = triu_pairs(n_features)
    sxx = resp.T @ (X[:, rows] * X[:, cols])
    return nk, sx, sxx, full_scatter(nk, sx, sxx, 0.0)


def _m_step_dense(name, nk, sx, sxx):
    """The table's M-step for ``name`` (reg_covar 0) as dense (K, D, D) covariances."""
    cov_type = get_covariance_type(name)
    d = sx.shape[1]
    if cov_type.layout in ("diag", "spherical"):
        diag = sxx[:, [i * d - i * (i - 1) // 2 for i in range(d)]]  # x_i^2 rows of the triangle
        covariances = cov_type.covariances(nk, sx, diag, 0.0)
    elif cov_type.layout == "tied":  # tied sums one (D, D) second moment
        rows, cols = triu_pairs(d)
        dense = np.zeros((d, d))
        dense[rows, cols] = dense[cols, rows] = sxx.sum(axis=0)
        covariances = cov_type.covariances(nk, sx, dense, 0.0)
    else:
        covariances = cov_type.covariances(nk, sx, sxx, 0.0)
    return cov_type.dense(covariances, len(nk), d)


def _parametrise(name, n_components, n_features):
    """(number of free values, values -> (K, D, D) covariances) of model ``name``.

    Sigma_k = lambda_k D_k diag(A_k) D_k', log lambda free, log A with a zero
    sum, D the Cayley transform of a free skew-symmetric matrix: independent of the
    M-steps' own algebra.
    """
    volume, shape, orientation = name
    k, d = n_components, n_features
    n_vol = 1 if volume == "E" else k
    n_shape = 0 if shape == "I" else (d - 1) * (1 if shape == "E" else k)
    n_rot = 0 if orientation == "I" else d * (d - 1) // 2 * (1 if orientation == "E" else k)
    upper = np.triu_indices(d, 1)

    def build(theta):
        vol = np.broadcast_to(theta[:n_vol], (k,))
        logs = theta[n_vol : n_vol + n_shape].reshape(-1, d - 1) if n_shape else np.zeros((1, 0))
        logs = np.broadcast_to(np.hstack([logs, -logs.sum(axis=1, keepdims=True)]), (k, d))
        if shape == "I":
            logs = np.zeros((k, d))
        rotations = [np.eye(d)]
        if n_rot:
            rotations = []
            for block in theta[n_vol + n_shape :].reshape(-1, len(upper[0])):
                skew = np.zeros((d, d))
                skew[upper] = block
                skew -= skew.T  # Cayley transform: an orthogonal matrix
                rotations.append(np.linalg.solve(np.eye(d) - skew, np.eye(d) + skew))
        rotations = np.broadcast_to(np.stack(rotations), (k, d, d))
        values = np.exp(vol[:, None] + logs)
        return np.einsum("kij,kj,klj->kil", rotations, values, rotations)

    return n_vol + n_shape + n_rot, build


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_m_step_minimises_the_complete_data_objective(name):
    nk, sx, sxx, scatter = _moments()
    ours = _m_step_dense(name, nk, sx, sxx)
    best = complete_objective(nk, scatter, ours)
    size, build = _parametrise(name, len(nk), sx.shape[1])
    rng = np.random.default_rng(1)
    found = []
    for start in (np.zeros(size), rng.normal(scale=0.5, size=size)):
        result = optimize.minimize(
            lambda t: complete_objective(nk, scatter, build(t)), start, method="BFGS",
            options={"gtol": 1e-9, "maxiter": 5000},
        )
        found.append(result.fun)
    assert best <= min(found) + 1e-9 * abs(best), (best, min(found))
    # and it is attained: the optimiser gets within a hair of it
    assert min(found) <= best + 1e-4 * abs(best)


def _shape_and_volume(cov):
    values = np.linalg.eigvalsh(cov)
    volume = np.exp(np.log(values).mean())
    return volume, values / volume


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_m_step_keeps_the_model_constraint(name):
    nk, sx, sxx, _ = _moments(n_components=3, n_features=4, seed=2)
    covs = _m_step_dense(name, nk, sx, sxx)
    volume, shape, orientation = name
    volumes, shapes = zip(*[_shape_and_volume(c) for c in covs])
    if volume == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=1e-8)
    else:
        assert np.ptp(volumes) > 1e-3 * np.mean(volumes)
    if shape == "I":
        np.testing.assert_allclose(np.array(shapes), 1.0, rtol=1e-8)
    elif shape == "E":
        np.testing.assert_allclose(np.array(shapes), np.broadcast_to(shapes[0], (3, 4)), rtol=1e-6)
    if orientation == "I":
        off = covs - np.einsum("kii->ki", covs)[:, :, None] * np.eye(4)
        np.testing.assert_allclose(off, 0.0, atol=1e-12)
    elif orientation == "E":
        # one orthogonal basis diagonalises every component
        _, vectors = np.linalg.eigh(covs[0])
        rotated = vectors.T @ covs @ vectors
        off = rotated - np.einsum("kii->ki", rotated)[:, :, None] * np.eye(4)
        np.testing.assert_allclose(off, 0.0, atol=1e-7 * np.abs(covs).max())


#: mclust 6.1 nVarParams(modelName, d, G), typed from its source (R/util.R)
MCLUST_NVARPARAMS = {
    "E": lambda d, G: 1,
    "V": lambda d, G: G,
    "EII": lambda d, G: 1,
    "VII": lambda d, G: G,
    "EEI": lambda d, G: d,
    "VEI": lambda d, G: G + (d - 1),
    "EVI": lambda d, G: 1 + G * (d - 1),
    "VVI": lambda d, G: G * d,
    "EEE": lambda d, G: d * (d + 1) / 2,
    "EVE": lambda d, G: 1 + G * (d - 1) + d * (d - 1) / 2,
    "VEE": lambda d, G: G + (d - 1) + d * (d - 1) / 2,
    "VVE": lambda d, G: G + G * (d - 1) + d * (d - 1) / 2,
    "EEV": lambda d, G: 1 + (d - 1) + G * d * (d - 1) / 2,
    "VEV": lambda d, G: G + (d - 1) + G * d * (d - 1) / 2,
    "EVV": lambda d, G: 1 - G + G * d * (d + 1) / 2,
    "VVV": lambda d, G: G * d * (d + 1) / 2,
}


@pytest.mark.parametrize("name", sorted(MCLUST_NVARPARAMS))
@pytest.mark.parametrize(("d", "G"), [(1, 1), (1, 4), (2, 3), (4, 1), (8, 9)])
def test_parameter_counts_are_mclusts(name, d, G):
    if (d == 1) != (name in ("E", "V")):
        return
    # nMclustParams = nVarParams + G d (means) + G - 1 (mixing proportions) [+ 1 noise]
    expected = MCLUST_NVARPARAMS[name](d, G) + G * d + G - 1
    assert n_parameters(name, G, d) == expected
    assert n_parameters(name, G, d, noise=True) == expected + 1


@pytest.mark.parametrize("name", NEW_MODELS)
def test_log_likelihood_never_decreases(name):
    X, _, _ = make_mixture(n_samples=600, n_features=3, n_components=3, seed=4)
    model = GaussianMixture(3, covariance_type=name, reg_covar=0.0, tol=0.0, max_iter=40,
                            init_params="random", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-11 * np.abs(bounds[1:])), np.diff(bounds).min()


@pytest.mark.parametrize(("alias", "model"),
                         [("full", "VVV"), ("tied", "EEE"), ("diag", "VVI"), ("spherical", "VII")])
def test_sklearn_names_are_the_same_models(alias, model):
    assert COVARIANCE_TYPES[model] is COVARIANCE_TYPES[alias]
    X, _, _ = make_mixture(n_samples=300, seed=5)
    a = GaussianMixture(3, covariance_type=alias, random_state=0).fit(X)
    b = GaussianMixture(3, covariance_type=model, random_state=0).fit(X)
    for attribute in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(a, attribute), getattr(b, attribute))
    assert a.bic(X) == b.bic(X)


def test_unknown_model_lists_the_14_and_the_aliases():
    with pytest.raises(ValueError) as error:
        GaussianMixture(2, covariance_type="VVX").fit(np.random.default_rng(0).normal(size=(20, 2)))
    assert str(error.value) == (
        "covariance_type='VVX' is not supported; use one of mclust's 14 models EII, VII, EEI, "
        "VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV, the univariate E and V, or "
        "scikit-learn's names full (= VVV), tied (= EEE), diag (= VVI), spherical (= VII)"
    )


def test_univariate_data_take_e_and_v_only():
    x = np.random.default_rng(0).normal(size=(50, 1))
    with pytest.raises(ValueError, match=r"covariance_type='VEV' is a model for multivariate data, "
                       r"but X has one feature; use 'E' \(equal variance\) or 'V'"):
        GaussianMixture(2, covariance_type="VEV").fit(x)
    with pytest.raises(ValueError, match="'E' is mclust's univariate model, but X has 2 features"):
        GaussianMixture(2, covariance_type="E").fit(np.hstack([x, x**2]))
    check_model_dimensions("full", 1)  # scikit-learn's names fit anything


def test_univariate_e_has_one_variance_and_v_one_per_component():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 200), rng.normal(6, 3, 200)])[:, None]
    e = GaussianMixture(2, covariance_type="E", random_state=0).fit(x)
    v = GaussianMixture(2, covariance_type="V", random_state=0).fit(x)
    assert e.covariances_[0] == e.covariances_[1]
    np.testing.assert_allclose(sorted(v.covariances_), [1.0, 9.0], rtol=0.3)
    # E pools the within-component scatter: the variance is the responsibility-weighted mean
    resp = e.predict_proba(x)
    pooled = (resp * (x - e.means_[:, 0]) ** 2).sum() / len(x)
    np.testing.assert_allclose(e.covariances_[0], pooled + e.reg_covar, rtol=1e-2)


def _rotation(d, angle):
    rotation = np.eye(d)
    rotation[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    return rotation


#: what turning component 1 (a rotation) and scaling it by 1.3 breaks, per model
TURNED_BREAKS = {"EEE": "volume", "tied": "volume", "VEE": "shape and orientation",
                 "EVE": "volume", "VVE": "orientation", "EEV": "volume", "VEV": None,
                 "EVV": "volume", "VVV": None, "full": None}


@pytest.mark.parametrize("name", NEW_MODELS + ("EEE", "tied", "VVV", "full"))
def test_every_fitted_model_has_its_structure(name):
    """Issue 17: structure_problem accepts what each model's M-step builds."""
    X = make_mixture(n_samples=600, n_features=3, n_components=3, seed=1)[0]
    model = GaussianMixture(3, covariance_type=name, random_state=0).fit(X)
    assert get_covariance_type(name).structure_problem(model.covariances_, 3, 3) is None
    if name in TURNED_BREAKS:  # a dense layout can hold a turned component
        dense = get_covariance_type(name).dense(model.covariances_, 3, 3)
        dense[1] = _rotation(3, 0.4) @ dense[1] @ _rotation(3, 0.4).T * 1.3
        problem = structure_problem(name, dense, 1e-6)
        if TURNED_BREAKS[name] is None:
            assert problem is None
        else:
            assert f"needs the same {TURNED_BREAKS[name]} in every component, but component " \
                   "1's differs from component 0's" in problem


def test_structure_of_univariate_and_commuting_models():
    equal = np.array([[[2.0]], [[2.0]]])
    assert structure_problem("E", equal, 1e-6) is None
    assert "same volume" in structure_problem("E", equal * [[[1.0]], [[1.5]]], 1e-6)
    assert structure_problem("V", equal * [[[1.0]], [[1.5]]], 1e-6) is None
    # VVE: one orientation, any shapes and volumes; a turned component breaks it
    base = _rotation(3, 0.3)
    same_axes = np.stack([base @ np.diag(v) @ base.T for v in ([1, 2, 3], [5, 1, 0.5])])
    assert structure_problem("VVE", same_axes, 1e-6) is None
    turned = same_axes.copy()
    turned[1] = _rotation(3, 0.5) @ turned[1] @ _rotation(3, 0.5).T
    assert "same orientation" in structure_problem("VVE", turned, 1e-6)
    # EEV: equal volume and shape, any orientation
    spun = _rotation(3, 1.0) @ same_axes[0] @ _rotation(3, 1.0).T
    assert structure_problem("EEV", np.stack([same_axes[0], spun]), 1e-6) is None


def test_from_parameters_refuses_covariances_without_the_model_structure():
    covariances = np.stack([np.eye(2), np.diag([1.0, 4.0])])
    with pytest.raises(ValueError, match=r"^covariance_type EVE \(ellipsoidal, equal volume, "
                                         r"variable shape and equal orientation\) needs the "
                                         r"same volume in every component, but component 1's "
                                         r"differs from component 0's \(2 against 1\)"):
        GaussianMixture.from_parameters([0.5, 0.5], np.zeros((2, 2)), covariances,
                                        covariance_type="EVE")
    with pytest.raises(ValueError, match=r"needs the same shape and orientation in every "
                                         r"component.*; pass covariances of that structure, or "
                                         r"covariance_type='full'\.$"):
        GaussianMixture.from_parameters([0.5, 0.5], np.zeros((2, 2)), covariances,
                                        covariance_type="VEE")
    model = GaussianMixture.from_parameters([0.5, 0.5], np.zeros((2, 2)), covariances,
                                            covariance_type="VVE")  # same axes: allowed
    np.testing.assert_array_equal(model.covariances_, covariances)
