"""Dask benchmark: EM throughput on a Dask LocalCluster next to the in-memory fit.

What it measures
----------------
The same data (default 2,000,000 x 16 float64, a mixture of 16 Gaussians,
made block by block from fixed seeds) are fitted with
``GaussianMixture(16, covariance_type="full")`` from the same initial
parameters (``weights_init``, ``means_init``, ``precisions_init``, ``tol=0``):

* in memory (a numpy array in this process; the engine's own threads),
* as a Dask array on the threaded scheduler (no cluster),
* as a Dask array persisted on a ``LocalCluster`` (``--workers`` worker
  processes, one thread each).

Seconds per EM iteration are ``(t(1 + iters) - t(1)) / iters``: the
difference of two timed fits, so the centre pass and the set-up cancel
out. Throughput is rows per second per iteration. The report also gives
each fit's ``lower_bound_`` relative difference to the in-memory fit.

How to run
----------
::

    pip install -e '.[distributed]'
    python benchmarks/bench_dask.py                  # 2M x 16, K=16 full, 5 iterations
    python benchmarks/bench_dask.py --n-samples 200000 --iters 3   # smoke run
    python benchmarks/bench_dask.py --json

Progress goes to stderr, the table (or JSON) to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np


def make_block(index, n_rows, n_features, n_components, seed=0):
    """Rows of block ``index``: a fixed mixture, drawn from the seed (seed, index)."""
    means = np.random.default_rng(seed).normal(0.0, 4.0, size=(n_components, n_features))
    rng = np.random.default_rng([seed, index])
    labels = rng.integers(n_components, size=n_rows)
    return means[labels] + rng.standard_normal((n_rows, n_features))


def block_sizes(n_samples, n_blocks):
    bounds = np.linspace(0, n_samples, n_blocks + 1).astype(int)
    return np.diff(bounds).tolist()


def initial(n_features, n_components, seed=1):
    """The fixed start of every fit."""
    rng = np.random.default_rng(seed)
    return dict(
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=rng.normal(0.0, 4.0, size=(n_components, n_features)),
        precisions_init=np.stack([np.eye(n_features) * 0.5] * n_components),
    )


def time_fit(X, args, max_iter):
    from gmmkit import GaussianMixture

    model = GaussianMixture(args.n_components, covariance_type="full", tol=0.0,
                            max_iter=max_iter, **initial(args.n_features, args.n_components))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0: the ConvergenceWarning is expected
        start = time.perf_counter()
        model.fit(X)
        return time.perf_counter() - start, model


def per_iteration(X, args, label):
    """Seconds per iteration (two fits' difference) and the longer fit's lower bound."""
    print(f"{label}: timing ...", file=sys.stderr, flush=True)
    base = min(time_fit(X, args, 1)[0] for _ in range(args.repeat))
    runs = [time_fit(X, args, 1 + args.iters) for _ in range(args.repeat)]
    seconds = (min(t for t, _ in runs) - base) / args.iters
    return {"fit": label, "s_per_iter": seconds, "rows_per_s": args.n_samples / seconds,
            "lower_bound": runs[0][1].lower_bound_}


def dask_array(args):
    import dask
    import dask.array as da

    sizes = block_sizes(args.n_samples, args.blocks)
    make = dask.delayed(make_block, pure=True)
    return da.concatenate([
        da.from_delayed(make(i, n, args.n_features, args.n_components), (n, args.n_features),
                        dtype=np.float64)
        for i, n in enumerate(sizes)
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=2_000_000)
    parser.add_argument("--n-features", type=int, default=16)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=16, help="Dask blocks (row chunks)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--repeat", type=int, default=1, help="fastest of this many fits")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    rows = []
    X = np.vstack([make_block(i, n, args.n_features, args.n_components)
                   for i, n in enumerate(block_sizes(args.n_samples, args.blocks))])
    rows.append(per_iteration(X, args, "in memory (numpy)"))
    with dask.config.set(scheduler="threads"):
        Xt = da.from_array(X, chunks=(-(-X.shape[0] // args.blocks), -1))
        rows.append(per_iteration(Xt, args, "Dask threaded scheduler"))
    del X, Xt
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        Xd = client.persist(dask_array(args))
        client.wait_for_workers(args.workers)
        wait(Xd)
        rows.append(per_iteration(Xd, args, f"Dask LocalCluster ({args.workers} x 1 thread)"))
    reference = rows[0]["lower_bound"]
    for row in rows:
        row["lower_bound_rel_diff"] = abs(row["lower_bound"] - reference) / abs(reference)
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}",
        "versions": {name: __import__(name).__version__
                     for name in ("numpy", "dask", "distributed", "gmmkit")},
        "case": f"{args.n_samples} x {args.n_features} float64, K={args.n_components} full, "
                f"{args.blocks} blocks, {args.iters} iterations",
        "rows": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['case']}; {report['machine']}; {report['versions']}")
    print("| fit | s/iter | rows/s per iteration | lower_bound_ rel diff |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['fit']} | {row['s_per_iter']:.3f} | {row['rows_per_s']:,.0f} | "
              f"{row['lower_bound_rel_diff']:.1e} |")


if __name__ == "__main__":
    main()
