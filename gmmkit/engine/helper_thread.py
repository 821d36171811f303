"""One helper thread per process, for cutting a call's work in two (docs/engine.md, "Threads").

:func:`beside` runs one function on the calling thread and another on the
helper at the same time. The helper is a daemon thread started on first
use and kept for the process: starting a thread or a pool per call costs
more than a call of a few hundred microseconds gains. It is safe to use
from any thread:

- **No caller waits for another.** A caller that finds the helper busy
  (another thread's call, or a call from the helper itself) runs both
  functions itself, one after the other.
- **No waiting for a thread that has no core.** When the caller is done
  with its own function and the helper has not started the other yet (a
  busy machine), the caller runs it too. When the two did not run in
  parallel (the helper took the caller's core because the other one was
  busy: another process, or a BLAS thread team spinning after a threaded
  call), :func:`available` says no to the next 1, 2, 4, ... up to
  ``MAX_SKIPPED`` calls: on a busy machine a call that cannot gain costs
  ~40 us more, once in up to 9 calls. (Longer skips kept the helper's core
  cold: after an idle spell it wakes slowly for 50-200 ms.)
- **Errors reach the caller** with their own type and message.
- **Forks.** A forked child forgets the parent's helper (which does not
  exist there) and starts its own on first use.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

R = TypeVar("R")
T = TypeVar("T")


class _Task:
    """A function for the helper, its result or error; ``claim``: who runs it, ``done``: it ran."""

    __slots__ = ("claim", "cpu", "done", "error", "function", "result")

    def __init__(self, function: Callable[[], Any]) -> None:
        self.function = function
        self.result: Any = None
        self.error: BaseException | None = None
        self.cpu = 0.0  # seconds of the helper's CPU time it took
        self.claim = threading.Lock()
        self.done = threading.Lock()
        self.done.acquire()

    def run(self) -> None:
        start = time.thread_time()
        try:
            self.result = self.function()
        except BaseException as error:  # handed to the caller, raised there
            self.error = error
        self.cpu = time.thread_time() - start


class _Helper:
    """A daemon thread that runs one task at a time for whichever caller holds ``busy``.

    A caller takes ``busy`` without waiting, posts its task and wakes the
    thread. The thread runs the task if it can still ``claim`` it (the
    caller may have taken it back), then releases ``busy`` and the task's
    ``done``: ``busy`` is released by the thread, so a caller interrupted
    while waiting cannot leave it held.
    """

    def __init__(self) -> None:
        self.busy = threading.Lock()
        self._wake = threading.Lock()
        self._wake.acquire()
        self._task: _Task | None = None
        thread = threading.Thread(target=self._serve, name="gmmkit-helper", daemon=True)
        thread.start()

    def post(self, task: _Task) -> None:
        """Hand ``task`` to the thread (the caller holds ``busy``)."""
        self._task = task
        self._wake.release()

    def _serve(self) -> None:
        while True:
            self._wake.acquire()
            task, self._task = self._task, None
            assert task is not None
            if task.claim.acquire(blocking=False):
                task.run()
            self.busy.release()
            task.done.release()


#: the process's helper ("helper"), made on first use; forgotten in a forked child
_HELPER: dict[str, _Helper] = {}
_HELPER_LOCK = threading.Lock()


def _helper() -> _Helper:
    """The process's :class:`_Helper`, started on first use."""
    helper = _HELPER.get("helper")
    if helper is None:
        with _HELPER_LOCK:
            helper = _HELPER.get("helper")
            if helper is None:
                helper = _HELPER["helper"] = _Helper()
    return helper


def _forget_helper() -> None:
    """In a forked child: the parent's helper thread does not exist there."""
    global _HELPER_LOCK
    _HELPER.clear()
    _HELPER_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helper)


#: at most this many calls in a row run on the caller after calls that did not gain
MAX_SKIPPED = 8

#: a call gained when it took less wall time than the two functions' CPU times
#: together minus this fraction of the shorter one
MIN_GAIN = 0.25

#: "skip": calls left to run on the caller; "next": the skip after the next loss
_BACKOFF = {"skip": 0, "next": 1}


def available() -> bool:
    """Whether to cut work for :func:`beside` now (False counts one skipped call).

    False while the calls after one that did not gain are left to the
    caller: cutting the work in two then only costs (two smaller products
    instead of one).
    """
    if _BACKOFF["skip"] > 0:  # (a race on the count between callers does no harm)
        _BACKOFF["skip"] -= 1
        return False
    return True


def _judge(gained: bool) -> None:
    """Count a call: after a loss skip the next 1, 2, 4, ... calls; a gain resets."""
    if gained:
        _BACKOFF["next"] = 1
    else:
        _BACKOFF["skip"] = _BACKOFF["next"]
        _BACKOFF["next"] = min(2 * _BACKOFF["next"], MAX_SKIPPED)


def beside(first: Callable[[], R], second: Callable[[], T]) -> tuple[R, T]:
    """``(first(), second())``, with ``second`` on the process's helper thread meanwhile.

    ``second`` runs on the calling thread instead, after ``first``, when
    the helper is busy or has not started it by the time ``first`` is done.
    Callers ask :func:`available` first whether cutting their work is
    worth it now.
    If ``first`` raises, its error is raised once the helper (if it started
    ``second``) has finished; otherwise an error of ``second`` is raised.

    Parameters
    ----------
    first, second : callable
        Functions of no argument. ``second`` must not rely on the calling
        thread (thread-local state, signals).

    Returns
    -------
    tuple
        ``(first(), second())``.
    """
    helper = _helper()
    if not helper.busy.acquire(blocking=False):
        return first(), second()
    task = _Task(second)
    wall, cpu = time.perf_counter(), time.thread_time()
    helper.post(task)
    taken_back = False
    try:
        result = first()
    finally:
        cpu = time.thread_time() - cpu
        # not started by the helper yet: the caller keeps it (after an error: drops it)
        taken_back = task.claim.acquire(blocking=False)
        if not taken_back:
            task.done.acquire()  # the helper is running it: wait for the end
    if taken_back:
        _judge(False)
        return result, second()
    wall = time.perf_counter() - wall
    _judge(wall < cpu + task.cpu - MIN_GAIN * min(cpu, task.cpu))
    if task.error is not None:
        raise task.error
    return result, task.result
