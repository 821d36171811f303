"""Model selection: fit a grid of K x covariance type, keep the best by BIC, AIC or ICL.

Every fit of the grid is a row of the returned table, including fits that
failed (with their error), did not converge, or had a degenerate
component; such fits are never chosen while a clean fit exists, and when
none does the choice says so with a warning instead of picking silently.
A fit is degenerate when a component was re-seeded or floored during EM
(DegenerateComponentWarning) or collapsed onto repeated points (its
covariance at the reg_covar floor along a direction in which the data
spread, see :func:`gmmkit.estimators.grid.collapsed`): its likelihood, and so its BIC, mean
nothing.

Criteria (lower is better; n is the total sample weight, p the number of
free parameters, log L the total log-likelihood):

- ``bic`` = -2 log L + p log n
- ``aic`` = -2 log L + 2 p
- ``icl`` = BIC + 2 EN, with EN = -sum_n w_n sum_k z_nk log z_nk the
  entropy of the responsibilities (Biernacki, Celeux and Govaert, 2000):
  BIC penalised for overlapping components, so it prefers well-separated
  clusters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gmmkit.estimators.grid import fit_grid
from gmmkit.estimators.mixture import GaussianMixture

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

    from gmmkit.engine.types import PathLike, RandomStateLike


def select_model(
    X: ArrayLike,
    n_components: int | Iterable[int] = range(1, 11),
    covariance_types: str | Iterable[str] = ("full", "tied", "diag", "spherical"),
    criterion: str = "bic",
    *,
    n_init: int = 1,
    n_jobs: int | None = None,
    sample_weight: ArrayLike | None = None,
    random_state: RandomStateLike = None,
    **params: Any,
) -> tuple[GaussianMixture, list[dict[str, Any]]]:
    """Fit a GaussianMixture for every (K, covariance type) and keep the best.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default=range(1, 11)
        Numbers of components to try.
    covariance_types : iterable of str, default=all four
    criterion : {"bic", "aic", "icl"}, default="bic"
    n_init : int, default=1
        Restarts per fit.
    n_jobs : int or None, default=None
        Fits run in this many processes (-1: every core); the result is the
        serial run's.
    sample_weight : array-like of shape (n_samples,), optional
    random_state : int, RandomState, Generator or None
        Every fit of the grid gets the same seed (drawn once from a
        RandomState or Generator), so the table is reproducible.
    **params
        Other GaussianMixture parameters (tol, max_iter, reg_covar, missing,
        noise, ...).

    Returns
    -------
    best : GaussianMixture
        The fitted model with the lowest criterion among the clean fits
        (no error, converged, no degenerate component).
    table : list of dict
        One row per fit, in grid order: n_components, covariance_type, the
        three criteria bic/aic/icl, log_likelihood (total), n_parameters,
        converged, n_iter, degenerate, error (None or the message),
        warnings (list of str), seconds, chosen (bool).

    Raises
    ------
    ValueError
        For an unknown criterion or covariance type, an empty grid, a K
        larger than the number of distinct rows of X (refused before any
        fit, without listing ``n_components``), or when every fit failed
        (the first error is quoted).
    """
    return fit_grid(
        GaussianMixture,
        X,
        n_components,
        covariance_types,
        criterion,
        n_init=n_init,
        n_jobs=n_jobs,
        sample_weight=sample_weight,
        random_state=random_state,
        **params,
    )


def plot_criterion(
    table: Sequence[Mapping[str, Any]], criterion: str, path: PathLike, *, title: str | None = None
) -> None:
    """Draw the criterion against K, one line per covariance type, into a PNG file.

    Parameters
    ----------
    table : list of dict
        As returned by :func:`select_model`.
    criterion : {"bic", "aic", "icl"}
    path : str or PathLike
    title : str, optional

    Raises
    ------
    ImportError
        Without matplotlib, with the command that installs it.
    """
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install 'gmmkit[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for covariance_type in dict.fromkeys(row["covariance_type"] for row in table):
        rows = [r for r in table if r["covariance_type"] == covariance_type and r[criterion]]
        axes.plot([r["n_components"] for r in rows], [r[criterion] for r in rows], "o-",
                  label=covariance_type)
    chosen = [r for r in table if r["chosen"]]
    if chosen:
        axes.plot(chosen[0]["n_components"], chosen[0][criterion], "k*", markersize=16,
                  label=f"chosen: K={chosen[0]['n_components']}, {chosen[0]['covariance_type']}")
    _focus(axes, table, criterion)
    axes.set_xlabel("number of components K")
    axes.set_ylabel(f"{criterion.upper()} (lower is better)")
    axes.legend()
    if title:
        axes.set_title(title)
    figure.savefig(path, dpi=96, bbox_inches="tight")
    plt.close(figure)


def _focus(axes: Axes, table: Sequence[Mapping[str, Any]], criterion: str) -> None:
    """Zoom the y axis onto the low part where the curves compete (every curve's minimum shows).

    One poor covariance type can sit far above the rest and flatten them.
    """
    values = [r[criterion] for r in table if r[criterion] is not None]
    per_type: dict[str, list[float]] = {}
    for r in table:
        if r[criterion] is not None:
            per_type.setdefault(r["covariance_type"], []).append(r[criterion])
    lowest, worst_minimum = min(values), max(min(v) for v in per_type.values())
    span = max(worst_minimum - lowest, 1e-9 + 0.02 * abs(lowest))
    top = min(max(values), worst_minimum + 0.5 * span)
    axes.set_ylim(lowest - 0.05 * span, top + 0.05 * span)
