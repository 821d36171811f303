"""Out-of-core data: .npy files, file memory maps and chunk functions, read as EM goes.

``GaussianMixture.fit(X)`` comes here (through :func:`gmmkit.data.sources.open_source`)
when X is

- a path to a ``.npy`` file, or a ``numpy.memmap`` of a file (``np.load(path,
  mmap_mode="r")``, or ``np.memmap`` of a raw file): rows are read with
  explicit file reads into buffers reused across iterations, on the
  engine's worker threads (a memory map would make every page it touched
  count in the process's resident memory);
- a function that returns a fresh iterator of 2-D chunks each time it is
  called (EM reads the data once per iteration, so a one-shot generator is
  refused).

Memory is bounded by the chunk sizes, never by n_samples: one pass checks
the rows and finds the centre (and the noise box); each EM iteration is one
more pass, through the engine's own chunked E-step (:func:`gmmkit.engine.estep.e_step`
on the file, :class:`gmmkit.engine.chunked_data.ChunkedData` views of each chunk of a
function). Initialisers run on a uniform random sample of at most
``gmmkit.engine.seeding.KMEANS_MAX_ROWS`` rows drawn in one more pass, and only when an
initialiser needs data (docs/out-of-core.md). ``sample_weight``, when given,
is held in memory (8 bytes per row).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from gmmkit.data.stream_readers import (
    READ_ROWS,
    ChunkFunction,
    NpyFile,
    memmap_file,
    read_blocks,
)
from gmmkit.data.validation import RowScan, check_sample_weight
from gmmkit.engine import seeding as init
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.criteria import information_criteria as criteria_of
from gmmkit.engine.criteria import n_parameters
from gmmkit.engine.estep import e_step
from gmmkit.engine.noise import noise_bounds
from gmmkit.engine.reference import ReferenceSample, check_range

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import ArrayLike, DTypeLike, NDArray

    from gmmkit.data.settings import DataSettings
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams, Stats
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import AnyArray, FittedMixture, FloatArray, IntArray, PathLike

__all__ = [
    "ChunkFunction", "NpyFile", "StreamSource", "StreamedChunks", "StreamedFile",
    "information_criteria", "memmap_file", "npy_chunks", "open_stream",
]

#: the fix the NaN message proposes
NAN_FIX = (
    "drop those rows (streamed data cannot hold missing values: for missing='em' "
    "load the data in memory, e.g. np.load(path))"
)


def open_stream(X: object) -> StreamSource:
    """A source for out-of-core data: a .npy path, a file memmap or a chunk function.

    Parameters
    ----------
    X : str, PathLike, numpy.memmap or callable
        A ``.npy`` file of shape (n_samples, n_features); a memmap of a file
        (C or Fortran order, not copy-on-write); or a function returning a
        fresh iterable of 2-D arrays (n_rows_i, n_features) each call.

    Returns
    -------
    StreamSource
        Its ``prepare(settings, sample_weight)`` returns ``(data,
        feature_names, noise_bounds)`` for the engine.

    Raises
    ------
    TypeError
        For a one-shot iterator (a generator object): pass a function instead.
    """
    if isinstance(X, (str, os.PathLike)):
        return StreamSource(NpyFile.open(X))
    if isinstance(X, np.memmap):
        reader = memmap_file(X)
        if reader is None:
            raise ValueError(
                "this memmap cannot be read from its file (copy-on-write, not "
                "contiguous, or not 2-D); pass np.asarray(X) to fit it in memory."
            )
        return StreamSource(reader)
    if isinstance(X, Iterator):
        raise TypeError(
            f"X is a one-shot iterator ({type(X).__name__}), but EM reads the data once "
            "per iteration; pass a function that returns a fresh iterator of chunks each "
            "time it is called, e.g. fit(lambda: read_chunks(path)) instead of "
            "fit(read_chunks(path))."
        )
    if callable(X):
        return StreamSource(ChunkFunction(X))
    raise TypeError(
        f"cannot stream {type(X).__name__}; pass a .npy path, a numpy memmap or a "
        "function returning an iterator of 2-D chunks."
    )


def npy_chunks(
    X: PathLike | np.memmap[Any, Any],
    columns: Sequence[int] | None = None,
    chunk_rows: int = READ_ROWS,
) -> Callable[[], Iterator[AnyArray]]:
    """A chunk function over a .npy file or file memmap, optionally some columns only.

    Parameters
    ----------
    X : str, PathLike or numpy.memmap
    columns : sequence of int, optional
        Keep these columns, in this order.
    chunk_rows : int

    Returns
    -------
    callable
        Each call returns a fresh iterator of arrays (chunk_rows, n_columns),
        each a new array.
    """
    reader = open_stream(X).reader
    picked = slice(None) if columns is None else np.asarray(columns, dtype=np.intp)

    def chunks() -> Iterator[AnyArray]:
        for _, block in reader.blocks(chunk_rows):
            yield np.array(block[:, picked])

    return chunks


def information_criteria(model: FittedMixture, X: object) -> dict[str, Any]:
    """BIC and AIC of a fitted model on streamed data, in one bounded pass.

    Parameters
    ----------
    model : GaussianMixture
        Fitted.
    X : str, PathLike, numpy.memmap or callable
        What :func:`open_stream` takes; each chunk is scored by
        ``model.score_samples`` (the rows are not checked again).

    Returns
    -------
    dict with "n_samples", "bic", "aic"
    """
    reader = open_stream(X).reader
    total, n_samples = 0.0, 0
    with warnings.catch_warnings():  # DataFrame chunks reach score_samples as arrays
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        for _, block in read_blocks(reader):
            total += float(model.score_samples(block).sum())
            n_samples += block.shape[0]
    n_components, n_features = model.means_.shape
    p = n_parameters(
        model.covariance_type, n_components, n_features, noise=hasattr(model, "noise_bounds_")
    )
    bic, aic = criteria_of(total, n_samples, p)
    return {"n_samples": n_samples, "bic": float(bic), "aic": float(aic)}


class StreamSource:
    """What :func:`gmmkit.data.sources.open_source` returns for out-of-core data."""

    def __init__(self, reader: NpyFile | ChunkFunction) -> None:
        self.reader = reader

    def prepare(
        self, settings: DataSettings, sample_weight: ArrayLike | None
    ) -> tuple[StreamedFile | StreamedChunks, NDArray[np.object_] | None, FloatArray | None]:
        """Check the data in one pass; return (data, names, noise box).

        Parameters
        ----------
        settings : gmmkit.data.settings.DataSettings
            The estimator's settings, checked by the estimator.
        sample_weight : array-like of shape (n_samples,) or None

        Returns
        -------
        data : StreamedFile or StreamedChunks
            The engine's data protocol (see :class:`gmmkit.engine.chunked_data.ChunkedData`).
        feature_names : ndarray or None
            Column names of the first chunk when it is a DataFrame.
        noise_bounds : ndarray of shape (n_features, 2) or None
        """
        reader = self.reader
        n_features, dtype, names = reader.describe()
        work_dtype = settings.work_dtype(dtype.newbyteorder("="))
        weights = scan_weights = None
        if reader.n_samples is not None:  # a file: check the rows before reading them
            weights = scan_weights = _check_rows(settings, reader.n_samples, sample_weight)
        elif sample_weight is not None and np.ndim(sample_weight) == 1:
            scan_weights = np.asarray(sample_weight, dtype=np.float64)
        center, bounds = _scan(reader, scan_weights, settings.noise)
        if weights is None:
            weights = _check_rows(settings, reader.n_samples, sample_weight)
        chunk_rows = settings.chunk_rows(n_features, work_dtype)
        data: StreamedFile | StreamedChunks
        if isinstance(reader, NpyFile):
            data = StreamedFile(reader, weights, center, work_dtype, chunk_rows)
        else:
            data = StreamedChunks(reader, weights, center, work_dtype, chunk_rows)
        return data, names, bounds


def _check_rows(
    settings: DataSettings, n_samples: int | None, sample_weight: ArrayLike | None
) -> FloatArray | None:
    """Validated weights (or None); raises when there are fewer rows than components."""
    assert n_samples is not None  # (a file's, or counted by the scan pass)
    weights = check_sample_weight(sample_weight, n_samples)
    if weights is None:
        settings.check_enough_samples(n_samples)
    else:
        settings.check_enough_samples(int(np.count_nonzero(weights)), weighted=True)
    return weights


def _scan(
    reader: NpyFile | ChunkFunction, weights: FloatArray | None, with_noise: bool
) -> tuple[FloatArray, FloatArray | None]:
    """One pass: the centre (rows checked finite) and the noise box or None.

    The centre is the in-memory fit's (:func:`gmmkit.engine.reference.reference_point`),
    from the same rows (:class:`gmmkit.engine.reference.ReferenceSample`).
    """
    scan = RowScan(reader.describe()[0], NAN_FIX)
    picked = ReferenceSample()
    low = high = None
    block: AnyArray | None
    kept: AnyArray | None
    for start, block in read_blocks(reader):
        w = None if weights is None else weights[start : start + block.shape[0]]
        if w is not None and w.shape[0] != block.shape[0]:
            weights = w = None  # sample_weight is too short: _check_rows says so after the pass
        scan.add(block, w, start)
        picked.add(start, block, w)
        kept = block if w is None else block[w > 0]
        if kept.shape[0]:
            least, most = kept.min(axis=0).astype(np.float64), kept.max(axis=0)
            low = least if low is None else np.fmin(low, least)
            high = most.astype(np.float64) if high is None else np.fmax(high, most)
    block = kept = None  # free the read buffer before the centre's sort
    mean = scan.center()
    center = picked.center()
    center[np.isnan(center)] = mean[np.isnan(center)]
    if low is not None and high is not None:  # (set together)
        check_range(low, high, center)
    if not with_noise or low is None or high is None:
        return center, None
    return center, noise_bounds(np.vstack([low, high]))  # its check of constant features


def _sample(data: StreamedFile | StreamedChunks, rng: np.random.Generator) -> ChunkedData:
    """The rows initialisers see: an in-memory ChunkedData of at most KMEANS_MAX_ROWS rows.

    Every row when there are that few (with their weights, as in memory);
    else a uniform random sample drawn without replacement, with
    probability proportional to the weights when there are weights (its
    rows then count once each, as in :func:`gmmkit.engine.seeding.seed_centers`).
    """
    n, weights, max_rows = data.n_samples, data.sample_weight, init.KMEANS_MAX_ROWS
    rows: IntArray
    if n <= max_rows:
        rows = np.arange(n)
    elif weights is None:
        rows = _uniform_rows(n, max_rows, rng)
    else:
        rows = np.flatnonzero(weights > 0)
        if rows.size > max_rows:
            p = weights[rows] / weights[rows].sum()
            rows = np.sort(rng.choice(rows, size=max_rows, replace=False, p=p))
            weights = None
    reader = data.reader
    assert reader.dtype is not None  # (described by the check pass)
    dtype = reader.dtype if reader.dtype.kind == "f" else np.dtype(np.float64)
    X = np.empty((rows.size, data.n_features), dtype=dtype.newbyteorder("="))
    done = 0
    for start, block in read_blocks(reader):
        end = int(np.searchsorted(rows, start + block.shape[0]))
        X[done:end] = block[rows[done:end] - start]
        done = end
        if done == rows.size:
            break
    weights = None if weights is None else weights[rows]
    return ChunkedData(X, weights, data.center, data.dtype, data.chunk_size)


def _uniform_rows(n: int, size: int, rng: np.random.Generator, block: int = READ_ROWS) -> IntArray:
    """``size`` distinct row indices of ``n``, uniformly at random, sorted: (size,).

    How many fall in each block of rows comes from a multivariate
    hypergeometric draw, then each block draws its own, so the memory is
    bounded by the block and the sample, never by ``n``.
    """
    starts = np.arange(0, n, block)
    counts = rng.multivariate_hypergeometric(np.diff(np.append(starts, n)), size)
    return np.concatenate([
        start + np.sort(rng.choice(min(block, n - start), count, replace=False))
        for start, count in zip(starts, counts)
    ])


class LazySample:
    """``init_data`` of a stream: the sample is drawn when an initialiser first reads it.

    With weights_init, means_init and precisions_init all given no
    initialiser runs, and no pass is spent on a sample.
    """

    def __init__(self, data: StreamedFile | StreamedChunks, rng: np.random.Generator) -> None:
        self.center = data.center
        self._source = (data, rng)
        self._sample: ChunkedData | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_source" not in self.__dict__:
            raise AttributeError(name)
        if self._sample is None:
            self._sample = _sample(*self._source)
        return getattr(self._sample, name)


@dataclass
class StreamedFile(ChunkedData):
    """A file's rows (``X``: an :class:`NpyFile`), served chunk by chunk like in-memory rows.

    The engine's worker threads read their chunks themselves (positional
    reads on one file descriptor, a buffer per thread), so reading overlaps
    the arithmetic. Initialisers see :func:`_sample`.
    """

    @property
    def reader(self) -> NpyFile:
        return cast("NpyFile", self.X)

    def e_step(self, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner) -> Stats:
        """Summed Stats of every row: the engine's e_step, the file held open for the pass."""
        with self.reader.opened():
            return e_step(self, cov_type, params, runner)

    def init_data(self, rng: np.random.Generator) -> ChunkedData:
        """A random sample of the rows, read when an initialiser needs it."""
        return cast("ChunkedData", LazySample(self, rng))  # (it forwards to the sample)


