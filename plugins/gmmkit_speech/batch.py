"""Many test files against a store's speakers in one pass, and the scores CSV.

:func:`score_files` reads every file once, finds the UBM's top components
of its frames once and scores them against every speaker asked for (the
same numbers as :func:`gmmkit_speech.llr_score`, file by file). The
:class:`FileScores` it returns identifies each file's speaker
(:meth:`FileScores.identified`), verifies a claimed speaker
(:meth:`FileScores.decisions`) and writes a scores CSV with the header
``file,speaker,score,decision`` (:func:`write_scores`).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: the header of a scores CSV
SCORE_COLUMNS = ("file", "speaker", "score", "decision")


@dataclass
class FileScores:
    """Scores of test files against speakers.

    Attributes
    ----------
    files : list of str
    speakers : list of str
    scores : ndarray of shape (n_files, n_speakers)
        Average LLR of every file against every speaker.
    """

    files: list
    speakers: list
    scores: np.ndarray

    def identified(self) -> list[str]:
        """The best-scoring speaker of every file (closed-set identification)."""
        return [self.speakers[j] for j in self.scores.argmax(axis=1)]

    def decisions(self, threshold: float) -> np.ndarray:
        """Accept (True) where score >= ``threshold``: bool ndarray (n_files, n_speakers)."""
        if not np.isfinite(threshold):
            raise ValueError(f"threshold={threshold!r} is not a finite number; give a "
                             "log-likelihood-ratio threshold such as 0.0.")
        return self.scores >= threshold

    def rows(self, decisions: np.ndarray | None = None, *,
             accept: str = "accept", reject: str = "reject") -> list[tuple]:
        """(file, speaker, score, decision) of every pair, file by file.

        ``decisions`` (bool, shape of ``scores``; default: the identified
        speaker of each file) says which pairs get ``accept``; the others
        get ``reject``.
        """
        if decisions is None:
            decisions = self.scores == self.scores.max(axis=1, keepdims=True)
        return [(file, speaker, float(self.scores[i, j]), accept if decisions[i, j] else reject)
                for i, file in enumerate(self.files) for j, speaker in enumerate(self.speakers)]


def score_files(store, files: Sequence[str | os.PathLike], *,
                speakers: Sequence[str] | None = None, top_c: int | None = 5,
                progress: Callable[[Iterable], Iterable] | None = None) -> FileScores:
    """Score audio files against a store's speakers in one pass.

    Parameters
    ----------
    store : SpeakerStore
    files : sequence of path
        Audio files (WAV, FLAC, OGG), read under the store's feature config.
    speakers : sequence of str, optional
        The speakers to score against (default: every enrolled speaker).
    top_c : int or None, default=5
        As in :func:`gmmkit_speech.llr_score`; at most the UBM's size.
    progress : callable, optional
        Wraps the iteration over ``files`` (a progress bar).

    Returns
    -------
    FileScores
    """
    from gmmkit_speech.scoring import score_matrix

    names = list(store.names() if speakers is None else speakers)
    if not names:
        raise ValueError(f"no speakers are enrolled in '{store.directory}'; enrol at least one "
                         "before scoring.")
    files = [str(f) for f in files]
    if not files:
        raise ValueError("no files to score; give at least one audio file.")
    wrap = progress or (lambda items: items)
    frames = [store.features_of(f) for f in wrap(files)]
    models = [store[name] for name in names]
    matrix = score_matrix(models, store.ubm, frames, top_c=top_c)  # (n_speakers, n_files)
    return FileScores(files, names, np.asarray(matrix).T)


def write_scores(path: str | os.PathLike, rows: Iterable[Sequence], *,
                 columns: Sequence[str] = SCORE_COLUMNS) -> None:
    """Write scores as CSV: a header of ``columns``, then one row per pair."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([f"{value:.6f}" if isinstance(value, float) else value
                          for value in row] for row in rows)
