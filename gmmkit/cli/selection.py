"""``gmmkit select``: fit a grid of K x covariance type and keep the best model."""

from __future__ import annotations

from pathlib import Path

import click

from gmmkit.cli.files import command_outputs, force_option, seed_option
from gmmkit.cli.options import (
    echo_json,
    json_option,
    missing_option,
    noise_option,
    output_option,
    quiet_option,
)
from gmmkit.engine.covariance import COVARIANCE_TYPES


def parse_k_spans(text: str) -> list[tuple[int, int]]:
    """``"1..10"``, ``"2,3,5"`` or ``"4"`` -> [(low, high), ...] with 1 <= low <= high.

    Only the syntax is checked: a range is not expanded, so ``1..100000000``
    costs nothing until it is compared with the data (:func:`parse_k_range`).
    """
    spans = []
    for part in str(text).split(","):
        part = part.strip()
        low, sep, high = part.partition("..")
        try:
            span = (int(low), int(high)) if sep else (int(part), int(part))
        except ValueError:
            span = (0, 0)
        if span[0] < 1 or span[1] < span[0]:
            raise click.BadParameter(
                f"{text!r} is not a list of K; write 1..10, 2,3,5 or 4", param_hint="-k"
            )
        spans.append(span)
    return spans


def parse_k_range(text: str, *, n_distinct: int | None = None, source: str = "DATA") -> list[int]:
    """``"1..10"``, ``"2,3,5"`` or ``"4"`` -> sorted list of ints >= 1.

    Parameters
    ----------
    text : str
    n_distinct : int, optional
        The number of distinct rows of the data: a K above it is refused
        (a usage error naming -k) before the list is built.
    source : str
        The data's name in that message.
    """
    spans = parse_k_spans(text)
    largest = max(high for _, high in spans)
    if n_distinct is not None and largest > n_distinct:
        raise click.BadParameter(
            f"{text!r} asks for K up to {largest}, but {source} has only {n_distinct} "
            f"distinct rows, and a mixture cannot have more components than distinct rows; "
            f"give K <= {n_distinct}, for example -k 1..{min(n_distinct, 10)}",
            param_hint="-k",
        )
    return sorted({k for low, high in spans for k in range(low, high + 1)})


def parse_models(text: str | None, n_features: int) -> list[str]:
    """``--covariance-types``: comma-separated names, or mclust's default models when empty."""
    from gmmkit.engine.mclust_models import check_model_dimensions, default_models

    names = [c.strip() for c in str(text or "").split(",") if c.strip()]
    if not names:
        return list(default_models(n_features))
    for name in names:
        if name not in COVARIANCE_TYPES:
            raise click.BadParameter(
                f"{name!r} is not a covariance model; use mclust's EII, VII, EEI, VEI, EVI, "
                "VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV (E, V for one feature) or "
                "full, tied, diag, spherical", param_hint="--covariance-types")
        try:
            check_model_dimensions(name, n_features)
        except ValueError as exc:
            raise click.BadParameter(str(exc).replace("covariance_type=", ""),
                                     param_hint="--covariance-types") from None
    return names


@click.command()
@click.argument("data")
@click.option("-k", "--n-components", "k_range", default="1..9", show_default=True,
              help="The K to try: a range 1..9, a list 2,3,5 or one number.")
@click.option("--covariance-types", default="", show_default=False,
              help="Comma-separated models to try (mclust names or full, tied, diag, "
                   "spherical) [default: mclust's 14, or E,V for one feature].")
@click.option("--criterion", type=click.Choice(["bic", "aic", "icl"]), default="bic",
              show_default=True, help="What chooses the best fit: BIC, AIC or ICL (BIC plus the "
                                      "entropy of the classification).")
@click.option("--bic-convention", type=click.Choice(["sklearn", "mclust"]), default="sklearn",
              show_default=True,
              help="sklearn: -2 log L + penalty, lower is better; mclust: 2 log L - penalty, "
                   "higher is better.")
@click.option("--kmeans-starts", default=0, show_default=True, type=click.IntRange(min=0),
              help="Extra k-means++ starts per fit besides the hierarchical clustering start.")
@click.option("--n-jobs", default=None, type=int, help="Processes to fit in (-1: every core).")
@seed_option()
@missing_option
@noise_option
@click.option("--columns", metavar="A,B,...", help="Columns to use, by name or 0-based index.")
@output_option("Where to save the best model [default: DATA's name + .gmm].",
               dest="model_path")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Draw the criterion of every model against K and the chosen fit's "
                   "classification, uncertainty and density to this PNG (needs gmmkit[plot]).")
