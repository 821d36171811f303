"""A scikit-learn compatible estimator base that does not import scikit-learn.

It provides what ``sklearn.base.clone``, ``Pipeline``, ``GridSearchCV`` and
``check_estimator`` use: ``get_params`` / ``set_params`` read from the
constructor signature, a readable ``repr``, ``__sklearn_is_fitted__`` and
``__sklearn_tags__`` (built lazily, only when scikit-learn asks for it).

It also holds the two checks every estimator makes before it uses its
fitted attributes, for code outside the estimator as well (model files,
``impute``, plugins): :meth:`EstimatorBase.check_is_fitted` and
:func:`check_fitted_input`, the one "check X against the fitted model".
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray
    from typing_extensions import Self

    from gmmkit.engine.types import AnyArray

from gmmkit.data.validation import check_array, check_feature_names, check_n_features
from gmmkit.exceptions import NotFittedError, compatible


class EstimatorBase:
    """get_params / set_params / repr in scikit-learn's conventions."""

    #: scikit-learn's estimator type tag (None: none, as scikit-learn's outlier detectors)
    _estimator_type: str | None = "density_estimator"
    #: set by fit (declared for type checkers; unset until then)
    n_features_in_: int

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments as a dict (scikit-learn's ``get_params``)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor arguments; unknown names raise ValueError."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name)
            default = defaults.get(name, inspect.Parameter.empty)
            if not _same(value, default):
                changed.append(f"{name}={_short_repr(value)}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "n_features_in_")

    def _set_feature_names(self, names: NDArray[np.object_] | None) -> None:
        """Record the column names seen in fit (None: forget names of an earlier fit)."""
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def check_is_fitted(self) -> None:
        """Raise NotFittedError unless ``fit`` (or a loader) has made this estimator fitted.

        The estimators call it before they use their fitted attributes; code
        outside them (``gmmkit.save``, ``impute``, a plugin's own estimator)
        calls it to refuse an estimator that is not fitted with the same
        message. The error is scikit-learn's ``NotFittedError`` too when
        scikit-learn is imported.

        Raises
        ------
        NotFittedError
            "This <class> instance is not fitted yet. Call 'fit' with
            appropriate arguments before using this estimator."
        """
        if not self.__sklearn_is_fitted__():
            raise compatible(NotFittedError)(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )

    #: the name the estimators' own code (and plugins' estimators) used before
    #: check_is_fitted was public
    _check_fitted = check_is_fitted

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import Tags, TargetTags

        tags = Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=False))
        tags.input_tags.allow_nan = getattr(self, "missing", "error") == "em"
        return tags

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_fitted_input(
    estimator: EstimatorBase, X: ArrayLike, *, convert: Callable[[Any], AnyArray] = check_array
) -> AnyArray:
    """X checked against a fitted estimator: the one check before predict, score, transform.

    In scikit-learn's order and words: the estimator is fitted, X's column
    names (of a DataFrame) match those seen in ``fit``, X converts to a 2-D
    array, and X has as many features as in ``fit``.

    Parameters
    ----------
    estimator : EstimatorBase
        Fitted; its ``n_features_in_`` and ``feature_names_in_`` (when set)
        are what X must match.
    X : array-like of shape (n_samples, n_features)
    convert : callable, default=check_array
        Turns X into an ndarray and refuses what the estimator cannot take
        (:func:`gmmkit.data.validation.check_array`; the regressor also
        refuses NaN).

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        ``convert(X)``.

    Raises
    ------
    NotFittedError
        When the estimator is not fitted.
    ValueError
        When X's column names differ from those of ``fit``, or X has another
        number of features ("X has 3 features, but GaussianMixture is
        expecting 2 features as input. ...").

    Warns
    -----
    UserWarning
        When only one of X and the fit had column names (scikit-learn's
        warnings).
    """
    estimator.check_is_fitted()
    name = type(estimator).__name__
    check_feature_names(X, getattr(estimator, "feature_names_in_", None), name)
    X = convert(X)
    check_n_features(X, estimator.n_features_in_, name)
    return X


def _same(value: object, default: object) -> bool:
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):
        return False


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
