"""resolve_indices: integer arrays (the regressor's every call) take a vectorised path."""

import re

import numpy as np
import pytest
from helpers import make_mixture

from gmmkit import GaussianMixture
from gmmkit.estimators.conditioning import resolve_indices


@pytest.fixture(scope="module")
def model():
    X, _, _ = make_mixture(n_samples=200, n_features=4)
    return GaussianMixture(2, random_state=0).fit(X)


@pytest.mark.parametrize("indices", [[0, 2], [-1, 0], [3], [1, -2, 0]])
def test_integer_arrays_resolve_as_lists_do(model, indices):
    fast = resolve_indices(model, np.array(indices))
    np.testing.assert_array_equal(fast, resolve_indices(model, list(indices)))
    assert fast.dtype == np.intp


@pytest.mark.parametrize(("indices", "message"), [
    ([0, 4], "feature index 4 is out of range for a model with 4 features"),
    ([1, -3, 1], "name a feature more than once"),
    ([0, -4], "name a feature more than once"),
])
def test_bad_integer_arrays_keep_their_messages(model, indices, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve_indices(model, np.array(indices))
