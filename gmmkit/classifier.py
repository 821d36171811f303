"""Deprecated: gmmkit.classifier moved to gmmkit.estimators.classifier.

Use from gmmkit import GMMClassifier instead.
This module forwards every attribute to gmmkit.estimators.classifier
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.classifier",
    "gmmkit.estimators.classifier",
    "from gmmkit import GMMClassifier",
)
