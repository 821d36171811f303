"""EM restarts (``n_init``), serially or in parallel processes (``n_jobs``).

Every restart gets its own random generator, fixed before any of them
runs: restart 0 uses ``random_state`` itself (so ``n_init=1`` draws what
it always drew) and restart i >= 1 a stream seeded from (seed, i). The
restarts then do not depend on each other, so they can run in any order
or in separate processes and the fit is the same (for an int or None
``random_state``; a Generator or RandomState gives one draw for the seed
of the later restarts first).
"""

from __future__ import annotations

import numbers

import numpy as np

from gmmkit._jobs import effective_n_jobs, run_tasks


def restart_rngs(random_state, n_init):
    """One numpy Generator per restart (see the module docstring)."""
    from gmmkit.mixture import make_rng

    if random_state is None:
        return [make_rng(None) for _ in range(n_init)]
    if isinstance(random_state, numbers.Integral):
        seed = int(random_state)
        first = make_rng(random_state)
    else:
        first = make_rng(random_state)
        seed = int(first.integers(2**31 - 1)) if n_init > 1 else 0
    return [first] + [np.random.default_rng([seed, index]) for index in range(1, n_init)]


def run_restarts(model, data, cov_type, initial, bounds, hooks):
    """EMResult of every restart of ``model``'s fit, in restart order.

    With ``model.n_jobs`` > 1 and data held in memory, the restarts run in
    worker processes (one thread each); plugin iteration hooks are then not
    called (they live in this process), the start and end hooks are.
    """
    rngs = restart_rngs(model.random_state, model.n_init)
    tasks = list(enumerate(rngs))
    workers = effective_n_jobs(getattr(model, "n_jobs", None), len(tasks))
    if workers == 1 or not getattr(data, "picklable", True):
        return [
            model._run_restart(index, rng, data, cov_type, initial, bounds, hooks)
            for index, rng in tasks
        ]
    shared = {
        "model": model, "data": data, "cov_type": cov_type, "initial": initial,
        "bounds": bounds,
    }
    return run_tasks(_restart_in_worker, tasks, shared, workers)


def _restart_in_worker(task, *, model, data, cov_type, initial, bounds):
    index, rng = task
    return model._run_restart(index, rng, data, cov_type, initial, bounds, None)
