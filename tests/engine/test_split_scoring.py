"""A one-chunk float64 scoring call multiplies two column blocks at once.

(docs/engine.md, "Threads".) The blocks must give every bit the whole product gives (the cut is at a
multiple of ``SPLIT_ALIGN`` columns, so each row keeps its place in BLAS's
tiles), float32 work is never cut (it would change bits), and the helper
thread that takes the second block must survive errors, forks, nesting and
several callers at once.
"""

import functools
import os
import re
import select
import signal
import threading
import time
import warnings

import numpy as np
import pytest

import gmmkit.engine.helper_thread as helper_thread
import gmmkit.engine.scoring as scoring
import gmmkit.engine.threads as threads
from gmmkit import BayesianGaussianMixture, ConvergenceWarning, GaussianMixture

pytest.importorskip("threadpoolctl")

#: (name, estimator, K, covariance type, features)
MODELS = {
    "K=64 diag": (GaussianMixture, 64, "diag", 60, {}),
    "K=8 full": (GaussianMixture, 8, "full", 16, {}),
    "K=8 tied": (GaussianMixture, 8, "tied", 16, {}),
    "K=16 spherical": (GaussianMixture, 16, "spherical", 30, {}),
    "K=8 diag noise": (GaussianMixture, 8, "diag", 16, {"noise": "uniform"}),
    "Bayesian K=16 diag": (BayesianGaussianMixture, 16, "diag", 30, {}),
    "K=8 diag missing": (GaussianMixture, 8, "diag", 16, {"missing": "em"}),
}
SIZES = (513, 700, 1000, 1999)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """Every test starts with the helper in favour (no calls left to skip)."""
    monkeypatch.setattr(helper_thread, "_BACKOFF", {"skip": 0, "next": 1})


def data(n_features, dtype="float64", n_samples=2_000):
    rng = np.random.default_rng(n_features)
    X = rng.normal(size=(n_samples, n_features)) + rng.integers(0, 4, size=(n_samples, 1))
    return X.astype(dtype)


@functools.cache
def fitted(name, dtype="float64"):
    estimator, k, covariance_type, n_features, extra = MODELS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator(n_components=k, covariance_type=covariance_type, max_iter=3,
                         random_state=0, dtype=dtype, **extra).fit(data(n_features, dtype))


def outputs(model, X):
    """Every scoring output, as bytes (equal bytes: equal bits)."""
    results = {
        "predict": model.predict(X),
        "predict_proba": model.predict_proba(X),
        "score_samples": model.score_samples(X),
        "score": np.float64(model.score(X)),
    }
    return {name: (value.dtype, value.tobytes()) for name, value in results.items()}


@pytest.fixture
def two_threads(monkeypatch):
    """Two worker threads (BLAS held to one each), and a list of the calls that were cut.

    Every call worth cutting is cut (none skipped after calls that did not gain).
    """
    monkeypatch.setenv("GMMKIT_NUM_THREADS", "2")
    if not threads._libraries("blas"):
        pytest.skip("no BLAS library that threadpoolctl can control")
    cuts = []
    real = helper_thread.beside

    def counting(first, second):
        cuts.append(1)
        return real(first, second)

    monkeypatch.setattr(helper_thread, "beside", counting)
    monkeypatch.setattr(helper_thread, "available", lambda: True)  # no backoff: always cut
    return cuts


@pytest.mark.parametrize("name", MODELS)
def test_the_blocks_give_the_bits_of_the_whole_product(name, two_threads, monkeypatch):
    monkeypatch.setattr(scoring, "SPLIT_MIN_PRODUCTS", 1)  # every model here is cut,
    monkeypatch.setattr(scoring, "SPLIT_LEAD_PRODUCTS", 0)  # near the middle
    model = fitted(name)
    X = data(MODELS[name][3], n_samples=max(SIZES) + 20)
    X[[600, 1500]] = 1e300  # far rows in some blocks: scored the direct way in either
    if "missing" in name:
        X[::7, 3] = np.nan  # a second pattern of 1/7 of the rows
    split = {n: outputs(model, X[7 : 7 + n]) for n in SIZES}
    cuts = len(two_threads)
    assert cuts >= 4 * len(SIZES)  # every call was cut (the missing model: each pattern)
    monkeypatch.setattr(scoring, "SPLIT_MIN_PRODUCTS", 10**18)
    whole = {n: outputs(model, X[7 : 7 + n]) for n in SIZES}
    assert len(two_threads) == cuts  # none of these
    assert split == whole


