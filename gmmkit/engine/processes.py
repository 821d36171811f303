"""Independent fits in parallel processes (``n_jobs``), one BLAS thread each.

Grids of fits (model selection, restarts) parallelise best across
processes: each fit is independent and the GIL is never in the way. Each
worker runs gmmkit's engine on one thread (``GMMKIT_NUM_THREADS=1``) and
BLAS on one thread (threadpoolctl, when installed), so that ``n_jobs``
workers on ``n_jobs`` cores do not oversubscribe them. Workers are
started with "spawn" (no fork of a process that runs threads); the data
are sent to each worker once, and results come back in task order, so a
parallel run returns what the serial run returns.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from multiprocessing.context import BaseContext

R = TypeVar("R")

_WORKER_STATE: dict[str, Any] = {}


def effective_n_jobs(n_jobs: int | None, n_tasks: int) -> int:
    """Worker processes to use: None and 1 mean serial, -1 every core, -2 all but one.

    Raises
    ------
    ValueError
        For 0 or a non-integer.
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(
            f"n_jobs={n_jobs!r} is not valid; use None or 1 (serial), a positive number "
            "of processes, or -1 for every core."
        )
    cores = os.cpu_count() or 1
    wanted = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)
    return max(1, min(wanted, n_tasks))


def run_tasks(
    function: Callable[..., R],
    tasks: Sequence[Any],
    shared: dict[str, Any],
    n_jobs: int | None = None,
) -> list[R]:
    """``[function(task, **shared) for task in tasks]``, in parallel processes.

    Parameters
    ----------
    function : callable
        A module-level function (it is imported by name in the workers).
    tasks : list
        One item per call.
    shared : dict
        Keyword arguments every call gets (the data); sent once per worker.
    n_jobs : int or None
        See :func:`effective_n_jobs`.

    Returns
    -------
    list
        The results in task order.
    """
    with TaskPool(function, shared, effective_n_jobs(n_jobs, len(tasks))) as pool:
        return pool.map(tasks)


class TaskPool:
    """:func:`run_tasks`'s workers, kept for several rounds of tasks.

    A model selection grid runs rounds whose tasks depend on the results
    of earlier rounds; the workers (and the data sent to them) are started
    once. ``workers`` 1 runs every task here, in order.

    Parameters
    ----------
    function : callable
        A module-level function, called as ``function(task, **shared)``.
    shared : dict
        Sent once per worker.
    workers : int
        The number of processes (from :func:`effective_n_jobs`).
    warmup : callable, optional
        ``warmup(**shared)`` once in every worker as it starts (in this
        process when ``workers`` is 1): the workers start when the pool is
        entered, so their set-up overlaps the caller's own work.
    """

    def __init__(
        self, function: Callable[..., R], shared: dict[str, Any], workers: int, *,
        warmup: Callable[..., None] | None = None,
    ) -> None:
        self.function, self.shared, self.workers = function, shared, workers
        self.warmup = warmup
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> TaskPool:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=_context(), initializer=_start_worker,
                initargs=(self.function, self.shared, self.warmup),
            )
            for _ in range(self.workers):  # start every worker now, not at the first map
                self._pool.submit(_nothing)
        elif self.warmup is not None:
            self.warmup(**self.shared)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def map(self, tasks: Sequence[Any]) -> list[Any]:
        """The results of ``tasks``, in task order."""
        if self._pool is None:
            return [self.function(task, **self.shared) for task in tasks]
        return list(self._pool.map(_run_in_worker, tasks))


def _context() -> BaseContext:
    """"spawn", unless the main script cannot be re-imported by a spawned worker.

    A spawned worker re-runs the main module from its file; a script read
    from standard input (``python - < script.py``) has no file, so there
    the workers are forked instead (Linux and macOS).
    """
    import multiprocessing
    import sys

    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.exists(main_file) and hasattr(os, "fork"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _nothing() -> None:
    """A task that starts a worker process (see TaskPool)."""


def _start_worker(
    function: Callable[..., Any], shared: dict[str, Any],
    warmup: Callable[..., None] | None = None,
) -> None:
    os.environ["GMMKIT_NUM_THREADS"] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        _WORKER_STATE["limits"] = threadpool_limits(limits=1)
    _WORKER_STATE["function"] = function
    _WORKER_STATE["shared"] = shared
    if warmup is not None:  # e.g. prepare the data once, while the parent works on
        warmup(**shared)


def _run_in_worker(task: Any) -> Any:
    return _WORKER_STATE["function"](task, **_WORKER_STATE["shared"])
