"""Scores: average log-likelihood ratio against the UBM, top-C scoring, decisions.

The score of frames X (T rows) for a speaker model is

    llr = (1/T) sum_t [log p(x_t | speaker) - log p(x_t | UBM)].

With ``top_c=C`` both densities are summed over the C components that are
most likely for each frame under the UBM only (Reynolds et al., 2000): the
other components of an adapted model hardly differ from the UBM's, and a
speaker then costs C instead of K component evaluations per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import logsumexp

from gmmkit_speech.adapt import check_same_features
from gmmkit_speech.ubm import as_config, speech_info

if TYPE_CHECKING:
    from gmmkit import GaussianMixture

LOG_2PI = np.log(2.0 * np.pi)


def component_log_densities(model, X, index=None):
    """log w_k + log N(x_t; mu_k, diag sigma_k^2) of a diagonal mixture.

    Parameters
    ----------
    model : GaussianMixture
        Diagonal covariances.
    X : ndarray of shape (T, d)
    index : ndarray of shape (T, C), optional
        Only these components of each frame.

    Returns
    -------
    ndarray of shape (T, K), or (T, C) with ``index``
    """
    if index is None:  # the engine's (chunked, threaded, float32 when asked)
        return model.component_log_densities(X) + np.log(model.weights_)
    return gathered_log_densities([model], X, index)[0]


def gathered_log_densities(models: Sequence[GaussianMixture] | tuple, X: np.ndarray,
                           index: np.ndarray) -> np.ndarray:
    """Top-C log densities of several diagonal mixtures: ndarray of shape (M, T, C).

    ``[m, t, c]`` is log w_k + log N(x_t; mu_k, sigma_k^2) of model m at
    component k = ``index[t, c]`` (the C components gathered per frame).
    ``models`` is a list of mixtures or the tuple of :func:`stacked_parameters`.
    """
    const, means, precision = models if isinstance(models, tuple) else stacked_parameters(models)
    diff = X[None, :, None, :] - means[:, index]  # (M, T, C, d)
    diff *= diff
    diff *= precision[:, index]
    return const[:, index] - 0.5 * diff.sum(axis=3)


def stacked_parameters(models: Sequence[GaussianMixture]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked diagonal models: (log w + norm. const (M, K), means (M, K, d), precisions)."""
    precision = 1.0 / np.array([m.covariances_ for m in models], dtype=np.float64)
    means = np.array([m.means_ for m in models], dtype=np.float64)
    log_weights = np.log(np.array([m.weights_ for m in models], dtype=np.float64))
    const = log_weights + 0.5 * (np.log(precision).sum(axis=2) - means.shape[2] * LOG_2PI)
    return const, means, precision


def top_components(ubm, X, top_c):
    """The ``top_c`` most likely UBM components of each frame: int array (T, top_c)."""
    log_dens = component_log_densities(ubm, X)
    return np.argpartition(log_dens, -top_c, axis=1)[:, -top_c:]


def llr_score(speaker, ubm, frames, *, top_c=None, index=None):
    """Average log-likelihood ratio of ``frames`` for ``speaker`` against ``ubm``: float.

    Parameters
    ----------
    speaker, ubm : GaussianMixture
        The speaker model (MAP-adapted from ``ubm``) and the UBM.
    frames : ndarray of shape (T, d)
    top_c : int, optional
        Score each frame with its ``top_c`` best UBM components only
        (diagonal models); None uses every component (the core engine).
    index : ndarray of shape (T, top_c), optional
        Precomputed :func:`top_components`, to share between speakers.

    Returns
    -------
    float
    """
    X = check_frames(ubm, frames, speaker=speaker)
    if top_c is None and index is None:
        return float(np.mean(speaker.score_samples(X) - ubm.score_samples(X)))
    if ubm.covariance_type != "diag" or speaker.covariance_type != "diag":
        raise ValueError("top_c scoring needs diagonal-covariance models; pass top_c=None.")
    if index is None:
        index = top_components(ubm, X, _check_top_c(top_c, len(ubm.weights_)))
    ubm_ll = logsumexp(component_log_densities(ubm, X, index), axis=1)
    speaker_ll = logsumexp(component_log_densities(speaker, X, index), axis=1)
    return float(np.mean(speaker_ll - ubm_ll))


