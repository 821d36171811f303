"""The covariance-type table.

Each covariance type (``full``, ``tied``, ``diag``, ``spherical``) is one
object with the same small set of methods, so the engine never branches on
the type name:

- ``design(Xt)``: the chunk's design matrix, built once per chunk and
  shared by the E-step and the M-step sums;
- ``log_prob(S, plan)``: weighted log densities of all components, one
  or two BLAS calls;
- ``moments(S, resp)``: the chunk's first and second moment sums, one GEMM;
- ``covariances(nk, sx, sxx, reg_covar)``: the M-step from summed moments;
- ``precision_cholesky``, ``log_det``, ``precisions``, ``n_parameters``,
  ``sample``: parameter algebra in scikit-learn's conventions.

A chunk arrives *centred* and *transposed*: ``Xt`` of shape (D, n), the
global reference point (the data mean) already subtracted, so expanded
quadratic forms and second moments do not lose their digits when data sit
far from the origin.  Their accuracy then depends only on how far each
component lies from the data centre in its own standard deviations
(``whitened_offsets``): about eps x offset**2, which is why float32 work
falls back to float64 beyond an offset of 30 (see gmmkit.engine.em).  Log
densities and responsibilities are (K, n): reductions over components
run along contiguous rows, several times faster than over the short last
axis of an (n, K) array.

Design matrices (T = D(D+1)/2 pairwise products x_i x_j, i <= j):

=========  ===============  ============================================
type       design S         log densities
=========  ===============  ============================================
full       [Q; X] (T+D, n)  one GEMM: (K, T+D) @ S, the quadratic form
                            expanded on the pairwise products
tied       X (D, n)         P'X once for all components, one GEMM
diag       [X^2; X] (2D, n) one GEMM
spherical  [X^2; X] (2D, n) one GEMM (diag with a shared variance)
=========  ===============  ============================================

Shapes (K components, D features):

=========  ==================  ==================  ===================
type       covariances         precisions_cholesky  second-moment stats
=========  ==================  ==================  ===================
full       (K, D, D)           (K, D, D) upper     (K, D*(D+1)/2)
tied       (D, D)              (D, D) upper        (D, D)
diag       (K, D)              (K, D)              (K, D)
spherical  (K,)                (K,)                (K, D)
=========  ==================  ==================  ===================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.linalg import (
    inner_products,
    pairwise_products_t,
    precision_cholesky_from_cov,
    precision_cholesky_from_precision,
    triu_pairs,
    unpack_symmetric,
    warn_floored,
)
from gmmkit.engine.mclust_models import (
    LAYOUTS,
    M_STEPS,
    MODEL_NAMES,
    SKLEARN_ALIASES,
    UNIVARIATE_NAMES,
    n_covariance_parameters,
    unknown_model_message,
)
from gmmkit.engine.mclust_models.constraints import has_equalities, structure_problem
from gmmkit.engine.threads import single_blas_thread
from gmmkit.engine.workspace import scratch

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from gmmkit.engine.types import FloatArray, IntArray
    from gmmkit.engine.workspace import Workspace

LOG_2PI = np.log(2.0 * np.pi)


@dataclass
class EStepPlan:
    """Parameters rearranged for one E-step, in the working dtype.

    Attributes
    ----------
    matrix : ndarray
        The type-specific matrix multiplied with each chunk's design.
    const : ndarray of shape (K, 1) or None
        Per-component constant where it is not a column of ``matrix``:
        log weight + log det - D/2 log(2 pi) - the mean's term.
    extra : ndarray or None
        A second type-specific array (the tied type's projected means).
    precision_bound : float or None
        :meth:`CovarianceType.precision_bound` of the precision factors, set
        when the plan is kept for many scoring calls (None: the far-row check
        computes it).
    """

    matrix: np.ndarray
    const: np.ndarray | None = None
    extra: np.ndarray | None = None
    precision_bound: float | None = None


class CovarianceType:
    """Interface of one row of the covariance table (see module docstring)."""

    name: str = ""
    #: the storage layout ("full", "tied", "diag" or "spherical"): the shapes
    #: of the arrays and the E-step; code that branches on layouts reads this
    layout: str = ""
    #: whether the moments are the sums S @ resp.T of the design S
    #: (:meth:`moments_from_sums`), which the hard-row E-step computes its own way
    linear_design: bool = False

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Number of free covariance parameters."""
        raise NotImplementedError

    def plan(
        self, log_weights: FloatArray, means: FloatArray, prec_chol: FloatArray, dtype: DTypeLike
    ) -> EStepPlan:
        """Arrange parameters for the E-step (means centred, see module doc)."""
        raise NotImplementedError

    def design(self, Xt: FloatArray, workspace: Workspace | None = None) -> FloatArray:
        """Design matrix of a centred, transposed chunk Xt (D, n): (rows, n).

        May live in ``workspace`` (valid until the next chunk).
        """
        raise NotImplementedError

    def empty_design(
        self, n_features: int, n: int, dtype: DTypeLike, workspace: Workspace | None = None,
        name: str = "design",
    ) -> FloatArray | None:
        """A design matrix to fill in place (:meth:`design_rows`, :meth:`complete_design`).

        Lets a chunk's centred rows be written straight into their place in
        the design instead of being copied there; None for a type whose
        design does not hold the rows as they are (then use :meth:`design`).
        ``name`` is its scratch buffer's in ``workspace``.
        """
        return None

    def design_rows(self, stacked: FloatArray, n_features: int) -> FloatArray:
        """The view (D, n) of an :meth:`empty_design` that holds the centred rows."""
        raise NotImplementedError

    def complete_design(self, stacked: FloatArray, n_features: int) -> FloatArray:
        """The design of the rows written into :meth:`design_rows`: the same as :meth:`design`."""
        raise NotImplementedError

    def rows_slot(
        self, n_features: int, n: int, dtype: DTypeLike, workspace: Workspace | None = None
    ) -> tuple[FloatArray | None, FloatArray | None]:
        """An :meth:`empty_design` and the place (D, n) of the rows in it; (None, None)
        for a type without one. Write the centred rows into the place (``out=``),
        then call :meth:`finish_design`."""
        stacked = self.empty_design(n_features, n, dtype, workspace)
        return stacked, None if stacked is None else self.design_rows(stacked, n_features)

    def finish_design(
        self, stacked: FloatArray | None, Xt: FloatArray, workspace: Workspace | None = None
    ) -> FloatArray:
        """The design of the rows Xt (D, n): ``stacked`` from :meth:`rows_slot`
        completed, or built from Xt when the type has none."""
        if stacked is None:
            return self.design(Xt, workspace)
        return self.complete_design(stacked, Xt.shape[0])

    def log_prob(
        self, S: FloatArray, plan: EStepPlan, workspace: Workspace | None = None
    ) -> FloatArray:
        """log w_k + log N(x_n | mu_k, Sigma_k) from the design matrix: (K, n).

        May live in ``workspace`` (valid until the next chunk).
        """
        raise NotImplementedError

    def moments(
        self, S: FloatArray, resp: FloatArray, n_features: int, workspace: Workspace | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Sums of one chunk from its design S and responsibilities resp (K, n).

        Returns
        -------
        nk : (K,) sum_n r_kn
        sx : (K, D) sum_n r_kn x_n
        sxx : second-moment sums in the type's layout
        """
        raise NotImplementedError

    def moments_from_sums(
        self, sums: FloatArray, n_features: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """nk, sx and sxx (as :meth:`moments`) from sums (K, rows) = resp @ S.T.

        Only for types with ``linear_design``.
        """
        raise NotImplementedError

    def covariances(
        self, nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float
    ) -> FloatArray:
        """M-step: covariance parameters from summed moments (float64)."""
        raise NotImplementedError

    def warm_covariances(
        self, nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float,
        previous: FloatArray | None = None,
    ) -> FloatArray:
        """The M-step, which an iterative model may start from the ``previous`` covariances."""
        return self.covariances(nk, sx, sxx, reg_covar)

    def precision_cholesky(self, covariances: FloatArray, reg_covar: float = 0.0) -> FloatArray:
        """Precision Cholesky factors from covariances."""
        raise NotImplementedError

    def precision_cholesky_from_precisions(self, precisions: FloatArray) -> FloatArray:
        """Precision Cholesky factors from precision matrices."""
        raise NotImplementedError

    def precisions(self, prec_chol: FloatArray) -> FloatArray:
        """Precision matrices from their Cholesky factors."""
        raise NotImplementedError

    def log_det(self, prec_chol: FloatArray, n_features: int) -> FloatArray | float:
        """log det of each component's precision Cholesky factor: (K,) or scalar."""
        raise NotImplementedError

    def component_covariance(self, covariances: FloatArray, k: int, n_features: int) -> FloatArray:
        """Dense (D, D) covariance of component k (for sampling)."""
        raise NotImplementedError

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Expected shape of covariances / precisions."""
        raise NotImplementedError

    def whitened_offsets(self, means: FloatArray, prec_chol: FloatArray) -> FloatArray:
        """Distance of each (centred) mean from the centre in its own widths: (K,).

        The expanded quadratic forms and moment sums lose about
        eps x offset**2 of accuracy, which matters in float32.
        """
        raise NotImplementedError

    def whiten(self, diffs: FloatArray, prec_chol: FloatArray) -> FloatArray:
        """Rows minus each component's mean, whitened: (..., K, D) -> (..., K, D).

        ``diffs[..., k, :]`` times component k's precision Cholesky factor, so
        the squared norm of the result along the last axis is the squared
        Mahalanobis distance, computed directly (the far-row scoring path).
        """
        raise NotImplementedError

    def max_precision(self, prec_chol: FloatArray) -> float:
        """The largest eigenvalue of any component's precision matrix: float.

        A row x with |x - c|^2 <= r^2 / max_precision lies within r standard
        deviations of c in every component's metric.
        """
        raise NotImplementedError

    def precision_bound(self, prec_chol: FloatArray) -> float:
        """A cheap upper bound of :meth:`max_precision` (it by default): float.

        Scoring compares rows against the bound first and computes the exact
        (and for full matrices costly) :meth:`max_precision` only when a row
        passes it.
        """
        return self.max_precision(prec_chol)

    def chunk_width(self, n_components: int, n_features: int) -> int:
        """Columns of the widest per-chunk temporary (sizes the default chunk)."""
        return max(n_components, 2 * n_features + 1)

    def covariances_from_precisions(self, precisions: FloatArray) -> FloatArray:
        """Covariances from precision matrices."""
        return np.linalg.inv(precisions)

    def split_direction(
        self, covariances: FloatArray, k: int, n_features: int
    ) -> tuple[float, FloatArray]:
        """(scale, unit vector) of component k's largest spread."""
        cov = self.component_covariance(covariances, k, n_features)
        values, vectors = np.linalg.eigh(cov)
        return float(np.sqrt(max(values[-1], 0.0))), vectors[:, -1]

    def copy_component(
        self, covariances: FloatArray, target: int, source_covariances: FloatArray, source: int
    ) -> None:
        """Set component ``target``'s covariance to ``source_covariances[source]``."""
        covariances[target] = source_covariances[source]

    def dense(self, covariances: FloatArray, n_components: int, n_features: int) -> FloatArray:
        """Every component's covariance as a dense matrix: (K, D, D)."""
        return np.stack(
            [self.component_covariance(covariances, k, n_features) for k in range(n_components)]
        )

    def structure_problem(
        self, covariances: FloatArray, n_components: int, n_features: int
    ) -> str | None:
        """What keeps ``covariances`` (this type's layout) from this model's equalities.

        None when they hold to the rounding of their dtype (a constrained
        mclust model, say EEE or VEV; see
        :func:`gmmkit.engine.mclust_models.constraints.structure_problem`).
        """
        if n_components < 2 or self.layout == "tied" or not has_equalities(self.name):
            return None  # nothing to compare (one stored matrix is equal to itself)
        covariances = np.asarray(covariances)
        dtype = np.float32 if covariances.dtype == np.float32 else np.float64
        rtol = max(1e-6, 1e3 * float(np.finfo(dtype).eps))
        with np.errstate(all="ignore"):
            dense = self.dense(covariances.astype(np.float64), n_components, n_features)
            return structure_problem(self.name, dense, rtol)

    def select(self, covariances: FloatArray, index: IntArray) -> FloatArray:
        """Covariances of the marginal on features ``index``, in this type's layout."""
        raise NotImplementedError

    def from_dense(self, dense: FloatArray) -> FloatArray:
        """This type's layout from dense (K, D, D) covariances it can represent exactly."""
        raise NotImplementedError


class LinearDesignType(CovarianceType):
    """A type whose log densities are linear in the design [second-order rows; X; 1].

    One GEMM with the plan matrix gives every component's log density
    (constants included, through the row of ones); one GEMM with the
    responsibilities gives nk, sum r x and the second-order sums at once.
    """

    linear_design = True

    def _n_second_order(self, n_features: int) -> int:
        """Number of second-order rows of the design."""
        raise NotImplementedError

    def _second_order(self, Xt: FloatArray, out: FloatArray) -> None:
        """Write the second-order rows of a chunk into ``out``."""
        raise NotImplementedError

    def design(self, Xt: FloatArray, workspace: Workspace | None = None) -> FloatArray:
        d, n = Xt.shape
        stacked = self.empty_design(d, n, Xt.dtype, workspace)
        self.design_rows(stacked, d)[...] = Xt
        return self.complete_design(stacked, d)

    def empty_design(
        self, n_features: int, n: int, dtype: DTypeLike, workspace: Workspace | None = None,
        name: str = "design",
    ) -> FloatArray:
        m = self._n_second_order(n_features)
        return scratch(workspace, name, (m + n_features + 1, n), dtype)

    def design_rows(self, stacked: FloatArray, n_features: int) -> FloatArray:
        m = self._n_second_order(n_features)
        return stacked[m : m + n_features]

    def complete_design(self, stacked: FloatArray, n_features: int) -> FloatArray:
        m = self._n_second_order(n_features)
        self._second_order(stacked[m : m + n_features], stacked[:m])
        stacked[m + n_features] = 1.0
        return stacked

    def log_prob(
        self, S: FloatArray, plan: EStepPlan, workspace: Workspace | None = None
    ) -> FloatArray:
        out = scratch(workspace, "log_prob", (plan.matrix.shape[0], S.shape[1]), S.dtype)
        return np.matmul(plan.matrix, S, out=out)

    def moments(
        self, S: FloatArray, resp: FloatArray, n_features: int, workspace: Workspace | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        return self.moments_from_sums(inner_products(S, resp).T, n_features)

    def moments_from_sums(
        self, sums: FloatArray, n_features: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        m = self._n_second_order(n_features)
        return sums[:, -1], sums[:, m : m + n_features], sums[:, :m]


class FullCovariance(LinearDesignType):
    """Each component has its own full covariance matrix."""

    name = "full"
    layout = "full"

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features * (n_features + 1) // 2

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    def chunk_width(self, n_components: int, n_features: int) -> int:
        return max(n_components, n_features * (n_features + 3) // 2)

    def plan(
        self, log_weights: FloatArray, means: FloatArray, prec_chol: FloatArray, dtype: DTypeLike
    ) -> EStepPlan:
        n_components, n_features, _ = prec_chol.shape
        # (x - mu)' L (x - mu) = q(x).l - 2 (L mu).x + mu' L mu with the
        # pairwise products q(x) and l = L's upper triangle (off-diagonal
        # entries doubled): one GEMM against the design [Q; X; 1] for all k,
        # the constants riding on the row of ones.
        precision = self.precisions(prec_chol)
        rows, cols = triu_pairs(n_features)
        quadratic = precision[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)
        linear = np.einsum("kij,kj->ki", precision, means)
        const = (
            log_weights
            + self.log_det(prec_chol, n_features)
            - 0.5 * n_features * LOG_2PI
            - 0.5 * np.einsum("ki,ki->k", means, linear)
        )
        matrix = np.hstack([-0.5 * quadratic, linear, const[:, None]])
        return EStepPlan(matrix=matrix.astype(dtype))

    def _n_second_order(self, n_features: int) -> int:
        return n_features * (n_features + 1) // 2

    def _second_order(self, Xt: FloatArray, out: FloatArray) -> None:
        pairwise_products_t(Xt, out=out)

    def covariances(
        self, nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float
    ) -> FloatArray:
        n_features = sx.shape[1]
        means = sx / nk[:, None]
        cov = unpack_symmetric(sxx / nk[:, None], n_features)
        cov -= means[:, :, None] * means[:, None, :]
        cov[:, np.arange(n_features), np.arange(n_features)] += reg_covar
        return cov

    def precision_cholesky(self, covariances: FloatArray, reg_covar: float = 0.0) -> FloatArray:
        with single_blas_thread():  # K small factorisations
            return np.stack(
                [
                    precision_cholesky_from_cov(cov, reg_covar, f"component {k}")
                    for k, cov in enumerate(covariances)
                ]
            )

    def precision_cholesky_from_precisions(self, precisions: FloatArray) -> FloatArray:
        return np.stack([precision_cholesky_from_precision(p) for p in precisions])

    def precisions(self, prec_chol: FloatArray) -> FloatArray:
        return prec_chol @ prec_chol.transpose(0, 2, 1)

    def log_det(self, prec_chol: FloatArray, n_features: int) -> FloatArray:
        return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)

    def whitened_offsets(self, means: FloatArray, prec_chol: FloatArray) -> FloatArray:
        return np.linalg.norm(np.einsum("kd,kde->ke", means, prec_chol), axis=1)

    def whiten(self, diffs: FloatArray, prec_chol: FloatArray) -> FloatArray:
        return np.einsum("...kd,kde->...ke", diffs, prec_chol)

    def max_precision(self, prec_chol: FloatArray) -> float:
        return float(np.max(np.linalg.norm(prec_chol.astype(np.float64), 2, axis=(1, 2)) ** 2))

    def precision_bound(self, prec_chol: FloatArray) -> float:
        # the squared Frobenius norm bounds the squared spectral norm
        chol = prec_chol.astype(np.float64)
        return float(np.max(np.einsum("kij,kij->k", chol, chol)))

    def component_covariance(self, covariances: FloatArray, k: int, n_features: int) -> FloatArray:
        return covariances[k]

    def dense(self, covariances: FloatArray, n_components: int, n_features: int) -> FloatArray:
        return covariances

    def select(self, covariances: FloatArray, index: IntArray) -> FloatArray:
        return covariances[:, index][:, :, index]

    def from_dense(self, dense: FloatArray) -> FloatArray:
        return dense


class TiedCovariance(CovarianceType):
    """All components share one full covariance matrix."""

    name = "tied"
    layout = "tied"

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_features * (n_features + 1) // 2

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def plan(
        self, log_weights: FloatArray, means: FloatArray, prec_chol: FloatArray, dtype: DTypeLike
    ) -> EStepPlan:
        n_features = prec_chol.shape[0]
        projected = means @ prec_chol  # (K, D)
        const = (
            log_weights
            + self.log_det(prec_chol, n_features)
            - 0.5 * n_features * LOG_2PI
            - 0.5 * np.einsum("kd,kd->k", projected, projected)
        )
        return EStepPlan(
            matrix=np.ascontiguousarray(prec_chol.T).astype(dtype),
            const=const.astype(dtype)[:, None],
            extra=projected.astype(dtype),
        )

    def design(self, Xt: FloatArray, workspace: Workspace | None = None) -> FloatArray:
        return Xt

    def log_prob(
        self, Xt: FloatArray, plan: EStepPlan, workspace: Workspace | None = None
    ) -> FloatArray:
        # |(x - mu_k) P|^2 = |xP|^2 - 2 (xP).(mu_k P) + |mu_k P|^2; xP is
        # shared by all components (computed once, not K times).
        assert plan.extra is not None and plan.const is not None  # the tied plan has both
        z = np.matmul(plan.matrix, Xt, out=scratch(workspace, "projected", Xt.shape, Xt.dtype))
        out = scratch(workspace, "log_prob", (plan.extra.shape[0], Xt.shape[1]), Xt.dtype)
        np.matmul(plan.extra, z, out=out)
        np.square(z, out=z)
        out -= 0.5 * z.sum(axis=0)
        out += plan.const
        return out

    def moments(
        self, Xt: FloatArray, resp: FloatArray, n_features: int, workspace: Workspace | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        weighted = scratch(workspace, "weighted", Xt.shape, Xt.dtype)
        np.multiply(Xt, resp.sum(axis=0), out=weighted)
        return resp.sum(axis=1, dtype=np.float64), resp @ Xt.T, weighted @ Xt.T

    def covariances(
        self, nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float
    ) -> FloatArray:
        n_features = sx.shape[1]
        cov = sxx - (sx.T / nk) @ sx
        cov /= nk.sum()
        cov[np.arange(n_features), np.arange(n_features)] += reg_covar
        return cov

    def precision_cholesky(self, covariances: FloatArray, reg_covar: float = 0.0) -> FloatArray:
        with single_blas_thread():
            return precision_cholesky_from_cov(covariances, reg_covar, "the tied covariance")

    def precision_cholesky_from_precisions(self, precisions: FloatArray) -> FloatArray:
        return precision_cholesky_from_precision(precisions)

    def precisions(self, prec_chol: FloatArray) -> FloatArray:
        return prec_chol @ prec_chol.T

    def log_det(self, prec_chol: FloatArray, n_features: int) -> float:
        return np.sum(np.log(np.diag(prec_chol)))

    def whitened_offsets(self, means: FloatArray, prec_chol: FloatArray) -> FloatArray:
        return np.linalg.norm(means @ prec_chol, axis=1)

    def whiten(self, diffs: FloatArray, prec_chol: FloatArray) -> FloatArray:
        return diffs @ prec_chol

    def max_precision(self, prec_chol: FloatArray) -> float:
        return float(np.linalg.norm(prec_chol.astype(np.float64), 2) ** 2)

    def precision_bound(self, prec_chol: FloatArray) -> float:
        chol = prec_chol.astype(np.float64)
        return float(np.einsum("ij,ij->", chol, chol))

    def component_covariance(self, covariances: FloatArray, k: int, n_features: int) -> FloatArray:
        return covariances

    def copy_component(
        self, covariances: FloatArray, target: int, source_covariances: FloatArray, source: int
    ) -> None:
        """Tied components share one covariance: nothing to copy."""

    def select(self, covariances: FloatArray, index: IntArray) -> FloatArray:
        return covariances[index][:, index]

    def from_dense(self, dense: FloatArray) -> FloatArray:
        return dense[0]


class DiagCovariance(LinearDesignType):
    """Each component has its own diagonal covariance."""

    name = "diag"
    layout = "diag"

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def _per_feature(self, values: FloatArray, n_features: int) -> FloatArray:
        """(K, D) per-feature values of a (K, D) diag parameter."""
        return values

    def chunk_width(self, n_components: int, n_features: int) -> int:
        """The design's rows and the log densities' together: K + 2 D + 1.

        Both are read several times per chunk (the hard-row path gathers from
        the design after the log densities are classified): at 200,000 x 39,
        K = 64 (4,096 rows instead of 8,192) an iteration took 10% less.
        """
        return n_components + 2 * n_features + 1

    def plan(
        self, log_weights: FloatArray, means: FloatArray, prec_chol: FloatArray, dtype: DTypeLike
    ) -> EStepPlan:
        n_features = means.shape[1]
        precision = self._per_feature(prec_chol**2, n_features)  # (K, D)
        # matrix @ [Xt^2; Xt; 1] expands sum_d p_kd (x_d - mu_kd)^2 on centred
        # data, the constants riding on the row of ones.
        matrix = np.hstack([-0.5 * precision, means * precision])
        const = (
            log_weights
            + self.log_det(prec_chol, n_features)
            - 0.5 * n_features * LOG_2PI
            - 0.5 * np.einsum("kd,kd->k", means**2, precision)
        )
        return EStepPlan(matrix=np.hstack([matrix, const[:, None]]).astype(dtype))

    def _n_second_order(self, n_features: int) -> int:
        return n_features

    def _second_order(self, Xt: FloatArray, out: FloatArray) -> None:
        np.square(Xt, out=out)

    def covariances(
        self, nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float
    ) -> FloatArray:
        means = sx / nk[:, None]
        variances = sxx / nk[:, None] - means**2
        # centred data keeps this difference accurate; clip the rounding below 0
        np.maximum(variances, 0.0, out=variances)
        variances += reg_covar
        return variances

    def precision_cholesky(self, covariances: FloatArray, reg_covar: float = 0.0) -> FloatArray:
        if not np.all(np.isfinite(covariances)):
            raise ValueError(
                "a component has a variance that is not finite; check the data for "
                "extreme values, scale it, or increase reg_covar."
            )
        zero = covariances <= 0.0
        if np.any(zero):
            floor = max(reg_covar, 1e-10 * max(float(covariances.max()), 1.0))
            covariances[zero] = floor
            for k in np.flatnonzero(zero.reshape(len(zero), -1).any(axis=1)):
                warn_floored(f"component {k}", floor)
        return 1.0 / np.sqrt(covariances)

    def precision_cholesky_from_precisions(self, precisions: FloatArray) -> FloatArray:
        if not np.all(precisions > 0):
            raise ValueError("precisions must be positive; got zero or negative values.")
        return np.sqrt(precisions)

    def covariances_from_precisions(self, precisions: FloatArray) -> FloatArray:
        return 1.0 / precisions

    def precisions(self, prec_chol: FloatArray) -> FloatArray:
        return prec_chol**2

    def log_det(self, prec_chol: FloatArray, n_features: int) -> FloatArray:
        return np.sum(np.log(prec_chol), axis=1)

    def whitened_offsets(self, means: FloatArray, prec_chol: FloatArray) -> FloatArray:
        return np.linalg.norm(means * self._per_feature(prec_chol, means.shape[1]), axis=1)

    def whiten(self, diffs: FloatArray, prec_chol: FloatArray) -> FloatArray:
        return diffs * self._per_feature(prec_chol, diffs.shape[-1])

    def max_precision(self, prec_chol: FloatArray) -> float:
        return float(np.max(prec_chol.astype(np.float64) ** 2))

    def component_covariance(self, covariances: FloatArray, k: int, n_features: int) -> FloatArray:
        return np.diag(covariances[k])

    def select(self, covariances: FloatArray, index: IntArray) -> FloatArray:
        return covariances[:, index]

    def from_dense(self, dense: FloatArray) -> FloatArray:
        return np.diagonal(dense, axis1=1, axis2=2).copy()


class SphericalCovariance(DiagCovariance):
    """Each component has a single variance shared by all features."""

    name = "spherical"
    layout = "spherical"

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    def covariances(
        self, nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float
    ) -> FloatArray:
        return super().covariances(nk, sx, sxx, reg_covar).mean(axis=1)

    def _per_feature(self, values: FloatArray, n_features: int) -> FloatArray:
        return np.repeat(values[:, None], n_features, axis=1)

    def log_det(self, prec_chol: FloatArray, n_features: int) -> FloatArray:
        return n_features * np.log(prec_chol)

    def component_covariance(self, covariances: FloatArray, k: int, n_features: int) -> FloatArray:
        return covariances[k] * np.eye(n_features)

    def select(self, covariances: FloatArray, index: IntArray) -> FloatArray:
        return covariances

    def from_dense(self, dense: FloatArray) -> FloatArray:
        return np.diagonal(dense, axis1=1, axis2=2).mean(axis=1)


class ConstrainedModel:
    """An mclust model stored in one of the four layouts, with its own M-step and count.

    Mixed in before the layout's class (:mod:`gmmkit.engine.mclust_models`),
    which keeps the E-step, scoring, sampling and the array shapes.
    """

    name: str

    def __init__(self, name: str) -> None:
        self.name = name
        self._m_step = M_STEPS[name]

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_covariance_parameters(self.name, n_components, n_features)

    def covariances(
        self, nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float
    ) -> FloatArray:
        return self._m_step(nk, sx, sxx, reg_covar)

    def warm_covariances(
        self, nk: FloatArray, sx: FloatArray, sxx: FloatArray, reg_covar: float,
        previous: FloatArray | None = None,
    ) -> FloatArray:
        return self._m_step(nk, sx, sxx, reg_covar, previous)


class SphericalModel(ConstrainedModel, SphericalCovariance):
    """EII and the univariate E."""


class DiagonalModel(ConstrainedModel, DiagCovariance):
    """EEI, VEI, EVI."""


class FullModel(ConstrainedModel, FullCovariance):
    """VEE, EVE, VVE, EEV, VEV, EVV."""


def _table() -> dict[str, CovarianceType]:
    """scikit-learn's four types, then mclust's 14 models and the univariate E and V.

    VVV, EEE, VVI, VII and V are the scikit-learn objects themselves.
    """
    layouts: dict[str, type[ConstrainedModel]] = {
        "spherical": SphericalModel, "diag": DiagonalModel, "full": FullModel}
    table: dict[str, CovarianceType] = {
        cls.name: cls()
        for cls in (FullCovariance, TiedCovariance, DiagCovariance, SphericalCovariance)
    }
    for alias, model in SKLEARN_ALIASES.items():
        table[model] = table[alias]
    table["V"] = table["spherical"]
    for model in MODEL_NAMES + UNIVARIATE_NAMES:
        if model not in table:
            table[model] = layouts[LAYOUTS[model]](model)  # type: ignore[assignment]
    return {name: table[name]  # mclust's order after scikit-learn's names
            for name in ("full", "tied", "diag", "spherical") + MODEL_NAMES + UNIVARIATE_NAMES}


COVARIANCE_TYPES = _table()


def get_covariance_type(name: str) -> CovarianceType:
    """Look up a row of the covariance table by name.

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    """
    try:
        return COVARIANCE_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(unknown_model_message(name)) from None
