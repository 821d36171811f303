"""``gmmkit outliers``: detect, fit and score from the command line.

Only click and gmmkit.cli are imported at module level; the detector loads inside the commands.
"""

from __future__ import annotations

import click

from gmmkit.cli.helpers import (
    command_outputs,
    echo_json,
    force_option,
    json_option,
    output_option,
    quiet_option,
)


class ContaminationType(click.ParamType):
    """``--contamination``: 'auto' or a number (the detector checks its range)."""

    name = "auto|SHARE"

    def convert(self, value, param, ctx):
        if isinstance(value, float) or value == "auto":
            return value
        try:
            return float(value)
        except ValueError:
            self.fail(f"{value!r} is neither 'auto' nor a number such as 0.05", param, ctx)


class MinWeightType(ContaminationType):
    """``--min-weight``: 'auto' or a share of the data in [0, 1)."""

    def convert(self, value, param, ctx):
        share = super().convert(value, param, ctx)
        if share != "auto" and not 0.0 <= share < 1.0:
            self.fail(f"{value} is not in [0, 1): it is the share of the rows a component must "
                      "hold to be trusted as normal (0 trusts every component)", param, ctx)
        return share


class DiscreteFloorType(click.ParamType):
    """``--discrete-floor``: 'none' or a finite number >= 0."""

    name = "none|F"

    def convert(self, value, param, ctx):
        if value is None or value == "none":
            return None
        from gmmkit_outliers.discrete import FLOOR_MEANING, check_discrete_floor

        try:
            return check_discrete_floor(float(value))
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither 'none' nor a finite number >= 0: it is "
                      f"{FLOOR_MEANING}", param, ctx)


