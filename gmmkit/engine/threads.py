"""Worker threads for chunk work, with BLAS held to one thread each."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, TypeVar

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
    if not _has_threadpoolctl():
        return 1
    configured = os.environ.get("GMMKIT_NUM_THREADS", "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(
                f"GMMKIT_NUM_THREADS={configured!r} is not valid; set it to a whole "
                "number >= 1 or unset it."
            )
        return int(configured)
    return max(1, min(8, _cpu_count()))


@functools.cache
def _has_threadpoolctl() -> bool:
    """Whether threadpoolctl imports (looked up once per process)."""
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _cpu_count() -> int:
    """``os.cpu_count()``, read once per process."""
    return os.cpu_count() or 1


_CONTROLLER: dict[str, Any] = {}
_CONTROLLER_LOCK = threading.Lock()


def blas_controller() -> Any:
    """The process's threadpoolctl controller, created once; None without threadpoolctl.

    ``threadpoolctl.threadpool_limits`` finds the loaded BLAS and OpenMP
    libraries anew on every call, by reading the process's memory map,
    which cost 1.5-20 ms here: more than scoring a small batch. The engine
    (and anything that wants BLAS on one thread) reuses this one
    ``threadpoolctl.ThreadpoolController``, made on first use. Libraries
    loaded after that first use are not seen by it.

    Returns
    -------
    threadpoolctl.ThreadpoolController or None
    """
    if "controller" not in _CONTROLLER:
        with _CONTROLLER_LOCK:
            if "controller" not in _CONTROLLER:
                try:
                    from threadpoolctl import ThreadpoolController
                except ImportError:
                    _CONTROLLER["controller"] = None
                else:
                    _CONTROLLER["controller"] = ThreadpoolController()
    return _CONTROLLER["controller"]


def single_blas_thread(user_api: str | None = None) -> contextlib.AbstractContextManager[Any]:
    """A context holding BLAS (and OpenMP) libraries to one thread, with the cached controller.

    For loops of many small products or factorisations, which run faster
    on one thread than on a BLAS team woken for every call. Costs
    microseconds after the first use in a process (:func:`blas_controller`);
    does nothing without threadpoolctl.

    Parameters
    ----------
    user_api : {None, "blas", "openmp"}, default=None
        The libraries to limit; None limits both.

    Returns
    -------
    context manager
    """
    controller = blas_controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api=user_api)


#: task batches per worker thread and pass over the data
BATCHES_PER_THREAD = 16


class ChunkRunner:
    """Runs a function over row chunks on worker threads, in chunk order.

    Use as a context manager for the duration of a fit. The first
    :meth:`map` over more than one chunk starts the threads and holds BLAS
    to one thread each (threadpoolctl, through the process's cached
    :func:`blas_controller`), so that small tall-skinny products do not
    fight over cores; both last until the context exits. A call whose data
    fit in one chunk runs it on the calling thread and never pays for
    threads or BLAS limits.
    """

    def __init__(self, n_threads: int | None = None) -> None:
        self.n_threads = default_n_threads() if n_threads is None else n_threads
        self.workspace = Workspace()
        self._executor: ThreadPoolExecutor | None = None
        self._stack: ExitStack | None = None

    def __enter__(self) -> ChunkRunner:
        self._stack = ExitStack()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack = None
        self._executor = None

    def _start(self) -> ThreadPoolExecutor | None:
        """The worker threads (started on first need, with BLAS on one thread each)."""
        if self._executor is None and self.n_threads > 1 and self._stack is not None:
            self._stack.enter_context(single_blas_thread())
            self._executor = self._stack.enter_context(ThreadPoolExecutor(self.n_threads))
        return self._executor

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[function(item) for item in items]``, on the worker threads.

        Items go to the threads in contiguous batches, at most
        ``BATCHES_PER_THREAD`` per thread: one task per chunk would spend
        more time handing out tasks than on small chunks, and too few
        batches leave a thread idle at the end.  Results come back in item
        order.
        """
        if len(items) < 2 or self._start() is None:
            return [function(item) for item in items]
        assert self._executor is not None
        n_batches = min(len(items), BATCHES_PER_THREAD * self.n_threads)
        bounds = np.linspace(0, len(items), n_batches + 1).astype(int)
        batches = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        results = self._executor.map(lambda batch: [function(item) for item in batch], batches)
        return [result for batch in results for result in batch]
