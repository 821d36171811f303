"""Helpers of the finance tests: simulated regime-switching returns.

Import as ``from finance_helpers import markov_returns`` (pytest puts this folder on sys.path).
"""

import numpy as np


def markov_chain(transmat, n_days, rng, start=0):
    """A path of a Markov chain with transition matrix ``transmat``, shape (n_days,)."""
    transmat = np.asarray(transmat)
    cumulative = transmat.cumsum(axis=1)
    draws = rng.random(n_days)
    path = np.empty(n_days, dtype=int)
    state = start
    for t in range(n_days):
        path[t] = state
        state = min(int(np.searchsorted(cumulative[state], draws[t], side="right")),
                    len(transmat) - 1)
    return path


def markov_returns(n_days=1000, *, means=(0.05, -0.1), stds=(0.6, 2.0),
                   transmat=((0.98, 0.02), (0.05, 0.95)), seed=0):
    """Returns of a 2-regime (or K-regime) Gaussian HMM, and the regime path."""
    rng = np.random.default_rng(seed)
    path = markov_chain(transmat, n_days, rng)
    returns = np.asarray(means)[path] + np.asarray(stds)[path] * rng.standard_normal(n_days)
    return returns, path

