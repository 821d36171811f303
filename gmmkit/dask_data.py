"""Deprecated: gmmkit.dask_data moved to gmmkit.data.dask_arrays.

Use gmmkit.data.dask_arrays instead.
This module forwards every attribute to gmmkit.data.dask_arrays
for one release (gmmkit._deprecated.moved_module).
"""

from gmmkit._deprecated import moved_module

__getattr__, __dir__ = moved_module(
    "gmmkit.dask_data",
    "gmmkit.data.dask_arrays",
    "gmmkit.data.dask_arrays",
)
