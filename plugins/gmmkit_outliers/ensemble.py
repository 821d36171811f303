"""The ensemble: robust mixtures on bootstrap samples and random feature subspaces.

Each member (feature bagging, Lazarevic and Kumar 2005, with bootstrap
rows) draws a subspace of between half and ``max_features`` of the
columns, draws ``max_samples`` rows with replacement, and fits the same
robust mixture as the single detector to them (noise component, K by BIC
from a small range, only the large components trusted). Its score of a row
is minus the log density of the row's subspace under its trusted
components, standardised by the median and interquartile range of its
scores of the training rows (or, ``member_scale="standard"``, their mean and
standard deviation: PyOD's ``standardizer``), so that members of different
dimensions are on one scale. The detector combines the standardised scores
(gmmkit_outliers.combination).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmkit import GaussianMixture
from gmmkit_outliers import scoring
from gmmkit_outliers.covariance import for_features, layout

#: n_components="auto" in a member: K = 1..MEMBER_MAX_COMPONENTS by BIC
MEMBER_MAX_COMPONENTS = 5
#: max_samples="auto": this many rows per member, or 4 per feature when that is more
AUTO_SAMPLES = 256
SAMPLES_PER_FEATURE = 4
#: fewest rows an ensemble fits members to (fewer: the single model, with a warning)
MIN_ROWS = 20
#: the interquartile range of a standard normal (member_scale="robust": IQR / this)
NORMAL_IQR = 1.3489795003921634
#: how a member's scores are put on a common scale
MEMBER_SCALES = ("robust", "standard")


@dataclass
class Member:
    """One fitted member of the ensemble.

    Attributes
    ----------
    features : ndarray of int, shape (n_member_features,)
        The member's columns, as indices into the detector's scaled columns
        (the columns it does not ignore).
    normal : gmmkit.GaussianMixture
        The member's trusted components, renormalised, on those columns.
    center, spread : float
        Centre and spread of the member's raw scores of the training rows
        (:func:`score_scale`): its standardised score is (raw - center) / spread.
    """

    features: np.ndarray
    normal: GaussianMixture
    center: float = 0.0
    spread: float = 1.0

    def raw_scores(self, Z):
        """Minus the log density of each row's subspace: shape (n_samples,)."""
        return -self.normal.score_samples(Z[:, self.features])

    def scores(self, Z):
        """The standardised scores: shape (n_samples,)."""
        return (self.raw_scores(Z) - self.center) / self.spread


def samples_per_member(max_samples, n_samples, n_features):
    """The rows each member draws: an int."""
    if max_samples == "auto":
        return min(n_samples, max(AUTO_SAMPLES, SAMPLES_PER_FEATURE * n_features))
    if isinstance(max_samples, float):
        return max(2, int(round(max_samples * n_samples)))
    return min(int(max_samples), n_samples)


def draw_subspace(rng, n_features, max_features):
    """Sorted column indices: between ceil(d / 2) and max(ceil(d / 2), max_features * d)."""
    low = int(np.ceil(n_features / 2))
    high = max(low, int(max_features * n_features))
    size = int(rng.integers(low, high + 1))
    return np.sort(rng.choice(n_features, size, replace=False))


def fit_members(Z, *, n_estimators, max_samples, max_features, bootstrap, params, n_refits,
                trim, rng, member_scale="robust", progress=None, floor=None):
    """Fit ``n_estimators`` members to the scaled training rows Z.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Scaled, without constant columns.
    n_estimators : int
    max_samples : "auto", int or float
        Rows per member (:func:`samples_per_member`).
    max_features : float in (0, 1]
    bootstrap : bool
        Draw the rows with replacement (else without).
    params : dict
        The mixture's parameters, as for :func:`scoring.fit_mixture`.
    n_refits, trim
        As for :func:`scoring.fit_mixture`.
    rng : numpy.random.Generator
    member_scale : {"robust", "standard"}
        How each member's scores are standardised (:func:`score_scale`).
    progress : callable(str) or None
    floor : ndarray of shape (n_features,) or None
        Variance added to each of Z's columns in every member's mixture,
        after its fit (``discrete_floor``).

    Returns
    -------
    list of Member
        Standardised on Z's rows.
    """
    n_samples, n_features = Z.shape
    n_rows = samples_per_member(max_samples, n_samples, n_features)
    members = []
    for m in range(n_estimators):
        if progress is not None:
            progress(f"member {m + 1} of {n_estimators}")
        features, sample = _draw(Z, rng, n_rows, max_features, bootstrap)
        member_params = {**params, "random_state": int(rng.integers(2**31 - 1)),
                         "covariance_type": for_features(params["covariance_type"],
                                                         sample.shape[1])}
        model, trusted, _ = scoring.fit_mixture(
            sample, params=member_params, n_refits=n_refits, trim=trim,
            max_components=MEMBER_MAX_COMPONENTS,
            floor=None if floor is None else floor[features],
        )
        normal = scoring.normal_mixture(model, trusted)
        members.append(Member(features, scoring.mixture_from_arrays(
            normal.covariance_type, normal.missing, normal.weights_, normal.means_,
            normal.covariances_, normal.precisions_cholesky_,
        )))
    for member in members:
        member.center, member.spread = score_scale(member.raw_scores(Z), member_scale)
    return members


