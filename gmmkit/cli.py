"""The ``gmmkit`` command line.

Results go to stdout (``--json`` for machines), progress and warnings to
stderr.  Heavy imports happen inside commands so ``gmmkit --help`` is fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def load_data(source):
    """Rows to fit from a bundled data set name, a .npy file or a .csv file.

    Parameters
    ----------
    source : str

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    feature_names : list of str
    """
    import numpy as np

    from gmmkit.datasets import list_datasets, load_dataset

    if source in list_datasets():
        X, _, names = load_dataset(source, return_feature_names=True)
        return X, names
    path = Path(source)
    if not path.exists():
        raise click.BadParameter(
            f"{source!r} is neither a file nor a bundled data set ({', '.join(list_datasets())})",
            param_hint="DATA",
        )
    if path.suffix == ".npy":
        X = np.load(path, mmap_mode="r", allow_pickle=False)
        return X, [f"x{j}" for j in range(X.shape[1] if X.ndim == 2 else 1)]
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    try:
        X = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise click.BadParameter(
            f"{source}: could not read numeric CSV ({exc}); keep only numeric "
            "columns, with one header line",
            param_hint="DATA",
        ) from None
    return X, header


def describe(model, X, feature_names):
    """A JSON-able summary of a fitted GaussianMixture."""
    return {
        "n_components": int(model.n_components),
        "covariance_type": model.covariance_type,
        "n_samples": int(X.shape[0]),
        "features": list(feature_names),
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "lower_bound": float(model.lower_bound_),
        "bic": float(model.bic(X)),
        "aic": float(model.aic(X)),
        "weights": model.weights_.tolist(),
        "means": model.means_.tolist(),
        "covariances": model.covariances_.tolist(),
    }


def format_summary(summary):
    """Human-readable text of :func:`describe`'s summary."""
    lines = [
        f"GaussianMixture: {summary['n_components']} components, "
        f"covariance_type={summary['covariance_type']}, {summary['n_samples']} samples",
        f"converged: {summary['converged']} after {summary['n_iter']} iterations; "
        f"mean log-likelihood {summary['lower_bound']:.4f}; "
        f"BIC {summary['bic']:.2f}; AIC {summary['aic']:.2f}",
        "",
        "component  weight  mean (" + ", ".join(summary["features"]) + ")",
    ]
    for k, (weight, mean) in enumerate(zip(summary["weights"], summary["means"])):
        values = ", ".join(f"{v:.3f}" for v in mean)
        lines.append(f"{k:>9}  {weight:6.3f}  ({values})")
    return "\n".join(lines)


@click.group()
@click.version_option(package_name="gmmkit")
def cli():
    """gmmkit: Gaussian mixture models from the command line."""


@cli.command()
@click.argument("data")
@click.option("-k", "--n-components", default=3, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--covariance-type",
    type=click.Choice(["full", "tied", "diag", "spherical"]),
    default="full",
    show_default=True,
)
@click.option("--n-init", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--max-iter", default=100, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=0, show_default=True, type=int, help="random_state")
@click.option("--json", "as_json", is_flag=True, help="Print the fitted model as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def fit(data, n_components, covariance_type, n_init, max_iter, seed, as_json, quiet):
    """Fit a Gaussian mixture to DATA and print the fitted model.

    DATA is a bundled data set name (e.g. iris), a .npy file or a CSV file
    with one header line and numeric columns.
    """
    from gmmkit import GaussianMixture

    X, names = load_data(data)
    model = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        n_init=n_init,
        max_iter=max_iter,
        random_state=seed,
        verbose=0 if quiet else 1,
        verbose_interval=10,
    )
    try:
        model.fit(X)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    summary = describe(model, X, names)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(format_summary(summary))


def main():
    """Console-script entry point."""
    sys.exit(cli())
