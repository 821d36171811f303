"""Deprecated: gmmkit.stream moved to gmmkit.data.stream.

Use gmmkit.data.stream instead.
This module forwards every attribute to gmmkit.data.stream
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.stream",
    "gmmkit.data.stream",
    "gmmkit.data.stream",
)
