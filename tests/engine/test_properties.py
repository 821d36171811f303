"""Property tests: closed-form densities and invariances on random data."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp

from gmmkit import GaussianMixture
from gmmkit.engine.covariance import get_covariance_type

COVARIANCE = st.sampled_from(["full", "tied", "diag", "spherical"])


@st.composite
def datasets(draw):
    n_features = draw(st.integers(1, 4))
    n_samples = draw(st.integers(8, 80))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1e-2, 1.0, 1e3]))
    offset = draw(st.sampled_from([0.0, 1e5]))
    return rng.standard_normal((n_samples, n_features)) * scale + offset


@settings(max_examples=40, deadline=None)
@given(X=datasets(), covariance_type=COVARIANCE, n_components=st.integers(1, 3))
def test_score_samples_is_the_closed_form_mixture_density(X, covariance_type, n_components):
    # reg_covar in the data's units: a component collapsing onto one point of
    # data spread over 1e3 would otherwise be 1e9 of its own widths from the
    # centre, where the expanded quadratic forms (here as in scikit-learn)
    # keep only ~1e-4 absolute accuracy; docs/engine.md gives the bound.
    scale = float(X.std()) or 1.0
    model = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        random_state=0,
        max_iter=20,
        reg_covar=1e-6 * scale**2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    cov_type = get_covariance_type(covariance_type)
    per_component = np.column_stack(
        [
            np.log(model.weights_[k])
            + stats.multivariate_normal(
                model.means_[k], cov_type.component_covariance(model.covariances_, k, X.shape[1])
            )
            .logpdf(X)
            .reshape(len(X))
            for k in range(n_components)
        ]
    )
    expected = logsumexp(per_component, axis=1)
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-7, atol=1e-7)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proba, np.exp(per_component - expected[:, None]), atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(X=datasets(), covariance_type=COVARIANCE, chunk_size=st.integers(1, 50))
def test_chunk_size_never_changes_the_fit(X, covariance_type, chunk_size):
    # reg_covar in the data's units, as in the test above: a component that
    # collapses onto one point at the 1e-6 floor in data spread over 1e3
    # amplifies rounding (and so chunk-order effects) by its offset squared.
    kwargs = dict(
        n_components=2,
        covariance_type=covariance_type,
        random_state=1,
        max_iter=5,
        tol=0,
        reg_covar=1e-6 * (float(X.std()) or 1.0) ** 2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = GaussianMixture(**kwargs, chunk_size=len(X)).fit(X)
        chunked = GaussianMixture(**kwargs, chunk_size=chunk_size).fit(X)
    np.testing.assert_allclose(chunked.means_, whole.means_, rtol=1e-9, atol=1e-9 * np.abs(X).max())
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-9, atol=1e-9)
