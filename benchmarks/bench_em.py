"""EM benchmark: gmmkit versus scikit-learn on synthetic Gaussian mixtures.

What it measures
----------------
For each case the script fits ``sklearn.mixture.GaussianMixture`` (float64),
``gmmkit.GaussianMixture`` (float64) and ``gmmkit.GaussianMixture`` (float32)
for a fixed number of EM iterations, starting from the *same* initial
parameters (``weights_init``, ``means_init``, ``precisions_init``, with
``tol=0`` so every fit runs exactly ``--iters`` iterations).

Every fit runs in a fresh Python process (this script in worker mode), which

* generates the data deterministically from the case seed (the parent never
  holds it),
* imports only the library it measures (its import cost is part of the
  peak, as for a user; it is also reported separately as "import RSS"),
* times ``fit()`` only (wall clock) and reports seconds per iteration
  (``fit time / n_iter_``; with ``--repeat R`` the fastest of R fits),
* records the warnings raised by ``fit()`` other than ``ConvergenceWarning``
  (expected with ``tol=0``), e.g. a float32 fit falling back to float64;
  they are listed under the report,
* reports its peak resident set size (``ru_maxrss``) as JSON on stdout.

The parent prints the machine, the library versions and the BLAS setup, a
table of the measured figures, and the targets (speedup over scikit-learn,
peak-RSS ratio, float32 speedup and float32 accuracy) marked PASS/FAIL.
The exit code is 0 whatever the figures are; it is 1 only if a worker crashed.

Cases
-----
a  N=1,000,000  D=16  K=32  full
b  N=1,000,000  D=16  K=32  diag
c  N=1,000,000  D=3   K=8   full   ("pixels")
d  N=200,000    D=39  K=64  diag   ("speech frames")

How to run
----------
::

    python benchmarks/bench_em.py              # all cases, 5 iterations
    python benchmarks/bench_em.py --quick      # N scaled down 10x (smoke run)
    python benchmarks/bench_em.py --cases a,c --iters 10 --json
    python benchmarks/bench_em.py --repeat 3   # best of 3 fits per process

Progress goes to stderr; the report (or JSON with ``--json``) to stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One benchmark problem.

    Attributes
    ----------
    key : str
        Short name used on the command line (``a``..``d``).
    label : str
        Human readable description.
    n_samples, n_features, n_components : int
        Problem size (``n_samples`` before ``--quick`` scaling).
    covariance_type : {"full", "diag"}
        Covariance type fitted by both libraries.
    seed : int
        Seed of the data and of the initial parameters.
    speedup_target : float
        Required ``sklearn s/iter / gmmkit s/iter`` (float64).
    """

    key: str
    label: str
    n_samples: int
    n_features: int
    n_components: int
    covariance_type: str
    seed: int
    speedup_target: float


CASES = {
    c.key: c
    for c in (
        Case("a", "full D=16 K=32", 1_000_000, 16, 32, "full", 101, 8.0),
        Case("b", "diag D=16 K=32", 1_000_000, 16, 32, "diag", 102, 4.0),
        Case("c", "pixels full D=3 K=8", 1_000_000, 3, 8, "full", 103, 4.0),
        Case("d", "speech diag D=39 K=64", 200_000, 39, 64, "diag", 104, 3.0),
    )
}

#: (library, dtype) of the fits run for every case, in this order.
RUNS = (("sklearn", "float64"), ("gmmkit", "float64"), ("gmmkit", "float32"))

DEFAULT_ITERS = 5
QUICK_FACTOR = 10
RSS_RATIO_TARGET = 1.0 / 3.0
F32_SPEEDUP_TARGET = 1.6
F32_LB_RTOL = 1e-5

# Data model: means ~ N(0, MEAN_SPREAD^2), per-axis variances in VAR_RANGE
# (condition number <= 4), weights ~ Dirichlet(WEIGHT_ALPHA).
MEAN_SPREAD = 3.0
VAR_RANGE = (0.5, 2.0)
WEIGHT_ALPHA = 5.0
# Initial parameters: true means + N(0, INIT_MEAN_NOISE^2), covariances
# inflated by INIT_COV_INFLATION, weights halfway to uniform.
INIT_MEAN_NOISE = 0.5
INIT_COV_INFLATION = 1.5

MIB = 1024.0  # ru_maxrss is in KiB on Linux


# ---------------------------------------------------------------------------
# Worker side: data, initial parameters, one fit
# ---------------------------------------------------------------------------


def n_samples_for(case, quick):
    """Return the number of samples of ``case`` (scaled down if ``quick``)."""
    return case.n_samples // QUICK_FACTOR if quick else case.n_samples


