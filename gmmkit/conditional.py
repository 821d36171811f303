"""Deprecated: gmmkit.conditional moved to gmmkit.estimators.conditional.

Use GaussianMixture.condition / GaussianMixture.marginal instead.
This module forwards every attribute to gmmkit.estimators.conditional
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.conditional",
    "gmmkit.estimators.conditional",
    "GaussianMixture.condition / GaussianMixture.marginal",
)
