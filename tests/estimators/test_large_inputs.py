"""Fitted models on data that is not one array: .npy paths, file memmaps, chunk functions,
iterators and Dask arrays (gmmkit.estimators.rowwise, gmmkit.data.row_blocks).

Every result is compared with the in-memory method on the same rows: exactly for
per-row results, to 1e-12 for sums. Dask arrays here run on the threaded
scheduler; tests/engine/test_dask_predict.py runs them on a LocalCluster.
"""

import warnings

import numpy as np
import pytest
from helpers import make_mixture
from hypothesis import given, settings
from hypothesis import strategies as st

import gmmkit
from gmmkit import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureRegressor,
    GMMClassifier,
    impute,
    map_rows,
)
from gmmkit.data import row_blocks
from gmmkit.estimators import rowwise

da = pytest.importorskip("dask.array", reason="the Dask extra: pip install 'gmmkit[distributed]'")
dask = pytest.importorskip("dask")

KINDS = ("path", "memmap", "function", "iterator", "dask")


@pytest.fixture(scope="module")
def data():
    X, labels, _ = make_mixture(n_samples=2500, n_features=3, n_components=3, seed=11)
    return X, labels


@pytest.fixture(scope="module")
def fitted(data):
    X, labels = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "gmm": GaussianMixture(3, random_state=0).fit(X),
            "noise": GaussianMixture(3, noise="uniform", random_state=0).fit(X),
            "bayes": BayesianGaussianMixture(n_components=4, random_state=0).fit(X),
            "clf": GMMClassifier(2, random_state=0).fit(X, labels),
        }


@pytest.fixture(autouse=True)
def small_reads(monkeypatch):
    """Files are read 400 rows at a time, so that every input spans several blocks."""
    monkeypatch.setattr(row_blocks, "MAP_ROWS", 400)
    with dask.config.set(scheduler="threads"):
        yield


def as_kind(X, kind, tmp_path):
    """The rows of X as an input of ``kind``."""
    if kind in ("path", "memmap"):
        path = tmp_path / "X.npy"
        np.save(path, X)
        return str(path) if kind == "path" else np.load(path, mmap_mode="r")
    if kind == "function":
        return lambda: (X[i : i + 333] for i in range(0, len(X), 333))
    if kind == "iterator":
        return (X[i : i + 333] for i in range(0, len(X), 333))
    return da.from_array(X, chunks=(450, 2))  # several column chunks: rechunked


def result(value):
    return value.compute() if isinstance(value, da.Array) else np.asarray(value)


def assert_same(found, expected):
    """Labels exactly; floats to 1e-12 (BLAS rounds a row at a block's edge differently)."""
    found = result(found)
    assert found.shape == expected.shape and found.dtype == expected.dtype
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(found, expected, rtol=1e-12, atol=0)
    else:
        np.testing.assert_array_equal(found, expected)


# ------------------------------------------------------------ every method, every input kind


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model, method", [
    ("gmm", "predict"), ("gmm", "predict_proba"), ("gmm", "score_samples"),
    ("gmm", "uncertainty"), ("gmm", "component_log_densities"),
    ("noise", "predict"), ("noise", "predict_proba"),
    ("bayes", "predict"), ("bayes", "predict_proba"), ("bayes", "score_samples"),
    ("clf", "predict"), ("clf", "predict_proba"), ("clf", "predict_log_proba"),
])
def test_row_results_equal_the_in_memory_results(data, fitted, tmp_path, kind, model, method):
    X, _ = data
    estimator = fitted[model]
    expected = getattr(estimator, method)(X)
    found = getattr(estimator, method)(as_kind(X, kind, tmp_path))
    assert isinstance(found, da.Array) == (kind == "dask")
    assert_same(found, expected)


@pytest.mark.parametrize("kind", KINDS)
def test_reductions_equal_the_in_memory_ones(data, fitted, tmp_path, kind):
    X, _ = data
    weights = np.random.default_rng(0).uniform(0, 2, len(X))
    model = fitted["noise"]
    for method in ("score", "bic", "aic", "icl"):
        for w in (None, weights):
            if method == "icl" and kind == "iterator":
                with pytest.raises(TypeError, match="icl reads X twice"):
                    model.icl(as_kind(X, kind, tmp_path))
                continue
            source = as_kind(X, kind, tmp_path)
            expected = getattr(model, method)(X, sample_weight=w)
            assert getattr(model, method)(source, sample_weight=w) == pytest.approx(
                expected, rel=1e-12), (method, w is None)
    assert fitted["bayes"].score(as_kind(X, kind, tmp_path)) == pytest.approx(
        fitted["bayes"].score(X), rel=1e-12)
    labels = data[1]
    assert fitted["clf"].score(as_kind(X, kind, tmp_path), labels) == fitted["clf"].score(X, labels)


