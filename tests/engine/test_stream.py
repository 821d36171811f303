"""Out-of-core fits (gmmkit.data.stream): .npy paths, file memmaps and chunk functions."""

import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture

from gmmkit import ConvergenceWarning, GaussianMixture, PrecisionWarning
from gmmkit.data.stream import information_criteria, npy_chunks, open_stream
from gmmkit.engine import seeding as init


@pytest.fixture(scope="module")
def mixture():
    X, _, _ = make_mixture(n_samples=3000, n_features=3, n_components=3, seed=1)
    return X


@pytest.fixture
def npy(tmp_path):
    """Save an array as a .npy file and return its path."""

    def save(X, name="X.npy"):
        path = tmp_path / name
        np.save(path, X)
        return str(path)

    return save


def starting_point(X, covariance_type, n_components=3):
    """weights_init, means_init, precisions_init of a short fit: a fixed start."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(
            n_components, covariance_type=covariance_type, max_iter=1, random_state=0
        ).fit(X)
    return dict(weights_init=model.weights_, means_init=model.means_,
                precisions_init=model.precisions_)


def fit(X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**{"n_components": 3, **kwargs}).fit(X)


def assert_same_fit(streamed, in_memory, rtol=1e-12):
    np.testing.assert_allclose(streamed.lower_bounds_, in_memory.lower_bounds_, rtol=rtol)
    np.testing.assert_allclose(streamed.means_, in_memory.means_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(streamed.covariances_, in_memory.covariances_, rtol=1e-10)
    np.testing.assert_allclose(streamed.weights_, in_memory.weights_, rtol=1e-10)
    assert streamed.n_iter_ == in_memory.n_iter_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_npy_path_fit_equals_the_in_memory_fit(mixture, npy, covariance_type):
    start = starting_point(mixture, covariance_type)
    kwargs = dict(covariance_type=covariance_type, chunk_size=256, max_iter=20, tol=0, **start)
    assert_same_fit(fit(npy(mixture), **kwargs), fit(mixture, **kwargs))


def test_memmaps_of_files_stream_and_equal_the_in_memory_fit(mixture, npy, tmp_path):
    kwargs = dict(random_state=0, chunk_size=500)
    expected = fit(mixture, **kwargs)
    loaded = np.load(npy(mixture), mmap_mode="r")
    assert_same_fit(fit(loaded, **kwargs), expected)
    raw = tmp_path / "raw.f64"  # no .npy header; Fortran order
    np.asfortranarray(mixture).T.tofile(raw)
    fortran = np.memmap(raw, dtype=np.float64, mode="r", shape=mixture.shape, order="F")
    assert open_stream(fortran).reader.fortran
    assert_same_fit(fit(fortran, **kwargs), expected)
    rows = slice(1000, 2500)  # a slice keeps its parent's .offset: read from its own rows
    assert_same_fit(fit(loaded[rows], **kwargs), fit(mixture[rows], **kwargs))


def test_chunk_function_equals_the_in_memory_fit(mixture):
    bounds = [0, 700, 700, 1500, 3000]  # uneven chunks, one of them empty

    def chunks():
        return (mixture[a:b] for a, b in zip(bounds[:-1], bounds[1:]))

    start = starting_point(mixture, "full")
    kwargs = dict(chunk_size=256, max_iter=10, tol=0, **start)
    assert_same_fit(fit(chunks, **kwargs), fit(mixture, **kwargs))
    # initialised from the data (every row, as there are fewer than KMEANS_MAX_ROWS)
    assert_same_fit(fit(chunks, random_state=3), fit(mixture, random_state=3), rtol=1e-10)


def test_dataframe_chunks_give_feature_names(mixture):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(mixture, columns=["a", "b", "c"])
    model = fit(lambda: (frame.iloc[i : i + 1000] for i in range(0, 3000, 1000)), random_state=0)
    assert list(model.feature_names_in_) == ["a", "b", "c"]


def test_float32_file_fits_in_float32_and_falls_back_to_float64(mixture, npy):
    X32 = mixture.astype(np.float32)
    start = starting_point(mixture, "full")
    kwargs = dict(chunk_size=512, max_iter=5, tol=0, **start)
    streamed, in_memory = fit(npy(X32), **kwargs), fit(X32, **kwargs)
    assert_same_fit(streamed, in_memory, rtol=1e-6)
    far = X32.copy()  # one cluster far out: float32 work would lose accuracy
    far[:1500] += np.float32(3000.0)
    with pytest.warns(PrecisionWarning):
        streamed = fit(npy(far, "far.npy"), random_state=0, max_iter=5)
    with pytest.warns(PrecisionWarning):
        in_memory = fit(far, random_state=0, max_iter=5)
    assert_same_fit(streamed, in_memory, rtol=1e-10)


def test_sample_weight(mixture, npy):
    weights = np.random.default_rng(0).integers(0, 4, size=len(mixture)).astype(float)
    kwargs = dict(random_state=0, chunk_size=400)
    expected = GaussianMixture(3, **kwargs).fit(mixture, sample_weight=weights)
    streamed = GaussianMixture(3, **kwargs).fit(npy(mixture), sample_weight=weights)
    assert_same_fit(streamed, expected, rtol=1e-10)
    chunked = GaussianMixture(3, **kwargs).fit(
        lambda: (mixture[i : i + 900] for i in range(0, 3000, 900)), sample_weight=weights
    )
    assert_same_fit(chunked, expected, rtol=1e-10)
    for X in (npy(mixture), lambda: iter([mixture])):
        with pytest.raises(ValueError, match="sample_weight has 2999 entries but X has 3000"):
            GaussianMixture(3).fit(X, sample_weight=weights[1:])


def test_noise_component(mixture, npy):
    X = np.vstack([mixture, [[40.0, -40.0, 40.0]]])
    kwargs = dict(noise="uniform", random_state=0, chunk_size=500)
    streamed, in_memory = fit(npy(X), **kwargs), fit(X, **kwargs)
    np.testing.assert_array_equal(streamed.noise_bounds_, in_memory.noise_bounds_)
    assert_same_fit(streamed, in_memory, rtol=1e-10)
    flat = np.column_stack([mixture[:, :2], np.ones(len(mixture))])
    with pytest.raises(ValueError, match="feature 2 takes a single value"):
        fit(npy(flat, "flat.npy"), noise="uniform")


def test_one_shot_iterators_and_bad_functions_are_refused(mixture):
    with pytest.raises(TypeError, match="one-shot iterator .*pass a function that returns a fresh"):
        fit(iter([mixture]))
    with pytest.raises(TypeError, match="returned int; it must return an iterable of 2-D"):
        fit(lambda: 3)
    chunks = iter([mixture[:1500], mixture[1500:]])  # the same iterator every call
    with pytest.raises(ValueError, match="yielded 0 rows in this pass but"):
        fit(lambda: chunks, random_state=0)
    with pytest.raises(ValueError, match="chunk 1 of X has 2 features but the first has 3"):
        fit(lambda: iter([mixture, mixture[:, :2]]))
    with pytest.raises(ValueError, match="chunk 0 of X has a non-numeric value 'a'"):
        fit(lambda: iter([np.array([["a", 1.0]], dtype=object)]))
    with pytest.raises(ValueError, match="the chunk function yielded no rows"):
        fit(lambda: iter([]))


def test_nan_and_infinity_give_the_scan_errors(mixture, npy):
    X = mixture.copy()
    X[[17, 2500], 1] = np.inf
    with pytest.raises(ValueError) as in_memory:
        fit(X)
    with pytest.raises(ValueError) as streamed:
        fit(npy(X))
    assert str(streamed.value) == str(in_memory.value)
    assert str(streamed.value).startswith("X contains infinity in 2 rows (first: row 17)")
    X[5, 0] = np.nan
    for missing in ("error", "em"):
        with pytest.raises(ValueError, match=r"X contains NaN in 3 rows \(first: row 5\); drop "
                           r"those rows \(streamed data cannot hold missing values: for "
                           r"missing='em' load the data in memory"):
            fit(npy(X), missing=missing)


def test_bad_files_are_refused(npy, tmp_path):
    cases = {
        "1-D": (np.arange(10.0), r"shape \(10,\); out-of-core fits need a 2-D array"),
        "3-D": (np.zeros((4, 3, 2)), r"shape \(4, 3, 2\); out-of-core fits need a 2-D"),
        "complex": (np.ones((5, 2), complex), "holds dtype complex128; gmmkit fits numbers"),
        "text": (np.array([["a", "b"]]), "holds dtype <U1; gmmkit fits numbers"),
        "empty": (np.zeros((0, 3)), r"is empty: found an array of shape \(0, 3\)"),
    }
    for name, (X, message) in cases.items():
        with pytest.raises(ValueError, match=message):
            fit(npy(X, f"{name}.npy"))
    truncated = npy(np.ones((100, 4)), "truncated.npy")
    with open(truncated, "r+b") as file:
        file.truncate(1000)
    with pytest.raises(ValueError, match="the file is truncated"):
        fit(truncated)
    not_npy = tmp_path / "not.npy"
    not_npy.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="not a readable .npy array"):
        fit(str(not_npy))


def test_fewer_rows_than_components(mixture, npy):
    with pytest.raises(ValueError) as in_memory:
        fit(mixture[:2])
    for X in (npy(mixture[:2]), lambda: iter([mixture[:2]])):
        with pytest.raises(ValueError) as streamed:
            fit(X)
        assert str(streamed.value) == str(in_memory.value)
        assert str(streamed.value).startswith("Expected n_samples >= n_components")
    with pytest.raises(ValueError, match="n_components must be an integer >= 1"):
        GaussianMixture(0).fit(npy(mixture))


def test_initialisation_from_a_sample_reaches_the_in_memory_optimum(monkeypatch, npy):
    X, _, truth = make_mixture(n_samples=20_000, n_features=2, n_components=3, seed=4)
    monkeypatch.setattr(init, "KMEANS_MAX_ROWS", 500)  # the sample: 500 of 20,000 rows
    in_memory = fit(X, random_state=0, tol=1e-10, max_iter=500)
    streamed = fit(npy(X), random_state=0, tol=1e-10, max_iter=500)
    order_a, order_b = np.argsort(in_memory.means_[:, 0]), np.argsort(streamed.means_[:, 0])
    np.testing.assert_allclose(streamed.means_[order_b], in_memory.means_[order_a], atol=1e-6)
    np.testing.assert_allclose(streamed.weights_[order_b], in_memory.weights_[order_a], atol=1e-7)
    assert streamed.lower_bound_ == pytest.approx(in_memory.lower_bound_, rel=1e-9)
    np.testing.assert_allclose(np.sort(streamed.weights_), np.sort(truth["weights"]), atol=0.02)


def test_passes_over_a_chunk_function(mixture):
    calls = []

    def chunks():
        calls.append(1)
        return iter([mixture[:2000], mixture[2000:]])

    fit(chunks, max_iter=4, tol=0, **starting_point(mixture, "full"))
    assert len(calls) == 1 + 1 + 4  # first chunk, check pass, 4 iterations: no sample pass
    calls.clear()
    fit(chunks, max_iter=4, tol=0, random_state=0)
    assert len(calls) == 1 + 1 + 1 + 4  # and one sample pass for the k-means start


def test_fit_memory_is_bounded_by_the_chunks_not_the_file(tmp_path, npy):
    X = np.random.default_rng(0).standard_normal((500_000, 8))  # a 32 MB file
    path = npy(X)
    start = starting_point(X[:5000], "full", 4)
    model = GaussianMixture(4, chunk_size=2048, max_iter=2, tol=0, **start)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    read_block = 65536 * 8 * 8  # one block of the check pass: 4 MB
    assert peak < 1.25 * read_block  # the check pass's buffer, then the E-step's chunks
    assert peak < X.nbytes / 6


def test_stream_data_pickle_and_scores(mixture, npy):
    model = fit(npy(mixture), random_state=0)
    data = pickle.loads(pickle.dumps(model._open_data(npy(mixture), None)[0]))
    assert data.n_samples == 3000 and data.X.path.endswith("X.npy")
    criteria = information_criteria(model, npy(mixture))
    assert criteria["n_samples"] == 3000
    assert criteria["bic"] == pytest.approx(model.bic(mixture), rel=1e-12)
    assert criteria["aic"] == pytest.approx(model.aic(mixture), rel=1e-12)
    two = np.vstack([block for block in npy_chunks(npy(mixture), columns=[2, 0],
                                                    chunk_rows=1000)()])
    np.testing.assert_array_equal(two, mixture[:, [2, 0]])


def test_restarts_of_a_file_run_in_worker_processes(mixture, npy):
    kwargs = dict(n_init=2, random_state=0)
    parallel = GaussianMixture(3, n_jobs=2, **kwargs).fit(npy(mixture))
    assert_same_fit(parallel, GaussianMixture(3, **kwargs).fit(mixture))