def make_model(rng, case):
    """Draw the true mixture of ``case``.

    Parameters
    ----------
    rng : numpy.random.Generator
    case : Case

    Returns
    -------
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, D)
    variances : ndarray of shape (K, D)
        Variances along the principal axes of each component.
    rotations : ndarray of shape (K, D, D) or None
        Orthogonal principal axes (columns) for ``full``; None for ``diag``
        (axis-aligned components).
    """
    import numpy as np

    k, d = case.n_components, case.n_features
    weights = rng.dirichlet(np.full(k, WEIGHT_ALPHA))
    means = rng.normal(0.0, MEAN_SPREAD, size=(k, d))
    variances = rng.uniform(*VAR_RANGE, size=(k, d))
    rotations = None
    if case.covariance_type == "full":
        rotations = np.linalg.qr(rng.standard_normal((k, d, d)))[0]
    return weights, means, variances, rotations


def make_initial_parameters(rng, weights, means, variances, rotations):
    """Derive ``weights_init``, ``means_init`` and ``precisions_init``.

    The true parameters are perturbed: weights are moved halfway to uniform,
    means get Gaussian noise and covariances are inflated.

    Returns
    -------
    dict
        Keyword arguments shared by both estimators; ``precisions_init`` has
        shape (K, D) for diag and (K, D, D) for full.
    """
    k = weights.shape[0]
    inv_var = 1.0 / (INIT_COV_INFLATION * variances)
    if rotations is None:
        precisions = inv_var
    else:
        precisions = (rotations * inv_var[:, None, :]) @ rotations.transpose(0, 2, 1)
        precisions = 0.5 * (precisions + precisions.transpose(0, 2, 1))
    return {
        "weights_init": 0.5 * weights + 0.5 / k,
        "means_init": means + rng.normal(0.0, INIT_MEAN_NOISE, size=means.shape),
        "precisions_init": precisions,
    }


def sample_mixture(rng, n, dtype, weights, means, variances, rotations):
    """Draw ``n`` points of the mixture straight into an array of ``dtype``.

    Points are drawn one component at a time in float64 and cast on
    assignment, so the only large allocation is the (n, D) result (plus an
    (n,) label vector); samples stay in random order.

    Returns
    -------
    X : ndarray of shape (n, D) and dtype ``dtype``
    """
    import numpy as np

    k, d = means.shape
    labels = rng.choice(k, size=n, p=weights)
    X = np.empty((n, d), dtype=dtype)
    for j in range(k):
        idx = np.flatnonzero(labels == j)
        block = rng.standard_normal((idx.size, d))
        block *= np.sqrt(variances[j])
        if rotations is not None:
            block = block @ rotations[j].T
        block += means[j]
        X[idx] = block
    return X


def make_problem(case, n, dtype):
    """Build the data and the initial parameters of ``case``.

    Model, initial parameters and samples use independent streams spawned
    from ``case.seed``, so the initial parameters do not depend on ``n`` and
    the float32 data is the float64 data rounded.

    Returns
    -------
    X : ndarray of shape (n, D)
    init : dict
        See :func:`make_initial_parameters`.
    """
    import numpy as np

    model_rng, init_rng, data_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(case.seed).spawn(3)
    )
    model = make_model(model_rng, case)
    init = make_initial_parameters(init_rng, *model)
    X = sample_mixture(data_rng, n, dtype, *model)
    return X, init


def import_estimator(lib):
    """Import the ``GaussianMixture`` class of ``lib`` (and nothing else).

    Each worker imports only the library it measures, as a user would, so
    its baseline RSS is that library's real import cost (reported as
    ``baseline_rss_mb``).
    """
    if lib == "sklearn":
        from sklearn.mixture import GaussianMixture
    elif lib == "gmmkit":
        from gmmkit import GaussianMixture
    else:
        raise ValueError(f"unknown library {lib!r}")
    return GaussianMixture


def make_estimator(lib, case, dtype, iters, init):
    """Construct the estimator of ``lib`` with the shared arguments.

    ``init_params="random_from_data"`` keeps scikit-learn from running
    k-means before the explicit ``*_init`` arrays override it.
    """
    params = dict(
        n_components=case.n_components,
        covariance_type=case.covariance_type,
        max_iter=iters,
        tol=0.0,
        init_params="random_from_data",
        random_state=0,
        **init,
    )
    estimator_class = import_estimator(lib)
    if lib == "gmmkit":
        return estimator_class(dtype=dtype, **params)
    if dtype != "float64":
        raise ValueError("the scikit-learn reference runs in float64 only")
    return estimator_class(**params)


