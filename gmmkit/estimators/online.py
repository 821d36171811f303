"""``GaussianMixture.partial_fit``: online (stepwise) EM, the estimator's side.

The maths (running normalised statistics, step sizes) are the engine's
:mod:`gmmkit.engine.online`; this mixin validates each batch, initialises
the model from the first one and sets the fitted attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gmmkit.data.validation import check_array, check_sample_weight, feature_names
from gmmkit.engine.convergence import guard_float32
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.online import check_schedule, online_step, step_size
from gmmkit.engine.rng import make_rng
from gmmkit.engine.threads import ChunkRunner
from gmmkit.estimators.base import check_fitted_input

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from gmmkit.estimators.attributes import MixtureAttributes
    from gmmkit.estimators.attributes import MixtureAttributes as _Estimator
else:  # the estimator the mixin is mixed into (for type checkers only)
    _Estimator = object


def check_online_settings(model: MixtureAttributes) -> None:
    """What partial_fit supports: a fixed K and no noise component (its box is global)."""
    unsupported = {
        "n_components='auto'": model.n_components == "auto",
        "noise='uniform'": model.noise is not None,
    }
    for setting, used in unsupported.items():
        if used:
            raise ValueError(
                f"partial_fit does not support {setting} yet; use fit, or a GaussianMixture "
                "without it for online EM."
            )
    check_schedule(model.learning_decay, model.learning_offset)


class OnlineFit(_Estimator):
    """GaussianMixture's ``partial_fit`` (a mixin: it uses the estimator's own methods)."""

    def partial_fit(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """One step of online (stepwise) EM on a batch of rows.

        Repeated calls over a stream converge to a maximum of the
        likelihood without holding the stream in memory (:mod:`gmmkit.engine.online`):
        each batch's statistics are blended into a running average with
        step (t + learning_offset) ** -learning_decay. The first batch
        initialises the model (``init_params``), or, after ``fit``, the
        fitted parameters start the stream.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
        y : ignored
        sample_weight : array-like of shape (n_batch,), default=None

        Returns
        -------
        self
        """
        check_online_settings(self)
        names = feature_names(X)
        # after fit (or a first batch), X must match the fitted model, as in predict
        X = check_fitted_input(self, X) if self.__sklearn_is_fitted__() else check_array(X)
        self.check_params()
        weights = check_sample_weight(sample_weight, X.shape[0])
        state = getattr(self, "_online_state", None)
        cov_type = get_covariance_type(self.covariance_type)
        data = self._chunked(X, weights, center=None if state is None else state.center)
        with ChunkRunner() as runner:
            if self.__sklearn_is_fitted__():
                params = self._get_params_object()
            else:
                self._check_enough_samples(X, weights)
                initial = self._check_initial_parameters(X.shape[1], cov_type)
                rng = make_rng(self.random_state)
                params = self._initial_params(
                    data.init_data(rng), cov_type, rng, runner, initial
                )
            dtype = self._attribute_dtype(data)  # the batch's, as a fit's
            data = guard_float32(data, cov_type, params)
            eta = step_size(1 + (state.n_steps if state else 0), self.learning_decay,
                            self.learning_offset)
            state, params, batch_bound = online_step(
                state, data, cov_type, params, runner, self.reg_covar, eta
            )
        self._set_params_object(params, cov_type, dtype=dtype)
        self._online_state = state
        self.n_components_ = int(self.n_components)
        self.n_steps_ = self.n_iter_ = state.n_steps
        self.converged_ = False
        self.lower_bound_ = batch_bound
        self.lower_bounds_ = [*getattr(self, "lower_bounds_", [])[: state.n_steps - 1],
                              batch_bound]
        self.n_features_in_ = X.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        return self
