"""``gmmkit outliers detect``'s --label and --plot: known labels and a figure of the data.

Imported inside the command, so ``gmmkit --help`` loads neither numpy's
work nor matplotlib.
"""

from __future__ import annotations

import click


def check_plotting():
    """Refuse --plot before any work when matplotlib is missing."""
    from gmmkit.demo import pyplot

    if pyplot() is None:
        raise click.UsageError("--plot needs matplotlib: pip install 'gmmkit[plot]'")


def read_labelled(data, columns, label, missing):
    """DATA's features and its --label column, kept apart.

    Parameters
    ----------
    data : str
        DATA as given.
    columns : str or None
        --columns; the label is read with them.
    label : str
        --label: a column name or a 0-based index (of the file's columns with
        --columns, else of the numeric columns read).
    missing : {"error", "em"}

    Returns
    -------
    dataset : gmmkit.datasets.Dataset
        Without the label column; its values checked as --missing says.
    known : tuple (str, ndarray of int)
        The label column's name and its 0/1 values.
    """
    import numpy as np

    from gmmkit.cli.helpers import MISSING_FIX, check_values, load_input, parse_columns
    from gmmkit_outliers.metrics import check_binary_labels

    picked = parse_columns(columns)
    if picked is not None:
        if label in picked:
            raise click.BadParameter(
                f"{label!r} is also in --columns; the label column cannot be a feature. "
                "Drop it from --columns.", param_hint="--label")
        dataset = load_input(data, ",".join([*picked, label]), missing=None)
        index = dataset.data.shape[1] - 1
    else:
        dataset = load_input(data, None, missing=None)
        index = _label_index(dataset, label, data)
    name = dataset.feature_names[index]
    try:
        values = check_binary_labels(dataset.data[:, index], name=f"column {name!r}")
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--label") from None
    keep = [j for j in range(dataset.data.shape[1]) if j != index]
    if not keep:
        raise click.BadParameter(f"{name!r} is the only numeric column; the detector needs "
                                 "feature columns besides the label.", param_hint="--label")
    dataset.data = np.ascontiguousarray(dataset.data[:, keep])
    dataset.feature_names = [dataset.feature_names[j] for j in keep]
    check_values(dataset, data, nan_fix=None if missing == "em" else MISSING_FIX)
    return dataset, (name, values)


def _label_index(dataset, label, data):
    """The label's index among the numeric columns read."""
    names = list(dataset.feature_names)
    if label in names:
        return names.index(label)
    left_out = dataset.extra.get("left_out") or {}
    if label in left_out:
        raise click.BadParameter(
            f"{label!r} is a text column ({left_out[label]}); --label needs 0/1 values "
            "(1 = anomaly): encode it as numbers.", param_hint="--label")
    if label.isdigit() and int(label) < len(names):
        return int(label)
    raise click.BadParameter(
        f"{data} has no column {label!r}; its numeric columns are {', '.join(names)} (or "
        f"indices 0..{len(names) - 1})", param_hint="--label")


def write_plot(detector, X, labels, data, path):
    """--plot: :func:`gmmkit_outliers.plots.detection_figure` of the fitted rows, to ``path``."""
    from gmmkit_outliers.plots import detection_figure

    figure = detection_figure(detector, X, detector.decision_scores_, detector.labels_,
                              labels=labels,
                              title=f"{data}: {int(detector.labels_.sum())} of "
                                    f"{detector.labels_.size} rows flagged")
    figure.savefig(path, dpi=96, bbox_inches="tight")  # the format from the suffix
    import matplotlib.pyplot as plt

    plt.close(figure)