def current_rss_mb():
    """Return the current RSS in MiB (``VmRSS``), or None if unavailable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / MIB
    except OSError:
        pass
    return None


def peak_rss_mb():
    """Return this process's peak RSS in MiB (``ru_maxrss``, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB


def timed_fit(lib, case, dtype, iters, init, X):
    """Fit a new estimator on ``X``, recording the warnings it raises.

    Returns
    -------
    est : fitted estimator
    fit_s : float
        Wall-clock seconds spent in ``fit()`` only.
    caught : list of str
        Distinct warnings other than ``ConvergenceWarning`` (expected with
        ``tol=0``), e.g. a float32 fit falling back to float64.
    """
    est = make_estimator(lib, case, dtype, iters, init)
    gc.collect()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("default")
        t0 = time.perf_counter()
        est.fit(X)
        fit_s = time.perf_counter() - t0
    caught = sorted({
        f"{w.category.__name__}: {w.message}" for w in records
        if w.category.__name__ != "ConvergenceWarning"
    })
    return est, fit_s, caught


def run_worker(lib, case_key, dtype, iters, quick, repeat=1):
    """Generate the data, fit ``repeat`` times, print the result as JSON.

    The reported time is the fastest of the ``repeat`` fits (all are listed
    in ``fit_s_all``); the fitted attributes come from the last fit (every
    fit starts from the same parameters, so they are identical).
    """
    warnings.simplefilter("ignore")
    import_estimator(lib)
    baseline_rss = current_rss_mb()
    case = CASES[case_key]
    n = n_samples_for(case, quick)

    t0 = time.perf_counter()
    X, init = make_problem(case, n, dtype)
    log(f"  data {X.shape} {X.dtype} in {time.perf_counter() - t0:.1f} s")

    prefit_rss = current_rss_mb()
    fit_s_all, caught, est = [], set(), None
    for _ in range(repeat):
        est = None  # free the previous fit before the next one
        est, fit_s, fit_warnings = timed_fit(lib, case, dtype, iters, init, X)
        fit_s_all.append(fit_s)
        caught.update(fit_warnings)
    n_iter = int(est.n_iter_)

    result = {
        "lib": lib,
        "case": case_key,
        "dtype": dtype,
        "n_samples": n,
        "iters": iters,
        "n_iter": n_iter,
        "fit_s": min(fit_s_all),
        "fit_s_all": fit_s_all,
        "s_per_iter": min(fit_s_all) / max(n_iter, 1),
        "lower_bound": float(est.lower_bound_),
        "warnings": sorted(caught),
        "means": [[float(v) for v in row] for row in est.means_],
        "baseline_rss_mb": baseline_rss,
        "prefit_rss_mb": prefit_rss,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(result))


def run_info_worker():
    """Print versions and BLAS information (libraries loaded) as JSON."""
    import numpy
    import scipy
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS)
    import sklearn
    from threadpoolctl import threadpool_info

    try:
        import gmmkit

        gmmkit_version = getattr(gmmkit, "__version__", "unknown")
    except ImportError:
        gmmkit_version = "not importable"
    blas = [
        {key: pool.get(key) for key in
         ("user_api", "internal_api", "version", "num_threads", "prefix",
          "architecture", "threading_layer")}
        for pool in threadpool_info()
    ]
    info = {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "gmmkit": gmmkit_version,
        "blas": blas,
    }
    print(json.dumps(info))


