"""Every row is scored on its own (issue 15, item 1; docs/engine.md, "Scoring").

A row's scores, responsibilities, labels, class probabilities, regression
predictions and outlier scores must not depend on the other rows of the
batch, however far those lie (1e8, 1e12, 1e300), and must equal a direct
float64 computation with scipy at any distance. The models are fitted once
per module; hypothesis draws the rows and the batches.

Tolerances (why they are what they are):

- "The same" alone and in a batch: the fast path multiplies a chunk by the
  parameters with BLAS, whose kernels round the last bits differently for
  different numbers of columns (on this machine float64 agrees to the bit
  for full 16-column tiles, float32 not even then). So a row's log density
  may move by a few ulps of the largest term of its expanded quadratic
  form: ``SAME`` allows 64 ulps of max(1, |value|, the row's squared
  distance from the centre in the tightest component metric).
- Against scipy, float64 work: 1e-9 relative to max(1, |log density|).
  Responsibilities: 1e-9 plus the absolute rounding of the log densities
  (64 eps x |log density|), which decides them for rows so far out that
  their components' log densities differ by less than that.
- Against scipy, float32 work (dtype="float32", float32 data): the
  expanded form rounds each log density by about eps32 x (r + o)**2, r the
  row's and o the components' distance from the centre in standard
  deviations (docs/engine.md); rows farther than 1e3 of those go the
  float64 direct way. For the rows drawn here (within ~10 of the data) that
  is below 2e-4 absolute, so FLOAT32 allows 1e-5 relative to
  max(1, |log density|) plus 4e-4 absolute (twice the bound), and the same
  for responsibilities.
"""

import functools
import json
import warnings

import numpy as np
import pytest
from gmmkit_outliers import GMMOutlierDetector
from helpers import COVARIANCE_TYPES, make_mixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gmmkit import (
    BayesianGaussianMixture,
    ConvergenceWarning,
    GaussianMixture,
    GaussianMixtureRegressor,
    GMMClassifier,
)
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.scoring import model_center