def detector_options(function):
    """The options that build a GMMOutlierDetector."""
    from gmmkit.cli.helpers import COVARIANCE_TYPES, ComponentsType, seed_option

    options = [
        click.option("--contamination", default="0.1", show_default=True,
                     type=ContaminationType(),
                     help="Expected share of anomalies in (0, 0.5], or 'auto' (the mixture's "
                          "own 1% tail)."),
        click.option("-k", "--n-components", default="auto", show_default=True,
                     type=ComponentsType(),
                     help="Components of each mixture, or 'auto' (BIC: 1..5 per ensemble "
                          "member, 1..10 for --ensemble none)."),
        click.option("--ensemble", type=click.Choice(["bagging", "none"]), default="bagging",
                     show_default=True,
                     help="'bagging': mixtures on bootstrap rows and random column subsets, "
                          "combined; 'none': one robust mixture."),
        click.option("--n-estimators", default=10, show_default=True,
                     type=click.IntRange(min=1), help="Members of the ensemble."),
        click.option("--combination", default="average", show_default=True,
                     type=click.Choice(["average", "maximization", "aom", "moa"]),
                     help="How the members' standardised scores are combined."),
        click.option("--member-scale", default="robust", show_default=True,
                     type=click.Choice(["robust", "standard"]),
                     help="How each member's scores are standardised before they are "
                          "combined: median and IQR, or mean and standard deviation."),
        click.option("--covariance-type", type=click.Choice(list(COVARIANCE_TYPES)),
                     default="tied", show_default=True,
                     help="Covariance of each mixture: scikit-learn's full, tied, diag, "
                          "spherical or one of mclust's models (EII ... VVV; E or V for one "
                          "column)."),
        click.option("--robust/--no-robust", default=True, show_default=True,
                     help="--no-robust: plain mixtures, no uniform noise component and every "
                          "component trusted (PyOD's GMM score)."),
        click.option("--min-weight", default=None, type=MinWeightType(),
                     help="Share of the rows a component must hold to be trusted as normal "
                          "(0 trusts all) [default: auto, min(0.1, 0.5 / K)]."),
        click.option("--n-refits", default=0, show_default=True, type=click.IntRange(min=0),
                     help="Refit each mixture this many times with the --trim "
                          "highest-scoring rows left out."),
        click.option("--trim", default=0.1, show_default=True,
                     type=click.FloatRange(0.0, 0.5, min_open=True, max_open=True),
                     help="Share of the rows each --n-refits refit leaves out."),
        click.option("--discrete-floor", default="none", show_default=True,
                     type=DiscreteFloorType(),
                     help="Add F x step^2 to the variance of every discrete column (integers, "
                          "or few values on a common grid) in each mixture after its fit; "
                          "'none' adds nothing."),
        click.option("--scale", type=click.Choice(["standard", "robust", "none"]),
                     default="standard", show_default=True, help="Column scaling."),
        click.option("--missing", type=click.Choice(["error", "em"]), default="error",
                     show_default=True, help="'em': empty fields / NaN are missing values."),
        seed_option(),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _make_detector(options, quiet):
    """A GMMOutlierDetector from the values of :func:`detector_options`."""
    from gmmkit_outliers.checks import N_BUCKETS
    from gmmkit_outliers.detector import GMMOutlierDetector

    combination, n_estimators = options["combination"], options["n_estimators"]
    if combination in ("aom", "moa") and n_estimators % N_BUCKETS:
        raise click.UsageError(
            f"--combination {combination} splits the members into {N_BUCKETS} equal buckets; "
            f"--n-estimators {n_estimators} does not split evenly. Use a multiple of "
            f"{N_BUCKETS}, such as {N_BUCKETS * max(1, round(n_estimators / N_BUCKETS))}."
        )
    if not options["robust"] and options["min_weight"] is not None:
        raise click.UsageError(
            "--min-weight chooses which components a robust mixture trusts; with --no-robust "
            "every component is trusted. Drop one of the two options.")
    return GMMOutlierDetector(
        options["n_components"], ensemble=None if options["ensemble"] == "none" else "bagging",
        n_estimators=options["n_estimators"], combination=options["combination"],
        member_scale=options["member_scale"],
        covariance_type=options["covariance_type"], contamination=options["contamination"],
        scale=None if options["scale"] == "none" else options["scale"],
        missing=options["missing"], random_state=options["seed"], verbose=not quiet,
        robust=options["robust"],
        min_weight="auto" if options["min_weight"] is None else options["min_weight"],
        n_refits=options["n_refits"], trim=options["trim"],
        discrete_floor=options["discrete_floor"],
    )


class _NamedTable:
    """DATA's rows with their column names: the detector reads it like a DataFrame, so its
    messages (a constant column ignored, ...) name DATA's columns."""

    def __init__(self, dataset):
        self.data, self.columns = dataset.data, list(dataset.feature_names)

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        return np.asarray(self.data, dtype=dtype)


def _check_univariate(covariance_type, dataset):
    """--covariance-type E or V fits one column: refuse DATA with several varying ones."""
    import warnings

    import numpy as np

    if covariance_type not in ("E", "V"):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: the detector's
        high, low = np.nanmax(dataset.data, axis=0), np.nanmin(dataset.data, axis=0)
    varying = int(np.sum(high > low))
    if varying > 1:
        raise click.BadParameter(
            f"{covariance_type} is mclust's univariate model, but DATA has {varying} varying "
            f"columns; pick one with --columns, or use a multivariate model such as "
            f"{covariance_type * 2}I (a member or a detector with one column uses E or V by "
            "itself).", param_hint="--covariance-type")


def _columns_option(function):
    return click.option(
        "--columns", metavar="A,B,...",
        help="Columns to use, by name or 0-based index (default: every numeric column).",
    )(function)


def _confidence_option(function):
    return click.option("--confidence", is_flag=True,
                        help="Add a column with the confidence of each row's flag (ExCeeD).")(
        function)


def _top_option(function):
    return click.option("--top", default=3, show_default=True, type=click.IntRange(min=1),
                        help="Top contributing features listed per flagged row.")(function)


def _read(data, columns, missing):
    from gmmkit.cli.helpers import load_input

    return load_input(data, columns, missing=missing)


def write_rows(handle, dataset, detector, scores, flags, *, top, confidence=None, known=None):
    """CSV: the input columns, then score, outlier (0/1), top_features (flagged rows),
    when given each flag's confidence, and the known labels (``known``: (name, 0/1 values))."""
    import csv

    explanation = detector.explain(dataset.data[flags == 1]) if flags.any() else None
    reasons = iter(explanation.top_features(top) if explanation is not None else [])
    writer = csv.writer(handle, lineterminator="\n")
    extra = ([] if confidence is None else ["confidence"]) + ([] if known is None else [known[0]])
    writer.writerow([*dataset.feature_names, "score", "outlier", "top_features", *extra])
    for i, (row, score, flag) in enumerate(zip(dataset.data, scores, flags)):
        text = "; ".join(f"{name} {share:.0%}" for name, share in next(reasons)) if flag else ""
        cells = ["" if value != value else repr(float(value)) for value in row]
        sure = [] if confidence is None else [repr(float(confidence[i]))]
        given = [] if known is None else [int(known[1][i])]
        writer.writerow([*cells, repr(float(score)), int(flag), text, *sure, *given])


def _emit_rows(out_file, dataset, detector, scores, flags, top, confidence, known=None):
    """The scored rows to stdout, or to ``out_file`` (a gmmkit.outputs.OutputFile)."""
    if out_file is None:
        import sys

        write_rows(sys.stdout, dataset, detector, scores, flags, top=top, confidence=confidence,
                   known=known)
        return

    def write(temporary):
        with open(temporary, "x", newline="") as handle:
            write_rows(handle, dataset, detector, scores, flags, top=top,
                       confidence=confidence, known=known)

    out_file.write(write)


def _summary(detector, data, flags, output):
    summary = {
        "data": data,
        "n_samples": int(flags.size),
        "n_flagged": int(flags.sum()),
        "threshold": float(detector.threshold_),
        "contamination": detector.contamination,
        "ensemble": bool(detector.ensemble_),
        "features": list(detector.feature_names_in_),
        "output": output,
    }
    if detector.ensemble_:
        summary["n_members"] = len(detector.members_)
        summary["combination"] = detector.combination
        summary["member_components"] = [len(m.normal.weights_) for m in detector.members_]
    else:
        summary["n_components"] = int(len(detector.model_.weights_))
        summary["trusted_components"] = [int(k) for k in detector.trusted_.nonzero()[0]]
    return summary


def _summary_text(summary):
    lines = [
        f"flagged {summary['n_flagged']} of {summary['n_samples']} rows "
        f"(threshold {summary['threshold']:.4f}, contamination {summary['contamination']})",
    ]
    if summary["ensemble"]:
        lines.append(f"ensemble: {summary['n_members']} mixtures ({summary['combination']}), "
                     f"trusted components per member: {summary['member_components']}")
    else:
        lines.append(f"mixture: {summary['n_components']} components, trusted as normal: "
                     f"{summary['trusted_components']}")
    if "label" in summary:
        found = summary["label"]
        precision = found["precision_at_threshold"]
        at_threshold = "none flagged" if precision is None else f"{precision:.3f}"
        lines.append(
            f"known anomalies (column {found['column']!r}): {found['n_anomalies']}; ROC-AUC "
            f"{found['roc_auc']:.3f}, average precision {found['average_precision']:.3f}, "
            f"precision at the threshold {at_threshold}, recall at the threshold "
            f"{found['recall_at_threshold']:.3f}")
    if summary.get("plot"):
        lines.append(f"figure written to {summary['plot']}")
    if summary["output"]:
        lines.append(f"written to {summary['output']}")
    return "\n".join(lines)


@click.group()
def outliers():
    """Anomaly detection with robust Gaussian mixtures (docs/outliers.md)."""


@outliers.command()
@click.argument("data")
@detector_options
@_columns_option
@click.option("--label", metavar="COL",
              help="A column of known 0/1 labels (1 = anomaly), by name or 0-based index: "
                   "left out of the features and used to report ROC-AUC, average precision "
                   "and precision at the threshold.")
@_top_option
@_confidence_option
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write a figure here (.png, .pdf, .svg ...): the score histogram with "
                   "the threshold, and the rows on their first two principal components with "
                   "flagged rows circled (and --label's anomalies crossed).")
