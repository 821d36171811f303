"""Missing values: exact EM that marginalises NaN features (``missing="em"``).

Rows are grouped by missingness pattern. Under a pattern with observed
features o and missing m, component k's marginal on o is
N(mu_o, Sigma_oo), and the missing part given the observed part is
N(mu_m + B (x_o - mu_o), C) with B = Sigma_mo Sigma_oo^-1 and
C = Sigma_mm - B Sigma_om (:func:`gmmkit.engine.linalg.conditional_blocks`).

E-step of a pattern: the engine's ordinary chunked E-step on the observed
columns under the marginal parameters, giving the responsibilities, the
observed-data log-likelihood and the observed moments
n_k, sum r x_o, sum r x_o x_o'. The moments of the completed data follow
in closed form from those per component (no pass over the rows again):

    sum r x_m      = n_k mu_m + B (sum r x_o - n_k mu_o)
    sum r x_m x_o' = mu_m (sum r x_o)' + B (sum r x_o x_o' - mu_o (sum r x_o)')
    sum r x_m x_m' = n_k (C + a a') + a (B sum r x_o)' + (B sum r x_o) a'
                     + B (sum r x_o x_o') B',        a = mu_m - B mu_o

so the M-step gets the exact conditional expectations of x and x x'. The
cost per pattern is one E-step over its rows plus K small matrix products,
close to the complete-data fit when few patterns occur. Full and tied
models run the pattern E-step with full per-component covariances, diag
and spherical ones with diagonal ones (their B is 0).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gmmkit.data.validation import check_int, plural
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import ChunkedData, Stats, sum_stats
from gmmkit.engine.linalg import (
    batched_precision_cholesky,
    conditional_blocks,
    triu_pairs,
    unpack_symmetric,
)
from gmmkit.engine.reference import check_extent, reference_point
from gmmkit.engine.rng import make_rng
from gmmkit.engine.scoring import score_rows

MISSING_OPTIONS = ("error", "em")

_FULL = get_covariance_type("full")
_DIAG = get_covariance_type("diag")


@dataclass
class Pattern:
    """The rows that miss the same features.

    Attributes
    ----------
    observed, missing : ndarray of int
        Feature indices.
    data : ChunkedData
        The pattern's rows, observed columns only, centred.
    """

    observed: np.ndarray
    missing: np.ndarray
    data: ChunkedData

    @property
    def rows(self):
        return self.data.row_index


def scan_missing(X, sample_weight, chunk_size=65536):
    """One pass over X: the mean of the observed values and each row's pattern.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    center : ndarray of shape (n_features,)
        Per feature, the (weighted) mean of its observed values (NaN for a
        feature that has none).
    pattern_of_row : ndarray of shape (n_samples,), int
    masks : ndarray of shape (n_patterns, n_features), bool
        True where a pattern misses the feature.

    Raises
    ------
    ValueError
        If X contains infinity.
    """
    n_samples, n_features = X.shape
    sums, counts = np.zeros(n_features), np.zeros(n_features)
    pattern_of_row = np.empty(n_samples, dtype=np.intp)
    known = {}
    for start in range(0, n_samples, chunk_size):
        chunk = np.asarray(X[start : start + chunk_size], dtype=np.float64)
        w = None if sample_weight is None else sample_weight[start : start + chunk_size]
        _check_no_infinity(chunk, start)
        missing = np.isnan(chunk)
        observed_weight = (~missing).astype(np.float64)
        if w is not None:
            observed_weight *= w[:, None]
        sums += np.einsum("nd,nd->d", np.where(missing, 0.0, chunk), observed_weight)
        counts += observed_weight.sum(axis=0)
        keys = np.packbits(missing, axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        ids = [known.setdefault(key.tobytes(), len(known)) for key in unique]
        pattern_of_row[start : start + len(chunk)] = np.asarray(ids)[inverse.ravel()]
    masks = np.array(
        [np.unpackbits(np.frombuffer(key, np.uint8))[:n_features] for key in known], dtype=bool
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        center = sums / counts
    return center, pattern_of_row, masks.reshape(len(known), n_features)


def _check_no_infinity(chunk, start):
    infinite = np.isinf(chunk).any(axis=1)
    if infinite.any():
        rows = np.flatnonzero(infinite)
        raise ValueError(
            f"X contains infinity in {plural(rows.size, 'row')} (first: row {start + rows[0]}); "
            "infinity is not a missing value: drop or clip those rows "
            "(e.g. X[~np.isinf(X).any(axis=1)])."
        )


def group_patterns(X, sample_weight, center, pattern_of_row, masks, dtype, chunk_size):
    """One :class:`Pattern` per missingness pattern, in order of first appearance."""
    order = np.argsort(pattern_of_row, kind="stable")
    bounds = np.cumsum(np.bincount(pattern_of_row, minlength=len(masks)))[:-1]
    patterns = []
    features = np.arange(X.shape[1])
    for mask, rows in zip(masks, np.split(order, bounds)):
        observed = features[~mask]
        data = ChunkedData(
            X, sample_weight, center[observed], dtype, chunk_size, row_index=rows,
            columns=None if observed.size == X.shape[1] else observed,
        )
        patterns.append(Pattern(observed, features[mask], data))
    return patterns


@dataclass
class MissingData:
    """Data with NaN entries, served pattern by pattern (duck-types ChunkedData in EM).

    Attributes
    ----------
    filled : ChunkedData
        Every row with NaN replaced by the feature mean: what initialisers see.
    patterns : list of Pattern
    """

    filled: ChunkedData
    patterns: list

    @property
    def center(self):
        return self.filled.center

    @property
    def dtype(self):
        return self.filled.dtype

    @property
    def n_samples(self):
        return self.filled.n_samples

    @property
    def n_features(self):
        return self.filled.n_features

    def init_data(self, rng):
        """Initialisers see every row with its NaN replaced by the feature mean."""
        return self.filled

    def with_dtype(self, dtype):
        return MissingData(
            self.filled.with_dtype(dtype),
            [replace(p, data=p.data.with_dtype(dtype)) for p in self.patterns],
        )

    def e_step(self, cov_type, params, runner):
        """Summed Stats of the completed data (see the module docstring)."""
        return sum_stats(
            [pattern_stats(p, cov_type, params, self.center, runner) for p in self.patterns]
        )

    def map_log_prob(self, cov_type, params, runner, reduce, *, density=False):
        """``reduce(log_prob)`` per chunk of every pattern, back in row order.

        Each row is scored on its own (:func:`gmmkit.engine.scoring.score_rows`):
        the patterns must be centred on a fixed point, not on the rows.

        Parameters
        ----------
        reduce : callable
            Turns a chunk's weighted log densities (K, n), under the marginal
            on the observed features, into per-row results (first axis n).
        density : bool, default=False
            ``reduce`` is the log-sum-exp (see score_rows).

        Returns
        -------
        ndarray
            Every row's result, in X's row order.
        """
        out = None
        for pattern in self.patterns:
            part = _pattern_results(pattern, cov_type, params, runner, reduce, density)
            if out is None:
                out = np.empty((self.n_samples,) + part.shape[1:], dtype=part.dtype)
            out[pattern.rows] = part
        return out


def make_missing_data(
    X, sample_weight, dtype, chunk_size, *, fallback_center=None, center=None
):
    """MissingData for X, or None when X has no NaN (the ordinary path applies).

    Parameters
    ----------
    fallback_center : ndarray of shape (n_features,), optional
        Centre for features with no observed value (scoring); without it
        such a feature is an error (fitting).
    center : ndarray of shape (n_features,), optional
        A fixed reference point (scoring, online EM) instead of the trimmed mean
        of X's observed values (:func:`gmmkit.engine.reference.reference_point`).
    """
    observed_means, pattern_of_row, masks = scan_missing(X, sample_weight)
    if not masks.any():
        return None
    empty = np.isnan(observed_means)
    if center is not None:
        empty[:] = False
    else:
        center = reference_point(X, sample_weight)
        unsampled = np.isnan(center) & ~empty
        center[unsampled] = observed_means[unsampled]
        check_extent(X, np.where(empty, 0.0, center))
    if empty.any():
        if fallback_center is None:
            raise ValueError(
                f"feature {int(np.argmax(empty))} has no observed value (with positive "
                "weight) in X; drop that column: missing='em' needs some values of every "
                "feature."
            )
        center[empty] = fallback_center[empty]
    filled = ChunkedData(X, sample_weight, center, dtype, chunk_size, fill_missing=True)
    patterns = group_patterns(X, sample_weight, center, pattern_of_row, masks, dtype, chunk_size)
    return MissingData(filled, patterns)


# ------------------------------------------------------------ per pattern


def marginal_params(pattern, cov_type, params):
    """The pattern's E-step type and the mixture's marginal on its observed features.

    Returns
    -------
    pattern_type : CovarianceType
        ``cov_type`` itself for complete rows, else full (full and tied
        models) or diag (diag and spherical).
    marginal : MixtureParams
    dense : ndarray of shape (K, D, D) or None
        Dense covariances (None for complete rows).
    """
    if pattern.missing.size == 0:
        return cov_type, params, None
    n_components, n_features = params.means.shape
    covariances = params.covariances
    if covariances is None:  # only precisions were given (precisions_init)
        covariances = cov_type.covariances_from_precisions(
            cov_type.precisions(params.precisions_cholesky)
        )
    dense = cov_type.dense(covariances, n_components, n_features)
    o = pattern.observed
    pattern_type = _FULL if cov_type.name in ("full", "tied") else _DIAG
    sub = pattern_type.from_dense(dense[:, o][:, :, o])
    marginal = replace(
        params, means=params.means[:, o], covariances=sub,
        precisions_cholesky=_precision_cholesky(pattern_type, sub),
    )
    return pattern_type, marginal, dense


def _precision_cholesky(pattern_type, covariances):
    """Precision factors of a pattern's marginal, batched when they are full matrices."""
    if pattern_type is _FULL:
        factors = batched_precision_cholesky(covariances)
        if factors is not None:
            return factors
    return pattern_type.precision_cholesky(covariances)