X, LABELS, _ = make_mixture(300, 3, 3, seed=5)
DTYPES = ("float64", "float32")
ESTIMATORS = ("mixture", "noise", "missing", "bayesian", "classifier", "regressor", "outliers")
#: rows beside which every row must score the same, per dtype of X
FAR = {
    np.float64: np.array([[1e8, -1e8, 1e8], [1e12, 1e12, -1e12], [1e300, -1e300, 1e300]]),
    np.float32: np.array([[1e8, -1e8, 1e8], [1e12, 1e12, -1e12], [3e38, -3e38, 3e38]]),
}
EPS = {np.float64: np.finfo(np.float64).eps, np.float32: np.finfo(np.float32).eps}
PROPERTY = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@functools.cache
def fitted(name, covariance_type, dtype):
    """The estimator ``name`` fitted on X (as ``dtype``), once per module."""
    data = X.astype(dtype)
    kwargs = dict(covariance_type=covariance_type, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if name == "classifier":
            return GMMClassifier(n_components=1, dtype=dtype, **kwargs).fit(data, LABELS)
        if name == "regressor":
            return GaussianMixtureRegressor(n_components=3, dtype=dtype, **kwargs).fit(
                data[:, :2], data[:, 2]
            )
        if name == "outliers":
            return GMMOutlierDetector(n_components=3, **kwargs).fit(data)
        if name == "bayesian":
            return BayesianGaussianMixture(n_components=4, dtype=dtype, **kwargs).fit(data)
        extra = {"noise": {"noise": "uniform"}, "missing": {"missing": "em"}}.get(name, {})
        return GaussianMixture(3, dtype=dtype, **kwargs, **extra).fit(data)


def outputs(name, model, rows):
    """What the estimator says about each row: {method: (n, ...) array}."""
    if name == "regressor":  # predict, which is no label here
        return {"conditional_mean": model.predict(rows[:, :2])}
    if name == "outliers":
        return {"decision_function": model.decision_function(rows)}
    if name == "classifier":
        return {"predict_proba": model.predict_proba(rows), "predict": model.predict(rows)}
    return {
        "score_samples": model.score_samples(rows),
        "predict_proba": model.predict_proba(rows),
        "predict": model.predict(rows),
    }


# ------------------------------------------------------------ the direct reference


def mixture_log_prob(model, rows):
    """Weighted log densities (n, K [+1 noise]) by scipy, in float64, one row at a time.

    NaN entries are missing: the marginal on the row's observed features.
    """
    cov_type = get_covariance_type(model.covariance_type)
    params = model._get_params_object()
    log_weights = params.log_weights
    if log_weights is None:
        log_weights = np.log(params.weights)
    precisions = cov_type.precisions(np.asarray(params.precisions_cholesky, np.float64))
    covariances = cov_type.dense(
        cov_type.covariances_from_precisions(precisions), *params.means.shape
    )
    out = []
    for row in np.asarray(rows, dtype=np.float64):
        seen = ~np.isnan(row)
        with np.errstate(all="ignore"):  # 1e300 squared: scipy's -inf is the answer
            lp = [
                multivariate_normal(mean[seen], cov[np.ix_(seen, seen)]).logpdf(row[seen])
                if seen.any() else 0.0
                for mean, cov in zip(np.asarray(params.means, np.float64), covariances)
            ]
        lp = np.asarray(lp) + log_weights
        if params.noise_log_density is not None:
            noise = np.log(params.noise_weight) + params.noise_log_density[seen].sum()
            lp = np.append(lp, noise)
        out.append(lp)
    return np.array(out)


def reference(name, model, rows):
    """The outputs of ``outputs``, computed directly in float64 with scipy.

    Returns
    -------
    expected : dict of arrays
    slack : dict of arrays
        The reference's own uncertainty: its log densities are rounded by
        about 64 eps x |log density|, so probabilities (and what they
        weigh) are only known to that where log densities are huge.
    """
    if name == "regressor":
        mean, slack = conditional_mean(model, rows[:, :2])
        return {"conditional_mean": mean}, {"conditional_mean": slack}
    if name == "outliers":
        scaled = (np.asarray(rows, np.float64) - model.center_) / model.scale_
        score = logsumexp(mixture_log_prob(model.normal_model_, scaled), axis=1)
        return {"decision_function": -score}, {"decision_function": 0.0}
    if name == "classifier":
        joint = np.column_stack([
            logsumexp(mixture_log_prob(m, rows), axis=1) for m in model.estimators_
        ]) + np.log(model.class_prior_)
        with np.errstate(invalid="ignore"):
            proba = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
        return {"predict_proba": proba}, {"predict_proba": rounding(joint)[:, None]}
    lp = mixture_log_prob(model, rows)
    score = logsumexp(lp, axis=1)
    with np.errstate(invalid="ignore"):
        proba = np.exp(lp - score[:, None])
    return (
        {"score_samples": score, "predict_proba": proba},
        {"score_samples": 0.0, "predict_proba": rounding(lp)[:, None]},
    )


def rounding(log_prob):
    """Absolute rounding of each row's largest finite log densities: (n,)."""
    finite = np.where(np.isfinite(log_prob), np.abs(log_prob), 0.0)
    return 64 * EPS[np.float64] * finite.max(axis=1)


def conditional_mean(model, rows):
    """E[y | x] of the regressor's joint mixture, by scipy and explicit algebra.

    Returns
    -------
    mean : ndarray of shape (n,)
    slack : ndarray of shape (n,)
        Where the weights are uncertain (``rounding``), the mean may be any
        mix of the components' conditional means: that much of their spread.
    """
    gmm = model.gmm_
    cov_type = get_covariance_type(gmm.covariance_type)
    dense = cov_type.dense(
        cov_type.covariances_from_precisions(np.asarray(gmm.precisions_, np.float64)),
        *gmm.means_.shape,
    )
    rows = np.asarray(rows, np.float64)
    with np.errstate(all="ignore"):  # 1e300 squared: -inf log densities
        lp = np.column_stack([
            multivariate_normal(m[:2], c[:2, :2]).logpdf(rows) for m, c in zip(gmm.means_, dense)
        ]) + np.log(gmm.weights_)
        weights = np.exp(lp - lp.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
    means = np.column_stack([
        m[2] + (rows - m[:2]) @ np.linalg.solve(c[:2, :2], c[:2, 2])
        for m, c in zip(gmm.means_, dense)
    ])
    spread = means.max(axis=1) - means.min(axis=1)
    return (weights * means).sum(axis=1), np.minimum(rounding(lp), 1.0) * spread


# ------------------------------------------------------------ comparisons


def assert_same(name, model, got, expected, rows, dtype):
    """Outputs equal up to BLAS's last-bit rounding (see the module docstring)."""
    for method, value in got.items():
        other = expected[method]
        if method == "predict":  # labels may only swap where two components tie
            clear = top_two_gap(name, model, rows) > 1e-6
            np.testing.assert_array_equal(value[clear], other[clear], err_msg=method)
            continue
        finite = np.isfinite(value)
        np.testing.assert_array_equal(finite, np.isfinite(other), err_msg=method)
        np.testing.assert_array_equal(value[~finite], other[~finite], err_msg=method)
        size = np.maximum(np.abs(np.where(finite, value, 0.0)), 1.0)
        if value.ndim == 2:
            size = size.max(axis=1, keepdims=True)
        distance = row_size(name, model, rows).reshape(size.shape[:1] + (1,) * (value.ndim - 1))
        size = np.maximum(size, distance)
        allowed = 64 * EPS[dtype] * np.broadcast_to(size, value.shape)
        error = np.abs(value[finite] - other[finite])
        assert np.all(error <= allowed[finite]), (method, value, other)


def row_size(name, model, rows):
    """Largest squared distance of each row from the centre, in the tightest metric.

    (The size of the largest term of the row's expanded quadratic form.)
    """
    if name == "outliers":
        return row_size("mixture", model.normal_model_, (rows - model.center_) / model.scale_)
    if name == "classifier":
        return np.max([row_size("mixture", m, rows) for m in model.estimators_], axis=0)
    if name == "regressor":
        return row_size("mixture", model.gmm_.marginal([0, 1]), rows[:, :2])
    params = model._get_params_object()
    cov_type = get_covariance_type(model.covariance_type)
    d = np.nan_to_num(np.asarray(rows, np.float64) - model_center(params))
    with np.errstate(over="ignore"):
        return np.einsum("nd,nd->n", d, d) * cov_type.max_precision(params.precisions_cholesky)


def top_two_gap(name, model, rows):
    """Gap between each row's two largest probabilities (labels may swap within it)."""
    if name in ("regressor", "outliers"):
        return np.ones(len(rows))
    proba = np.sort(model.predict_proba(rows), axis=1)
    return proba[:, -1] - proba[:, -2] if proba.shape[1] > 1 else np.ones(len(rows))


def assert_matches_reference(name, model, got, rows, dtype):
    """Outputs equal the scipy computation (tolerances in the module docstring)."""
    expected, slack = reference(name, model, rows)
    rtol, atol = (1e-9, 0.0) if dtype == np.float64 else (1e-5, 4e-4)
    for method, want in expected.items():
        value = got[method]
        assert not np.isnan(value).any(), (method, value)
        defined = ~np.isnan(want)  # NaN: scipy has no answer beyond float64 (-inf - -inf)
        if method == "predict_proba":
            defined = defined.all(axis=1)
            allowed = (1e-9 + rtol + atol + slack[method])[defined]
            error = np.abs(value[defined] - want[defined])
            assert np.all(error <= allowed), (method, value, want)
            continue
        allowed = np.broadcast_to(slack[method], want.shape)[defined]
        value, want = value[defined], want[defined]
        np.testing.assert_array_equal(np.isfinite(value), np.isfinite(want), err_msg=method)
        finite = np.isfinite(want)
        np.testing.assert_array_equal(value[~finite], want[~finite], err_msg=method)
        error = np.abs(value[finite] - want[finite])
        allowed = allowed[finite] + rtol * np.maximum(np.abs(want[finite]), 1.0) + atol
        assert np.all(error <= allowed), (method, value, want)


# ------------------------------------------------------------ strategies


def near_rows(dtype, missing):
    """1-6 rows near the data: a data row plus a perturbation (NaN entries if missing)."""
    row = st.tuples(
        st.integers(0, len(X) - 1),
        st.lists(st.floats(-4, 4), min_size=3, max_size=3),
        st.lists(st.booleans(), min_size=3, max_size=3) if missing else st.just([False] * 3),
    )

    def build(drawn):
        rows = np.array([X[i] + np.array(offset) for i, offset, _ in drawn])
        for r, (_, _, hide) in enumerate(drawn):
            if missing and not all(hide):
                rows[r, np.array(hide)] = np.nan
        return rows.astype(dtype)

    return st.lists(row, min_size=1, max_size=6).map(build)


def distances(dtype):
    """Powers of ten a row's offset from the data is stretched by."""
    return st.sampled_from([0, 3, 6, 8, 12, 30] + ([100, 200, 300] if dtype == "float64" else []))


CASES = [
    pytest.param(name, cov, dtype, id=f"{name}-{cov}-{dtype}")
    for name in ESTIMATORS for cov in COVARIANCE_TYPES for dtype in DTYPES
]


@pytest.mark.parametrize(("name", "covariance_type", "dtype"), CASES)
@PROPERTY
@given(data=st.data())
def test_a_row_scores_the_same_alone_in_any_batch_and_beside_far_rows(
    name, covariance_type, dtype, data
):
    model = fitted(name, covariance_type, dtype)
    rows = data.draw(near_rows(dtype, name == "missing"), label="rows")
    # float32 work also takes float64 X (and rows at 1e300 in it)
    kind = np.float64 if data.draw(st.booleans(), label="float64 X") else np.dtype(dtype).type
    rows = np.vstack([rows.astype(kind), FAR[kind]])
    order = data.draw(st.permutations(range(len(rows))), label="batch order")
    together = outputs(name, model, rows)
    shuffled = outputs(name, model, rows[order])
    inverse = np.argsort(order)
    kind = np.dtype(dtype).type  # the working precision sets the tolerance
    assert_same(name, model, {k: v[inverse] for k, v in shuffled.items()}, together, rows, kind)
    split = data.draw(st.integers(1, len(rows) - 1), label="batch split")
    parts = [outputs(name, model, rows[:split]), outputs(name, model, rows[split:])]
    assert_same(
        name, model, {k: np.concatenate([p[k] for p in parts]) for k in together}, together,
        rows, kind,
    )
    for i in data.draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, max_size=3)):
        alone = outputs(name, model, rows[i : i + 1])
        assert_same(name, model, alone, {k: v[i : i + 1] for k, v in together.items()},
                    rows[i : i + 1], kind)


