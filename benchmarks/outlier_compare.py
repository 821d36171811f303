"""Paired per-protocol differences of bench_outliers.py results (the rule of rounds 2-5).

    python benchmarks/outlier_compare.py base.json candidate.json [more.json ...]
    python benchmarks/outlier_compare.py final.json --within ensemble \
        --against IForest,previous,GMM(1)
    python benchmarks/outlier_compare.py base.json diag.json k10.json --best-of \
        --against IForest

The first form compares the ``ensemble`` column of each candidate's JSON
(bench_outliers.py's or outlier_variants.py's layout) with the reference's,
protocol by protocol over every group the files share; the second compares
one detector with others inside one run; the third (``--best-of``) takes,
protocol by protocol, the best ``ensemble`` value of all the files (an
oracle that knows the labels: the most a per-data-set choice among them
could give) and compares it with the reference's ``ensemble`` and with its
``--against`` detectors. A file argument may join several JSON files with
``+`` (``seen.json+final.json``): their groups are read as one result. For
each pair: the mean ROC-AUC
of both, the mean difference, its standard error (standard deviation of the
paired per-protocol differences, ddof 1, over the square root of their
number), their ratio, the protocols up and down by more than 0.002, and
whether the difference passes (ratio above 2). ``--metric ap`` does the
same for average precision.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

#: a protocol is "up" or "down" when it moves by more than this
MOVED = 0.002
#: a candidate passes when its mean difference exceeds this many standard errors
PASS_RATIO = 2.0


def per_protocol(results, label, metric="auc"):
    """{protocol name: the detector's metric (mean over the seeds)} over every group."""
    rows = [row for group in results.values() if isinstance(group, dict) and "table" in group
            for row in group["table"]]
    missing = [row["protocol"] for row in rows if label not in row]
    if missing:
        raise ValueError(f"no results of {label!r} for {len(missing)} protocol(s) (first: "
                         f"{missing[0]!r}); name a detector the run has (--only, --against)")
    return {row["protocol"]: row[label][metric] for row in rows}


def paired(reference, candidate):
    """Statistics of candidate - reference over their common protocols: dict.

    Parameters
    ----------
    reference, candidate : dict of {str: float}
        Per-protocol values (:func:`per_protocol`).
    """
    names = [name for name in reference if name in candidate]
    if len(names) < 2:
        raise ValueError(f"the two results share {len(names)} protocols; compare runs of the "
                         "same group (at least 2 protocols)")
    ref = np.array([reference[name] for name in names])
    new = np.array([candidate[name] for name in names])
    diff = new - ref
    se = float(diff.std(ddof=1) / np.sqrt(diff.size))
    mean = float(diff.mean())
    ratio = mean / se if se > 0 else float(np.sign(mean)) * np.inf if mean else 0.0
    return {"n": diff.size, "reference": float(ref.mean()), "candidate": float(new.mean()),
            "difference": mean, "se": se, "ratio": ratio,
            "up": int((diff > MOVED).sum()), "down": int((diff < -MOVED).sum()),
            "ahead": int((diff > 0).sum()), "passes": bool(mean > PASS_RATIO * se)}


def load(argument):
    """The results of one file argument: JSON files joined by ``+``, their groups merged."""
    results = {}
    for name in argument.split("+"):
        results.update(json.loads(Path(name).read_text()))
    return results


def best_of(candidates):
    """{protocol: the best value among ``candidates``} over the protocols all of them have."""
    names = [name for name in candidates[0] if all(name in c for c in candidates)]
    return {name: max(c[name] for c in candidates) for name in names}


def line(name, stats):
    return (f"{name}: {stats['candidate']:.4f} vs {stats['reference']:.4f}, "
            f"{stats['difference']:+.4f} (se {stats['se']:.4f}, ratio {stats['ratio']:.2f}; "
            f"{stats['up']} up, {stats['down']} down, ahead on {stats['ahead']} of "
            f"{stats['n']}) {'PASSES' if stats['passes'] else 'no'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="JSON results: the reference first")
    parser.add_argument("--within", metavar="LABEL",
                        help="compare LABEL with the --against detectors inside one file")
    parser.add_argument("--against", metavar="A,B", default="IForest,previous")
    parser.add_argument("--metric", choices=["auc", "ap"], default="auc")
    parser.add_argument("--best-of", action="store_true",
                        help="the per-protocol best ensemble value of all the files (an oracle)")
    args = parser.parse_args(argv)
    try:
        compare(args)
    except (OSError, ValueError) as error:  # a missing or bad file, protocols not shared
        parser.error(str(error))


def compare(args):
    """Print the comparisons ``args`` (main's parsed arguments) ask for."""
    loaded = [load(f) for f in args.files]
    if args.best_of:
        best = best_of([per_protocol(results, "ensemble", args.metric) for results in loaded])
        name = f"best of {len(loaded)}"
        print(line(f"{name} minus the reference",
                   paired(per_protocol(loaded[0], "ensemble", args.metric), best)))
        for other in args.against.split(","):
            print(line(f"{name} minus {other}",
                       paired(per_protocol(loaded[0], other, args.metric), best)))
        return
    if args.within:
        for results, name in zip(loaded, args.files):
            mine = per_protocol(results, args.within, args.metric)
            for other in args.against.split(","):
                stats = paired(per_protocol(results, other, args.metric), mine)
                print(line(f"{name}: {args.within} minus {other}", stats))
        return
    reference = per_protocol(loaded[0], "ensemble", args.metric)
    for results, name in zip(loaded[1:], args.files[1:]):
        print(line(name, paired(reference, per_protocol(results, "ensemble", args.metric))))


if __name__ == "__main__":
    main()
