"""The EM loop: iterate E-step and M-step until the lower bound settles.

:func:`run_em` drives any data that follow the engine's data protocol
(:class:`gmmkit.engine.chunked_data.ChunkedData`); :class:`Progress` keeps the lower bounds,
the convergence test, the verbose output and the plugin iteration hook, and
is shared with the variational loop of gmmkit.engine.variational;
:func:`guard_float32` switches float32 work to float64 when float32 would
lose accuracy.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Generic, TypeVar

import numpy as np

from gmmkit.engine.em import FLOAT32_MAX_OFFSET, MixtureParams, params_from_stats
from gmmkit.exceptions import PrecisionWarning

if TYPE_CHECKING:
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import DataSource


#: the parameters an EM-like run ends at (MixtureParams, or a variational Posterior)
P = TypeVar("P")
#: a data source (see gmmkit.engine.types.DataSource)
D = TypeVar("D", bound="DataSource")


@dataclass
class EMResult(Generic[P]):
    """Outcome of one EM run (``params``: MixtureParams, or a variational Posterior)."""

    params: P
    lower_bound: float
    lower_bounds: list[float]
    converged: bool
    n_iter: int


@dataclass
class EMSettings:
    """Constants of an EM run."""

    max_iter: int = 100
    tol: float = 1e-3
    reg_covar: float = 1e-6
    verbose: int = 0
    verbose_interval: int = 10
    #: ``on_iteration(init, iteration, lower_bound, change)`` after every
    #: iteration, or None (the plugin fit hooks, when a plugin implements one)
    on_iteration: Callable[[int, int, float, float], None] | None = None
    #: ``stop(lower_bounds)`` after every iteration that did not converge: True
    #: ends the run there, unconverged (model selection stops hopeless fits)
    stop: Callable[[list], bool] | None = None


def guard_float32(data: D, cov_type: CovarianceType, params: MixtureParams) -> D:
    """``data`` served in float64 if float32 would lose accuracy under ``params``."""
    if data.dtype != np.float32:
        return data
    offsets = cov_type.whitened_offsets(params.means - data.center, params.precisions_cholesky)
    worst = float(np.max(offsets))
    if worst <= FLOAT32_MAX_OFFSET:
        return data
    warnings.warn(
        f"dtype float32 would lose accuracy: component {int(np.argmax(offsets))} lies "
        f"{worst:.0f} of its standard deviations from the data centre (float32 is "
        f"kept up to {FLOAT32_MAX_OFFSET:g}); continuing in float64. Standardise the "
        "data or pass dtype='float64' to silence this.",
        PrecisionWarning,
        stacklevel=4,
    )
    return data.with_dtype(np.float64)


def run_em(
    data: DataSource,
    cov_type: CovarianceType,
    params: MixtureParams,
    settings: EMSettings,
    runner: ChunkRunner,
    *,
    lower_bound: float = -np.inf,
    init_index: int = 0,
) -> EMResult[MixtureParams]:
    """EM from ``params`` until the lower bound changes by less than ``tol``.

    The lower bound of iteration t is the mean log-likelihood under the
    parameters entering that iteration (scikit-learn's convention); the
    parameters returned are those after the last M-step.

    Returns
    -------
    EMResult
    """
    progress = Progress(settings, init_index, lower_bound)
    reseeds_left = params.weights.size
    if settings.max_iter > 1 and hasattr(data, "keep_rows"):
        data.keep_rows()  # in-memory data: later passes copy the centred rows
    for n_iter in range(1, settings.max_iter + 1):
        data = guard_float32(data, cov_type, params)
        stats = data.e_step(cov_type, params, runner)
        params, n_reseeded = params_from_stats(
            stats,
            cov_type,
            settings.reg_covar,
            data.center,
            previous=params,
            reseed_budget=reseeds_left,
        )
        reseeds_left -= n_reseeded
        if progress.record(n_iter, stats.loglik / stats.weight):
            break
        if settings.stop is not None and settings.stop(progress.lower_bounds):
            break
    return progress.result(params)


class Progress:
    """Book-keeping of one EM-like run: lower bounds, convergence, verbose output, hooks.

    Shared by :func:`run_em` and the variational loop
    (:func:`gmmkit.engine.variational.run_variational`), so both report and stop
    the same way.
    """

    def __init__(self, settings: EMSettings, init_index: int, lower_bound: float = -np.inf) -> None:
        self.settings = settings
        self.init_index = init_index
        self.lower_bound = lower_bound
        self.lower_bounds: list[float] = []
        self.converged = False
        self.n_iter = 0
        self._start = time.perf_counter()
        if settings.verbose:
            _say(f"Initialization {init_index}")

    def record(self, n_iter: int, lower_bound: float) -> bool:
        """Note iteration ``n_iter``'s lower bound; True once it changed by less than tol."""
        settings = self.settings
        change = lower_bound - self.lower_bound
        self.n_iter, self.lower_bound = n_iter, lower_bound
        self.lower_bounds.append(lower_bound)
        if settings.on_iteration is not None:
            settings.on_iteration(self.init_index, n_iter, lower_bound, change)
        if settings.verbose and n_iter % settings.verbose_interval == 0:
            if settings.verbose == 1:
                _say(f"  Iteration {n_iter}")
            else:
                elapsed = time.perf_counter() - self._start
                _say(f"  Iteration {n_iter}\t time lapse {elapsed:.5f}s\t ll change {change:.5f}")
                self._start = time.perf_counter()
        self.converged = abs(change) < settings.tol
        return self.converged

    def result(self, params: P) -> EMResult[P]:
        """The run's EMResult ending at ``params``."""
        if self.settings.verbose:
            state = "converged" if self.converged else "did not converge"
            _say(f"Initialization {state}. lower bound {self.lower_bound:.5f}")
        return EMResult(params, self.lower_bound, self.lower_bounds, self.converged, self.n_iter)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