@pytest.mark.parametrize(("name", "covariance_type", "dtype"), CASES)
@PROPERTY
@given(data=st.data())
def test_each_row_equals_the_direct_scipy_computation_at_any_distance(
    name, covariance_type, dtype, data
):
    model = fitted(name, covariance_type, dtype)
    rows = data.draw(near_rows(dtype, name == "missing"), label="rows").astype(np.float64)
    stretch = data.draw(distances(dtype), label="log10 distance")
    center = np.nanmean(X, axis=0)
    rows = (center + (rows - center) * 10.0**stretch).astype(dtype)
    if not np.all(np.isfinite(rows[~np.isnan(rows)])):
        return  # beyond float32
    assert_matches_reference(name, model, outputs(name, model, rows), rows,
                             np.dtype(dtype).type)


# ------------------------------------------------------------ plain cases


def two_blobs():
    """The issue's data: two blobs at -3 and +3, 500 rows, 2-D."""
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(-3, 1, (250, 2)), rng.normal(3, 1, (250, 2))])


def test_the_issue_15_repro_a_row_at_1e12_changes_nothing_else():
    from sklearn.mixture import GaussianMixture as SklearnMixture

    X = two_blobs()
    model = GaussianMixture(2, random_state=0).fit(X)
    rows = X[[0, 1, 250, 251]]
    alone = model.score_samples(rows)
    beside = model.score_samples(np.vstack([rows, [[1e12, 1e12]]]))
    # was [8.4e6, 0.69, 0.69, 8.4e6, -9.7e23] beside the far row, predict all 0
    np.testing.assert_allclose(beside[:4], alone, rtol=1e-13)
    np.testing.assert_array_equal(
        model.predict(np.vstack([rows, [[1e12, 1e12]]]))[:4], model.predict(rows)
    )
    reference = SklearnMixture(2, random_state=0).fit(X)
    reference.weights_, reference.means_ = model.weights_, model.means_
    reference.precisions_cholesky_ = model.precisions_cholesky_
    np.testing.assert_allclose(alone, reference.score_samples(rows), rtol=1e-12)
    np.testing.assert_allclose(beside[4], reference.score_samples([[1e12, 1e12]])[0], rtol=1e-12)


