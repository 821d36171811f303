"""Deprecated: gmmkit.bayesian moved to gmmkit.estimators.bayesian.

Use from gmmkit import BayesianGaussianMixture instead.
This module forwards every attribute to gmmkit.estimators.bayesian
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.bayesian",
    "gmmkit.estimators.bayesian",
    "from gmmkit import BayesianGaussianMixture",
)
