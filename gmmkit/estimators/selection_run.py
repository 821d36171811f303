"""select_model's machinery: the grid in rounds of K, hc starts, warm starts, the choice.

:func:`run_selection` is :func:`gmmkit.select_model` with the estimator
class of the fits as its first argument, so this module imports no
estimator; :func:`fit_auto` runs it for ``GaussianMixture(n_components="auto")``
(the class passes itself). See :mod:`gmmkit.estimators.selection` for the
method and the criteria.
"""

from __future__ import annotations

import numbers
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.sources import open_source
from gmmkit.data.validation import check_array, check_sample_weight, feature_names
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.hc import HC_MAX_ROWS, HC_MODELS, HC_USES, hc_partitions, hc_tree
from gmmkit.engine.mclust_models import check_model_dimensions, default_models
from gmmkit.engine.noise import noise_bounds
from gmmkit.engine.processes import TaskPool, effective_n_jobs
from gmmkit.engine.rng import make_rng, restart_seeds
from gmmkit.engine.warm_starts import merge_closest, split_widest
from gmmkit.estimators.grid import CRITERIA, choose, grid_points, n_distinct_rows
from gmmkit.estimators.selection_fits import FitTask, fit_task, warm_up
from gmmkit.estimators.selection_stream import select_stream
from gmmkit.estimators.selection_table import (
    BIC_CONVENTIONS,
    apply_convention,
    as_table,
    best_of,
    better,
    flag_violations,
    reference_bic,
    usable,
    violations,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import ArrayLike, NDArray

    from gmmkit.engine.types import FitInput, FloatArray, IntArray, RandomStateLike
    from gmmkit.estimators.mixture import GaussianMixture
    from gmmkit.estimators.selection_fits import FitResult

#: select_model's tolerance when none is given: mclust's, 1e-5 relative to
#: the log-likelihood (here of the one-Gaussian fit), per row
RELATIVE_TOL = 1e-5
#: a start of the grid's fits: (initialiser name or "hc", seed of its generator)
Start = tuple[str, int | tuple[int, int] | None]
WARM_STARTS = (True, False, "all")


def run_selection(
    estimator: type[GaussianMixture],
    X: ArrayLike,
    n_components: int | Iterable[int],
    covariance_types: str | Iterable[str] | None,
    criterion: str,
    *,
    bic_convention: str,
    init_params: str,
    n_init: int,
    kmeans_starts: int,
    warm_starts: bool | str,
    stop_hopeless: bool,
    hc_subset: int,
    hc_model: str,
    hc_use: str,
    as_frame: bool | str,
    n_jobs: int | None,
    sample_weight: ArrayLike | None,
    random_state: RandomStateLike,
    verbose: int,
    extra_starts: Sequence[Start] = (),
    one_always: bool = False,
    **params: Any,
) -> tuple[GaussianMixture, Any]:
    """:func:`gmmkit.select_model` with ``estimator``, the class of the fits (its parameters).

    ``extra_starts`` are more (initialiser, seed) starts of every fit;
    ``one_always`` fits K = 1 even when it has more parameters than X has
    rows (``n_components="auto"``, which must always return a model).
    """
    if open_source(X) is not None:  # a file, a chunk function, a Dask array
        return select_stream(
            estimator, X, n_components, covariance_types, criterion,
            bic_convention=bic_convention, init_params=init_params, n_init=n_init,
            as_frame=as_frame, sample_weight=sample_weight, random_state=random_state,
            **params,
        )
    options = _check_options(criterion, bic_convention, warm_starts, hc_subset, hc_model,
                             hc_use, kmeans_starts, n_init)
    given = [name for name in ("weights_init", "means_init", "precisions_init")
             if params.get(name) is not None]
    if given:
        raise ValueError(
            f"select_model cannot take {given[0]} (the shapes of weights_init, means_init "
            "and precisions_init depend on K); fit GaussianMixture with them for one K."
        )
    names = feature_names(X)
    X = check_array(X)
    weights = check_sample_weight(sample_weight, X.shape[0])
    positive = X if weights is None else X[weights > 0]
    models = list(default_models(X.shape[1]) if covariance_types is None else
                  ((covariance_types,) if isinstance(covariance_types, str) else covariance_types))
    for name in models:
        get_covariance_type(name)
        check_model_dimensions(name, X.shape[1])
    grid = grid_points(n_components, models, positive)
    models = list(dict.fromkeys(m for _, m in grid))
    ks = sorted({k for k, _ in grid})
    seed = _seed(random_state)
    params.setdefault("max_iter", 1000)
    if params.get("tol") is None:
        params["tol"] = float(_relative_tol(positive))
    params["init_params"] = init_params
    n_jobs_used = effective_n_jobs(n_jobs, len(models) * len(ks))
    hc = init_params == "hc"
    hc_rows, hc_weights = _hc_subset(X, weights, seed, options["hc_subset"]) if hc else (None,
                                                                                        None)
    shared = {"X": X, "sample_weight": weights, "estimator": estimator, "params": params,
              "hc_rows": hc_rows, "hc_weights": hc_weights, "cache": {}, "one_always": one_always}
    starts = _starts(init_params, n_init, kmeans_starts, seed) + list(extra_starts)
    slack = 10.0 * params["tol"] * float(len(positive) if weights is None else weights.sum())
    with TaskPool(fit_task, shared, n_jobs_used, warmup=warm_up) as pool:
        # the workers start and prepare the data while the tree grows here
        labels = _hc_labels(X, hc_rows, ks, options) if hc_rows is not None else {}
        results = _rounds(pool, models, ks, starts, labels, stop_hopeless, verbose)
        if warm_starts:
            _repair(pool, results, models, ks, slack, warm_starts, params, verbose)
    flag_violations(results, models, ks, slack)
    rows = [results[(k, m)].row for k, m in grid]
    best_index = choose(rows, criterion)
    rows[best_index]["chosen"] = True
    k, model = grid[best_index]
    best = _fitted_model(estimator, results[(k, model)], X, weights, params, names)
    # the chosen row's criteria are the model's own (bic(X), aic(X), icl(X)), to the bit
    rows[best_index].update(
        bic=best.bic(X, weights), aic=best.aic(X, weights), icl=best.icl(X, weights),
        log_likelihood=float(best.score_samples(X) @ (np.ones(len(X)) if weights is None
                                                      else weights)),
    )
    return best, as_table(apply_convention(rows, bic_convention), as_frame)


def _check_options(criterion: str, convention: str, warm_starts: bool | str, hc_subset: int,
                   hc_model: str, hc_use: str, kmeans_starts: int, n_init: int
                   ) -> dict[str, Any]:
    if criterion not in CRITERIA:
        raise ValueError(f"criterion={criterion!r} is not supported; use one of {list(CRITERIA)}")
    if convention not in BIC_CONVENTIONS:
        raise ValueError(
            f"bic_convention={convention!r} is not supported; use 'sklearn' (-2 log L + "
            "penalty, lower is better) or 'mclust' (2 log L - penalty, higher is better)."
        )
    if warm_starts not in WARM_STARTS:
        raise ValueError(f"warm_starts={warm_starts!r} is not supported; use True, False or "
                         "'all'.")
    if hc_model not in HC_MODELS or hc_use not in HC_USES:
        raise ValueError(f"hc_model must be one of {list(HC_MODELS)} and hc_use one of "
                         f"{list(HC_USES)}; got {hc_model!r} and {hc_use!r}.")
    for name, value, low in (("hc_subset", hc_subset, 2), ("kmeans_starts", kmeans_starts, 0),
                             ("n_init", n_init, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return {"hc_subset": int(hc_subset), "hc_model": hc_model, "hc_use": hc_use}


def _seed(random_state: RandomStateLike) -> int | None:
    if random_state is None or isinstance(random_state, numbers.Integral):
        return None if random_state is None else int(random_state)
    return int(make_rng(random_state).integers(2**31 - 1))


def _relative_tol(X: FloatArray) -> float:
    """mclust's relative tolerance as an absolute one on the mean log-likelihood."""
    n, d = X.shape
    complete = X[~np.isnan(X).any(axis=1)]  # missing="em": the complete rows
    if len(complete) > d:
        cov = np.atleast_2d(np.cov(complete.T, bias=True))
    else:
        cov = np.diag(np.nan_to_num(np.nanvar(X, axis=0), nan=1.0)) if n > 1 else np.eye(d)
    logdet = np.linalg.slogdet(cov + 1e-12 * np.eye(d) * max(np.trace(cov), 1.0))[1]
    single = -0.5 * (d * np.log(2.0 * np.pi) + logdet + d)
    return RELATIVE_TOL * (abs(single) + 1.0 / max(n, 1))


def _hc_subset(X: FloatArray, weights: FloatArray | None, seed: int | None, limit: int
               ) -> tuple[IntArray, FloatArray | None]:
    """(rows, their weights) of the hierarchical clustering start: at most ``limit`` rows."""
    rng = np.random.default_rng(seed)
    rows = np.arange(len(X)) if weights is None else np.flatnonzero(weights > 0)
    subset_weights = None if weights is None else weights[rows]
    if rows.size > limit:
        p = None if subset_weights is None else subset_weights / subset_weights.sum()
        warnings.warn(
            f"select_model: the hierarchical clustering start runs on a random subset of "
            f"{limit} of the {rows.size} rows (hc_subset; its time and memory grow with the "
            "square of the rows); EM fits every row.",
            UserWarning,
            stacklevel=3,
        )
        rows = np.sort(rng.choice(rows, size=limit, replace=False, p=p))
        subset_weights = None
    return rows, subset_weights


def _hc_labels(X: FloatArray, rows: IntArray, ks: Sequence[int], options: dict[str, Any]
               ) -> dict[int, IntArray]:
    """K -> the partition of ``rows`` by one hierarchical clustering tree."""
    Z = X[rows]
    if np.isnan(Z).any():  # missing="em": hierarchical clustering sees the column means
        Z = np.where(np.isnan(Z), np.nanmean(X, axis=0), Z)
    merges = hc_tree(Z, options["hc_model"], options["hc_use"])
    return hc_partitions(merges, len(rows), [k for k in ks if k <= len(rows)])


def _starts(init_params: str, n_init: int, kmeans_starts: int, seed: int | None
            ) -> list[Start]:
    """[(start, seed)] of every (K, model)."""
    draws = np.random.default_rng(seed).integers(2**31 - 1, size=n_init + kmeans_starts)
    main: list[Start] = [("hc", None)] if init_params == "hc" else [
        (init_params, int(s)) for s in draws[:n_init]]
    return main + [("k-means++", int(s)) for s in draws[n_init:]]


def _rounds(pool: TaskPool, models: list[str], ks: list[int],
            starts: list[Start], labels: dict[int, IntArray],
            stop_hopeless: bool, verbose: int) -> dict[tuple[int, str], FitResult]:
    """Fit every (K, model) from every start, K by K; return {(K, model): best FitResult}.

    Within a round the fits that took longest at the previous K go first, so
    the processes finish a round together.
    """
    results: dict[tuple[int, str], FitResult] = {}
    reference = np.inf
    for k in ks:
        started = time.perf_counter()
        last = {m: results[(k - 1, m)].row["seconds"] if (k - 1, m) in results else 0.0
                for m in models}
        order = sorted(models, key=lambda m: -last[m])
        tasks = [FitTask(k, m, start, seed, reference=reference if stop_hopeless else np.inf,
                         hc_labels=labels.get(k)) for m in order for start, seed in starts]
        outs = pool.map(tasks)
        for i, m in enumerate(order):
            results[(k, m)] = best_of(outs[i * len(starts):(i + 1) * len(starts)])
        reference = min(reference, reference_bic([results[(k, m)].row for m in models]))
        if verbose:
            stopped = sum(results[(k, m)].row["stopped"] for m in models)
            print(f"select_model: K={k}, {len(tasks)} fits in "
                  f"{time.perf_counter() - started:.1f} s ({stopped} stopped early)",
                  file=sys.stderr, flush=True)
    return results


def _repair(pool: TaskPool, results: dict[tuple[int, str], FitResult], models: list[str],
            ks: list[int], slack: float, mode: bool | str, params: dict[str, Any],
            verbose: int) -> None:
    """Refit from split and merge starts where the log-likelihood drops with K (module doc)."""
    reg_covar = params.get("reg_covar", 1e-6)
    for _ in range(2):
        targets = ([(k, m) for m in models for k in ks] if mode == "all"
                   else violations(results, models, ks, slack))
        reference = reference_bic([r.row for r in results.values()])
        tasks = []
        for k, model in targets:
            cov_type = get_covariance_type(model)
            below, above = results.get((k - 1, model)), results.get((k + 1, model))
            if below is not None and below.params is not None and usable(below):
                tasks.append(FitTask(k, model, "split", reference=reference,
                                     params=split_widest(below.params, cov_type, reg_covar)))
            if above is not None and above.params is not None and usable(above):
                tasks.append(FitTask(k, model, "merge", reference=reference,
                                     params=merge_closest(above.params, cov_type, reg_covar)))
        if not tasks:
            return
        for task, out in zip(tasks, pool.map(tasks)):
            if better(out, results[(task.n_components, task.model)]):
                results[(task.n_components, task.model)] = out
        if verbose:
            print(f"select_model: {len(tasks)} warm starts from neighbouring fits",
                  file=sys.stderr, flush=True)
        if mode == "all":
            return


def _fitted_model(estimator: type[GaussianMixture], result: FitResult, X: FloatArray,
                  weights: FloatArray | None, params: dict[str, Any], names: Any
                  ) -> GaussianMixture:
    """The chosen fit as a fitted GaussianMixture (``from_parameters``), with ``uncertainty_``."""
    row, fitted = result.row, result.params
    assert fitted is not None and fitted.covariances is not None  # a fit without error
    dtype = X.dtype if X.dtype == np.float32 and params.get("dtype") is None else np.float64
    lower_bounds = [float(b) for b in result.lower_bounds]
    noise = params.get("noise") is not None
    model = estimator.from_parameters(
        fitted.weights, np.asarray(fitted.means, dtype=dtype), fitted.covariances,
        precisions_cholesky=fitted.precisions_cholesky,
        noise_bounds=noise_bounds(X, weights) if noise else None,
        noise_weight=float(fitted.noise_weight) if noise else None,
        feature_names=names,
        training={"converged_": bool(row["converged"]), "n_iter_": int(row["n_iter"]),
                  "lower_bounds_": lower_bounds,
                  "lower_bound_": lower_bounds[-1] if lower_bounds else -np.inf},
        n_components=row["n_components"], covariance_type=row["covariance_type"], **params,
    )
    model.uncertainty_ = model.uncertainty(X)  # mclust's: of every training row
    return model


def fit_auto(
    model: GaussianMixture,
    X: FitInput,
    sample_weight: ArrayLike | None,
    max_components: int,
    estimator: type[GaussianMixture],
) -> tuple[GaussianMixture, list[dict[str, Any]], NDArray[np.object_] | None]:
    """``n_components="auto"``: fit K = 1..max_components with ``model``'s settings by BIC.

    K is chosen as :func:`gmmkit.select_model` chooses it, over
    ``model``'s covariance type: every K starts from one model-based
    hierarchical clustering tree and from ``model``'s own restarts (its
    ``init_params``, ``n_init`` and ``random_state``, the starts
    ``GaussianMixture(K, ...)`` would use), the better fit kept, then from
    warm starts of the neighbouring K; K = 1 is fitted even with more
    parameters than rows. Files, chunk functions and Dask arrays go to the
    streamed grid (:func:`gmmkit.estimators.selection_stream.select_stream`).
    The grid's fits are ``estimator`` instances (GaussianMixture passes itself);
    ``model`` is only read. GaussianMixture then takes the chosen
    fit's attributes, ``n_components_`` the K chosen and ``selection_`` the
    table (see :func:`select_model`).

    Returns
    -------
    best : GaussianMixture
        The chosen fit.
    table : list of dict
        One row per K tried.
    feature_names : ndarray or None
        X's column names.
    """
    if any(v is not None for v in (model.weights_init, model.means_init, model.precisions_init)):
        raise ValueError(
            "n_components='auto' cannot take weights_init, means_init or "
            "precisions_init (their shapes depend on K); give an integer n_components."
        )
    params = model.get_params()
    for name in ("n_components", "covariance_type", "n_init", "random_state", "warm_start",
                 "init_params", "n_jobs", "verbose"):  # n_jobs: the fits' threads, here default
        params.pop(name)
    if open_source(X) is not None:  # a file (or file memmap), a chunk function, Dask
        best, table = select_stream(
            estimator, X, range(1, max_components + 1), (model.covariance_type,), "bic",
            init_params=model.init_params, n_init=model.n_init, sample_weight=sample_weight,
            random_state=model.random_state, **params,
        )
        return best, table, getattr(best, "feature_names_in_", None)
    names = feature_names(X)
    X = check_array(X)
    weights = check_sample_weight(sample_weight, X.shape[0])
    n_rows = n_distinct_rows(X if weights is None else X[weights > 0], up_to=max_components)
    # the hierarchical clustering tree's start (on a subset of hc_subset rows, expected
    # here, so not warned about) beside the model's own restarts, the best kept, then warm
    # starts from the neighbouring K
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "select_model: the hierarchical clustering start",
                                UserWarning)
        best, table = run_selection(
            estimator, X, range(1, max(1, min(max_components, n_rows)) + 1),
            (model.covariance_type,), "bic", bic_convention="sklearn",
            init_params="hc", n_init=1, kmeans_starts=0, warm_starts="all", stop_hopeless=True,
            hc_subset=HC_MAX_ROWS, hc_model="VVV", hc_use="SVD", as_frame=False, n_jobs=None,
            sample_weight=weights, random_state=model.random_state, verbose=int(model.verbose),
            extra_starts=_restarts(model), one_always=True, **params,
        )
    return best, table, names


def _restarts(model: GaussianMixture) -> list[Start]:
    """The (initialiser, seed) of ``model``'s own restarts, as its ``fit`` draws them.

    An int ``random_state`` gives :func:`gmmkit.engine.rng.restart_seeds`
    (``fit``'s own generators); another kind gives one fresh seed per restart.
    """
    state = model.random_state
    seeds: list[int | tuple[int, int]]
    if isinstance(state, numbers.Integral) and not isinstance(state, bool):
        seeds = restart_seeds(int(state), model.n_init)
    else:
        rng = make_rng(state)
        seeds = [int(s) for s in rng.integers(2**31 - 1, size=model.n_init)]
    return [(model.init_params, seed) for seed in seeds]
