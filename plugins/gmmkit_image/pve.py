"""Partial volume: the fraction of each class inside every pixel.

A voxel on the boundary of two tissues holds some of each, and its
intensity lies between theirs. Counting whole voxels by their labels
biases tissue volumes by the boundary voxels; FSL FAST's partial-volume
estimates (and the mixel model of Santago and Gage 1993) avoid that. Here,
after HMRF-EM:

* every voxel is of one *mixel type*: pure class k, intensity
  N(mu_k, sigma_k^2), or a mix of two classes a and b, intensity
  N(alpha mu_a + (1 - alpha) mu_b, s_ab^2) with alpha ~ Uniform(0, 1) and
  s_ab^2 = (sigma_a^2 + sigma_b^2) / 2, whose density integrates in closed
  form (the normal distribution function);
* a mix of a and b is allowed only where the HMRF-EM labels of the voxel
  and its face neighbours hold both a and b (a boundary), so noise alone
  never makes a voxel inside a tissue partial;
* the shares of the mixel types are fitted by EM separately for every
  *context* (the set of classes among the voxel's and its neighbours'
  labels): one global share would drown the mixes of a thin boundary band
  in the pure voxels of the tissues' interiors; the pure classes'
  Gaussians are refitted from the voxels' pure-type posteriors;
* a voxel's fraction of class k is its posterior expectation: the
  probability that it is pure k, plus, for every mix with k, the mix's
  probability times E[alpha | intensity] (a truncated normal mean).

Posterior expectations add up to unbiased volumes when the model holds.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import log_ndtr, logsumexp

from gmmkit_image.hmrf import class_gaussians

if TYPE_CHECKING:
    from gmmkit import GaussianMixture
    from gmmkit_image.mrf import Lattice

#: EM iterations of the mixel-type shares
MAX_ITER = 10


def _log_normal(x, mean, variance):
    return -0.5 * (np.log(2 * np.pi * variance) + (x - mean) ** 2 / variance)


def _log_interval(low, high):
    """log(Phi(high) - Phi(low)) for low <= high, without cancellation."""
    flip = low > 0  # in the upper tail use the symmetry Phi(x) = 1 - Phi(-x)
    a = np.where(flip, -high, low)
    b = np.where(flip, -low, high)
    log_a, log_b = log_ndtr(a), log_ndtr(b)
    with np.errstate(divide="ignore"):
        return log_b + np.log1p(-np.exp(np.minimum(log_a - log_b, 0.0)))


def mixed_class(x: np.ndarray, mean_a: float, mean_b: float,
                variance: float) -> tuple[np.ndarray, np.ndarray]:
    """The density of a two-class mix and the expected fraction of class a.

    x = alpha mean_a + (1 - alpha) mean_b + noise of variance ``variance``,
    alpha ~ Uniform(0, 1).

    Parameters
    ----------
    x : ndarray of shape (n,)
    mean_a, mean_b, variance : float

    Returns
    -------
    log_density : ndarray of shape (n,)
        log of the integral over alpha of N(x | alpha mean_a + (1 - alpha) mean_b, variance).
    alpha : ndarray of shape (n,)
        E[alpha | x], in [0, 1].
    """
    span = mean_a - mean_b
    centre = (x - mean_b) / span  # alpha | x is N(centre, sd^2) cut to [0, 1]
    sd = np.sqrt(variance) / abs(span)
    low, high = (0.0 - centre) / sd, (1.0 - centre) / sd
    log_mass = _log_interval(low, high)
    log_density = log_mass - np.log(abs(span))
    log_phi_low = -0.5 * low**2 - 0.5 * np.log(2 * np.pi)
    log_phi_high = -0.5 * high**2 - 0.5 * np.log(2 * np.pi)
    alpha = centre + sd * (np.exp(log_phi_low - log_mass) - np.exp(log_phi_high - log_mass))
    return log_density, np.clip(alpha, 0.0, 1.0)


def _present_classes(labels, lattice, n_classes):
    """Boolean (n, K): class k is the label of the voxel or of a face neighbour."""
    one_hot = np.eye(n_classes)[labels]
    grid = lattice.scatter(one_hot)
    return (lattice.field(grid) > 0) | one_hot.astype(bool)


def partial_volume_fractions(intensity: np.ndarray, posteriors: np.ndarray,
                             model: GaussianMixture, lattice: Lattice, *,
                             max_iter: int = MAX_ITER) -> np.ndarray:
    """The fraction of every class inside every voxel (the mixel model above).

    Parameters
    ----------
    intensity : ndarray of shape (n,)
        Each voxel's intensity (corrected for the bias field, if any).
    posteriors : ndarray of shape (n, K)
        The HMRF-EM (or mixture) posteriors; their argmax is the labels.
    model : fitted GaussianMixture with one feature
        The classes' Gaussians (starting values; refitted on pure voxels).
    lattice : gmmkit_image.mrf.Lattice
        Where the voxels are (for the neighbourhoods).
    max_iter : int, default=10

    Returns
    -------
    ndarray of float64, shape (n, K)
        Non-negative fractions adding up to 1 in every row.
    """
    n_classes = posteriors.shape[1]
    means, variances = class_gaussians(model)
    present = _present_classes(posteriors.argmax(axis=1), lattice, n_classes)
    context = present @ (1 << np.arange(n_classes))  # which classes are around: 1..2^K - 1
    n_contexts = 1 << n_classes
    pairs = list(itertools.combinations(range(n_classes), 2))
    allowed = np.hstack([np.ones((len(intensity), n_classes), bool)]
                        + [(present[:, a] & present[:, b])[:, None] for a, b in pairs])
    counts = np.maximum(np.bincount(context, minlength=n_contexts), 1)
    shares = np.full((n_contexts, allowed.shape[1]), 1.0 / allowed.shape[1])
    floor = 1e-12 * np.var(intensity) + 1e-300
    for _ in range(max_iter):
        log_types, alphas = _mixel_types(intensity, means, variances, pairs)
        log_types = np.where(allowed, log_types + np.log(np.maximum(shares[context], 1e-300)),
                             -np.inf)
        types = np.exp(log_types - logsumexp(log_types, axis=1, keepdims=True))
        shares = np.stack([np.bincount(context, weights=types[:, j], minlength=n_contexts)
                           for j in range(types.shape[1])], axis=1) / counts[:, None]
        pure = types[:, :n_classes]
        mass = pure.sum(axis=0)
        ok = mass > 1.0
        means[ok] = (pure.T @ intensity)[ok] / mass[ok]
        spread = (pure * (intensity[:, None] - means) ** 2).sum(axis=0)
        variances[ok] = np.maximum(spread[ok] / mass[ok], floor)
    fractions = types[:, :n_classes].copy()
    for j, (a, b) in enumerate(pairs):
        weight = types[:, n_classes + j]
        fractions[:, a] += weight * alphas[j]
        fractions[:, b] += weight * (1.0 - alphas[j])
    return fractions


def _mixel_types(intensity, means, variances, pairs):
    """log densities (n, K + pairs) of every mixel type, and E[alpha] of every pair."""
    columns = [_log_normal(intensity, m, v) for m, v in zip(means, variances)]
    alphas = []
    for a, b in pairs:
        log_density, alpha = mixed_class(intensity, means[a], means[b],
                                         0.5 * (variances[a] + variances[b]))
        columns.append(log_density)
        alphas.append(alpha)
    return np.stack(columns, axis=1), alphas
