"""GMMClassifier: one Gaussian mixture per class, Bayes' rule with class priors.

A generative classifier: for every class c it fits a
:class:`~gmmkit.estimators.mixture.GaussianMixture` to that class's rows, a model of
p(x | c), and classifies by Bayes' rule,

    log p(c | x) = log p(x | c) + log p(c) - log sum_c' p(x | c') p(c'),

normalised with log-sum-exp, so it stays exact where the densities
themselves underflow.  One full Gaussian per class is quadratic
discriminant analysis; several components per class model classes that
come in several shapes (writing styles of a digit, speakers of a phoneme).
The number of components can differ between classes, or be chosen per
class by BIC (``"auto"``, see :func:`gmmkit.estimators.selection.select_model`).

The default regularisation, ``reg_covar="auto"``, scales with the data:
every feature's variance gets ``AUTO_REG_COVAR`` (5%) of that feature's
variance over the training rows added, plus the variance of rounding to
its resolution, instead of GaussianMixture's absolute 1e-6
(:func:`feature_regularisation`; docs/classifier.md, "The default
regularisation").
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import logsumexp

from gmmkit.data.validation import (
    check_array,
    check_int,
    check_sample_weight,
    feature_names,
    scan_rows,
)
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.far_rows import FarRows
from gmmkit.engine.scoring import model_center
from gmmkit.estimators import rowwise
from gmmkit.estimators.base import EstimatorBase, check_fitted_input
from gmmkit.estimators.classifier_auto_reg import (
    AUTO_REG_COVAR,
    feature_regularisation,
    unscaled,
)
from gmmkit.estimators.classifier_checks import (
    AUTO,
    check_class_sizes,
    check_components,
    check_labels,
    class_priors,
    class_sizes,
)
from gmmkit.estimators.components import mixture_params
from gmmkit.estimators.conditional import marginal_of
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.estimators.selection import select_model

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, DTypeLike
    from typing_extensions import Self

    from gmmkit.engine.types import AnyArray, FitInput, FloatArray, PathLike, RandomStateLike

#: constructor arguments passed on to every class's GaussianMixture
MIXTURE_PARAMS = (
    "covariance_type",
    "tol",
    "reg_covar",
    "max_iter",
    "n_init",
    "init_params",
    "random_state",
    "verbose",
    "verbose_interval",
    "chunk_size",
    "dtype",
    "missing",
)


class GMMClassifier(EstimatorBase):
    """Generative classifier: a Gaussian mixture per class and Bayes' rule.

    Parameters
    ----------
    n_components : int, "auto" or dict, default=1
        Components of every class's mixture. An int is used for every
        class; ``"auto"`` picks each class's number by BIC among 1 to
        ``max_components``; a dict ``{class label: int or "auto"}`` sets it
        per class and must name every class.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Covariance of the components of every class.
    priors : None, "uniform" or array-like of shape (n_classes,), default=None
        Class prior probabilities p(c). None: the class frequencies in the
        training data (weighted by ``sample_weight``); "uniform": 1 /
        n_classes each; an array: in the order of ``classes_`` (sorted
        labels), non-negative and summing to 1.
    max_components : int, default=10
        The largest number of components ``"auto"`` tries for a class
        (capped by the class's number of samples).
    reg_covar : float or "auto", default="auto"
        Regularisation of every class's covariances. ``"auto"``: relative to
        the data, r_j = 0.05 var_j + h_j**2 / 12 is added to feature j's
        variance in every component, with var_j its variance over all
        training rows (weighted by ``sample_weight``) and h_j its
        resolution, the smallest gap between two of its values
        (:func:`feature_regularisation`). The mixtures are fitted to the
        columns divided by sqrt(r_j / 0.05) with ``reg_covar=0.05`` and
        expressed in X's units again, so the result does not depend on the
        units of any feature. ``"spherical"`` components get the mean of
        r. A float is added to every variance as given, in X's units (as
        in GaussianMixture, whose default stays scikit-learn's 1e-6).
    tol, max_iter, n_init, init_params, random_state, verbose,
    verbose_interval, chunk_size, dtype, missing
        As in :class:`~gmmkit.estimators.mixture.GaussianMixture`, for every class's
        fit. With ``missing="em"``, NaN in X are missing values both in
        ``fit`` and in ``predict`` (classified by the observed features).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted (as ``np.unique`` sorts them).
    class_prior_ : ndarray of shape (n_classes,)
        The prior probability of each class.
    estimators_ : list of GaussianMixture
        The fitted mixture of each class, in the order of ``classes_``.
    n_components_ : ndarray of shape (n_classes,)
        The number of components of each class's mixture.
    n_iter_ : ndarray of shape (n_classes,)
        EM iterations of each class's fit.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.
    """

    _estimator_type = "classifier"

    def __init__(
        self,
        n_components: int | str | dict[Any, int | str] = 1,
        *,
        covariance_type: str = "full",
        priors: str | ArrayLike | None = None,
        max_components: int = 10,
        tol: float = 1e-3,
        reg_covar: float | str = "auto",
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: RandomStateLike = None,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        dtype: DTypeLike | None = None,
        missing: str = "error",
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.priors = priors
        self.max_components = max_components
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.dtype = dtype
        self.missing = missing

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Fit one Gaussian mixture per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels: integers, strings, booleans or any sortable values.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to each class's fit; also weights the class frequencies
            when ``priors`` is None.

        Returns
        -------
        self
        """
        names = feature_names(X)
        X = check_array(X)
        classes, codes = check_labels(y, X.shape[0], type(self).__name__)
        weights = check_sample_weight(sample_weight, X.shape[0])
        self.check_params()
        if self.missing != "em":
            scan_rows(X, weights)  # NaN/inf named by their row in X, not in a class
        sizes = class_sizes(codes, weights, len(classes))
        prior = class_priors(self.priors, classes, sizes[1])
        requested = self._requested_components(classes)
        check_class_sizes(classes, sizes[0], requested)
        scales, reg_covar = self._regularisation(X, weights)
        self.estimators_ = [
            self._fit_class(
                label, X[codes == i], None if weights is None else weights[codes == i], k,
                scales, reg_covar,
            )
            for i, (label, k) in enumerate(zip(classes.tolist(), requested))
        ]
        self.classes_ = classes
        self.class_prior_ = prior
        self.n_components_ = np.array([m.n_components for m in self.estimators_])
        self.n_iter_ = np.array([m.n_iter_ for m in self.estimators_])
        self.n_features_in_ = X.shape[1]
        self._set_feature_names(names)
        return self

    def predict(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> AnyArray:
        """The most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or what ``fit`` of a GaussianMixture takes
            A ``.npy`` path, a file memmap, a chunk function is read block by
            block; a Dask array gives a lazy Dask array (docs/scale.md).
        out : str or os.PathLike, optional
            Write the result to this ``.npy`` file a block at a time and
            return it memory-mapped (see :meth:`GaussianMixture.predict`).
        overwrite : bool, default=False
            Replace ``out`` when it exists.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        if not rowwise.in_memory(X, out):
            return rowwise.method_rows(self, "predict", X, out=out, overwrite=overwrite)
        joint = self._joint_log_likelihood(X)
        return self.classes_[np.argmax(joint, axis=1)]

    def predict_log_proba(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> FloatArray:
        """Log posterior probability of every class: log p(c | x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or what :meth:`predict` takes
        out : str or os.PathLike, optional
            Write the result to this ``.npy`` file a block at a time and
            return it memory-mapped (see :meth:`GaussianMixture.predict`).
        overwrite : bool, default=False
            Replace ``out`` when it exists.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        if not rowwise.in_memory(X, out):
            return rowwise.method_rows(self, "predict_log_proba", X, out=out, overwrite=overwrite)
        joint = self._joint_log_likelihood(X)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> FloatArray:
        """Posterior probability of every class: p(c | x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or what :meth:`predict` takes
        out : str or os.PathLike, optional
            Write the result to this ``.npy`` file a block at a time and
            return it memory-mapped (see :meth:`GaussianMixture.predict`).
        overwrite : bool, default=False
            Replace ``out`` when it exists.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns in the order of ``classes_``.
        """
        if not rowwise.in_memory(X, out):
            return rowwise.method_rows(self, "predict_proba", X, out=out, overwrite=overwrite)
        return np.exp(self.predict_log_proba(X))

    def score(self, X: FitInput, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Accuracy: the (weighted) fraction of rows whose class is predicted right.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or what :meth:`predict` takes
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        return accuracy(y, rowwise.computed(self.predict(X)), sample_weight=sample_weight)

    # ------------------------------------------------------------- helpers

    def _joint_log_likelihood(self, X: ArrayLike) -> FloatArray:
        """log p(x | c) + log p(c): ndarray of shape (n_samples, n_classes)."""
        X = check_fitted_input(self, X)
        with np.errstate(divide="ignore"):  # a zero prior: log 0 = -inf, never chosen
            log_prior = np.log(self.class_prior_)
        joint = np.column_stack([m.score_samples(X) for m in self.estimators_]) + log_prior
        lost = np.isneginf(joint.max(axis=1))  # beyond float64 under every class
        if lost.any():
            joint[lost] = beyond_range_log_prob(self.estimators_, X[lost], log_prior)
        return joint

    def _mixture_params(self) -> dict[str, Any]:
        params = {name: getattr(self, name) for name in MIXTURE_PARAMS}
        if _is_auto(self.reg_covar):
            params["reg_covar"] = AUTO_REG_COVAR
        return params

    def check_params(self) -> None:
        """Check the constructor arguments as ``fit`` does, before the first class is fitted.

        Raises
        ------
        ValueError
            Naming the first bad argument and what is accepted (the mixtures'
            arguments as GaussianMixture names them).
        """
        if isinstance(self.reg_covar, str) and not _is_auto(self.reg_covar):
            raise ValueError(
                f"reg_covar must be 'auto' or a number >= 0.0; got {self.reg_covar!r}."
            )
        GaussianMixture(**self._mixture_params()).check_params()
        get_covariance_type(self.covariance_type)
        check_int("max_components", self.max_components, 1)
        if not isinstance(self.n_components, dict):
            check_components(self.n_components, "n_components")

    def _requested_components(self, classes: AnyArray) -> list[int | str]:
        """Components asked for each class: a list of int or "auto"."""
        if not isinstance(self.n_components, dict):
            return [self.n_components] * len(classes)
        labels = classes.tolist()
        missing = [c for c in labels if c not in self.n_components]
        unknown = [c for c in self.n_components if c not in set(labels)]
        if missing or unknown:
            raise ValueError(
                f"n_components must give every class a number of components: "
                f"{'missing ' + repr(missing) if missing else ''}"
                f"{'; ' if missing and unknown else ''}"
                f"{'not classes of y ' + repr(unknown) if unknown else ''}. The classes are "
                f"{labels}; pass a dict with exactly these keys, or one int or 'auto' for all."
            )
        for label in labels:
            check_components(self.n_components[label], f"n_components[{label!r}]")
        return [self.n_components[label] for label in labels]

    def _regularisation(
        self, X: FloatArray, weights: FloatArray | None
    ) -> tuple[FloatArray | None, float]:
        """(column scales or None, reg_covar) of every class's fit.

        A number: no scaling, that reg_covar. ``"auto"``: column j divided
        by sqrt(r_j / AUTO_REG_COVAR) and AUTO_REG_COVAR, which adds r_j of
        :func:`feature_regularisation` to its variance (spherical: no
        scaling and the mean of r).
        """
        if not _is_auto(self.reg_covar):
            return None, float(self.reg_covar)
        reg = feature_regularisation(X, weights)
        if self.covariance_type == "spherical":
            return None, float(reg.mean())
        return np.sqrt(reg / AUTO_REG_COVAR), AUTO_REG_COVAR

    def _fit_class(
        self, label: object, X: AnyArray, weights: FloatArray | None, n_components: int | str,
        scales: FloatArray | None, reg_covar: float,
    ) -> GaussianMixture:
        """The fitted GaussianMixture of one class's rows; its warnings name the class."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if scales is None:
                model = self._fit_mixture(X, weights, n_components, reg_covar)
            else:  # fitted to the scaled columns, expressed in X's units again
                scaled = X / scales.astype(X.dtype, copy=False)  # float32 X stays float32
                model = self._fit_mixture(scaled, weights, n_components, reg_covar)
                model = unscaled(model, scales)
        for warning in caught:
            warnings.warn(f"class {label!r}: {warning.message}", warning.category, stacklevel=4)
        return model

    def _fit_mixture(
        self, X: AnyArray, weights: FloatArray | None, n_components: int | str, reg_covar: float
    ) -> GaussianMixture:
        """A GaussianMixture fitted on X: n_components of them, or chosen by BIC."""
        params = {**self._mixture_params(), "reg_covar": reg_covar}
        if n_components != AUTO:
            return GaussianMixture(n_components, **params).fit(X, sample_weight=weights)
        n_rows = X.shape[0] if weights is None else int(np.count_nonzero(weights))
        largest = min(self.max_components, n_rows)
        covariance_type = params.pop("covariance_type")
        model, _ = select_model(
            X,
            n_components=range(1, largest + 1),
            covariance_types=(covariance_type,),
            criterion="bic",
            n_init=params.pop("n_init"),
            sample_weight=weights,
            random_state=params.pop("random_state"),
            as_frame=False,
            **params,
        )
        del model.uncertainty_  # the rows of one class: not an attribute of the classifier's
        return model

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.classifier_tags = ClassifierTags()
        return tags


def _is_auto(value: object) -> bool:
    return isinstance(value, str) and value == "auto"


def accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """The (weighted) fraction of labels predicted right.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
    """
    y_true, y_pred = np.ravel(np.asarray(y_true)), np.ravel(np.asarray(y_pred))
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y has {y_true.shape[0]} labels but X has {y_pred.shape[0]} rows; pass one "
            "label per row."
        )
    right = (y_true == y_pred).astype(np.float64)
    weights = check_sample_weight(sample_weight, right.shape[0])
    return float(right.mean() if weights is None else weights @ right / weights.sum())


def beyond_range_log_prob(
    models: Sequence[GaussianMixture], X: AnyArray, log_prior: FloatArray
) -> FloatArray:
    """Class scores of rows whose density is below float64's range under every model.

    ``log p(x | c) + log p(c)`` is -inf for every class there, yet the
    classes still compare: the most probable is the one whose
    ``log(-log p(x | c))`` (:meth:`FarRows.magnitude`) is smallest.

    Parameters
    ----------
    models : list of fitted GaussianMixture
        One per class.
    X : ndarray of shape (n, D)
        The rows (NaN: missing, scored on the observed features).
    log_prior : ndarray of shape (C,)

    Returns
    -------
    ndarray of shape (n, C)
        Finite for the most probable class(es) (their log prior + constant,
        which breaks exact ties), -inf for the others.
    """
    raw_sizes, consts = zip(*(_magnitude(model, X) for model in models))
    sizes = np.where(np.isfinite(log_prior), np.column_stack(raw_sizes), np.inf)
    best = sizes == sizes.min(axis=1, keepdims=True)
    return np.where(best, np.column_stack(consts) + log_prior, -np.inf)


def _magnitude(model: GaussianMixture, X: AnyArray) -> tuple[FloatArray, FloatArray]:
    """:meth:`FarRows.magnitude` of rows under a fitted model, per missingness pattern."""
    X = np.asarray(X, dtype=np.float64)
    size, const = np.empty(len(X)), np.empty(len(X))
    observed_masks = ~np.isnan(X)
    for mask in np.unique(observed_masks, axis=0):
        rows = np.flatnonzero((observed_masks == mask).all(axis=1))
        part = model if mask.all() else marginal_of(model, np.flatnonzero(mask))
        params = mixture_params(part)
        far = FarRows(get_covariance_type(part.covariance_type), params, model_center(params), None)
        size[rows], const[rows] = far.magnitude(X[np.ix_(rows, np.flatnonzero(mask))])
    return size, const
