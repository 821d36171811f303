"""The per-class route: one mixture per word (or phoneme) class, utterances scored whole.

:class:`UtteranceClassifier` fits a :class:`gmmkit.GMMClassifier` to the
frames of labelled utterances (each frame labelled with its utterance's
class) and classifies a whole utterance by the sum of its frames'
log-likelihoods under each class model plus the class's log prior once:

    class(X) = argmax_c  log p(c) + sum_t log p(x_t | c).
"""

from __future__ import annotations

import numpy as np

from gmmkit_speech.ubm import pool_frames


class UtteranceClassifier:
    """Classify utterances (frame arrays) with one Gaussian mixture per class.

    Parameters
    ----------
    classifier : gmmkit.GMMClassifier, optional
        Unfitted; default ``GMMClassifier(8, covariance_type="diag",
        priors="uniform", random_state=0)``.

    Attributes
    ----------
    classifier_ : GMMClassifier
        Fitted on the frames.
    classes_ : ndarray of shape (n_classes,)
    """

    def __init__(self, classifier=None):
        self.classifier = classifier

    def fit(self, utterances, labels):
        """Fit on a list of (n_i, d) frame arrays and one label per utterance; return self."""
        from gmmkit import GMMClassifier

        if len(utterances) != len(labels):
            raise ValueError(
                f"{len(utterances)} utterances but {len(labels)} labels; give one label each."
            )
        X = pool_frames(utterances)
        y = np.repeat(np.asarray(labels), [len(u) for u in utterances])
        model = self.classifier
        if model is None:
            model = GMMClassifier(8, covariance_type="diag", priors="uniform", random_state=0)
        self.classifier_ = model.fit(X, y)
        self.classes_ = self.classifier_.classes_
        return self

    def utterance_log_likelihood(self, frames):
        """log p(c) + sum_t log p(x_t | c) of one utterance: ndarray of shape (n_classes,)."""
        if not hasattr(self, "classifier_"):
            raise ValueError("this UtteranceClassifier is not fitted; call fit first.")
        X = np.asarray(frames, dtype=np.float64)
        totals = np.array([m.score_samples(X).sum() for m in self.classifier_.estimators_])
        with np.errstate(divide="ignore"):
            return totals + np.log(self.classifier_.class_prior_)

    def predict(self, utterances):
        """The class of each utterance: ndarray of shape (n_utterances,)."""
        return np.array([
            self.classes_[np.argmax(self.utterance_log_likelihood(u))] for u in utterances
        ])
