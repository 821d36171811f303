"""Conditioning and marginalising a fitted mixture: the public functions.

The maths are :mod:`gmmkit.estimators.conditioning` (see its docstring and
docs/conditioning.md); these functions only choose the class of the models
they return: the model's own for a GaussianMixture, GaussianMixture for a
BayesianGaussianMixture (the mixture of its point estimates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gmmkit.estimators import conditioning
from gmmkit.estimators.conditioning import check_mixture, conditional_moments
from gmmkit.estimators.mixture import GaussianMixture

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

    from gmmkit.engine.types import IntArray
    from gmmkit.estimators.conditioning import Indices, Mixture

__all__ = ["condition", "conditional_moments", "marginal", "fitted_mixture", "check_mixture"]


def mixture_class(model: Mixture) -> type[GaussianMixture]:
    """The class of the models built from ``model``: its own for a GaussianMixture
    (or subclass), GaussianMixture for anything else (a BayesianGaussianMixture)."""
    return type(model) if isinstance(model, GaussianMixture) else GaussianMixture


def marginal(model: Mixture, indices: Indices) -> GaussianMixture:
    """The marginal mixture of the features ``indices`` (:func:`conditioning.marginal`).

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        Fitted.
    indices : int, str or sequence of int or str

    Returns
    -------
    GaussianMixture
    """
    return conditioning.marginal(model, indices, cls=mixture_class(model))


def condition(model: Mixture, indices: Indices, values: ArrayLike) -> GaussianMixture:
    """The mixture of the remaining features given ``x[indices] = values``
    (:func:`conditioning.condition`).

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        Fitted.
    indices : int, str or sequence of int or str
    values : float or array-like of shape (len(indices),)

    Returns
    -------
    GaussianMixture
    """
    return conditioning.condition(model, indices, values, cls=mixture_class(model))


def marginal_of(
    model: Mixture, index: IntArray, *, feature_names: NDArray[np.object_] | None = None
) -> GaussianMixture:
    """The marginal on validated indices (:func:`conditioning.marginal_of`).

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
    index : ndarray of int
    feature_names : ndarray or None

    Returns
    -------
    GaussianMixture
    """
    return conditioning.marginal_of(
        model, index, cls=mixture_class(model), feature_names=feature_names
    )


def fitted_mixture(
    template: Mixture,
    weights: ArrayLike,
    means: ArrayLike,
    covariances: ArrayLike,
    *,
    feature_names: NDArray[np.object_] | None = None,
    noise: tuple[ArrayLike, float] | None = None,
) -> GaussianMixture:
    """A fitted model like ``template`` with the given parameters
    (:func:`conditioning.fitted_mixture`; GaussianMixture for a BayesianGaussianMixture).

    Parameters
    ----------
    template : GaussianMixture or BayesianGaussianMixture
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, d)
    covariances : ndarray
        In the template's covariance-type layout for d features.
    feature_names : ndarray of shape (d,) or None
    noise : (ndarray of shape (d, 2), float) or None

    Returns
    -------
    GaussianMixture
    """
    return conditioning.fitted_mixture(
        template, mixture_class(template), weights, means, covariances,
        feature_names=feature_names, noise=noise,
    )
