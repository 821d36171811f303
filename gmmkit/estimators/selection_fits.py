"""One fit of :func:`gmmkit.select_model`'s grid: its start, EM, and its row of the table.

:func:`fit_task` runs in the grid's worker processes (or in the calling
process): the data are prepared once per process (validated, centred and
chunked as ``GaussianMixture.fit`` does), then every task starts from
the hierarchical clustering partition, a k-means++ seeding, or the
parameters of a neighbouring fit, and runs the engine's EM. A fit that
cannot come near the best BIC of the smaller K already fitted is stopped
early (:class:`Hopeless`) and marked so in its row.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.in_memory import in_memory_data
from gmmkit.data.settings import DataSettings
from gmmkit.data.validation import NAN_FIX
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.convergence import EMSettings, guard_float32, run_em
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.criteria import information_criteria, n_parameters
from gmmkit.engine.em import MixtureParams, params_from_stats, score_chunks
from gmmkit.engine.estep import stats_from_resp
from gmmkit.engine.missing import MissingData
from gmmkit.engine.noise import NOISE_INIT_WEIGHT, log_density, noise_bounds
from gmmkit.engine.responsibilities import log_normalize
from gmmkit.engine.seeding import initial_stats
from gmmkit.engine.threads import ChunkRunner
from gmmkit.estimators.grid import collapsed_params
from gmmkit.exceptions import DegenerateComponentWarning

if TYPE_CHECKING:
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.types import DataSource, FloatArray, IntArray
    from gmmkit.estimators.mixture import GaussianMixture

#: a fit is hopeless when even this many times its projected remaining
#: log-likelihood gain leaves its BIC above the reference ...
HOPELESS_SAFETY = 10.0
#: ... by more than this many BIC units per row (unit of weight), and at least
#: HOPELESS_MARGIN: 0.25 nats of log-likelihood per row, far more than a fit
#: gains after its first iterations unless it is still leaving a saddle
HOPELESS_PER_ROW = 0.5
HOPELESS_MARGIN = 10.0
#: and never before this many iterations, or after 3 when the gap is this many
#: times the margin (its projection then uses the one rate it has)
HOPELESS_MIN_ITER = 5
HOPELESS_EARLY_FACTOR = 4.0


@dataclass
class FitTask:
    """One fit of the grid.

    Attributes
    ----------
    n_components : int
    model : str
        The covariance_type.
    start : str
        "hc", an initialiser name ("k-means++", "kmeans", ...), "split" or "merge".
    seed : int, tuple of int or None
        The initialiser's seed (a tuple: the entropy of a restart's
        generator, as :func:`gmmkit.engine.rng.restart_rngs` seeds it).
    params : MixtureParams or None
        Start parameters ("split", "merge").
    reference : float
        The best BIC (scikit-learn's sign) of earlier rounds: the fit stops
        once it cannot come within the hopeless margin of it. inf: never stops.
    hc_labels : ndarray of int or None
        The hierarchical clustering partition of the shared ``hc_rows`` into
        ``n_components`` clusters (start "hc").
    """

    n_components: int
    model: str
    start: str = "hc"
    seed: int | tuple[int, int] | None = None
    params: MixtureParams | None = None
    reference: float = np.inf
    hc_labels: IntArray | None = None


@dataclass
class FitResult:
    """A row of the table and the fitted parameters (None when the fit failed)."""

    row: dict[str, Any]
    params: MixtureParams | None = None
    lower_bounds: list[float] = field(default_factory=list)


def empty_row(n_components: int, model: str, start: str) -> dict[str, Any]:
    """A table row before the fit."""
    return {
        "n_components": n_components, "covariance_type": model, "bic": None, "aic": None,
        "icl": None, "log_likelihood": None, "n_parameters": None, "converged": False,
        "n_iter": 0, "degenerate": False, "stopped": False, "monotone": True, "start": start,
        "error": None, "warnings": [], "seconds": 0.0, "chosen": False, "_map": None,
    }


class Hopeless:
    """``EMSettings.stop``: True once a fit's BIC cannot come near the reference.

    EM's log-likelihood converges linearly: with rate r, the largest ratio
    of successive changes over the last three iterations, about
    d r / (1 - r) per row is still to come after a change d. The fit is
    hopeless, after HOPELESS_MIN_ITER iterations, when its BIC with
    HOPELESS_SAFETY times that gain is still above ``reference`` by more
    than HOPELESS_PER_ROW per row (and HOPELESS_MARGIN); after 3
    iterations already when it is HOPELESS_EARLY_FACTOR times further. A
    fit whose changes do not shrink (rate >= 0.98, or growing) is never
    stopped.
    """

    def __init__(self, reference: float, weight: float, n_params: int) -> None:
        self.reference, self.weight = reference, weight
        self.penalty = n_params * np.log(weight)
        self.margin = max(HOPELESS_MARGIN, HOPELESS_PER_ROW * weight)
        self.stopped = False

    def __call__(self, lower_bounds: list[float]) -> bool:
        if len(lower_bounds) < 3:
            return False
        margin = self.margin * (1.0 if len(lower_bounds) >= HOPELESS_MIN_ITER
                                else HOPELESS_EARLY_FACTOR)
        changes = np.diff(lower_bounds[-4:])
        if not np.all(changes[:-1] > 0) or changes[-1] < 0:
            return False
        rate = float(np.max(changes[1:] / changes[:-1]))
        if rate >= 0.98:
            return False
        projected = lower_bounds[-1] + HOPELESS_SAFETY * changes[-1] * rate / (1.0 - rate)
        bic = -2.0 * self.weight * projected + self.penalty
        self.stopped = bic > self.reference + margin
        return self.stopped


def prepared(
    cache: dict[str, Any], X: FloatArray, sample_weight: FloatArray | None,
    estimator: type[GaussianMixture], params: dict[str, Any],
) -> tuple[DataSource, FloatArray | None]:
    """(engine data, noise bounds) of X, prepared once per process as ``fit`` prepares it.

    X and ``sample_weight`` are validated already (select_model); the
    estimator checks ``params`` (``check_params``).
    """
    if "data" not in cache:
        template = estimator(1, **params)
        template.check_params()
        settings = DataSettings(1, "VVV", chunk_size=template.chunk_size, dtype=template.dtype,
                                noise=template.noise is not None, missing=template.missing)
        dtype = settings.work_dtype(X.dtype)
        cache["data"] = in_memory_data(
            X, sample_weight, dtype=dtype, chunk_rows=settings.chunk_rows(X.shape[1], dtype),
            missing=template.missing, nan_fix=NAN_FIX,
        )
        cache["bounds"] = None if template.noise is None else noise_bounds(X, sample_weight)
    return cache["data"], cache["bounds"]


def warm_up(*, X: FloatArray, sample_weight: FloatArray | None,
            estimator: type[GaussianMixture], params: dict[str, Any], cache: dict[str, Any],
            **_: Any) -> None:
    """Prepare the data in a worker as it starts (TaskPool's ``warmup``)."""
    prepared(cache, X, sample_weight, estimator, params)


def fit_task(
    task: FitTask, *, X: FloatArray, sample_weight: FloatArray | None,
    estimator: type[GaussianMixture], params: dict[str, Any], hc_rows: IntArray | None,
    hc_weights: FloatArray | None, cache: dict[str, Any], one_always: bool = False,
) -> FitResult:
    """Run one :class:`FitTask`; returns its :class:`FitResult`. Runs in workers.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
    estimator : type
        GaussianMixture (its ``fit`` prepares the data).
    params : dict
        The estimator parameters of every fit (tol, max_iter, reg_covar, ...).
    hc_rows, hc_weights : ndarray
        The rows hierarchical clustering ran on and their weights.
    cache : dict
        Per-process cache of the prepared data.
    one_always : bool, default=False
        Fit K = 1 even with more free parameters than rows (its covariance
        then rests on ``reg_covar``, as ``GaussianMixture(1).fit`` does);
        other K are refused with an error row.
    """
    row = empty_row(task.n_components, task.model, _start_name(task))
    started = time.perf_counter()
    cov_type = get_covariance_type(task.model)
    data, bounds = prepared(cache, X, sample_weight, estimator, params)
    weight = float(len(X) if sample_weight is None else sample_weight.sum())
    k, d = task.n_components, X.shape[1]
    p = n_parameters(task.model, k, d, noise=bounds is not None)
    rows = int(len(X) if sample_weight is None else np.count_nonzero(sample_weight))
    if rows < p and not (one_always and k == 1):  # more parameters than rows: not identifiable
        row["error"] = (
            f"{task.model} with K={k} has {p} free parameters, but X has only {rows} rows "
            f"(with non-zero weight); it needs at least {p}."
        )
        return FitResult(row)
    stop = Hopeless(task.reference, weight, p) if np.isfinite(task.reference) else None
    settings = EMSettings(params.get("max_iter", 100), params.get("tol", 1e-3),
                          params.get("reg_covar", 1e-6), stop=stop)
    result = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with ChunkRunner() as runner:
                start = _start(task, data, cov_type, settings.reg_covar, bounds,
                               (hc_rows, hc_weights), runner)
                result = run_em(data, cov_type, start, settings, runner)
                if stop is not None and stop.stopped:  # its last E-step's figures will do
                    totals = (result.lower_bound * weight, np.nan, np.nan)
                else:
                    totals = _final_pass(data, cov_type, result.params, runner, sample_weight)
        except ValueError as exc:
            row["error"] = " ".join(str(exc).split())
    row["seconds"] = time.perf_counter() - started
    row["warnings"] = list(dict.fromkeys(str(w.message) for w in caught))
    row["degenerate"] = any(issubclass(w.category, DegenerateComponentWarning) for w in caught)
    if result is None:
        return FitResult(row)
    fitted = result.params
    assert fitted.covariances is not None  # an M-step's output
    if collapsed_params(task.model, fitted.weights, fitted.means, fitted.covariances,
                        settings.reg_covar):
        row["degenerate"] = True
        row["warnings"].append(
            "a component collapsed: its covariance is at the reg_covar floor (it sits on "
            "repeated or nearly collinear points), so its likelihood is unbounded"
        )
    total, entropy, map_term = totals
    bic, aic = (float(v) for v in information_criteria(total, weight, p))
    icl = None if np.isnan(entropy) else bic + 2.0 * entropy
    row.update(bic=bic, aic=aic, icl=icl, log_likelihood=total, n_parameters=p,
               converged=bool(result.converged), n_iter=int(result.n_iter),
               stopped=bool(stop is not None and stop.stopped), _map=map_term)
    if row["stopped"]:
        row["_map"] = None
        row["warnings"].append(
            f"stopped after {result.n_iter} iterations: even with the log-likelihood it "
            "could still gain, its BIC stays above the best BIC of a smaller K (its "
            "log-likelihood and BIC are those of its last E-step; no ICL)"
        )
    return FitResult(row, result.params, list(result.lower_bounds))


def _start_name(task: FitTask) -> str:
    return {"split": f"split K={task.n_components - 1}",
            "merge": f"merge K={task.n_components + 1}"}.get(task.start, task.start)


def _start(
    task: FitTask, data: DataSource, cov_type: CovarianceType, reg_covar: float,
    bounds: FloatArray | None, hc: tuple[IntArray | None, FloatArray | None],
    runner: ChunkRunner,
) -> MixtureParams:
    """The start parameters of a task (with the noise component's start when there is one)."""
    if task.params is not None:
        return task.params
    k = task.n_components
    rng = np.random.default_rng(task.seed)  # one stream, as GaussianMixture.fit draws it
    init = data.init_data(rng)
    if task.start == "hc":
        hc_rows, hc_weights = hc
        assert hc_rows is not None and task.hc_labels is not None  # select_model's hc start
        Xt = np.ascontiguousarray(init.rows(hc_rows), dtype=np.float64)
        resp = np.zeros((k, len(hc_rows)))
        resp[task.hc_labels, np.arange(len(hc_rows))] = 1.0
        stats = stats_from_resp(cov_type, cov_type.design(Xt), resp, hc_weights, Xt.shape[0])
    else:
        stats = initial_stats(task.start, init, cov_type, k, rng, runner)
    params = params_from_stats(stats, cov_type, reg_covar, data.center)[0]
    if bounds is not None:
        params.weights = params.weights * (1.0 - NOISE_INIT_WEIGHT)
        params.noise_weight = NOISE_INIT_WEIGHT
        params.noise_log_density = log_density(bounds)
    return params


def _final_pass(
    data: DataSource, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner,
    sample_weight: FloatArray | None,
) -> tuple[float, float, float]:
    """(total log-likelihood, soft entropy, MAP term) of the fitted parameters.

    The soft entropy is -sum_n w_n sum_k z_nk log z_nk (gmmkit's ICL); the
    MAP term -sum_n w_n log max_k z_nk (mclust's ICL).
    """
    data = guard_float32(data, cov_type, params)

    def reduce(log_prob: FloatArray) -> FloatArray:
        log_norm = log_normalize(log_prob)
        tiny = np.finfo(log_prob.dtype).tiny
        entropy = -(log_prob * np.log(np.maximum(log_prob, tiny))).sum(axis=0, dtype=np.float64)
        map_term = -np.log(np.maximum(log_prob.max(axis=0), tiny), dtype=np.float64)
        return np.stack([log_norm, entropy, map_term], axis=1)

    total: float | None = None
    if isinstance(data, MissingData):
        scored = data.map_log_prob(cov_type, params, runner, reduce)
        assert scored is not None  # there are rows
        per_row = np.array(scored)
        per_row[:, 0] = np.nan
        total = data.e_step(cov_type, params, runner).loglik
    else:
        assert isinstance(data, ChunkedData)  # select_model's data are in memory
        per_row = np.concatenate(score_chunks(data, cov_type, params, runner, reduce))
    weights = np.ones(len(per_row)) if sample_weight is None else sample_weight
    sums = weights @ np.nan_to_num(per_row)
    return (float(sums[0]) if total is None else float(total)), float(sums[1]), float(sums[2])