def score_speakers(speakers, ubm, frames, *, top_c=None):
    """LLR of ``frames`` for every speaker: dict name -> float.

    Parameters
    ----------
    speakers : dict of str -> GaussianMixture, or a SpeakerStore
    ubm : GaussianMixture
    frames : ndarray of shape (T, d)
    top_c : int, optional
        The UBM's top components are found once and shared by all speakers.
    """
    X = check_frames(ubm, frames)
    if top_c is None:  # the UBM's densities once, shared by every speaker
        ubm_ll = ubm.score_samples(X)
        return {name: float(np.mean(model.score_samples(check_frames(ubm, X, speaker=model))
                                    - ubm_ll)) for name, model in speakers.items()}
    index = top_components(ubm, X, _check_top_c(top_c, len(ubm.weights_)))
    return {name: llr_score(model, ubm, X, index=index) for name, model in speakers.items()}


def score_matrix(models: Sequence[GaussianMixture], ubm: GaussianMixture,
                 utterances: Sequence[np.ndarray], *, top_c: int | None = None,
                 batch: int = 32) -> np.ndarray:
    """LLR of every utterance for every speaker model: ndarray of shape (n_models, n_utts).

    Parameters
    ----------
    models : list of GaussianMixture
        Speaker models adapted from ``ubm``.
    ubm : GaussianMixture
    utterances : list of ndarray of shape (T_u, d)
    top_c : int, optional
        Top-C scoring (each utterance's top components are found once); the
        models are then scored ``batch`` at a time in one array operation.
        None scores every component with the core engine, model by model.
    batch : int, default=32
    """
    scores = np.empty((len(models), len(utterances)))
    frames = [check_frames(ubm, u) for u in utterances]
    if top_c is None:
        for u, X in enumerate(frames):
            scores[:, u] = [llr_score(m, ubm, X) for m in models]
        return scores
    if ubm.covariance_type != "diag":
        raise ValueError("top_c scoring needs diagonal-covariance models; pass top_c=None.")
    top_c = _check_top_c(top_c, len(ubm.weights_))
    for model in models[:1]:  # models of one store share the feature config
        check_frames(ubm, frames[0], speaker=model)
    # every utterance's top components in one engine call
    bounds = np.cumsum([0] + [len(X) for X in frames])
    indexes = top_components(ubm, np.concatenate(frames), top_c)
    stacks = [stacked_parameters(models[i:i + batch]) for i in range(0, len(models), batch)]
    for u, X in enumerate(frames):
        index = indexes[bounds[u]:bounds[u + 1]]
        ubm_ll = logsumexp(component_log_densities(ubm, X, index), axis=1)
        for b, stack in enumerate(stacks):
            speaker_ll = logsumexp(gathered_log_densities(stack, X, index), axis=2)  # (M, T)
            scores[b * batch:b * batch + len(stack[0]), u] = np.mean(speaker_ll - ubm_ll, axis=1)
    return scores


def identify(speakers, ubm, frames, *, top_c=None):
    """Closed-set identification: (best speaker name, dict of all scores)."""
    scores = score_speakers(speakers, ubm, frames, top_c=top_c)
    if not scores:
        raise ValueError("no speakers are enrolled; enrol at least one before identifying.")
    return max(scores, key=scores.get), scores


def verify(speaker, ubm, frames, *, threshold=0.0, top_c=None):
    """Open-set verification: (accepted, score); accepted when score >= threshold.

    ``threshold`` must be a finite number (a NaN would reject everyone).
    """
    if not (isinstance(threshold, (int, float, np.number)) and np.isfinite(threshold)):
        raise ValueError(f"threshold={threshold!r} is not a finite number; give a "
                         "log-likelihood-ratio threshold such as 0.0.")
    score = llr_score(speaker, ubm, frames, top_c=top_c)
    return bool(score >= threshold), score


def check_frames(ubm, frames, *, speaker=None):
    """``frames`` as float64 (T, d) matching the UBM (and the speaker's feature config)."""
    X = np.asarray(frames, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != ubm.means_.shape[1]:
        raise ValueError(
            f"frames must have shape (n_frames, {ubm.means_.shape[1]}) to match the UBM; got "
            f"{X.shape}. Make them with the UBM's feature config."
        )
    if X.shape[0] == 0:
        raise ValueError("no frames to score; give an utterance with speech.")
    if speaker is not None and getattr(speaker, "speech_", None) and getattr(ubm, "speech_", None):
        check_same_features(
            as_config(speech_info(speaker)["features"]),
            as_config(speech_info(ubm)["features"]),
            what="the speaker model's features",
        )
    return X


def _check_top_c(top_c, n_components):
    if not (isinstance(top_c, (int, np.integer)) and 1 <= top_c <= n_components):
        raise ValueError(
            f"top_c={top_c!r} is not valid; use an int from 1 to the UBM's {n_components} "
            "components (5 is usual), or None."
        )
    return int(top_c)
