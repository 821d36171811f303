"""Helpers shared by the test folders: synthetic mixtures with known parameters.

Import them as ``from helpers import make_mixture`` (``pythonpath = ["tests"]`` in
pyproject's [tool.pytest.ini_options] puts this folder on sys.path), so plain
``pytest`` and ``python -m pytest`` both collect every folder.
"""

import importlib
import importlib.util
import warnings

import numpy as np
import pytest

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def make_mixture(n_samples=600, n_features=3, n_components=3, seed=0, offset=0.0):
    """Samples of a well-separated mixture and its true parameters.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
    truth : dict with weights (K,), means (K, D), covariances (K, D, D)
    """
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_components, 5.0))
    means = rng.normal(0.0, 5.0, size=(n_components, n_features)) + offset
    factors = rng.normal(0.0, 0.4, size=(n_components, n_features, n_features))
    covariances = factors @ factors.transpose(0, 2, 1) + 0.5 * np.eye(n_features)
    labels = rng.choice(n_components, size=n_samples, p=weights)
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], covariances[k], size=rows.sum())
    return X, labels, {"weights": weights, "means": means, "covariances": covariances}


def initial_precisions(covariance_type, n_components, n_features, scale=1.0):
    """Identity-like precisions in the layout of a covariance type."""
    return {
        "full": np.stack([np.eye(n_features) * scale] * n_components),
        "tied": np.eye(n_features) * scale,
        "diag": np.full((n_components, n_features), scale),
        "spherical": np.full(n_components, scale),
    }[covariance_type]


def run_check_estimator(estimator):
    """scikit-learn's check_estimator on ``estimator``: ({failed check: error}, n passed)."""
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    return failed, sum(r["status"] == "passed" for r in results)


def extra_installed(plugin):
    """Whether every library that the built-in ``plugin`` ``requires`` can be imported."""
    requires = importlib.import_module(plugin).requires
    return all(importlib.util.find_spec(name) is not None for name in requires)


def needs_extra(plugin):
    """Mark a core test that runs a built-in plugin: skipped when its extra is missing."""
    hint = importlib.import_module(plugin).install_hint
    return pytest.mark.skipif(not extra_installed(plugin), reason=f"{plugin} needs {hint}")


#: the built-in plugin behind each plugin command group of the CLI
PLUGIN_COMMANDS = {
    "finance": "gmmkit_finance",
    "image": "gmmkit_image",
    "outliers": "gmmkit_outliers",
    "speech": "gmmkit_speech",
}


def command_installed(argv):
    """Whether the command ``argv`` (``["image", "segment", ...]``) is installed."""
    plugin = PLUGIN_COMMANDS.get(str(argv[0]))
    return plugin is None or extra_installed(plugin)


#: a test that draws a plot: skipped when matplotlib (gmmkit[plot]) is missing
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="plots need matplotlib: pip install 'gmmkit[plot]'",
)



def plugin_cli(plugin):
    """The gmmkit CLI with only the built-in ``plugin`` (a module name) loaded."""
    from gmmkit.cli import build_cli
    from gmmkit.plugins import make_plugin_manager

    pm = make_plugin_manager(entry_points=False)
    assert pm.add_plugin(importlib.import_module(plugin), plugin).status == "loaded"
    return build_cli(pm)


def invoke(cli, *args):
    """Run the CLI with click's runner; arguments are turned into strings."""
    from click.testing import CliRunner

    return CliRunner().invoke(cli, [str(a) for a in args])
