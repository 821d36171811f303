"""Four verification systems on the bundled set, in clean and harder conditions.

Take 1 trains everything (the UBMs, the i-vector extractor and back-end,
the impostor cohort) and enrols the ten speakers; take 2 is the test set,
as recorded (``clean``) and degraded at run time
(:mod:`gmmkit_speech.conditions`: white noise at 10 dB SNR, a telephone
channel). The systems:

- ``GMM-UBM``: the default recipe (:data:`gmmkit_speech.experiment.RECIPE`);
- ``GMM-UBM + S-norm``: its scores S-normed with the take-1 utterances of
  the UBM's training speakers as cohort, the claimed speaker's own left out;
- ``i-vector cosine`` and ``i-vector PLDA``: :data:`IVECTOR_RECIPE`; the
  T matrix and back-end learn from the take-1 words and from every
  speaker's take-1 words joined two at a time (:func:`join_words`), so they
  see utterances as long as the two-word tests.

The test unit is ``test_words`` consecutive take-2 words of one speaker,
their frames joined: with 1 (a single word, about 0.4 s of speech) there
are 140 target and 1260 non-target trials per condition, with 2 (about
0.8 s) 70 and 630. Every test unit is scored against every speaker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gmmkit_speech.features import FeatureConfig

#: the i-vector recipe: its own UBM size, the T-matrix rank and EM iterations, LDA dimension,
#: and the lengths (in words) of the take-1 segments the T matrix and back-end learn from
IVECTOR_RECIPE = {"n_components": 32, "rank": 60, "n_iter": 20, "lda_dim": 0,
                  "train_words": (1, 2)}
SYSTEMS = ("GMM-UBM", "GMM-UBM + S-norm", "i-vector cosine", "i-vector PLDA")


@dataclass
class Comparison:
    """What :func:`run_bundled_comparison` found.

    Attributes
    ----------
    results : dict of (system, condition) -> SpeechExperiment
    """

    results: dict = field(default_factory=dict)

    def table(self) -> list[list]:
        """Rows [system, condition, EER %, minDCF, identification %] of every result."""
        return [[system, condition, round(100 * r.eer, 2), round(r.min_dcf, 3),
                 round(100 * r.accuracy, 1)]
                for (system, condition), r in self.results.items()]

    def plot_det(self, path: str | os.PathLike, *, condition: str = "clean",
                 title: str | None = None) -> str | os.PathLike:
        """The DET curves of every system in ``condition`` on one figure; return ``path``."""
        from gmmkit_speech.evaluation import plot_det_curves

        systems = {system: r.trial_scores() for (system, c), r in self.results.items()
                   if c == condition}
        return plot_det_curves(systems, path,
                               title=title or f"Bundled speakers, take 2 ({condition})")


def bundled_signals() -> tuple[list, list[np.ndarray]]:
    """(utterances, signals at 16 kHz) of the bundled set."""
    from importlib import resources

    from gmmkit_speech.data import load_speech_set
    from gmmkit_speech.features import load_audio

    utterances = load_speech_set()
    signals = []
    for utterance in utterances:
        with resources.as_file(utterance.path) as path:
            signals.append(load_audio(path, sr=16000))
    return utterances, signals


def condition_frames(utterances: Sequence, signals: Sequence[np.ndarray], config: FeatureConfig,
                     condition: str) -> list[np.ndarray]:
    """Frames of every utterance under ``condition`` (seeded by file name)."""
    from gmmkit_speech.conditions import degrade, stable_seed

    return [config.extract(signal if condition == "clean" else
                           degrade(signal, 16000, condition, seed=stable_seed(u.path.name)),
                           sr=16000, source=u.path.name)
            for u, signal in zip(utterances, signals)]


def join_words(frames: Sequence[np.ndarray], speakers: Sequence[str],
               words: int) -> tuple[list[np.ndarray], list[str]]:
    """Every speaker's utterances joined ``words`` at a time, in order: (frames, speakers).

    Each speaker's utterances are taken in the order given and cut into
    runs of ``words``; a run's frames are stacked (each word keeps its own
    VAD and CMVN). A shorter run at the end is dropped. ``words=1`` returns
    the utterances themselves.

    Parameters
    ----------
    frames : sequence of ndarray of shape (T_u, d)
    speakers : sequence of str
    words : int
        At least 1.

    Returns
    -------
    joined : list of ndarray of shape (sum of the run's T_u, d)
    owners : list of str
    """
    if not (isinstance(words, int) and words >= 1):
        raise ValueError(f"words={words!r} is not valid; use an int of at least 1.")
    joined, owners = [], []
    for speaker in dict.fromkeys(speakers):
        mine = [f for f, s in zip(frames, speakers) if s == speaker]
        for start in range(0, len(mine) - words + 1, words):
            joined.append(np.concatenate(mine[start:start + words]))
            owners.append(speaker)
    return joined, owners


def run_bundled_comparison(*, conditions: Sequence[str] = ("clean",),
                           systems: Sequence[str] = SYSTEMS, signals: tuple | None = None,
                           ivector_recipe: dict | None = None, test_words: int = 1,
                           verbose: bool = False) -> Comparison:
    """Train, enrol and test the four systems on the bundled set.

    Parameters
    ----------
    conditions : sequence of str, default=("clean",)
        Names of :data:`gmmkit_speech.conditions.CONDITIONS` for the test take.
    systems : sequence of str, default=SYSTEMS
    signals : (utterances, signals) from :func:`bundled_signals`, optional
    ivector_recipe : dict, optional
        Overrides of :data:`IVECTOR_RECIPE`.
    test_words : int, default=1
        The test unit: this many consecutive take-2 words of one speaker,
        joined (:func:`join_words`); 1 tests every word alone.
    verbose : bool, default=False

    Returns
    -------
    Comparison
    """
    import warnings

    from gmmkit_speech.experiment import evaluate_system
    from gmmkit_speech.features import FeatureConfig
    from gmmkit_speech.ivector import ShortUtteranceWarning

    utterances, signals = bundled_signals() if signals is None else signals
    config = FeatureConfig()
    enrol = [i for i, u in enumerate(utterances) if u.take == 1]
    test = [i for i, u in enumerate(utterances) if u.take == 2]
    enrol_utts = [utterances[i] for i in enrol]
    test_utts = [utterances[i] for i in test]
    enrol_frames = condition_frames(enrol_utts, [signals[i] for i in enrol], config, "clean")
    enrol_speakers = [u.speaker for u in enrol_utts]
    built = _build_systems(systems, enrol_frames, enrol_speakers, config,
                           {**IVECTOR_RECIPE, **(ivector_recipe or {})}, verbose)
    comparison = Comparison()
    for condition in conditions:
        frames, true = join_words(
            condition_frames(test_utts, [signals[i] for i in test], config, condition),
            [u.speaker for u in test_utts], test_words)
        for name, (system, speakers, norm) in built.items():
            with warnings.catch_warnings():  # the bundled words are short by design
                warnings.simplefilter("ignore", ShortUtteranceWarning)
                comparison.results[name, condition] = evaluate_system(
                    system, speakers, frames, true, norm=norm,
                    cohort=enrol_frames, cohort_speakers=enrol_speakers,
                    ubm=getattr(system, "ubm", None))
    return comparison


def _build_systems(names, frames, speakers, config, recipe, verbose):
    """name -> (system, {speaker: model}, norm) for the systems asked for."""
    import warnings

    from gmmkit_speech.experiment import RECIPE
    from gmmkit_speech.ivector import ShortUtteranceWarning
    from gmmkit_speech.systems import GmmUbmSystem, IvectorSystem, train_ivector_system
    from gmmkit_speech.ubm import train_ubm

    unknown = sorted(set(names) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown systems {unknown}; use some of {list(SYSTEMS)}.")
    labels = sorted(set(speakers))
    built = {}
    if any(name.startswith("GMM") for name in names):
        ubm = train_ubm(frames, n_components=RECIPE["n_components"], feature_config=config,
                        verbose=verbose)
        gmm = GmmUbmSystem(ubm, top_c=RECIPE["top_c"],
                           relevance_factor=RECIPE["relevance_factor"], update=RECIPE["update"])
        models = {s: gmm.enrol([f for f, o in zip(frames, speakers) if o == s]) for s in labels}
        for name, norm in (("GMM-UBM", None), ("GMM-UBM + S-norm", "s-norm")):
            if name in names:
                built[name] = (gmm, models, norm)
    if any(name.startswith("i-vector") for name in names):
        ubm = train_ubm(frames, n_components=recipe["n_components"], feature_config=config,
                        verbose=verbose)
        train, owners = [], []
        for words in recipe["train_words"]:
            joined, joined_speakers = join_words(frames, speakers, words)
            train += joined
            owners += joined_speakers
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ShortUtteranceWarning)
            extractor = train_ivector_system(ubm, train, owners, rank=recipe["rank"],
                                             n_iter=recipe["n_iter"], lda_dim=recipe["lda_dim"],
                                             verbose=verbose)
            for name, method in (("i-vector cosine", "cosine"), ("i-vector PLDA", "plda")):
                if name in names:
                    system = IvectorSystem(extractor, ubm, extractor.backend, method=method)
                    ivectors = system.prepare(frames)
                    owner = np.asarray(speakers)
                    built[name] = (system, {s: ivectors[owner == s] for s in labels}, None)
    return built
