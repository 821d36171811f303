"""The default recipe on the bundled speech set: enrol take 1, test on take 2.

Every speaker's take-1 utterances (14 words) train the UBM and enrol the
speaker; every take-2 utterance (one word, about half a second) is then
identified among the 10 speakers and scored against all of them as
verification trials (140 target and 1260 non-target trials). The tests, the
demo and docs/speech.md all run this function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmkit_speech.ubm import DEFAULT_COMPONENTS

#: the default recipe: UBM size, MAP relevance factor and update, top-C scoring
RECIPE = {"n_components": DEFAULT_COMPONENTS, "relevance_factor": 16.0, "update": "m", "top_c": 5}


@dataclass
class SpeechExperiment:
    """What :func:`run_bundled_experiment` found.

    Attributes
    ----------
    ubm : GaussianMixture
    speakers : dict of str -> GaussianMixture
    true, predicted : list of str
        The speaker of every test utterance and the one identified.
    scores : ndarray of shape (n_test, n_speakers)
        LLR of every test utterance against every speaker (columns: ``names``).
    names : list of str
    accuracy, eer, min_dcf : float
    """

    ubm: object
    speakers: dict
    true: list
    predicted: list
    scores: np.ndarray
    names: list
    accuracy: float
    eer: float
    min_dcf: float

    def trial_scores(self):
        """(target scores, non-target scores) of the verification trials."""
        is_target = np.asarray(self.true)[:, None] == np.asarray(self.names)[None, :]
        return self.scores[is_target], self.scores[~is_target]


def bundled_frames(config=None):
    """(utterances, frames) of the bundled set under ``config`` (default FeatureConfig)."""
    from gmmkit_speech.data import load_speech_set, read_utterance
    from gmmkit_speech.ubm import as_config

    config = as_config(config)
    utterances = load_speech_set()
    return utterances, [read_utterance(u, config) for u in utterances]


def run_bundled_experiment(*, config=None, frames=None, verbose=False, norm=None, top_n=None,
                           **recipe):
    """Train, enrol and test the default recipe on the bundled set.

    Parameters
    ----------
    config : FeatureConfig, optional
    frames : (utterances, frames) from :func:`bundled_frames`, optional
        To reuse features already computed.
    verbose : bool, default=False
        UBM progress on stderr.
    norm : {None, "z-norm", "t-norm", "zt-norm", "s-norm", "as-norm"}, optional
        Normalise the scores with a cohort of the UBM's training speakers
        (every take-1 utterance), leaving out the claimed speaker's own.
    top_n : int, optional
        For ``norm="as-norm"``.
    **recipe
        Overrides of :data:`RECIPE`.

    Returns
    -------
    SpeechExperiment
    """
    from gmmkit_speech.systems import GmmUbmSystem
    from gmmkit_speech.ubm import train_ubm

    settings = {**RECIPE, **recipe}
    utterances, features = bundled_frames(config) if frames is None else frames
    enrol = [i for i, u in enumerate(utterances) if u.take == 1]
    test = [i for i, u in enumerate(utterances) if u.take == 2]
    ubm = train_ubm([features[i] for i in enrol], n_components=settings["n_components"],
                    feature_config=config, verbose=verbose)
    system = GmmUbmSystem(ubm, top_c=settings["top_c"],
                          relevance_factor=settings["relevance_factor"], update=settings["update"])
    names = sorted({utterances[i].speaker for i in enrol})
    speakers = {name: system.enrol([features[i] for i in enrol if utterances[i].speaker == name])
                for name in names}
    return evaluate_system(system, speakers, [features[i] for i in test],
                           [utterances[i].speaker for i in test], norm=norm, top_n=top_n,
                           cohort=[features[i] for i in enrol],
                           cohort_speakers=[utterances[i].speaker for i in enrol],
                           ubm=ubm)


def evaluate_system(system, speakers, test_frames, true, *, norm=None, top_n=None, cohort=None,
                    cohort_speakers=None, ubm=None):
    """Score every test utterance against every speaker: a SpeechExperiment.

    Parameters
    ----------
    system : GmmUbmSystem or IvectorSystem
    speakers : dict of str -> model
        From ``system.enrol``.
    test_frames : list of ndarray (T_u, d)
    true : list of str
        The speaker of every test utterance.
    norm, top_n
        As in :func:`gmmkit_speech.systems.system_scores`.
    cohort : list of ndarray (T_c, d), optional
        Cohort utterances (frames); needed with ``norm``.
    cohort_speakers : list of str, optional
    ubm : GaussianMixture, optional
        Kept in the result.
    """
    from gmmkit_speech.systems import system_scores

    names = list(speakers)
    prepared_cohort = None if norm is None else system.prepare(cohort)
    scores = system_scores(system, [speakers[n] for n in names], system.prepare(test_frames),
                           norm=norm, cohort=prepared_cohort, model_speakers=names,
                           cohort_speakers=cohort_speakers, top_n=top_n).T
    return scored_experiment(scores, names, true, speakers=speakers, ubm=ubm)


def scored_experiment(scores, names, true, *, speakers=None, ubm=None):
    """A SpeechExperiment of a score matrix: identification, EER and minDCF.

    Parameters
    ----------
    scores : ndarray of shape (n_test, n_speakers)
        Columns in the order of ``names``.
    names : list of str
    true : list of str
        The speaker of every test utterance.
    speakers : dict of str -> model, optional
    ubm : GaussianMixture, optional
    """
    from gmmkit_speech.evaluation import equal_error_rate, identification_accuracy, min_dcf

    scores = np.asarray(scores, dtype=np.float64)
    names = list(names)
    predicted = [names[j] for j in scores.argmax(axis=1)]
    result = SpeechExperiment(ubm, dict(speakers or {}), list(true), predicted, scores, names,
                              identification_accuracy(true, predicted), 0.0, 0.0)
    target, nontarget = result.trial_scores()
    result.eer = equal_error_rate(target, nontarget)
    result.min_dcf = min_dcf(target, nontarget)
    return result
