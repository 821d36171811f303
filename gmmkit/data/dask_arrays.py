"""Dask arrays: EM over the blocks of a Dask array, on any Dask scheduler.

``GaussianMixture.fit(X)`` with a ``dask.array.Array`` X comes here
through :func:`gmmkit.data.sources.open_source`. Each EM iteration is one Dask
computation (docs/distributed.md)::

    params  -> one key in the graph (sent to the scheduler once)
    block i -> ChunkedData(block i) -> the engine's own e_step -> Stats   (on a worker)
    Stats   -> summed in a tree, SPLIT_EVERY at a time -> one Stats       (to the client)

so no block ever reaches the client: per block, only its Stats travel,
K x (D + D(D+1)/2 + 1) + 3 floats for full covariances. The M-step runs on
the client, on the summed Stats, exactly as for data in memory, so a
Dask fit equals the in-memory fit up to the order of the sums.

Input checks and the centre pass live in :mod:`gmmkit.data.dask_checks`.
The computations run on Dask's default scheduler: the active
``dask.distributed.Client`` when there is one (a LocalCluster or a real
cluster), else the threaded scheduler. Dask is imported inside the
functions here, never when gmmkit is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.dask_checks import add_all, aligned_weights, check_dask_array, summarize_block
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.criteria import information_criteria as criteria_of
from gmmkit.engine.criteria import n_parameters
from gmmkit.engine.noise import noise_bounds
from gmmkit.engine.reference import check_range, reference_rows, trimmed_mean
from gmmkit.engine.seeding import KMEANS_MAX_ROWS
from gmmkit.engine.threads import ChunkRunner

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import ModuleType

    import dask.array as da
    from dask.delayed import Delayed
    from distributed import Client
    from numpy.typing import ArrayLike, DTypeLike

    from gmmkit.data.settings import DataSettings
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams, Stats
    from gmmkit.engine.types import AnyArray, FittedMixture, FloatArray, IntArray, PathLike

#: partial results summed by one task of the tree reductions
SPLIT_EVERY = 8

#: bytes per block of :func:`from_npy` when ``block_rows`` is not given
NPY_BLOCK_BYTES = 64 * 2**20

INSTALL_HINT = "pip install 'gmmkit[distributed]'"


class DaskComputationError(RuntimeError):
    """A Dask computation of a fit failed on the scheduler or a worker.

    The original exception is chained (``__cause__``); the model keeps the
    attributes it had before ``fit``.
    """


def import_dask() -> tuple[ModuleType, ModuleType]:
    """``(dask, dask.array)``, or an ImportError with the install hint."""
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise ImportError(
            f"fitting Dask arrays needs dask[array] ({exc}); install it with {INSTALL_HINT}"
        ) from None
    return dask, da


def compute(*values: Any, what: str) -> tuple[Any, ...]:
    """``dask.compute(*values)``, with failures raised as DaskComputationError."""
    dask, _ = import_dask()
    try:
        return dask.compute(*values)
    except Exception as exc:
        raise DaskComputationError(
            f"the Dask computation of {what} failed ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())}); the model keeps its previous attributes. "
            "Check that the cluster's workers are running, can read the data and have "
            "enough memory (their logs tell), then fit again."
        ) from exc


def tree_reduce(
    parts: list[Any], combine: Callable[..., Any], split_every: int = SPLIT_EVERY
) -> Delayed:
    """One Delayed: ``combine(*group)`` over groups of ``split_every``, level by level."""
    dask, _ = import_dask()
    task = dask.delayed(combine, pure=False)
    while len(parts) > 1:
        parts = [task(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


# ------------------------------------------------------------ the source


class DaskSource:
    """A Dask array on its way into a fit (see :mod:`gmmkit.data.sources`).

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
    """

    def __init__(self, X: da.Array) -> None:
        self.X = X

    def prepare(
        self, settings: DataSettings, sample_weight: ArrayLike | da.Array | None
    ) -> tuple[DaskData, None, FloatArray | None]:
        """Validate X; one Dask pass for the centre (and noise box).

        Parameters
        ----------
        settings : gmmkit.data.settings.DataSettings
            The estimator's settings, checked by the estimator.
        sample_weight : None, array-like or dask.array.Array of shape (n_samples,)
            A Dask array is rechunked to X's row chunks if its own differ.

        Returns
        -------
        data : DaskData
        feature_names : None
        noise_bounds : ndarray of shape (n_features, 2) or None

        Raises
        ------
        ValueError
            For data a fit cannot take, with the messages of in-memory data.
        DaskComputationError
            When the pass fails on the cluster.
        """
        X = check_dask_array(self.X)
        if settings.missing == "em":
            raise ValueError(
                "missing='em' does not take Dask arrays; drop the rows with NaN "
                "(or fit an in-memory array) and use missing='error'."
            )
        weights = aligned_weights(sample_weight, X)
        if weights is None:
            settings.check_enough_samples(X.shape[0])
        blocks = list(zip(row_blocks(X), weight_blocks(weights, X), block_offsets(X)))
        parts = [dask_call(summarize_block, x, w, offset, True) for x, w, offset in blocks]
        # the in-memory fit's reference point, from the same rows (em.reference_rows)
        rows = reference_rows(X.shape[0])
        step = int(rows[1]) if rows.size > 1 else 1
        picks = [dask_call(_pick_rows, x, w, offset, step) for x, w, offset in blocks]
        centre = dask_call(_trimmed_mean, tree_reduce(picks, _join_picks))  # on a worker
        summary, center = compute(tree_reduce(parts, add_all), centre, what="the data's centre")
        summary.check(settings, weighted=weights is not None)
        mean = summary.sums / summary.weight
        center[np.isnan(center)] = mean[np.isnan(center)]
        check_range(summary.low, summary.high, center)
        dtype = settings.work_dtype(X.dtype)
        data = DaskData(
            X, weights, center, dtype,
            settings.chunk_rows(X.shape[1], dtype), n_positive=summary.positive,
        )
        bounds = None
        if settings.noise:
            bounds = noise_bounds(np.vstack([summary.low, summary.high]))
        return data, None, bounds


def _pick_rows(
    x: AnyArray, w: AnyArray | None, offset: int, step: int
) -> tuple[FloatArray, FloatArray | None]:
    """A block's rows whose index in X is a multiple of ``step``, and their weights."""
    first = -offset % step
    picked = np.asarray(x[first::step], dtype=np.float64)
    return picked, None if w is None else np.asarray(w[first::step], dtype=np.float64)


