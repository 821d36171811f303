"""Cost of missing="em" against the complete-data fit of the same rows.

    python benchmarks/bench_missing.py [--rows 500000] [--features 16] [--components 16]

Times EM iterations (from the same starting parameters, a fixed number of
iterations, no convergence test) on:

- complete data (the ordinary engine),
- the same data with 5% of rows missing one random feature (at most
  n_features + 1 patterns),
- the same data with 10% of rows missing one or two random features
  (a few hundred patterns),

and prints seconds per iteration and the ratio to the complete-data fit.
scikit-learn cannot fit NaN, so it has no column here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np

from gmmkit import GaussianMixture


def make_data(n_rows, n_features, n_components, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 4.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_rows)
    return means[labels] + rng.normal(size=(n_rows, n_features))


def knock_out(X, row_fraction, max_missing, seed=1):
    """A copy with ``row_fraction`` of rows missing 1..max_missing random features."""
    rng = np.random.default_rng(seed)
    holes = X.copy()
    rows = np.flatnonzero(rng.random(len(X)) < row_fraction)
    for count in range(1, max_missing + 1):
        chosen = rows[rng.integers(1, max_missing + 1, size=rows.size) == count]
        for _ in range(count):
            holes[chosen, rng.integers(X.shape[1], size=chosen.size)] = np.nan
    return holes


def seconds_per_iteration(X, start, iterations, repeat):
    best = np.inf
    for _ in range(repeat):
        model = GaussianMixture(
            start.n_components,
            missing="em",
            max_iter=iterations,
            tol=0.0,
            weights_init=start.weights_,
            means_init=start.means_,
            precisions_init=start.precisions_,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter reached on purpose
            began = time.perf_counter()
            model.fit(X)
            best = min(best, (time.perf_counter() - began) / iterations)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--components", type=int, default=16)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    X = make_data(args.rows, args.features, args.components)
    start = GaussianMixture(args.components, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(X[:20000])
    cases = {
        "complete": X,
        "5% rows miss 1 feature": knock_out(X, 0.05, 1),
        "10% rows miss 1-2 features": knock_out(X, 0.10, 2),
    }
    results = []
    for name, data in cases.items():
        patterns = len(np.unique(np.isnan(data), axis=0))
        seconds = seconds_per_iteration(data, start, args.iters, args.repeat)
        results.append({"case": name, "patterns": patterns, "s_per_iter": seconds})
    base = results[0]["s_per_iter"]
    for row in results:
        row["ratio"] = row["s_per_iter"] / base
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return
    print(f"{args.rows} x {args.features}, K={args.components} full, float64")
    print(f"{'case':<28} {'patterns':>8} {'s/iter':>8} {'vs complete':>12}")
    for row in results:
        print(f"{row['case']:<28} {row['patterns']:>8} {row['s_per_iter']:>8.3f} "
              f"{row['ratio']:>11.2f}x")


if __name__ == "__main__":
    main()
