"""gmmkit: Gaussian mixture models with a fast, exact, chunked EM engine.

The public API::

    from gmmkit import GaussianMixture
    model = GaussianMixture(n_components=3).fit(X)

Plugins (see docs/plugins.md) register feature extractors, post-processors,
data sets, initialisers, readers, demos and commands; the ``get_*``
functions list what is registered and :func:`run_pipeline` chains them.
"""

from gmmkit._estimator import EstimatorBase
from gmmkit.bayesian import BayesianGaussianMixture
from gmmkit.classifier import GMMClassifier
from gmmkit.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    ModelFileError,
    NotFittedError,
    PluginWarning,
    PrecisionWarning,
)
from gmmkit.hookspecs import hookimpl
from gmmkit.io import load, read_metadata, save
from gmmkit.missing import impute
from gmmkit.mixture import GaussianMixture
from gmmkit.pipeline import PipelineResult, run_pipeline
from gmmkit.plugins import (
    get_datasets,
    get_demos,
    get_features,
    get_initializers,
    get_plugins,
    get_postprocessors,
)
from gmmkit.readers import read_data
from gmmkit.regression import GaussianMixtureRegressor
from gmmkit.selection import select_model

__version__ = "0.1.0"

__all__ = [
    "BayesianGaussianMixture",
    "ConvergenceWarning",
    "GMMClassifier",
    "DegenerateComponentWarning",
    "EstimatorBase",
    "GaussianMixture",
    "GaussianMixtureRegressor",
    "ModelFileError",
    "NotFittedError",
    "PipelineResult",
    "PluginWarning",
    "PrecisionWarning",
    "__version__",
    "get_datasets",
    "get_demos",
    "get_features",
    "get_initializers",
    "get_plugins",
    "get_postprocessors",
    "hookimpl",
    "impute",
    "load",
    "read_data",
    "read_metadata",
    "run_pipeline",
    "save",
    "select_model",
]