def test_cut_at_a_multiple_of_the_alignment_past_the_middle(monkeypatch):
    from gmmkit.engine.covariance import EStepPlan

    plan = EStepPlan(matrix=np.zeros((64, 121)))  # K=64 diag, 60 features
    float64 = np.dtype(np.float64)
    with threads.ChunkRunner(2) as runner:
        if not threads.has_second_thread(runner):
            pytest.skip("no BLAS library that threadpoolctl can control")
        # the caller's block is longer than half by about SPLIT_LEAD_PRODUCTS / 7744 = 65
        for n, cut in ((600, 384), (1000, 576), (1999, 1088), (4000, 2048)):
            assert scoring.split_point(n, plan, float64, runner) == cut
        assert scoring.split_point(500, plan, float64, runner) is None  # 3.9 M products
        small = EStepPlan(matrix=np.zeros((8, 152)))  # K=8 full, 16 features
        assert scoring.split_point(1000, small, float64, runner) is None
        assert scoring.split_point(4000, small, float64, runner) == 2432  # 2000 + 411
        monkeypatch.setattr(scoring, "SPLIT_LEAD_PRODUCTS", 5_000_000)  # no block left
        assert scoring.split_point(4000, small, float64, runner) is None
        assert scoring.split_point(1000, plan, np.dtype(np.float32), runner) is None
    with threads.ChunkRunner(1) as runner:
        assert scoring.split_point(1000, plan, float64, runner) is None


def test_float32_work_one_thread_or_no_threadpoolctl_is_not_cut(two_threads, monkeypatch):
    monkeypatch.setattr(scoring, "SPLIT_MIN_PRODUCTS", 1)
    model32 = fitted("K=8 full", "float32")
    model32.predict(data(16, "float32")[:1000])
    assert two_threads == []
    model = fitted("K=8 full")
    monkeypatch.setenv("GMMKIT_NUM_THREADS", "1")
    model.predict(data(16)[:1000])
    assert two_threads == []
    monkeypatch.setenv("GMMKIT_NUM_THREADS", "2")
    controller, has_threadpoolctl = threads._CONTROLLER, threads._has_threadpoolctl
    monkeypatch.setattr(threads, "_CONTROLLER", {"controller": None})
    threads._libraries.cache_clear()
    try:
        model.predict(data(16)[:1000])
        monkeypatch.setattr(threads, "_has_threadpoolctl", lambda: False)
        model.predict(data(16)[:1000])
    finally:
        threads._libraries.cache_clear()
        monkeypatch.setattr(threads, "_CONTROLLER", controller)
        monkeypatch.setattr(threads, "_has_threadpoolctl", has_threadpoolctl)
    assert two_threads == []
    model.predict(data(16)[:1000])  # the same call with threadpoolctl back is cut
    assert two_threads == [1]


def on_the_helper(function):
    """(first, second) for beside: ``first`` returns once ``function`` has started on the helper.

    Waits for the helper to be idle first (after a call whose second function
    the caller took back, it stays busy until its thread wakes).
    """
    helper_thread._BACKOFF.update(skip=0, next=1)  # (a call taken back skips the next)
    deadline = time.monotonic() + 30
    while helper_thread._helper().busy.locked() and time.monotonic() < deadline:
        time.sleep(0.001)
    started = threading.Event()

    def first():
        assert started.wait(30), "the helper did not start within 30 s"
        return threading.current_thread()

    def second():
        started.set()
        return function()

    return first, second


def test_beside_runs_the_second_function_on_the_helper_thread():
    first, second = helper_thread.beside(*on_the_helper(threading.current_thread))
    assert first is threading.current_thread()
    assert second is not first and second.daemon and second.name == "gmmkit-helper"


def test_an_error_on_the_helper_reaches_the_caller_and_the_helper_lives_on():
    def failing():
        raise ValueError("the second half failed: 42")

    with pytest.raises(ValueError, match=re.escape("the second half failed: 42")):
        helper_thread.beside(*on_the_helper(failing))
    waited = []

    def first_fails():
        raise KeyError("first")

    def slow():
        time.sleep(0.05)
        waited.append(1)
        raise ValueError("second")

    first, second = on_the_helper(slow)
    with pytest.raises(KeyError, match="first"):  # the caller's own error, after the helper's
        helper_thread.beside(lambda: (first(), first_fails()), second)
    assert waited == [1]
    assert helper_thread.beside(lambda: 1, lambda: 2) == (1, 2)
    helper_thread.beside(*on_the_helper(lambda: None))
    assert not helper_thread._helper().busy.locked()


