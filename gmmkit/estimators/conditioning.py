"""Marginals and conditionals of a fitted Gaussian mixture, exact for every covariance type.

For a mixture sum_k pi_k N(x | mu_k, Sigma_k) whose features are split into
observed ``o`` and remaining (missing) ``m``:

- the **marginal** on ``o`` is sum_k pi_k N(x_o | mu_k,o, Sigma_k,oo): the
  same weights, the sub-vectors of the means and the sub-blocks of the
  covariances;
- the **conditional** of ``x_m`` given ``x_o = v`` is again a mixture, with

  - weights    w_k ∝ pi_k N(v | mu_k,o, Sigma_k,oo)   (the marginal's posterior),
  - means      mu_k,m + B_k (v - mu_k,o),  B_k = Sigma_k,mo Sigma_k,oo^-1,
  - covariances C_k = Sigma_k,mm - B_k Sigma_k,om.

The covariance type is kept: tied components share one C (B and C depend
only on the shared covariance), diag and spherical components have B = 0
and C the variances of the remaining features.  The results are fitted
:class:`~gmmkit.estimators.mixture.GaussianMixture` objects (``predict``,
``score_samples``, ``sample`` ... work on them), with float64 attributes.

The weights w_k are computed per row in log space with the direct
quadratic form (:mod:`gmmkit.engine.posterior`), so an observation far from
every component still gets the right, nearly one-hot weights, and a
row's weights never depend on the other rows.

A :class:`~gmmkit.estimators.bayesian.BayesianGaussianMixture` is conditioned as the
mixture of its point estimates (``weights_``, ``means_``,
``covariances_``, the mixture its ``sample`` draws from); the results are
GaussianMixture objects.

Functions take the model as their first argument, and the functions that
build a model take its class (``cls``), so that this module imports no
estimator: ``GaussianMixture.condition``/``marginal`` pass their own class,
the public functions of :mod:`gmmkit.estimators.conditional` choose
GaussianMixture for a BayesianGaussianMixture.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from gmmkit.data.validation import check_array
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.estimators.checks import MixtureChecks
from gmmkit.estimators.conditioner import MixtureConditioner

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Union

    from numpy.typing import ArrayLike, NDArray

    from gmmkit.engine.types import FloatArray, IntArray
    from gmmkit.estimators.bayesian import BayesianGaussianMixture
    from gmmkit.estimators.mixture import GaussianMixture

    Mixture = Union[GaussianMixture, BayesianGaussianMixture]
    #: feature indices: an int, a feature name, or a sequence of them
    Indices = Union[int, str, Sequence[Union[int, str]], NDArray[Any]]

#: the class of the model a function builds (GaussianMixture or a subclass)
M = TypeVar("M", bound="GaussianMixture")

#: constructor arguments that describe the original features; they do not
#: apply to a model over other features, so derived models reset them
_FEATURE_SHAPED_PARAMS = ("means_init", "precisions_init")


def marginal(model: Mixture, indices: Indices, *, cls: type[M]) -> M:
    """The marginal mixture of the features ``indices``.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model over D features.
    indices : int, str or sequence of int or str
        Features to keep, in the order given (negative ints count from the
        end; names need ``model.feature_names_in_``).
    cls : type
        The class of the result (:func:`gmmkit.estimators.conditional.marginal`
        passes GaussianMixture or the model's own subclass of it).

    Returns
    -------
    GaussianMixture
        A fitted model over ``len(indices)`` features: the same weights,
        ``means_[:, indices]`` and the covariances' sub-blocks in the same
        covariance type.

    Raises
    ------
    NotFittedError
        If ``model`` is not fitted.
    ValueError
        For indices out of range, duplicated, empty or unknown names.
    """
    check_mixture(model, "marginal")
    index = resolve_indices(model, indices)
    return marginal_of(model, index, cls=cls, feature_names=_names(model, index))


def condition(model: Mixture, indices: Indices, values: ArrayLike, *, cls: type[M]) -> M:
    """The mixture of the remaining features given ``x[indices] = values``.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model over D features.
    indices : int, str or sequence of int or str
        The observed features (see :func:`marginal`).
    values : float or array-like of shape (len(indices),)
        Their observed values, in the order of ``indices``.
    cls : type
        The class of the result (see :func:`marginal`).

    Returns
    -------
    GaussianMixture
        A fitted model over the D - len(indices) remaining features, in
        their original order: weights ``w_k ∝ pi_k N(values | mu_k,o,
        Sigma_k,oo)``, means ``mu_k,m + B_k (values - mu_k,o)`` and
        covariances ``C_k`` in the model's covariance type.  Its
        ``score_samples(x_m)`` is log p(x_m | x_o = values).

    Raises
    ------
    NotFittedError
        If ``model`` is not fitted.
    ValueError
        For bad indices, when no feature would remain, or for values of
        the wrong length or that are not finite.
    """
    check_mixture(model, "condition")
    observed = resolve_indices(model, indices)
    missing = remaining_features(model.n_features_in_, observed)
    point = _check_values(values, len(observed))
    weights, means, covariances = conditional_moments(model, point[None, :], observed, missing)
    cov_type = get_covariance_type(model.covariance_type)
    n_components = model.means_.shape[0]
    return fitted_mixture(
        model,
        cls,
        weights[0, :n_components],
        means[0],
        cov_type.from_dense(covariances),
        feature_names=_names(model, missing),
        noise=_noise_part(model, missing, weights[0, n_components:].sum()),
    )


def conditional_moments(
    model: Mixture, X_obs: ArrayLike, observed: Indices, missing: Indices | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-row conditional mixtures of ``missing`` given the ``observed`` features.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model over D features.
    X_obs : array-like of shape (n_samples, len(observed))
        Values of the observed features, one row per sample; finite.
    observed : sequence of int
        Observed feature indices (names allowed, as in :func:`marginal`).
    missing : sequence of int, default=None
        Features to describe; None means all features not in ``observed``.

    Returns
    -------
    weights : ndarray of shape (n_samples, K)
        Posterior probability of each component given each row's observed
        values; (n_samples, K + 1) for a model with a noise component, whose
        column comes last.
    means : ndarray of shape (n_samples, K, len(missing))
        Each component's conditional mean for each row.
    covariances : ndarray of shape (K, len(missing), len(missing))
        Each component's conditional covariance (dense; the same for every row).

    Notes
    -----
    The weights are computed row by row in log space with the direct
    quadratic form (:func:`gmmkit.engine.posterior.posterior_weights`): exact for
    rows at any distance, each row's independent of the others. The means
    come from one product, data centred on the mixture's mean of the
    observed features.
    """
    check_mixture(model, "conditional_moments")
    observed, missing = feature_split(model, observed, missing)
    X_obs = _check_rows(X_obs, len(observed))
    return MixtureConditioner(model, observed, missing).moments(X_obs)


def feature_split(
    model: Mixture, observed: Indices, missing: Indices | None = None
) -> tuple[IntArray, IntArray]:
    """(observed, missing) feature indices, resolved and checked to be disjoint.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model over D features.
    observed : int, str or sequence of int or str
    missing : int, str or sequence of int or str, default=None
        None means all features not in ``observed``.

    Returns
    -------
    observed, missing : ndarray of int
    """
    index = resolve_indices(model, observed, name="observed")
    if missing is None:
        return index, remaining_features(model.n_features_in_, index)
    rest = resolve_indices(model, missing, name="missing")
    if np.intersect1d(index, rest).size:
        raise ValueError("observed and missing features overlap; pass disjoint sets of indices.")
    return index, rest


def marginal_of(
    model: Mixture,
    index: IntArray,
    *,
    cls: type[M],
    feature_names: NDArray[np.object_] | None = None,
) -> M:
    """The marginal on validated indices (a noise component keeps its weight)."""
    cov_type = get_covariance_type(model.covariance_type)
    return fitted_mixture(
        model,
        cls,
        model.weights_,
        model.means_[:, index],
        cov_type.select(model.covariances_, index),
        feature_names=feature_names,
        noise=_noise_part(model, index, getattr(model, "noise_weight_", 0.0)),
    )


def _noise_part(model: Mixture, index: IntArray, weight: float) -> tuple[FloatArray, float] | None:
    """(bounds of features ``index``, weight) of the model's noise component, or None."""
    bounds = getattr(model, "noise_bounds_", None)
    return None if bounds is None else (bounds[index], float(weight))


def fitted_mixture(
    template: Mixture,
    cls: type[M],
    weights: ArrayLike,
    means: ArrayLike,
    covariances: ArrayLike,
    *,
    feature_names: NDArray[np.object_] | None = None,
    noise: tuple[ArrayLike, float] | None = None,
    covariance_type: str | None = None,
) -> M:
    """A fitted model like ``template`` with the given parameters.

    Parameters
    ----------
    template : GaussianMixture or BayesianGaussianMixture
        Supplies the constructor arguments (``means_init`` and ``precisions_init``
        are reset: they describe other features) and ``converged_``,
        ``n_iter_``, ``lower_bound_``. The attributes are float64.
    cls : type
        The class of the result: GaussianMixture (or the template's own
        subclass of it); :mod:`gmmkit.estimators.conditional` chooses it.
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, d)
    covariances : ndarray
        In the template's covariance-type layout for d features.
    feature_names : ndarray of shape (d,) or None
    noise : (ndarray of shape (d, 2), float) or None
        The noise component's box and weight; None: no noise component.
    covariance_type : str or None
        The result's covariance type, of the template's layout; None: the
        template's.

    Returns
    -------
    GaussianMixture
        Made by ``cls.from_parameters``.
    """
    accepted = set(cls().get_params())
    params = {name: value for name, value in template.get_params().items() if name in accepted}
    params.update(dict.fromkeys(_FEATURE_SHAPED_PARAMS))
    if noise is None and "noise" in params:
        params["noise"] = None
    if covariance_type is not None:
        params["covariance_type"] = covariance_type
    training = {
        name: getattr(template, name)
        for name in ("converged_", "n_iter_", "lower_bound_", "lower_bounds_")
        if hasattr(template, name)
    }
    bounds, weight = (None, None) if noise is None else noise
    # float64 whatever the template's dtype: conditioning on float64 values can
    # give means float32 cannot hold
    return cls.from_parameters(
        np.asarray(weights, dtype=np.float64), np.asarray(means, dtype=np.float64),
        covariances, noise_bounds=None if bounds is None else np.asarray(bounds, np.float64),
        noise_weight=weight, feature_names=feature_names, training=training, **params,
    )


def resolve_indices(model: Mixture, indices: Indices, *, name: str = "indices") -> IntArray:
    """Feature indices as a 1-D int array in [0, D), validated.

    Parameters
    ----------
    model : fitted GaussianMixture
    indices : int, str or sequence of int or str
    name : str
        The argument's name, for the messages.

    Returns
    -------
    ndarray of shape (n_indices,), int

    Raises
    ------
    TypeError
        When ``indices`` is neither an int, a str nor a sequence (e.g. 0.0).
    ValueError
        For non-integer, out-of-range, unknown, repeated or no indices.
    """
    n_features = model.n_features_in_
    if (
        isinstance(indices, np.ndarray) and indices.ndim == 1 and indices.dtype.kind in "iu"
        and indices.size and bool(np.all((indices >= -n_features) & (indices < n_features)))
        and len(np.unique(indices % n_features)) == indices.size
    ):  # valid integer indices: what the checks below accept, without a loop in Python
        return (indices % n_features).astype(np.intp)
    items: list[Any]
    if isinstance(indices, (numbers.Integral, str)):
        items = [indices]
    elif isinstance(indices, (numbers.Number, dict, set, frozenset)) or not hasattr(
        indices, "__iter__"
    ) or np.ndim(indices) > 1:
        raise TypeError(
            f"{name} must be an int, a feature name or a sequence of them (a list, "
            f"tuple or 1-D array); got {indices!r} ({type(indices).__name__})."
        )
    else:
        items = list(indices)
    if not items:
        raise ValueError(f"{name} is empty; pass at least one feature index.")
    names = getattr(model, "feature_names_in_", None)
    resolved = [_one_index(item, n_features, names, name) for item in items]
    index = np.asarray(resolved, dtype=np.intp)
    if len(np.unique(index)) != len(index):
        raise ValueError(
            f"{name} {items!r} name a feature more than once; pass each feature once."
        )
    return index


def _one_index(
    item: object, n_features: int, names: NDArray[np.object_] | None, name: str = "indices"
) -> int:
    if isinstance(item, str):
        if names is None:
            raise ValueError(
                f"{name}: feature name {item!r} given, but the model was fitted without "
                "feature names; pass integer indices."
            )
        found = np.flatnonzero(names == item)
        if not found.size:
            raise ValueError(
                f"{name}: unknown feature name {item!r}; the model's features are "
                f"{list(names)}."
            )
        return int(found[0])
    if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
        raise ValueError(
            f"{name}: feature index {item!r} is not an integer; pass integer indices "
            "(or feature names when the model has feature_names_in_)."
        )
    if not -n_features <= item < n_features:  # type: ignore[operator]  # (Integral)
        raise ValueError(
            f"{name}: feature index {item} is out of range for a model with "
            f"{n_features} features; use indices in [0, {n_features})."
        )
    return int(item) % n_features


#: what to pass instead of a fitted estimator that is not a mixture of the features
_MIXTURE_INSIDE = {
    "GMMClassifier": (
        "a class's mixture, clf.estimators_[i] (i the position of the class in "
        "clf.classes_), or a GaussianMixture fitted on all the rows"
    ),
    "GaussianMixtureRegressor": "its joint mixture of [X, y], reg.gmm_",
}


def check_mixture(model: object, what: str) -> None:
    """Raise unless ``model`` is a fitted GaussianMixture or BayesianGaussianMixture.

    Raises
    ------
    TypeError
        For any other object, saying what to pass instead.
    NotFittedError
        For a mixture that is not fitted.
    """
    if not isinstance(model, MixtureChecks):  # GaussianMixture, BayesianGaussianMixture
        kind = type(model).__name__
        instead = _MIXTURE_INSIDE.get(kind, "one")
        raise TypeError(
            f"{what} needs a fitted GaussianMixture or BayesianGaussianMixture (a mixture "
            f"of the features); got a {kind}. Pass {instead}."
        )
    model.check_is_fitted()


def remaining_features(n_features: int, observed: IntArray) -> IntArray:
    """Features not in ``observed``, in order: (D - len(observed),) ints; never empty."""
    missing = np.setdiff1d(np.arange(n_features), observed)
    if not missing.size:
        raise ValueError(
            f"indices cover all {n_features} features, so none is left to condition; "
            "condition on fewer features (model.score_samples gives the joint density)."
        )
    return missing


def _check_values(values: ArrayLike, n_observed: int) -> FloatArray:
    """Observed values as a finite float64 vector of length ``n_observed``."""
    try:
        point = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"values must be numbers; got {values!r}.") from None
    if point.ndim == 0:
        point = point.reshape(1)
    if point.ndim != 1:
        raise ValueError(
            f"values must be 1-D, one value per index; got shape {point.shape}. For many "
            "rows use gmmkit.conditional.conditional_moments."
        )
    if point.shape[0] != n_observed:
        raise ValueError(
            f"values has {point.shape[0]} entries but {n_observed} feature(s) are "
            "conditioned on; pass one value per index."
        )
    if not np.all(np.isfinite(point)):
        raise ValueError(f"values must be finite; got {point.tolist()}.")
    return point


def _check_rows(X_obs: ArrayLike, n_observed: int) -> FloatArray:
    """Observed rows as a finite float64 (n, n_observed) array."""
    X_obs = check_array(X_obs, name="X_obs")
    if X_obs.shape[1] != n_observed:
        raise ValueError(
            f"X_obs has {X_obs.shape[1]} columns but {n_observed} feature(s) are "
            "observed; pass one column per observed index."
        )
    X_obs = np.asarray(X_obs, dtype=np.float64)
    bad = ~np.isfinite(X_obs).all(axis=1)
    if bad.any():
        raise ValueError(
            f"X_obs contains NaN or infinity in {int(bad.sum())} row(s) (first: row "
            f"{int(np.flatnonzero(bad)[0])}); drop or impute those rows."
        )
    return X_obs


def _names(model: Mixture, index: IntArray) -> NDArray[np.object_] | None:
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else names[index]