@dataclass
class StreamedChunks:
    """The chunks of a :class:`ChunkFunction`, each served as an in-memory ChunkedData.

    Attributes
    ----------
    reader : ChunkFunction
    sample_weight : ndarray of shape (n_samples,) or None
    center : ndarray of shape (n_features,)
    dtype : numpy dtype
        Working dtype of the E-step.
    chunk_size : int
        Rows per engine chunk; a larger chunk of the function is split.
    """

    reader: ChunkFunction
    sample_weight: np.ndarray | None
    center: np.ndarray
    dtype: np.dtype
    chunk_size: int

    #: restarts run in this process (the function need not pickle)
    picklable = False

    @property
    def n_samples(self) -> int:
        n_samples = self.reader.n_samples
        assert n_samples is not None  # (counted by the check pass)
        return n_samples

    @property
    def n_features(self) -> int:
        n_features = self.reader.n_features
        assert n_features is not None  # (read from the first chunk)
        return n_features

    def with_dtype(self, dtype: DTypeLike) -> StreamedChunks:
        """The same chunks served in another working dtype."""
        return replace(self, dtype=np.dtype(dtype))

    def e_step(self, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner) -> Stats:
        """Summed Stats of every chunk, each through the engine's e_step, in order."""
        total: Stats | None = None
        for start, chunk in self.reader.blocks():
            weights = None
            if self.sample_weight is not None:
                weights = self.sample_weight[start : start + chunk.shape[0]]
            view = ChunkedData(chunk, weights, self.center, self.dtype, self.chunk_size)
            part = view.e_step(cov_type, params, runner)
            total = part if total is None else total + part
        assert total is not None  # (the check pass refused a function without rows)
        return total

    def init_data(self, rng: np.random.Generator) -> ChunkedData:
        """A random sample of the rows, read when an initialiser needs it."""
        return cast("ChunkedData", LazySample(self, rng))  # (it forwards to the sample)
