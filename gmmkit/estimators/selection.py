"""Model selection: fit a grid of K x covariance model, keep the best by BIC, AIC or ICL.

:func:`select_model` is mclust's ``Mclust`` for gmmkit: by default the 14
covariance models of Celeux and Govaert (1995) (E and V for one feature)
and K = 1..9, every fit started from one model-based hierarchical
clustering tree (:mod:`gmmkit.engine.hc`), so the table does not depend on
a random seed. Fits run in rounds of increasing K (in ``n_jobs``
processes): a fit that cannot come near the best BIC of the smaller K is
stopped early and marked; then every K fit with a lower log-likelihood
than its model's K - 1 fit (which a K mixture can reproduce) is refitted
from that fit with its widest component split, and from the K + 1 fit
with its closest pair merged; what is still lower is flagged.

Every fit of the grid is a row of the returned table, including fits that
failed (with their error), did not converge, stopped early, or had a
degenerate component; such fits are never chosen while a clean fit
exists, and when none does the choice says so with a warning instead of
picking silently. A fit is degenerate when a component was re-seeded or
floored during EM (DegenerateComponentWarning) or collapsed onto repeated
points (see :func:`gmmkit.estimators.grid.collapsed`).

Criteria (n is the total sample weight, p the number of free parameters,
log L the total log-likelihood), in scikit-learn's sign (lower is better):

- ``bic`` = -2 log L + p log n
- ``aic`` = -2 log L + 2 p
- ``icl`` = BIC + 2 EN, with EN = -sum_n w_n sum_k z_nk log z_nk the
  entropy of the responsibilities (Biernacki, Celeux and Govaert, 2000).

With ``bic_convention="mclust"`` they are mclust's: BIC = 2 log L - p log n,
AIC = 2 log L - 2 p and ICL = BIC + 2 sum_n w_n log max_k z_nk (higher is
better).
"""

from __future__ import annotations

import numbers
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.validation import check_array, check_sample_weight, feature_names
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.hc import HC_MAX_ROWS, HC_MODELS, HC_USES, hc_partitions, hc_tree
from gmmkit.engine.mclust_models import check_model_dimensions, default_models
from gmmkit.engine.noise import noise_bounds
from gmmkit.engine.processes import TaskPool, effective_n_jobs
from gmmkit.engine.rng import make_rng
from gmmkit.engine.warm_starts import merge_closest, split_widest
from gmmkit.estimators.grid import CRITERIA, choose, grid_points
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.estimators.plots import plot_criterion  # noqa: F401  (its old home)
from gmmkit.estimators.selection_fits import FitTask, fit_task, warm_up
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

    from numpy.typing import ArrayLike

    from gmmkit.engine.types import FloatArray, IntArray, RandomStateLike
    from gmmkit.estimators.selection_fits import FitResult

#: select_model's tolerance when none is given: mclust's, 1e-5 relative to
#: the log-likelihood (here of the one-Gaussian fit), per row
RELATIVE_TOL = 1e-5
WARM_STARTS = (True, False, "all")


