"""Fitting a grid of K x covariance type and choosing from it (model selection's engine room).

:func:`gmmkit.select_model` and ``GaussianMixture(n_components="auto")`` both
run :func:`fit_grid`; it takes the estimator class, so this module imports
no estimator (see :mod:`gmmkit.estimators.selection` for the criteria and
what "degenerate" means).
"""

from __future__ import annotations

import numbers
import time
import warnings
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from gmmkit.data.sources import open_source
from gmmkit.data.validation import check_array, check_sample_weight, feature_names
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.criteria import information_criteria, n_parameters
from gmmkit.engine.processes import run_tasks
from gmmkit.engine.rng import make_rng
from gmmkit.exceptions import ConvergenceWarning, DegenerateComponentWarning

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import NoReturn

    from numpy.typing import ArrayLike, NDArray

    from gmmkit.engine.types import AnyArray, FitInput, FloatArray, RandomStateLike
    from gmmkit.estimators.mixture import GaussianMixture

#: the estimator class of the grid's fits (GaussianMixture or a subclass)
M = TypeVar("M", bound="GaussianMixture")

CRITERIA = ("bic", "aic", "icl")


def fit_grid(
    estimator: type[M],
    X: ArrayLike,
    n_components: int | Iterable[int],
    covariance_types: str | Iterable[str],
    criterion: str,
    *,
    n_init: int = 1,
    n_jobs: int | None = None,
    sample_weight: ArrayLike | None = None,
    random_state: RandomStateLike = None,
    **params: Any,
) -> tuple[M, list[dict[str, Any]]]:
    """:func:`gmmkit.select_model` with the ``estimator`` class of the fits.

    Parameters and results as :func:`gmmkit.estimators.selection.select_model`;
    ``estimator`` is the class (called as ``estimator(K, covariance_type=...,
    **params)``).
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion={criterion!r} is not supported; use one of {list(CRITERIA)}")
    X = check_array(X)
    weights = check_sample_weight(sample_weight, X.shape[0])
    grid = grid_points(n_components, covariance_types, X if weights is None else X[weights > 0])
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        random_state = int(make_rng(random_state).integers(2**31 - 1))
    shared = {
        "X": X,
        "sample_weight": weights,
        "params": {**params, "n_init": n_init, "random_state": random_state},
        "estimator": estimator,
    }
    results = run_tasks(fit_one, grid, shared, n_jobs)
    table = [row for row, _ in results]
    models = [model for _, model in results]
    best = choose(table, criterion)
    table[best]["chosen"] = True
    chosen = models[best]
    assert chosen is not None  # (choose picks a fit without error)
    return chosen, table


def grid_points(
    n_components: int | Iterable[int], covariance_types: str | Iterable[str], X: AnyArray
) -> list[tuple[int, str]]:
    """[(K, covariance type), ...] validated, in the order given; K <= distinct rows of X.

    Raises
    ------
    ValueError
        For an unknown covariance type (listing the valid ones), a K that is
        not an integer >= 1 or above the number of distinct rows of X, or
        an empty grid.
    """
    if isinstance(covariance_types, str):
        covariance_types = (covariance_types,)
    covariance_types = list(covariance_types)
    for name in covariance_types:
        get_covariance_type(name)  # an unknown name lists the valid ones
    counts: Iterable[Any] = (
        (n_components,) if isinstance(n_components, (int, numbers.Integral)) else n_components
    )
    if isinstance(counts, range) and counts:
        largest = max(counts[0], counts[-1])  # without listing the range
        if largest > X.shape[0]:
            _too_many(largest, X)
    ks = []
    for k in counts:  # not list(): range(1, 10**9) must be refused, not built
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_components must hold integers >= 1; got {k!r}")
        if k > X.shape[0]:
            _too_many(k, X)
        ks.append(int(k))
    if ks:
        largest = max(ks)
        if n_distinct_rows(X, up_to=largest) < largest:
            _too_many(largest, X)
    grid = [(int(k), c) for c in covariance_types for k in ks]
    if not grid:
        raise ValueError("the grid is empty; give at least one K and one covariance type.")
    return grid


def _too_many(k: int | numbers.Integral, X: AnyArray) -> NoReturn:
    distinct = n_distinct_rows(X)
    raise ValueError(
        f"n_components holds K={k}, but X has only {distinct} distinct rows (with non-zero "
        f"weight), and a mixture cannot have more components than distinct rows; use K <= "
        f"{distinct}."
    )


def n_distinct_rows(X: ArrayLike, *, up_to: int | None = None) -> int:
    """The number of distinct rows of X; with ``up_to``, counting may stop once it is reached.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    up_to : int, optional
        Only whether there are at least ``up_to`` distinct rows matters: a
        head of X is counted first, and all of X only when the head holds
        fewer.

    Returns
    -------
    int
        The exact count, or a count >= ``up_to`` when there are that many.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        return int(X.shape[0]) if X.ndim else 0
    if up_to is not None and 4 * up_to < X.shape[0]:
        found = len(np.unique(X[: 4 * up_to], axis=0))
        if found >= up_to:
            return found
    return len(np.unique(X, axis=0))


