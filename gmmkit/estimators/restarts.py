"""Driving a fit: EM restarts (``n_init``), serially or in processes (``n_jobs``).

:class:`RestartsFit` is the part of :class:`~gmmkit.estimators.mixture.GaussianMixture`
that turns engine data into a fit: ``_fit_data`` resolves the plugins'
fit hooks and the initial parameters, runs the restarts (each one EM run of
the engine, :func:`gmmkit.engine.convergence.run_em`) and sets the fitted
attributes of the best. It is a mixin: its methods work on ``self``, so no
function outside the estimator calls the estimator's private methods.

Every restart gets its own random generator, fixed before any of them runs
(:func:`gmmkit.engine.rng.restart_rngs`), so the restarts can run in any
order or in separate processes and the fit is the same.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from gmmkit.engine.convergence import EMSettings, run_em
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.noise import add_noise_component
from gmmkit.engine.processes import effective_n_jobs, run_tasks
from gmmkit.engine.rng import restart_rngs
from gmmkit.engine.threads import ChunkRunner
from gmmkit.exceptions import ConvergenceWarning, compatible, not_converged_message
from gmmkit.plugins.manager import fit_hooks as plugin_fit_hooks

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from typing_extensions import Self

    from gmmkit.engine.convergence import EMResult
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.types import DataSource, FloatArray
    from gmmkit.estimators.attributes import Initial
    from gmmkit.estimators.attributes import MixtureAttributes as _Estimator
    from gmmkit.plugins.manager import FitHooks
else:  # the estimator the mixin is mixed into (for type checkers only)
    _Estimator = object


class RestartsFit(_Estimator):
    """GaussianMixture's fit from engine data: the restarts and the fitted attributes.

    Mixed into :class:`~gmmkit.estimators.mixture.GaussianMixture`; it uses the
    estimator's checks (``_check_initial_parameters``), its starting
    parameters (``_initial_params``) and its attribute setters.
    """

    def _fit_data(
        self, data: DataSource, names: NDArray[np.object_] | None, bounds: FloatArray | None
    ) -> Self:
        """EM restarts on engine data (see ChunkedData's protocol); sets the attributes.

        Parameters
        ----------
        data : engine data
            What ``_open_data`` prepared (in memory, a stream, Dask).
        names : ndarray of shape (n_features,) or None
            The column names of X.
        bounds : ndarray of shape (n_features, 2) or None
            The noise component's box (``noise="uniform"``).

        Returns
        -------
        self
        """
        self.__dict__.pop("_online_state", None)  # a full fit ends any online stream
        cov_type = get_covariance_type(self.covariance_type)
        initial = self._check_initial_parameters(data.n_features, cov_type)
        hooks = plugin_fit_hooks()
        if hooks is not None:
            hooks.call(
                "gmmkit_fit_start", model=self, n_samples=data.n_samples,
                n_features=data.n_features,
            )
        warm = self.warm_start and hasattr(self, "converged_")
        if warm:
            start = (self._get_params_object(), self.lower_bound_)
            results = [
                self._run_restart(0, None, data, cov_type, initial, bounds, hooks, start)
            ]
        else:
            results = self._run_restarts(data, cov_type, initial, bounds, hooks)
        best = max(results, key=lambda result: result.lower_bound)  # the first of equals
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                not_converged_message(
                    len(results), sum(r.converged for r in results), self.max_iter, self.tol
                ),
                compatible(ConvergenceWarning),
                stacklevel=3,
            )
        # the attributes take X's dtype, as scikit-learn's; EM itself ran in float64
        self._set_params_object(best.params, cov_type, dtype=self._attribute_dtype(data))
        if bounds is not None:
            self.noise_bounds_ = bounds
        elif hasattr(self, "noise_bounds_"):
            del self.noise_bounds_
        self.n_components_ = int(self.n_components)
        if hasattr(self, "selection_"):
            del self.selection_
        self.__dict__.pop("uncertainty_", None)  # select_model's, of the rows it saw
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = best.lower_bounds
        self.n_features_in_ = data.n_features
        self._set_feature_names(names)
        if hooks is not None:
            hooks.call("gmmkit_fit_end", model=self)
        return self

    def _run_restarts(
        self,
        data: DataSource,
        cov_type: CovarianceType,
        initial: Initial,
        bounds: FloatArray | None,
        hooks: FitHooks | None,
    ) -> list[EMResult[MixtureParams]]:
        """EMResult of every restart, in restart order.

        With ``n_jobs`` > 1 and data that pickle (in memory, a file), the
        restarts run in worker processes (one thread each); plugin iteration
        hooks are then not called (they live in this process), the start and
        end hooks are.
        """
        rngs = restart_rngs(self.random_state, self.n_init)
        tasks = list(enumerate(rngs))
        workers = effective_n_jobs(getattr(self, "n_jobs", None), len(tasks))
        if workers == 1 or not getattr(data, "picklable", True):
            return [
                self._run_restart(index, rng, data, cov_type, initial, bounds, hooks)
                for index, rng in tasks
            ]
        shared = {"data": data, "cov_type": cov_type, "initial": initial, "bounds": bounds}
        # the bound method pickles with the estimator: each worker gets a copy of it once
        return run_tasks(self._restart_task, tasks, shared, workers)

    def _restart_task(
        self,
        task: tuple[int, np.random.Generator],
        *,
        data: DataSource,
        cov_type: CovarianceType,
        initial: Initial,
        bounds: FloatArray | None,
    ) -> EMResult[MixtureParams]:
        """One restart in a worker process: ``task`` is (index, rng); no plugin hooks."""
        index, rng = task
        return self._run_restart(index, rng, data, cov_type, initial, bounds, None)

    def _run_restart(
        self,
        index: int,
        rng: np.random.Generator | None,
        data: DataSource,
        cov_type: CovarianceType,
        initial: Initial,
        bounds: FloatArray | None,
        hooks: FitHooks | None,
        start: tuple[MixtureParams, float] | None = None,
    ) -> EMResult[MixtureParams]:
        """One EM run: restart ``index`` initialised with ``rng``, or from ``start``.

        Returns
        -------
        gmmkit.engine.convergence.EMResult
        """
        settings = EMSettings(
            self.max_iter,
            self.tol,
            self.reg_covar,
            self.verbose,
            self.verbose_interval,
            on_iteration=None if hooks is None else self._iteration_hook(hooks),
        )
        with ChunkRunner() as runner:
            if start is None:
                assert rng is not None  # (only a warm start, from ``start``, has no generator)
                params = self._initial_params(
                    data.init_data(rng), cov_type, rng, runner, initial
                )
                if bounds is not None:
                    add_noise_component(params, bounds)
                start = (params, -np.inf)
            return run_em(
                data, cov_type, start[0], settings, runner, lower_bound=start[1],
                init_index=index,
            )

    def _iteration_hook(self, hooks: FitHooks) -> Callable[[int, int, float, float], None]:
        """The engine's ``on_iteration`` callable: the plugins' gmmkit_fit_iteration."""
        def on_iteration(init: int, iteration: int, lower_bound: float, change: float) -> None:
            hooks.call(
                "gmmkit_fit_iteration",
                model=self,
                init=init,
                iteration=iteration,
                lower_bound=lower_bound,
                change=change,
            )

        return on_iteration

    def _attribute_dtype(self, data: DataSource) -> np.dtype[Any]:
        """The dtype of the fitted attributes: X's, as in scikit-learn, or what ``dtype`` asks.

        float32 X gives float32 (scikit-learn 1.9 keeps X's dtype); float64,
        float16 and integer X give float64 (scikit-learn reads them as
        float64). ``dtype="float64"`` on float32 X gives float64: asking for
        float64 never rounds the result to float32. ``dtype="float32"`` on
        float64 X only sets the E-step's precision (a speed setting); the
        attributes keep X's float64.

        Parameters
        ----------
        data : engine data (see chunked_data.ChunkedData's protocol)
            The data as prepared for the fit; the dtype the user gave is that
            of its array (``X``), reader, or filled-in rows (missing values).

        Returns
        -------
        numpy dtype
        """
        source = getattr(data, "filled", data)  # MissingData serves a filled ChunkedData
        given = getattr(getattr(source, "reader", None), "dtype", None)
        if given is None:
            given = getattr(getattr(source, "X", None), "dtype", np.float64)
        given = np.dtype(np.float32 if given == np.float32 else np.float64)
        requested = given if self.dtype is None else np.dtype(self.dtype)
        return np.promote_types(given, requested)
