"""mclust's parsimonious covariance models (Celeux and Govaert 1995; Scrucca et al. 2016).

The maths of the 14 models and the univariate E and V: names, storage
layouts and parameter counts (:mod:`.names`), and the M-steps from summed
moments (:mod:`.diagonal`, :mod:`.general`). The covariance table
(:mod:`gmmkit.engine.covariance`) serves each model through one of its four
layouts with the M-step and count below; VVV, EEE, VVI and VII are
scikit-learn's full, tied, diag and spherical themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from gmmkit.engine.mclust_models.diagonal import (
    diagonal_scatter,
    equal_diagonal,
    equal_spherical,
    equal_volume_variable_shape,
    variable_volume_equal_shape,
)
from gmmkit.engine.mclust_models.general import (
    complete_objective,
    equal_volume_equal_shape_variable_orientation,
    equal_volume_variable_shape_equal_orientation,
    equal_volume_variable_shape_variable_orientation,
    full_scatter,
    variable_volume_equal_shape_equal_orientation,
    variable_volume_equal_shape_variable_orientation,
    variable_volume_variable_shape_equal_orientation,
)
from gmmkit.engine.mclust_models.names import (
    LAYOUTS,
    MODEL_NAMES,
    SKLEARN_ALIASES,
    UNIVARIATE_NAMES,
    check_model_dimensions,
    default_models,
    describe,
    n_covariance_parameters,
    unknown_model_message,
)

if TYPE_CHECKING:
    from gmmkit.engine.types import FloatArray

MStep = Callable[..., Any]


def _diagonal(solve: Callable[..., FloatArray]) -> MStep:
    def m_step(nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float,
               previous: FloatArray | None = None) -> FloatArray:
        return solve(nk, diagonal_scatter(nk, sx, sxx, reg_covar))

    return m_step


def _full(solve: Callable[..., FloatArray], warm: bool = False) -> MStep:
    def m_step(nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float,
               previous: FloatArray | None = None) -> FloatArray:
        scatter = full_scatter(nk, sx, sxx, reg_covar)
        return solve(nk, scatter, previous) if warm else solve(nk, scatter)

    return m_step


#: the M-step of every model that is not one of scikit-learn's four:
#: ``m_step(nk, sx, sxx, reg_covar, previous=None)`` -> covariances in the
#: model's layout (``previous``: the last covariances, where an iterative
#: M-step can start from them)
M_STEPS: dict[str, MStep] = {
    "EII": _diagonal(equal_spherical),
    "E": _diagonal(equal_spherical),
    "EEI": _diagonal(equal_diagonal),
    "VEI": _diagonal(variable_volume_equal_shape),
    "EVI": _diagonal(equal_volume_variable_shape),
    "VEE": _full(variable_volume_equal_shape_equal_orientation),
    "EVE": _full(equal_volume_variable_shape_equal_orientation, warm=True),
    "VVE": _full(variable_volume_variable_shape_equal_orientation, warm=True),
    "EEV": _full(equal_volume_equal_shape_variable_orientation),
    "VEV": _full(variable_volume_equal_shape_variable_orientation),
    "EVV": _full(equal_volume_variable_shape_variable_orientation),
}

__all__ = [
    "LAYOUTS",
    "MODEL_NAMES",
    "M_STEPS",
    "SKLEARN_ALIASES",
    "UNIVARIATE_NAMES",
    "check_model_dimensions",
    "complete_objective",
    "default_models",
    "describe",
    "diagonal_scatter",
    "full_scatter",
    "n_covariance_parameters",
    "unknown_model_message",
]
