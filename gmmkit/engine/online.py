"""Online (stepwise) EM: ``GaussianMixture.partial_fit`` on a stream of batches.

Stepwise EM (Sato and Ishii 2000; Cappe and Moulines 2009) keeps a
running average of the *normalised* sufficient statistics instead of
their sum over the whole data set. For batch t with weight W_t:

    s_t = (1 - eta_t) s_(t-1) + eta_t Stats(batch t) / W_t
    params_t = M-step(s_t)

where Stats(batch t) is the engine's ordinary chunked E-step of the batch
under params_(t-1), and the step size is

    eta_t = (t + learning_offset) ** -learning_decay     (t = 1, 2, ...)

with 0.5 < learning_decay <= 1, so that sum eta_t diverges and sum eta_t^2
converges (the conditions for convergence to a stationary point of the
likelihood). The first batch initialises the model (init_params as in
``fit``) and sets s_1 to its own statistics. A larger learning_offset
damps the early batches; a learning_decay near 0.5 forgets old batches
faster, near 1 averages them more evenly (decay 1 with offset 0 is the
plain running mean of all batches' statistics).

The statistics are centred on a reference point fixed by the first batch
(its weighted mean), so later batches add up in the same coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gmmkit.engine.em import Stats, params_from_stats


@dataclass
class OnlineState:
    """What partial_fit carries from one batch to the next.

    Attributes
    ----------
    stats : Stats
        The running normalised statistics s_t (weight 1).
    center : ndarray of shape (n_features,)
        The reference point every batch is centred on.
    n_steps : int
        Batches seen.
    """

    stats: Stats
    center: np.ndarray
    n_steps: int


def step_size(n_steps, learning_decay, learning_offset):
    """eta_t for batch t = ``n_steps`` (1 for the first batch)."""
    if n_steps <= 1:
        return 1.0
    return float((n_steps + learning_offset) ** -learning_decay)


def check_online_settings(model):
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


def check_schedule(learning_decay, learning_offset):
    """Validate the step-size schedule; ValueError naming the bad value."""
    if isinstance(learning_decay, bool) or isinstance(learning_offset, bool):
        raise ValueError("learning_decay and learning_offset must be numbers, not booleans.")
    if not isinstance(learning_decay, (int, float)) or not 0.5 < learning_decay <= 1.0:
        raise ValueError(
            f"learning_decay must be in (0.5, 1] for stepwise EM to converge; got "
            f"{learning_decay!r}."
        )
    if not isinstance(learning_offset, (int, float)) or not learning_offset >= 0:
        raise ValueError(f"learning_offset must be a number >= 0; got {learning_offset!r}.")


def normalised(stats):
    """Stats divided by their total weight (a weighted average per row)."""
    w = stats.weight
    return Stats(
        stats.nk / w, stats.sx / w, stats.sxx / w, stats.loglik / w, 1.0, stats.noise / w
    )


def blend(running, batch, eta):
    """(1 - eta) running + eta batch, field by field."""
    keep = 1.0 - eta
    return Stats(
        keep * running.nk + eta * batch.nk,
        keep * running.sx + eta * batch.sx,
        keep * running.sxx + eta * batch.sxx,
        keep * running.loglik + eta * batch.loglik,
        1.0,
        keep * running.noise + eta * batch.noise,
    )


def online_step(state, data, cov_type, params, runner, reg_covar, eta):
    """One stepwise-EM update from a batch.

    Parameters
    ----------
    state : OnlineState or None
        None for the first batch (``params`` then come from its initialisation).
    data : ChunkedData or MissingData
        The batch, centred on ``state.center`` (or on its own mean for the first).
    params : MixtureParams
        The parameters entering this step.

    Returns
    -------
    state : OnlineState
    params : MixtureParams
    batch_loglik : float
        Mean log-likelihood of the batch under the entering parameters.
    """
    batch = normalised(data.e_step(cov_type, params, runner))
    if state is None:
        state = OnlineState(batch, data.center, 1)
    else:
        state = replace(state, stats=blend(state.stats, batch, eta), n_steps=state.n_steps + 1)
    new_params, _ = params_from_stats(
        state.stats, cov_type, reg_covar, state.center, previous=params
    )
    return state, new_params, batch.loglik

def partial_fit(model, X, sample_weight=None):
    """One online-EM step of ``model`` on the batch X (GaussianMixture.partial_fit)."""
    from gmmkit.data.validation import (
        check_array,
        check_feature_names,
        check_n_features,
        check_sample_weight,
        feature_names,
    )
    from gmmkit.engine.convergence import guard_float32
    from gmmkit.engine.covariance import get_covariance_type
    from gmmkit.engine.rng import make_rng
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.estimators.restarts import attribute_dtype

    check_online_settings(model)
    names = feature_names(X)
    X = check_array(X)
    model._check_parameters(X)
    weights = check_sample_weight(sample_weight, X.shape[0])
    state = getattr(model, "_online_state", None)
    if model.__sklearn_is_fitted__():
        check_feature_names(X, getattr(model, "feature_names_in_", None), type(model).__name__)
        check_n_features(X, model.n_features_in_, type(model).__name__)
    cov_type = get_covariance_type(model.covariance_type)
    data = model._chunked(X, weights, center=None if state is None else state.center)
    with ChunkRunner() as runner:
        if model.__sklearn_is_fitted__():
            params = model._get_params_object()
        else:
            model._check_enough_samples(X, weights)
            initial = model._check_initial_parameters(X.shape[1], cov_type)
            rng = make_rng(model.random_state)
            params = model._initial_params(
                data.init_data(rng), cov_type, rng, runner, initial
            )
        dtype = attribute_dtype(model, data)  # the batch's, as a fit's (gmmkit.estimators.restarts)
        data = guard_float32(data, cov_type, params)
        eta = step_size(1 + (state.n_steps if state else 0), model.learning_decay,
                        model.learning_offset)
        state, params, batch_bound = online_step(
            state, data, cov_type, params, runner, model.reg_covar, eta
        )
    model._set_params_object(params, cov_type, dtype=dtype)
    model._online_state = state
    model.n_components_ = int(model.n_components)
    model.n_steps_ = model.n_iter_ = state.n_steps
    model.converged_ = False
    model.lower_bound_ = batch_bound
    model.lower_bounds_ = [*getattr(model, "lower_bounds_", [])[: state.n_steps - 1],
                          batch_bound]
    model.n_features_in_ = X.shape[1]
    if names is not None:
        model.feature_names_in_ = names
    return model

