"""Deprecated: gmmkit.covariance moved to gmmkit.engine.covariance.

Use the public API of gmmkit instead.
This module forwards every attribute to gmmkit.engine.covariance
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.covariance",
    "gmmkit.engine.covariance",
    "the public API of gmmkit",
)
