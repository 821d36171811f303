"""predict and score on Dask arrays, on a real 2-worker LocalCluster (gmmkit.estimators.rowwise).

The module's cluster runs its workers as threads (processes=False: quick to
start); the killed-worker test starts its own cluster of processes.
"""

import pytest

pytest.importorskip("dask", reason="the Dask extra: pip install 'gmmkit[distributed]'")
pytest.importorskip("distributed", reason="the Dask extra: pip install 'gmmkit[distributed]'")

import os
import pickle
import time
from concurrent.futures import ThreadPoolExecutor

import dask.array as da
import numpy as np
from click.testing import CliRunner
from distributed import Client, LocalCluster
from helpers import make_mixture

from gmmkit import GaussianMixture, GMMClassifier, save, select_model
from gmmkit.cli import build_cli
from gmmkit.data import dask_arrays
from gmmkit.estimators import rowwise
from gmmkit.plugins import make_plugin_manager


@pytest.fixture(scope="module")
def client():
    with LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def fitted():
    X, labels, _ = make_mixture(6000, 4, 3, seed=31)
    model = GaussianMixture(3, noise="uniform", random_state=0).fit(X)
    return X, labels, model


def test_predict_on_the_cluster_equals_in_memory(client, fitted):
    X, labels, model = fitted
    Xd = da.from_array(X, chunks=(1024, 2))  # two column chunks: rechunked to one
    lazy = model.predict(Xd)
    assert isinstance(lazy, da.Array) and lazy.chunks == (Xd.chunks[0],)
    np.testing.assert_array_equal(lazy.compute(), model.predict(X))
    proba = model.predict_proba(Xd)
    assert proba.chunks == (Xd.chunks[0], (4,))
    np.testing.assert_allclose(proba.compute(), model.predict_proba(X), rtol=1e-12, atol=0)
    w = np.random.default_rng(0).uniform(0, 2, len(X))
    for weights in (None, w, da.from_array(w, chunks=700)):
        assert model.score(Xd, sample_weight=weights) == pytest.approx(
            model.score(X, sample_weight=None if weights is None else w), rel=1e-12)
    assert model.bic(Xd) == pytest.approx(model.bic(X), rel=1e-12)
    classifier = GMMClassifier(2, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(classifier.predict(Xd).compute(), classifier.predict(X))


def test_the_model_enters_the_graph_once_and_no_block_reaches_the_client(
    client, fitted, tmp_path, monkeypatch
):
    X, _, model = fitted
    Xd = client.persist(da.from_array(X, chunks=500))  # 12 blocks, kept on the workers
    blocks = {key for row in Xd.__dask_keys__() for key in row}
    graph = dict(model.predict(Xd).__dask_graph__())
    assert len(set(graph) - blocks) == Xd.numblocks[0] + 1  # one task per block, the model
    fingerprint = model.covariances_.tobytes(order="A")  # (the bytes pickle stores)
    holders = [v for v in graph.values() if fingerprint in pickle.dumps(v)]
    assert len(holders) == 1

    computed = []
    real_compute = rowwise.compute

    def recording(*values, what):
        results = real_compute(*values, what=what)
        computed.append(results)
        return results

    monkeypatch.setattr(rowwise, "compute", recording)
    model.score(Xd)
    model.predict(Xd, out=tmp_path / "labels.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), model.predict(X))
    assert len(computed) == 1 + 2  # the sum; the labels 8 blocks at a time
    assert computed[0][0] == pytest.approx(model.score(X) * len(X), rel=1e-12)
    sizes = [len(pickle.dumps(value)) for results in computed for value in results]
    assert max(sizes) < X[:500].nbytes / 3  # a block's labels, never its rows


def test_cli_predict_and_score_on_the_cluster(client, fitted, tmp_path):
    X, _, model = fitted
    np.save(tmp_path / "rows.npy", X)
    save(model, tmp_path / "m.gmm")
    cli = build_cli(make_plugin_manager())
    address = client.scheduler.address
    model_path, data = str(tmp_path / "m.gmm"), str(tmp_path / "rows.npy")
    result = CliRunner().invoke(cli, ["predict", model_path, data, "-o",
                                      str(tmp_path / "labels.npy"), "--dask-scheduler", address])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), model.predict(X))
    assert result.stderr == ""  # a log (not a terminal) gets no line in under 5 s
    result = CliRunner().invoke(cli, ["score", model_path, data, "--json", "-q",
                                      "--dask-scheduler", address])
    assert result.exit_code == 0, result.output
    assert float(result.stdout.split('"mean": ')[1].rstrip("}\n")) == pytest.approx(
        model.score(X), rel=1e-12)


def test_select_model_runs_the_grids_fits_together_on_the_cluster(client, fitted, monkeypatch):
    X, _, _ = fitted
    Xd = client.persist(da.from_array(X, chunks=1000))
    whats = []
    real_compute = dask_arrays.compute

    def recording(*values, what):
        whats.append(what)
        return real_compute(*values, what=what)

    monkeypatch.setattr(dask_arrays, "compute", recording)
    best, table = select_model(Xd, range(1, 5), "full", init_params="kmeans", random_state=0,
                               as_frame=False)
    in_memory = GaussianMixture(best.n_components, init_params="kmeans", random_state=0).fit(X)
    assert best.bic(X) == pytest.approx(in_memory.bic(X), rel=1e-9)
    # one computation per EM iteration for the four fits, one to score them all
    assert whats.count("an EM iteration of the grid") == max(r["n_iter"] for r in table) + 1


def slow_copy(block, delay):
    time.sleep(delay)
    return block.copy()


async def exit_worker():
    os._exit(1)


@pytest.mark.slow
def test_a_worker_killed_during_predict_is_recomputed(fitted):
    X, _, model = fitted
    expected = model.predict(X)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        Xd = da.from_array(X, chunks=250).map_blocks(slow_copy, 0.1, dtype=X.dtype)
        victim = sorted(client.scheduler_info()["workers"])[0]
        with ThreadPoolExecutor(1) as pool:
            predicting = pool.submit(lambda: model.predict(Xd).compute())
            time.sleep(0.8)  # a few blocks are done on each worker
            assert not predicting.done()
            client.run(exit_worker, workers=[victim], wait=False)
            labels = predicting.result(timeout=120)
        client.wait_for_workers(2, timeout=60)
        assert victim not in client.scheduler_info()["workers"]  # it did die
    np.testing.assert_array_equal(labels, expected)