@click.option("--lrt", is_flag=True,
              help="Then test K against K + 1 components of the chosen model by a bootstrap "
                   "likelihood-ratio test (mclust's mclustBootstrapLRT).")
@click.option("--n-bootstrap", default=999, show_default=True, type=click.IntRange(min=1),
              help="Bootstrap samples of each --lrt test.")
@click.option("--level", default=0.05, show_default=True, type=click.FloatRange(0, 1,
              min_open=True, max_open=True), help="The --lrt tests' significance level.")
@force_option
@json_option("the table")
@quiet_option
def select(
    data: str,
    k_range: str,
    covariance_types: str,
    criterion: str,
    bic_convention: str,
    kmeans_starts: int,
    n_jobs: int | None,
    seed: int,
    missing: str,
    noise: str,
    columns: str | None,
    model_path: str | None,
    plot_path: str | None,
    lrt: bool,
    n_bootstrap: int,
    level: float,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Fit every K and covariance model to DATA (mclust's grid); print the table; save the best."""
    from gmmkit.cli.output import format_criterion_matrix
    from gmmkit.cli.plotting import draw_fit
    from gmmkit.cli.reading import load_input
    from gmmkit.estimators.grid import n_distinct_rows
    from gmmkit.estimators.selection import select_model
    from gmmkit.modelfiles.files import save

    parse_k_spans(k_range)  # a usage error before any work
    if model_path is None:
        model_path = f"{Path(data.split(':')[0]).stem}.gmm"
    outputs = command_outputs(force, data)
    model_file = outputs.file(model_path, "model_path")
    plot_file = outputs.figure(plot_path, "plot_path")
    dataset = load_input(data, columns, missing=missing)
    models = parse_models(covariance_types, dataset.data.shape[1])
    largest = max(high for _, high in parse_k_spans(k_range))
    ks = parse_k_range(k_range, n_distinct=n_distinct_rows(dataset.data, up_to=largest),
                       source=data)
    best, table = select_model(
        dataset.data, ks, models, criterion, bic_convention=bic_convention,
        kmeans_starts=kmeans_starts, n_jobs=n_jobs, random_state=seed, missing=missing,
        noise=None if noise == "none" else noise, as_frame=False, verbose=0 if quiet else 1,
    )
    chosen = next(row for row in table if row["chosen"])
    tests = None
    if lrt:
        from gmmkit.estimators.bootstrap import bootstrap_lrt

        tests = bootstrap_lrt(dataset.data, chosen["covariance_type"], n_bootstrap=n_bootstrap,
                              level=level, n_jobs=n_jobs, random_state=seed,
                              verbose=0 if quiet else 1)
    model_file.write(lambda temporary: save(best, temporary, extra={
        "data": data, "feature_names": list(dataset.feature_names), "command": "gmmkit select",
        "criterion": criterion, "bic_convention": bic_convention, criterion: chosen[criterion],
    }))
    if plot_file is not None:
        plot_file.write(lambda temporary: draw_fit(
            best, dataset, temporary, table=table, criterion=criterion,
            bic_convention=bic_convention,
            title=f"{data}: {criterion.upper()} by K; {best.covariance_type}, "
                  f"K={best.n_components}"))
    outputs.commit()
    if as_json:
        echo_json({"best": {k: chosen[k] for k in ("n_components", "covariance_type")},
                   "bic_convention": bic_convention, "model_file": model_path, "table": table,
                   **({} if tests is None else {"lrt": {
                       "covariance_type": tests.covariance_type, "tests": tests.table(),
                       "n_bootstrap": n_bootstrap, "level": level,
                       "n_components": tests.chosen}})})
        return
    click.echo(format_criterion_matrix(table, criterion, bic_convention))
    click.echo(f"\nbest: K={chosen['n_components']}, {chosen['covariance_type']} "
               f"({criterion.upper()} {chosen[criterion]:.2f}); model saved to {model_path}")
    if plot_path:
        click.echo(f"plot saved to {plot_path}")
    if tests is not None:
        from gmmkit.cli.output import format_table

        click.echo(f"\nbootstrap likelihood-ratio tests of {tests.covariance_type} "
                   f"({n_bootstrap} samples each):")
        click.echo(format_table(["K vs K+1", "LRTS", "p-value"], [
            [f"{t['h0']} vs {t['h1']}", f"{t['lrts']:.3f}", f"{t['p_value']:.4f}"]
            for t in tests.table()]))
        click.echo(f"the tests choose K={tests.chosen} at level {level:g}")
