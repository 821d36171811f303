"""``GaussianMixture.partial_fit``: online (stepwise) EM, the estimator's side.

The maths (running normalised statistics, step sizes) are the engine's
:mod:`gmmkit.engine.online`; this mixin validates each batch, initialises
the model from the first one and sets the fitted attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gmmkit.data.validation import check_array, check_sample_weight, feature_names
from gmmkit.engine.convergence import guard_float32
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.noise import add_noise_component
from gmmkit.engine.noise import noise_bounds as _noise_box
from gmmkit.engine.online import check_schedule, online_step, step_size
from gmmkit.engine.rng import make_rng
from gmmkit.engine.threads import ChunkRunner
from gmmkit.estimators.base import check_fitted_input

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from gmmkit.engine.types import FloatArray
    from gmmkit.estimators.attributes import MixtureAttributes
    from gmmkit.estimators.attributes import MixtureAttributes as _Estimator
else:  # the estimator the mixin is mixed into (for type checkers only)
    _Estimator = object


def check_online_settings(model: MixtureAttributes, noise_bounds: ArrayLike | None) -> None:
    """The step sizes, and ``noise_bounds`` only where the noise box is still to be fixed."""
    check_schedule(model.learning_decay, model.learning_offset)
    if noise_bounds is None:
        return
    if model.noise is None:
        raise ValueError("noise_bounds is the box of a noise component; pass it with "
                         "noise='uniform', or leave it out.")
    if model.__sklearn_is_fitted__():
        raise ValueError("noise_bounds fixes the noise box on the first batch; this model's "
                         "box is set (noise_bounds_): leave noise_bounds out.")
    if model.n_components == "auto":
        raise ValueError("noise_bounds cannot be given with n_components='auto' (the first "
                         "batch's selection uses that batch's box); give a number of "
                         "components, or leave noise_bounds out.")


def check_bounds(noise_bounds: ArrayLike, n_features: int) -> FloatArray:
    """``noise_bounds`` as a float64 (n_features, 2) box of positive widths."""
    bounds = np.asarray(noise_bounds, dtype=np.float64)
    if bounds.shape != (n_features, 2) or not np.isfinite(bounds).all():
        raise ValueError(
            f"noise_bounds must be finite (min, max) pairs, one per feature: shape "
            f"({n_features}, 2); got shape {bounds.shape}."
        )
    flat = np.flatnonzero(bounds[:, 1] <= bounds[:, 0])
    if flat.size:
        raise ValueError(
            f"noise_bounds gives feature {int(flat[0])} the range {bounds[flat[0]].tolist()}; "
            "each feature needs min < max (the box must have a volume)."
        )
    return bounds


class OnlineFit(_Estimator):
    """GaussianMixture's ``partial_fit`` (a mixin: it uses the estimator's own methods)."""

    def partial_fit(
        self,
        X: ArrayLike,
        y: object = None,
        sample_weight: ArrayLike | None = None,
        *,
        noise_bounds: ArrayLike | None = None,
    ) -> Self:
        """One step of online (stepwise) EM on a batch of rows.

        Repeated calls over a stream converge to a maximum of the
        likelihood without holding the stream in memory (:mod:`gmmkit.engine.online`):
        each batch's statistics are blended into a running average with
        step (t + learning_offset) ** -learning_decay. The first batch
        initialises the model (``init_params``), or, after ``fit``, the
        fitted parameters start the stream.

        With ``noise="uniform"`` the noise component's box is fixed on the
        first batch: ``noise_bounds`` when given, else that batch's (min,
        max) per feature; later rows outside it keep the box's density. With
        ``n_components="auto"`` the first batch chooses K by BIC (as ``fit``
        does); the later batches update that model.
        :func:`gmmkit.fit_stream` runs partial_fit over a stream of chunks.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
        y : ignored
        sample_weight : array-like of shape (n_batch,), default=None
        noise_bounds : array-like of shape (n_features, 2), optional
            The noise component's box, on the first batch only.

        Returns
        -------
        self
        """
        check_online_settings(self, noise_bounds)
        if self.n_components == "auto" and not self.__sklearn_is_fitted__():
            self._fit_auto(X, sample_weight)  # the first batch chooses K (a whole fit of it)
        names = feature_names(X)
        # after fit (or a first batch), X must match the fitted model, as in predict
        X = check_fitted_input(self, X) if self.__sklearn_is_fitted__() else check_array(X)
        self.check_params()
        weights = check_sample_weight(sample_weight, X.shape[0])
        state = getattr(self, "_online_state", None)
        cov_type = get_covariance_type(self.covariance_type)
        data = self._chunked(X, weights, center=None if state is None else state.center)
        with ChunkRunner() as runner:
            bounds = getattr(self, "noise_bounds_", None)
            if self.__sklearn_is_fitted__():
                params = self._get_params_object()
            else:
                self._check_enough_samples(X, weights)
                initial = self._check_initial_parameters(X.shape[1], cov_type)
                rng = make_rng(self.random_state)
                params = self._initial_params(
                    data.init_data(rng), cov_type, rng, runner, initial
                )
                if self.noise is not None:
                    bounds = (
                        _noise_box(X, weights) if noise_bounds is None
                        else check_bounds(noise_bounds, X.shape[1])
                    )
                    add_noise_component(params, bounds)
            dtype = self._attribute_dtype(data)  # the batch's, as a fit's
            data = guard_float32(data, cov_type, params)
            eta = step_size(1 + (state.n_steps if state else 0), self.learning_decay,
                            self.learning_offset)
            state, params, batch_bound = online_step(
                state, data, cov_type, params, runner, self.reg_covar, eta
            )
        self._set_params_object(params, cov_type, dtype=dtype)
        self._online_state = state
        if bounds is not None:
            self.noise_bounds_ = bounds
        self.n_components_ = len(self.weights_)
        self.n_steps_ = self.n_iter_ = state.n_steps
        self.converged_ = False
        self.lower_bound_ = batch_bound
        self.lower_bounds_ = [*getattr(self, "lower_bounds_", [])[: state.n_steps - 1],
                              batch_bound]
        self.n_features_in_ = X.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        return self
