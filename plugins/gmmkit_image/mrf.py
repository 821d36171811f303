"""Spatial smoothing: hidden-Markov-random-field EM (HMRF-EM) with a Potts prior.

The plain mixture labels every pixel on its own. HMRF-EM (Zhang, Brady and
Smith 2001, the model behind FSL FAST) adds a Potts prior: a pixel is more
likely to belong to the classes of its neighbours (4 neighbours in 2-D, 6 in
3-D), with weight ``beta`` per agreeing neighbour. Each iteration

1. updates the class posteriors of every pixel given its neighbours' ones,
   by mean-field (soft) or ICM (hard labels), sweeping the pixels in two
   halves of a checkerboard so neighbours are never updated together, and
2. re-estimates the Gaussians (M-step) from the smoothed posteriors of the
   pixels the mixture was fitted on.

Everything is vectorised over pixels in numpy; memory is a few arrays of
shape (n_pixels, n_classes).
"""

from __future__ import annotations

import numpy as np

METHODS = ("mean-field", "icm")


# ----------------------------------------------------------------- Gaussians


def component_log_densities(model, X):
    """log N(x | mean_k, cov_k) of every row and component (without the weights).

    ``model.component_log_densities(X)``: the engine's chunked, float32-capable
    computation (:meth:`gmmkit.GaussianMixture.component_log_densities`).

    Parameters
    ----------
    model : fitted GaussianMixture (any covariance_type)
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    return model.component_log_densities(X)


# ---------------------------------------------------------------- the field


def neighbour_sum(maps):
    """Sum of the values of every pixel's face neighbours (4 in 2-D, 6 in 3-D).

    Parameters
    ----------
    maps : ndarray of shape (*spatial, n_classes)

    Returns
    -------
    ndarray of the same shape; pixels beyond the border count as 0.
    """
    total = np.zeros_like(maps)
    for axis in range(maps.ndim - 1):
        head = [slice(None)] * maps.ndim
        tail = [slice(None)] * maps.ndim
        head[axis], tail[axis] = slice(1, None), slice(None, -1)
        total[tuple(head)] += maps[tuple(tail)]
        total[tuple(tail)] += maps[tuple(head)]
    return total


def _checkerboard(shape, mask_index):
    """Boolean (n_masked,) parity of each masked pixel's coordinate sum."""
    parity = np.indices(shape, sparse=True)
    total = sum(parity) % 2 == 0
    return np.broadcast_to(total, shape).ravel()[mask_index]


def _softmax(log_values):
    log_values = log_values - log_values.max(axis=1, keepdims=True)
    np.exp(log_values, out=log_values)
    log_values /= log_values.sum(axis=1, keepdims=True)
    return log_values


def smooth_posteriors(log_likelihood, shape, mask_index, *, beta, method="mean-field",
                      initial=None, sweeps=1):
    """Class posteriors under a Potts prior, by checkerboard mean-field or ICM sweeps.

    Parameters
    ----------
    log_likelihood : ndarray of shape (n_masked, n_classes)
        log(weight_k) + log N(x_i | k) of every pixel inside the mask.
    shape : tuple of int
        The spatial shape (2-D or 3-D).
    mask_index : ndarray of int, shape (n_masked,)
        Flat (C order) index of each row's pixel.
    beta : float
        Potts weight per agreeing neighbour.
    method : {"mean-field", "icm"}
    initial : ndarray of shape (n_masked, n_classes), optional
        Starting posteriors (default: the plain mixture's).
    sweeps : int, default=1

    Returns
    -------
    ndarray of shape (n_masked, n_classes)
        Posteriors (mean-field), or the ICM labels' conditional posteriors.
    """
    n_classes = log_likelihood.shape[1]
    current = _softmax(log_likelihood.copy()) if initial is None else initial.copy()
    if method == "icm":
        current = np.eye(n_classes)[current.argmax(axis=1)]
    maps = np.zeros((int(np.prod(shape)), n_classes))
    halves = _checkerboard(shape, mask_index)
    for _ in range(sweeps):
        for half in (halves, ~halves):
            maps[mask_index] = current
            field = neighbour_sum(maps.reshape(*shape, n_classes)).reshape(-1, n_classes)
            rows = np.flatnonzero(half)
            updated = _softmax(log_likelihood[rows] + beta * field[mask_index[rows]])
            if method == "icm":
                updated = np.eye(n_classes)[updated.argmax(axis=1)]
            current[rows] = updated
    if method == "icm":
        maps[mask_index] = current
        field = neighbour_sum(maps.reshape(*shape, n_classes)).reshape(-1, n_classes)
        current = _softmax(log_likelihood + beta * field[mask_index])
    return current


def hmrf_em(model, features, shape, mask_index, *, beta, fit_rows, method="mean-field",
            max_iter=10, tol=1e-4, reg_covar=None, progress=None):
    """HMRF-EM: alternate Potts-smoothed posteriors and M-steps.

    Parameters
    ----------
    model : fitted GaussianMixture
        Its parameters are updated in place by the M-steps.
    features : ndarray of shape (n_masked, n_features)
        Every pixel inside the mask.
    shape : tuple of int
        Spatial shape of the image.
    mask_index : ndarray of int, shape (n_masked,)
    beta : float
    fit_rows : ndarray of int
        Rows of ``features`` the M-step uses (the fitting subsample).
    method : {"mean-field", "icm"}
    max_iter : int, default=10
    tol : float, default=1e-4
        Stop when fewer than this fraction of the labels change.
    reg_covar : float or None
        Added to every variance by the M-steps; None keeps the model's
        (a number is set as the model's ``reg_covar``).
    progress : callable(iteration, changed) or None
        Told each iteration's number and the fraction of labels it changed
        (the first: against the plain mixture's labels).

    Returns
    -------
    posteriors : ndarray of shape (n_masked, n_classes)
    n_iter : int
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}.")
    if not beta >= 0:
        raise ValueError(f"smoothing beta={beta!r} must be a number >= 0 (0 = no smoothing).")
    if reg_covar is not None:
        model.set_params(reg_covar=reg_covar)
    posteriors, labels = None, None
    for iteration in range(1, max_iter + 1):
        log_likelihood = _log_joint(model, features)
        if labels is None:
            labels = log_likelihood.argmax(axis=1)  # the plain mixture's
        posteriors = smooth_posteriors(
            log_likelihood, shape, mask_index, beta=beta, method=method, initial=posteriors
        )
        new_labels = posteriors.argmax(axis=1)
        changed = np.mean(new_labels != labels)
        labels = new_labels
        if progress is not None:
            progress(iteration, changed)
        if changed < tol:
            break
        # the M-step from the smoothed posteriors, on the engine
        model.fit_from_responsibilities(features[fit_rows], posteriors[fit_rows])
    return posteriors, iteration


def _log_joint(model, features):
    """log(weight_k) + log N(x | k) of every pixel: (n_masked, n_classes)."""
    return model.component_log_densities(features) + np.log(model.weights_)
