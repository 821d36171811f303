"""``gmmkit predict`` and ``gmmkit score`` on a .npy file: block by block, bounded memory.

A ``.npy`` DATA file is never loaded whole: its rows are read a block at a
time (:func:`gmmkit.estimators.rowwise.result_blocks`), each block's labels,
probabilities or log-likelihoods are written before the next block is read
(CSV on stdout, or ``-o`` a ``.csv`` or ``.npy`` file), and a progress bar
runs on stderr (``-q`` silences it). With ``--dask-scheduler ADDRESS`` the
blocks are computed on the workers of that cluster, which read DATA
themselves (a path every worker can read), and only the results come back.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from contextlib import ExitStack, nullcontext
from functools import partial
from typing import TYPE_CHECKING, Any, TextIO

import click

from gmmkit.cli import output
from gmmkit.cli.files import command_outputs
from gmmkit.cli.options import echo_json
from gmmkit.cli.reading import model_nan_fix, parse_columns
from gmmkit.inputs.readers import DataFileError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from gmmkit.engine.types import AnyArray
    from gmmkit.estimators.conditioning import Mixture

#: seconds between two progress lines when stderr is not a terminal
PROGRESS_INTERVAL = 5.0

#: the suffixes -o takes
OUTPUT_SUFFIXES = (".npy", ".csv")


def stream_rows(
    model: Mixture,
    model_path: str,
    data: str,
    *,
    method: str,
    header: Sequence[str],
    columns: str | None,
    output_path: str | None,
    force: bool,
    quiet: bool,
    dask_scheduler: str | None,
    on_block: Callable[[AnyArray], None] | None = None,
    json_list: str | None = None,
) -> int:
    """Write ``model.<method>`` of every row of DATA, a block at a time; return the rows.

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
    model_path, data : str
        MODEL and DATA (a .npy file).
    method : str
        "predict", "predict_proba" or "score_samples".
    header : list of str
        The CSV header.
    columns : str or None
        ``--columns``.
    output_path : str or None
        ``-o``: a .npy or .csv file; None: CSV on stdout.
    force, quiet : bool
    dask_scheduler : str or None
        ``--dask-scheduler``.
    on_block : callable, optional
        Called with every block of results (``score`` sums them).
    json_list : str, optional
        Print ``{"<json_list>": [`` and the values as its items instead of
        CSV (the caller closes the list and the object).
    """
    outputs = command_outputs(force, data, model_path)
    target = outputs.file(output_path, "output_path", suffixes=OUTPUT_SUFFIXES)
    with ExitStack() as stack:
        X = _data_rows(model, model_path, data, columns, dask_scheduler, stack)
        from gmmkit.estimators import rowwise

        function = rowwise.bound_method(model, method)
        blocks, n_samples = rowwise.result_blocks(function, X, n_features=model.n_features_in_)
        drain = partial(_drain, blocks, n_samples=n_samples, quiet=quiet, data=data,
                        on_block=on_block, model_path=model_path)
        if target is None and json_list is not None:
            opening = f'{{"{json_list}": ['
            n_rows = drain(JsonList(opening).write)
        elif target is None:
            n_rows = drain(CsvBlocks(header).write)
        elif target.path.lower().endswith(".npy"):
            with open(target.temporary, "wb") as file:
                writer = rowwise.NpyWriter(file)
                n_rows = drain(writer.write)
                writer.close()
        else:
            with open(target.temporary, "w", newline="") as text:
                n_rows = drain(CsvBlocks(header, text).write)
    outputs.commit()
    return n_rows


def _data_rows(
    model: Mixture,
    model_path: str,
    data: str,
    columns: str | None,
    dask_scheduler: str | None,
    stack: ExitStack,
) -> Any:
    """DATA as a .npy path, a chunk function of some columns, or a Dask array on the cluster."""
    from gmmkit.data.stream import npy_chunks
    from gmmkit.inputs.readers import read_npy, select_columns

    header = read_npy(data, None)  # memory-mapped: only the header is read
    n_columns = header.data.shape[1]
    index = list(range(n_columns))
    if columns is not None:
        index = select_columns(header.feature_names, parse_columns(columns), data)
    if len(index) != model.n_features_in_:
        raise click.UsageError(
            f"{data} has {len(index)} column{'s' if len(index) != 1 else ''}"
            f"{' picked by --columns' if columns is not None else ''}, but {model_path} was "
            f"fitted on {model.n_features_in_}; pick them with --columns (names or 0-based "
            "indices)."
        )
    if dask_scheduler is not None:
        from gmmkit.data import dask_arrays

        try:
            client = dask_arrays.connect(dask_scheduler)
        except ImportError as exc:
            raise click.ClickException(str(exc)) from None
        stack.enter_context(client)
        X = dask_arrays.from_npy(data)
        return X if index == list(range(n_columns)) else X[:, index]
    if index == list(range(n_columns)):
        return data
    return npy_chunks(header.data, columns=index)  # type: ignore[arg-type]  # (a memmap)


def _drain(
    blocks: Iterator[AnyArray],
    write: Callable[[AnyArray], None],
    *,
    n_samples: int | None,
    quiet: bool,
    data: str,
    on_block: Callable[[AnyArray], None] | None,
    model_path: str,
) -> int:
    """Write every block, with a progress bar on stderr; return the rows written."""
    progress = None if quiet else RowProgress(os.path.basename(data), n_samples)
    n_rows = 0
    with progress or nullcontext():
        try:
            for block in blocks:
                write(block)
                if on_block is not None:
                    on_block(block)
                n_rows += len(block)
                if progress is not None:
                    progress.update(n_rows)
        except ValueError as exc:
            details = getattr(exc, "non_finite", None)
            if details is None:
                raise
            kind, _, first = details
            fix = model_nan_fix(model_path) if kind == "NaN" else (
                "infinity is not a missing value: drop or clip those rows")
            raise DataFileError(f"{data}: {kind} in row {first + 1} (the first such row); "
                                f"{fix}") from None
    return n_rows


class RowProgress:
    """Rows done on stderr: a bar redrawn in place on a terminal, else a line now and then.

    When stderr is not a terminal (a log), a line is printed every
    ``PROGRESS_INTERVAL`` seconds and at the end of a pass that took that
    long: a quick command in a pipeline prints nothing.

    Parameters
    ----------
    label : str
    total : int or None
        The rows in all (None: unknown).
    """

    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total, self.interval = label, total, PROGRESS_INTERVAL
        self.start = self.last = time.monotonic()
        self.done = 0
        self.terminal = sys.stderr.isatty()

    def __enter__(self) -> RowProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None and (
            self.terminal or time.monotonic() - self.start >= self.interval
        ):
            self._show(final=True)
        elif self.terminal:
            click.echo("", err=True)

    def update(self, done: int) -> None:
        """``done`` rows are written."""
        self.done = done
        now = time.monotonic()
        if self.terminal or now - self.last >= self.interval:
            self.last = now
            self._show(final=False)

    def _show(self, final: bool) -> None:
        seconds = time.monotonic() - self.start
        line = f"{self.label}: {self.done}"
        if self.total:
            share = self.done / self.total
            bar = "#" * int(30 * share)
            line = f"{self.label} [{bar:<30}] {self.done}/{self.total} rows ({share:.0%})"
        else:
            line += " rows"
        line += f", {seconds:.1f} s"
        if self.terminal:
            click.echo("\r" + line, err=True, nl=final)
        else:
            click.echo(line, err=True)


class CsvBlocks:
    """Blocks of results written as CSV rows, the header before the first block.

    Parameters
    ----------
    header : list of str
    file : text file or None
        None: stdout.
    """

    def __init__(self, header: Sequence[str], file: TextIO | None = None) -> None:
        self.header: Sequence[str] | None = header
        self.file = file

    def write(self, block: AnyArray) -> None:
        """Append the rows of ``block``: ndarray (n,) or (n, m)."""
        output.write_csv(self.header, block[:, None] if block.ndim == 1 else block, file=self.file)
        self.header = None


def stream_score(
    model: Mixture,
    model_path: str,
    data: str,
    *,
    columns: str | None,
    output_path: str | None,
    force: bool,
    quiet: bool,
    dask_scheduler: str | None,
    as_json: bool,
) -> None:
    """``gmmkit score`` of a .npy DATA: per-row log-likelihoods a block at a time.

    The rows' values go to ``-o`` (or CSV on stdout). ``--json`` prints
    ``{log_likelihood: [...], n_samples, mean}``, the list written a block
    at a time; with ``-o`` it prints ``{n_samples, mean, output}``.
    """
    total = [0.0]

    def add(block: AnyArray) -> None:
        total[0] += float(block.sum())

    if as_json and output_path is None:
        n_rows = stream_rows(
            model, model_path, data, method="score_samples", header=["log_likelihood"],
            columns=columns, output_path=None, force=force, quiet=quiet,
            dask_scheduler=dask_scheduler, on_block=add, json_list="log_likelihood",
        )
        click.echo(f'], "n_samples": {n_rows}, "mean": {json.dumps(_finite(total[0] / n_rows))}}}')
        return
    n_rows = stream_rows(
        model, model_path, data, method="score_samples", header=["log_likelihood"],
        columns=columns, output_path=output_path, force=force, quiet=quiet,
        dask_scheduler=dask_scheduler, on_block=add,
    )
    if as_json:
        echo_json({"n_samples": n_rows, "mean": total[0] / n_rows, "output": output_path},
                  indent=None)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class JsonList:
    """Blocks of numbers written as the items of a JSON list on stdout (non-finite: null).

    Parameters
    ----------
    opening : str
        Written before the first item (``{"log_likelihood": [``).
    """

    def __init__(self, opening: str) -> None:
        self.opening: str | None = opening

    def write(self, block: AnyArray) -> None:
        """Append the values of ``block``: ndarray (n,)."""
        items = ", ".join(json.dumps(_finite(float(v))) for v in block)
        if self.opening is not None:
            click.echo(self.opening + items, nl=False)
            self.opening = None
        else:
            click.echo(", " + items, nl=False)
