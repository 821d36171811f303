"""Parameter checks of GaussianMixture, kept apart from the estimator's logic.

They run in ``fit`` (scikit-learn's convention: the constructor only
stores its arguments) and name the bad value and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.missing import MISSING_OPTIONS
from gmmkit.data.settings import DataSettings, check_enough_samples, work_dtype
from gmmkit.data.validation import as_float_array, check_int, check_number
from gmmkit.engine.mclust_models import check_model_dimensions
from gmmkit.engine.noise import check_noise
from gmmkit.engine.seeding import INIT_METHODS
from gmmkit.plugins.manager import get_initializers, lookup

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.types import FloatArray, Initializer
    from gmmkit.estimators.attributes import Initial
    from gmmkit.estimators.attributes import MixtureAttributes as _Estimator
else:  # the estimator the mixin is mixed into (for type checkers only)
    _Estimator = object


@dataclass(frozen=True)
class PluginInitializer:
    """The initialiser a plugin registered as ``name``, looked up when called.

    What the estimators pass to the engine for a plugin's ``init_params``
    (the engine does not know the plugin registry). It is picklable: an
    ``n_jobs`` worker looks ``name`` up in its own plugin manager, so a
    plugin registered only in the parent process (``use_plugin_manager``)
    is not seen there.
    """

    name: str

    def __call__(
        self,
        X: FloatArray,
        n_components: int,
        *,
        sample_weight: FloatArray,
        rng: np.random.Generator,
    ) -> ArrayLike:
        return lookup("initializers", self.name)(
            X, n_components, sample_weight=sample_weight, rng=rng
        )


def resolve_init_method(init_params: str) -> Initializer:
    """The engine's ``method`` for ``init_params``: a built-in name or a PluginInitializer."""
    return init_params if init_params in INIT_METHODS else PluginInitializer(init_params)


class MixtureChecks(_Estimator):
    """Validation methods mixed into :class:`gmmkit.GaussianMixture`."""

    def _resolve_dtype(self, X: Any) -> np.dtype[Any]:
        """The E-step's working dtype for X (:func:`gmmkit.data.settings.work_dtype`)."""
        return work_dtype(self.dtype, X.dtype)

    def check_params(self) -> None:
        """Check the constructor arguments as ``fit`` does, before any data is read.

        ``fit`` and ``partial_fit`` run this first; model files run it on the
        parameters they load (scikit-learn's convention: the constructor
        only stores its arguments).

        Raises
        ------
        ValueError
            Naming the first bad argument, its value and what is accepted
            (e.g. "n_init must be an integer >= 1; got 0.").
        """
        if not (isinstance(self.n_components, str) and self.n_components == "auto"):
            check_int("n_components", self.n_components, 1)
        check_int("n_init", self.n_init, 1)
        check_int("max_iter", self.max_iter, 0)
        check_int("verbose_interval", self.verbose_interval, 1)
        check_number("tol", self.tol, 0.0)
        check_number("reg_covar", self.reg_covar, 0.0)
        if self.chunk_size is not None:
            check_int("chunk_size", self.chunk_size, 1)
        check_noise(self.noise)
        if self.missing not in MISSING_OPTIONS:
            raise ValueError(
                f"missing={self.missing!r} is not supported; use 'error' (NaN is refused) "
                "or 'em' (NaN are missing values, fitted by EM)."
            )
        if self.init_params not in INIT_METHODS:
            plugin_initializers = get_initializers()
            if self.init_params not in plugin_initializers:
                raise ValueError(
                    f"init_params={self.init_params!r} is not supported; use one of "
                    f"{list(INIT_METHODS) + sorted(plugin_initializers)}"
                )
        work_dtype(self.dtype, np.float64)  # refuses a dtype other than float32/float64

    def _check_enough_samples(self, X: Any, weights: FloatArray | None) -> None:
        """ValueError when X has fewer rows (of positive weight) than components."""
        n_samples = X.shape[0] if weights is None else int(np.count_nonzero(weights))
        check_enough_samples(n_samples, self.n_components, weighted=weights is not None)

    def _data_settings(self) -> DataSettings:
        """The settings a data source reads (gmmkit.data.settings), after check_params."""
        return DataSettings(
            n_components=int(self.n_components),
            covariance_type=self.covariance_type,
            chunk_size=self.chunk_size,
            dtype=self.dtype,
            noise=self.noise is not None,
            missing=self.missing,
        )

    def _check_initial_parameters(self, n_features: int, cov_type: CovarianceType) -> Initial:
        """Validate weights_init, means_init, precisions_init; return them as arrays."""
        check_model_dimensions(self.covariance_type, n_features)
        k = self.n_components
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = as_float_array("weights_init", self.weights_init, (k,))
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError("weights_init must lie in [0, 1]; got values outside.")
            if not np.isclose(weights.sum(), 1.0, atol=1e-6):
                raise ValueError(
                    f"weights_init should be normalized, but got sum(weights) = "
                    f"{weights.sum():.5f}; divide by its sum."
                )
        if self.means_init is not None:
            means = as_float_array("means_init", self.means_init, (k, n_features))
        if self.precisions_init is not None:
            shape = cov_type.shape(k, n_features)
            precisions = as_float_array("precisions_init", self.precisions_init, shape)
            try:
                cov_type.precision_cholesky_from_precisions(precisions)
            except ValueError as exc:
                raise ValueError(
                    f"precisions_init is not valid for covariance_type='{cov_type.name}' "
                    f"({exc}); pass valid precisions of shape {shape} or leave it None."
                ) from None
        return weights, means, precisions

