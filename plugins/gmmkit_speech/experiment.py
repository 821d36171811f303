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

#: the default recipe: UBM size, MAP relevance factor and update, top-C scoring
RECIPE = {"n_components": 128, "relevance_factor": 16.0, "update": "m", "top_c": 5}


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


def run_bundled_experiment(*, config=None, frames=None, verbose=False, **recipe):
    """Train, enrol and test the default recipe on the bundled set.

    Parameters
    ----------
    config : FeatureConfig, optional
    frames : (utterances, frames) from :func:`bundled_frames`, optional
        To reuse features already computed.
    verbose : bool, default=False
        UBM progress on stderr.
    **recipe
        Overrides of :data:`RECIPE`.

    Returns
    -------
    SpeechExperiment
    """
    from gmmkit_speech.adapt import map_adapt
    from gmmkit_speech.evaluation import equal_error_rate, identification_accuracy, min_dcf
    from gmmkit_speech.scoring import score_speakers
    from gmmkit_speech.ubm import train_ubm

    settings = {**RECIPE, **recipe}
    utterances, features = bundled_frames(config) if frames is None else frames
    enrol = [i for i, u in enumerate(utterances) if u.take == 1]
    test = [i for i, u in enumerate(utterances) if u.take == 2]
    ubm = train_ubm([features[i] for i in enrol], n_components=settings["n_components"],
                    feature_config=config, verbose=verbose)
    names = sorted({utterances[i].speaker for i in enrol})
    speakers = {
        name: map_adapt(ubm, [features[i] for i in enrol if utterances[i].speaker == name],
                        relevance_factor=settings["relevance_factor"], update=settings["update"])
        for name in names
    }
    scores = np.array([
        list(score_speakers(speakers, ubm, features[i], top_c=settings["top_c"]).values())
        for i in test
    ])
    true = [utterances[i].speaker for i in test]
    predicted = [names[j] for j in scores.argmax(axis=1)]
    result = SpeechExperiment(ubm, speakers, true, predicted, scores, names,
                              identification_accuracy(true, predicted), 0.0, 0.0)
    target, nontarget = result.trial_scores()
    result.eer = equal_error_rate(target, nontarget)
    result.min_dcf = min_dcf(target, nontarget)
    return result
