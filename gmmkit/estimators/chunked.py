"""Chunked data and the scoring pass, shared by GaussianMixture and BayesianGaussianMixture.

:class:`ChunkedScoring` turns validated X into the engine's chunked data
(centred, in the working dtype, missing values served pattern by pattern)
and runs the scoring pass of ``predict``, ``predict_proba`` and
``score_samples`` over it. Each estimator supplies its engine parameters
(``_get_params_object``): GaussianMixture its fitted mixture,
BayesianGaussianMixture the variational E-step's.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.in_memory import in_memory_data
from gmmkit.data.settings import chunk_rows
from gmmkit.data.validation import check_sample_weight
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.convergence import guard_float32
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import make_plan
from gmmkit.engine.missing import MissingData
from gmmkit.engine.scoring import model_center, score_rows
from gmmkit.engine.threads import ChunkRunner
from gmmkit.estimators import rowwise
from gmmkit.estimators.base import check_fitted_input
from gmmkit.estimators.components import TRAINING_ATTRIBUTES

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike

    from gmmkit.engine.covariance import CovarianceType, EStepPlan
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.types import AnyArray, FloatArray
    from gmmkit.estimators.attributes import MixtureAttributes as _Estimator
else:  # the estimator the mixin is mixed into (for type checkers only)
    _Estimator = object


class ChunkedScoring(_Estimator):
    """The chunking and scoring methods of the mixtures (a mixin: methods work on self)."""

    def _chunk_rows(self, n_features: int, dtype: np.dtype[Any]) -> int:
        """Rows per E-step chunk (:func:`gmmkit.data.settings.chunk_rows`)."""
        n_components = (
            len(self.weights_) if self.__sklearn_is_fitted__() else self.n_components
        )
        return chunk_rows(self.chunk_size, self.covariance_type, n_components, n_features, dtype)

    def _chunked(
        self,
        X: AnyArray,
        weights: FloatArray | None,
        fallback_center: FloatArray | None = None,
        center: FloatArray | None = None,
    ) -> ChunkedData | MissingData:
        """X served in chunks, centred on a trimmed mean (engine.reference); checks it is finite.

        With ``missing="em"`` and NaN in X: a MissingData served pattern by
        pattern; ``fallback_center`` centres features that have no value.
        ``center`` fixes the reference point instead (online EM).
        """
        dtype = self._resolve_dtype(X)
        return in_memory_data(
            X, weights, dtype=dtype, chunk_rows=self._chunk_rows(X.shape[1], dtype),
            missing=self.missing, nan_fix=self._NAN_FIX, fallback_center=fallback_center,
            center=center,
        )

    def _validated(self, X: ArrayLike) -> AnyArray:
        """X checked against the fitted model (:func:`.base.check_fitted_input`)."""
        return check_fitted_input(self, X)

    def _map_log_prob(
        self,
        X: ArrayLike,
        reduce: Callable[[FloatArray], Any],
        density: bool = False,
        unweighted: bool = False,
    ) -> list[Any]:
        """Validate X, then ``reduce`` each chunk's weighted log densities.

        ``unweighted``: the components' log densities without the log
        weights, and no noise component (``component_log_densities``).

        Every row is scored on its own against the model's fixed centre
        (:mod:`gmmkit.engine.scoring`): ``reduce`` must not change when a constant
        is added to a row of log densities, unless ``density`` (it is then
        the log-sum-exp, see :func:`gmmkit.engine.scoring.score_rows`).
        """
        X = self._validated(X)
        setup = _scoring_setup(self, unweighted, self._get_params_object)
        params, cov_type = setup.params, setup.cov_type
        with ChunkRunner() as runner:
            runner.hold_blas()  # (the check of X in _chunked then finds BLAS held)
            data = self._chunked(X, None, center=setup.center)
            data = guard_float32(data, cov_type, params)
            if isinstance(data, MissingData):
                return [data.map_log_prob(cov_type, params, runner, reduce, density=density)]
            plan = setup.plan(data.center, data.dtype)
            return score_rows(data, cov_type, params, runner, reduce, density=density, plan=plan)

    def _total_log_likelihood(
        self, X: ArrayLike, sample_weight: ArrayLike | None
    ) -> tuple[float, float]:
        """(sum_n w_n log p(x_n), sum_n w_n); files and Dask arrays block by block."""
        if not rowwise.in_memory(X):
            return rowwise.fitted_sum(self, "score_samples", X, sample_weight)
        log_lik = self.score_samples(X)
        weights = check_sample_weight(sample_weight, log_lik.shape[0])
        if weights is None:
            return float(log_lik.sum()), float(log_lik.shape[0])
        return float(weights @ log_lik), float(weights.sum())


class ScoringSetup:
    """What scoring derives from a fitted model's parameters, kept between calls.

    Parameters
    ----------
    params : MixtureParams
        The model's engine parameters (``_get_params_object``), not to be modified.
    cov_type : CovarianceType
    state : list of (str, object)
        The model's public attributes (hyper-parameters and fitted
        attributes) when this was made; held, so that no other object can
        take their ids.
    """

    def __init__(
        self, params: MixtureParams, cov_type: CovarianceType, state: list[tuple[str, Any]]
    ) -> None:
        self.params, self.cov_type, self.state = params, cov_type, state
        self._ids = _ids(state)
        # copies of the array attributes: an in-place edit (model.means_[0] += 1) keeps the
        # object and so its id, but not its values
        self._values = _array_values(state)
        self.center = model_center(params)
        self._plans: dict[tuple[str, bytes], EStepPlan] = {}

    def plan(self, center: FloatArray, dtype: np.dtype[Any]) -> EStepPlan:
        """``make_plan`` of the parameters about ``center`` (D,) in ``dtype``, made once."""
        key = (np.dtype(dtype).str, np.asarray(center, dtype=np.float64).tobytes())
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = make_plan(self.cov_type, self.params, center, dtype)
            plan.precision_bound = self.cov_type.precision_bound(self.params.precisions_cholesky)
        return plan

    def current(self, state: list[tuple[str, Any]]) -> bool:
        """Whether the model still has the attributes this was made from, with their values.

        The same objects (a refit, ``set_params`` or an assignment puts new
        ones), and arrays holding the same values (an in-place edit).
        """
        return _ids(state) == self._ids and _array_values(state) == self._values


#: attributes that describe the training rather than the mixture: not read by scoring, and
#: some as long as the training data (``uncertainty_``), so not compared by value per call
NOT_SCORED = (*TRAINING_ATTRIBUTES, "uncertainty_")


def _array_values(state: list[tuple[str, Any]]) -> list[tuple[tuple[int, ...], bytes]]:
    """(shape, bytes) of each array attribute scoring reads: equal when nothing was edited."""
    return [(value.shape, value.tobytes()) for name, value in state
            if isinstance(value, np.ndarray) and name not in NOT_SCORED]


def _ids(state: list[tuple[str, Any]]) -> list[tuple[str, int]]:
    """(name, id) of each attribute: one list comparison tells whether all are the same."""
    return [(name, id(value)) for name, value in state]


#: estimator -> {unweighted: ScoringSetup}; entries go with their estimators
_SETUPS: weakref.WeakKeyDictionary[Any, dict[bool, ScoringSetup]] = weakref.WeakKeyDictionary()


def _scoring_setup(estimator: Any, unweighted: bool,
                   engine_params: Callable[[], MixtureParams]) -> ScoringSetup:
    """The estimator's :class:`ScoringSetup`, rebuilt when an attribute changed.

    ``engine_params`` gives the estimator's parameters as the engine's
    MixtureParams (a new object each call).

    A refit, ``set_params`` or an assignment (``model.means_ = ...``) puts
    new objects in the estimator's public attributes, which the identity
    test sees; an in-place edit of a fitted array (``model.means_[0] += 1``)
    is seen by comparing the arrays' bytes with those taken (about 15 us at
    K=64, D=60: a stale answer would be silently wrong).
    """
    state = [(name, value) for name, value in vars(estimator).items() if name[0] != "_"]
    setups = _SETUPS.get(estimator)
    setup = None if setups is None else setups.get(unweighted)
    if setup is not None and setup.current(state):
        return setup
    params = engine_params()
    if unweighted:
        params.log_weights = np.zeros(len(params.weights))
        params.noise_log_density = None
    setup = ScoringSetup(params, get_covariance_type(estimator.covariance_type), state)
    if setups is None or any(not held.current(state) for held in setups.values()):
        setups = _SETUPS[estimator] = {}
    setups[unweighted] = setup
    return setup
