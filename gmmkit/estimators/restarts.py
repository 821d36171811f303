"""Driving a fit: EM restarts (``n_init``), serially or in processes (``n_jobs``).

:func:`fit_data` runs GaussianMixture's restarts on engine data and sets
the fitted attributes; :func:`run_restart` is one EM run.

Every restart gets its own random generator, fixed before any of them runs
(:func:`gmmkit.engine.rng.restart_rngs`), so the restarts can run in any
order or in separate processes and the fit is the same.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from gmmkit.engine.convergence import EMSettings, run_em
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.noise import NOISE_INIT_WEIGHT, log_density
from gmmkit.engine.processes import effective_n_jobs, run_tasks
from gmmkit.engine.rng import restart_rngs
from gmmkit.engine.threads import ChunkRunner
from gmmkit.exceptions import ConvergenceWarning, compatible, not_converged_message
from gmmkit.plugins.manager import fit_hooks as plugin_fit_hooks

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from gmmkit.engine.convergence import EMResult
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.types import DataSource, FloatArray
    from gmmkit.estimators.attributes import Initial, MixtureAttributes
    from gmmkit.estimators.mixture import GaussianMixture
    from gmmkit.plugins.manager import FitHooks


#: the estimator a fit sets the attributes of
M = TypeVar("M", bound="GaussianMixture")


def run_restarts(
    model: GaussianMixture,
    data: DataSource,
    cov_type: CovarianceType,
    initial: Initial,
    bounds: FloatArray | None,
    hooks: FitHooks | None,
) -> list[EMResult[MixtureParams]]:
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


def attribute_dtype(model: MixtureAttributes, data: DataSource) -> np.dtype[Any]:
    """The dtype of the fitted attributes: X's, as in scikit-learn, or what ``dtype`` asks.

    float32 X gives float32 (scikit-learn 1.9 keeps X's dtype); float64,
    float16 and integer X give float64 (scikit-learn reads them as
    float64). ``dtype="float64"`` on float32 X gives float64: asking for
    float64 never rounds the result to float32. ``dtype="float32"`` on
    float64 X only sets the E-step's precision (a speed setting); the
    attributes keep X's float64.

    Parameters
    ----------
    model : GaussianMixture
    data : engine data (see em.ChunkedData's protocol)
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
    requested = given if model.dtype is None else np.dtype(model.dtype)
    return np.promote_types(given, requested)


def _restart_in_worker(
    task: tuple[int, np.random.Generator],
    *,
    model: GaussianMixture,
    data: DataSource,
    cov_type: CovarianceType,
    initial: Initial,
    bounds: FloatArray | None,
) -> EMResult[MixtureParams]:
    index, rng = task
    return model._run_restart(index, rng, data, cov_type, initial, bounds, None)

def fit_data(
    model: M, data: DataSource, names: NDArray[np.object_] | None, bounds: FloatArray | None
) -> M:
    """EM restarts on engine data (see em.ChunkedData's protocol); sets the attributes."""
    model.__dict__.pop("_online_state", None)  # a full fit ends any online stream
    cov_type = get_covariance_type(model.covariance_type)
    initial = model._check_initial_parameters(data.n_features, cov_type)
    hooks = plugin_fit_hooks()
    if hooks is not None:
        hooks.call(
            "gmmkit_fit_start", model=model, n_samples=data.n_samples,
            n_features=data.n_features,
        )
    warm = model.warm_start and hasattr(model, "converged_")
    if warm:
        start = (model._get_params_object(), model.lower_bound_)
        results = [run_restart(model, 0, None, data, cov_type, initial, bounds, hooks, start)]
    else:
        results = run_restarts(model, data, cov_type, initial, bounds, hooks)
    best = max(results, key=lambda result: result.lower_bound)  # the first of equals
    if not best.converged and model.max_iter > 0:
        warnings.warn(
            not_converged_message(
                len(results), sum(r.converged for r in results), model.max_iter, model.tol
            ),
            compatible(ConvergenceWarning),
            stacklevel=3,
        )
    # the attributes take X's dtype, as scikit-learn's; EM itself ran in float64
    model._set_params_object(best.params, cov_type, dtype=attribute_dtype(model, data))
    if bounds is not None:
        model.noise_bounds_ = bounds
    elif hasattr(model, "noise_bounds_"):
        del model.noise_bounds_
    model.n_components_ = int(model.n_components)
    if hasattr(model, "selection_"):
        del model.selection_
    model.__dict__.pop("uncertainty_", None)  # select_model's, of the rows it saw
    model.converged_ = best.converged
    model.n_iter_ = best.n_iter
    model.lower_bound_ = best.lower_bound
    model.lower_bounds_ = best.lower_bounds
    model.n_features_in_ = data.n_features
    model._set_feature_names(names)
    if hooks is not None:
        hooks.call("gmmkit_fit_end", model=model)
    return model


def run_restart(
    model: GaussianMixture,
    index: int,
    rng: np.random.Generator | None,
    data: DataSource,
    cov_type: CovarianceType,
    initial: Initial,
    bounds: FloatArray | None,
    hooks: FitHooks | None,
    start: tuple[MixtureParams, float] | None = None,
) -> EMResult[MixtureParams]:
    """One EM run: restart ``index`` initialised with ``rng``, or from ``start``."""
    settings = EMSettings(
        model.max_iter,
        model.tol,
        model.reg_covar,
        model.verbose,
        model.verbose_interval,
        on_iteration=None if hooks is None else model._iteration_hook(hooks),
    )
    with ChunkRunner() as runner:
        if start is None:
            assert rng is not None  # (only a warm start, from ``start``, has no generator)
            params = model._initial_params(data.init_data(rng), cov_type, rng, runner, initial)
            if bounds is not None:
                params.weights = params.weights * (1.0 - NOISE_INIT_WEIGHT)
                params.noise_weight = NOISE_INIT_WEIGHT
                params.noise_log_density = log_density(bounds)
            start = (params, -np.inf)
        return run_em(
            data, cov_type, start[0], settings, runner, lower_bound=start[1],
            init_index=index,
        )