def pattern_stats(pattern, cov_type, params, center, runner):
    """Stats of one pattern's completed rows, in ``cov_type``'s layout."""
    pattern_type, marginal, dense = marginal_params(pattern, cov_type, params)
    if dense is None:
        return pattern.data.e_step(cov_type, params, runner)
    if pattern.observed.size == 0:
        observed = _unobserved_stats(pattern, params)
    else:
        observed = pattern.data.e_step(pattern_type, marginal, runner)
    return complete_stats(observed, pattern, cov_type, params, dense, center)


def _unobserved_stats(pattern, params):
    """Rows with nothing observed: responsibilities are the weights, log-likelihood 0."""
    data = pattern.data
    weight = float(data.n_samples if data.sample_weight is None else
                   data.sample_weight[pattern.rows].sum())
    nk = params.weights * weight
    noise = params.noise_weight * weight
    return Stats(nk, np.zeros((nk.size, 0)), np.zeros((nk.size, 0)), 0.0, weight, noise)


def complete_stats(observed, pattern, cov_type, params, dense, center):
    """Expand a pattern's observed-feature Stats to all features (module docstring)."""
    o, m = pattern.observed, pattern.missing
    nk = observed.nk
    means = params.means - center  # centred, as the Stats are
    mu_o, mu_m = means[:, o], means[:, m]
    sx = np.empty_like(means)
    sx[:, o] = observed.sx
    if cov_type.name in ("diag", "spherical"):
        sx[:, m] = nk[:, None] * mu_m
        sxx = np.empty_like(means)
        sxx[:, o] = observed.sxx
        variances = np.diagonal(dense, axis1=1, axis2=2)[:, m]
        sxx[:, m] = nk[:, None] * (variances + mu_m**2)
        return replace(observed, sx=sx, sxx=sxx)
    B, C = conditional_blocks(dense, o, m)
    s_o = observed.sx  # (K, o)
    s_oo = unpack_symmetric(observed.sxx, o.size) if o.size else np.zeros((nk.size, 0, 0))
    b_s = np.einsum("kmo,ko->km", B, s_o)
    sx[:, m] = nk[:, None] * mu_m + b_s - np.einsum("kmo,ko->km", B, nk[:, None] * mu_o)
    a = mu_m - np.einsum("kmo,ko->km", B, mu_o)
    second = np.empty((nk.size, means.shape[1], means.shape[1]))
    second[np.ix_(range(nk.size), o, o)] = s_oo
    s_mo = mu_m[:, :, None] * s_o[:, None, :] + B @ (s_oo - mu_o[:, :, None] * s_o[:, None, :])
    second[np.ix_(range(nk.size), m, o)] = s_mo
    second[np.ix_(range(nk.size), o, m)] = s_mo.transpose(0, 2, 1)
    cross = a[:, :, None] * b_s[:, None, :]
    second[np.ix_(range(nk.size), m, m)] = (
        nk[:, None, None] * (C + a[:, :, None] * a[:, None, :])
        + cross + cross.transpose(0, 2, 1) + B @ s_oo @ B.transpose(0, 2, 1)
    )
    if cov_type.name == "tied":
        return replace(observed, sx=sx, sxx=second.sum(axis=0))
    rows, cols = triu_pairs(means.shape[1])
    return replace(observed, sx=sx, sxx=second[:, rows, cols])


