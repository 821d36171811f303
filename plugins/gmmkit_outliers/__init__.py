"""gmmkit_outliers: Gaussian mixture anomaly detection (built-in plugin).

Needs nothing beyond gmmkit (scipy, which gmmkit needs, for the
probabilities). :class:`GMMOutlierDetector` has PyOD's API: an ensemble
of robust mixtures on bootstrap samples and random feature subspaces by
default, one robust mixture with ``ensemble=None`` (docs/outliers.md).
The plugin registers the ``robust_scale`` feature, the ``outlier_score``
post-processor, the ``gmmkit outliers`` commands and the "outliers" demo.

Python API::

    from gmmkit_outliers import GMMOutlierDetector
    detector = GMMOutlierDetector(contamination=0.05, random_state=0).fit(X)
    detector.decision_scores_, detector.labels_        # the training rows
    labels, confidence = detector.predict(X_new, return_confidence=True)
    detector.explain(X_new).top_features(3)
"""

from __future__ import annotations

from gmmkit import hookimpl
from gmmkit_outliers.checks import ConstantColumnWarning, EnsembleFallbackWarning
from gmmkit_outliers.combination import (
    aom,
    average,
    maximization,
    median,
    moa,
    standardizer,
)
from gmmkit_outliers.confidence import exceed_confidence
from gmmkit_outliers.detector import GMMOutlierDetector
from gmmkit_outliers.explain import EnsembleExplanation, Explanation
from gmmkit_outliers.features import FEATURES, POSTPROCESSORS, outlier_score, robust_scale
from gmmkit_outliers.persistence import load_detector, save_detector

requires = ()
install_hint = "pip install gmmkit"

__all__ = [
    "ConstantColumnWarning",
    "EnsembleExplanation",
    "EnsembleFallbackWarning",
    "Explanation",
    "GMMOutlierDetector",
    "aom",
    "average",
    "exceed_confidence",
    "load_detector",
    "maximization",
    "median",
    "moa",
    "outlier_score",
    "robust_scale",
    "save_detector",
    "standardizer",
]


@hookimpl
def gmmkit_register_features(register):
    for name, extractor in FEATURES.items():
        register(name, extractor)


@hookimpl
def gmmkit_register_postprocessors(register):
    for name, postprocess in POSTPROCESSORS.items():
        register(name, postprocess)


@hookimpl
def gmmkit_register_demos(register):
    from gmmkit_outliers.demo import outliers_demo

    register("outliers", outliers_demo)


@hookimpl
def gmmkit_register_commands(cli):
    from gmmkit_outliers.cli import outliers

    cli.add_command(outliers)