def fit_one(
    task: tuple[int, str],
    *,
    X: AnyArray,
    sample_weight: FloatArray | None,
    params: dict[str, Any],
    estimator: type[M],
) -> tuple[dict[str, Any], M | None]:
    """Fit one grid point with the ``estimator`` class; return (table row, fitted model or
    None). Runs in workers."""
    n_components, covariance_type = task
    row: dict[str, Any] = {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "bic": None,
        "aic": None,
        "icl": None,
        "log_likelihood": None,
        "n_parameters": None,
        "converged": False,
        "n_iter": 0,
        "degenerate": False,
        "error": None,
        "warnings": [],
        "seconds": 0.0,
        "chosen": False,
    }
    model: M | None
    model = estimator(n_components, covariance_type=covariance_type, **params)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, sample_weight=sample_weight)
        except ValueError as exc:
            row["error"] = " ".join(str(exc).split())
            model = None
    row["seconds"] = time.perf_counter() - start
    row["warnings"] = list(dict.fromkeys(str(w.message) for w in caught))
    row["degenerate"] = any(issubclass(w.category, DegenerateComponentWarning) for w in caught)
    if model is not None and collapsed(model):
        row["degenerate"] = True
        row["warnings"].append(
            "a component collapsed: its covariance is at the reg_covar floor (it sits on "
            "repeated or nearly collinear points), so its likelihood is unbounded"
        )
    if model is not None:
        row.update(criteria(model, X, sample_weight))
        row["converged"] = bool(model.converged_)
        row["n_iter"] = int(model.n_iter_)
    return row, model


def collapsed(
    model: GaussianMixture, floor_factor: float = 2.0, spread_factor: float = 100.0
) -> bool:
    """True when a component has collapsed onto repeated or nearly collinear points.

    A component has collapsed when, along some direction, its covariance
    is at the reg_covar floor (at most ``floor_factor`` x reg_covar) while
    the mixture as a whole spreads along that direction (more than
    ``spread_factor`` x reg_covar). Its density, and so the log-likelihood
    and BIC of the fit, then grow without bound as reg_covar shrinks.
    mclust reports no BIC for such fits; gmmkit keeps them in the table,
    marked degenerate, and does not choose them while a clean fit exists.
    A feature that is constant in the data (every component at the floor
    along it) is not a collapse.
    """
    return collapsed_params(
        model.covariance_type, model.weights_, model.means_, model.covariances_,
        model.reg_covar, floor_factor, spread_factor,
    )


def collapsed_params(
    covariance_type: str, weights: FloatArray, means: FloatArray, covariances: FloatArray,
    reg_covar: float, floor_factor: float = 2.0, spread_factor: float = 100.0,
) -> bool:
    """:func:`collapsed` from a mixture's parameters (covariances in the type's layout)."""
    cov_type = get_covariance_type(covariance_type)
    dense = cov_type.dense(covariances, *means.shape)
    weights = weights / weights.sum()
    offsets = means - weights @ means
    spread = np.einsum("k,kij->ij", weights, dense) + np.einsum(
        "k,ki,kj->ij", weights, offsets, offsets
    )
    floor = floor_factor * reg_covar
    for values, vectors in zip(*np.linalg.eigh(dense)):
        thin = vectors[:, values <= floor]
        if thin.size and np.any(np.einsum("ij,ik,kj->j", thin, spread, thin)
                                > spread_factor * reg_covar):
            return True
    return False


