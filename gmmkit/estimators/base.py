"""A scikit-learn compatible estimator base that does not import scikit-learn.

It provides what ``sklearn.base.clone``, ``Pipeline``, ``GridSearchCV`` and
``check_estimator`` use: ``get_params`` / ``set_params`` read from the
constructor signature, a readable ``repr``, ``__sklearn_is_fitted__`` and
``__sklearn_tags__`` (built lazily, only when scikit-learn asks for it).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from typing_extensions import Self


class EstimatorBase:
    """get_params / set_params / repr in scikit-learn's conventions."""

    #: scikit-learn's estimator type tag (None: none, as scikit-learn's outlier detectors)
    _estimator_type: str | None = "density_estimator"

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

    def _check_fitted(self) -> None:
        """NotFittedError (scikit-learn's wording) unless ``fit`` has run."""
        from gmmkit.exceptions import NotFittedError, compatible

        if not self.__sklearn_is_fitted__():
            raise compatible(NotFittedError)(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import Tags, TargetTags

        tags = Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=False))
        tags.input_tags.allow_nan = getattr(self, "missing", "error") == "em"
        return tags

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
