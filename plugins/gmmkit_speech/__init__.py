"""gmmkit_speech: speaker and acoustic models with Gaussian mixtures (built-in plugin).

Needs the ``speech`` extra (librosa, soundfile): ``pip install 'gmmkit[speech]'``.

The GMM-UBM recipe of Reynolds, Quatieri and Dunn (2000): MFCC frames
(:func:`mfcc`, :func:`load_audio`), a universal background model
(:func:`train_ubm`), MAP-adapted speaker models (:func:`map_adapt`),
log-likelihood-ratio scoring with optional top-C (:func:`llr_score`,
:func:`identify`, :func:`verify`), evaluation (:func:`equal_error_rate`,
:func:`min_dcf`, :func:`actual_dcf`, :func:`cllr`, :func:`plot_det`,
:func:`plot_det_curves`, :class:`Trials`, :func:`score_files`)
and a speaker store on disk (:class:`SpeakerStore`). On the same UBM:
score normalisation (:func:`normalise_scores`), i-vectors
(:func:`baum_welch_statistics`, :func:`train_ivector_extractor`,
:func:`extract_ivectors`), their back-end (:func:`lda`, :func:`wccn`,
:func:`length_normalise`, :func:`cosine_scores`, :class:`PLDA`) and
:class:`GmmUbmSystem` / :class:`IvectorSystem` behind one interface
(:func:`system_scores`). See docs/speech.md.

Registers the features ``mfcc`` (plain MFCCs, every frame) and
``speaker_mfcc`` (the recipe: deltas, energy VAD, CMVN), the ``gmmkit
speech`` commands and a demo. Importing this package is cheap: librosa,
soundfile and matplotlib are imported by the functions that use them.
"""

from __future__ import annotations

from gmmkit import hookimpl
from gmmkit_speech.adapt import map_adapt
from gmmkit_speech.backend import IvectorBackend, cosine_scores, lda, length_normalise, wccn
from gmmkit_speech.batch import FileScores, score_files, write_scores
from gmmkit_speech.calibration import ScoreCalibration, bayes_threshold
from gmmkit_speech.classify import UtteranceClassifier
from gmmkit_speech.evaluation import (
    actual_dcf,
    cllr,
    confusion_matrix,
    det_curve,
    equal_error_rate,
    identification_accuracy,
    min_dcf,
    min_dcf_point,
    plot_det,
    plot_det_curves,
)
from gmmkit_speech.features import (
    ClippedAudioWarning,
    FeatureConfig,
    UpsampledAudioWarning,
    load_audio,
    mfcc,
)
from gmmkit_speech.ivector import (
    IvectorExtractor,
    ShortUtteranceWarning,
    extract_ivectors,
    train_ivector_extractor,
)
from gmmkit_speech.norm import normalise_scores
from gmmkit_speech.plda import PLDA
from gmmkit_speech.scoring import identify, llr_score, score_speakers, verify
from gmmkit_speech.statistics import BaumWelchStats, baum_welch_statistics
from gmmkit_speech.store import SpeakerStore
from gmmkit_speech.systems import (
    GmmUbmSystem,
    IvectorSystem,
    system_scores,
    train_ivector_system,
)
from gmmkit_speech.trials import Trials, evaluate_trials
from gmmkit_speech.ubm import feature_config, load_model, save_model, train_ubm

requires = ("librosa", "soundfile")
install_hint = "pip install 'gmmkit[speech]'"

__all__ = [
    "BaumWelchStats",
    "ClippedAudioWarning",
    "FeatureConfig",
    "FileScores",
    "GmmUbmSystem",
    "IvectorBackend",
    "IvectorExtractor",
    "IvectorSystem",
    "PLDA",
    "ScoreCalibration",
    "ShortUtteranceWarning",
    "SpeakerStore",
    "Trials",
    "UpsampledAudioWarning",
    "UtteranceClassifier",
    "actual_dcf",
    "baum_welch_statistics",
    "bayes_threshold",
    "cllr",
    "confusion_matrix",
    "cosine_scores",
    "det_curve",
    "equal_error_rate",
    "evaluate_trials",
    "extract_ivectors",
    "feature_config",
    "identification_accuracy",
    "identify",
    "lda",
    "length_normalise",
    "llr_score",
    "load_audio",
    "load_model",
    "map_adapt",
    "mfcc",
    "min_dcf",
    "min_dcf_point",
    "normalise_scores",
    "plot_det",
    "plot_det_curves",
    "save_model",
    "score_files",
    "score_speakers",
    "system_scores",
    "train_ivector_extractor",
    "train_ivector_system",
    "train_ubm",
    "verify",
    "wccn",
    "write_scores",
]


@hookimpl
def gmmkit_register_features(register):
    from gmmkit_speech.features import static_mfcc

    register("mfcc", static_mfcc)
    register("speaker_mfcc", mfcc)


@hookimpl
def gmmkit_register_commands(cli):
    from gmmkit_speech.cli import speech

    cli.add_command(speech)


@hookimpl
def gmmkit_register_demos(register):
    from gmmkit_speech.demo import speech_demo

    register("speech", speech_demo)
