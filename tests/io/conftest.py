"""Fitted models shared by the model-file tests (one fit per test module)."""

import pytest
from helpers import COVARIANCE_TYPES
from model_files import NOISY, X

from gmmkit import GaussianMixture


@pytest.fixture(scope="module")
def noise_model():
    return GaussianMixture(2, noise="uniform", random_state=0).fit(NOISY)


@pytest.fixture(scope="module")
def models():
    return {
        covariance_type: GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
        for covariance_type in COVARIANCE_TYPES
    }
