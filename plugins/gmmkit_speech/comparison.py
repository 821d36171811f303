"""Four verification systems on the bundled set, in clean and harder conditions.

Take 1 trains everything (the UBMs, the i-vector extractor and back-end,
the impostor cohort) and enrols the ten speakers; take-2 words are tested,
as recorded (``clean``) and degraded at run time
(:mod:`gmmkit_speech.conditions`: white noise at 10 dB SNR, a telephone
channel). Which take-2 words is the protocol (:func:`protocol_split`):

- ``"development"``: the first seven words of the manifest (zero .. six),
  for choosing settings;
- ``"test"``: the other seven (seven, eight, nine, hello, yes, no, stop),
  run once with the settings chosen on development;
- ``"all"``: all fourteen (the protocol of the first figures; it holds the
  development trials, so it is no test of settings chosen on them).

The systems:

- ``GMM-UBM``: the default recipe (:data:`gmmkit_speech.experiment.RECIPE`);
- ``GMM-UBM + S-norm``: its scores S-normed with the training utterances
  as cohort, the claimed speaker's own left out;
- ``i-vector cosine`` and ``i-vector PLDA``: :data:`IVECTOR_RECIPE`; the
  T matrix and back-end learn from the training words and from every
  speaker's words joined ``train_words`` at a time (:func:`join_words`).

The test unit is ``test_words`` consecutive test words of one speaker,
their frames joined: with 1 (a single word, about 0.4 s of speech) the
development and test protocols have 70 target and 630 non-target trials
per condition each, with 2 (about 0.8 s) 30 and 270 (a seventh word has
no partner). Every test unit is scored against every speaker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gmmkit_speech.features import FeatureConfig

#: the i-vector recipe: its own UBM size, the T-matrix rank and EM iterations, LDA dimension
#: (0: none), the lengths (in words) of the training segments the T matrix and back-end learn
#: from, the enrolment ("words": an i-vector per enrolment word; "joined": one i-vector of all
#: of a speaker's enrolment frames) and the score normalisation (None, "s-norm" or "as-norm"
#: with the top_n cohort scores) against the training utterances as cohort
#: (chosen on the development trials by benchmarks/bench_speech_dev.py, then frozen)
IVECTOR_RECIPE = {"n_components": 32, "rank": 100, "n_iter": 20, "lda_dim": 0,
                  "train_words": (1, 2, 3), "enrol": "joined", "norm": "as-norm", "top_n": 20}
PROTOCOLS = ("development", "test", "all")
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
                               title=title or f"Bundled speakers, take-2 test words ({condition})")


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


def protocol_split(utterances: Sequence, protocol: str = "test") -> tuple[list, list]:
    """The (training and enrolment, test) utterance indices of ``protocol``.

    Every protocol trains on take 1; ``"development"`` tests the take-2
    recordings of the first half of the words (in manifest order),
    ``"test"`` those of the second half, ``"all"`` every take-2 word.

    Returns
    -------
    (list of int, list of int)
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol={protocol!r} is not known; use one of "
                         f"{', '.join(map(repr, PROTOCOLS))}.")
    words = list(dict.fromkeys(u.text for u in utterances))
    tested = {"development": words[:len(words) // 2], "test": words[len(words) // 2:],
              "all": words}[protocol]
    return ([i for i, u in enumerate(utterances) if u.take == 1],
            [i for i, u in enumerate(utterances) if u.take == 2 and u.text in tested])


def run_bundled_comparison(*, conditions: Sequence[str] = ("clean",),
                           systems: Sequence[str] = SYSTEMS, signals: tuple | None = None,
                           ivector_recipe: dict | None = None, test_words: int = 1,
                           protocol: str = "test", cache: dict | None = None,
                           verbose: bool = False) -> Comparison:
    """Train, enrol and test the four systems on the bundled set.

    Parameters
    ----------
    conditions : sequence of str, default=("clean",)
        Names of :data:`gmmkit_speech.conditions.CONDITIONS` for the test words.
    systems : sequence of str, default=SYSTEMS
    signals : (utterances, signals) from :func:`bundled_signals`, optional
    ivector_recipe : dict, optional
        Overrides of :data:`IVECTOR_RECIPE`.
    test_words : int, default=1
        The test unit: this many consecutive test words of one speaker,
        joined (:func:`join_words`); 1 tests every word alone.
    protocol : {"development", "test", "all"}, default="test"
        Which take-2 words are tested (:func:`protocol_split`).
    cache : dict, optional
        Keeps features, UBMs and T matrices between calls that share it
        (and the same ``signals``), so a grid of back-end settings trains
        each extractor once.
    verbose : bool, default=False

    Returns
    -------
    Comparison
    """
    utterances, signals = bundled_signals() if signals is None else signals
    recipe = {**IVECTOR_RECIPE, **(ivector_recipe or {})}
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown systems {unknown}; use some of {list(SYSTEMS)}.")
    if recipe["enrol"] not in ("words", "joined"):
        raise ValueError(f"enrol={recipe['enrol']!r} is not valid; use 'words' or 'joined'.")
    cache = {} if cache is None else cache

    def frames_of(indices, condition):
        return _cached(cache, ("frames", condition, tuple(indices)),
                       lambda: _frames(utterances, signals, indices, condition))

    enrol, test = protocol_split(utterances, protocol)
    enrol_frames = frames_of(enrol, "clean")
    enrol_speakers = [utterances[i].speaker for i in enrol]
    built = _build_systems(systems, enrol_frames, enrol_speakers, recipe, verbose, cache)
    comparison = Comparison()
    for condition in conditions:
        frames, true = join_words(frames_of(test, condition),
                                  [utterances[i].speaker for i in test], test_words)
        for name, evaluate in built.items():
            comparison.results[name, condition] = evaluate(frames, true)
    return comparison


def _frames(utterances, signals, indices, condition):
    from gmmkit_speech.features import FeatureConfig

    return condition_frames([utterances[i] for i in indices], [signals[i] for i in indices],
                            FeatureConfig(), condition)


def _cached(cache, key, make):
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _build_systems(names, frames, speakers, recipe, verbose, cache):
    """name -> evaluate(test frames, true speakers) -> SpeechExperiment, for the systems asked."""
    from functools import partial

    from gmmkit_speech.experiment import RECIPE, evaluate_system
    from gmmkit_speech.features import FeatureConfig
    from gmmkit_speech.systems import GmmUbmSystem
    from gmmkit_speech.ubm import train_ubm

    labels = sorted(set(speakers))
    cohort = {"cohort": frames, "cohort_speakers": speakers}
    built = {}
    if any(name.startswith("GMM") for name in names):
        ubm = _cached(cache, ("gmm-ubm",), lambda: train_ubm(
            frames, n_components=RECIPE["n_components"], feature_config=FeatureConfig(),
            verbose=verbose))
        gmm = GmmUbmSystem(ubm, top_c=RECIPE["top_c"],
                           relevance_factor=RECIPE["relevance_factor"], update=RECIPE["update"])
        models = {s: gmm.enrol([f for f, o in zip(frames, speakers) if o == s]) for s in labels}
        for name, norm in (("GMM-UBM", None), ("GMM-UBM + S-norm", "s-norm")):
            if name in names:
                built[name] = partial(evaluate_system, gmm, models, norm=norm, ubm=ubm, **cohort)
    if any(name.startswith("i-vector") for name in names):
        for name, system, models in _ivector_systems(names, frames, speakers, labels, recipe,
                                                     verbose, cache):
            built[name] = partial(_quietly, evaluate_system, system, models,
                                  norm=recipe["norm"], top_n=recipe["top_n"], ubm=system.ubm,
                                  **cohort)
    return built


def _ivector_systems(names, frames, speakers, labels, recipe, verbose, cache):
    """(name, IvectorSystem, {speaker: enrolment i-vectors}) of the i-vector systems asked."""
    from gmmkit_speech.backend import IvectorBackend
    from gmmkit_speech.features import FeatureConfig
    from gmmkit_speech.ivector import extract_ivectors, train_ivector_extractor
    from gmmkit_speech.statistics import baum_welch_statistics
    from gmmkit_speech.systems import IvectorSystem
    from gmmkit_speech.ubm import train_ubm

    ubm = _cached(cache, ("ubm", recipe["n_components"]), lambda: train_ubm(
        frames, n_components=recipe["n_components"], feature_config=FeatureConfig(),
        verbose=verbose))
    train, owners = [], []
    for words in recipe["train_words"]:
        joined, joined_speakers = join_words(frames, speakers, words)
        train += joined
        owners += joined_speakers
    stats = _cached(cache, ("stats", recipe["n_components"], tuple(recipe["train_words"])),
                    lambda: baum_welch_statistics(ubm, train))
    extractor = _cached(
        cache, ("tv", recipe["n_components"], tuple(recipe["train_words"]),
                recipe["rank"], recipe["n_iter"]),
        lambda: train_ivector_extractor(ubm, stats, rank=recipe["rank"],
                                        n_iter=recipe["n_iter"], verbose=verbose))
    backend = IvectorBackend(lda_dim=recipe["lda_dim"]).fit(
        _quietly(extract_ivectors, extractor, stats), owners)
    extractor.backend = backend
    owner = np.asarray(speakers)
    for name, method in (("i-vector cosine", "cosine"), ("i-vector PLDA", "plda")):
        if name in names:
            system = IvectorSystem(extractor, ubm, backend, method=method)
            if recipe["enrol"] == "joined":
                models = {s: _quietly(system.prepare, [np.concatenate(
                    [f for f, o in zip(frames, speakers) if o == s])]) for s in labels}
            else:
                ivectors = _quietly(system.prepare, frames)
                models = {s: ivectors[owner == s] for s in labels}
            yield name, system, models


def _quietly(function, *args, **kwargs):
    """``function(*args, **kwargs)`` without ShortUtteranceWarning (the bundled words are short)."""
    import warnings

    from gmmkit_speech.ivector import ShortUtteranceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortUtteranceWarning)
        return function(*args, **kwargs)