def cpu_model():
    """Return the CPU model name from ``/proc/cpuinfo`` or ``platform``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------------------
# Parent side: spawn workers, compare, report
# ---------------------------------------------------------------------------


def log(message):
    """Write a progress line to stderr."""
    print(message, file=sys.stderr, flush=True)


def spawn(worker_args):
    """Run this script in a fresh interpreter and parse its JSON output.

    Parameters
    ----------
    worker_args : list of str
        Worker-mode command-line arguments.

    Returns
    -------
    dict or None
        The decoded last stdout line, or None if the worker failed.
    """
    cmd = [sys.executable, os.path.abspath(__file__), *worker_args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        log(f"  worker failed (exit code {proc.returncode}): {' '.join(worker_args)}")
        return None
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        log(f"  worker printed no JSON: {' '.join(worker_args)}")
        return None


def run_case(case, args):
    """Run every fit of ``case`` in its own process.

    Returns
    -------
    results : dict
        ``{(lib, dtype): result dict or None}`` for the fits that were run.
    """
    results = {}
    for lib, dtype in RUNS:
        if dtype == "float32" and args.no_float32:
            continue
        log(f"[{case.key}] {case.label}: {lib} {dtype} ...")
        worker_args = ["--worker", lib, case.key, dtype,
                       "--iters", str(args.iters), "--repeat", str(args.repeat)]
        if args.quick:
            worker_args.append("--quick")
        res = spawn(worker_args)
        results[(lib, dtype)] = res
        if res is not None:
            fits = ", ".join(f"{t:.2f}" for t in res["fit_s_all"])
            log(f"  {res['s_per_iter']:.3f} s/iter ({res['n_iter']} iter; fit s: {fits}), "
                f"peak RSS {res['peak_rss_mb']:.0f} MB")
            for message in res["warnings"]:
                log(f"  warning: {message}")
    return results


def ratio(num, den):
    """Return ``num / den`` or None if either is missing or ``den`` is 0."""
    if num is None or den in (None, 0):
        return None
    return num / den


def rel_diff(value, reference):
    """Return ``|value - reference| / |reference|`` (None if missing)."""
    if value is None or reference is None:
        return None
    return ratio(abs(value - reference), abs(reference))


def max_abs_diff(a, b):
    """Return the max absolute difference of two nested lists (None if missing)."""
    if a is None or b is None:
        return None
    return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def field(result, name):
    """Return ``result[name]`` or None if the run is missing."""
    return None if result is None else result[name]


def fit_memory_mb(result):
    """Return peak minus pre-fit RSS in MiB (None if unknown)."""
    if result is None or result["prefit_rss_mb"] is None:
        return None
    return result["peak_rss_mb"] - result["prefit_rss_mb"]


def check(case, name, value, target, op):
    """Build one check row.

    Parameters
    ----------
    op : {">=", "<=", None}
        Comparison with ``target``; None for an informational figure.
    """
    if op is None or value is None:
        status = "info" if op is None else "n/a"
    else:
        ok = value >= target if op == ">=" else value <= target
        status = "PASS" if ok else "FAIL"
    return {"case": case.key, "check": name, "value": value,
            "target": None if op is None else f"{op} {target:.4g}", "status": status}


def case_checks(case, results):
    """Compare the fits of ``case`` against the targets.

    Returns
    -------
    list of dict
        Rows made by :func:`check`.
    """
    sk = results.get(("sklearn", "float64"))
    g64 = results.get(("gmmkit", "float64"))
    rows = [
        check(case, "speedup sklearn/gmmkit f64 (s/iter)",
              ratio(field(sk, "s_per_iter"), field(g64, "s_per_iter")),
              case.speedup_target, ">="),
        check(case, "peak RSS gmmkit f64/sklearn",
              ratio(field(g64, "peak_rss_mb"), field(sk, "peak_rss_mb")),
              RSS_RATIO_TARGET, "<="),
        check(case, "fit memory (peak - pre-fit RSS) gmmkit f64/sklearn",
              ratio(fit_memory_mb(g64), fit_memory_mb(sk)), None, None),
        check(case, "lower_bound rel diff gmmkit f64 vs sklearn",
              rel_diff(field(g64, "lower_bound"), field(sk, "lower_bound")), None, None),
        check(case, "means_ max abs diff gmmkit f64 vs sklearn",
              max_abs_diff(field(g64, "means"), field(sk, "means")), None, None),
    ]
    if ("gmmkit", "float32") in results:
        g32 = results[("gmmkit", "float32")]
        rows += [
            check(case, "speedup gmmkit f32 over f64",
                  ratio(field(g64, "s_per_iter"), field(g32, "s_per_iter")),
                  F32_SPEEDUP_TARGET, ">="),
            check(case, "lower_bound rel diff gmmkit f32 vs f64",
                  rel_diff(field(g32, "lower_bound"), field(g64, "lower_bound")),
                  F32_LB_RTOL, "<="),
        ]
    return rows


def format_value(value):
    """Format a figure compactly for the report."""
    if value is None:
        return "-"
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3f}"
    return f"{value:.2e}"


def format_table(header, rows):
    """Render ``rows`` (lists of str) as a left-aligned text table."""
    rows = list(rows)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)

    def render(row):
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()

    return "\n".join([render(header), line, *map(render, rows)])


def format_info(info):
    """Render the machine / versions / BLAS block."""
    if info is None:
        return "machine info: worker failed"
    lines = [
        f"machine : {info['cpu_count']} CPUs, {info['cpu_model']}, {info['platform']}",
        f"versions: python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
        f"scikit-learn {info['scikit-learn']}, gmmkit {info['gmmkit']}",
    ]
    for pool in info["blas"]:
        lines.append(
            f"BLAS    : {pool['internal_api']} {pool['version']} "
            f"num_threads={pool['num_threads']} ({pool['prefix']}, {pool['architecture']})"
        )
    return "\n".join(lines)


def format_mb(value):
    """Format a size in MiB (``-`` if unknown)."""
    return "-" if value is None else f"{value:.0f}"


def run_row(r):
    """Return the report row of one fit result."""
    return [r["case"], r["lib"], r["dtype"], r["n_samples"], r["n_iter"],
            f"{r['fit_s']:.2f}", f"{r['s_per_iter']:.3f}",
            format_mb(r["baseline_rss_mb"]), format_mb(r["prefit_rss_mb"]),
            format_mb(r["peak_rss_mb"]), format_mb(fit_memory_mb(r)),
            f"{r['lower_bound']:.10g}"]


def format_report(info, config, runs, checks):
    """Render the full text report."""
    check_rows = [
        [c["case"], c["check"], format_value(c["value"]), c["target"] or "", c["status"]]
        for c in checks
    ]
    cases = ", ".join(f"{k}={CASES[k].label}" for k in config["cases"])
    caught = [f"warning ({r['case']} {r['lib']} {r['dtype']}): {m}"
              for r in runs for m in r["warnings"]]
    return "\n\n".join([
        format_info(info),
        f"config  : iters={config['iters']} repeat={config['repeat']} "
        f"quick={config['quick']} cases: {cases}",
        format_table(["case", "lib", "dtype", "N", "n_iter", "fit s", "s/iter",
                      "import RSS MB", "pre-fit RSS MB", "peak RSS MB",
                      "peak-prefit MB", "lower_bound"], map(run_row, runs)),
        format_table(["case", "check", "measured", "target", "status"], check_rows),
        *(["\n".join(caught)] if caught else []),
    ])


def run_benchmark(args):
    """Run all requested cases and print the report; return the exit code."""
    log("collecting machine info ...")
    info = spawn(["--info-worker"])
    runs, checks, crashed = [], [], info is None
    for key in args.cases:
        results = run_case(CASES[key], args)
        crashed |= any(r is None for r in results.values())
        runs += [r for r in results.values() if r is not None]
        checks += case_checks(CASES[key], results)

    config = {"cases": args.cases, "iters": args.iters, "repeat": args.repeat,
              "quick": args.quick,
              "float32": not args.no_float32}
    if args.json:
        slim_runs = [{k: v for k, v in r.items() if k != "means"} for r in runs]
        targets = {
            "speedup": {k: CASES[k].speedup_target for k in args.cases},
            "rss_ratio": RSS_RATIO_TARGET,
            "float32_speedup": F32_SPEEDUP_TARGET,
            "float32_lower_bound_rtol": F32_LB_RTOL,
        }
        print(json.dumps({"machine": info, "config": config, "targets": targets,
                          "cases": {k: asdict(CASES[k]) for k in args.cases},
                          "runs": slim_runs, "checks": checks, "crashed": crashed},
                         indent=2))
    else:
        print(format_report(info, config, runs, checks))
    return 1 if crashed else 0


def parse_cases(text):
    """Parse ``--cases`` (comma-separated keys of :data:`CASES`)."""
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in CASES]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(
            f"unknown case(s) {unknown}; choose from {','.join(CASES)}")
    return keys


def positive_int(text):
    """Parse a strictly positive integer."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(
        description="Benchmark gmmkit EM against scikit-learn "
                    "(each fit in a fresh process).")
    p.add_argument("--cases", type=parse_cases, default=list(CASES),
                   help="comma-separated cases among " + ",".join(CASES) + " (default: all)")
    p.add_argument("--iters", type=positive_int, default=DEFAULT_ITERS,
                   help=f"EM iterations per fit (default: {DEFAULT_ITERS})")
    p.add_argument("--repeat", type=positive_int, default=1,
                   help="fits per worker process; the fastest is reported "
                        "(default: 1; use 3 on a noisy machine)")
    p.add_argument("--quick", action="store_true",
                   help=f"scale N down {QUICK_FACTOR}x for a smoke run")
    p.add_argument("--json", action="store_true",
                   help="print machine-readable JSON to stdout instead of the tables")
    p.add_argument("--no-float32", action="store_true", help="skip the gmmkit float32 fits")
    p.add_argument("--worker", nargs=3, metavar=("LIB", "CASE", "DTYPE"),
                   help=argparse.SUPPRESS)
    p.add_argument("--info-worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    """Entry point: parent mode by default, worker mode with ``--worker``."""
    args = parse_args(argv)
    if args.info_worker:
        run_info_worker()
        return 0
    if args.worker:
        lib, case_key, dtype = args.worker
        run_worker(lib, case_key, dtype, args.iters, args.quick, args.repeat)
        return 0
    return run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