def _join_picks(
    *picks: tuple[FloatArray, FloatArray | None]
) -> tuple[FloatArray, FloatArray | None]:
    """The rows (and weights) of several :func:`_pick_rows`, in order."""
    weights = [w for _, w in picks]
    return (
        np.concatenate([values for values, _ in picks]),
        None if weights[0] is None else np.concatenate(weights),  # type: ignore[arg-type]
    )  # (all None or none: the blocks of one pass)


def _trimmed_mean(picked: tuple[FloatArray, FloatArray | None]) -> FloatArray:
    return trimmed_mean(*picked)


def row_blocks(X: da.Array) -> list[Delayed]:
    """X's row blocks as a list of Delayed (the graph optimised once)."""
    return list(X.to_delayed().ravel())


def weight_blocks(weights: da.Array | None, X: da.Array) -> list[Delayed] | list[None]:
    """The weights' blocks as Delayed, or None per block."""
    if weights is None:
        return [None] * len(X.chunks[0])
    return list(weights.to_delayed().ravel())


def block_offsets(X: da.Array) -> list[int]:
    """Index of every row block's first row."""
    return np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int).tolist()


def dask_call(function: Callable[..., Any], *args: Any) -> Delayed:
    """``function(*args)`` as one task of a Dask graph (a Delayed)."""
    dask, _ = import_dask()
    return dask.delayed(function, pure=False)(*args)


# ------------------------------------------------------------ the data


