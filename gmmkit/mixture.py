"""Deprecated: gmmkit.mixture moved to gmmkit.estimators.mixture.

Use from gmmkit import GaussianMixture instead.
This module forwards every attribute to gmmkit.estimators.mixture
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.mixture",
    "gmmkit.estimators.mixture",
    "from gmmkit import GaussianMixture",
)