def test_a_helper_that_has_not_started_leaves_the_work_to_the_caller(monkeypatch):
    class Stalled:  # a helper thread that never gets a core
        def __init__(self):
            self.busy = threading.Lock()

        def post(self, task):
            self.task = task

    monkeypatch.setattr(helper_thread, "_HELPER", {"helper": Stalled()})
    callers = helper_thread.beside(threading.current_thread, threading.current_thread)
    assert callers == (threading.current_thread(), threading.current_thread())
    monkeypatch.setattr(helper_thread, "_HELPER", {"helper": Stalled()})
    monkeypatch.setattr(helper_thread, "_BACKOFF", {"skip": 0, "next": 1})
    with pytest.raises(KeyError):  # the second is dropped after an error of the first
        helper_thread.beside(lambda: {}["first"], lambda: pytest.fail("ran"))


def test_calls_that_did_not_gain_leave_the_next_ones_to_the_caller(monkeypatch):
    class Stalled:  # a helper thread that never gets a core
        def __init__(self):
            self.busy = threading.Lock()
            self.tasks = []

        def post(self, task):
            self.tasks.append(task)

    stalled = Stalled()
    monkeypatch.setattr(helper_thread, "_HELPER", {"helper": stalled})
    monkeypatch.setattr(stalled, "busy", type("Free", (), {"acquire": lambda self, **kw: True})())
    def call():
        if helper_thread.available():
            return helper_thread.beside(lambda: 1, lambda: 2)
        return "skipped"

    calls = [call() for _ in range(1 + 1 + 1 + 2 + 1 + 4)]
    # posted, 1 skipped, posted, 2 skipped, posted, 4 skipped
    assert calls == [(1, 2), "skipped", (1, 2), *["skipped"] * 2, (1, 2), *["skipped"] * 4]
    assert len(stalled.tasks) == 3 and helper_thread._BACKOFF == {"skip": 0, "next": 8}
    for _ in range(1000):
        call()
    assert helper_thread._BACKOFF["next"] == helper_thread.MAX_SKIPPED  # at most 64 skipped
    helper_thread._judge(True)  # a call that gained: the next loss skips one call again
    assert helper_thread._BACKOFF["next"] == 1


def test_a_call_run_in_parallel_counts_as_a_gain():
    square = np.ones((200, 200))

    def busy(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            square @ square  # (BLAS releases the GIL)

    first, second = on_the_helper(lambda: busy(0.05))
    with threads.single_blas_thread():
        helper_thread.beside(lambda: (first(), busy(0.05)), second)
    if helper_thread._BACKOFF["next"] != 1:  # (a loss doubles it)
        pytest.skip("the machine is too busy for two threads to run at once")
    assert helper_thread._BACKOFF["skip"] == 0


def test_nested_and_concurrent_calls_do_not_wait_for_each_other():
    # from the helper itself: busy, so the inner pair runs on the helper thread
    inner = helper_thread.beside(lambda: 0, lambda: helper_thread.beside(lambda: 1, lambda: 2))
    assert inner == (0, (1, 2))
    model = fitted("K=64 diag")
    X = data(60)[:1000]
    expected = outputs(model, X)
    results, errors = [], []

    def user():
        try:
            for _ in range(5):
                results.append(outputs(model, X))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    with threads.ChunkRunner(2) as runner:  # also from inside a ChunkRunner's workers
        runner.map(lambda _: user(), [0, 1])
    users = [threading.Thread(target=user) for _ in range(3)]
    for thread in users:
        thread.start()
    for thread in users:
        thread.join(timeout=60)
    assert errors == [] and not any(thread.is_alive() for thread in users)
    assert len(results) == 25 and all(result == expected for result in results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_a_forked_child_gets_its_own_helper(two_threads, monkeypatch):
    monkeypatch.setattr(scoring, "SPLIT_MIN_PRODUCTS", 1)
    model = fitted("K=8 full")
    X = data(16)[:1000]
    expected = model.predict_proba(X)
    helper_thread.beside(lambda: 1, lambda: 2)  # the parent's helper is running
    cuts = len(two_threads)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's helper thread is not here
        status = 1
        try:
            same = np.array_equal(model.predict_proba(X), expected)
            status = 0 if same and len(two_threads) == cuts + 1 else 2
        finally:
            os.write(write, bytes([status]))
            os._exit(status)
    os.close(write)
    try:
        answered, _, _ = select.select([read], [], [], 60)
        if not answered:  # the child hangs: end it, then fail
            os.kill(pid, signal.SIGKILL)
        assert answered, "the forked child did not finish scoring within 60 s"
        assert os.read(read, 1) == bytes([0])
    finally:
        os.close(read)
        _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
