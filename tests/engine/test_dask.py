"""Dask arrays (gmmkit.dask_data): the same fit as in memory, on a real LocalCluster.

One LocalCluster (2 worker processes, 1 thread each) serves the module;
the threaded-scheduler tests set ``scheduler="threads"`` explicitly.
"""

import pytest

pytest.importorskip("dask", reason="the Dask extra: pip install 'gmmkit[distributed]'")
pytest.importorskip("distributed", reason="the Dask extra: pip install 'gmmkit[distributed]'")

import os
import pickle
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster
from helpers import COVARIANCE_TYPES, initial_precisions, make_mixture

from gmmkit import GaussianMixture
from gmmkit.data import dask_arrays as dask_module
from gmmkit.data.dask_arrays import DaskComputationError, DaskData, DaskSource, from_npy
from gmmkit.data.dask_checks import NAN_FIX
from gmmkit.data.settings import DataSettings
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import Stats

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::gmmkit.exceptions.ConvergenceWarning"),  # tol=0 fits
]


@pytest.fixture(scope="module")
def client():
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture
def threads():
    with dask.config.set(scheduler="threads"):
        yield


def start(covariance_type, truth, n_components=3, **kwargs):
    """Settings of a fit from fixed initial parameters (no initialiser runs)."""
    n_features = truth["means"].shape[1]
    settings = dict(
        covariance_type=covariance_type,
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=truth["means"] + 0.3,
        precisions_init=initial_precisions(covariance_type, n_components, n_features, 0.5),
        tol=1e-10,
        max_iter=200,
        chunk_size=256,
    )
    return {**settings, **kwargs}


def assert_same_fit(model, expected, rtol=1e-9):
    assert model.n_iter_ == expected.n_iter_
    assert model.lower_bound_ == pytest.approx(expected.lower_bound_, rel=rtol)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(model, name), getattr(expected, name), rtol=rtol,
                                   atol=rtol, err_msg=name)


def slow_copy(block, delay):
    """A block that takes ``delay`` seconds to make (a mid-fit window for a kill)."""
    time.sleep(delay)
    return block.copy()


async def exit_worker():
    """Kill the worker process at once (run on it with client.run; its nanny restarts it)."""
    os._exit(1)


def kill_during_iteration(client, victim, iteration, fitting, started):
    """Kill worker ``victim`` while the blocks of EM iteration ``iteration`` are made.

    ``started``: the e_step_starts fixture's list, filled as the fit goes.
    """
    while len(started) < iteration and not fitting.done():
        time.sleep(0.01)
    time.sleep(0.15)  # its slow blocks are being made
    assert not fitting.done()
    client.run(exit_worker, workers=[victim], wait=False)


@pytest.fixture
def e_step_starts(monkeypatch):
    """The start times of DaskData.e_step calls, as they happen (a list)."""
    starts = []
    real_e_step = DaskData.e_step

    def counting(self, *args):
        starts.append(time.monotonic())
        return real_e_step(self, *args)

    monkeypatch.setattr(DaskData, "e_step", counting)
    return starts


def fail_if_flagged(block, flag):
    """The block, or an error once the file ``flag`` exists."""
    if os.path.exists(flag):
        raise OSError(f"lost the disk holding {flag}")
    return block


# ------------------------------------------------------------ the same fit


