"""Online (stepwise) EM maths: the running statistics behind ``GaussianMixture.partial_fit``.

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

The estimator's side (validation, initialisation, the fitted attributes) is
:class:`gmmkit.estimators.online.OnlineFit`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.em import Stats, params_from_stats

if TYPE_CHECKING:
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import DataSource


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


def step_size(n_steps: int, learning_decay: float, learning_offset: float) -> float:
    """eta_t for batch t = ``n_steps`` (1 for the first batch)."""
    if n_steps <= 1:
        return 1.0
    return float((n_steps + learning_offset) ** -learning_decay)


def check_schedule(learning_decay: float, learning_offset: float) -> None:
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


def online_step(
    state: OnlineState | None,
    data: DataSource,
    cov_type: CovarianceType,
    params: MixtureParams,
    runner: ChunkRunner,
    reg_covar: float,
    eta: float,
) -> tuple[OnlineState, MixtureParams, float]:
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
    batch = data.e_step(cov_type, params, runner).normalised()
    if state is None:
        state = OnlineState(batch, data.center, 1)
    else:
        state = replace(state, stats=state.stats.blend(batch, eta), n_steps=state.n_steps + 1)
    new_params, _ = params_from_stats(
        state.stats, cov_type, reg_covar, state.center, previous=params
    )
    return state, new_params, batch.loglik
