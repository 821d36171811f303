"""gmmkit: Gaussian mixture models with a fast, exact, chunked EM engine.

The public API::

    from gmmkit import GaussianMixture
    model = GaussianMixture(n_components=3).fit(X)
"""

from gmmkit.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    NotFittedError,
    PrecisionWarning,
)
from gmmkit.mixture import GaussianMixture

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "GaussianMixture",
    "NotFittedError",
    "PrecisionWarning",
    "__version__",
]