@dataclass
class DaskData:
    """A Dask array served to the EM engine (:mod:`gmmkit.engine.chunked_data`'s protocol).

    Attributes
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Row blocks only (the columns in one block).
    sample_weight : dask.array.Array of shape (n_samples,), float64, or None
        With X's row chunks.
    center : ndarray of shape (n_features,)
        The weighted mean of X, subtracted from every block.
    dtype : numpy dtype
        Working dtype of the E-step.
    chunk_size : int
        Rows per engine chunk inside a block.
    n_positive : int
        Rows with a positive weight (all rows without weights).
    """

    X: da.Array
    sample_weight: da.Array | None
    center: np.ndarray
    dtype: np.dtype
    chunk_size: int
    n_positive: int = 0

    #: restarts with n_jobs do not ship this to processes (run_restarts)
    picklable = False

    def __post_init__(self) -> None:
        self._x_blocks = row_blocks(self.X)
        self._w_blocks = weight_blocks(self.sample_weight, self.X)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def with_dtype(self, dtype: DTypeLike) -> DaskData:
        """The same data served in another working dtype."""
        return replace(self, dtype=np.dtype(dtype))

    def e_step_graph(self, cov_type: CovarianceType, params: MixtureParams) -> Delayed:
        """The Delayed of one E-step: one task per block, then a tree of sums.

        ``params`` enter the graph once, as one key every block task reads.
        """
        dask, _ = import_dask()
        shared = dask.delayed(
            (cov_type.name, params, self.center, self.dtype, self.chunk_size),
            pure=False, traverse=False,
        )
        parts = [
            dask_call(block_e_step, x, w, shared)
            for x, w in zip(self._x_blocks, self._w_blocks)
        ]
        return tree_reduce(parts, add_all)

    def e_step(self, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner) -> Stats:
        """Summed Stats of every row under ``params``: one Dask computation.

        ``runner`` (the client's threads) is not used: each block runs on a
        Dask worker with a one-thread runner of its own.
        """
        (stats,) = compute(self.e_step_graph(cov_type, params), what="an EM iteration")
        return stats

    def init_data(self, rng: np.random.Generator) -> ChunkedData:
        """The rows the initialisers see, in memory: at most ``KMEANS_MAX_ROWS``.

        Data of at most ``KMEANS_MAX_ROWS`` rows (or with at most that many
        rows of positive weight) come whole, with their weights, so the
        initialisers see what they see in memory. Otherwise ``KMEANS_MAX_ROWS``
        rows are drawn without replacement, with probability proportional
        to their weight (sampling keys made on the workers: only the chosen
        indices and rows reach the client), and count once each. The rows
        are computed when an initialiser first reads them: a fit given
        ``weights_init``, ``means_init`` and ``precisions_init`` never does.

        Returns
        -------
        gmmkit.engine.chunked_data.ChunkedData
        """
        weighted = self.sample_weight is not None
        seed: int | bool | None
        if self.n_samples <= KMEANS_MAX_ROWS:
            seed, n_rows = False, self.n_samples  # every row
        elif weighted and self.n_positive <= KMEANS_MAX_ROWS:
            seed, n_rows = None, self.n_positive  # every row of positive weight
        else:
            seed, n_rows, weighted = int(rng.integers(2**63)), KMEANS_MAX_ROWS, False
        fetch = cache(partial(self._fetch_rows, seed, weighted))
        X = LazyRows(fetch, 0, (n_rows, self.n_features), self.X.dtype)
        weights = LazyRows(fetch, 1, (n_rows,), np.float64) if weighted else None
        # (LazyRows stand for arrays: computed when first read)
        return ChunkedData(
            X, weights, self.center, self.dtype, self.chunk_size  # type: ignore[arg-type]
        )

    def _fetch_rows(self, seed: int | None | bool, weighted: bool) -> tuple[Any, ...]:
        """(rows, weights or None) of :meth:`init_data`, computed."""
        X, weights = self.X, self.sample_weight if weighted else None
        if seed is not False:
            rows = self._top_rows(seed, KMEANS_MAX_ROWS)
            X, weights = X[rows], None if weights is None else weights[rows]
        return compute(X, weights, what="the rows of the initialisation")

    def _top_rows(self, seed: int | None, n_rows: int) -> IntArray:
        """Sorted indices of the ``n_rows`` rows of largest key (see sample_keys)."""
        parts = [
            dask_call(sample_keys, w, size, offset, seed, index, n_rows)
            for index, (w, size, offset) in enumerate(
                zip(self._w_blocks, self.X.chunks[0], block_offsets(self.X))
            )
        ]
        (keys, rows), = compute(
            tree_reduce(parts, partial(largest_keys, n_rows=n_rows)), what="the sample's rows"
        )
        return np.sort(rows[np.isfinite(keys)])


class LazyRows:
    """An array of known shape and dtype, computed when first read.

    Parameters
    ----------
    fetch : callable
        Returns a tuple of arrays (computed once: cache it).
    index : int
        Which of them this is.
    """

    def __init__(
        self,
        fetch: Callable[[], tuple[Any, ...]],
        index: int,
        shape: Sequence[int],
        dtype: DTypeLike,
    ) -> None:
        self._fetch, self._index = fetch, index
        self.shape, self.dtype, self.ndim = tuple(shape), np.dtype(dtype), len(shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        return self._fetch()[self._index][key]

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> AnyArray:
        return np.asarray(self._fetch()[self._index], dtype=dtype)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fetch()[self._index], name)


def block_e_step(
    x: ArrayLike,
    w: ArrayLike | None,
    shared: tuple[str, MixtureParams, FloatArray, np.dtype[Any], int],
) -> Stats | None:
    """Stats of one block under the shared parameters: the engine's own E-step."""
    cov_name, params, center, dtype, chunk_size = shared
    x = np.asarray(x)
    if x.shape[0] == 0:
        return None
    w = None if w is None else np.asarray(w, dtype=np.float64)
    data = ChunkedData(x, w, center, dtype, chunk_size)
    with ChunkRunner(n_threads=1) as runner:
        return data.e_step(get_covariance_type(cov_name), params, runner)


