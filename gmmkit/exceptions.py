"""Warnings and errors raised by gmmkit.

gmmkit never imports scikit-learn.  When scikit-learn happens to be
imported already (the user works with both), the not-fitted error and the
convergence warning are raised as classes that derive from both gmmkit's
and scikit-learn's, so ``except sklearn.exceptions.NotFittedError`` and
warning filters written for scikit-learn keep working.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import TypeVar

#: an exception or warning (Warning subclasses Exception)
E = TypeVar("E", bound=BaseException)


class ConvergenceWarning(UserWarning):
    """No EM run reached the tolerance within max_iter iterations."""


#: scikit-learn's sentence for a fit whose best run did not converge; gmmkit's
#: message starts with it, so filters written for scikit-learn
#: (``filterwarnings("ignore", message="Best performing initialization did
#: not converge")``) silence gmmkit's warning too
NOT_CONVERGED = (
    "Best performing initialization did not converge. Try different init "
    "parameters, or increase max_iter, tol, or check for degenerate data."
)


def not_converged_message(
    runs: int, n_converged: int, max_iter: int, tol: float, kind: str = "EM"
) -> str:
    """scikit-learn's sentence, then gmmkit's details of the runs."""
    return (
        f"{NOT_CONVERGED} (gmmkit: {n_converged} of {runs} {kind} run(s) converged; the "
        f"best stopped after max_iter={max_iter} iterations with its lower bound still "
        f"changing by more than tol={tol}.)"
    )


class DegenerateComponentWarning(UserWarning):
    """A component collapsed or lost its mass and was floored or re-seeded."""


class PrecisionWarning(UserWarning):
    """float32 was asked for but would lose accuracy here; gmmkit used float64."""


class PluginWarning(UserWarning):
    """A plugin misbehaved (e.g. a fit hook raised) and was skipped; gmmkit went on."""


class DataConversionWarning(UserWarning):
    """y was a column vector and was flattened (scikit-learn's warning of that name)."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``.

    Subclasses both ValueError and AttributeError, as scikit-learn's does.
    """


class DataFileError(ValueError):
    """An input file that cannot be read as numeric rows (raised by readers, plugins' too)."""


class ModelFileError(ValueError):
    """A model file cannot be loaded: damaged, too new, oversized or not a valid model.

    The message names the file, the problem and what to do (see
    docs/model-files.md).
    """


@lru_cache(maxsize=None)
def _with_sklearn_base(cls: type, sklearn_name: str) -> type:
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    sklearn_cls = getattr(sklearn_exceptions, sklearn_name, None)
    if sklearn_cls is None:
        return cls
    return type(
        cls.__name__, (cls, sklearn_cls), {"__module__": cls.__module__, "__doc__": cls.__doc__}
    )


def compatible(cls: type[E]) -> type[E]:
    """``cls``, or a subclass of it and of scikit-learn's twin if sklearn is loaded."""
    if "sklearn.exceptions" not in sys.modules:
        return cls
    plain: type = cls  # (mypy does not see type[E] as hashable, as the cache needs)
    return _with_sklearn_base(plain, cls.__name__)
