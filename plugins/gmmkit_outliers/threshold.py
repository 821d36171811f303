"""The threshold on decision scores: from ``contamination`` or from the mixture itself."""

from __future__ import annotations

import numpy as np

#: contamination="auto" flags a row when the fitted normal mixture generates rows
#: with a density this low or lower with probability under AUTO_TAIL
AUTO_TAIL = 0.01
#: draws from the mixture used to estimate that tail
AUTO_DRAWS = 20000


def contamination_threshold(scores, contamination):
    """The (1 - contamination) quantile of the training scores: float."""
    return float(np.quantile(scores, 1.0 - contamination))


def tail_threshold(normal, *, seed=0, tail=AUTO_TAIL, n_draws=AUTO_DRAWS):
    """The score exceeded by a share ``tail`` of the normal mixture's own draws.

    Parameters
    ----------
    normal : GaussianMixture
        The normal part of the fitted mixture (scaled space).
    seed : int
        Seed of the draws, so the threshold is reproducible.

    Returns
    -------
    float
        A row whose score (minus log density) is above it has a tail
        probability under ``tail``: fewer than ``tail`` of the rows the model
        of normal data generates are as unlikely.
    """
    sampler = _copy_with_seed(normal, seed)
    draws, _ = sampler.sample(n_draws)
    return float(np.quantile(-normal.score_samples(draws), 1.0 - tail))


def _copy_with_seed(model, seed):
    import copy

    sampler = copy.copy(model)
    sampler.random_state = seed
    return sampler
