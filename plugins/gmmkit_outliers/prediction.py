"""Labels, probabilities and confidences from the detector's scores (PyOD's API).

:class:`PredictionMixin` gives GMMOutlierDetector ``predict``,
``predict_confidence``, ``fit_predict`` and ``predict_proba``; they need
only its ``decision_function``, ``threshold_``, ``contamination``,
``score_summary_`` and ``training_scores_``.
"""

from __future__ import annotations

import numpy as np

from gmmkit import is_large_input, map_rows
from gmmkit_outliers.confidence import exceed_confidence

PROBA_METHODS = ("linear", "unify")


class PredictionMixin:
    """predict, predict_confidence, fit_predict and predict_proba of GMMOutlierDetector."""

    def predict(self, X, return_confidence=False, *, out=None, overwrite=False):
        """1 for rows scoring above ``threshold_``, else 0: int array (n_samples,).

        With ``return_confidence=True``, also :meth:`predict_confidence`'s
        array: ``(labels, confidence)``. X, ``out`` and ``overwrite`` as in
        :meth:`decision_function` (``out`` takes the labels only).
        """
        if out is not None or is_large_input(X):
            if return_confidence and out is not None:
                raise ValueError("out= takes the labels only; call predict(X, out=path) "
                                 "without return_confidence.")
            self._check_fitted()
            function = self._labels_and_confidence if return_confidence else self.predict
            result = map_rows(function, X, n_features=self.n_features_in_, out=out,
                              overwrite=overwrite, name="the detector")
            return (result[:, 0].astype(int), result[:, 1]) if return_confidence else result
        scores = self.decision_function(X)
        labels = (scores > self.threshold_).astype(int)
        if return_confidence:
            return labels, self._confidence(scores, labels)
        return labels

    def _labels_and_confidence(self, X):
        labels, confidence = self.predict(X, return_confidence=True)
        return np.column_stack([labels, confidence])

    def predict_confidence(self, X):
        """ExCeeD confidence in each prediction (Perini et al. 2020): shape (n_samples,).

        The probability that the row would get the same label from a
        detector fitted to another training set of the same size
        (gmmkit_outliers.confidence): near 1 a sure prediction, near 0.5 a
        row at the threshold. As PyOD's ``predict_confidence``; with
        ``contamination="auto"`` the share of training rows flagged plays
        the contamination.
        """
        scores = self.decision_function(X)
        return self._confidence(scores, (scores > self.threshold_).astype(int))

    def _confidence(self, scores, labels):
        if getattr(self, "training_scores_", None) is None:
            raise ValueError(
                "this detector has no training scores (it was loaded from a detector file "
                "written by gmmkit 0.1); fit it again, or save and load it with this version, "
                "to get confidences."
            )
        n = self.score_summary_["n"]
        contamination = self.contamination
        if contamination == "auto":
            contamination = float(np.sum(self.training_scores_ > self.threshold_)
                                  / self.training_scores_.size)
        return exceed_confidence(scores, self.training_scores_, contamination, labels, n=n)

    def fit_predict(self, X, y=None):
        """Fit, then the labels of the training rows: ``labels_``."""
        return self.fit(X).labels_

    def predict_proba(self, X, method="linear", return_confidence=False):
        """Probability of being an inlier and an outlier: shape (n_samples, 2).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        method : {"linear", "unify"}, default="linear"
            As in PyOD. "linear": the score min-max scaled by the training
            scores' range, clipped to [0, 1]. "unify": erf of the score's
            z-score under the training scores, clipped at 0 (Kriegel et al.
            2011, "Interpreting and unifying outlier scores").
        return_confidence : bool, default=False
            Also return :meth:`predict_confidence`'s array.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Column 0 the inlier, column 1 the outlier probability (and the
            confidence, shape (n_samples,), when asked).
        """
        if method not in PROBA_METHODS:
            raise ValueError(f"method={method!r} is not supported; use 'linear' or 'unify'.")
        scores = self.decision_function(X)
        summary = self.score_summary_
        if method == "linear":
            span = summary["max"] - summary["min"]
            outlier = np.clip((scores - summary["min"]) / (span if span > 0 else 1.0), 0, 1)
        else:
            from scipy.special import erf

            z = (scores - summary["mean"]) / (summary["std"] * np.sqrt(2) or 1.0)
            outlier = np.clip(erf(z), 0, 1)
        proba = np.column_stack([1.0 - outlier, outlier])
        if return_confidence:
            return proba, self._confidence(scores, (scores > self.threshold_).astype(int))
        return proba
