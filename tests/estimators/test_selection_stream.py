"""select_model and n_components="auto" on files, chunk functions and Dask arrays
(gmmkit.estimators.selection_stream, gmmkit.data.shared_passes)."""

import warnings

import numpy as np
import pytest
from helpers import make_mixture

from gmmkit import ConvergenceWarning, GaussianMixture, select_model
from gmmkit.data import stream_readers

da = pytest.importorskip("dask.array", reason="the Dask extra: pip install 'gmmkit[distributed]'")
dask = pytest.importorskip("dask")

GRID = dict(n_components=range(1, 5), covariance_types=["full", "diag"], init_params="kmeans",
            random_state=0, as_frame=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X, _, _ = make_mixture(4000, 2, 3, seed=51)
    path = tmp_path_factory.mktemp("select") / "X.npy"
    np.save(path, X)
    return X, str(path)


def fit_alone(X, k, covariance_type):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(k, covariance_type=covariance_type, init_params="kmeans",
                               random_state=0).fit(X)


@pytest.mark.parametrize("kind", ["path", "memmap", "function", "dask"])
def test_every_fit_of_the_grid_is_the_fit_alone(data, kind):
    """Fewer rows than the sample size: each fit starts as alone, and ends at its result."""
    X, path = data
    source = {"path": path, "memmap": np.load(path, mmap_mode="r"),
              "function": lambda: (X[i : i + 700] for i in range(0, len(X), 700)),
              "dask": da.from_array(X, chunks=900)}[kind]
    with dask.config.set(scheduler="threads"):
        best, table = select_model(source, **GRID)
    assert [(r["n_components"], r["covariance_type"]) for r in table] == [
        (k, m) for m in ("full", "diag") for k in range(1, 5)]
    for row in table:
        alone = fit_alone(X, row["n_components"], row["covariance_type"])
        assert row["n_iter"] == alone.n_iter_
        assert row["log_likelihood"] == pytest.approx(alone.score(X) * len(X), rel=1e-9)
        assert row["bic"] == pytest.approx(alone.bic(X), rel=1e-9)
    chosen = [r for r in table if r["chosen"]]
    assert len(chosen) == 1 and (chosen[0]["n_components"], chosen[0]["covariance_type"]) == (
        best.n_components, best.covariance_type) == (3, "full")
    assert best.bic(X) == pytest.approx(chosen[0]["bic"], rel=1e-9)


def test_one_pass_feeds_every_fit(data, monkeypatch):
    X, path = data
    passes = []
    real_blocks = stream_readers.NpyFile.blocks

    def counting(self, rows):
        passes.append(rows)
        return real_blocks(self, rows)

    monkeypatch.setattr(stream_readers.NpyFile, "blocks", counting)
    _, table = select_model(path, **GRID)
    iterations = [row["n_iter"] for row in table]
    # the check pass, the sample, one pass per iteration of the longest fit, the scoring pass
    assert len(passes) == 2 + max(iterations) + 1
    assert sum(iterations) > 2 * max(iterations)  # alone they would read this many times


def test_auto_on_a_file_a_memmap_and_dask(data):
    X, path = data
    in_memory = GaussianMixture("auto", random_state=0).fit(X)
    for source in (path, np.load(path, mmap_mode="r"), da.from_array(X, chunks=1000)):
        with dask.config.set(scheduler="threads"):
            model = GaussianMixture("auto", random_state=0).fit(source)
        assert model.n_components_ == in_memory.n_components_ == 3
        assert [row["n_components"] for row in model.selection_] == list(range(1, 11))
        assert model.score(X) == pytest.approx(in_memory.score(X), rel=1e-4)


def test_streamed_selection_refuses_icl_and_init_arrays(data):
    _, path = data
    with pytest.raises(ValueError, match="criterion='icl' needs the data in memory"):
        select_model(path, range(1, 3), "full", criterion="icl")
    with pytest.raises(ValueError, match="select_model cannot take means_init"):
        select_model(path, range(1, 3), "full", means_init=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="n_components must hold integers >= 1; got 0"):
        select_model(path, [0, 1], "full")
