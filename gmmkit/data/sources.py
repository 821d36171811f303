"""Data that are not an in-memory array: files, chunk streams, Dask arrays.

``GaussianMixture.fit(X)`` asks :func:`open_source` first. For an ordinary
array (or anything array-like) it returns None and the in-memory engine
path runs. Otherwise it returns a source object whose
``prepare(settings, sample_weight)`` validates the data against the
estimator's :class:`gmmkit.data.settings.DataSettings` (never the estimator
itself) and returns ``(data, feature_names, noise_bounds)``: ``data`` follows the
engine's data protocol (see :class:`gmmkit.engine.chunked_data.ChunkedData`), so the same
EM loop fits it.

- a ``.npy`` path, or a numpy memmap of a file (2-D, C or Fortran order,
  not copy-on-write): :mod:`gmmkit.data.stream`, read chunk by chunk with
  explicit file reads and bounded memory (other memmaps are arrays);
- a callable that returns a fresh iterator of chunks (2-D arrays) each
  time it is called: :mod:`gmmkit.data.stream` (EM reads the data once per
  iteration, so a one-shot iterator such as a generator object is sent
  there too, to be refused with a message saying to pass a function);
- a Dask array: :mod:`gmmkit.data.dask_arrays`, each EM iteration one map over the
  blocks and one tree reduction of their statistics.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import TypeGuard

    import dask.array as da

    from gmmkit.data.dask_arrays import DaskSource
    from gmmkit.data.settings import DataSettings
    from gmmkit.data.stream import StreamSource


def _is_dask_array(X: object) -> TypeGuard[da.Array]:
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)


def is_stream(X: object) -> bool:
    """True for the inputs :mod:`gmmkit.data.stream` takes: a .npy path, a file memmap,
    a chunk function (or a one-shot iterator, which it refuses)."""
    if isinstance(X, (str, os.PathLike)):
        return os.fspath(X).endswith(".npy")
    if hasattr(X, "shape") or hasattr(X, "__array__"):
        return _is_file_memmap(X)
    return callable(X) or isinstance(X, Iterator)


def _is_file_memmap(X: object) -> bool:
    numpy = sys.modules.get("numpy")
    if numpy is None or not isinstance(X, numpy.memmap):
        return False
    from gmmkit.data.stream import memmap_file

    return memmap_file(X) is not None


class PreparedSource:
    """Data already opened by gmmkit that ``fit`` takes as X (model selection's shared passes).

    A subclass gives ``prepare(settings, sample_weight) -> (data, feature_names,
    noise_bounds)``, as the other sources do.
    """

    def prepare(self, settings: DataSettings, sample_weight: Any) -> tuple[Any, Any, Any]:
        """(engine data, feature names or None, noise box or None) for one fit."""
        raise NotImplementedError


def open_source(X: object) -> DaskSource | StreamSource | PreparedSource | None:
    """A source object for X, or None when X is an array held in memory."""
    if isinstance(X, PreparedSource):
        return X
    if _is_dask_array(X):
        from gmmkit.data.dask_arrays import DaskSource

        return DaskSource(X)
    if is_stream(X):
        from gmmkit.data.stream import open_stream

        return open_stream(X)
    return None
