"""Data sources take plain settings (gmmkit.data.settings), never the estimator (issue 16)."""

import re

import numpy as np
import pytest

from gmmkit import GaussianMixture
from gmmkit.data.settings import (
    AUTO_CHUNK_ROWS,
    DataSettings,
    check_enough_samples,
    chunk_rows,
    work_dtype,
)
from gmmkit.data.stream import open_stream


@pytest.mark.parametrize(
    ("requested", "x_dtype", "expected"),
    [(None, np.float16, np.float32), (None, np.float32, np.float32), (None, np.int64, np.float64),
     (None, np.float64, np.float64), ("float32", np.float64, np.float32),
     ("float64", np.float32, np.float64), (np.float32, np.int8, np.float32)],
)  # fmt: skip
def test_work_dtype_follows_the_data_unless_asked(requested, x_dtype, expected):
    assert work_dtype(requested, np.dtype(x_dtype)) == np.dtype(expected)


@pytest.mark.parametrize(
    "requested", ["float16", "int64", "complex128", "bogus", "double precision", object]
)
def test_other_work_dtypes_are_refused_with_the_choices(requested):
    message = f"dtype={requested!r} is not supported; use 'float32', 'float64' or None."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        work_dtype(requested, np.dtype(np.float64))
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        GaussianMixture(dtype=requested).check_params()


def test_chunk_rows_are_the_given_size_or_a_clipped_power_of_two():
    assert chunk_rows(1000, "full", 3, 2, np.float64) == 1000
    for cov in ("full", "diag"):
        rows64 = chunk_rows(None, cov, 8, 16, np.float64)
        rows32 = chunk_rows(None, cov, 8, 16, np.float32)
        assert rows64 & (rows64 - 1) == 0 and AUTO_CHUNK_ROWS[0] <= rows64 <= AUTO_CHUNK_ROWS[1]
        assert rows32 == min(2 * rows64, AUTO_CHUNK_ROWS[1])
    assert chunk_rows(None, "full", 512, 512, np.float64) == AUTO_CHUNK_ROWS[0]
    # diag and spherical: the design (2 D + 1 rows) and the log densities (K) together
    for cov in ("diag", "spherical", "VEI"):
        assert chunk_rows(None, cov, 64, 39, np.float64) == 4096  # 8 MiB / (143 x 8 B)
        assert chunk_rows(None, cov, 32, 16, np.float64) == 8192  # 8 MiB / (65 x 8 B)
    model = GaussianMixture(8)
    assert model._chunk_rows(16, np.dtype(np.float64)) == chunk_rows(
        None, "full", 8, 16, np.float64
    )


def test_too_few_rows_name_both_counts():
    with pytest.raises(ValueError, match=re.escape(
        "Expected n_samples >= n_components but got n_components = 3, n_samples = 2; "
        "use fewer components or more data."
    )):
        check_enough_samples(2, 3)
    with pytest.raises(ValueError, match=re.escape(
        "n_components = 3, n_samples = 1 (with positive weight); use fewer"
    )):
        DataSettings(3, "full").check_enough_samples(1, weighted=True)
    check_enough_samples(3, 3)


def test_a_stream_is_prepared_from_plain_settings(tmp_path):
    X = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, X)
    settings = DataSettings(n_components=2, covariance_type="diag", chunk_size=64, noise=True)
    data, names, bounds = open_stream(path).prepare(settings, None)
    assert data.dtype == np.float32 and data.chunk_size == 64 and names is None
    np.testing.assert_array_equal(bounds, np.column_stack([X.min(axis=0), X.max(axis=0)]))
    with pytest.raises(ValueError, match="n_components = 501, n_samples = 500"):
        open_stream(path).prepare(DataSettings(501, "full"), None)
    # the estimator hands over its own settings, resolved
    model = GaussianMixture(2, covariance_type="diag", chunk_size=64, noise="uniform")
    assert model._data_settings() == settings