def test_dask_weights_may_be_a_dask_array(data, fitted):
    X, _ = data
    w = np.random.default_rng(1).uniform(0, 2, len(X))
    found = fitted["gmm"].score(da.from_array(X, chunks=500), sample_weight=da.from_array(w, 300))
    assert found == pytest.approx(fitted["gmm"].score(X, sample_weight=w), rel=1e-12)


def test_reductions_never_hold_the_per_row_results(data, fitted, tmp_path, monkeypatch):
    X, _ = data
    seen = []
    real = GaussianMixture.score_samples

    def spying(self, rows, **kwargs):
        values = real(self, rows, **kwargs)
        seen.append(len(values))
        return values

    monkeypatch.setattr(GaussianMixture, "score_samples", spying)
    monkeypatch.setattr(rowwise, "map_rows", None)  # a reduction never collects rows
    fitted["gmm"].bic(as_kind(X, "path", tmp_path))
    assert max(seen) == 400 and sum(seen) == len(X)


def test_regressor_and_impute(data, tmp_path):
    X, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        regressor = GaussianMixtureRegressor(3, random_state=0).fit(X[:, :2], X[:, 2])
    inputs = X[:, :2]
    mean, std = regressor.predict(inputs, return_std=True)
    for kind in KINDS:
        found_mean, found_std = regressor.predict(as_kind(inputs, kind, tmp_path), return_std=True)
        assert_same(found_mean, mean)
        assert_same(found_std, std)
    assert_same(regressor.predict(as_kind(inputs, "path", tmp_path)), mean)
    assert regressor.score(as_kind(inputs, "dask", tmp_path), X[:, 2]) == pytest.approx(
        regressor.score(inputs, X[:, 2]), rel=1e-12)

    model = GaussianMixture(3, missing="em", random_state=0).fit(X)
    holes = X.copy()
    holes[np.random.default_rng(2).uniform(size=X.shape) < 0.15] = np.nan
    holes[7] = np.nan  # a row with nothing observed
    expected = impute(model, holes)
    for kind in KINDS:
        assert_same(impute(model, as_kind(holes, kind, tmp_path)), expected)
        assert_same(model.predict(as_kind(holes, kind, tmp_path)), model.predict(holes))
    with pytest.raises(ValueError, match="strategy='draw' needs X in memory"):
        impute(model, as_kind(holes, "path", tmp_path), strategy="draw")


# ------------------------------------------------------------ out=


@pytest.mark.parametrize("kind", [*KINDS, "array"])
def test_out_writes_a_npy_file_block_by_block(data, fitted, tmp_path, kind, monkeypatch):
    X, _ = data
    writes = []
    real_write = rowwise.NpyWriter.write
    monkeypatch.setattr(rowwise.NpyWriter, "write",
                        lambda self, block: writes.append(len(block)) or real_write(self, block))
    out = tmp_path / "proba.npy"
    source = X if kind == "array" else as_kind(X, kind, tmp_path)
    found = fitted["noise"].predict_proba(source, out=out)
    assert isinstance(found, np.memmap) and str(found.filename) == str(out.resolve())
    assert_same(np.load(out), fitted["noise"].predict_proba(X))
    assert sum(writes) == len(X) and max(writes) <= 450 and len(writes) >= 6
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "X.npy") == ["proba.npy"]


def test_out_refuses_an_existing_file_unless_overwrite(data, fitted, tmp_path):
    X, _ = data
    out = tmp_path / "labels.npy"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="labels.npy' already exists; pass overwrite=True"):
        fitted["gmm"].predict(X, out=out)
    assert out.read_bytes() == b"keep me"
    fitted["gmm"].predict(X, out=out, overwrite=True)
    np.testing.assert_array_equal(np.load(out), fitted["gmm"].predict(X))
    path = as_kind(X, "path", tmp_path)
    for source in (path, np.load(path, mmap_mode="r")):  # no output overwrites an input
        with pytest.raises(ValueError, match="is an input of this command; writing it would "):
            fitted["gmm"].predict(source, out=path, overwrite=True)
    np.testing.assert_array_equal(np.load(path), X)


