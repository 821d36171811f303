"""partial_fit with a noise component and n_components="auto"; gmmkit.fit_stream over any stream."""

import warnings

import numpy as np
import pytest
from helpers import make_mixture

from gmmkit import ConvergenceWarning, GaussianMixture, fit_stream

da = pytest.importorskip("dask.array", reason="the Dask extra: pip install 'gmmkit[distributed]'")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def noisy():
    X, _, _ = make_mixture(20000, 2, 2, seed=41)
    rng = np.random.default_rng(41)
    box = np.vstack([X.min(axis=0) - 5, X.max(axis=0) + 5]).T
    outliers = box[:, 0] + rng.uniform(size=(1000, 2)) * (box[:, 1] - box[:, 0])
    rows = np.vstack([X, outliers])
    return rows[rng.permutation(len(rows))], box


def manual(model, batches, **first):
    """partial_fit over the batches by hand (the reference of fit_stream)."""
    for i, batch in enumerate(batches):
        model.partial_fit(batch, **(first if i == 0 else {}))
    return model


def same_model(a, b):
    assert a.n_steps_ == b.n_steps_
    for name in ("weights_", "means_", "covariances_", "noise_weight_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_partial_fit_with_noise_finds_the_batch_fits_noise(noisy):
    X, box = noisy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = GaussianMixture(2, noise="uniform", random_state=0).fit(X, )
    online = GaussianMixture(2, noise="uniform", random_state=0)
    for _ in range(2):
        for part in np.array_split(X, 21):
            online.partial_fit(part)
    np.testing.assert_array_equal(online.noise_bounds_[:, 0], X[: len(np.array_split(X, 21)[0])]
                                  .min(axis=0))  # the first batch's box, kept
    assert online.noise_weight_ == pytest.approx(batch.noise_weight_, abs=0.01)
    assert online.score(X) == pytest.approx(batch.score(X), rel=0.01)
    assert (online.predict(X) == -1).mean() == pytest.approx((batch.predict(X) == -1).mean(),
                                                            abs=0.01)

    given = GaussianMixture(2, noise="uniform", random_state=0)
    given.partial_fit(X[:2000], noise_bounds=box)
    np.testing.assert_array_equal(given.noise_bounds_, box)
    given.partial_fit(X[2000:4000])
    np.testing.assert_array_equal(given.noise_bounds_, box)
    assert 0 < given.noise_weight_ < 0.2

    fitted = GaussianMixture(2, noise="uniform", random_state=0).fit(X[:3000])
    bounds = fitted.noise_bounds_.copy()
    fitted.partial_fit(X[3000:6000])  # the fit's box goes on
    np.testing.assert_array_equal(fitted.noise_bounds_, bounds)


def test_noise_bounds_errors(noisy):
    X, box = noisy
    model = GaussianMixture(2, noise="uniform")
    with pytest.raises(ValueError, match=r"noise_bounds must be finite \(min, max\) pairs, one "
                                         r"per feature: shape \(2, 2\); got shape \(3, 2\)"):
        model.partial_fit(X[:500], noise_bounds=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"noise_bounds gives feature 1 the range \[1.0, 1.0\]; "
                                         "each feature needs min < max"):
        model.partial_fit(X[:500], noise_bounds=[[0, 1], [1, 1]])
    model.partial_fit(X[:500])
    with pytest.raises(ValueError, match="this model's box is set"):
        model.partial_fit(X[500:1000], noise_bounds=box)
    with pytest.raises(ValueError, match="noise_bounds cannot be given with n_components='auto'"):
        GaussianMixture("auto", noise="uniform").partial_fit(X[:500], noise_bounds=box)


def test_auto_chooses_k_on_the_first_batch():
    X, _, _ = make_mixture(9000, 2, 3, seed=42)
    first = X[:3000]
    chosen = GaussianMixture("auto", random_state=0).fit(first)
    online = GaussianMixture("auto", random_state=0).partial_fit(first)
    assert online.n_components_ == chosen.n_components_ == 3
    assert [row["n_components"] for row in online.selection_] == [
        row["n_components"] for row in chosen.selection_]
    assert online.n_steps_ == 1
    online.partial_fit(X[3000:6000]).partial_fit(X[6000:])
    assert online.n_steps_ == 3 and online.means_.shape == (3, 2)
    assert online.score(X) == pytest.approx(chosen.score(X), rel=0.02)


@pytest.mark.parametrize("kind", ["list", "function", "path", "memmap", "array", "dask"])
def test_fit_stream_equals_partial_fit_by_hand(kind, tmp_path, capsys):
    X, _, _ = make_mixture(6000, 3, 3, seed=43)
    batches = [X[i : i + 1500] for i in range(0, len(X), 1500)]
    expected = manual(GaussianMixture(3, random_state=0), batches)
    np.save(tmp_path / "X.npy", X)
    stream = {
        "list": batches,
        "function": lambda: iter(batches),
        "path": str(tmp_path / "X.npy"),
        "memmap": np.load(tmp_path / "X.npy", mmap_mode="r"),
        "array": X,
        "dask": da.from_array(X, chunks=3000),
    }[kind]
    with dask.config.set(scheduler="threads"):
        model = fit_stream(GaussianMixture(3, random_state=0), stream, batch_size=1500)
    same_model(model, expected)
    assert "fit_stream: 4 batches, 6000 rows, batch log-likelihood" in capsys.readouterr().err


def test_fit_stream_epochs_noise_and_errors(noisy, capsys):
    X, box = noisy
    batches = np.array_split(X[:8000], 4)
    expected = manual(GaussianMixture(2, noise="uniform", random_state=0), batches * 2,
                      noise_bounds=box)
    model = fit_stream(GaussianMixture(2, noise="uniform", random_state=0), batches,
                       n_epochs=2, noise_bounds=box, verbose=False)
    same_model(model, expected)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="n_epochs=2 reads the stream 2 times, but an iterator"):
        fit_stream(GaussianMixture(2), iter(batches), n_epochs=2)
    with pytest.raises(ValueError, match="n_epochs must be an integer >= 1; got 0"):
        fit_stream(GaussianMixture(2), batches, n_epochs=0)
    with pytest.raises(ValueError, match="the stream yielded no rows"):
        fit_stream(GaussianMixture(2), [], verbose=False)
