"""Deprecated: gmmkit.readers moved to gmmkit.inputs.readers.

Use gmmkit.read_data and gmmkit.inputs.readers instead.
This module forwards every attribute to gmmkit.inputs.readers
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.readers",
    "gmmkit.inputs.readers",
    "gmmkit.read_data and gmmkit.inputs.readers",
)