@output_option("Write the rows with score, flag and top features here (default: stdout).")
@force_option
@json_option("the summary")
@quiet_option
def detect(data, columns, label, top, confidence, plot_path, output, force, as_json, quiet,
           **options):
    """Fit a detector to DATA and flag its anomalies.

    Writes DATA's rows with their score, a 0/1 outlier flag and, for flagged
    rows, the features contributing most to their Mahalanobis distance. With -o
    the summary goes to stdout, else to stderr.
    """
    from gmmkit_outliers.cli_report import check_plotting, read_labelled, write_plot

    outputs = command_outputs(force, data)
    out_file = outputs.file(output, "output")
    plot_file = outputs.figure(plot_path, "plot_path")
    if plot_file is not None:
        check_plotting()
    if label is None:
        dataset, known = _read(data, columns, options["missing"]), None
    else:
        dataset, known = read_labelled(data, columns, label, options["missing"])
    _check_univariate(options["covariance_type"], dataset)
    detector = _make_detector(options, quiet)
    detector.fit(_NamedTable(dataset))
    detector.feature_names_in_ = list(dataset.feature_names)
    sure = detector.predict_confidence(dataset.data) if confidence else None
    _emit_rows(out_file, dataset, detector, detector.decision_scores_, detector.labels_, top,
               sure, known)
    if plot_file is not None:
        plot_file.write(lambda temporary: write_plot(
            detector, dataset.data, None if known is None else known[1], data, temporary))
    outputs.commit()
    summary = _summary(detector, data, detector.labels_, output)
    if known is not None:
        from gmmkit_outliers.metrics import label_report

        summary["label"] = {"column": known[0], **label_report(
            known[1], detector.decision_scores_, detector.labels_)}
    if plot_path is not None:
        summary["plot"] = plot_path
    if output is None and quiet:
        return
    if as_json:
        echo_json(summary, err=output is None)
    else:
        click.echo(_summary_text(summary), err=output is None)


