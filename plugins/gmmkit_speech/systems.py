"""Verification systems behind one interface, and cohort-normalised score matrices.

A *system* turns utterances (frame arrays) into what it scores
(:meth:`prepare`), makes a speaker model from prepared utterances
(:meth:`enrol`) and scores models against prepared utterances
(:meth:`score`). Two are built in:

- :class:`GmmUbmSystem`: MAP-adapted UBMs scored by average LLR (top-C);
- :class:`IvectorSystem`: i-vectors through an :class:`IvectorBackend`,
  scored by cosine or PLDA.

:func:`system_scores` scores models against test utterances and, with a
``norm`` method, normalises the scores with a cohort of utterances: each
cohort utterance is a Z-side test and, enrolled on its own, a T-side model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit_speech.norm import normalise_scores

if TYPE_CHECKING:
    from gmmkit import GaussianMixture
    from gmmkit_speech.backend import IvectorBackend
    from gmmkit_speech.ivector import IvectorExtractor


class GmmUbmSystem:
    """The GMM-UBM recipe: MAP-adapted speaker models, average LLR scores.

    Parameters
    ----------
    ubm : GaussianMixture
    top_c : int or None, default=5
    relevance_factor : float, default=16
    update : {"m", "mw", "mwv"}, default="m"
    """

    def __init__(self, ubm: GaussianMixture, *, top_c: int | None = 5,
                 relevance_factor: float = 16.0, update: str = "m") -> None:
        self.ubm = ubm
        self.top_c = top_c
        self.relevance_factor = relevance_factor
        self.update = update

    def prepare(self, utterances: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The frames themselves: list of ndarray (T_u, d)."""
        return list(utterances)

    def enrol(self, prepared: Sequence[np.ndarray]) -> GaussianMixture:
        """A MAP-adapted model of the pooled utterances."""
        from gmmkit_speech.adapt import map_adapt

        return map_adapt(self.ubm, list(prepared), relevance_factor=self.relevance_factor,
                         update=self.update)

    def enrol_each(self, prepared: Sequence[np.ndarray]) -> list[GaussianMixture]:
        """One model per utterance (a cohort's T-side models), in one engine pass."""
        from gmmkit_speech.adapt import map_adapt_each

        return map_adapt_each(self.ubm, list(prepared), relevance_factor=self.relevance_factor,
                              update=self.update)

    def score(self, models: Sequence[Any], prepared: Sequence[np.ndarray]) -> np.ndarray:
        """Average LLRs: (n_models, n_utterances)."""
        from gmmkit_speech.scoring import score_matrix

        return score_matrix(list(models), self.ubm, list(prepared), top_c=self.top_c)


class IvectorSystem:
    """i-vectors, the back-end's transforms, cosine or PLDA scores.

    Parameters
    ----------
    extractor : IvectorExtractor
    ubm : GaussianMixture
        The extractor's UBM.
    backend : IvectorBackend
        Fitted.
    method : {"plda", "cosine"}, default="plda"
    """

    def __init__(self, extractor: IvectorExtractor, ubm: GaussianMixture,
                 backend: IvectorBackend, *, method: str = "plda") -> None:
        self.extractor = extractor
        self.ubm = ubm
        self.backend = backend
        self.method = method

    def prepare(self, utterances: Sequence[np.ndarray]) -> np.ndarray:
        """The i-vector of every utterance: ndarray (n_utterances, rank)."""
        from gmmkit_speech.ivector import extract_ivectors

        return np.asarray(extract_ivectors(self.extractor, list(utterances), ubm=self.ubm))

    def enrol(self, prepared: Any) -> np.ndarray:
        """The speaker's i-vectors, one per enrolment utterance: (n_sessions, rank)."""
        return np.atleast_2d(np.asarray(prepared, dtype=np.float64))

    def enrol_each(self, prepared: Any) -> list[np.ndarray]:
        """One single-session model per utterance."""
        return [row[None] for row in np.asarray(prepared, dtype=np.float64)]

    def score(self, models: Sequence[Any], prepared: Any) -> np.ndarray:
        """Cosine or PLDA scores: (n_models, n_utterances)."""
        return self.backend.score(list(models), np.asarray(prepared), method=self.method)


