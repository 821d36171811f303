"""gmmkit: Gaussian mixture models with a fast, exact, chunked EM engine.

The public API::

    from gmmkit import GaussianMixture
    model = GaussianMixture(n_components=3).fit(X)

Plugins (see docs/plugins.md) register feature extractors, post-processors,
data sets, initialisers, readers, demos and commands; the ``get_*``
functions list what is registered and :func:`run_pipeline` chains them.
"""

from gmmkit._version import __version__
from gmmkit.engine.criteria import information_criteria
from gmmkit.engine.threads import single_blas_thread
from gmmkit.estimators.base import EstimatorBase
from gmmkit.estimators.bayesian import BayesianGaussianMixture
from gmmkit.estimators.bootstrap import LRTResult, bootstrap_lrt
from gmmkit.estimators.classifier import GMMClassifier
from gmmkit.estimators.impute import impute
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.estimators.mixture_plots import plot_mixture
from gmmkit.estimators.plots import plot_criterion
from gmmkit.estimators.regression import GaussianMixtureRegressor
from gmmkit.estimators.rowwise import is_large_input, map_rows
from gmmkit.estimators.selection import select_model
from gmmkit.estimators.streams import fit_stream
from gmmkit.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    ModelFileError,
    NotFittedError,
    PluginWarning,
    PrecisionWarning,
)
from gmmkit.inputs.readers import read_data
from gmmkit.modelfiles.files import load, read_metadata, save
from gmmkit.pipeline import PipelineResult, run_pipeline
from gmmkit.plugins.hookspecs import hookimpl
from gmmkit.plugins.manager import (
    get_datasets,
    get_demos,
    get_features,
    get_initializers,
    get_plugins,
    get_postprocessors,
)

__all__ = [
    "BayesianGaussianMixture",
    "ConvergenceWarning",
    "GMMClassifier",
    "DegenerateComponentWarning",
    "EstimatorBase",
    "GaussianMixture",
    "GaussianMixtureRegressor",
    "LRTResult",
    "ModelFileError",
    "NotFittedError",
    "PipelineResult",
    "PluginWarning",
    "PrecisionWarning",
    "__version__",
    "bootstrap_lrt",
    "fit_stream",
    "get_datasets",
    "get_demos",
    "get_features",
    "get_initializers",
    "get_plugins",
    "get_postprocessors",
    "hookimpl",
    "impute",
    "is_large_input",
    "information_criteria",
    "load",
    "map_rows",
    "plot_criterion",
    "plot_mixture",
    "read_data",
    "read_metadata",
    "run_pipeline",
    "save",
    "select_model",
    "single_blas_thread",
]
