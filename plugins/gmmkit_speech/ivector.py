"""i-vectors (Dehak et al., 2011): the total-variability model on Baum-Welch statistics.

An utterance's mean supervector is modelled as ``m + T w`` with the UBM's
means m, a low-rank total-variability matrix T (n_components x n_features
rows, ``rank`` columns; block T_k per component) and w ~ N(0, I). Given the
utterance's zeroth- and centred first-order statistics N_k, F_k (fixed UBM
alignments), the posterior of w is Gaussian with

    precision  L = I + sum_k N_k T_k' S_k^-1 T_k
    mean       w = L^-1 sum_k T_k' S_k^-1 F_k        (the i-vector)

(S_k the UBM's diagonal covariances). T is trained by EM on many
utterances: the E-step is the posterior above, the M-step solves
T_k = C_k A_k^-1 with C_k = sum_u F_uk E[w_u]' and
A_k = sum_u N_uk E[w_u w_u']; the optional minimum-divergence step
(Brummer; a PX-EM step) rescales T so the i-vectors' second moment is I.
Each iteration raises the log-likelihood of the statistics

    sum_u  -1/2 log|L_u| + 1/2 b_u' L_u^-1 b_u,    b_u = sum_k T_k' S_k^-1 F_uk

(up to a term that does not depend on T), which ``log_likelihoods_`` records.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from numpy.typing import ArrayLike

from gmmkit_speech.statistics import (
    BaumWelchStats,
    baum_welch_statistics,
    one_blas_thread,
    ubm_name,
)
from gmmkit_speech.ubm import as_config, speech_info

if TYPE_CHECKING:
    from gmmkit import GaussianMixture
    from gmmkit_speech.backend import IvectorBackend

#: fewer frames than this give an i-vector that is mostly the prior: warn
MIN_FRAMES = 20
#: utterances per batch of the E-step (memory: batch x rank^2 floats)
BATCH = 128
FILE_FORMAT = "gmmkit-ivector-extractor"


class ShortUtteranceWarning(UserWarning):
    """An utterance has too few frames for a stable i-vector."""


class IvectorExtractor:
    """A total-variability matrix with the UBM it was trained on.

    Made by :func:`train_ivector_extractor`; saved and read with :meth:`save`
    and :meth:`load`.

    Attributes
    ----------
    T : ndarray of shape (n_components, n_features, rank)
        Assign a new array to change it (products of T are cached with it).
    ubm_means, ubm_covariances : ndarray of shape (n_components, n_features)
        The UBM's means and diagonal covariances.
    ubm_name : str
        :func:`gmmkit_speech.statistics.ubm_name` of the UBM.
    features : dict
        The UBM's feature config.
    log_likelihoods_ : list of float
        The objective before each EM iteration and after the last.
    backend : IvectorBackend or None
        A back-end trained on this extractor's i-vectors, saved with it.
    """

    def __init__(self, T: ArrayLike, ubm_means: ArrayLike, ubm_covariances: ArrayLike,
                 ubm_name: str, features: dict, log_likelihoods: Sequence[float] = (),
                 backend: IvectorBackend | None = None) -> None:
        self.T = np.asarray(T, dtype=np.float64)
        self.ubm_means = np.asarray(ubm_means, dtype=np.float64)
        self.ubm_covariances = np.asarray(ubm_covariances, dtype=np.float64)
        self.ubm_name = ubm_name
        self.features = dict(features)
        self.log_likelihoods_ = list(log_likelihoods)
        self.backend = backend

    def projections(self) -> tuple[np.ndarray, np.ndarray]:
        """(upper triangles of T_k' S_k^-1 T_k, shape (K, R(R+1)/2); S^-1 T, shape (K D, R)).

        Kept with the T they belong to, so extracting one utterance at a
        time does not redo the K products.
        """
        cached = getattr(self, "_cached_projections", None)
        if cached is None or cached[0] is not self.T:
            cached = (self.T, *_projections(self.T, self.ubm_covariances))
            self._cached_projections = cached
        return cached[1], cached[2]

    @property
    def rank(self) -> int:
        """Dimension of the i-vectors."""
        return self.T.shape[2]

    def check_ubm(self, name: str, features: dict, *, what: str = "the UBM") -> None:
        """ValueError naming both UBMs when ``name``/``features`` are not the extractor's."""
        mine, theirs = as_config(self.features), as_config(features)
        if mine != theirs:
            raise ValueError(
                f"the i-vector extractor was trained on features made with other settings than "
                f"{what}'s ({mine.differences(theirs)}, extractor != {what}); train an "
                "extractor on this UBM (train_ivector_extractor, `gmmkit speech tv`)."
            )
        if name != self.ubm_name:
            raise ValueError(
                f"the i-vector extractor was trained on UBM {self.ubm_name}, not on {what} "
                f"{name}; train an extractor on this UBM (train_ivector_extractor, `gmmkit "
                "speech tv`) or use the UBM it was trained on."
            )

    def save(self, file: str | os.PathLike | BinaryIO) -> None:
        """Write the extractor (and its back-end) to ``file``, a path or a binary file, as .npz."""
        meta = {"format": FILE_FORMAT, "version": 1, "ubm_name": self.ubm_name,
                "features": self.features, "log_likelihoods": self.log_likelihoods_}
        if hasattr(file, "write"):
            backend = {} if self.backend is None else self.backend.to_arrays()
            np.savez(file, T=self.T, ubm_means=self.ubm_means,
                     ubm_covariances=self.ubm_covariances, meta=json.dumps(meta),
                     **{f"backend_{k}": v for k, v in backend.items()})  # type: ignore[arg-type]
            return
        with open(file, "wb") as handle:
            self.save(handle)

    @classmethod
    def load(cls, path: str | os.PathLike) -> IvectorExtractor:
        """Read an extractor written by :meth:`save`."""
        from gmmkit_speech.backend import IvectorBackend

        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FILE_FORMAT:
                    raise KeyError("format")
                backend = {k[8:]: data[k] for k in data.files if k.startswith("backend_")}
                return cls(data["T"], data["ubm_means"], data["ubm_covariances"],
                           meta["ubm_name"], meta["features"], meta["log_likelihoods"],
                           IvectorBackend.from_arrays(backend) if backend else None)
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(
                f"'{path}' is not an i-vector extractor file ({type(exc).__name__}: {exc}); "
                "make one with `gmmkit speech tv` or IvectorExtractor.save."
            ) from None


def train_ivector_extractor(ubm: GaussianMixture, data: BaumWelchStats | Sequence[np.ndarray],
                            *, rank: int = 100, n_iter: int = 10, min_divergence: bool = True,
                            random_state: int = 0, verbose: bool = True) -> IvectorExtractor:
    """Train a total-variability matrix T by EM on utterances' Baum-Welch statistics.

    Parameters
    ----------
    ubm : GaussianMixture
        The diagonal speech UBM.
    data : BaumWelchStats or list of ndarray of shape (n_frames_u, n_features)
        Statistics from :func:`baum_welch_statistics` with this UBM, or the
        utterances' frames (their statistics are computed in float32).
    rank : int, default=100
        i-vector dimension.
    n_iter : int, default=10
        EM iterations.
    min_divergence : bool, default=True
        After each M-step, rescale T so the i-vectors' second moment is I.
    random_state : int, default=0
        Seed of the random start of T (the training is deterministic given it).
    verbose : bool, default=True
        A line on stderr when training starts and one when it ends (as
        :func:`gmmkit_speech.train_ubm`); False is silent.

    Returns
    -------
    IvectorExtractor
    """
    stats = _stats(ubm, data)
    if not (isinstance(rank, (int, np.integer)) and rank >= 1):
        raise ValueError(f"rank={rank!r} is not valid; use a positive int (100 to 400 is usual).")
    if not (isinstance(n_iter, (int, np.integer)) and n_iter >= 1):
        raise ValueError(f"n_iter={n_iter!r} is not valid; use a positive int (5 to 20).")
    means = np.asarray(ubm.means_, dtype=np.float64)
    variances = np.asarray(ubm.covariances_, dtype=np.float64)
    rng = np.random.default_rng(random_state)
    # start: random directions of the size of the UBM's spread (Kaldi and MSR do alike)
    T = np.sqrt(variances)[:, :, None] * rng.standard_normal((*means.shape, rank)) * 0.1
    extractor = IvectorExtractor(T, means, variances, stats.ubm_name, stats.features)
    if verbose:
        print(f"training T matrix: rank {rank} on {len(stats)} utterances "
              f"({int(stats.n_frames.sum())} frames, UBM of {means.shape[0]} components x "
              f"{means.shape[1]} features)", file=sys.stderr, flush=True)
    for iteration in range(1, n_iter + 1):
        totals = _e_step(extractor, stats, accumulate=True)
        extractor.log_likelihoods_.append(totals["log_likelihood"])
        extractor.T = _m_step(totals, extractor.T.shape)
        if min_divergence:
            moment = totals["moment"] / len(stats)
            extractor.T = extractor.T @ np.linalg.cholesky(moment)
    extractor.log_likelihoods_.append(ivector_log_likelihood(extractor, stats))
    if verbose:
        first, last = extractor.log_likelihoods_[0], extractor.log_likelihoods_[-1]
        print(f"training T matrix: {n_iter} EM iterations (auxiliary log-likelihood "
              f"{first:.6g} -> {last:.6g})", file=sys.stderr, flush=True)
    return extractor


def extract_ivectors(extractor: IvectorExtractor, data: BaumWelchStats | Sequence[np.ndarray],
                     *, ubm: GaussianMixture | None = None, return_covariance: bool = False,
                     min_frames: int = MIN_FRAMES) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The i-vector (posterior mean of w) of each utterance.

    Parameters
    ----------
    extractor : IvectorExtractor
    data : BaumWelchStats or list of ndarray of shape (n_frames_u, n_features)
        Statistics computed with the extractor's UBM, or frames (then pass ``ubm``).
    ubm : GaussianMixture, optional
        The extractor's UBM, to compute the statistics of frames.
    return_covariance : bool, default=False
        Also return each posterior covariance L_u^-1.
    min_frames : int, default=20
        Warn (:class:`ShortUtteranceWarning`) for utterances with fewer frames.

    Returns
    -------
    ivectors : ndarray of shape (n_utterances, rank)
    covariances : ndarray of shape (n_utterances, rank, rank)
        Only with ``return_covariance=True``.
    """
    if isinstance(data, BaumWelchStats):
        stats = data
    elif ubm is None:
        raise ValueError("extract_ivectors needs the UBM to compute the statistics of frames; "
                         "pass ubm=..., or give BaumWelchStats.")
    else:
        stats = _stats(ubm, data, extractor=extractor)
    extractor.check_ubm(stats.ubm_name, stats.features, what="the statistics' UBM")
    short = np.flatnonzero(stats.n_frames < min_frames)
    if short.size:
        shown = ", ".join(str(i) for i in short[:5]) + (", ..." if short.size > 5 else "")
        warnings.warn(
            f"{short.size} utterance(s) ({shown}) have fewer than {min_frames} frames "
            f"(fewest: {int(stats.n_frames[short].min())}); their i-vectors are mostly the "
            "prior and unreliable; enrol and test with longer utterances.",
            ShortUtteranceWarning, stacklevel=2)
    result = _e_step(extractor, stats, keep_covariance=return_covariance)
    if return_covariance:
        return result["means"], result["covariances"]
    return result["means"]


def ivector_log_likelihood(extractor: IvectorExtractor, stats: BaumWelchStats) -> float:
    """The objective T-matrix EM raises: sum_u -1/2 log|L_u| + 1/2 b_u' L_u^-1 b_u (float)."""
    return _e_step(extractor, stats)["log_likelihood"]


def _stats(ubm, data, *, extractor=None):
    if isinstance(data, BaumWelchStats):
        stats = data
    else:
        stats = baum_welch_statistics(ubm, data)
    name, features = ubm_name(ubm), speech_info(ubm)["features"]
    if extractor is not None:
        extractor.check_ubm(name, features)
    if stats.ubm_name != name:
        raise ValueError(f"the statistics were computed with UBM {stats.ubm_name}, not with "
                         f"this UBM {name}; compute them with baum_welch_statistics(ubm, ...).")
    return stats


def _e_step(extractor, stats, *, accumulate=False, keep_covariance=False):
    """Posteriors of every utterance, in batches; sums for the M-step when ``accumulate``.

    The R x R matrices (T_k' S_k^-1 T_k, L_u, E[w w']) are symmetric: the
    two large products (L from the zeroth-order statistics, and the M-step's
    A_k) run on their upper triangles only, R (R + 1) / 2 columns.
    """
    n_comp, n_feat, rank = extractor.T.shape
    upper = np.triu_indices(rank)
    TT, scaled = extractor.projections()
    eye = np.eye(rank)
    n_utt = len(stats)
    out = {"log_likelihood": 0.0, "means": np.empty((n_utt, rank))}
    if keep_covariance:
        out["covariances"] = np.empty((n_utt, rank, rank))
    if accumulate:
        out["C"] = np.zeros((n_comp * n_feat, rank))
        out["A"] = np.zeros((n_comp, len(upper[0])))  # upper triangles of A_k
        out["moment"] = np.zeros((rank, rank))
    for start in range(0, n_utt, BATCH):
        batch = slice(start, min(start + BATCH, n_utt))
        zeroth = stats.zeroth[batch]
        first = np.asarray(stats.first[batch], dtype=np.float64).reshape(len(zeroth), -1)
        L = symmetric_from_upper(zeroth @ TT, rank) + eye
        b = first @ scaled  # (B, R)
        with one_blas_thread():  # many small factorisations: threads only contend
            chol = np.linalg.cholesky(L)  # L is symmetric positive definite: I + PSD
            cov = np.linalg.inv(L)
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        w = np.einsum("brs,bs->br", cov, b)
        log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        out["log_likelihood"] += float(np.sum(-0.5 * log_det + 0.5 * np.einsum("br,br->b", b, w)))
        out["means"][batch] = w
        if keep_covariance:
            out["covariances"][batch] = cov
        if accumulate:
            second = cov + w[:, :, None] * w[:, None, :]  # E[w w'], (B, R, R)
            out["C"] += first.T @ w
            out["A"] += zeroth.T @ second[:, upper[0], upper[1]]
            out["moment"] += second.sum(axis=0)
    return out


def _projections(T, ubm_covariances):
    """(upper triangles of T_k' S_k^-1 T_k (K, R(R+1)/2), S^-1 T (K D, R))."""
    n_comp, n_feat, rank = T.shape
    upper = np.triu_indices(rank)
    precision = 1.0 / ubm_covariances  # (K, D)
    scaled = (T * precision[:, :, None]).reshape(n_comp * n_feat, rank)  # S^-1 T
    # one BLAS product per component (faster than a batched matmul)
    TT = np.stack([((Tk * p[:, None]).T @ Tk)[upper] for Tk, p in zip(T, precision)])
    return TT, scaled


def symmetric_from_upper(packed, rank):
    """Symmetric (..., R, R) matrices from their upper triangles (..., R (R + 1) / 2)."""
    i, j = np.triu_indices(rank)
    full = np.empty((*packed.shape[:-1], rank, rank))
    full[..., i, j] = packed
    full[..., j, i] = packed
    return full


def _m_step(totals, shape):
    """T_k = C_k A_k^-1 for every component: (K, D, R)."""
    n_comp, n_feat, rank = shape
    A = symmetric_from_upper(totals["A"], rank)
    C = totals["C"].reshape(n_comp, n_feat, rank)
    # A_k is symmetric: T_k' = A_k^-1 C_k'
    with one_blas_thread():
        return np.swapaxes(np.linalg.solve(A, np.swapaxes(C, 1, 2)), 1, 2)

