"""MAP adaptation of a UBM to a speaker's frames (Reynolds, Quatieri and Dunn, 2000).

With UBM responsibilities gamma_tk of the speaker's T frames,

    n_k = sum_t gamma_tk,   E_k[x] = sum_t gamma_tk x_t / n_k,   E_k[x^2] likewise,
    alpha_k = n_k / (n_k + r),

the adapted parameters are

    mean:     mu_k'    = alpha_k E_k[x] + (1 - alpha_k) mu_k
    weight:   w_k'     = (alpha_k n_k / T + (1 - alpha_k) w_k) / sum_j (same)
    variance: sigma_k'^2 = alpha_k E_k[x^2] + (1 - alpha_k)(sigma_k^2 + mu_k^2) - mu_k'^2

or, equivalently and exactly at alpha_k = 0 and 1,

    sigma_k'^2 = (1 - alpha_k) sigma_k^2 + alpha_k Var_k[x] + alpha_k (1 - alpha_k)(E_k[x] - mu_k)^2

(one relevance factor r for all three, as in Kaldi's gmm-adapt-map and
bob.bio.gmm). r -> infinity keeps the UBM; r = 0 is one maximum-likelihood
M-step from the UBM's responsibilities. A component no frame touches
(n_k = 0) keeps its UBM parameters whatever r is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from gmmkit_speech.ubm import as_config, pool_frames, speech_info

if TYPE_CHECKING:
    from gmmkit import GaussianMixture

UPDATES = ("m", "mw", "mwv")


def map_adapt(ubm, frames, *, relevance_factor=16.0, update="m", feature_config=None,
              variance_floor=None):
    """A speaker model: the UBM MAP-adapted to the speaker's frames.

    Parameters
    ----------
    ubm : GaussianMixture
        A fitted diagonal-covariance mixture (see :func:`train_ubm`).
    frames : ndarray of shape (n_frames, n_features) or list of such arrays
        The speaker's frames, made with the UBM's feature config.
    relevance_factor : float, default=16
        r >= 0 (``float("inf")`` allowed): how many frames a component
        needs before its data outweighs the UBM.
    update : {"m", "mw", "mwv"}, default="m"
        Adapt the means; means and weights; or means, weights and variances.
    feature_config : FeatureConfig or dict, optional
        How ``frames`` were made; when given it must equal the UBM's.
    variance_floor : float, optional
        Smallest adapted variance (``update="mwv"``); default the UBM's ``reg_covar``.

    Returns
    -------
    GaussianMixture
        Fitted, diagonal; ``speech_`` records role "speaker", the feature
        config, r, the update and the number of frames.

    Raises
    ------
    ValueError
        For a UBM that is not diagonal, frames of another width or feature
        config, a negative relevance factor or an unknown update.
    """
    X = _check_inputs(ubm, frames, relevance_factor, update, feature_config)
    return _adapted(ubm, *_sufficient_stats(ubm, X), X.shape[0], relevance_factor, update,
                    variance_floor)


def map_adapt_each(ubm: GaussianMixture, utterances: Sequence[np.ndarray], *,
                   relevance_factor: float = 16.0, update: str = "m",
                   variance_floor: float | None = None) -> list[GaussianMixture]:
    """One MAP-adapted model per utterance (as :func:`map_adapt` of each), in one engine pass.

    Parameters
    ----------
    ubm : GaussianMixture
    utterances : list of ndarray of shape (n_frames_u, n_features)
    relevance_factor, update, variance_floor
        As in :func:`map_adapt`.

    Returns
    -------
    list of GaussianMixture
    """
    parts = [_check_inputs(ubm, u, relevance_factor, update, None) for u in utterances]
    if not parts:
        return []
    X = np.concatenate(parts)
    gamma = ubm.predict_proba(X)  # one engine call for every utterance
    bounds = np.cumsum([0] + [len(p) for p in parts])
    models = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        g, x = gamma[start:stop], X[start:stop]
        models.append(_adapted(ubm, g.sum(axis=0), g.T @ x, g.T @ (x * x), stop - start,
                               relevance_factor, update, variance_floor))
    return models


def _adapted(ubm, n_k, first, second, n_frames, relevance_factor, update, variance_floor):
    """The adapted model from the speaker's statistics (the closed form above)."""
    alpha = _adaptation_coefficients(n_k, relevance_factor)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.where(n_k[:, None] > 0, first / n_k[:, None], 0.0)
        mean_xx = np.where(n_k[:, None] > 0, second / n_k[:, None], 0.0)
    a = alpha[:, None]
    means = a * mean_x + (1.0 - a) * ubm.means_
    weights = np.array(ubm.weights_, dtype=np.float64)
    variances = np.array(ubm.covariances_, dtype=np.float64)
    if "w" in update:
        weights = alpha * n_k / n_frames + (1.0 - alpha) * ubm.weights_
        if np.any(alpha > 0):  # (r = inf keeps the UBM's weights bit for bit)
            weights /= weights.sum()
    if update == "mwv":
        floor = ubm.reg_covar if variance_floor is None else float(variance_floor)
        # = a E[x^2] + (1 - a)(sigma^2 + mu^2) - mu'^2, in a form exact at a = 0 and 1
        spread = np.maximum(mean_xx - mean_x**2, 0.0)
        variances = (1.0 - a) * ubm.covariances_ + a * spread + a * (1.0 - a) * (
            mean_x - ubm.means_) ** 2
        variances = np.maximum(variances, floor)
    model = ubm.with_parameters(weights, means, variances)
    info = speech_info(ubm)
    model.speech_ = {
        "role": "speaker",
        "features": info["features"],
        "relevance_factor": None if np.isinf(relevance_factor) else float(relevance_factor),
        "update": update,
        "n_frames": int(n_frames),
    }
    return model


