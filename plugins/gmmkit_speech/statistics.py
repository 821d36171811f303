"""Baum-Welch statistics of utterances against a UBM, computed by the core engine.

For utterance u with frames x_t and UBM responsibilities gamma_tk, the
zeroth- and centred first-order statistics are

    N_uk = sum_t gamma_tk,          F_uk = sum_t gamma_tk (x_t - mu_k).

The responsibilities come from the UBM's ``predict_proba`` (the chunked,
threaded engine, in float32 by default), a bounded chunk of frames at a
time, so memory does not grow with the number of frames; each chunk's
utterance sums are one GEMM per utterance. They feed the i-vector extractor
(:mod:`gmmkit_speech.ivector`).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit_speech.ubm import speech_info

if TYPE_CHECKING:
    from gmmkit import GaussianMixture

#: frames per engine call: the float64 responsibilities of a chunk are chunk x K
CHUNK_FRAMES = 32768


@dataclass
class BaumWelchStats:
    """Zeroth- and centred first-order statistics of utterances.

    Attributes
    ----------
    zeroth : ndarray of shape (n_utterances, n_components)
        N_uk, float64.
    first : ndarray of shape (n_utterances, n_components, n_features)
        F_uk = sum_t gamma_tk (x_t - mu_k), in the working dtype.
    n_frames : ndarray of shape (n_utterances,)
    ubm_name : str
        :func:`ubm_name` of the UBM they were computed with.
    features : dict
        The UBM's feature config.
    """

    zeroth: np.ndarray
    first: np.ndarray
    n_frames: np.ndarray
    ubm_name: str
    features: dict

    def __len__(self) -> int:
        return len(self.zeroth)

    def subset(self, index: Any) -> BaumWelchStats:
        """The statistics of the utterances ``index`` (ints or a bool mask): BaumWelchStats."""
        return BaumWelchStats(self.zeroth[index], self.first[index], self.n_frames[index],
                              self.ubm_name, self.features)


def ubm_name(ubm: GaussianMixture) -> str:
    """A name for a UBM that changes when any of its parameters does: 'ubm-<12 hex>'.

    The SHA-256 of its weights, means and covariances (as float64), so a
    saved and reloaded UBM keeps its name.
    """
    digest = hashlib.sha256()
    for values in (ubm.weights_, ubm.means_, ubm.covariances_):
        digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return "ubm-" + digest.hexdigest()[:12]


def baum_welch_statistics(ubm: GaussianMixture, utterances: Sequence[np.ndarray], *,
                          dtype: str = "float32",
                          chunk_frames: int = CHUNK_FRAMES) -> BaumWelchStats:
    """Baum-Welch statistics of each utterance against the UBM.

    Parameters
    ----------
    ubm : GaussianMixture
        A diagonal speech UBM (:func:`gmmkit_speech.train_ubm`).
    utterances : list of ndarray of shape (n_frames_u, n_features)
        Frames made with the UBM's feature config; one array per utterance.
    dtype : {"float32", "float64"}, default="float32"
        The engine's working precision and the dtype of ``first``.
    chunk_frames : int, default=32768
        Frames per engine call (memory: chunk_frames x n_components floats).

    Returns
    -------
    BaumWelchStats
    """
    info = speech_info(ubm)
    if ubm.covariance_type != "diag":
        raise ValueError(f"Baum-Welch statistics need a diagonal-covariance UBM; this one is "
                         f"covariance_type={ubm.covariance_type!r}. Train it with train_ubm.")
    work = np.dtype(dtype)
    if work not in (np.float32, np.float64):
        raise ValueError(f"dtype={dtype!r} is not valid; use 'float32' or 'float64'.")
    frames = _check_utterances(utterances, ubm.means_.shape[1])
    lengths = np.array([len(u) for u in frames], dtype=np.int64)
    means = np.asarray(ubm.means_, dtype=np.float64)
    n_utt, (n_comp, n_feat) = len(frames), means.shape
    zeroth = np.zeros((n_utt, n_comp))
    first = np.zeros((n_utt, n_comp, n_feat), dtype=work)
    model = copy.copy(ubm)
    model.set_params(dtype=work.name)
    for chunk, pieces in _chunks(frames, lengths, chunk_frames, work):
        gamma = model.predict_proba(chunk)  # (n, K) float64, computed in ``work`` precision
        weights = gamma.astype(work, copy=False)
        with one_blas_thread():  # one small GEMM per utterance: threads would only contend
            for utterance, start, stop in pieces:
                zeroth[utterance] += gamma[start:stop].sum(axis=0)
                first[utterance] += weights[start:stop].T @ chunk[start:stop]
    first -= (zeroth[:, :, None] * means[None]).astype(work)  # centre on the UBM means
    return BaumWelchStats(zeroth, first, lengths, ubm_name(ubm), info["features"])


def one_blas_thread():
    """A context holding BLAS to one thread (threadpoolctl), or doing nothing without it.

    Many small products or factorisations in a row run faster on one thread
    each than on a team that has to be woken for every call.
    """
    from gmmkit import single_blas_thread  # one threadpoolctl scan per process

    return single_blas_thread("blas")


def _check_utterances(utterances, n_features):
    if isinstance(utterances, np.ndarray) and utterances.ndim == 2:
        raise ValueError("utterances must be a list of (n_frames, n_features) arrays, one per "
                         "utterance; wrap a single utterance as [frames].")
    frames = [np.asarray(u) for u in utterances]
    if not frames:
        raise ValueError("no utterances given; pass a list of (n_frames, n_features) arrays.")
    for i, u in enumerate(frames):
        if u.ndim != 2 or u.shape[1] != n_features:
            raise ValueError(f"utterance {i} has shape {u.shape}; frames must have shape "
                             f"(n_frames, {n_features}) to match the UBM. Make them with the "
                             "UBM's feature config.")
        if u.shape[0] == 0:
            raise ValueError(f"utterance {i} has no frames; give utterances with speech.")
    return frames


def _chunks(frames, lengths, chunk_frames, dtype):
    """Yield (chunk (n, d) array, [(utterance, start, stop) within the chunk]).

    Utterances are packed into chunks of about ``chunk_frames`` rows; a long
    utterance is split over several chunks.
    """
    ends = np.cumsum(lengths)
    starts = ends - lengths
    total = int(ends[-1])
    for begin in range(0, total, chunk_frames):
        end = min(begin + chunk_frames, total)
        first = int(np.searchsorted(ends, begin, side="right"))
        last = int(np.searchsorted(starts, end, side="left"))
        pieces, parts = [], []
        for u in range(first, last):
            a, b = max(starts[u], begin), min(ends[u], end)
            pieces.append((u, a - begin, b - begin))
            parts.append(frames[u][a - starts[u]:b - starts[u]])
        yield np.concatenate(parts).astype(dtype, copy=False), pieces