@pytest.mark.parametrize("scheduler", ["cluster", "threads"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_equals_the_in_memory_fit(request, scheduler, covariance_type):
    request.getfixturevalue("client" if scheduler == "cluster" else "threads")
    X, _, truth = make_mixture(3000, 3, 3, seed=1, offset=100.0)
    kwargs = start(covariance_type, truth)
    expected = GaussianMixture(3, **kwargs).fit(X)
    # uneven row blocks, and two column blocks that prepare() joins
    Xd = da.from_array(X, chunks=((700, 900, 1, 1399), (2, 1)))
    model = GaussianMixture(3, **kwargs).fit(Xd)
    assert expected.converged_ and model.converged_
    assert_same_fit(model, expected)


def test_initialisers_see_the_rows_in_memory_fits_see(client):
    """Data of at most KMEANS_MAX_ROWS rows: the same start, so the same fit, from a seed."""
    X, _, _ = make_mixture(2000, 2, 3, seed=2)
    for init in ("kmeans", "random"):
        expected = GaussianMixture(3, init_params=init, random_state=7).fit(X)
        model = GaussianMixture(3, init_params=init, random_state=7).fit(
            da.from_array(X, chunks=300))
        assert_same_fit(model, expected)


def test_sample_weight_as_a_dask_array_with_a_noise_component(client):
    X, _, truth = make_mixture(3000, 2, 3, seed=3)
    rng = np.random.default_rng(0)
    X = np.vstack([X, rng.uniform(-20, 20, size=(150, 2))])  # outliers
    weights = rng.uniform(0, 3, size=len(X))
    weights[::10] = 0.0
    kwargs = start("full", truth, noise="uniform")
    expected = GaussianMixture(3, **kwargs).fit(X, sample_weight=weights)
    Xd = da.from_array(X, chunks=500)
    for given in (da.from_array(weights, chunks=777), weights):  # rechunked / in memory
        model = GaussianMixture(3, **kwargs).fit(Xd, sample_weight=given)
        assert_same_fit(model, expected)
        np.testing.assert_array_equal(model.noise_bounds_, expected.noise_bounds_)
        assert model.noise_weight_ == pytest.approx(expected.noise_weight_, rel=1e-9)


def test_initial_sample_of_large_data_is_bounded_and_weighted(threads, monkeypatch):
    monkeypatch.setattr(dask_module, "KMEANS_MAX_ROWS", 400)
    X = np.arange(6000.0).reshape(3000, 2)
    weights = np.where(np.arange(3000) % 3 == 0, 0.0, 1.0)
    weights[:100] = 1000.0  # heavy rows are almost surely drawn
    settings = DataSettings(n_components=2, covariance_type="full")
    data, _, _ = DaskSource(da.from_array(X, chunks=700)).prepare(
        settings, da.from_array(weights, chunks=700))
    sample = data.init_data(np.random.default_rng(0))
    rows = (sample.X[:, 0] / 2).astype(int)
    assert sample.X.shape == (400, 2) and sample.sample_weight is None
    assert len(set(rows)) == 400 and np.all(weights[rows] > 0)
    assert np.count_nonzero(rows < 100) > 55  # 66 of the first 100 rows have weight 1000
    again = data.init_data(np.random.default_rng(0))
    np.testing.assert_array_equal(again.X, sample.X)
    # with at most that many rows of positive weight: all of them, with their weights
    few = np.zeros(3000)
    few[::10] = np.arange(300) + 1.0
    data, _, _ = DaskSource(da.from_array(X, chunks=700)).prepare(settings, few)
    sample = data.init_data(np.random.default_rng(0))
    np.testing.assert_array_equal(sample.X, X[::10])
    np.testing.assert_array_equal(sample.sample_weight, few[::10])


# ------------------------------------------------------------ what crosses the network


def test_each_iteration_is_one_map_and_one_tree_reduction_of_stats(client, monkeypatch):
    X, _, truth = make_mixture(6400, 4, 3, seed=4)
    Xd = client.persist(da.from_array(X, chunks=200))  # 32 blocks, kept on the workers
    n_blocks = Xd.numblocks[0]
    model = GaussianMixture(3, **start("full", truth))
    data, _, _ = DaskSource(Xd).prepare(DataSettings(3, "full"), None)
    params = GaussianMixture(3, **start("full", truth)).fit(X)._get_params_object()
    graph = dict(data.e_step_graph(get_covariance_type("full"), params).__dask_graph__())
    blocks = {key for row in Xd.__dask_keys__() for key in row}
    new_tasks = len(set(graph) - blocks)  # the persisted blocks are not work
    assert new_tasks == n_blocks + (4 + 1) + 1  # E-steps, tree of sums (8 at a time), params
    holders = [v for v in graph.values() if params.precisions_cholesky.tobytes() in pickle.dumps(v)]
    assert len(holders) == 1  # the parameters enter the graph once

    computed = []
    real_compute = dask_module.compute

    def recording(*values, what):
        results = real_compute(*values, what=what)
        computed.append((what, results))
        return results

    monkeypatch.setattr(dask_module, "compute", recording)
    model.fit(Xd)
    whats = [what for what, _ in computed]  # inits given: no rows read
    assert whats == ["the data's centre"] + ["an EM iteration"] * model.n_iter_
    iterations = [results for what, results in computed if what == "an EM iteration"]
    assert all(len(r) == 1 and isinstance(r[0], Stats) for r in iterations)
    assert max(len(pickle.dumps(r)) for _, r in computed) < X[:200].nbytes  # never a block
    # an initialiser reads at most KMEANS_MAX_ROWS rows, once
    monkeypatch.setattr(dask_module, "KMEANS_MAX_ROWS", 1000)
    computed.clear()
    GaussianMixture(3, random_state=0).fit(Xd)
    rows = [r for what, r in computed if what == "the rows of the initialisation"]
    assert len(rows) == 1 and rows[0][0].shape == (1000, 4)
    # full covariance: K x (D + D(D+1)/2) sums (+ nk) per reduction
    assert iterations[0][0].sxx.shape == (3, 10) and iterations[0][0].sx.shape == (3, 4)


# ------------------------------------------------------------ failures


def test_a_worker_killed_mid_fit_is_recomputed(client, e_step_starts):
    X, _, truth = make_mixture(4000, 3, 3, seed=5)
    kwargs = start("full", truth, tol=0.0, max_iter=5)
    expected = GaussianMixture(3, **kwargs).fit(X)
    Xd = da.from_array(X, chunks=500).map_blocks(slow_copy, 0.1, dtype=X.dtype)
    victim = sorted(client.scheduler_info()["workers"])[0]
    model = GaussianMixture(3, **kwargs)
    with ThreadPoolExecutor(1) as pool:
        fitting = pool.submit(model.fit, Xd)
        kill_during_iteration(client, victim, 2, fitting, e_step_starts)
        fitting.result(timeout=120)
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.scheduler_info()["workers"]  # it did die mid-fit
    assert_same_fit(model, expected, rtol=1e-12)


def test_a_failed_computation_raises_and_keeps_the_previous_model(client, tmp_path, monkeypatch):
    X, _, truth = make_mixture(2000, 2, 3, seed=6)
    kwargs = start("diag", truth, tol=0.0, max_iter=4)
    flag = str(tmp_path / "broken")
    Xd = da.from_array(X, chunks=250).map_blocks(fail_if_flagged, flag, dtype=X.dtype)
    model = GaussianMixture(3, **kwargs).fit(Xd)
    before = dict(vars(model))
    real_e_step = DaskData.e_step

    def breaking(self, *args):
        open(flag, "w").close()  # the disk goes in the middle of the fit
        return real_e_step(self, *args)

    monkeypatch.setattr(DaskData, "e_step", breaking)
    with pytest.raises(DaskComputationError, match="keeps its previous attributes") as raised:
        model.fit(Xd)
    assert "Dask computation of an EM iteration failed (OSError: lost the disk" in str(
        raised.value)
    assert isinstance(raised.value.__cause__, OSError)
    after = dict(vars(model))
    assert after.keys() == before.keys() and all(after[k] is before[k] for k in before)


def test_killed_workers_beyond_allowed_failures_raise_a_clear_error(client, e_step_starts):
    """With no failures allowed, a worker lost mid-fit ends the fit with an error."""
    X, _, truth = make_mixture(4000, 3, 3, seed=7)
    kwargs = start("full", truth, tol=0.0, max_iter=6)
    model = GaussianMixture(3, **kwargs).fit(X)
    before = model.means_
    Xd = da.from_array(X, chunks=500).map_blocks(slow_copy, 0.3, dtype=X.dtype)
    scheduler = client.cluster.scheduler
    allowed, scheduler.allowed_failures = scheduler.allowed_failures, 0
    try:
        with ThreadPoolExecutor(1) as pool:
            fitting = pool.submit(model.fit, Xd)
            victim = sorted(client.scheduler_info()["workers"])[0]
            kill_during_iteration(client, victim, 1, fitting, e_step_starts)
            with pytest.raises(DaskComputationError, match="KilledWorker"):
                fitting.result(timeout=120)
    finally:
        scheduler.allowed_failures = allowed
        client.wait_for_workers(2, timeout=60)
    assert model.means_ is before


# ------------------------------------------------------------ input checks


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_infinity_are_refused_like_in_memory(threads, bad):
    X, _, _ = make_mixture(1000, 2, 2, seed=8)
    X[[123, 700, 701]] = bad
    with pytest.raises(ValueError) as in_memory:
        GaussianMixture(2).fit(X)
    with pytest.raises(ValueError) as distributed:
        GaussianMixture(2).fit(da.from_array(X, chunks=100))
    expected = str(in_memory.value)
    if bad != bad:  # NaN: missing="em" is not offered for Dask arrays
        expected = expected.replace(
            "pass missing='em' to treat NaN as missing values, or drop those rows",
            NAN_FIX)
    assert str(distributed.value) == expected
    assert "3 rows (first: row 123)" in expected


@pytest.mark.parametrize(
    "weights",
    [
        lambda n: np.where(np.arange(n) == 5, np.nan, 1.0),
        lambda n: np.where(np.arange(n) < 3, -1.0, 1.0),
        lambda n: np.zeros(n),
        lambda n: np.where(np.arange(n) < 1, 1.0, 0.0),  # fewer rows than components
        lambda n: np.ones(n + 1),
        lambda n: np.ones((n, 1)),
    ],
)
def test_bad_dask_weights_are_refused_like_in_memory(threads, weights):
    X, _, _ = make_mixture(500, 2, 2, seed=9)
    w = weights(len(X))
    with pytest.raises(ValueError) as in_memory:
        GaussianMixture(2).fit(X, sample_weight=w)
    with pytest.raises(ValueError) as distributed:
        GaussianMixture(2).fit(da.from_array(X, chunks=100), sample_weight=da.from_array(w))
    assert str(distributed.value) == str(in_memory.value)


def test_other_bad_input_gets_a_message_with_the_fix(threads):
    X = da.ones((100, 2), chunks=50)
    cases = [
        (GaussianMixture(2), da.ones(100, chunks=50), "Expected a 2-D Dask array"),
        (GaussianMixture(2), X.astype(complex), "convert it with X.astype('float64')"),
        (GaussianMixture(2), X[X[:, 0] > 0], "call X.compute_chunk_sizes()"),
        (GaussianMixture(2), da.ones((0, 2)), "X is empty"),
        (GaussianMixture(2, missing="em"), X, "missing='em' does not take Dask arrays"),
        (GaussianMixture(2, noise="uniform"), X, "noise component's bounding box has no"),
        (GaussianMixture(0), X, "n_components must be an integer >= 1"),
    ]
    for model, data, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            model.fit(data)


def test_integer_and_float32_arrays(threads):
    X, _, truth = make_mixture(2000, 2, 3, seed=10)
    for data, scale in ((np.round(X * 100).astype(np.int32), 100.0), (X.astype(np.float32), 1)):
        kwargs = start("full", {"means": truth["means"] * scale})
        expected = GaussianMixture(3, **kwargs).fit(data)
        model = GaussianMixture(3, **kwargs).fit(da.from_array(data, chunks=333))
        assert model.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-6)


# ------------------------------------------------------------ helpers, CLI, imports


def test_from_npy_reads_blocks_and_information_criteria(threads, tmp_path):
    X, _, _ = make_mixture(1000, 3, 2, seed=11)
    np.save(tmp_path / "X.npy", X)
    Xd = from_npy(tmp_path / "X.npy", block_rows=128)
    assert Xd.chunks[0][:2] == (128, 128) and Xd.shape == X.shape
    np.testing.assert_array_equal(Xd.compute(), X)
    model = GaussianMixture(2, random_state=0).fit(Xd)
    criteria = dask_module.information_criteria(model, Xd)
    assert criteria["bic"] == pytest.approx(model.bic(X), rel=1e-12)
    assert criteria["aic"] == pytest.approx(model.aic(X), rel=1e-12)
    np.save(tmp_path / "y.npy", X[:, 0])
    assert from_npy(tmp_path / "y.npy").shape == (1000, 1)


def test_cli_fit_on_the_cluster(client, tmp_path):
    X, _, _ = make_mixture(1500, 2, 2, seed=12)
    np.save(tmp_path / "X.npy", X)
    command = [sys.executable, "-c", "from gmmkit.cli import main; main()", "fit",
               str(tmp_path / "X.npy"), "-k", "2", "--json", "-q", "-o", str(tmp_path / "m.gmm"),
               "--dask-scheduler", client.scheduler.address]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    import json

    summary = json.loads(out.stdout)
    expected = GaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_allclose(summary["means"], expected.means_, rtol=1e-9)
    assert summary["n_samples"] == 1500 and summary["features"] == ["x0", "x1"]
    assert summary["bic"] == pytest.approx(expected.bic(X), rel=1e-9)
    from gmmkit import load

    np.testing.assert_allclose(load(tmp_path / "m.gmm").means_, expected.means_, rtol=1e-9)


def test_gmmkit_and_its_help_do_not_import_dask():
    code = (
        "import sys; import gmmkit; from gmmkit.cli import build_cli;"
        "from click.testing import CliRunner; CliRunner().invoke(build_cli(), ['--help']);"
        "CliRunner().invoke(build_cli(), ['fit', '--help']);"
        "import numpy as np; gmmkit.GaussianMixture(2).fit(np.random.rand(50, 2));"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
