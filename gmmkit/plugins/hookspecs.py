"""The gmmkit plugin hooks.

A plugin is a module (or object) with functions named after these hooks,
decorated with :data:`hookimpl`::

    from gmmkit import hookimpl

    @hookimpl
    def gmmkit_register_features(register):
        register("log1p", lambda X: np.log1p(X), description="log(1 + x) of every column")

Every hook is called with keyword arguments, so an implementation may take
only the arguments it needs. The ``register`` callbacks take
``register(name, obj, *, description=None)``: ``description`` defaults to
the first line of ``obj``'s docstring, and a name already taken is refused
(reported by ``gmmkit plugins``) rather than silently replaced.

docs/plugins.md documents every hook with an example; a test checks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click

    from gmmkit.data.dataset import Dataset
    from gmmkit.estimators.mixture import GaussianMixture

PROJECT_NAME = "gmmkit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks the hook specifications below (gmmkit's own use)."""
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""The decorator of a plugin's hook implementations: ``@gmmkit.hookimpl``.

A ``gmmkit_*`` function without it is never called (``add_plugin`` reports
it). ``@hookimpl(tryfirst=True)`` and ``trylast`` order the calls of
``gmmkit_read_data``; they do not change who keeps a registered name.
"""

Register = Callable[..., None]
"""The ``register(name, obj, *, description=None)`` callback of the register hooks."""


@hookspec
def gmmkit_register_features(register: Register) -> None:
    """Register feature extractors.

    Called once per plugin manager, the first time the feature registry is
    read (``gmmkit.get_features()``, ``gmmkit.run_pipeline``, ``gmmkit
    plugins``). A feature extractor is ``function(data, **options)`` that
    turns raw input (an image, a signal, a table) into an array of shape
    (n_samples, n_features) for the mixture to fit.
    """


@hookspec
def gmmkit_register_postprocessors(register: Register) -> None:
    """Register post-processors.

    Called once per plugin manager, the first time the post-processor
    registry is read. A post-processor is ``function(model, features,
    responsibilities, *, data, **options)``: it receives the fitted
    GaussianMixture, the feature array (n_samples, n_features), the
    responsibilities (n_samples, n_components) and the raw input, and returns
    the domain result (a label image, a risk table, outlier flags...).
    """


@hookspec
def gmmkit_register_commands(cli: click.Group) -> None:
    """Add click commands (or groups) to the ``gmmkit`` command line.

    Called once by ``build_cli(pm)`` after the core commands exist. Add with
    ``cli.command()`` or ``cli.add_command``; a name that a core command
    already uses is refused. Import heavy libraries inside the command
    function, so that ``gmmkit --help`` stays fast.
    """


@hookspec
def gmmkit_register_datasets(register: Register) -> None:
    """Register data sets that ``gmmkit.datasets.load_dataset`` can load.

    Called once per plugin manager, the first time the data-set registry is
    read. The registered object is a loader: a function without arguments
    returning a :class:`gmmkit.datasets.Dataset`. Loading happens only when
    the data set is asked for.
    """


@hookspec
def gmmkit_register_initializers(register: Register) -> None:
    """Register initialisers that ``GaussianMixture(init_params=name)`` accepts.

    Called once per plugin manager, the first time an ``init_params`` that is
    not built in is used. An initialiser is ``function(X, n_components, *,
    sample_weight, rng)``: X is (a random subsample of at most 100,000 rows
    of) the data, shape (n_rows, n_features); ``sample_weight`` has shape
    (n_rows,); ``rng`` is a numpy Generator. It returns the starting means,
    shape (n_components, n_features); every row is then assigned to its
    nearest mean and one M-step gives the starting parameters.
    """


@hookspec(firstresult=True)
def gmmkit_read_data(path: str, columns: list[str] | None) -> Dataset | None:
    """Read an input file for ``gmmkit fit/predict/score`` and ``gmmkit.read_data``.

    Called for every input file; the first implementation that returns
    something other than None wins (plugins are asked before the built-in
    CSV, .npy and .npz readers, so a plugin can read a file type the core
    does not know, or read one better). Return None for files you do not
    handle. ``columns`` is the user's column selection (names or indices as
    strings) or None for all numeric columns. The result is a
    :class:`gmmkit.datasets.Dataset` whose ``data`` has shape (n_samples,
    n_features).
    """


@hookspec
def gmmkit_fit_start(model: GaussianMixture, n_samples: int, n_features: int) -> None:
    """A GaussianMixture fit is starting (after its input was validated).

    The result is ignored. When no plugin implements any of the three fit
    hooks, the engine never calls them: they cost nothing.
    """


@hookspec
def gmmkit_fit_iteration(
    model: GaussianMixture, init: int, iteration: int, lower_bound: float, change: float
) -> None:
    """One EM iteration of a fit has finished.

    ``init`` counts the restarts from 0, ``iteration`` the iterations of this
    restart from 1; ``lower_bound`` is the mean log-likelihood of the
    iteration and ``change`` its change since the previous one. For progress
    bars and logging; the result is ignored and the model's attributes are
    not set yet.
    """


@hookspec
def gmmkit_fit_end(model: GaussianMixture) -> None:
    """A GaussianMixture fit has finished; the model's attributes are set.

    Called for successful fits only; the result is ignored.
    """


@hookspec
def gmmkit_register_demos(register: Register) -> None:
    """Register demos for ``gmmkit demo``.

    Called once by ``gmmkit demo``. A demo is ``function(out_dir)`` that runs
    on bundled data, may write PNG files into ``out_dir`` (a
    :class:`pathlib.Path`) and returns a :class:`gmmkit.demo.DemoSection`
    for the HTML report. It should take seconds, not minutes.
    """


def hook_names() -> list[str]:
    """Names of every hook in this module."""
    return sorted(name for name, value in globals().items() if _is_hookspec(name, value))


def _is_hookspec(name: str, value: Any) -> bool:
    return name.startswith("gmmkit_") and callable(value)
