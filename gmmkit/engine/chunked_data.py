"""The engine's in-memory data source: rows of an array served chunk by chunk.

:class:`ChunkedData` centres each chunk on the reference point and casts it
to the working dtype; its protocol (``gmmkit.engine.types.DataSource``) is
what the other data sources (missing-value patterns, ``.npy`` streams, Dask
arrays) follow too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.estep import e_step
from gmmkit.engine.workspace import scratch

if TYPE_CHECKING:
    from numpy.typing import DTypeLike
    from typing_extensions import Self

    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams, Stats
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import FloatArray, Rows, RowSource
    from gmmkit.engine.workspace import Workspace

#: ChunkedData.rows writes a chunk through the transposed view of its
#: output when the output's rows are at most this far apart (bytes)
TRANSPOSED_WRITE_BYTES = 8192

#: The L1 data cache (here and on most x86 cores): 64-byte lines in sets of 8
#: ways, the set chosen by the address within 4 KiB
CACHE_WAYS, CACHE_SET_SPAN = 8, 4096


def column_write_thrashes(row_bytes: int, n_rows: int) -> bool:
    """Whether writing down a column of ``n_rows`` rows ``row_bytes`` apart thrashes L1.

    The transposed write fills one cache line per row and comes back to each
    line for the next few columns; when the rows' lines fall into fewer sets
    than ``n_rows / CACHE_WAYS`` (rows a multiple of 1 KiB apart: chunks of
    128, 256, 512 or 1,024 float64 rows), they evict each other: centring
    512 x 60 float64 rows took 180 us instead of 18.
    """
    places = CACHE_SET_SPAN // math.gcd(row_bytes, CACHE_SET_SPAN)
    return n_rows > CACHE_WAYS * places


#: ChunkedData.rows centres longer chunks through a contiguous scratch block
#: when they have at least this many features
SCRATCH_MIN_FEATURES = 32

#: the most memory ChunkedData.keep_rows spends on the centred rows of a fit
KEEP_ROWS_MAX_BYTES = 2**30


@dataclass
class ChunkedData:
    """Rows of X served chunk by chunk, centred and cast to the working dtype.

    The engine's data protocol, which other data sources (missing-value
    patterns, files read in chunks, Dask arrays) follow too: ``center``,
    ``dtype``, ``n_samples``, ``n_features``, ``with_dtype(dtype)``,
    ``e_step(cov_type, params, runner) -> Stats`` and ``init_data(rng)``,
    an in-memory ChunkedData the initialisers run on (the data themselves,
    or a random sample of them for data that are not in memory).

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Any array supporting row slicing (ndarray, memmap, or a reader of rows such
        as the data layer's NpyFile: :class:`gmmkit.engine.types.RowSource`); never
        copied whole.
    sample_weight : ndarray of shape (n_samples,) or None
    center : ndarray of shape (n_served_features,)
        Reference point subtracted from every chunk (in the served features).
    dtype : numpy dtype
        Working dtype of the E-step (float32 or float64).
    chunk_size : int
    row_index : ndarray of int or None
        Serve only these rows of X (a missingness pattern's rows); chunks
        then hold row indices instead of slices. None serves every row.
    columns : ndarray of int or None
        Serve only these features (a pattern's observed ones); None: all.
    fill_missing : bool
        Replace NaN by the centre (0 after centring): the mean-imputed data
        that initialisers of ``missing="em"`` fits start from.
    square_sum : float
        An upper bound of the sum of the squares of X's values (inf: not
        known); with the centre it bounds every row's distance from it, so
        that :class:`gmmkit.engine.far_rows.FarCheck` may skip its pass.
    """

    X: RowSource
    sample_weight: np.ndarray | None
    center: np.ndarray
    dtype: np.dtype
    chunk_size: int
    row_index: np.ndarray | None = None
    columns: np.ndarray | None = None
    fill_missing: bool = False
    square_sum: float = np.inf
    slices: list = field(init=False)

    def __post_init__(self) -> None:
        # subtract in the wider of X's float type and the working dtype (float32
        # data in float32 work stay float32), about a centre that type holds
        # exactly, so ``center`` is the point actually subtracted
        if self.X.dtype.kind == "f":
            self._center_in_x = self.center.astype(np.result_type(self.X.dtype, self.dtype))
            self.center = self._center_in_x.astype(np.float64)
        else:
            self._center_in_x = self.center
        n, size = self.n_samples, self.chunk_size
        if self.row_index is None:
            self.slices = [slice(s, min(s + size, n)) for s in range(0, n, size)]
        else:
            self.slices = [self.row_index[s : s + size] for s in range(0, n, size)]

    @property
    def n_samples(self) -> int:
        return self.X.shape[0] if self.row_index is None else len(self.row_index)

    @property
    def n_features(self) -> int:
        return self.X.shape[1] if self.columns is None else len(self.columns)

    def with_dtype(self, dtype: DTypeLike) -> Self:
        """The same data served in another working dtype."""
        return replace(self, dtype=np.dtype(dtype))

    def e_step(self, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner) -> Stats:
        """Summed Stats of every row under ``params``."""
        return e_step(self, cov_type, params, runner)

    def init_data(self, rng: np.random.Generator) -> ChunkedData:
        """What initialisers run on: the data themselves (in memory, every row)."""
        return self

    def keep_rows(self) -> bool:
        """Keep the centred, transposed rows of every chunk from their first pass on.

        A fit's later passes then copy a chunk's rows instead of centring
        and transposing X again (0.3 of about 2.5 ms per 8,192 x 39 chunk).
        Only for an in-memory ndarray of at least ``SCRATCH_MIN_FEATURES``
        features (narrow rows transpose cheaply) served whole, and only when
        the copy takes no more memory than X and at most
        ``KEEP_ROWS_MAX_BYTES``. Same values as :meth:`rows` computes.

        Returns
        -------
        bool
            Whether the rows are kept.
        """
        n_bytes = self.n_samples * self.n_features * self.dtype.itemsize
        if (
            type(self.X) is not np.ndarray
            or self.row_index is not None
            or self.columns is not None
            or self.fill_missing
            or self.n_features < SCRATCH_MIN_FEATURES
            or n_bytes > min(self.X.nbytes, KEEP_ROWS_MAX_BYTES)
        ):
            return False
        if "_kept" not in self.__dict__:
            # chunk after chunk, each (D, n) block contiguous: a chunk's first
            # pass writes (and faults in) one stretch of memory, not D of them;
            # pages are only touched as the first pass writes them
            self._kept = np.empty(self.n_samples * self.n_features, dtype=self.dtype)
            self._kept_chunks: set[tuple[int, int]] = set()
        return True

    def _served(self, rows: Rows) -> FloatArray:
        """A chunk's served features as they are in X, in X's dtype: (n, D)."""
        block = self.X[rows]
        return block if self.columns is None else block[:, self.columns]

    def raw(self, rows: Rows) -> FloatArray:
        """A chunk's served features as they are in X, in float64: (n, D)."""
        return np.asarray(self._served(rows), dtype=np.float64)

    def rows(
        self, rows: Rows, workspace: Workspace | None = None, out: FloatArray | None = None
    ) -> FloatArray:
        """Centred chunk in the working dtype, transposed: (D, n).

        Subtraction happens in the wider of X's precision and the working
        dtype, then the result is rounded to the working dtype (so float64
        data far from the origin keep their digits in float32 work).
        ``out`` (D, n) of the working dtype receives it, e.g. the rows'
        place in a design matrix (``CovarianceType.design_rows``).
        """
        kept = self.__dict__.get("_kept")
        if kept is not None and isinstance(rows, slice):
            start, stop, _ = rows.indices(self.n_samples)
            block = kept[start * self.n_features : stop * self.n_features]
            block = block.reshape(self.n_features, stop - start)
            if (start, stop) in self._kept_chunks:
                if out is None:
                    out = scratch(workspace, "rows", block.shape, self.dtype)
                out[...] = block
                return out
            out = self._centred(rows, workspace, out)
            block[...] = out
            self._kept_chunks.add((start, stop))
            return out
        return self._centred(rows, workspace, out)

    def _centred(
        self, rows: Rows, workspace: Workspace | None, out: FloatArray | None
    ) -> FloatArray:
        """:meth:`rows` computed from X."""
        block = self._served(rows)
        if out is None:
            out = scratch(workspace, "rows", block.shape[::-1], self.dtype)
        # Short chunks are written through the transposed view: reading the
        # rows in their own order is ~1.5x faster at 1,000 rows, but writing
        # rows of ``out`` far apart thrashes the TLB (20x slower at 4,096
        # rows). Long chunks of wide rows are centred in their own order into
        # a scratch block that is then copied transposed: reading the columns
        # of X from memory directly took 1.5-3x as long (0.9 against 0.3 ms
        # for 8,192 x 39 float64, 0.9 against 0.6 for 16,384 x 39 float32),
        # while narrow rows (3 to 24 features) read their columns as fast or
        # faster. Same values every way.
        center = self._center_in_x
        if out.strides[0] <= TRANSPOSED_WRITE_BYTES and not column_write_thrashes(
            out.strides[0], out.shape[0]
        ):
            np.subtract(block, center, out=out.T, casting="unsafe", dtype=center.dtype)
        elif block.shape[1] < SCRATCH_MIN_FEATURES:
            np.subtract(block.T, center[:, None], out=out, casting="unsafe", dtype=center.dtype)
        else:
            centred = scratch(workspace, "rows_centred", block.shape, center.dtype)
            np.subtract(block, center, out=centred, casting="unsafe", dtype=center.dtype)
            out[...] = centred.T
        if self.fill_missing:
            np.nan_to_num(out, copy=False, nan=0.0)
        return out

    def weights(self, rows: Rows) -> FloatArray | None:
        """Weights of a chunk: (n,) or None."""
        return None if self.sample_weight is None else self.sample_weight[rows]