# ------------------------------------------------------------ scoring


def _pattern_results(pattern, cov_type, params, runner, reduce, density):
    if pattern.observed.size == 0:
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        noise = params.noise_row(pattern.observed)
        if noise is not None:
            log_weights = np.append(log_weights, noise)
        log_prob = np.repeat(log_weights[:, None], pattern.data.n_samples, axis=1)
        return np.asarray(reduce(log_prob))
    pattern_type, marginal, _ = marginal_params(pattern, cov_type, params)
    parts = score_rows(pattern.data, pattern_type, marginal, runner, reduce, density=density)
    return np.concatenate(parts)


# ------------------------------------------------------------ imputation


def impute(model, X, *, strategy="mean", n_draws=None, random_state=None):
    """Fill the NaN entries of X from a fitted mixture.

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        Fitted (with any ``missing`` setting). A BayesianGaussianMixture
        imputes from the mixture of its point estimates (``weights_``,
        ``means_``, ``covariances_``). Other estimators are refused with a
        TypeError saying which mixture to pass (a GMMClassifier's
        ``estimators_[i]``, a GaussianMixtureRegressor's ``gmm_``).
    X : array-like of shape (n_samples, n_features)
        NaN marks a missing value.
    strategy : {"mean", "draw"}, default="mean"
        "mean": the conditional mean E[x_m | x_o] under the mixture (the
        best guess in squared error). "draw": a random draw from the
        conditional mixture p(x_m | x_o), for multiple imputation.
    n_draws : int, optional
        With ``strategy="draw"``: return this many independent completions
        (an integer >= 1; 2.7 is refused, not rounded).
    random_state : int, Generator or None
        Seeds the draws.

    Returns
    -------
    ndarray of shape (n_samples, n_features), or (n_draws, n_samples, n_features)
        X with every NaN filled; observed values are kept as they are.
    """
    from gmmkit.estimators.conditional import check_mixture

    check_mixture(model, "impute")
    if strategy not in ("mean", "draw"):
        raise ValueError(f"strategy={strategy!r} is not supported; use 'mean' or 'draw'.")
    if n_draws is not None:
        if strategy != "draw":
            raise ValueError(
                f"n_draws needs strategy='draw' (got strategy={strategy!r}); pass "
                "strategy='draw' or leave n_draws out."
            )
        check_int("n_draws", n_draws, 1)
    X = np.array(model._validated(X), dtype=np.float64)
    rng = make_rng(random_state)
    completions = [X.copy() for _ in range(1 if n_draws is None else int(n_draws))]
    data = make_missing_data(
        X, None, np.dtype(np.float64), model._chunk_rows(X.shape[1], np.dtype(np.float64)),
        fallback_center=model.weights_ @ model.means_,
    )
    for pattern in [] if data is None else data.patterns:
        if pattern.missing.size == 0:
            continue
        weights, means, C = _conditional_mixtures(model, X, pattern)
        bounds = getattr(model, "noise_bounds_", None)
        box = None if bounds is None else bounds[pattern.missing]
        for completion in completions:
            completion[np.ix_(pattern.rows, pattern.missing)] = (
                _conditional_mean(weights, means, box)
                if strategy == "mean"
                else _draw(weights, means, C, box, rng)
            )
    return completions[0] if n_draws is None else np.stack(completions)


