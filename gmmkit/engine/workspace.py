"""Reusable per-thread scratch arrays for chunk work.

Fresh multi-megabyte temporaries for every chunk cost page faults (the
allocator hands large blocks back to the kernel on free), which measured
here as 2-4x slower E-steps.  A Workspace keeps one buffer per name and
thread for the duration of a fit and hands out views of it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import DTypeLike


class Workspace:
    """Named scratch buffers, one set per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, name: str, shape: tuple[int, ...], dtype: DTypeLike) -> np.ndarray[Any, Any]:
        """An uninitialised array of ``shape`` and ``dtype``, reused across calls.

        The contents are only valid until the same thread asks for ``name`` again.
        """
        store: dict[Any, np.ndarray[Any, Any]] = self._local.__dict__
        dtype = np.dtype(dtype)
        size = int(np.prod(shape))
        buffer = store.get((name, dtype))
        if buffer is None or buffer.size < size:
            buffer = np.empty(size, dtype=dtype)
            store[(name, dtype)] = buffer
        return buffer[:size].reshape(shape)


def scratch(
    workspace: Workspace | None, name: str, shape: tuple[int, ...], dtype: DTypeLike
) -> np.ndarray[Any, Any]:
    """``workspace.get(...)``, or a fresh array when there is no workspace."""
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    return workspace.get(name, shape, dtype)
