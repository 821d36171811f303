"""GMMOutlierDetector: a Gaussian-mixture anomaly detector with PyOD's API.

By default an ensemble of robust mixtures (gmmkit_outliers.ensemble);
``ensemble=None`` is one robust mixture (gmmkit_outliers.scoring).
"""

from __future__ import annotations

import numbers
import sys
import warnings

import numpy as np

# the core estimators' scikit-learn conventions (get_params, set_params, repr, tags)
from gmmkit import EstimatorBase, is_large_input, map_rows
from gmmkit_outliers import combination as combining
from gmmkit_outliers import ensemble, scoring, threshold
from gmmkit_outliers.checks import (
    N_BUCKETS,
    EnsembleFallbackWarning,
    as_table,
    check_contamination,
    check_ensemble,
    check_options,
    check_training_table,
    column_names,
)
from gmmkit_outliers.covariance import for_features, layout
from gmmkit_outliers.discrete import check_discrete_floor, discrete_steps
from gmmkit_outliers.explain import explain_ensemble, explain_rows
from gmmkit_outliers.prediction import PROBA_METHODS, PredictionMixin  # noqa: F401 (re-export)
from gmmkit_outliers.scaling import apply_scaler, fit_scaler


class GMMOutlierDetector(PredictionMixin, EstimatorBase):
    """Anomaly detector: minus the log density of the normal part of Gaussian mixtures.

    Used like a PyOD detector: ``fit(X)``, then ``decision_function`` (higher
    is more anomalous), ``predict`` (0 inlier, 1 outlier; with
    ``return_confidence=True`` also ExCeeD's confidence), ``predict_proba``,
    ``predict_confidence`` and the attributes ``decision_scores_``,
    ``threshold_`` and ``labels_``. Fit on clean data and score new rows for
    novelty detection. docs/outliers.md explains every choice.

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Components of each mixture; "auto" chooses K by BIC, 1..5 in an
        ensemble member, 1..10 for the single model.
    ensemble : {"bagging", None}, default="bagging"
        "bagging": ``n_estimators`` robust mixtures, each fitted to a
        bootstrap sample of the rows and a random subspace of the columns
        (feature bagging); their scores are standardised and combined. None:
        one robust mixture of all rows and columns (the detector of gmmkit
        0.1). Data with too few rows for an ensemble get the single model
        with an :class:`~gmmkit_outliers.checks.EnsembleFallbackWarning`.
    n_estimators : int, default=10
        Members of the ensemble.
    max_features : float in (0, 1], default=1.0
        Each member draws between half and ``max_features`` of the columns.
    max_samples : "auto", int or float in (0, 1], default="auto"
        Rows drawn for each member: "auto" min(n_samples, max(256, 4 x
        n_features)); an int, that many; a float, that share.
    bootstrap : bool, default=True
        Draw each member's rows with replacement.
    combination : {"average", "maximization", "aom", "moa"}, default="average"
        How the members' standardised scores are combined (PyOD's
        combination functions; aom and moa use 5 static buckets, fixed at fit).
    member_scale : {"robust", "standard"}, default="robust"
        How each member's scores are put on a common scale before they are
        combined: "robust", minus the median and divided by the interquartile
        range / 1.349 of its training scores (the anomalies' long tail does
        not shrink a member's say); "standard", mean and standard deviation
        (PyOD's ``standardizer``; the default of issue 22's ensemble).
    covariance_type : str, default="tied"
        scikit-learn's "full", "tied", "diag", "spherical" or one of mclust's
        models ("EII" ... "VVV"; on one column, and in members with one
        column, mclust's univariate "E" or "V" with the same volume).
        "tied" (one covariance shared by the components) needs few parameters,
        so BIC affords enough components for a rare group of anomalies to get
        its own small, untrusted component.
    contamination : float in (0, 0.5] or "auto", default=0.1
        The expected share of anomalies: the threshold is the
        (1 - contamination) quantile of the training scores. "auto": the
        score of a row at the 1% tail of the fitted normal mixture (of every
        member, combined, for an ensemble).
    robust : bool, default=True
        Fit with a uniform noise component and score only under the
        components holding at least ``min_weight`` of the data. False: plain
        mixtures, every component trusted (the density score of PyOD's GMM).
    scale : {"standard", "robust", None}, default="standard"
        Column scaling before the fit: mean/std, median/IQR, or none.
    missing : {"error", "em"}, default="error"
        "em": NaN are missing values, handled by the mixtures (marginal densities).
    min_weight : float or "auto", default="auto"
        Components lighter than this are not trusted as normal (robust only);
        "auto" is min(0.1, 0.5 / K).
    n_refits : int, default=0
        Trimmed refits of each mixture with the ``trim`` highest-scoring rows
        left out.
    trim : float, default=0.1
    discrete_floor : float >= 0 or None, default=None
        Dequantisation: after each mixture's fit (every ensemble member, and
        the single model), ``discrete_floor`` x step**2 is added to the
        variance of every discrete column, in the scaled space (step: the
        column's quantisation step divided by its scale; integer columns
        and columns of at most 32 values on a common grid are discrete,
        :mod:`gmmkit_outliers.discrete`). A component can then no longer sit
        on one repeated value with a variance far below the step. 1/12 is
        a uniform spread over one step; None (or 0) adds nothing.
    reg_covar : float, default=1e-6
    n_init : int, default=1
    random_state : int, numpy Generator or None, default=None
    verbose : bool, default=False
        Progress on stderr.

    Attributes
    ----------
    decision_scores_ : ndarray of shape (n_samples,)
        Scores of the training rows.
    threshold_ : float
    labels_ : ndarray of int, shape (n_samples,)
    ensemble_ : bool
        Whether the fitted detector is an ensemble (False for ``ensemble=None``
        and after a fallback).
    members_ : list of gmmkit_outliers.ensemble.Member
        (ensemble) Each member's columns, normal mixture and score standardisation.
    buckets_ : list of ndarray of int or None
        (ensemble) The members' buckets of aom and moa.
    model_ : gmmkit.GaussianMixture
        (single model) The mixture fitted to the scaled data, with its noise component.
    trusted_ : ndarray of bool, shape (n_components,)
        (single model) Components trusted as normal.
    normal_model_ : gmmkit.GaussianMixture
        (single model) The trusted components, renormalised.
    center_, scale_ : ndarray of shape (n_features,)
        The column scaler (scale 1 for the ignored columns).
    discrete_steps_ : ndarray of shape (n_features,)
        Each column's quantisation step in its own units (0 for a column
        that is not discrete and for ignored columns); None in a detector
        loaded from a file written before ``discrete_floor`` existed.
    ignored_columns_ : ndarray of int
        Columns constant in the training data (a ConstantColumnWarning named
        them); every row is scored without them.
    training_scores_ : ndarray
        The training scores, sorted (what ``predict_confidence`` ranks new
        scores among).
    score_summary_ : dict
        n, min, max, mean and std of the training scores.
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
        ensemble="bagging",
        n_estimators=10,
        max_features=1.0,
        max_samples="auto",
        bootstrap=True,
        combination="average",
        member_scale="robust",
        covariance_type="tied",
        contamination=0.1,
        robust=True,
        scale="standard",
        missing="error",
        min_weight="auto",
        n_refits=0,
        trim=0.1,
        discrete_floor=None,
        reg_covar=1e-6,
        n_init=1,
        random_state=None,
        verbose=False,
    ):
        self.n_components = n_components
        self.ensemble = ensemble
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.max_samples = max_samples
        self.bootstrap = bootstrap
        self.combination = combination
        self.member_scale = member_scale
        self.covariance_type = covariance_type
        self.contamination = contamination
        self.robust = robust
        self.scale = scale
        self.missing = missing
        self.min_weight = min_weight
        self.n_refits = n_refits
        self.trim = trim
        self.discrete_floor = discrete_floor
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.random_state = random_state
        self.verbose = verbose

    # --------------------------------------------------------------------- fit

    def fit(self, X, y=None):
        """Fit the mixture(s) to X and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        contamination = check_contamination(self.contamination)
        discrete_floor = check_discrete_floor(self.discrete_floor)
        check_options(scale=self.scale, missing=self.missing, min_weight=self.min_weight,
                      n_refits=self.n_refits, trim=self.trim)
        check_ensemble(ensemble=self.ensemble, n_estimators=self.n_estimators,
                       max_features=self.max_features, max_samples=self.max_samples,
                       bootstrap=self.bootstrap, combination=self.combination,
                       combinations=combining.COMBINATIONS, member_scale=self.member_scale,
                       member_scales=ensemble.MEMBER_SCALES)
        names = column_names(X)
        table = as_table(X, missing=self.missing)
        self.ignored_columns_ = check_training_table(table, names,
                                                     covariance_type=self.covariance_type)
        self.center_, self.scale_ = fit_scaler(table, self.scale)
        self.scale_[self.ignored_columns_] = 1.0  # no spread to scale by; unused
        used = self._used_columns(table.shape[1])
        Z = apply_scaler(table, self.center_, self.scale_)[:, used]
        self.discrete_steps_ = discrete_steps(table)
        self.discrete_steps_[self.ignored_columns_] = 0.0
        floor = None
        if discrete_floor > 0:
            floor = discrete_floor * (self.discrete_steps_[used] / self.scale_[used]) ** 2
        self.n_features_in_ = table.shape[1]
        self.feature_names_in_ = names or [f"x{j}" for j in range(table.shape[1])]
        self.ensemble_ = self.ensemble is not None and self._ensemble_fits(Z)
        if self.ensemble_:
            self._fit_ensemble(Z, floor)
        else:
            self._fit_single(Z, floor)
        self.decision_scores_ = self._scores(Z)
        if contamination == "auto":
            self.threshold_ = self._auto_threshold()
        else:
            self.threshold_ = threshold.contamination_threshold(
                self.decision_scores_, contamination
            )
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        self._set_score_summary(self.decision_scores_)
        return self

    def _mixture_params(self):
        return dict(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            n_init=self.n_init,
            random_state=self.random_state,
            missing=self.missing,
            noise="uniform" if self.robust else None,
            min_weight=self.min_weight if self.robust else 0.0,
        )

    def _fit_single(self, Z, floor=None):
        params = self._mixture_params()
        params["covariance_type"] = for_features(params["covariance_type"], Z.shape[1])
        self.model_, self.trusted_, _ = scoring.fit_mixture(
            Z, params=params, n_refits=self.n_refits, trim=self.trim,
            progress=self._progress if self.verbose else None, floor=floor,
        )
        self.normal_model_ = scoring.normal_mixture(self.model_, self.trusted_)
        self.members_, self.buckets_ = None, None

    def _fit_ensemble(self, Z, floor=None):
        rng = _generator(self.random_state)
        self.members_ = ensemble.fit_members(
            Z, n_estimators=self.n_estimators, max_samples=self.max_samples,
            max_features=self.max_features, bootstrap=self.bootstrap,
            params=self._mixture_params(), n_refits=self.n_refits, trim=self.trim, rng=rng,
            member_scale=self.member_scale, progress=self._progress if self.verbose else None,
            floor=floor,
        )
        self.buckets_ = None
        if self.combination in ("aom", "moa"):
            self.buckets_ = combining.make_buckets(len(self.members_), N_BUCKETS, "static",
                                                   random_state=rng)
        self.model_ = self.trusted_ = self.normal_model_ = None

    def _ensemble_fits(self, Z):
        """Whether Z has the rows an ensemble needs; else warn and say no."""
        n_samples, n_features = Z.shape
        needed = ensemble.MIN_ROWS
        if layout(self.covariance_type) in ("full", "tied"):
            needed = max(needed, 2 * (n_features + 1))
        if n_samples >= needed:
            return True
        warnings.warn(
            f"X has {n_samples} rows for {n_features} columns; the ensemble fits each member "
            f"to a bootstrap sample and needs at least {needed} rows, so the detector fits one "
            "robust mixture to all rows instead (ensemble_ is False). Pass ensemble=None to "
            "ask for it, or add rows.",
            EnsembleFallbackWarning, stacklevel=3,
        )
        return False

    def _auto_threshold(self):
        """contamination="auto": the score of a row at the 1% tail of the normal mixture(s)."""
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else 0
        if not self.ensemble_:
            return threshold.tail_threshold(self.normal_model_, seed=seed)
        tails = [(threshold.tail_threshold(m.normal, seed=seed) - m.center) / m.spread
                 for m in self.members_]
        return float(combining.combine(np.array([tails]), self.combination, self.buckets_)[0])

    def _used_columns(self, n_features):
        """Indices of the columns the mixtures see: all but ``ignored_columns_``."""
        return np.setdiff1d(np.arange(n_features), self.ignored_columns_)

    @classmethod
    def from_fitted(cls, model, fitted, **params):
        """A fitted detector from its parts, without fitting (what ``load_detector`` reads).

        Parameters
        ----------
        model : gmmkit.GaussianMixture or None
            ``model_``: the single model's mixture fitted to the scaled
            columns that are not ignored; None for an ensemble.
        fitted : dict
            The other fitted attributes, by name: ``center_`` and ``scale_``
            (the column scaler, one per column), ``threshold_``,
            ``score_summary_`` ("n", "min", "max", "mean", "std" of the
            training scores), ``feature_names_in_`` (one per column, ignored
            columns included), optionally ``ignored_columns_``,
            ``discrete_steps_`` and ``training_scores_`` (sorted; what
            ``predict_confidence`` needs);
            ``trusted_`` (bool, one per component) for a single model,
            ``members_`` (list of gmmkit_outliers.ensemble.Member) and
            ``buckets_`` for an ensemble.
        **params
            Constructor arguments.

        Returns
        -------
        GMMOutlierDetector
            Fitted; ``normal_model_`` is derived, ``decision_scores_`` and
            ``labels_`` of the training rows are not set.
        """
        detector = cls(**params)
        detector.center_ = np.asarray(fitted["center_"], dtype=np.float64)
        detector.scale_ = np.asarray(fitted["scale_"], dtype=np.float64)
        detector.threshold_ = float(fitted["threshold_"])
        detector.score_summary_ = dict(fitted["score_summary_"])
        detector.feature_names_in_ = list(fitted["feature_names_in_"])
        detector.n_features_in_ = len(detector.feature_names_in_)
        detector.ignored_columns_ = np.asarray(fitted.get("ignored_columns_", ()), dtype=int)
        steps = fitted.get("discrete_steps_")
        detector.discrete_steps_ = None if steps is None else np.asarray(steps, dtype=float)
        scores = fitted.get("training_scores_")
        detector.training_scores_ = None if scores is None else np.asarray(scores, dtype=float)
        detector.score_summary_.setdefault("n", None if scores is None else len(scores))
        detector.ensemble_ = fitted.get("members_") is not None
        detector.model_ = model
        if detector.ensemble_:
            detector.members_ = list(fitted["members_"])
            detector.buckets_ = fitted.get("buckets_")
            detector.trusted_ = detector.normal_model_ = None
        else:
            detector.trusted_ = np.asarray(fitted["trusted_"], dtype=bool)
            detector.normal_model_ = scoring.normal_mixture(model, detector.trusted_)
            detector.members_ = detector.buckets_ = None
        return detector

    def _set_score_summary(self, scores):
        """n, min, max, mean, std and the sorted training scores (predict_proba, confidence)."""
        self.training_scores_ = np.sort(scores)
        self.score_summary_ = {
            "n": int(scores.size),
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

    def _scores(self, Z):
        if not self.ensemble_:
            return -self.normal_model_.score_samples(Z)
        member_scores = ensemble.member_scores(self.members_, Z)
        return combining.combine(member_scores, self.combination, self.buckets_)

    def decision_function(self, X, *, out=None, overwrite=False):
        """Anomaly score of every row (higher is more anomalous): shape (n_samples,).

        Single model: minus the log density of the scaled row under the
        trusted components. Ensemble: the members' standardised scores,
        combined.

        X may also be a ``.npy`` path, a file memmap, a chunk function or a
        Dask array (read block by block; a Dask array gives a lazy Dask
        array); ``out`` (a ``.npy`` path) receives the scores a block at a
        time (:func:`gmmkit.map_rows`), ``overwrite`` replaces it.
        """
        if out is not None or is_large_input(X):
            self._check_fitted()
            return map_rows(self.decision_function, X, n_features=self.n_features_in_,
                            out=out, overwrite=overwrite, name="the detector")
        return self._scores(self._scaled(X))

    def explain(self, X):
        """Per-feature contributions to every row's score.

        Returns
        -------
        gmmkit_outliers.explain.Explanation
            ``top_features(n)`` lists each row's features by their share
            (see gmmkit_outliers.explain). Single model: the exact split of
            the squared Mahalanobis distance to the nearest trusted
            component. Ensemble: each member's exact split (``members``),
            weighted by the member's part in the combined score and summed.
            Columns are X's own; ``ignored_columns_`` contribute 0.
        """
        Z = self._scaled(X)
        columns = self._used_columns(self.n_features_in_)
        if not self.ensemble_:
            return explain_rows(Z, self.model_, self.trusted_, self.feature_names_in_,
                                columns=columns)
        scores = ensemble.member_scores(self.members_, Z)
        weights = combining.member_weights(scores, self.combination, self.buckets_)
        return explain_ensemble(Z, self.members_, weights, self.feature_names_in_, columns)


def _generator(random_state):
    """A numpy Generator from an int, None, a Generator or a RandomState."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31 - 1))
    return np.random.default_rng(random_state)