def _conditional_mixtures(model, X, pattern):
    """Each row's conditional mixture of the pattern's missing features.

    Returns
    -------
    weights : (n, K) or (n, K + 1) with the noise component last
    means : (n, K, m)
    C : (K, m, m)
    """
    from gmmkit.estimators.conditional import conditional_moments

    o, m = pattern.observed, pattern.missing
    if o.size:
        return conditional_moments(model, X[np.ix_(pattern.rows, o)], o, m)
    cov_type = get_covariance_type(model.covariance_type)
    dense = cov_type.dense(model.covariances_, *model.means_.shape)
    weights = model.weights_
    if hasattr(model, "noise_bounds_"):
        weights = np.append(weights, model.noise_weight_)
    n = pattern.rows.size
    means = np.broadcast_to(model.means_[:, m], (n,) + model.means_[:, m].shape)
    return np.broadcast_to(weights, (n, weights.size)), means, dense[:, m][:, :, m]


def _conditional_mean(weights, means, box):
    """E[x_m | x_o]: (n, m); the noise component's mean is the middle of its box."""
    n_components = means.shape[1]
    mean = np.einsum("nk,nkm->nm", weights[:, :n_components], means)
    if box is not None:
        mean += weights[:, n_components:] * box.mean(axis=1)
    return mean


def _draw(weights, means, C, box, rng):
    """One draw per row from its conditional mixture: (n, m)."""
    from gmmkit.engine.noise import draw_noise

    n, n_components, width = means.shape
    cumulative = np.cumsum(weights, axis=1)
    u = rng.uniform(size=(n, 1)) * cumulative[:, -1:]
    components = np.minimum((cumulative < u).sum(axis=1), weights.shape[1] - 1)
    draws = np.empty((n, width))
    for k in np.unique(components):
        rows = np.flatnonzero(components == k)
        if k == n_components:  # the noise component
            draws[rows] = draw_noise(box, rows.size, rng)
            continue
        chol = np.linalg.cholesky(C[k] + 1e-12 * np.eye(width))
        draws[rows] = means[rows, k] + rng.standard_normal((rows.size, width)) @ chol.T
    return draws
