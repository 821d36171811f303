"""Imputation: fill the NaN entries of X from a fitted mixture (``gmmkit.impute``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.data.missing import make_missing_data
from gmmkit.data.settings import chunk_rows
from gmmkit.data.validation import check_int
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.noise import draw_noise
from gmmkit.engine.rng import make_rng
from gmmkit.estimators import rowwise
from gmmkit.estimators.base import check_fitted_input
from gmmkit.estimators.conditioning import check_mixture, conditional_moments

if TYPE_CHECKING:
    from gmmkit.engine.missing import Pattern
    from gmmkit.engine.types import FitInput, FloatArray, PathLike, RandomStateLike
    from gmmkit.estimators.conditioning import Mixture


def impute(
    model: Mixture,
    X: FitInput,
    *,
    strategy: str = "mean",
    n_draws: int | None = None,
    random_state: RandomStateLike = None,
    out: PathLike | None = None,
    overwrite: bool = False,
) -> FloatArray:
    """Fill the NaN entries of X from a fitted mixture.

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        Fitted (with any ``missing`` setting). A BayesianGaussianMixture
        imputes from the mixture of its point estimates (``weights_``,
        ``means_``, ``covariances_``). Other estimators are refused with a
        TypeError saying which mixture to pass (a GMMClassifier's
        ``estimators_[i]``, a GaussianMixtureRegressor's ``gmm_``).
    X : array-like of shape (n_samples, n_features), or what ``fit`` takes
        NaN marks a missing value. A ``.npy`` path, a file memmap, a chunk
        function is completed block by block; a Dask array gives a lazy
        Dask array (docs/scale.md); both with ``strategy="mean"`` only.
    strategy : {"mean", "draw"}, default="mean"
        "mean": the conditional mean E[x_m | x_o] under the mixture (the
        best guess in squared error). "draw": a random draw from the
        conditional mixture p(x_m | x_o), for multiple imputation.
    n_draws : int, optional
        With ``strategy="draw"``: return this many independent completions
        (an integer >= 1; 2.7 is refused, not rounded).
    random_state : int, Generator or None
        Seeds the draws.
    out : str or os.PathLike, optional
        Write the completed rows to this ``.npy`` file a block at a time and
        return it memory-mapped (:func:`gmmkit.map_rows`).
    overwrite : bool, default=False
        Replace ``out`` when it exists.

    Returns
    -------
    ndarray of shape (n_samples, n_features), or (n_draws, n_samples, n_features)
        X with every NaN filled; observed values are kept as they are.
    """
    check_mixture(model, "impute")
    if strategy not in ("mean", "draw"):
        raise ValueError(f"strategy={strategy!r} is not supported; use 'mean' or 'draw'.")
    if n_draws is not None:
        if strategy != "draw":
            raise ValueError(
                f"n_draws needs strategy='draw' (got strategy={strategy!r}); pass "
                "strategy='draw' or leave n_draws out."
            )
        check_int("n_draws", n_draws, 1)
    if not rowwise.in_memory(X, out):
        if strategy != "mean":
            raise ValueError(
                "strategy='draw' needs X in memory (its draws depend on every row); "
                "pass an array, or use strategy='mean' on files and Dask arrays."
            )
        model.check_is_fitted()
        return rowwise.map_rows(partial(impute, model), X, n_features=model.n_features_in_,
                                out=out, overwrite=overwrite, name=type(model).__name__)
    X = np.array(check_fitted_input(model, X), dtype=np.float64)
    rng = make_rng(random_state)
    completions = [X.copy() for _ in range(1 if n_draws is None else int(n_draws))]
    work = np.dtype(np.float64)
    rows = chunk_rows(
        model.chunk_size, model.covariance_type, len(model.weights_), X.shape[1], work
    )
    data = make_missing_data(X, None, work, rows, fallback_center=model.weights_ @ model.means_)
    for pattern in [] if data is None else data.patterns:
        if pattern.missing.size == 0:
            continue
        weights, means, C = _conditional_mixtures(model, X, pattern)
        bounds = getattr(model, "noise_bounds_", None)
        box = None if bounds is None else bounds[pattern.missing]
        for completion in completions:
            completion[np.ix_(pattern.rows, pattern.missing)] = (
                _conditional_mean(weights, means, box)
                if strategy == "mean"
                else _draw(weights, means, C, box, rng)
            )
    return completions[0] if n_draws is None else np.stack(completions)


def _conditional_mixtures(
    model: Mixture, X: FloatArray, pattern: Pattern
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each row's conditional mixture of the pattern's missing features.

    Returns
    -------
    weights : (n, K) or (n, K + 1) with the noise component last
    means : (n, K, m)
    C : (K, m, m)
    """
    o, m = pattern.observed, pattern.missing
    if o.size:
        return conditional_moments(model, X[np.ix_(pattern.rows, o)], o, m)
    cov_type = get_covariance_type(model.covariance_type)
    dense = cov_type.dense(model.covariances_, *model.means_.shape)
    weights = model.weights_
    if hasattr(model, "noise_bounds_"):
        weights = np.append(weights, model.noise_weight_)
    n = pattern.rows.size
    means = np.broadcast_to(model.means_[:, m], (n,) + model.means_[:, m].shape)
    return np.broadcast_to(weights, (n, weights.size)), means, dense[:, m][:, :, m]


def _conditional_mean(weights: FloatArray, means: FloatArray, box: FloatArray | None) -> FloatArray:
    """E[x_m | x_o]: (n, m); the noise component's mean is the middle of its box."""
    n_components = means.shape[1]
    mean = np.einsum("nk,nkm->nm", weights[:, :n_components], means)
    if box is not None:
        mean += weights[:, n_components:] * box.mean(axis=1)
    return mean


def _draw(
    weights: FloatArray,
    means: FloatArray,
    C: FloatArray,
    box: FloatArray | None,
    rng: np.random.Generator,
) -> FloatArray:
    """One draw per row from its conditional mixture: (n, m)."""
    n, n_components, width = means.shape
    cumulative = np.cumsum(weights, axis=1)
    u = rng.uniform(size=(n, 1)) * cumulative[:, -1:]
    components = np.minimum((cumulative < u).sum(axis=1), weights.shape[1] - 1)
    draws = np.empty((n, width))
    for k in np.unique(components):
        rows = np.flatnonzero(components == k)
        if k == n_components:  # the noise component
            draws[rows] = draw_noise(box, rows.size, rng)  # type: ignore[arg-type]  # (noise: a box)
            continue
        chol = np.linalg.cholesky(C[k] + 1e-12 * np.eye(width))
        draws[rows] = means[rows, k] + rng.standard_normal((rows.size, width)) @ chol.T
    return draws
