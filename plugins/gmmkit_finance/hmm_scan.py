"""Forward-backward and Viterbi for a hidden Markov chain, vectorised over time.

The forward probabilities of an HMM with transition matrix ``A`` and
emission densities ``b_t`` are a chain of matrix products,
``alpha_t = alpha_0 M_1 M_2 ... M_t`` with ``M_t = A diag(b_t)``, and the
backward ones the same chain read from the other end. A loop over days in
Python costs microseconds per day; here the days are cut into blocks of
about ``sqrt(n_days)``: the products inside every block are formed for all
blocks at once (one batched ``matmul`` per position), then the blocks are
chained (one small product per block) -- about ``2 sqrt(n_days)`` numpy
calls instead of ``n_days`` (a blocked form of the associative scan of
Sarkka and Garcia-Fernandez, 2021).

Numerics: the emission log densities are shifted by their largest value
per day before ``exp`` (log-space input), and every product is divided by
its largest entry, whose log is kept, so nothing under- or overflows; all
terms are non-negative, so the products lose no precision to cancellation.
"""

from __future__ import annotations

import numpy as np


def _block_size(n_steps):
    return max(8, int(np.sqrt(max(n_steps, 1))))


def chain_products(start, matrices):
    """Normalised ``start @ M_1 @ ... @ M_t`` for every t, and their log norms.

    Parameters
    ----------
    start : ndarray of shape (n_states,)
        Non-negative.
    matrices : ndarray of shape (n_steps, n_states, n_states)
        Non-negative.

    Returns
    -------
    vectors : ndarray of shape (n_steps + 1, n_states)
        Row t is the product of ``start`` with the first t matrices, scaled to
        sum to 1 (row 0 is ``start`` scaled).
    log_norms : ndarray of shape (n_steps + 1,)
        The log of each row's sum before scaling.
    """
    n_steps, k = matrices.shape[0], start.shape[0]
    size = _block_size(n_steps)
    n_blocks = -(-n_steps // size)
    padded = np.empty((n_blocks * size, k, k))
    padded[:n_steps] = matrices
    padded[n_steps:] = np.eye(k)
    blocks = padded.reshape(n_blocks, size, k, k)
    # products inside each block, for every block at once
    prefix = np.empty_like(blocks)
    prefix_log = np.zeros((n_blocks, size))
    current = blocks[:, 0]
    for j in range(size):
        if j:
            current = current @ blocks[:, j]
        peak = np.maximum(current.max(axis=(1, 2)), 1e-300)
        current = current / peak[:, None, None]
        prefix[:, j] = current
        prefix_log[:, j] = np.log(peak) + (prefix_log[:, j - 1] if j else 0.0)
    # chain the blocks: the vector entering each block
    entering = np.empty((n_blocks, k))
    entering_log = np.empty(n_blocks)
    total = float(start.sum())
    vector, log_norm = start / total, np.log(total)
    for i in range(n_blocks):
        entering[i], entering_log[i] = vector, log_norm
        vector = vector @ prefix[i, -1]
        total = float(vector.sum())
        vector, log_norm = vector / total, log_norm + prefix_log[i, -1] + np.log(total)
    inside = np.einsum("bi,bjik->bjk", entering, prefix).reshape(-1, k)[:n_steps]
    sums = inside.sum(axis=1)
    vectors = np.empty((n_steps + 1, k))
    vectors[0] = start / start.sum()
    vectors[1:] = inside / sums[:, None]
    log_norms = np.empty(n_steps + 1)
    log_norms[0] = np.log(start.sum())
    log_norms[1:] = (np.log(sums) + (entering_log[:, None] + prefix_log).ravel()[:n_steps])
    return vectors, log_norms


def forward_backward(log_emissions, startprob, transmat):
    """Filtered and smoothed state probabilities, expected transitions, log-likelihood.

    Parameters
    ----------
    log_emissions : ndarray of shape (n_days, n_states)
        log p(x_t | state).
    startprob : ndarray of shape (n_states,)
    transmat : ndarray of shape (n_states, n_states)
        Rows sum to 1.

    Returns
    -------
    filtered : ndarray of shape (n_days, n_states)
        P(state_t | x_1..x_t).
    smoothed : ndarray of shape (n_days, n_states)
        P(state_t | x_1..x_n).
    transitions : ndarray of shape (n_states, n_states)
        Expected number of transitions i -> j, summed over days.
    loglik : float
        log p(x_1..x_n).
    """
    shift = log_emissions.max(axis=1)
    emission = np.exp(log_emissions - shift[:, None])
    steps = transmat[None, :, :] * emission[1:, None, :]
    filtered, log_norms = chain_products(startprob * emission[0], steps)
    loglik = float(log_norms[-1] + shift.sum())
    backward, _ = chain_products(np.ones_like(startprob), steps[::-1].transpose(0, 2, 1))
    backward = backward[::-1]
    smoothed = filtered * backward
    smoothed /= smoothed.sum(axis=1, keepdims=True)
    pairs = filtered[:-1, :, None] * steps * backward[1:, None, :]
    sums = pairs.sum(axis=(1, 2))
    transitions = np.einsum("tij,t->ij", pairs, 1.0 / sums) if sums.size else np.zeros_like(
        transmat)
    return filtered, smoothed, transitions, loglik


def filter_only(log_emissions, startprob, transmat):
    """Filtered probabilities P(state_t | x_1..x_t), shape (n_days, n_states), and log p(x)."""
    shift = log_emissions.max(axis=1)
    emission = np.exp(log_emissions - shift[:, None])
    steps = transmat[None, :, :] * emission[1:, None, :]
    filtered, log_norms = chain_products(startprob * emission[0], steps)
    return filtered, float(log_norms[-1] + shift.sum())


def viterbi(log_emissions, startprob, transmat):
    """The most probable state path and its log probability.

    Parameters
    ----------
    log_emissions : ndarray of shape (n_days, n_states)
    startprob : ndarray of shape (n_states,)
    transmat : ndarray of shape (n_states, n_states)

    Returns
    -------
    path : ndarray of shape (n_days,), int
    log_prob : float
    """
    n_days, k = log_emissions.shape
    with np.errstate(divide="ignore"):
        log_a = np.log(transmat)
        score = np.log(startprob) + log_emissions[0]
    back = np.empty((n_days, k), dtype=np.intp)
    for t in range(1, n_days):
        candidates = score[:, None] + log_a
        back[t] = candidates.argmax(axis=0)
        score = candidates[back[t], np.arange(k)] + log_emissions[t]
    path = np.empty(n_days, dtype=np.intp)
    path[-1] = int(score.argmax())
    pointers = back.tolist()
    state = int(path[-1])
    for t in range(n_days - 1, 0, -1):
        state = pointers[t][state]
        path[t - 1] = state
    return path, float(score.max())
