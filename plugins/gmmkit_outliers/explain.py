"""Explanations: the nearest normal component and each feature's share of the distance.

For a row x (scaled) and a component with mean mu and precision P (the
inverse covariance), write d = x - mu. The squared Mahalanobis distance is

    D2 = d' P d = sum_j c_j,   with   c_j = d_j (P d)_j.

c_j is feature j's contribution: it does not depend on the order of the
features, the contributions add up to D2 exactly, and with a diagonal
covariance c_j = d_j^2 / var_j (the squared z-score). A negative c_j means
that, given the other features, feature j makes the row more typical. With
missing values, only the observed features count: P is the inverse of the
covariance of the observed features, and a missing feature's contribution
is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmkit_outliers.covariance import layout


@dataclass
class Explanation:
    """Why rows look anomalous.

    Attributes
    ----------
    nearest : ndarray of int, shape (n_samples,)
        Index (in the fitted mixture, ``model_``) of the trusted component
        nearest to each row by Mahalanobis distance.
    distance2 : ndarray of shape (n_samples,)
        Squared Mahalanobis distance to that component.
    contributions : ndarray of shape (n_samples, n_features)
        Each feature's term c_j; the terms of a row add up to ``distance2``.
        (inf for a row so far out that they exceed the float64 range.)
    feature_names : list of str
    shares : ndarray of shape (n_samples, n_features) or None
        contributions / distance2, computed on rows scaled by a power of
        two, so they stay exact where the contributions overflow.
    """

    nearest: np.ndarray
    distance2: np.ndarray
    contributions: np.ndarray
    feature_names: list
    shares: np.ndarray | None = None

    def top_features(self, n=3):
        """The ``n`` largest positive contributions of every row.

        Returns
        -------
        list of list of (str, float)
            Per row: (feature name, share of ``distance2``) pairs, largest first.
        """
        shares = self.shares
        if shares is None:
            shares = self.contributions / self.distance2[:, None]
        result = []
        for row in shares:
            order = np.argsort(-np.nan_to_num(row, nan=-np.inf), kind="stable")
            top = [j for j in order[:n] if row[j] > 0]
            result.append([(self.feature_names[j], float(row[j])) for j in top])
        return result


def component_precisions(model, components):
    """Precision matrices of the given components: ndarray (len(components), d, d)."""
    n_features = model.means_.shape[1]
    precisions = np.asarray(model.precisions_)
    kind = layout(model.covariance_type)
    if kind == "full":
        return precisions[components]
    if kind == "tied":
        return np.repeat(precisions[None], len(components), axis=0)
    if kind == "diag":
        return np.stack([np.diag(precisions[k]) for k in components])
    return np.stack([precisions[k] * np.eye(n_features) for k in components])


def component_covariances(model, components):
    """Covariance matrices of the given components: ndarray (len(components), d, d)."""
    return np.linalg.inv(component_precisions(model, components))


def explain_rows(Z, model, trusted, feature_names, *, columns=None):
    """The nearest trusted component of every row and the per-feature contributions.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Scaled rows (NaN for missing values), the model's features.
    model : GaussianMixture
        The fitted mixture.
    trusted : ndarray of bool, shape (n_components,)
    feature_names : list of str, length n_columns
        Every column of the user's data.
    columns : ndarray of int, shape (n_features,), optional
        Which of those columns ``Z`` holds (default: all, in order); the
        others (ignored by the detector) contribute 0.

    Returns
    -------
    Explanation
        ``contributions`` has shape (n_samples, n_columns).
    """
    if columns is not None and len(columns) != len(feature_names):
        found = explain_rows(Z, model, trusted, [feature_names[j] for j in columns])
        contributions = np.zeros((Z.shape[0], len(feature_names)))
        contributions[:, columns] = found.contributions
        return Explanation(found.nearest, found.distance2, contributions, list(feature_names))
    components = np.flatnonzero(trusted)
    precisions = component_precisions(model, components)
    n_samples, n_features = Z.shape
    nearest = np.empty(n_samples, dtype=int)
    distance2 = np.empty(n_samples)
    contributions = np.full((n_samples, n_features), np.nan)
    shares = np.full((n_samples, n_features), np.nan)
    observed = ~np.isnan(Z)
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):
        rows = np.flatnonzero(inverse.ravel() == p)
        if not pattern.any():
            nearest[rows], distance2[rows] = components[0], 0.0
            continue
        if pattern.all():
            local = precisions
        else:
            covariances = np.linalg.inv(precisions)[:, pattern][:, :, pattern]
            local = np.linalg.inv(covariances)
        # rows scaled by a power of two each (exact), so a row at 1e300 does not overflow
        means = model.means_[components][:, pattern]
        base = np.maximum(np.abs(Z[rows][:, pattern]).max(axis=1), np.abs(means).max())
        scale = np.ldexp(1.0, np.frexp(base)[1])[:, None, None]
        deviation = Z[rows][:, None, pattern] / scale - means[None] / scale
        terms = deviation * np.einsum("kij,nkj->nki", local, deviation)  # (rows, K, observed)
        d2 = terms.sum(axis=2)
        best = d2.argmin(axis=1)
        nearest[rows] = components[best]
        chosen, total = terms[np.arange(len(rows)), best], d2[np.arange(len(rows)), best]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            distance2[rows] = total * scale[:, 0, 0] ** 2
            _fill(contributions, rows, pattern, chosen * scale[:, 0] ** 2)
            _fill(shares, rows, pattern, chosen / total[:, None])
    return Explanation(nearest, distance2, contributions, list(feature_names), shares)


def _fill(out, rows, columns, values):
    """out[rows][:, columns] = values."""
    block = out[rows]
    block[:, columns] = values
    out[rows] = block


@dataclass
class EnsembleExplanation(Explanation):
    """Why rows look anomalous to an ensemble: the members' exact splits, combined.

    Member m's explanation splits its squared Mahalanobis distance D2_m
    exactly over its columns (as the single model's). The ensemble's score
    of a row is sum_m w_m (s_m - center_m) / spread_m, with s_m the member's
    score and w_m the member's weight in the combination for that row
    (gmmkit_outliers.combination.member_weights); s_m grows as D2_m / 2.
    So column j's contribution is sum_m w_m c_mj / (2 spread_m), and
    ``distance2`` is their sum, sum_m w_m D2_m / (2 spread_m), exactly.

    Attributes
    ----------
    nearest : ndarray of int, shape (n_samples, n_members)
        Each member's nearest trusted component.
    distance2 : ndarray of shape (n_samples,)
        The weighted sum of the members' halved, standardised D2.
    contributions : ndarray of shape (n_samples, n_features)
    members : list of Explanation
        Each member's own explanation, on its columns (``feature_names``
        are its columns' names).
    weights : ndarray of shape (n_samples, n_members)
        The members' weights in each row's combined score.
    """

    members: list | None = None
    weights: np.ndarray | None = None


def explain_ensemble(Z, members, weights, feature_names, columns):
    """Combine the members' exact explanations of scaled rows Z.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_used)
        Scaled rows, without the ignored columns.
    members : list of gmmkit_outliers.ensemble.Member
    weights : ndarray of shape (n_samples, n_members)
    feature_names : list of str
        All columns of the data.
    columns : ndarray of int, shape (n_used,)
        The data's column of each column of Z.

    Returns
    -------
    EnsembleExplanation
    """
    n_samples = Z.shape[0]
    contributions = np.zeros((n_samples, len(feature_names)))
    parts = []
    for m, member in enumerate(members):
        names = [feature_names[columns[j]] for j in member.features]
        trusted = np.ones(len(member.normal.weights_), dtype=bool)
        part = explain_rows(Z[:, member.features], member.normal, trusted, names)
        parts.append(part)
        factor = weights[:, m] / (2.0 * member.spread)
        with np.errstate(invalid="ignore", over="ignore"):
            terms = np.nan_to_num(part.contributions, nan=0.0) * factor[:, None]
        used = weights[:, m] > 0  # a member without weight adds nothing, even inf
        with np.errstate(invalid="ignore", over="ignore"):  # a row at 1e300: inf terms
            contributions[np.ix_(used, columns[member.features])] += terms[used]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        total = contributions.sum(axis=1)
        shares = contributions / total[:, None]
    nearest = np.column_stack([part.nearest for part in parts])
    return EnsembleExplanation(nearest, total, contributions, list(feature_names), shares,
                               members=parts, weights=weights)
