"""The ``gmmkit`` command line.

``build_cli(pm)`` makes the click group: the core commands below, then
every plugin's through ``gmmkit_register_commands``. Results go to stdout
(``--json`` for machines), progress and warnings to stderr. Exit codes: 0
ok, 2 usage error, 1 data or model error with a one-line message (the
traceback only with ``gmmkit --debug``). Heavy imports happen inside
commands so ``gmmkit --help`` is fast.
"""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING, Any, NoReturn

import click

import gmmkit.cli.output as output
from gmmkit.cli.files import (
    command_outputs,
    force_option,
    seed_option,
)
from gmmkit.cli.listing import LISTING_COMMANDS
from gmmkit.cli.options import (
    echo_json,
    json_option,
    missing_option,
    noise_option,
    output_option,
    quiet_option,
)
from gmmkit.cli.pluginhints import check_initializer, no_such_command_note
from gmmkit.cli.predicting import columns_option, load_model_file, predict, score
from gmmkit.cli.reading import (
    load_input,
    parse_columns,
)
from gmmkit.cli.scaffold import plugin
from gmmkit.cli.selection import select
from gmmkit.engine.covariance import COVARIANCE_TYPES
from gmmkit.exceptions import PluginWarning
from gmmkit.inputs.readers import data_suffix

if TYPE_CHECKING:
    from typing import Union

    from gmmkit.data.dataset import Dataset
    from gmmkit.engine.types import FitInput
    from gmmkit.estimators.bayesian import BayesianGaussianMixture
    from gmmkit.estimators.mixture import GaussianMixture
    from gmmkit.plugins.manager import PluginManager

    Mixture = Union[GaussianMixture, BayesianGaussianMixture]


class ComponentsType(click.ParamType):
    """``-k``: a positive integer or ``auto`` (choose K by BIC)."""

    name = "N|auto"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | str:
        if isinstance(value, int) or value == "auto":
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a positive integer or 'auto'", param, ctx)
        return number


class ByteSize(click.ParamType):
    """``--memory-budget``: bytes, or a number with a unit K, M, G or T (powers of 1024).

    "500MB", "2GB", "1.5G", "64KiB" and "1000000" are accepted.
    """

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        import re

        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(?:([KMGT])(?:I?B)?|B)?\s*", str(value).upper())
        if match is None:
            self.fail(f"{value!r} is not a size such as 500MB, 2GB or a number of bytes",
                      param, ctx)
        number, unit = match.groups()
        return int(float(number) * 1024 ** (" KMGT".index(unit) if unit else 0))


def format_size(n_bytes: float) -> str:
    """'640.0 MB', '2.0 GB' (powers of 1024)."""
    if n_bytes < 1024:
        return f"{n_bytes:.0f} B"
    for unit in ("KB", "MB"):
        n_bytes /= 1024
        if n_bytes < 1024:
            return f"{n_bytes:.1f} {unit}"
    return f"{n_bytes / 1024:.1f} GB"