def score_scale(raw, member_scale):
    """Centre and spread that put a member's training scores on a common scale.

    Parameters
    ----------
    raw : ndarray of shape (n_samples,)
        The member's raw scores of the training rows (non-finite ones are
        left out).
    member_scale : {"robust", "standard"}
        "robust": the median and the interquartile range / 1.349 (equal to
        the standard deviation on Gaussian scores, but not stretched by the
        long tail the anomalies themselves give the scores); "standard":
        the mean and standard deviation (PyOD's ``standardizer``).

    Returns
    -------
    center, spread : float
        A spread of 0 (a member whose scores are mostly tied) falls back to
        the standard deviation, then to 1.
    """
    finite = raw[np.isfinite(raw)]
    if finite.size == 0:
        return 0.0, 1.0
    std = float(finite.std())
    if member_scale == "robust":
        q1, median, q3 = np.percentile(finite, [25, 50, 75])
        center, spread = float(median), float(q3 - q1) / NORMAL_IQR
    else:
        center, spread = float(finite.mean()), std
    if not spread > 0:
        spread = std if std > 0 else 1.0
    return center, spread


#: draws of a member's rows and columns before the ensemble gives up
MAX_DRAWS = 20


def _draw(Z, rng, n_rows, max_features, bootstrap):
    """A member's columns and rows: (features, sample of Z), every column varying.

    A column constant in the member's rows says nothing there and is left
    out; a subspace without a varying column is drawn again.
    """
    n_samples, n_features = Z.shape
    for _ in range(MAX_DRAWS):
        features = draw_subspace(rng, n_features, max_features)
        rows = rng.choice(n_samples, n_rows, replace=bootstrap)
        sample = Z[np.ix_(rows, features)]
        varying = _varies(sample)
        if varying.any():
            sample = sample[:, varying]
            return features[varying], sample[~np.isnan(sample).all(axis=1)]
    raise ValueError(
        f"no column varied in {MAX_DRAWS} draws of a member's rows; the data vary too little "
        "for an ensemble (almost all rows are equal). Use ensemble=None."
    )


def member_scores(members, Z):
    """Standardised scores of every member: ndarray of shape (n_samples, n_members)."""
    return np.column_stack([member.scores(Z) for member in members])


def _varies(sample):
    """Columns of ``sample`` with two or more distinct observed values: bool array."""
    missing = np.isnan(sample)
    low = np.where(missing, np.inf, sample).min(axis=0)
    high = np.where(missing, -np.inf, sample).max(axis=0)
    return high > low


def member_to_json(member):
    """A member as JSON values (floats round-trip exactly): dict."""
    normal = member.normal
    return {
        "features": [int(j) for j in member.features],
        "weights": normal.weights_.tolist(),
        "means": normal.means_.tolist(),
        "covariances": normal.covariances_.tolist(),
        "precisions_cholesky": normal.precisions_cholesky_.tolist(),
        "center": float(member.center),
        "spread": float(member.spread),
    }


def member_from_json(entry, *, covariance_type, missing, n_features):
    """The Member that :func:`member_to_json` wrote; ValueError when it does not fit.

    Parameters
    ----------
    entry : dict
    covariance_type, missing : str
        The detector's.
    n_features : int
        The detector's scaled columns (the members' features index them).
    """
    features = np.asarray(entry["features"])
    if (features.ndim != 1 or features.size == 0 or features.dtype.kind != "i"
            or features.min() < 0 or features.max() >= n_features
            or np.unique(features).size != features.size):
        raise ValueError(f"its features {entry['features']!r} are not columns 0..{n_features - 1}")
    normal = scoring.mixture_from_arrays(
        covariance_type, missing, entry["weights"], entry["means"], entry["covariances"],
        entry["precisions_cholesky"],
    )
    k, d = len(normal.weights_), features.size
    shapes = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}
    covariance_type = layout(covariance_type)
    expected = shapes[covariance_type]
    arrays = (normal.means_, normal.covariances_, normal.precisions_cholesky_)
    if (normal.weights_.ndim != 1 or normal.means_.shape != (k, d)
            or normal.covariances_.shape != expected
            or normal.precisions_cholesky_.shape != expected
            or not all(np.isfinite(a).all() for a in arrays)):
        raise ValueError(f"its arrays do not describe a {covariance_type} mixture of {d} features")
    center, spread = float(entry["center"]), float(entry["spread"])
    if not (np.isfinite(center) and np.isfinite(spread) and spread > 0):
        raise ValueError("its score standardisation is not finite")
    return Member(features, normal, center, spread)
