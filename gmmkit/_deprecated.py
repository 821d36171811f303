"""The one-release forwarding modules at old import paths (issue 16, item 7).

gmmkit/io.py, covariance.py, conditional.py, mixture.py, bayesian.py, classifier.py,
regression.py, stream.py, dask_data.py and readers.py are two lines each: they call
:func:`moved_module` so that ``import gmmkit.io`` warns once and every attribute
(``gmmkit.io.save``, a pickle's ``gmmkit.mixture.GaussianMixture``) is the object of
the new module. Nothing inside gmmkit imports them (import-linter contract no-shims).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved_module(
    old: str, new: str, instead: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Warn that module ``old`` moved, and return its ``__getattr__`` and ``__dir__``.

    Call it at the top level of the old module: the DeprecationWarning points at
    the line that imported the old module.

    Parameters
    ----------
    old : str
        The deprecated dotted module path, e.g. ``"gmmkit.io"``.
    new : str
        The module that now defines its names, e.g. ``"gmmkit.modelfiles.files"``.
    instead : str
        What to use instead, quoted in the warning.

    Returns
    -------
    getattr : callable
        The old module's PEP 562 ``__getattr__``: every name of ``new``.
    dir : callable
        The old module's ``__dir__``: the names of ``new``.
    """
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {instead} "
        f"({old} now forwards to {new}).",
        DeprecationWarning,
        stacklevel=3,  # moved_module <- the old module <- (import machinery) <- the importer
    )
    target = importlib.import_module(new)

    def __getattr__(name: str) -> Any:
        try:
            return getattr(target, name)
        except AttributeError:
            raise AttributeError(f"module {old!r} has no attribute {name!r}") from None

    def __dir__() -> list[str]:
        return dir(target)

    return __getattr__, __dir__
