"""GMMOutlierDetector: a robust Gaussian-mixture anomaly detector with PyOD's API."""

from __future__ import annotations

import numbers
import sys

import numpy as np

# the core estimators' scikit-learn conventions (get_params, set_params, repr, tags)
from gmmkit import EstimatorBase
from gmmkit_outliers import scoring, threshold
from gmmkit_outliers.checks import (
    as_table,
    check_contamination,
    check_options,
    check_training_table,
    column_names,
)
from gmmkit_outliers.explain import explain_rows
from gmmkit_outliers.scaling import apply_scaler, fit_scaler

PROBA_METHODS = ("linear", "unify")


class GMMOutlierDetector(EstimatorBase):
    """Anomaly detector: minus the log density of the normal part of a Gaussian mixture.

    Used like a PyOD detector: ``fit(X)``, then ``decision_function`` (higher
    is more anomalous), ``predict`` (0 inlier, 1 outlier), ``predict_proba``
    and the attributes ``decision_scores_``, ``threshold_`` and ``labels_``.
    Fit on clean data and score new rows for novelty detection.

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Components of the mixture; "auto" chooses 1..10 by BIC.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="tied"
        "tied" (one covariance shared by the components) needs few parameters,
        so BIC affords enough components for a rare group of anomalies to get
        its own small, untrusted component (docs/outliers.md, "Choices").
    contamination : float in (0, 0.5] or "auto", default=0.1
        The expected share of anomalies: the threshold is the
        (1 - contamination) quantile of the training scores. "auto": the
        score exceeded by only 1% of rows drawn from the fitted normal mixture.
    robust : bool, default=True
        Fit with a uniform noise component (scattered anomalies go to it, not
        into the Gaussians) and score only under the components holding at
        least ``min_weight`` of the data (a small cluster of anomalies fitted
        as its own component does not count as normal). False: a plain
        mixture, every component trusted (the density score of PyOD's GMM).
    scale : {"standard", "robust", None}, default="standard"
        Column scaling before the fit: mean/std, median/IQR, or none.
    missing : {"error", "em"}, default="error"
        "em": NaN are missing values, handled by the mixture (marginal densities).
    min_weight : float or "auto", default="auto"
        Components lighter than this are not trusted as normal (robust only);
        "auto" is min(0.1, 0.5 / K).
    n_refits : int, default=0
        Trimmed refits: refit this many times with the ``trim`` highest-scoring
        rows left out.
    trim : float, default=0.1
    reg_covar : float, default=1e-6
    n_init : int, default=1
    random_state : int or None, default=None
    verbose : bool, default=False
        Progress on stderr.

    Attributes
    ----------
    decision_scores_ : ndarray of shape (n_samples,)
        Scores of the training rows.
    threshold_ : float
    labels_ : ndarray of int, shape (n_samples,)
    model_ : gmmkit.GaussianMixture
        The mixture fitted to the scaled data (with its noise component).
    trusted_ : ndarray of bool, shape (n_components,)
        Components trusted as normal.
    normal_model_ : gmmkit.GaussianMixture
        The trusted components, renormalised; scores are minus its log density.
    center_, scale_ : ndarray of shape (n_features,)
        The column scaler (scale 1 for the ignored columns).
    ignored_columns_ : ndarray of int
        Columns that were constant in the training data (a
        :class:`~gmmkit_outliers.checks.ConstantColumnWarning` named them):
        the mixture is fitted without them and every row is scored without
        them. ``model_`` has ``n_features_in_ - len(ignored_columns_)`` features.
    n_features_in_ : int
        Columns of X (ignored ones included).
    feature_names_in_ : list of str
        Column names (DataFrame columns, or x0, x1, ...).
    """

    #: not a scikit-learn outlier detector (those predict -1/1); PyOD's 0/1 convention
    _estimator_type = None

    def __init__(
        self,
        n_components="auto",
        *,
        covariance_type="tied",
        contamination=0.1,
        robust=True,
        scale="standard",
        missing="error",
        min_weight="auto",
        n_refits=0,
        trim=0.1,
        reg_covar=1e-6,
        n_init=1,
        random_state=None,
        verbose=False,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.contamination = contamination
        self.robust = robust
        self.scale = scale
        self.missing = missing
        self.min_weight = min_weight
        self.n_refits = n_refits
        self.trim = trim
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.random_state = random_state
        self.verbose = verbose

    # --------------------------------------------------------------------- fit

    def fit(self, X, y=None):
        """Fit the mixture to X and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        contamination = check_contamination(self.contamination)
        check_options(scale=self.scale, missing=self.missing, min_weight=self.min_weight,
                      n_refits=self.n_refits, trim=self.trim)
        names = column_names(X)
        table = as_table(X, missing=self.missing)
        self.ignored_columns_ = check_training_table(table, names,
                                                     covariance_type=self.covariance_type)
        self.center_, self.scale_ = fit_scaler(table, self.scale)
        self.scale_[self.ignored_columns_] = 1.0  # no spread to scale by; unused
        Z = apply_scaler(table, self.center_, self.scale_)[:, self._used_columns(table.shape[1])]
        params = dict(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            n_init=self.n_init,
            random_state=self.random_state,
            missing=self.missing,
            noise="uniform" if self.robust else None,
            min_weight=self.min_weight if self.robust else 0.0,
        )
        self.model_, self.trusted_, _ = scoring.fit_mixture(
            Z, params=params, n_refits=self.n_refits, trim=self.trim,
            progress=self._progress if self.verbose else None,
        )
        self.n_features_in_ = table.shape[1]
        self.feature_names_in_ = names or [f"x{j}" for j in range(table.shape[1])]
        self.normal_model_ = scoring.normal_mixture(self.model_, self.trusted_)
        self.decision_scores_ = -self.normal_model_.score_samples(Z)
        if contamination == "auto":
            seed = self.random_state if isinstance(self.random_state, numbers.Integral) else 0
            self.threshold_ = threshold.tail_threshold(self.normal_model_, seed=seed)
        else:
            self.threshold_ = threshold.contamination_threshold(
                self.decision_scores_, contamination
            )
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        self._set_score_summary(self.decision_scores_)
        return self

    @classmethod
    def from_fitted(cls, model, fitted, **params):
        """A fitted detector from its parts, without fitting (what ``load_detector`` reads).

        Parameters
        ----------
        model : gmmkit.GaussianMixture
            ``model_``: the mixture fitted to the scaled columns that are not ignored.
        fitted : dict
            The other fitted attributes, by name: ``trusted_`` (bool, one per
            component), ``center_`` and ``scale_`` (the column scaler, one per
            column), ``threshold_``, ``score_summary_`` ("min", "max", "mean",
            "std" of the training scores), ``feature_names_in_`` (one per column,
            ignored columns included) and optionally ``ignored_columns_``.
        **params
            Constructor arguments.

        Returns
        -------
        GMMOutlierDetector
            Fitted; ``normal_model_`` is derived, ``decision_scores_`` and
            ``labels_`` of the training rows are not set.
        """
        detector = cls(**params)
        detector.model_ = model
        detector.trusted_ = np.asarray(fitted["trusted_"], dtype=bool)
        detector.center_ = np.asarray(fitted["center_"], dtype=np.float64)
        detector.scale_ = np.asarray(fitted["scale_"], dtype=np.float64)
        detector.threshold_ = float(fitted["threshold_"])
        detector.score_summary_ = dict(fitted["score_summary_"])
        detector.feature_names_in_ = list(fitted["feature_names_in_"])
        detector.n_features_in_ = len(detector.feature_names_in_)
        detector.ignored_columns_ = np.asarray(fitted.get("ignored_columns_", ()), dtype=int)
        detector.normal_model_ = scoring.normal_mixture(model, detector.trusted_)
        return detector

    def _used_columns(self, n_features):
        """Indices of the columns the mixture sees: all but ``ignored_columns_``."""
        return np.setdiff1d(np.arange(n_features), self.ignored_columns_)

    def _set_score_summary(self, scores):
        """min, max, mean, std of the training scores (what predict_proba needs)."""
        self.score_summary_ = {
            "min": float(scores.min()),
            "max": float(scores.max()),
            "mean": float(scores.mean()),
            "std": float(scores.std()),
        }

    def _progress(self, message):
        print(f"GMMOutlierDetector: {message}", file=sys.stderr)

    # ------------------------------------------------------------------ scores

    def _scaled(self, X):
        self._check_fitted()
        table = as_table(X, missing=self.missing)
        if table.shape[1] != self.n_features_in_:
            names = ", ".join(self.feature_names_in_)
            raise ValueError(
                f"X has {table.shape[1]} columns, but the detector was fitted on "
                f"{self.n_features_in_}; pass the same columns ({names})."
            )
        Z = apply_scaler(table, self.center_, self.scale_)
        return Z[:, self._used_columns(self.n_features_in_)]

    def decision_function(self, X):
        """Anomaly score of every row (higher is more anomalous): shape (n_samples,).

        The score is minus the log density of the scaled row under the
        trusted (normal) components.
        """
        Z = self._scaled(X)
        return -self.normal_model_.score_samples(Z)

    def predict(self, X):
        """1 for rows scoring above ``threshold_``, else 0: int array (n_samples,)."""
        return (self.decision_function(X) > self.threshold_).astype(int)

    def fit_predict(self, X, y=None):
        """Fit, then the labels of the training rows: ``labels_``."""
        return self.fit(X).labels_

    def predict_proba(self, X, method="linear"):
        """Probability of being an inlier and an outlier: shape (n_samples, 2).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        method : {"linear", "unify"}, default="linear"
            As in PyOD. "linear": the score min-max scaled by the training
            scores' range, clipped to [0, 1]. "unify": erf of the score's
            z-score under the training scores, clipped at 0 (Kriegel et al.
            2011, "Interpreting and unifying outlier scores").

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Column 0 the inlier, column 1 the outlier probability.
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
        return np.column_stack([1.0 - outlier, outlier])

    def explain(self, X):
        """Nearest normal component and per-feature contributions of every row.

        Returns
        -------
        gmmkit_outliers.explain.Explanation
            ``top_features(n)`` lists each row's features by their share of
            the squared Mahalanobis distance (see gmmkit_outliers.explain).
            Columns are X's own; ``ignored_columns_`` contribute 0.
        """
        return explain_rows(self._scaled(X), self.model_, self.trusted_, self.feature_names_in_,
                            columns=self._used_columns(self.n_features_in_))