def sample_keys(
    w: ArrayLike | None, size: int, offset: int, seed: int | None, index: int, n_rows: int
) -> tuple[FloatArray, IntArray]:
    """The ``n_rows`` largest sampling keys of a block and their row indices.

    Key log(u) / w with u uniform (Efraimidis and Spirakis): the rows of
    the largest keys are a sample without replacement with probability
    proportional to weight. Rows of weight 0 get -inf; with ``seed`` None
    every row of positive weight gets key 0.
    """
    w = np.ones(size) if w is None else np.asarray(w, dtype=np.float64)
    if seed is None:
        keys = np.zeros(size)
    else:
        keys = np.log(np.random.default_rng([seed, index]).uniform(size=size))
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, keys / np.where(w > 0, w, 1.0), -np.inf)
    return largest_keys((keys, offset + np.arange(size)), n_rows=n_rows)


def largest_keys(*parts: tuple[FloatArray, IntArray], n_rows: int) -> tuple[FloatArray, IntArray]:
    """``(keys, rows)`` of the ``n_rows`` largest keys among ``parts``' pairs."""
    keys = np.concatenate([p[0] for p in parts])
    rows = np.concatenate([p[1] for p in parts])
    if keys.size > n_rows:
        top = np.argpartition(-keys, n_rows - 1)[:n_rows]
        keys, rows = keys[top], rows[top]
    return keys, rows


# ------------------------------------------------------------ helpers for users and the CLI


def from_npy(path: PathLike, *, block_rows: int | None = None) -> da.Array:
    """A Dask array of a .npy file, each block read by the worker that needs it.

    Only the header is read here; the path must be readable at the same
    place by every worker (a shared file system), or the fit fails with a
    DaskComputationError naming the missing file.

    Parameters
    ----------
    path : str or os.PathLike
        A 2-D (or 1-D: one feature) numeric .npy array.
    block_rows : int, optional
        Rows per block; default about 64 MiB per block.

    Returns
    -------
    dask.array.Array of shape (n_samples, n_features)
    """
    dask, da = import_dask()
    path = str(path)
    header = np.load(path, mmap_mode="r", allow_pickle=False)
    shape = header.shape if header.ndim == 2 else (header.shape[0], 1)
    if header.ndim not in (1, 2):
        raise ValueError(f"{path}: expected a 2-D array of rows, got shape {header.shape}")
    if block_rows is None:
        block_rows = max(1, NPY_BLOCK_BYTES // max(1, shape[1] * header.dtype.itemsize))
    read = dask.delayed(read_npy_rows, pure=True)
    blocks = [
        da.from_delayed(read(path, start, min(start + block_rows, shape[0])),
                        shape=(min(block_rows, shape[0] - start), shape[1]), dtype=header.dtype)
        for start in range(0, shape[0], block_rows)
    ]
    return da.concatenate(blocks, axis=0)


def read_npy_rows(path: PathLike, start: int, stop: int) -> AnyArray:
    """Rows ``start:stop`` of a .npy file as a 2-D ndarray (memory-mapped read)."""
    rows = np.array(np.load(path, mmap_mode="r", allow_pickle=False)[start:stop])
    return rows.reshape(len(rows), -1)


def information_criteria(model: FittedMixture, X: da.Array) -> dict[str, Any]:
    """BIC and AIC of a fitted model on a Dask array, scored on the workers.

    Returns
    -------
    dict with "n_samples", "bic", "aic"
    """
    log_lik = X.map_blocks(  # type: ignore[call-arg]  # (dask's types of map_blocks)
        model.score_samples, drop_axis=1, dtype=np.float64  # type: ignore[arg-type]
    )
    (total,) = compute(log_lik.sum(), what="the log-likelihood")
    n_components, n_features = model.means_.shape
    p = n_parameters(
        model.covariance_type, n_components, n_features, noise=hasattr(model, "noise_bounds_")
    )
    bic, aic = criteria_of(total, X.shape[0], p)
    return {"n_samples": int(X.shape[0]), "bic": float(bic), "aic": float(aic)}


def connect(address: str) -> Client:
    """A ``distributed.Client`` connected to the scheduler at ``address``.

    The timeout is Dask's ``distributed.comm.timeouts.connect`` (30 s by default).

    Raises
    ------
    ImportError
        Without dask.distributed (with the install hint).
    OSError
        When the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(
            f"--dask-scheduler needs dask.distributed ({exc}); install it with {INSTALL_HINT}"
        ) from None
    try:
        return Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise OSError(
            f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())}); check the address (tcp://host:8786), that "
            "a Dask scheduler runs there and that this machine can reach its port."
        ) from None