def _check_inputs(ubm, frames, relevance_factor, update, feature_config):
    """The speaker's frames as a float64 array, after every check."""
    info = speech_info(ubm)
    if ubm.covariance_type != "diag":
        raise ValueError(
            f"MAP adaptation needs a diagonal-covariance UBM; this one is "
            f"covariance_type={ubm.covariance_type!r}. Train it with train_ubm."
        )
    if update not in UPDATES:
        raise ValueError(f"update={update!r} is not valid; use 'm', 'mw' or 'mwv'.")
    if not relevance_factor >= 0:
        raise ValueError(
            f"relevance_factor={relevance_factor!r} is not valid; use a number >= 0 "
            "(16 is usual; float('inf') keeps the UBM)."
        )
    if feature_config is not None:
        check_same_features(as_config(feature_config), as_config(info["features"]),
                            what="the speaker's features")
    X = np.asarray(pool_frames(frames), dtype=np.float64)
    if X.shape[1] != ubm.means_.shape[1]:
        raise ValueError(
            f"the speaker's frames have {X.shape[1]} features but the UBM has "
            f"{ubm.means_.shape[1]}; make them with the UBM's feature config."
        )
    if X.shape[0] == 0:
        raise ValueError("the speaker has no frames; enrol at least one utterance with speech.")
    return X


def check_same_features(config, expected, *, what):
    """ValueError naming the differences when ``config`` is not ``expected`` (the UBM's)."""
    if config != expected:
        raise ValueError(
            f"{what} were made with other settings than the UBM's ({config.differences(expected)},"
            " speaker != UBM); extract them with the UBM's feature config "
            "(gmmkit_speech.feature_config(ubm))."
        )


def _sufficient_stats(ubm, X):
    """Zeroth, first and second order statistics: (K,), (K, d), (K, d)."""
    gamma = ubm.predict_proba(X)  # (T, K)
    return gamma.sum(axis=0), gamma.T @ X, gamma.T @ (X * X)


def _adaptation_coefficients(n_k, relevance_factor):
    """alpha_k = n_k / (n_k + r); 0 where n_k = 0 or r is infinite."""
    if np.isinf(relevance_factor):
        return np.zeros_like(n_k)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = n_k / (n_k + relevance_factor)
    return np.where(n_k > 0, alpha, 0.0)