class GmmkitGroup(click.Group):
    """A click group that runs commands with its plugin manager and tidy errors."""

    def __init__(
        self, *args: Any, plugin_manager: PluginManager | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.plugin_manager = plugin_manager

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """click's, with "No such command" naming the plugins that did not load."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            name = args[0] if args else ""
            note = ""
            if self.plugin_manager is not None and self.get_command(ctx, name) is None:
                note = no_such_command_note(self.plugin_manager, name)
            if not note:
                raise
            raise click.UsageError(exc.format_message() + note, ctx=exc.ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        from gmmkit.cli.output import warning_messages
        from gmmkit.plugins.manager import describe_error, use_plugin_manager

        debug = ctx.params.get("debug", False)
        failed = True
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with use_plugin_manager(self.plugin_manager):
                    result = super().invoke(ctx)
                failed = False
                return result
            except (click.ClickException, click.exceptions.Exit, click.Abort):
                raise
            except BrokenPipeError:  # `gmmkit predict ... | head`: the reader has gone
                raise click.exceptions.Exit(stdout_closed()) from None
            except Exception as exc:
                if debug:
                    raise
                if isinstance(exc, (ValueError, OSError)):
                    raise click.ClickException(" ".join(str(exc).split())) from None
                raise click.ClickException(
                    f"{describe_error(exc)} (run `gmmkit --debug ...` for the traceback)"
                ) from None
            finally:
                for message in warning_messages(caught, failed):
                    click.echo(f"Warning: {message}", err=True)


def build_cli(pm: PluginManager | None = None) -> click.Group:
    """The ``gmmkit`` click group for plugin manager ``pm``.

    Parameters
    ----------
    pm : gmmkit.plugins.manager.PluginManager, optional
        Default: the process-wide manager (installed plugins, environment
        switches applied).

    Returns
    -------
    click.Group
    """
    from gmmkit.plugins.manager import describe_error, get_plugin_manager

    pm = get_plugin_manager() if pm is None else pm

    @click.group(cls=GmmkitGroup, plugin_manager=pm)
    @click.version_option(package_name="gmmkit")
    @click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
    def cli(debug: bool) -> None:
        """gmmkit: Gaussian mixture models from the command line.

        DATA arguments take a bundled data set name (see `gmmkit datasets`),
        a CSV file (header row allowed), a .npy or a .npz file, or any file
        an installed plugin reads.
        """

    for command in (*CORE_COMMANDS, *LISTING_COMMANDS, plugin):
        cli.add_command(command)
    for impl in pm.hook.gmmkit_register_commands.get_hookimpls():
        before = dict(cli.commands)
        try:
            impl.function(cli=cli)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the CLI
            pm.report_problem(
                impl.plugin_name, f"gmmkit_register_commands raised {describe_error(exc)}"
            )
        for name, command in before.items():
            if cli.commands.get(name) is not command:
                cli.commands[name] = command
                owner = pm.command_owners.get(name)
                taken = f"already belongs to plugin {owner}" if owner else "is a core command"
                pm.report_problem(impl.plugin_name, f"command {name!r} {taken}; not replaced")
        for name in set(cli.commands) - set(before):
            pm.command_owners[name] = impl.plugin_name
    return cli


@click.command()
@click.argument("data")
@click.option("-k", "--n-components", default="3", show_default=True, type=ComponentsType(),
              help="Number of components, or 'auto' to choose 1..10 by BIC.")
@click.option("--covariance-type", type=click.Choice(list(COVARIANCE_TYPES)), default="full",
              show_default=True,
              help="scikit-learn's full, tied, diag, spherical or one of mclust's models "
                   "(EII ... VVV; E or V for one feature).")
@click.option("--n-init", default=1, show_default=True, type=click.IntRange(min=1),
              help="EM runs from different starts; the best log-likelihood is kept.")
@click.option("--max-iter", default=100, show_default=True, type=click.IntRange(min=0),
              help="At most this many EM iterations per run.")
@click.option("--init-params", default="kmeans", show_default=True, metavar="NAME",
              help="How the first parameters are chosen: kmeans, k-means++, random, "
                   "random_from_data, hc, or an initialiser a plugin registers (`gmmkit plugins` "
                   "lists them).")
@seed_option()
@missing_option
@noise_option
@columns_option
@output_option("Save the fitted model to this file (.gmm).", dest="model_path")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Draw the classification, uncertainty and density of the fit (mclust's "
                   "plots) to this PNG (needs gmmkit[plot]).")
@force_option
@json_option("the summary")
@quiet_option
@click.option("--dask-scheduler", metavar="ADDRESS",
              help="Fit on the Dask cluster of this scheduler (tcp://host:8786); DATA must then "
                   "be a .npy file every worker can read at the same path.")
@click.option("--memory-budget", default="2GB", show_default=True, type=ByteSize(),
              help="A .npy DATA file larger than this is fitted out of core: read in chunks "
                   "at every EM iteration, with memory bounded by the chunks (500MB, 2GB, bytes).")
def fit(
    data: str,
    n_components: int | str,
    covariance_type: str,
    n_init: int,
    max_iter: int,
    init_params: str,
    seed: int,
    missing: str,
    noise: str,
    columns: str | None,
    model_path: str | None,
    plot_path: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
    dask_scheduler: str | None,
    memory_budget: int,
) -> None:
    """Fit a Gaussian mixture to DATA and print a summary of it."""
    import numpy as np

    from gmmkit.estimators.mixture import GaussianMixture

    outputs = command_outputs(force, data)
    model_file = outputs.file(model_path, "model_path")  # checked before the fit
    plot_file = outputs.figure(plot_path, "plot_path")

    check_initializer(init_params)
    params: dict[str, Any] = dict(covariance_type=covariance_type, n_init=n_init, max_iter=max_iter,
                  init_params=init_params, random_state=seed, verbose=0 if quiet else 1,
                  verbose_interval=10,
                  missing=missing, noise=None if noise == "none" else noise)
    if dask_scheduler is not None:
        model, dataset, summary = _fit_on_dask(data, columns, n_components, params, dask_scheduler)
    elif _over_budget(data, memory_budget):
        model, dataset, summary = _fit_out_of_core(
            data, columns, n_components, params, memory_budget, quiet
        )
    else:
        dataset = load_input(data, columns, missing=missing)
        # a .npy file comes as a memmap, which fit() would stream: under the memory
        # budget it is an array, read through the map
        in_memory = np.asarray(dataset.data)
        model = GaussianMixture(n_components, **params).fit(in_memory)
        summary = output.describe(model, dataset, source=data)
    if n_components == "auto":
        summary["selection"] = model.selection_
    if model_file is not None:
        from gmmkit.modelfiles.files import save

        model_file.write(lambda temporary: save(
            model, temporary, extra=output.provenance(dataset, data, summary)))
        summary["model_file"] = model_path
    if plot_file is not None:
        from gmmkit.cli.plotting import draw_fit

        plot_file.write(lambda temporary: draw_fit(model, dataset, temporary, title=data))
    outputs.commit()
    if as_json:
        echo_json(summary)
    else:
        click.echo(output.format_summary(summary))


def _fit_on_dask(
    data: str, columns: str | None, n_components: int | str, params: dict[str, Any], address: str
) -> tuple[GaussianMixture, Dataset, dict[str, Any]]:
    """``fit --dask-scheduler``: the workers read DATA (.npy) and run the E-steps.

    Returns
    -------
    (GaussianMixture, Dataset, summary dict)
    """
    from gmmkit.estimators.mixture import GaussianMixture

    if data_suffix(data) != ".npy":
        raise click.BadParameter(
            "with --dask-scheduler DATA must be a .npy file that every worker can read at "
            "the same path", param_hint="DATA")
    header, index = _npy_columns(data, columns)
    try:
        from gmmkit.data import dask_arrays as dask_data

        client = dask_data.connect(address)
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    with client:
        X = dask_data.from_npy(data)
        if index != list(range(X.shape[1])):
            X = X[:, index]
        model = GaussianMixture(n_components, **params).fit(X)
        criteria = dask_data.information_criteria(model, X)
    return _summarised(model, header, index, data, criteria)


def _npy_columns(data: str, columns: str | None) -> tuple[Dataset, list[int]]:
    """(the .npy file's memory-mapped Dataset, indices of the --columns picked)."""
    from gmmkit.inputs.readers import read_npy, select_columns

    header = read_npy(data, None)  # memory-mapped: only the header is read here
    return header, select_columns(header.feature_names, parse_columns(columns), data)


def _summarised(
    model: GaussianMixture, header: Dataset, index: list[int], data: str, criteria: dict[str, Any]
) -> tuple[GaussianMixture, Dataset, dict[str, Any]]:
    """(model, Dataset, summary) of a fit whose data were never loaded here.

    describe() scores the rows it is given: it gets one row (a mean), then
    the criteria computed on the whole of DATA replace that row's.
    """
    from gmmkit.data.dataset import Dataset

    dataset = Dataset(model.means_[:1], [header.feature_names[j] for j in index])
    summary = output.describe(model, dataset, source=data)
    summary.update(criteria)
    return model, dataset, summary


def _over_budget(data: str, budget: int) -> bool:
    """True when DATA is a .npy file of more than ``budget`` bytes."""
    import os

    return data_suffix(data) == ".npy" and os.path.isfile(data) and os.path.getsize(data) > budget


def _fit_out_of_core(
    data: str,
    columns: str | None,
    n_components: int | str,
    params: dict[str, Any],
    budget: int,
    quiet: bool,
) -> tuple[GaussianMixture, Dataset, dict[str, Any]]:
    """``fit`` of a .npy file over --memory-budget: read in chunks as EM goes (gmmkit.data.stream).

    Returns
    -------
    (GaussianMixture, Dataset, summary dict)
    """
    import os

    from gmmkit.cli.reading import out_of_core_error
    from gmmkit.data import stream
    from gmmkit.estimators.mixture import GaussianMixture

    size = os.path.getsize(data)
    header, index = _npy_columns(data, columns)
    X: FitInput = header.data  # a file memmap: GaussianMixture.fit streams it
    if index != list(range(header.data.shape[1])):
        X = stream.npy_chunks(header.data, columns=index)  # type: ignore[arg-type]  # (a memmap)
    if not quiet:
        click.echo(
            f"{data} ({format_size(size)}) is over the memory budget of {format_size(budget)}: "
            "fitting out of core, reading it in chunks at every iteration.", err=True,
        )
    try:
        model = GaussianMixture(n_components, **params).fit(X)
    except ValueError as exc:
        if not hasattr(exc, "non_finite"):
            raise
        raise out_of_core_error(exc.non_finite, data, params["missing"]) from None
    criteria = stream.information_criteria(model, X)  # one more pass, in chunks
    return _summarised(model, header, index, data, criteria)


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(exists=True, dir_okay=False))
@click.option("-n", "--n-samples", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many rows to draw from the model.")
@seed_option(default=None, help="Seed of the draws (default: the model's random_state).")
def sample(model_path: str, n_samples: int, seed: int | None) -> None:
    """Draw N rows from MODEL (CSV on stdout, with each row's component)."""
    model = load_model_file(model_path)
    if seed is not None:
        model.random_state = seed
    X, components = model.sample(n_samples)
    names = (model.metadata_.get("extra") or {}).get("feature_names") or [
        f"x{j}" for j in range(X.shape[1])
    ]
    output.write_csv([*names, "component"], X, last_column=components)


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(exists=True, dir_okay=False))
@json_option("the file's metadata")
def info(model_path: str, as_json: bool) -> None:
    """Describe a model file: its model class, format, gmmkit version, parameters, training."""
    from gmmkit.cli.info import format_info
    from gmmkit.modelfiles.files import load, read_metadata

    metadata = read_metadata(model_path)
    if as_json:
        echo_json(metadata)
        return
    classes = None
    if metadata["model_class"] == "GMMClassifier" and metadata["classes"] is None:
        # the labels are in classes.npy (a GMMClassifier file)
        classes = load(model_path).classes_.tolist()  # type: ignore[union-attr]
    click.echo(format_info(metadata, classes))


CORE_COMMANDS = (fit, select, predict, score, sample, info)


def stdout_closed() -> int:
    """The reader of stdout went away: send later writes to /dev/null; return 141.

    141 (128 + SIGPIPE) is what a shell reports for a tool that a closed
    pipe stopped, as ``seq 100000 | head -1`` does; nothing goes to stderr.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a file (tests)
        pass
    return 141


def main() -> NoReturn:
    """Console-script entry point (output cut by a closed pipe: exit 141, quietly)."""
    status: str | int | None
    with warnings.catch_warnings(record=True) as caught:  # GMMKIT_*_PLUGINS names unknown
        warnings.simplefilter("always")
        cli = build_cli()
    for warning in caught:  # gmmkit's own as `Warning:` lines; others as Python shows them
        if issubclass(warning.category, PluginWarning):
            click.echo(f"Warning: {warning.message}", err=True)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    try:
        status = cli.main()
    except SystemExit as exc:
        status = exc.code
    try:
        sys.stdout.flush()  # here, not at exit, where a closed pipe prints a traceback
    except BrokenPipeError:
        status = stdout_closed()
    sys.exit(status)