def test_a_failed_pass_leaves_no_output(data, fitted, tmp_path, monkeypatch):
    X, _ = data
    bad = X.copy()
    bad[1234, 1] = np.nan
    path = tmp_path / "bad.npy"
    np.save(path, bad)
    with pytest.raises(ValueError) as raised:
        fitted["gmm"].predict(str(path), out=tmp_path / "labels.npy")
    assert str(raised.value) == (
        "X contains NaN in row 1234 (0-based, the first such row; reading stopped there); "
        "pass missing='em' to treat NaN as missing values, or drop those rows "
        "(e.g. X[np.isfinite(X).all(axis=1)])."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npy"]
    with pytest.raises(ValueError, match="X contains NaN in row 1234 "):
        fitted["gmm"].score(da.from_array(bad, chunks=500))
    with pytest.raises(ValueError, match="X contains infinity in row 501 "):
        bad[2001, 0] = np.inf
        fitted["gmm"].score_samples(lambda: iter([bad[1500:], bad[:1500]]))


# ------------------------------------------------------------ bad input


def test_bad_inputs_get_a_message_with_the_fix(data, fitted, tmp_path):
    X, _ = data
    model = fitted["gmm"]
    np.save(tmp_path / "wide.npy", np.hstack([X, X]))
    with pytest.raises(ValueError, match="X has 6 features, but GaussianMixture is expecting 3"):
        model.predict(str(tmp_path / "wide.npy"))
    with pytest.raises(ValueError, match="X has 6 features, but GaussianMixture is expecting 3"):
        model.score(da.from_array(np.hstack([X, X]), chunks=500))
    (tmp_path / "rows.csv").write_text("1,2,3\n")
    with pytest.raises(ValueError) as raised:
        model.predict(str(tmp_path / "rows.csv"))
    assert "is not a .npy file; gmmkit reads files of rows as .npy only: convert it once, " \
        "e.g. np.save('rows.npy', gmmkit.read_data(" in str(raised.value)
    unknown = da.from_array(X, chunks=500)
    unknown = unknown[unknown[:, 0] > -1e9]
    with pytest.raises(ValueError, match=r"unknown chunk sizes .* call X.compute_chunk_sizes\(\) "
                                         r"before predicting\."):
        model.predict(unknown)
    with pytest.raises(ValueError, match=r"before scoring\."):
        model.score(unknown)
    with pytest.raises(ValueError, match=r"out='labels.csv' must be a .npy path"):
        model.predict(X, out="labels.csv")
    with pytest.raises(ValueError, match="sample_weight has 10 entries but X has 2500"):
        model.score(as_kind(X, "function", tmp_path), sample_weight=np.ones(10))
    chunks = as_kind(X, "iterator", tmp_path)
    model.predict(chunks)
    with pytest.raises(ValueError, match="the iterator of chunks yielded no rows"):
        model.predict(chunks)
    with pytest.raises(gmmkit.NotFittedError):
        GaussianMixture(2).predict(str(tmp_path / "wide.npy"))


def test_map_rows_is_public_and_bounded(data, tmp_path):
    X, _ = data
    seen = []

    def norms(rows):
        seen.append(len(rows))
        return np.linalg.norm(rows, axis=1)

    progress = []
    found = map_rows(norms, as_kind(X, "path", tmp_path), n_features=3,
                     progress=lambda done, total: progress.append((done, total)))
    np.testing.assert_array_equal(found, np.linalg.norm(X, axis=1))
    assert max(seen) == 400 and progress[-1] == (2500, 2500) and len(progress) == 7
    assert gmmkit.is_large_input(str(tmp_path / "X.npy")) and not gmmkit.is_large_input(X)


@settings(max_examples=8, deadline=None)
@given(cuts=st.lists(st.integers(1, 2499), max_size=6, unique=True))
def test_a_rows_label_depends_only_on_that_row(cuts, data, fitted):
    """However the rows are cut into chunks, the labels and densities are the in-memory ones."""
    X, _ = data
    model = fitted["noise"]
    bounds = [0, *sorted(cuts), len(X)]
    chunks = lambda: (X[a:b] for a, b in zip(bounds[:-1], bounds[1:]))  # noqa: E731
    np.testing.assert_array_equal(model.predict(chunks), model.predict(X))
    assert_same(model.score_samples(chunks), model.score_samples(X))
