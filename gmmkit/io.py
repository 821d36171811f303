"""Deprecated: gmmkit.io moved to gmmkit.modelfiles.files.

Use gmmkit.save, gmmkit.load and gmmkit.read_metadata instead.
This module forwards every attribute to gmmkit.modelfiles.files
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.io",
    "gmmkit.modelfiles.files",
    "gmmkit.save, gmmkit.load and gmmkit.read_metadata",
)
