"""``gmmkit select``: fit a grid of K x covariance type and keep the best model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gmmkit.covariance import COVARIANCE_TYPES


def parse_k_range(text):
    """``"1..10"``, ``"2,3,5"`` or ``"4"`` -> list of ints >= 1."""
    values = []
    for part in str(text).split(","):
        part = part.strip()
        low, sep, high = part.partition("..")
        try:
            numbers = range(int(low), int(high) + 1) if sep else [int(part)]
        except ValueError:
            numbers = []
        if not numbers or min(numbers) < 1:
            raise click.BadParameter(
                f"{text!r} is not a list of K; write 1..10, 2,3,5 or 4", param_hint="-k"
            )
        values.extend(numbers)
    return sorted(set(values))


@click.command()
@click.argument("data")
@click.option("-k", "--n-components", "k_range", default="1..10", show_default=True,
              help="The K to try: a range 1..10, a list 2,3,5 or one number.")
@click.option("--covariance-types", default=",".join(COVARIANCE_TYPES), show_default=True,
              help="Comma-separated covariance types to try.")
@click.option("--criterion", type=click.Choice(["bic", "aic", "icl"]), default="bic",
              show_default=True)
@click.option("--n-init", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--n-jobs", default=None, type=int, help="Processes to fit in (-1: every core).")
@click.option("--seed", default=0, show_default=True, type=int, help="random_state")
@click.option("--missing", type=click.Choice(["error", "em"]), default="error", show_default=True)
@click.option("--noise", type=click.Choice(["none", "uniform"]), default="none",
              show_default=True)
@click.option("--columns", metavar="A,B,...", help="Columns to use, by name or 0-based index.")
@click.option("-o", "--output", "model_path", type=click.Path(dir_okay=False),
              help="Where to save the best model [default: DATA's name + .gmm].")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Draw the criterion curves to this PNG (needs gmmkit[plot]).")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def select(data, k_range, covariance_types, criterion, n_init, n_jobs, seed, missing, noise,
           columns, model_path, plot_path, as_json):
    """Fit every K and covariance type to DATA; print the table; save the best model."""
    from gmmkit.cli import load_input
    from gmmkit.io import save
    from gmmkit.selection import format_selection, plot_criterion, select_model

    dataset = load_input(data, columns, missing=missing)
    types = [c.strip() for c in covariance_types.split(",") if c.strip()]
    best, table = select_model(
        dataset.data, parse_k_range(k_range), types, criterion, n_init=n_init, n_jobs=n_jobs,
        random_state=seed, missing=missing, noise=None if noise == "none" else noise,
    )
    model_path = model_path or f"{Path(data.split(':')[0]).stem}.gmm"
    chosen = next(row for row in table if row["chosen"])
    save(best, model_path, extra={
        "data": data, "feature_names": list(dataset.feature_names), "command": "gmmkit select",
        "criterion": criterion, criterion: chosen[criterion],
    })
    if plot_path:
        plot_criterion(table, criterion, plot_path, title=f"{data}: {criterion.upper()} by K")
    if as_json:
        click.echo(json.dumps({"best": {k: chosen[k] for k in ("n_components", "covariance_type")},
                               "model_file": model_path, "table": table}, indent=2))
        return
    click.echo(format_selection(table, criterion))
    click.echo(f"\nbest: K={chosen['n_components']}, {chosen['covariance_type']} "
               f"({criterion.upper()} {chosen[criterion]:.2f}); model saved to {model_path}")
    if plot_path:
        click.echo(f"plot saved to {plot_path}")
