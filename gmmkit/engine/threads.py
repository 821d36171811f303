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

from gmmkit.engine import helper_thread
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


@functools.lru_cache(maxsize=None)
def _libraries(user_api: str | None) -> tuple[Any, ...]:
    """The cached controller's libraries of ``user_api`` (None: all of them)."""
    controller = blas_controller()
    if controller is None:
        return ()
    return tuple(
        library
        for library in controller.lib_controllers
        if user_api is None or library.user_api == user_api
    )


class _OneThread(contextlib.AbstractContextManager[None]):
    """Sets libraries to one thread on entry and back to their own counts on exit.

    threadpoolctl's ``limit`` does the same with a report of every library
    (about 25 us here); this reads and sets only the thread counts (a few us).
    """

    def __init__(self, libraries: tuple[Any, ...]) -> None:
        self._libraries = libraries
        self._saved: list[tuple[Any, int]] = []

    def __enter__(self) -> None:
        for library in self._libraries:
            n_threads = library.get_num_threads()
            if n_threads is not None and n_threads != 1:
                library.set_num_threads(1)
                self._saved.append((library, n_threads))

    def __exit__(self, *exc: object) -> None:
        while self._saved:
            library, n_threads = self._saved.pop()
            library.set_num_threads(n_threads)


def single_blas_thread(user_api: str | None = None) -> contextlib.AbstractContextManager[None]:
    """A context holding BLAS (and OpenMP) libraries to one thread, with the cached controller.

    For loops of many small products or factorisations, which run faster
    on one thread than on a BLAS team woken for every call. Costs a few
    microseconds after the first use in a process (:func:`blas_controller`);
    does nothing without threadpoolctl. Like threadpoolctl's limits, it
    acts on the whole process.

    Parameters
    ----------
    user_api : {None, "blas", "openmp"}, default=None
        The libraries to limit; None limits both.

    Returns
    -------
    context manager

    Raises
    ------
    ValueError
        For another ``user_api``.
    """
    if user_api not in (None, "blas", "openmp"):
        raise ValueError(
            f"user_api={user_api!r} is not valid; use None (every library), 'blas' or 'openmp'."
        )
    return _OneThread(_libraries(user_api))


def has_second_thread(runner: ChunkRunner) -> bool:
    """Whether a call on ``runner`` may run work beside itself on a second thread.

    It may when the runner has several threads and some BLAS library is
    under control, so that holding BLAS to one thread keeps the two from
    fighting over the cores (every runner holds it; without a library under
    control there is nothing to hold).
    """
    return runner.n_threads > 1 and bool(_libraries("blas"))


#: task batches per worker thread and pass over the data
BATCHES_PER_THREAD = 16


class ChunkRunner:
    """Runs a function over row chunks on worker threads, in chunk order.

    Use as a context manager for the duration of a fit or a scoring call.
    The first :meth:`map` holds BLAS to one thread (:func:`single_blas_thread`,
    a few microseconds with the process's cached :func:`blas_controller`), so
    that small tall-skinny products do not fight over cores or wake a BLAS
    team, and so that every product sums in the same order whatever the
    number of threads (a BLAS team splits a sum by its size); with several
    threads, the first map over more than one chunk also starts the worker
    threads. Both last until the context exits. Data that fit in one chunk
    run on the calling thread: no pool is started.
    """

    def __init__(self, n_threads: int | None = None) -> None:
        self.n_threads = default_n_threads() if n_threads is None else n_threads
        self.workspace = Workspace()
        self._executor: ThreadPoolExecutor | None = None
        self._stack: ExitStack | None = None
        self._limited = False

    def __enter__(self) -> ChunkRunner:
        self._stack = ExitStack()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack = None
        self._executor = None
        self._limited = False

    def hold_blas(self) -> None:
        """Hold BLAS to one thread from now until the context exits, as the first map does.

        For a call's work before its first map (a scoring call's check of X),
        so that it does not take and give back the limit a second time (a
        few microseconds per library).
        """
        self._start(1)

    def _start(self, n_items: int) -> ThreadPoolExecutor | None:
        """BLAS on one thread, and the worker threads for more than one item (on first need)."""
        if self._stack is not None:
            if not self._limited:
                self._stack.enter_context(single_blas_thread())
                self._limited = True
            if self.n_threads > 1 and self._executor is None and n_items > 1:
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
        if self._start(len(items)) is None or len(items) < 2:
            return [function(item) for item in items]
        assert self._executor is not None
        n_batches = min(len(items), BATCHES_PER_THREAD * self.n_threads)
        bounds = np.linspace(0, len(items), n_batches + 1).astype(int)
        batches = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        results = self._executor.map(lambda batch: [function(item) for item in batch], batches)
        return [result for batch in results for result in batch]

    def map_beside(self, function: Callable[[T], R], first: T, second: T) -> list[R]:
        """``[function(first), function(second)]``, the second on the process's helper thread.

        For one call's work cut in two (:func:`gmmkit.engine.scoring.score_rows`):
        BLAS is held to one thread as for :meth:`map`, ``function(first)``
        runs on the calling thread while ``function(second)`` runs on the
        helper (:func:`gmmkit.engine.helper_thread.beside`), or after it
        when the helper is busy.
        """
        self._start(1)
        return list(helper_thread.beside(lambda: function(first), lambda: function(second)))

