"""Out-of-core benchmark: fitting a .npy file read in chunks versus the same data in memory.

What it measures
----------------
The script writes a 10,000,000 x 16 float32 ``.npy`` file (about 640 MB;
``--rows`` for another size) of a mixture of 16 Gaussians, drawn from a fixed
seed one block of rows at a time and reused when it is already there. It
then fits ``gmmkit.GaussianMixture(16, covariance_type="full")`` twice, each
in a fresh Python process, from the *same* initial parameters
(``weights_init``, ``means_init``, ``precisions_init``, ``tol=0``, so every
fit runs exactly ``--iters`` EM iterations):

* out of core: ``fit(path)``, the file read in chunks at every iteration
  (:mod:`gmmkit.data.stream`);
* in memory: ``fit(np.load(path))``, the whole array loaded first.

Each worker reports the time of the check pass (rows checked finite, centre
found: the time from ``fit()`` to the ``gmmkit_fit_start`` hook), the time of
every EM iteration (between ``gmmkit_fit_iteration`` hooks), and its peak
resident set size (``ru_maxrss``, which includes the imports and, in memory,
the array). The parent prints seconds per iteration, rows per second per
iteration, the peak RSS of both, and PASS/FAIL for the target: the
out-of-core fit's peak RSS stays under 400 MB.

The file is read through the page cache: right after it was written (or on a
second run) the reads come from memory, so the out-of-core figures measure
gmmkit's own cost, not the disk's; from a cold cache, add the time to read
the file once per iteration at the disk's speed.

With ``--predict`` it measures the other direction, a fitted model used at
scale: ``predict`` and ``score_samples`` of every row of the same file
under the K=16 full model the data were drawn from
(``GaussianMixture.from_parameters``), each worker in a fresh process:

* out of core: ``predict(path, out="labels.npy")`` and
  ``score_samples(path, out="loglik.npy")``, the file read and the results
  written a block at a time (gmmkit/estimators/rowwise.py);
* in memory: ``np.load(path)``, then ``predict(X)`` and ``score_samples(X)``;
* Dask: a LocalCluster of 2 worker processes (1 thread each), the file read
  by the workers (``from_npy``), ``predict(Xd, out=...)`` and
  ``score_samples(Xd, out=...)``: only the results come to the client.

It prints seconds and rows/s per method, the peak RSS of the process (and
of the Dask workers), whether the labels of the three modes are identical
and the largest log-likelihood difference, and PASS/FAIL for the target:
the out-of-core peak RSS stays under 300 MB while writing labels to .npy.

How to run
----------
::

    python benchmarks/bench_scale.py                  # 10M rows, 3 iterations (a few minutes)
    python benchmarks/bench_scale.py --predict        # predict/score_samples at scale
    python benchmarks/bench_scale.py --rows 1000000   # a quick run (64 MB file)
    python benchmarks/bench_scale.py --dir /data --iters 5 --json

Progress goes to stderr; the report (or JSON with ``--json``) to stdout. The
exit code is 0 whatever the figures are, 1 if a worker crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_em import (  # noqa: E402  (the directory of this script, just added)
    Case,
    current_rss_mb,
    format_table,
    log,
    make_estimator,
    make_initial_parameters,
    make_model,
    peak_rss_mb,
    sample_mixture,
)

DEFAULT_ROWS = 10_000_000
N_FEATURES = 16
N_COMPONENTS = 16
SEED = 201
DEFAULT_ITERS = 3
#: rows drawn and written at a time when the file is generated
WRITE_ROWS = 1_000_000
#: the out-of-core fit's peak RSS must stay below this (MB, 10**6 bytes; the
#: table gives RSS in MiB, as bench_em.py does)
RSS_TARGET_MB = 400.0
MODES = ("out-of-core", "in memory")
PREDICT_MODES = ("predict out-of-core", "predict in memory", "predict dask")
#: the out-of-core predict's peak RSS must stay below this (MB)
PREDICT_RSS_TARGET_MB = 300.0


def make_case(rows):
    """The benchmark problem (the data model of bench_em.py), with ``rows`` samples."""
    return Case("scale", f"full D={N_FEATURES} K={N_COMPONENTS}", rows, N_FEATURES,
                N_COMPONENTS, "full", SEED, 0.0)


def streams(case):
    """Independent generators for the true model, the initial parameters and the data."""
    import numpy as np

    return [np.random.default_rng(s) for s in np.random.SeedSequence(case.seed).spawn(3)]


def data_path(directory, rows):
    """Where the file of ``rows`` rows lives."""
    return os.path.join(directory, f"gmmkit_scale_{rows}x{N_FEATURES}_f32_seed{SEED}.npy")


def file_is_complete(path, rows):
    """True when ``path`` is a float32 .npy file of shape (rows, N_FEATURES)."""
    import numpy as np

    if not os.path.exists(path):
        return False
    try:
        X = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return X.shape == (rows, N_FEATURES) and X.dtype == np.float32


def write_data(path, case):
    """Write the data file block by block (never more than WRITE_ROWS rows in memory).

    Returns
    -------
    float
        Seconds spent.
    """
    import numpy as np

    start = time.perf_counter()
    model_rng, _, data_rng = streams(case)
    model = make_model(model_rng, case)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False,
              "shape": (case.n_samples, N_FEATURES)}
    partial = path + ".partial"
    with open(partial, "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        for first in range(0, case.n_samples, WRITE_ROWS):
            n = min(WRITE_ROWS, case.n_samples - first)
            file.write(sample_mixture(data_rng, n, np.dtype("<f4"), *model).tobytes())
    os.replace(partial, path)
    return time.perf_counter() - start


def initial_parameters(case):
    """weights_init, means_init, precisions_init (the data are not needed)."""
    model_rng, init_rng, _ = streams(case)
    return make_initial_parameters(init_rng, *make_model(model_rng, case))


# ---------------------------------------------------------------------------
# Worker side: one fit in a fresh process
# ---------------------------------------------------------------------------


def stopwatch(times):
    """A gmmkit plugin appending to ``times`` when the fit starts and each iteration ends."""
    from gmmkit import hookimpl

    class Stopwatch:
        @hookimpl
        def gmmkit_fit_start(self, model, n_samples, n_features):
            times.append(time.perf_counter())

        @hookimpl
        def gmmkit_fit_iteration(self, model, init, iteration, lower_bound, change):
            times.append(time.perf_counter())

    return Stopwatch()


def run_worker(mode, path, rows, iters):
    """Fit ``path`` out of core or in memory; print the figures as JSON."""
    import warnings

    import numpy as np

    from gmmkit.plugins import get_plugin_manager

    warnings.simplefilter("ignore")
    case = make_case(rows)
    times = []
    get_plugin_manager().add_plugin(stopwatch(times), "bench-stopwatch")
    estimator = make_estimator("gmmkit", case, "float32", iters, initial_parameters(case))
    baseline_rss = current_rss_mb()
    load_s = 0.0
    if mode == "in memory":
        start = time.perf_counter()
        X = np.load(path)
        load_s = time.perf_counter() - start
    else:
        X = path
    prefit_rss = current_rss_mb()
    start = time.perf_counter()
    estimator.fit(X)
    fit_s = time.perf_counter() - start
    iteration_s = np.diff(times).tolist()
    result = {
        "mode": mode, "n_samples": rows, "iters": int(estimator.n_iter_),
        "load_s": load_s, "check_s": times[0] - start, "iteration_s": iteration_s,
        "s_per_iter": float(np.mean(iteration_s)), "fit_s": fit_s,
        "baseline_rss_mb": baseline_rss, "prefit_rss_mb": prefit_rss,
        "peak_rss_mb": peak_rss_mb(), "lower_bound": float(estimator.lower_bound_),
    }
    print(json.dumps(result))


def true_model(case):
    """The mixture the data were drawn from, as a fitted float32 GaussianMixture."""
    import numpy as np

    from gmmkit import GaussianMixture

    weights, means, variances, rotations = make_model(streams(case)[0], case)
    covariances = np.einsum("kij,kj,klj->kil", rotations, variances, rotations)
    return GaussianMixture.from_parameters(
        weights, means.astype(np.float32), covariances, covariance_type="full")


def run_predict_worker(mode, path, rows, out_dir):
    """predict and score_samples of every row of ``path``; print the figures as JSON."""
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    model = true_model(make_case(rows))
    tag = mode.split()[-1]
    labels_path = os.path.join(out_dir, f"labels_{tag}.npy")
    loglik_path = os.path.join(out_dir, f"loglik_{tag}.npy")
    for stale in (labels_path, loglik_path):
        if os.path.exists(stale):
            os.remove(stale)
    result = {"mode": mode, "n_samples": rows, "load_s": 0.0, "baseline_rss_mb": current_rss_mb()}
    cluster = client = None
    if mode == "predict in memory":
        start = time.perf_counter()
        X = np.load(path)
        result["load_s"] = time.perf_counter() - start
    elif mode == "predict dask":
        from distributed import Client, LocalCluster

        from gmmkit.data.dask_arrays import from_npy

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        X = from_npy(path)
        model.predict(X[:1000]).compute()  # the workers import gmmkit: not timed
    else:
        X = path
    for method, out in (("predict", labels_path), ("score_samples", loglik_path)):
        start = time.perf_counter()
        values = getattr(model, method)(X, out=None if mode == "predict in memory" else out)
        if mode == "predict in memory":
            np.save(out, values)
        result[f"{method}_s"] = time.perf_counter() - start
        del values
    result["peak_rss_mb"] = peak_rss_mb()
    if client is not None:
        workers = client.run(peak_rss_mb)
        result["worker_peak_rss_mb"] = max(workers.values())
        client.close()
        cluster.close()
    result["labels"], result["loglik"] = labels_path, loglik_path
    print(json.dumps(result))


def predict_report(results, path, rows):
    """The text report of --predict."""
    import numpy as np

    table = format_table(
        ["mode", "N", "load s", "predict s", "predict M rows/s", "score_samples s",
         "score_samples M rows/s", "peak RSS MiB", "worker peak RSS MiB"],
        [[r["mode"], r["n_samples"], f"{r['load_s']:.2f}", f"{r['predict_s']:.2f}",
          f"{r['n_samples'] / r['predict_s'] / 1e6:.2f}", f"{r['score_samples_s']:.2f}",
          f"{r['n_samples'] / r['score_samples_s'] / 1e6:.2f}", f"{r['peak_rss_mb']:.0f}",
          f"{r['worker_peak_rss_mb']:.0f}" if "worker_peak_rss_mb" in r else "-"]
         for r in results.values() if r is not None],
    )
    lines = [f"data    : {path} ({rows} x {N_FEATURES} float32), the true K={N_COMPONENTS} full "
             "model (float32 work); results written to .npy", "", table, ""]
    streamed, loaded = results.get("predict out-of-core"), results.get("predict in memory")
    if streamed is not None:
        peak_mb = streamed["peak_rss_mb"] * 2**20 / 1e6
        lines.append(f"out-of-core peak RSS {peak_mb:.0f} MB < {PREDICT_RSS_TARGET_MB:.0f} MB: "
                     f"{'PASS' if peak_mb < PREDICT_RSS_TARGET_MB else 'FAIL'}")
    if loaded is not None:
        reference = np.load(loaded["labels"], mmap_mode="r")
        ll = np.load(loaded["loglik"], mmap_mode="r")
        for r in results.values():
            if r is None or r is loaded:
                continue
            same = int(np.count_nonzero(np.load(r["labels"], mmap_mode="r") == reference))
            diff = float(np.max(np.abs(np.load(r["loglik"], mmap_mode="r") - ll)))
            lines.append(f"{r['mode']}: {same}/{rows} labels equal to in memory; "
                         f"largest |log-likelihood difference| {diff:.1e}; predict time / "
                         f"in memory {r['predict_s'] / loaded['predict_s']:.2f}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------


def spawn(worker_args):
    """Run this script in worker mode in a fresh process; its JSON result, or None.

    The parent never holds the data (nor imports numpy): a child's ``ru_maxrss``
    starts from the parent's resident size when it is forked.
    """
    cmd = [sys.executable, os.path.abspath(__file__), *worker_args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        log(f"  worker failed (exit code {proc.returncode}): {' '.join(worker_args)}")
        return None
    return json.loads(lines[-1])


def report(results, path, rows, iters):
    """The text report: the table and the checks."""
    size = os.path.getsize(path)
    table = format_table(
        ["fit", "N", "iters", "load s", "check pass s", "s/iter", "M rows/s per iter",
         "pre-fit RSS MiB", "peak RSS MiB", "lower_bound"],
        [[r["mode"], r["n_samples"], r["iters"], f"{r['load_s']:.2f}", f"{r['check_s']:.2f}",
          f"{r['s_per_iter']:.3f}", f"{r['n_samples'] / r['s_per_iter'] / 1e6:.2f}",
          f"{r['prefit_rss_mb']:.0f}", f"{r['peak_rss_mb']:.0f}", f"{r['lower_bound']:.10g}"]
         for r in results.values() if r is not None],
    )
    lines = [f"data    : {path} ({rows} x {N_FEATURES} float32, {size / 1e6:.0f} MB), "
             f"K={N_COMPONENTS} full, {iters} EM iterations from the same start", "", table, ""]
    streamed, loaded = results.get("out-of-core"), results.get("in memory")
    if streamed is not None:
        peak_mb = streamed["peak_rss_mb"] * 2**20 / 1e6
        lines.append(f"out-of-core peak RSS {peak_mb:.0f} MB < {RSS_TARGET_MB:.0f} MB: "
                     f"{'PASS' if peak_mb < RSS_TARGET_MB else 'FAIL'}")
    if streamed is not None and loaded is not None:
        ratio = streamed["s_per_iter"] / loaded["s_per_iter"]
        diff = abs(streamed["lower_bound"] - loaded["lower_bound"]) / abs(loaded["lower_bound"])
        lines.append(f"out-of-core s/iter / in-memory s/iter: {ratio:.2f}")
        lines.append(f"lower_bound relative difference: {diff:.1e}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"rows of the data file (default {DEFAULT_ROWS})")
    parser.add_argument("--iters", type=int, default=DEFAULT_ITERS,
                        help=f"EM iterations per fit (default {DEFAULT_ITERS})")
    parser.add_argument("--dir", default="/tmp", help="where the data file goes (default /tmp)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the report")
    parser.add_argument("--predict", action="store_true",
                        help="measure predict and score_samples instead of fit")
    parser.add_argument("--worker", choices=(*MODES, *PREDICT_MODES, "write"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "write":
        reused = file_is_complete(args.file, args.rows)
        seconds = 0.0 if reused else write_data(args.file, make_case(args.rows))
        print(json.dumps({"reused": reused, "seconds": seconds}))
        return 0
    if args.worker in PREDICT_MODES:
        run_predict_worker(args.worker, args.file, args.rows, args.dir)
        return 0
    if args.worker:
        run_worker(args.worker, args.file, args.rows, args.iters)
        return 0
    path = data_path(args.dir, args.rows)
    log(f"data file {path} ...")
    written = spawn(["--worker", "write", "--file", path, "--rows", str(args.rows)])
    if written is None:
        return 1
    log("  reused" if written["reused"] else f"  written in {written['seconds']:.1f} s")
    if args.predict:
        return predict_main(args, path)
    results = {}
    for mode in MODES:
        log(f"fitting {mode} ...")
        results[mode] = result = spawn(["--worker", mode, "--file", path,
                                        "--rows", str(args.rows), "--iters", str(args.iters)])
        if result is not None:
            log(f"  {result['s_per_iter']:.3f} s/iter, peak RSS {result['peak_rss_mb']:.0f} MiB")
    if args.json:
        print(json.dumps({"file": path, "rows": args.rows, "iters": args.iters,
                          "rss_target_mb": RSS_TARGET_MB, "results": results}, indent=2))
    else:
        print(report(results, path, args.rows, args.iters))
    return 1 if any(r is None for r in results.values()) else 0


def predict_main(args, path):
    """--predict: the three modes, each in a fresh process, then the report."""
    results = {}
    for mode in PREDICT_MODES:
        log(f"{mode} ...")
        results[mode] = result = spawn(["--worker", mode, "--file", path, "--rows",
                                        str(args.rows), "--dir", args.dir])
        if result is not None:
            log(f"  predict {result['predict_s']:.2f} s, score_samples "
                f"{result['score_samples_s']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MiB")
    if args.json:
        print(json.dumps({"file": path, "rows": args.rows, "results": results}, indent=2))
    else:
        print(predict_report(results, path, args.rows))
    return 1 if any(r is None for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
