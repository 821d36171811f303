"""What GaussianMixture's mixins use of the estimator they are mixed into, for type checkers.

:class:`~gmmkit.estimators.checks.MixtureChecks`,
:class:`~gmmkit.estimators.online.OnlineFit`,
:class:`~gmmkit.estimators.restarts.RestartsFit`,
:class:`~gmmkit.estimators.chunked.ChunkedScoring` and
:class:`~gmmkit.estimators.components.ComponentMaths` are mixins of
GaussianMixture (MixtureChecks and ChunkedScoring also of
BayesianGaussianMixture): they read its
constructor parameters and fitted attributes and call a few of its methods.
:class:`MixtureAttributes` declares those, so that mypy checks the mixins
against them. It is the mixins' base class for type checkers only: when gmmkit
runs, their base is ``object`` (``if TYPE_CHECKING``), so nothing changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from gmmkit.estimators.base import EstimatorBase

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, DTypeLike, NDArray

    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.missing import MissingData
    from gmmkit.engine.online import OnlineState
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import AnyArray, DataSource, FloatArray, RandomStateLike

    #: weights_init, means_init and precisions_init, checked (None: not given)
    Initial = tuple[FloatArray | None, FloatArray | None, FloatArray | None]


class MixtureAttributes(EstimatorBase):
    """The parameters, fitted attributes and methods of a Gaussian mixture estimator."""

    # ------------------------------------------------ constructor parameters
    #: an int, or "auto" for GaussianMixture (every path past fit's check sees an int)
    n_components: Any
    covariance_type: str
    tol: float
    reg_covar: float
    max_iter: int
    n_init: int
    init_params: str
    weights_init: ArrayLike | None
    means_init: ArrayLike | None
    precisions_init: ArrayLike | None
    random_state: RandomStateLike
    warm_start: bool
    verbose: int
    verbose_interval: int
    chunk_size: int | None
    dtype: DTypeLike | None
    missing: str
    noise: str | None
    n_jobs: int | None
    learning_decay: float
    learning_offset: float
    #: the fix a NaN error proposes (the class's)
    _NAN_FIX: str

    # ---------------------------------------------------- fitted attributes
    weights_: FloatArray
    means_: FloatArray
    covariances_: FloatArray
    precisions_: FloatArray
    precisions_cholesky_: FloatArray
    converged_: bool
    n_iter_: int
    lower_bound_: float
    lower_bounds_: list[float]
    n_features_in_: int
    n_components_: int
    feature_names_in_: NDArray[np.object_]
    #: with noise="uniform": the noise component's box (n_features, 2) and weight
    noise_bounds_: FloatArray
    noise_weight_: float
    #: n_components="auto": the table of the fits tried (gmmkit.select_model's)
    selection_: list[dict[str, Any]]
    #: set by select_model on the model it returns (mclust's uncertainty of the rows)
    uncertainty_: FloatArray
    #: partial_fit: batches seen
    n_steps_: int
    _online_state: OnlineState
    #: set by gmmkit.load (the file's metadata) and gmmkit.run_pipeline (its steps)
    metadata_: dict[str, Any]
    pipeline_: dict[str, dict[str, str]]

    if TYPE_CHECKING:
        # ------------------------------------ methods of MixtureChecks
        def _resolve_dtype(self, X: Any) -> np.dtype[Any]: ...

        def check_params(self) -> None: ...

        def _check_enough_samples(self, X: Any, weights: FloatArray | None) -> None: ...

        def _check_initial_parameters(
            self, n_features: int, cov_type: CovarianceType
        ) -> Initial: ...

        # ------------------------------------ methods of RestartsFit
        def _attribute_dtype(self, data: DataSource) -> np.dtype[Any]: ...

        # ------------------------------------ methods of GaussianMixture
        def score_samples(self, X: ArrayLike) -> FloatArray: ...

        def _fit_auto(self, X: Any, sample_weight: ArrayLike | None) -> Any: ...

        @staticmethod
        def _parameter_attributes(
            params: MixtureParams, cov_type: CovarianceType, dtype: DTypeLike | None = None
        ) -> dict[str, Any]: ...

        # ------------------------------------ methods of ChunkedScoring
        def _chunk_rows(self, n_features: int, dtype: np.dtype[Any]) -> int: ...

        def _chunked(
            self,
            X: AnyArray,
            weights: FloatArray | None,
            fallback_center: FloatArray | None = None,
            center: FloatArray | None = None,
        ) -> ChunkedData | MissingData: ...

        def _map_log_prob(
            self,
            X: ArrayLike,
            reduce: Callable[[FloatArray], Any],
            density: bool = False,
            unweighted: bool = False,
        ) -> list[Any]: ...

        def _get_params_object(self) -> MixtureParams: ...

        def _set_params_object(
            self, params: MixtureParams, cov_type: CovarianceType, dtype: DTypeLike | None = None
        ) -> None: ...

        def _initial_params(
            self,
            data: ChunkedData,
            cov_type: CovarianceType,
            rng: np.random.Generator,
            runner: ChunkRunner,
            initial: Initial,
        ) -> MixtureParams: ...
