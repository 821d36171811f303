"""Deprecated: gmmkit.regression moved to gmmkit.estimators.regression.

Use from gmmkit import GaussianMixtureRegressor instead.
This module forwards every attribute to gmmkit.estimators.regression
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.regression",
    "gmmkit.estimators.regression",
    "from gmmkit import GaussianMixtureRegressor",
)