def one_dimensional(covariance_type, variances):
    """A 1-D mixture with components at -3 and +3 and the given variances, equal weights."""
    model = GaussianMixture(2, covariance_type=covariance_type)
    model.weights_ = np.array([0.5, 0.5])
    model.means_ = np.array([[-3.0], [3.0]])
    variances = np.asarray(variances, dtype=np.float64)
    model.covariances_ = {
        "full": variances[:, None, None], "tied": variances[:1, None],
        "diag": variances[:, None], "spherical": variances,
    }[covariance_type]
    cov_type = get_covariance_type(covariance_type)
    model.precisions_cholesky_ = cov_type.precision_cholesky(model.covariances_)
    model.precisions_ = cov_type.precisions(model.precisions_cholesky_)
    model.n_features_in_ = 1
    return model


@pytest.mark.parametrize("x", [1e20, 1e160, 1e300])
def test_rows_beyond_float64_still_get_the_right_component(x):
    """The log densities are -inf there; the responsibilities are their limit."""
    tied = one_dimensional("tied", [1.0])  # equal widths: the linear term decides
    rows = np.array([[x], [-x]])
    np.testing.assert_array_equal(tied.predict(rows), [1, 0])
    # (responsibilities are floored at exp(-650) ~ 5e-283, as for every row)
    np.testing.assert_allclose(tied.predict_proba(rows), [[0.0, 1.0], [1.0, 0.0]], atol=1e-280)
    for covariance_type in ("full", "diag", "spherical"):  # the wider one wins both ways
        wide = one_dimensional(covariance_type, [4.0, 1.0])
        np.testing.assert_array_equal(wide.predict(rows), [0, 0])
        np.testing.assert_allclose(wide.predict_proba(rows)[:, 0], [1.0, 1.0], rtol=1e-15)
    scores = tied.score_samples(rows)
    assert np.all(scores < -1e39) and (np.all(np.isneginf(scores)) or x < 1e154)


