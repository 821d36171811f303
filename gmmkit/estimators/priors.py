"""The checks of BayesianGaussianMixture's priors (scikit-learn's names, with the fix).

They run in ``fit`` (the priors' shapes depend on the number of features)
and when a model file is loaded.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.variational import COVARIANCE_PRIORS, WEIGHT_PRIORS

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from gmmkit.engine.types import FloatArray
    from gmmkit.estimators.bayesian import BayesianGaussianMixture


def check_priors(model: BayesianGaussianMixture, n_features: int) -> dict[str, Any]:
    """Validate a BayesianGaussianMixture's prior parameters (scikit-learn's names, with the fix).

    Returns
    -------
    dict
        ``weight_concentration_prior``, ``mean_precision_prior``,
        ``degrees_of_freedom_prior`` (float or None), ``mean_prior``
        (ndarray of shape (n_features,) or None) and ``covariance_prior``
        (float or ndarray in the covariance type's layout, or None).
    """
    if model.weight_concentration_prior_type not in WEIGHT_PRIORS:
        raise ValueError(
            f"weight_concentration_prior_type={model.weight_concentration_prior_type!r} is not "
            "supported; use 'dirichlet_process' (stick-breaking) or 'dirichlet_distribution'."
        )
    # raises for an unknown name, listing the valid ones
    if get_covariance_type(model.covariance_type).name not in COVARIANCE_PRIORS:
        raise ValueError(
            f"covariance_type={model.covariance_type!r} has no variational prior: "
            "BayesianGaussianMixture supports 'full', 'tied', 'diag' and 'spherical' "
            "(mclust's VVV, EEE, VVI and VII); fit mclust's other models with GaussianMixture."
        )
    return {
        "weight_concentration_prior": _positive_or_none(
            "weight_concentration_prior",
            model.weight_concentration_prior,
            "small values (e.g. 1e-3) switch surplus components off; None means 1 / n_components",
        ),
        "mean_precision_prior": _positive_or_none(
            "mean_precision_prior", model.mean_precision_prior, "None means 1"
        ),
        "mean_prior": _mean_prior(model.mean_prior, n_features),
        "degrees_of_freedom_prior": _degrees_of_freedom(model.degrees_of_freedom_prior, n_features),
        "covariance_prior": _covariance_prior(
            model.covariance_prior, model.covariance_type, n_features
        ),
    }


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _as_number(value: object) -> float | None:
    """float(value) for a real number or a 0-d numeric array, else None."""
    if _is_number(value):
        return float(value)  # type: ignore[arg-type]  # (a real number)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        return float(value)
    return None


def _positive_or_none(name: str, value: Any, hint: str) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not value > 0 or not np.isfinite(value):
        raise ValueError(
            f"The '{name}' parameter of BayesianGaussianMixture must be None or a float "
            f"in the range (0.0, inf). Got {value!r} instead; pass a positive number "
            f"({hint})."
        )
    return float(value)


def _float_array(name: str, value: ArrayLike, shape: tuple[int, ...], fix: str) -> FloatArray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.shape != shape:
        got = "a non-numeric value" if array is None else str(array.shape)
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got {got}; {fix}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The parameter '{name}' contains NaN or inf; {fix}.")
    return array


def _mean_prior(value: ArrayLike | None, n_features: int) -> FloatArray | None:
    if value is None:
        return None
    return _float_array(
        "mean_prior",
        value,
        (n_features,),
        "pass one value per feature of X, or None for the data mean",
    )


def _degrees_of_freedom(value: Any, n_features: int) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not value > n_features - 1.0 or not np.isfinite(value):
        shown = f"{value:.3f}" if _is_number(value) else repr(value)
        raise ValueError(
            f"The parameter 'degrees_of_freedom_prior' should be greater than "
            f"{n_features - 1}, but got {shown}; pass a number > n_features - 1 "
            f"= {n_features - 1}, or None for n_features = {n_features}."
        )
    return float(value)


def _covariance_prior(
    value: Any, covariance_type: str, n_features: int
) -> float | FloatArray | None:
    if value is None:
        return None
    name = f"{covariance_type} covariance_prior"
    fix = "or None for the data covariance"
    shape = COVARIANCE_PRIORS[covariance_type].shape(n_features)
    if not shape:
        number = _as_number(value)
        if number is None or not number > 0 or not np.isfinite(number):
            raise ValueError(
                f"'{name}' should be a positive float, but got {value!r}; pass the prior "
                f"variance, {fix}."
            )
        return number
    array = _float_array(name, value, shape, f"pass an array of shape {shape}, {fix}")
    if array.ndim == 1 and not np.all(array > 0):
        raise ValueError(f"'{name}' should be positive; pass positive variances, {fix}.")
    if array.ndim == 2 and not _is_positive_definite(array):
        raise ValueError(
            f"'{name}' should be symmetric, positive-definite; pass e.g. a scaled "
            f"identity (np.eye({n_features})), {fix}."
        )
    return array


def _is_positive_definite(matrix: FloatArray) -> bool:
    if not np.allclose(matrix, matrix.T):
        return False
    return bool(np.all(np.linalg.eigvalsh(matrix) > 0))