def select_model(
    X: ArrayLike,
    n_components: int | Iterable[int] = range(1, 10),
    covariance_types: str | Iterable[str] | None = None,
    criterion: str = "bic",
    *,
    bic_convention: str = "sklearn",
    init_params: str = "hc",
    n_init: int = 1,
    kmeans_starts: int = 0,
    warm_starts: bool | str = True,
    stop_hopeless: bool = True,
    hc_subset: int = HC_MAX_ROWS,
    hc_model: str = "VVV",
    hc_use: str = "SVD",
    as_frame: bool | str = "auto",
    n_jobs: int | None = None,
    sample_weight: ArrayLike | None = None,
    random_state: RandomStateLike = None,
    verbose: int = 0,
    **params: Any,
) -> tuple[GaussianMixture, Any]:
    """Fit a GaussianMixture for every (K, covariance model) and keep the best.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default=range(1, 10)
        Numbers of components to try (mclust's G = 1..9).
    covariance_types : iterable of str or None, default=None
        The models to try: mclust names (EII ... VVV, E, V) or scikit-learn
        names (full, tied, diag, spherical). None: mclust's 14 models, or E
        and V for one feature.
    criterion : {"bic", "aic", "icl"}, default="bic"
    bic_convention : {"sklearn", "mclust"}, default="sklearn"
        The sign of the criteria in the table (see the module docstring):
        scikit-learn's -2 log L + penalty (lower is better) or mclust's
        2 log L - penalty (higher is better).
    init_params : str, default="hc"
        The start of every fit: "hc", the partition of one model-based
        hierarchical clustering tree (mclust's default), or a
        GaussianMixture initialiser ("kmeans", "k-means++", ...) with
        ``n_init`` restarts.
    n_init : int, default=1
        Restarts of a random ``init_params`` per fit (the hc start is one).
    kmeans_starts : int, default=0
        Extra k-means++ starts per fit; the highest log-likelihood is kept.
    warm_starts : {True, False, "all"}, default=True
        True: refit every K whose log-likelihood is below its model's K - 1
        fit from that fit with its widest component split and from the
        K + 1 fit with two components merged; "all": try both for every
        fit; False: never.
    stop_hopeless : bool, default=True
        Stop a fit early once its BIC cannot come within 10 of the best BIC
        of a smaller K (marked ``stopped`` in the table).
    hc_subset : int, default=2000
        Hierarchical clustering runs on at most this many rows (a random
        subset, with a warning, when X has more; mclust's ``subset``).
    hc_model : {"VVV", "EII"}, default="VVV"
    hc_use : {"SVD", "VARS"}, default="SVD"
        The criterion and the transformation of the hierarchical clustering
        (mclust's ``hcModelName`` and ``hcUse``).
    as_frame : {"auto", True, False}, default="auto"
        Return the table as a pandas DataFrame ("auto": when pandas is
        installed) or as a list of dicts.
    n_jobs : int or None, default=None
        Fits run in this many processes (-1: every core); the result is the
        serial run's.
    sample_weight : array-like of shape (n_samples,), optional
    random_state : int, RandomState, Generator or None
        Seeds the hc subset and the k-means++ starts (one seed for the grid,
        so the table is reproducible).
    verbose : int, default=0
        1: one line per round of fits on stderr.
    **params
        Other GaussianMixture parameters (tol, max_iter, reg_covar, missing,
        noise, ...). ``tol`` defaults to mclust's relative tolerance, 1e-5
        times the mean log-likelihood of a single Gaussian, and ``max_iter``
        to 1000.

    Returns
    -------
    best : GaussianMixture
        The fitted model with the best criterion among the clean fits (no
        error, converged, no degenerate component), with ``uncertainty_``
        (1 - the largest posterior probability of every row of X).
    table : pandas.DataFrame or list of dict
        One row per (model, K), in grid order: n_components,
        covariance_type, bic, aic, icl, log_likelihood (total),
        n_parameters, converged, n_iter, degenerate, stopped (stopped early
        as hopeless), monotone (False: a log-likelihood below the model's
        K - 1 fit by more than 10 x tol x n, EM's own tolerance, even after
        the warm starts), start (the start
        kept: "hc", "k-means++", "split K=..", "merge K=.."), error (None or
        the message), warnings (list of str), seconds, chosen (bool).

    Raises
    ------
    ValueError
        For an unknown criterion, convention or covariance model (listing
        the valid ones), a model that does not fit the number of features,
        an empty grid, a K larger than the number of distinct rows of X
        (refused before any fit), or when every fit failed (the first error
        is quoted).
    """
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
    shared = {"X": X, "sample_weight": weights, "estimator": GaussianMixture, "params": params,
              "hc_rows": hc_rows, "hc_weights": hc_weights, "cache": {}}
    starts = _starts(init_params, n_init, kmeans_starts, seed)
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
    best = _fitted_model(results[(k, model)], X, weights, params, names)
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
            ) -> list[tuple[str, int | None]]:
    """[(start, seed)] of every (K, model)."""
    draws = np.random.default_rng(seed).integers(2**31 - 1, size=n_init + kmeans_starts)
    main: list[tuple[str, int | None]] = [("hc", None)] if init_params == "hc" else [
        (init_params, int(s)) for s in draws[:n_init]]
    return main + [("k-means++", int(s)) for s in draws[n_init:]]


def _rounds(pool: TaskPool, models: list[str], ks: list[int],
            starts: list[tuple[str, int | None]], labels: dict[int, IntArray],
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


def _fitted_model(result: FitResult, X: FloatArray, weights: FloatArray | None,
                  params: dict[str, Any], names: Any) -> GaussianMixture:
    """The chosen fit as a fitted GaussianMixture (``from_parameters``), with ``uncertainty_``."""
    row, fitted = result.row, result.params
    assert fitted is not None and fitted.covariances is not None  # a fit without error
    dtype = X.dtype if X.dtype == np.float32 and params.get("dtype") is None else np.float64
    lower_bounds = [float(b) for b in result.lower_bounds]
    noise = params.get("noise") is not None
    model = GaussianMixture.from_parameters(
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