def test_the_classifier_compares_classes_beyond_float64():
    X = two_blobs()
    y = np.repeat([0, 1], 250)
    X[y == 1] = 3 + 3 * (X[y == 1] - 3)  # class 1 three times as wide
    model = GMMClassifier(n_components=1, random_state=0).fit(X, y)
    rows = np.array([[1e300, 1e300], [-1e300, 1e300], [1e12, -1e12]])
    np.testing.assert_array_equal(model.predict(rows), [1, 1, 1])
    np.testing.assert_array_equal(model.predict_proba(rows), [[0.0, 1.0]] * 3)


def test_marginal_and_conditional_models_score_each_row_on_its_own():
    model = fitted("mixture", "full", "float64")
    rows = X[:5, :2]
    far = np.vstack([rows, [[1e12, 1e12], [1e300, -1e300]]])
    for derived in (model.marginal([0, 1]), model.condition([2], [X[0, 2]])):
        np.testing.assert_allclose(derived.score_samples(far)[:5], derived.score_samples(rows),
                                   rtol=1e-13)
        np.testing.assert_array_equal(derived.predict(far)[:5], derived.predict(rows))


def test_selection_criteria_of_rows_do_not_depend_on_a_far_row():
    model = fitted("mixture", "diag", "float64")
    far = np.vstack([X[:5], [[1e300, 1e300, 1e300]]])
    np.testing.assert_allclose(model._entropies(far)[:5], model._entropies(X[:5]), atol=1e-13)


def test_cli_score_predict_and_outliers_score_do_not_depend_on_far_rows(tmp_path):
    from click.testing import CliRunner

    from gmmkit.cli import build_cli
    from gmmkit.plugins import make_plugin_manager

    cli, runner = build_cli(make_plugin_manager()), CliRunner()
    data = two_blobs()
    near = data[[0, 1, 250, 251]]
    far = np.vstack([near, [[1e12, 1e12], [1e300, -1e300]]])
    for name, rows in [("train", data), ("near", near), ("far", far)]:
        np.savetxt(tmp_path / f"{name}.csv", rows, delimiter=",", header="a,b", comments="")

    def run(*words):
        result = runner.invoke(cli, [str(tmp_path / w) if w.endswith((".csv", ".gmm")) else w
                                     for w in words])
        assert result.exit_code == 0, result.output
        assert "Warning" not in result.output
        return result.stdout.splitlines()

    run("fit", "train.csv", "-k", "2", "-o", "m.gmm", "-q")
    run("outliers", "fit", "train.csv", "-o", "o.gmm", "-q")
    for command in (["score", "m.gmm"], ["predict", "m.gmm"], ["predict", "--proba", "m.gmm"],
                    ["outliers", "score", "o.gmm"]):
        near, far = run(*command, "near.csv"), run(*command, "far.csv")
        assert far[: len(near)] == near and len(far) == len(near) + 2
    summary = json.loads(run("score", "--json", "m.gmm", "far.csv")[0])
    assert summary["log_likelihood"][:4] == json.loads(
        run("score", "--json", "m.gmm", "near.csv")[0])["log_likelihood"]
    assert summary["log_likelihood"][5] is None and summary["mean"] is None  # -inf: at 1e300
