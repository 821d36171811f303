"""Worker threads for chunk work, with BLAS held to one thread each."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from gmmkit.engine.workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

T = TypeVar("T")
R = TypeVar("R")


def default_n_threads() -> int:
    """Worker threads for chunk work: the CPU count (capped at 8).

    Chunks run on several threads only when threadpoolctl is installed, so
    BLAS can be held to one thread per worker (otherwise the threads would
    oversubscribe the cores): without it this is always 1.
    ``GMMKIT_NUM_THREADS`` overrides the count.
    """
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return 1
    configured = os.environ.get("GMMKIT_NUM_THREADS", "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(
                f"GMMKIT_NUM_THREADS={configured!r} is not valid; set it to a whole "
                "number >= 1 or unset it."
            )
        return int(configured)
    return max(1, min(8, os.cpu_count() or 1))


#: task batches per worker thread and pass over the data
BATCHES_PER_THREAD = 16


class ChunkRunner:
    """Runs a function over row chunks on worker threads, in chunk order.

    Use as a context manager for the duration of a fit: it starts the
    threads and holds BLAS to one thread each (threadpoolctl), so that
    small tall-skinny products do not fight over cores.
    """

    def __init__(self, n_threads: int | None = None) -> None:
        self.n_threads = default_n_threads() if n_threads is None else n_threads
        self.workspace = Workspace()
        self._executor: ThreadPoolExecutor | None = None
        self._stack: ExitStack | None = None

    def __enter__(self) -> ChunkRunner:
        self._stack = stack = ExitStack()
        if self.n_threads > 1:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=1))
            self._executor = stack.enter_context(ThreadPoolExecutor(self.n_threads))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()
        self._executor = None

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[function(item) for item in items]``, on the worker threads.

        Items go to the threads in contiguous batches, at most
        ``BATCHES_PER_THREAD`` per thread: one task per chunk would spend
        more time handing out tasks than on small chunks, and too few
        batches leave a thread idle at the end.  Results come back in item
        order.
        """
        if self._executor is None or len(items) < 2:
            return [function(item) for item in items]
        n_batches = min(len(items), BATCHES_PER_THREAD * self.n_threads)
        bounds = np.linspace(0, len(items), n_batches + 1).astype(int)
        batches = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        results = self._executor.map(lambda batch: [function(item) for item in batch], batches)
        return [result for batch in results for result in batch]