def system_scores(system: GmmUbmSystem | IvectorSystem, models: Sequence, tests: Sequence, *,
                  norm: str | None = None, cohort: Sequence | None = None,
                  model_speakers: Sequence[str] | None = None,
                  cohort_speakers: Sequence[str] | None = None,
                  top_n: int | None = None) -> np.ndarray:
    """Scores of speaker models against test utterances, optionally cohort-normalised.

    Parameters
    ----------
    system : GmmUbmSystem or IvectorSystem
    models : list
        Speaker models from ``system.enrol``.
    tests : list or ndarray
        Prepared test utterances (``system.prepare``).
    norm : {None, "z-norm", "t-norm", "zt-norm", "s-norm", "as-norm"}
    cohort : list or ndarray, optional
        Prepared cohort utterances (needed with ``norm``).
    model_speakers, cohort_speakers : sequence of str, optional
        The speaker of every model and every cohort utterance: a claimed
        speaker's own cohort speech is left out of its statistics.
    top_n : int, optional
        As in :func:`normalise_scores`.

    Returns
    -------
    ndarray of shape (n_models, n_tests)
    """
    raw = system.score(models, tests)
    if norm is None:
        return raw
    if cohort is None or len(cohort) == 0:
        raise ValueError(f"norm={norm!r} needs a cohort of impostor utterances; pass cohort=...")
    cohort_models = system.enrol_each(cohort)
    enrol_cohort = system.score(models, cohort) if norm != "t-norm" else None
    test_cohort = system.score(cohort_models, tests).T if norm != "z-norm" else None
    cohort_cohort = system.score(cohort_models, cohort) if norm == "zt-norm" else None
    if cohort_cohort is not None and cohort_speakers is None:
        np.fill_diagonal(cohort_cohort, np.nan)  # a model is not scored on its own utterance
    return normalise_scores(raw, method=norm, enrol_cohort=enrol_cohort,
                            test_cohort=test_cohort, cohort_cohort=cohort_cohort, top_n=top_n,
                            enrol_speakers=model_speakers, cohort_speakers=cohort_speakers)


def train_ivector_system(ubm: GaussianMixture, utterances: Sequence[np.ndarray],
                         speakers: Sequence[str] | None = None, *, rank: int = 100,
                         n_iter: int = 10, min_divergence: bool = True,
                         lda_dim: int | None = None, plda: bool = True, random_state: int = 0,
                         verbose: bool = True) -> IvectorExtractor:
    """Train an i-vector extractor and, with speaker labels, its back-end.

    Parameters
    ----------
    ubm : GaussianMixture
    utterances : list of ndarray of shape (T_u, d)
    speakers : sequence of str, optional
        The speaker of every utterance; with it, the back-end (LDA, WCCN,
        PLDA) is trained on the utterances' i-vectors and kept in
        ``extractor.backend``.
    rank, n_iter, min_divergence, random_state, verbose
        As in :func:`gmmkit_speech.train_ivector_extractor`.
    lda_dim, plda
        As in :class:`gmmkit_speech.IvectorBackend`.

    Returns
    -------
    IvectorExtractor
    """
    from gmmkit_speech.backend import IvectorBackend, check_labelled
    from gmmkit_speech.ivector import extract_ivectors, train_ivector_extractor
    from gmmkit_speech.statistics import baum_welch_statistics

    stats = baum_welch_statistics(ubm, list(utterances))
    if speakers is not None:  # refuse bad labels before the long work
        check_labelled(np.zeros((len(stats), 1)), speakers, min_sessions=2,
                       what="the i-vector back-end")
    extractor = train_ivector_extractor(ubm, stats, rank=rank, n_iter=n_iter,
                                        min_divergence=min_divergence,
                                        random_state=random_state, verbose=verbose)
    if speakers is not None:
        extractor.backend = IvectorBackend(lda_dim=lda_dim, plda=plda).fit(
            extract_ivectors(extractor, stats), speakers)
    return extractor