@outliers.command()
@click.argument("data")
@detector_options
@_columns_option
@output_option("The detector file to write (.gmm).", required=True)
@force_option
@json_option("the summary")
@quiet_option
def fit(data, columns, output, force, as_json, quiet, **options):
    """Fit a detector to DATA (clean data, for novelty detection) and save it."""
    from gmmkit_outliers.persistence import save_detector

    outputs = command_outputs(force, data)
    out_file = outputs.file(output, "output")
    dataset = _read(data, columns, options["missing"])
    _check_univariate(options["covariance_type"], dataset)
    detector = _make_detector(options, quiet)
    detector.fit(_NamedTable(dataset))
    detector.feature_names_in_ = list(dataset.feature_names)
    out_file.write(lambda temporary: save_detector(detector, temporary))
    outputs.commit()
    summary = _summary(detector, data, detector.labels_, output)
    if as_json:
        echo_json(summary)
    else:
        click.echo(_summary_text(summary))


@outliers.command()
@click.argument("detector_path", metavar="DETECTOR",
                type=click.Path(exists=True, dir_okay=False))
@click.argument("data")
@_columns_option
@_top_option
@_confidence_option
@output_option("Write the scored rows here (default: stdout).")
@force_option
def score(detector_path, data, columns, top, confidence, output, force):
    """Score the rows of DATA with a saved DETECTOR (novelty detection).

    By default the columns the detector was fitted on are picked by name; a
    file without a header gives them by position.
    """
    from gmmkit.cli.helpers import check_values, match_columns, model_nan_fix, read_input
    from gmmkit_outliers.persistence import load_detector

    outputs = command_outputs(force, detector_path, data)
    out_file = outputs.file(output, "output")
    detector = load_detector(detector_path)
    dataset = read_input(data, columns)
    fitted = list(detector.feature_names_in_)
    match_columns(dataset, data, fitted_names=fitted, n_features=detector.n_features_in_,
                  model=detector_path, picked=columns is not None)
    check_values(dataset, data,
                 nan_fix=None if detector.missing == "em" else model_nan_fix(detector_path))
    scores = detector.decision_function(dataset.data)
    flags = (scores > detector.threshold_).astype(int)
    sure = detector.predict_confidence(dataset.data) if confidence else None
    _emit_rows(out_file, dataset, detector, scores, flags, top, sure)
    outputs.commit()
    if output is not None:
        click.echo(f"flagged {int(flags.sum())} of {flags.size} rows; written to {output}")
