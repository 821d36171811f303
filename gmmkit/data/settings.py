"""The estimator's settings a data source needs, as plain values.

A data source (a ``.npy`` stream, a chunk function, a Dask array; see
:mod:`gmmkit.data.sources`) checks the rows and serves them to the engine
in chunks. It never receives the estimator: the estimator checks its own
parameters, then hands the source a :class:`DataSettings`, and the source
derives what it needs from it (the working dtype, rows per chunk, the
"enough samples" check) with the functions below, which the estimators use
for in-memory data too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.covariance import get_covariance_type

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

#: bytes of the widest per-chunk temporary when chunk_size is None (so
#: float32 work gets twice the rows of float64: fewer, larger chunks)
AUTO_CHUNK_BYTES = 8 * 2**20
#: the smallest and largest number of rows of an automatic chunk
AUTO_CHUNK_ROWS = (256, 65536)

_WORK_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def work_dtype(requested: DTypeLike | None, x_dtype: DTypeLike) -> np.dtype[Any]:
    """The E-step's working dtype for data of ``x_dtype``.

    Parameters
    ----------
    requested : {"float32", "float64"}, numpy dtype or None
        The estimator's ``dtype``. None follows the data: float32 for
        float32 and float16 data, float64 for everything else.
    x_dtype : numpy dtype
        The dtype of the data (of its array, file or first chunk).

    Returns
    -------
    numpy dtype
        float32 or float64.

    Raises
    ------
    ValueError
        For any other ``requested`` dtype.
    """
    if requested is None:
        small = np.dtype(x_dtype) in (np.dtype(np.float32), np.dtype(np.float16))
        return np.dtype(np.float32) if small else np.dtype(np.float64)
    try:
        dtype = np.dtype(requested)
    except TypeError:
        dtype = None
    # not "dtype not in _WORK_DTYPES" alone: None == np.dtype("float64") is True
    if dtype is None or dtype not in _WORK_DTYPES:
        raise ValueError(
            f"dtype={requested!r} is not supported; use 'float32', 'float64' or None."
        )
    return dtype


def chunk_rows(
    chunk_size: int | None,
    covariance_type: str,
    n_components: int,
    n_features: int,
    dtype: DTypeLike,
) -> int:
    """Rows per E-step chunk: ``chunk_size``, or a cache-friendly power of two.

    Parameters
    ----------
    chunk_size : int or None
        The estimator's ``chunk_size``; None picks the rows whose widest
        temporary (the covariance type's ``chunk_width`` per row) takes
        about ``AUTO_CHUNK_BYTES``, clipped to ``AUTO_CHUNK_ROWS``.
    covariance_type : str
    n_components, n_features : int
    dtype : numpy dtype
        The working dtype (float32 rows are half the bytes: twice the rows).

    Returns
    -------
    int
    """
    if chunk_size is not None:
        return int(chunk_size)
    width = get_covariance_type(covariance_type).chunk_width(n_components, n_features)
    # the largest power of two <= the rows that fit (exact integer arithmetic)
    rows = 1 << (max(AUTO_CHUNK_BYTES // (width * np.dtype(dtype).itemsize), 1).bit_length() - 1)
    low, high = AUTO_CHUNK_ROWS
    return int(min(max(rows, low), high))


def check_enough_samples(n_samples: int, n_components: int, *, weighted: bool = False) -> None:
    """Raise when there are fewer rows than components.

    Parameters
    ----------
    n_samples : int
        The rows, or with sample weights the rows of positive weight.
    n_components : int
    weighted : bool, default=False
        Whether ``n_samples`` counts rows of positive weight (the message says so).

    Raises
    ------
    ValueError
        "Expected n_samples >= n_components but got n_components = 3,
        n_samples = 2; use fewer components or more data."
    """
    if n_samples < n_components:
        raise ValueError(
            f"Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {n_samples}"
            f"{' (with positive weight)' if weighted else ''}; "
            "use fewer components or more data."
        )


@dataclass(frozen=True)
class DataSettings:
    """What a data source needs of an estimator, resolved and checked by the estimator.

    Parameters
    ----------
    n_components : int
        The components to fit (a source refuses fewer rows).
    covariance_type : str
        Sets the width of a chunk's temporaries (automatic chunk rows).
    chunk_size : int or None, default=None
        Rows per E-step chunk; None: automatic (:func:`chunk_rows`).
    dtype : {"float32", "float64"}, numpy dtype or None, default=None
        The requested working dtype (:func:`work_dtype`).
    noise : bool, default=False
        Whether the fit has a uniform noise component (the source then
        returns the data's bounding box).
    missing : {"error", "em"}, default="error"
        The estimator's ``missing``.
    """

    n_components: int
    covariance_type: str
    chunk_size: int | None = None
    dtype: DTypeLike | None = None
    noise: bool = False
    missing: str = "error"

    def work_dtype(self, x_dtype: DTypeLike) -> np.dtype[Any]:
        """:func:`work_dtype` for data of ``x_dtype``: numpy dtype."""
        return work_dtype(self.dtype, x_dtype)

    def chunk_rows(self, n_features: int, dtype: DTypeLike) -> int:
        """:func:`chunk_rows` of these settings: int."""
        return chunk_rows(
            self.chunk_size, self.covariance_type, self.n_components, n_features, dtype
        )

    def check_enough_samples(self, n_samples: int, *, weighted: bool = False) -> None:
        """:func:`check_enough_samples` with these settings' ``n_components``."""
        check_enough_samples(n_samples, self.n_components, weighted=weighted)
