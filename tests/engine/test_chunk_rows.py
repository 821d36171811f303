"""ChunkedData.rows and the in-place design give the same values on both of their paths.

Short chunks are centred through the transposed view of the output
(``TRANSPOSED_WRITE_BYTES``) unless its rows would evict each other from
the cache (``column_write_thrashes``: 512 float64 rows), long ones by reading the rows transposed
(few features) or through a contiguous scratch block (at least
``SCRATCH_MIN_FEATURES``, with or without a workspace); the
scoring pass writes them straight into the design matrix
(``CovarianceType.empty_design``/``design_rows``/``complete_design``).
All must equal the plain computation bit for bit.
"""

import numpy as np
import pytest

from gmmkit.engine.chunked_data import (
    SCRATCH_MIN_FEATURES,
    TRANSPOSED_WRITE_BYTES,
    ChunkedData,
    column_write_thrashes,
)
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.workspace import Workspace


@pytest.mark.parametrize("n_rows", [1, 7, 512, 1000, 3000])
@pytest.mark.parametrize(
    ("x_dtype", "work"), [("float64", "float64"), ("float32", "float32"),
                          ("float64", "float32"), ("int64", "float64")]
)
@pytest.mark.parametrize("n_features", [5, 70])
@pytest.mark.parametrize("workspace", [None, Workspace()])
def test_rows_equal_plain_centring(n_rows, x_dtype, work, n_features, workspace):
    rng = np.random.default_rng(n_rows)
    X = (rng.normal(size=(n_rows + 5, n_features)) * 1e3).astype(x_dtype)
    data = ChunkedData(
        X, None, rng.normal(size=n_features), np.dtype(work), chunk_size=n_rows
    )
    wide = data._center_in_x.dtype
    for rows in data.slices[:2]:  # the second chunk reuses the workspace's buffers
        expected = (X[rows].astype(wide) - data._center_in_x).T.astype(work)
        got = data.rows(rows, workspace)
        assert got.dtype == np.dtype(work) and got.flags.c_contiguous
        np.testing.assert_array_equal(got, expected)
    # every path is taken by these sizes
    row_bytes = n_rows * np.dtype(work).itemsize
    assert (row_bytes <= TRANSPOSED_WRITE_BYTES) == (n_rows <= 1000)
    assert (n_features >= SCRATCH_MIN_FEATURES) == (n_features == 70)
    assert column_write_thrashes(row_bytes, n_features) == (n_rows == 512 and n_features == 70)


def test_column_writes_thrash_when_the_rows_share_few_cache_sets():
    # rows 4 KiB apart all fall in one set of 8 ways; 8,000 bytes apart in 64 places
    assert column_write_thrashes(4096, 9) and not column_write_thrashes(4096, 8)
    assert column_write_thrashes(1024, 60) and column_write_thrashes(3072, 60)
    assert not column_write_thrashes(1536, 60)  # 8 places: 64 ways
    assert not column_write_thrashes(8000, 60) and not column_write_thrashes(8, 60)


@pytest.mark.parametrize("cov", ["full", "diag", "spherical", "tied"])
@pytest.mark.parametrize("workspace", [None, Workspace()])
def test_in_place_design_equals_design(cov, workspace):
    rng = np.random.default_rng(1)
    data = ChunkedData(rng.normal(size=(300, 4)), None, np.zeros(4), np.dtype("float64"), 300)
    cov_type = get_covariance_type(cov)
    expected = np.array(cov_type.design(data.rows(data.slices[0])))
    stacked = cov_type.empty_design(4, 300, np.float64, workspace)
    if cov == "tied":  # its design does not hold the rows as they are
        assert stacked is None
        return
    data.rows(data.slices[0], out=cov_type.design_rows(stacked, 4))
    np.testing.assert_array_equal(cov_type.complete_design(stacked, 4), expected)


def wide_data(x_dtype="float64", work="float64", n=3000, n_features=40, **kwargs):
    rng = np.random.default_rng(3)
    X = (rng.normal(size=(n, n_features)) * 1e3).astype(x_dtype)
    return ChunkedData(X, None, rng.normal(size=n_features), np.dtype(work), 1000, **kwargs)


def test_kept_rows_are_the_rows_and_later_passes_do_not_centre_again(monkeypatch):
    data = wide_data()
    assert data.keep_rows()
    first = [np.array(data.rows(rows, Workspace())) for rows in data.slices]
    centred = []
    original = ChunkedData._centred
    monkeypatch.setattr(
        ChunkedData, "_centred", lambda self, *args: centred.append(1) or original(self, *args)
    )
    for rows, expected in zip(data.slices, first):
        np.testing.assert_array_equal(data.rows(rows), expected)
        slot = np.empty_like(expected)
        assert data.rows(rows, out=slot) is slot
        np.testing.assert_array_equal(slot, expected)
    assert not centred
    plain = wide_data()  # never kept
    for rows, expected in zip(plain.slices, first):
        np.testing.assert_array_equal(plain.rows(rows), expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda: wide_data(n_features=SCRATCH_MIN_FEATURES - 1),  # narrow rows: cheap anyway
        lambda: wide_data("float32", "float64"),  # the copy would take twice X's memory
        lambda: wide_data(columns=np.arange(35)),  # a missingness pattern's columns
        lambda: wide_data(row_index=np.arange(0, 3000, 2)),
        lambda: wide_data(fill_missing=True),
    ],
)
def test_rows_are_not_kept_when_it_does_not_pay_or_costs_more_than_x(make):
    data = make()
    assert not data.keep_rows()
    assert "_kept" not in data.__dict__


def test_a_fit_keeps_the_rows_of_wide_data_with_the_same_result(monkeypatch):
    import gmmkit.engine.chunked_data as chunked_data
    from gmmkit import GaussianMixture

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(600, 40)), rng.normal(5.0, 1.0, size=(600, 40))])
    kept = []
    original = ChunkedData.keep_rows
    monkeypatch.setattr(ChunkedData, "keep_rows", lambda self: kept.append(original(self)))
    fitted = GaussianMixture(2, covariance_type="diag", chunk_size=256, random_state=0).fit(X)
    assert kept == [True]
    monkeypatch.setattr(chunked_data, "KEEP_ROWS_MAX_BYTES", 0)
    kept.clear()
    plain = GaussianMixture(2, covariance_type="diag", chunk_size=256, random_state=0).fit(X)
    assert kept == [False]
    assert fitted.lower_bounds_ == plain.lower_bounds_  # bit for bit
    np.testing.assert_array_equal(fitted.means_, plain.means_)
    np.testing.assert_array_equal(fitted.covariances_, plain.covariances_)