def criteria(
    model: GaussianMixture, X: AnyArray, sample_weight: FloatArray | None = None
) -> dict[str, Any]:
    """BIC, AIC, ICL, total log-likelihood and free parameters of a fitted model."""
    log_lik = model.score_samples(X)
    if sample_weight is None:
        total, n = float(log_lik.sum()), float(len(log_lik))
    else:
        total, n = float(sample_weight @ log_lik), float(sample_weight.sum())
    n_components, n_features = model.means_.shape
    p = int(n_parameters(
        model.covariance_type, n_components, n_features, noise=hasattr(model, "noise_bounds_")
    ))
    bic, aic = information_criteria(total, n, p)
    return {
        "bic": bic,
        "aic": aic,
        "icl": model.icl(X, sample_weight),
        "log_likelihood": total,
        "n_parameters": p,
    }


def choose(table: Sequence[Mapping[str, Any]], criterion: str) -> int:
    """Index of the best row: the lowest criterion among clean fits, with a fallback.

    Clean: no error, converged, no degenerate component. Without a clean
    fit, the best converged fit, then the best fit at all, with a warning
    naming why; every fit failed is a ValueError.
    """
    fitted = [i for i, row in enumerate(table) if row["error"] is None]
    if not fitted:
        raise ValueError(f"every fit of the grid failed; the first error: {table[0]['error']}")
    converged = [i for i in fitted if table[i]["converged"]]
    clean = [i for i in converged if not table[i]["degenerate"]]
    pool = clean or converged or fitted
    pool = [i for i in pool if table[i][criterion] is not None] or fitted  # no ICL: stopped
    best = min(pool, key=lambda i: table[i][criterion])
    if not clean:
        problem = "had a degenerate component" if converged else "did not converge"
        warnings.warn(
            f"no fit of the grid was clean: the chosen one (K={table[best]['n_components']}, "
            f"{table[best]['covariance_type']}) {problem}. Increase max_iter or reg_covar, or "
            "narrow the grid; the table lists every fit.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best


def fit_auto(
    model: GaussianMixture,
    X: FitInput,
    sample_weight: ArrayLike | None,
    max_components: int,
    estimator: type[GaussianMixture],
) -> tuple[GaussianMixture, list[dict[str, Any]], NDArray[np.object_] | None]:
    """``n_components="auto"``: fit K = 1..max_components with ``model``'s settings by BIC.

    The grid's fits are ``estimator`` instances (GaussianMixture passes
    itself); ``model`` is only read. GaussianMixture then takes the chosen
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
    if isinstance(X, np.memmap):
        X = np.asarray(X)  # a memmap is an array: the grid reads it like one
    if open_source(X) is not None:
        raise ValueError(
            "n_components='auto' needs the data in memory (it fits a grid of models); give "
            "an integer n_components for files, chunk functions and Dask arrays, or choose K "
            "with gmmkit.select_model on a sample."
        )
    if any(v is not None for v in (model.weights_init, model.means_init, model.precisions_init)):
        raise ValueError(
            "n_components='auto' cannot take weights_init, means_init or "
            "precisions_init (their shapes depend on K); give an integer n_components."
        )
    names = feature_names(X)
    X = check_array(X)
    weights = check_sample_weight(sample_weight, X.shape[0])
    n_rows = n_distinct_rows(X if weights is None else X[weights > 0], up_to=max_components)
    params = model.get_params()
    for name in ("n_components", "covariance_type", "n_init", "random_state", "warm_start"):
        params.pop(name)
    best, table = fit_grid(
        estimator,
        X,
        range(1, max(1, min(max_components, n_rows)) + 1),
        (model.covariance_type,),
        "bic",
        n_init=model.n_init,
        random_state=model.random_state,
        sample_weight=weights,
        **params,
    )
    return best, table, names
