"""The ``predict`` and ``score`` commands, and reading a model file for them.

DATA in memory (CSV, a bundled data set, ...) is read whole, as before; a
``.npy`` DATA, or any DATA with ``--dask-scheduler``, is read a block at a
time by :mod:`gmmkit.cli.streaming`, with a progress bar on stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import click

import gmmkit.cli.output as output
from gmmkit.cli.files import command_outputs, force_option
from gmmkit.cli.options import echo_json, json_option, output_option, quiet_option
from gmmkit.cli.reading import check_values, match_columns, model_nan_fix, read_input
from gmmkit.inputs.readers import data_suffix

if TYPE_CHECKING:
    from gmmkit.cli.options import FC
    from gmmkit.data.dataset import Dataset
    from gmmkit.engine.types import AnyArray
    from gmmkit.estimators.conditioning import Mixture
    from gmmkit.outputs import OutputFile

#: the suffixes -o takes
OUTPUT_SUFFIXES = (".npy", ".csv")


def columns_option(function: FC) -> FC:
    return click.option(
        "--columns",
        metavar="A,B,...",
        help="Columns to use, by name or 0-based index (default: every numeric column).",
    )(function)


def load_model_file(path: str) -> Mixture:
    """The mixture in model file ``path``; a classifier, a regressor, or a file whose
    ``extra["reader"]`` names another command, is refused clearly.

    Plugins whose model files hold a mixture that predict/score/sample must
    not use as it is (the outlier detector's is fitted to scaled columns)
    store ``extra["reader"] = {"what": ..., "command": ...}``.
    """
    from gmmkit.modelfiles.files import load

    model = load(path)
    reader = (getattr(model, "metadata_", {}).get("extra") or {}).get("reader")
    if isinstance(reader, dict) and reader.get("command"):
        raise click.ClickException(
            f"'{path}' is {reader.get('what') or 'not a plain mixture'}; use "
            f"`{reader['command']}` with it."
        )
    kind = type(model).__name__
    if kind in ("GMMClassifier", "GaussianMixtureRegressor"):
        command = click.get_current_context().info_name
        raise click.ClickException(
            f"'{path}' holds a {kind}; `gmmkit {command}` works on GaussianMixture and "
            f"BayesianGaussianMixture files. Use it from Python: gmmkit.load({str(path)!r})."
        )
    return cast("Mixture", model)  # (the other classes were refused above)


def model_input(model: Mixture, model_path: str, data: str, columns: str | None) -> Dataset:
    """The rows of DATA for ``model``: the columns it was fitted on (match_columns), checked."""
    dataset = read_input(data, columns)
    fitted_on = (getattr(model, "metadata_", {}).get("extra") or {}).get("feature_names")
    match_columns(dataset, data, fitted_names=fitted_on, n_features=model.n_features_in_,
                  model=model_path, picked=columns is not None)
    allows_nan = getattr(model, "missing", "error") == "em"
    check_values(dataset, data, nan_fix=None if allows_nan else model_nan_fix(model_path))
    return dataset


def streaming_options(function: FC) -> FC:
    """-o, --force, -q and --dask-scheduler of predict and score (a .npy DATA streams)."""
    for option in reversed((
        output_option("Write the results to this .npy or .csv file instead of stdout "
                      "(a .npy DATA is written a block at a time).", dest="output_path"),
        force_option,
        quiet_option("progress bar"),
        click.option("--dask-scheduler", metavar="ADDRESS",
                     help="Compute on the Dask cluster of this scheduler (tcp://host:8786); "
                          "DATA must be a .npy file every worker can read at the same path."),
    )):
        function = option(function)
    return function


def _streams(data: str, dask_scheduler: str | None) -> bool:
    """True when DATA is read a block at a time: a .npy file, or any DATA on a cluster."""
    if dask_scheduler is not None and data_suffix(data) != ".npy":
        raise click.BadParameter(
            "with --dask-scheduler DATA must be a .npy file that every worker can read at "
            "the same path", param_hint="DATA")
    return data_suffix(data) == ".npy"


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(exists=True, dir_okay=False))
@click.argument("data")
@click.option("--proba", is_flag=True, help="Print every component's probability instead.")
@columns_option
@streaming_options
def predict(
    model_path: str, data: str, proba: bool, columns: str | None, output_path: str | None,
    force: bool, quiet: bool, dask_scheduler: str | None,
) -> None:
    """Print the most probable component of every row of DATA (CSV on stdout).

    With a noise component, rows assigned to it get the label -1. A .npy
    DATA is read a block at a time, with a progress bar on stderr.
    """
    model = load_model_file(model_path)
    header = ["label"]
    if proba:
        header = [f"p{k}" for k in range(len(model.weights_))]  # n_components may be "auto"
        if getattr(model, "noise_bounds_", None) is not None:
            header.append("noise")
    if _streams(data, dask_scheduler):
        from gmmkit.cli.streaming import stream_rows

        stream_rows(model, model_path, data, method="predict_proba" if proba else "predict",
                    header=header, columns=columns, output_path=output_path, force=force,
                    quiet=quiet, dask_scheduler=dask_scheduler)
        return
    outputs = command_outputs(force, data, model_path)
    target = outputs.file(output_path, "output_path", suffixes=OUTPUT_SUFFIXES)
    X = model_input(model, model_path, data, columns).data
    values = model.predict_proba(X) if proba else model.predict(X)
    _write_values(target, header, values)
    outputs.commit()


def _write_values(target: OutputFile | None, header: list[str], values: AnyArray) -> None:
    """In-memory results to -o (.npy or .csv) or CSV on stdout."""
    import numpy as np

    if target is None:
        output.write_csv(header, values[:, None] if values.ndim == 1 else values)
    elif target.path.lower().endswith(".npy"):
        np.save(target.temporary, values)
    else:
        with open(target.temporary, "w", newline="") as file:
            output.write_csv(header, values[:, None] if values.ndim == 1 else values,
                                 file=file)


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(exists=True, dir_okay=False))
@click.argument("data")
@columns_option
@json_option("{n_samples, mean, log_likelihood: [...]}")
@streaming_options
def score(
    model_path: str, data: str, columns: str | None, as_json: bool, output_path: str | None,
    force: bool, quiet: bool, dask_scheduler: str | None,
) -> None:
    """Print the log-likelihood of every row of DATA under MODEL (CSV on stdout).

    A .npy DATA is read a block at a time, with a progress bar on stderr;
    its --json is {n_samples, mean}, the rows' values going to -o.
    """
    model = load_model_file(model_path)
    if _streams(data, dask_scheduler):
        from gmmkit.cli.streaming import stream_score

        stream_score(model, model_path, data, columns=columns, output_path=output_path,
                     force=force, quiet=quiet, dask_scheduler=dask_scheduler, as_json=as_json)
        return
    outputs = command_outputs(force, data, model_path)
    target = outputs.file(output_path, "output_path", suffixes=OUTPUT_SUFFIXES)
    log_lik = model.score_samples(model_input(model, model_path, data, columns).data)
    if target is not None:
        _write_values(target, ["log_likelihood"], log_lik)
        outputs.commit()
    if as_json:
        # JSON has no -inf: a row whose density is below float64's range gets null
        summary: dict[str, Any] = {"n_samples": int(log_lik.size), "mean": float(log_lik.mean())}
        if target is None:
            summary["log_likelihood"] = log_lik
        echo_json(summary, indent=None)
    elif target is None:
        output.write_csv(["log_likelihood"], log_lik[:, None])


