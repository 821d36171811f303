"""select_model and n_components="auto" on files, chunk functions and Dask arrays.

Every (K, covariance model) of the grid is an ordinary ``GaussianMixture.fit``
in a thread of its own, on one :class:`gmmkit.data.shared_passes.SharedPasses`:
an EM iteration of every running fit costs one pass over the data (one
Dask computation on a cluster, where the grid's fits then run together),
and their initialisers share one sample of the rows. A last shared pass
scores every fit for the table (log-likelihood, BIC, AIC). The choice is
:func:`gmmkit.estimators.grid.choose`'s, as in memory.

What differs from the in-memory grid: no warm starts, no early stop of
hopeless fits, no ICL (it needs the responsibilities of every row), the
fits start from their ``init_params`` on the shared sample (``"hc"``: its
hierarchical clustering on at most 2000 of its rows), ``tol`` defaults to
GaussianMixture's 1e-3, and the chosen model has no ``uncertainty_`` (call
``uncertainty(X, out=...)``).
"""

from __future__ import annotations

import numbers
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.settings import DataSettings
from gmmkit.data.shared_passes import SharedPasses
from gmmkit.data.sources import open_source
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.criteria import information_criteria, n_parameters
from gmmkit.engine.mclust_models import check_model_dimensions, default_models
from gmmkit.engine.rng import make_rng
from gmmkit.estimators.components import mixture_params
from gmmkit.estimators.grid import CRITERIA, choose, collapsed_params
from gmmkit.estimators.selection_fits import empty_row
from gmmkit.estimators.selection_table import apply_convention, as_table
from gmmkit.exceptions import ConvergenceWarning

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import ArrayLike

    from gmmkit.engine.types import RandomStateLike
    from gmmkit.estimators.mixture import GaussianMixture


def select_stream(
    estimator: type[GaussianMixture],
    X: Any,
    n_components: int | Iterable[int],
    covariance_types: str | Iterable[str] | None,
    criterion: str = "bic",
    *,
    bic_convention: str = "sklearn",
    init_params: str = "kmeans",
    n_init: int = 1,
    as_frame: bool | str = False,
    sample_weight: ArrayLike | None = None,
    random_state: RandomStateLike = None,
    **params: Any,
) -> tuple[GaussianMixture, Any]:
    """The grid of :func:`gmmkit.select_model` on a file, chunk function or Dask array.

    Parameters
    ----------
    estimator : type
        GaussianMixture (the class of the fits).
    X : str, os.PathLike, numpy.memmap, callable or dask.array.Array
    n_components, covariance_types, criterion, bic_convention, init_params, n_init,
    as_frame, sample_weight, random_state, **params
        As :func:`gmmkit.select_model` (criterion "bic" or "aic").

    Returns
    -------
    best : GaussianMixture
    table : list of dict or pandas.DataFrame
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion={criterion!r} is not supported; use one of {CRITERIA}.")
    if criterion == "icl":
        raise ValueError("criterion='icl' needs the data in memory (the entropy of every row's "
                         "responsibilities); use 'bic' or 'aic' for files and Dask arrays.")
    for name in ("weights_init", "means_init", "precisions_init"):
        if params.get(name) is not None:
            raise ValueError(f"select_model cannot take {name} (the shapes of weights_init, "
                             "means_init and precisions_init depend on K); fit "
                             "GaussianMixture with them for one K.")
    ks = _ks(n_components)
    source = open_source(X)
    assert source is not None  # (select_model sends only these here)
    template = estimator(max(ks), **params)
    template.check_params()
    settings = DataSettings(max(ks), "full", chunk_size=template.chunk_size,
                            dtype=template.dtype, noise=template.noise is not None,
                            missing=template.missing)
    data, names, bounds = source.prepare(settings, sample_weight)
    n_features = data.n_features
    models = list(default_models(n_features) if covariance_types is None else
                  ((covariance_types,) if isinstance(covariance_types, str) else
                   covariance_types))
    for name in models:
        get_covariance_type(name)
        check_model_dimensions(name, n_features)
    grid = [(k, m) for m in models for k in ks]
    seed = int(make_rng(random_state).integers(2**31 - 1))
    passes = SharedPasses(data, names, bounds, len(grid), seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the table says "converged"
        with ThreadPoolExecutor(max_workers=len(grid)) as pool:
            fits = list(pool.map(
                lambda point: _fit(estimator, passes, point, init_params, n_init, random_state,
                                   params), grid))
    rows = _score(passes, fits, bounds, template.reg_covar)
    best_index = choose(rows, criterion)
    rows[best_index]["chosen"] = True
    best = fits[best_index][0]
    assert best is not None  # (choose picks a fit without error)
    return best, as_table(apply_convention(rows, bic_convention), as_frame)


def _ks(n_components: int | Iterable[int]) -> list[int]:
    counts: Iterable[Any] = (
        (n_components,) if isinstance(n_components, (int, numbers.Integral))
        else n_components
    )
    ks = []
    for k in counts:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_components must hold integers >= 1; got {k!r}")
        ks.append(int(k))
    if not ks:
        raise ValueError("the grid is empty; give at least one K and one covariance type.")
    return ks


def _fit(
    estimator: type[GaussianMixture], passes: SharedPasses, point: tuple[int, str],
    init_params: str, n_init: int, random_state: RandomStateLike, params: dict[str, Any],
) -> tuple[GaussianMixture | None, dict[str, Any]]:
    """One fit of the grid on the shared passes (in a thread): (model or None, its row)."""
    k, model_name = point
    row = empty_row(k, model_name, init_params)
    started = time.perf_counter()
    try:
        model = estimator(k, covariance_type=model_name, init_params=init_params,
                          n_init=n_init, random_state=random_state, **params)
        model.fit(passes.source())  # type: ignore[arg-type]  # (a source fit opens itself)
    except ValueError as exc:
        row["error"] = " ".join(str(exc).split())
        return None, row
    finally:
        passes.done()
        row["seconds"] = time.perf_counter() - started
    row.update(converged=bool(model.converged_), n_iter=int(model.n_iter_))
    return model, row


def _score(
    passes: SharedPasses, fits: list[tuple[GaussianMixture | None, dict[str, Any]]],
    bounds: Any, reg_covar: float,
) -> list[dict[str, Any]]:
    """The table's rows: one more shared pass gives every fit's log-likelihood."""
    fitted = [(model, row) for model, row in fits if model is not None]
    requests = [(model.covariance_type, mixture_params(model), np.dtype(np.float64))
                for model, _ in fitted]
    totals = passes.run(requests) if requests else []
    for (model, row), stats in zip(fitted, totals):
        k, d = model.means_.shape
        p = n_parameters(model.covariance_type, k, d, noise=bounds is not None)
        bic, aic = information_criteria(stats.loglik, stats.weight, p)
        row.update(bic=float(bic), aic=float(aic), log_likelihood=float(stats.loglik),
                   n_parameters=p)
        if collapsed_params(model.covariance_type, model.weights_, model.means_,
                            model.covariances_, reg_covar):
            row["degenerate"] = True
            row["warnings"].append("a component collapsed: its covariance is at the "
                                   "reg_covar floor, so its likelihood is unbounded")
    return [row for _, row in fits]
