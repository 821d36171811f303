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
points (see :func:`gmmkit.estimators.grid.collapsed_params`).

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

from typing import TYPE_CHECKING, Any

from gmmkit.engine.hc import HC_MAX_ROWS
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.estimators.plots import plot_criterion  # noqa: F401  (its old home)
from gmmkit.estimators.selection_run import run_selection

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import ArrayLike

    from gmmkit.engine.types import RandomStateLike


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
    return run_selection(
        GaussianMixture, X, n_components, covariance_types, criterion,
        bic_convention=bic_convention, init_params=init_params, n_init=n_init,
        kmeans_starts=kmeans_starts, warm_starts=warm_starts, stop_hopeless=stop_hopeless,
        hc_subset=hc_subset, hc_model=hc_model, hc_use=hc_use, as_frame=as_frame,
        n_jobs=n_jobs, sample_weight=sample_weight, random_state=random_state,
        verbose=verbose, **params,
    )
