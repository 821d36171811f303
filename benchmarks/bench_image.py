"""Speed and memory of gmmkit_image.segment on a brain-sized volume and a large photo.

Cases (each in a fresh process, so peak RSS is its own):

* ``volume``: a 182 x 218 x 182 brain phantom (1 mm MNI size;
  gmmkit_image.phantom.tissue_phantom, noise 5%, +-20% field), a brain mask
  of about 1.9 M voxels, 3 classes with the bias field and the default
  smoothing (``segment(image, 3, mask=mask, smoothing=True,
  bias_field=True)``). Targets: at most 30 s, peak RSS under 1.5 GB.
* ``volume-pve``: the same with ``partial_volume=True``.
* ``photo``: a 2000 x 2000 RGB photograph (scikit-image's coins, resized and
  tinted, times a vignetting field), 3 classes of the grey level with the
  bias field and smoothing. Target: at most 5 s.
* ``photo-plain``: the photo without smoothing or field (the plain mixture).
* ``photo-bias-classes``: the ``photo`` call with ``bias_classes=2`` (the
  field from 2 classes, then fixed for the 3: one background class).

For reference each case also times scikit-learn's GaussianMixture (3
components, k-means start, the same tol) fitted on every voxel in the
mask and predicting them: a plain mixture, no spatial model.

Images with more than ``hmrf_max_pixels`` (default 1 M) pixels in the mask,
both cases here, run HMRF-EM coarse to fine (gmmkit_image.multiscale).

Reported: wall time of ``segment`` (best of ``--repeat``), its CPU time
(the process's user + system seconds: on a machine shared with other jobs
the wall time grows with the load, the CPU time much less), voxels per
second, HMRF-EM iterations, peak RSS (ru_maxrss of the process: data,
imports and work), and where the time went (cProfile, grouped).

    python benchmarks/bench_image.py                    # every case
    python benchmarks/bench_image.py --cases volume --repeat 3
    python benchmarks/bench_image.py --json

Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

TARGETS = {"volume": 30.0, "volume-pve": None, "photo": 5.0, "photo-plain": None,
           "photo-bias-classes": None}
RSS_TARGET_MB = 1500.0
#: where the time goes: a label and the functions whose cumulative time it is
PHASES = (
    ("starting mixture (subsample fit)", "gmmkit/estimators/mixture.py", "fit"),
    ("E-step densities (engine)", "gmmkit/estimators/components.py",
     "component_log_densities"),
    ("M-step (engine)", "gmmkit/estimators/components.py", "fit_from_responsibilities"),
    ("mean-field sweeps", "gmmkit_image/mrf.py", "sweep"),
    ("free energy", "gmmkit_image/mrf.py", "free_energy"),
    ("bias field steps", "gmmkit_image/bias.py", "bias_step"),
    ("bias basis set-up", "gmmkit_image/bias.py", "__init__"),
    ("partial volume", "gmmkit_image/pve.py", "partial_volume_fractions"),
    ("features", "gmmkit_image/segmentation.py", "_features"),
    ("coarse HMRF-EM", "gmmkit_image/hmrf.py", "hmrf_em"),
    ("full-resolution sweeps", "gmmkit_image/multiscale.py", "grid_sweep"),
)


def make_volume():
    import numpy as np
    from gmmkit_image.phantom import tissue_phantom

    phantom = tissue_phantom((182, 218, 182), noise=0.05, supersample=1, seed=0)
    axes = [(np.arange(n) + 0.5 - n / 2) / 91.0 for n in phantom.image.shape]
    grid = np.meshgrid(*axes, indexing="ij", sparse=True)
    mask = np.sqrt(sum(g * g for g in grid)) < 0.85
    return phantom.image.astype(np.float32), mask


def make_photo():
    import numpy as np
    from skimage import data
    from skimage.transform import resize

    grey = resize(data.coins() / 255.0, (2000, 2000), order=1, anti_aliasing=False)
    rows, cols = np.mgrid[0:2000, 0:2000] / 1000.0 - 1.0
    vignette = 1.0 - 0.25 * (rows**2 + cols**2)
    rgb = grey[..., None] * np.array([1.0, 0.9, 0.75]) * vignette[..., None]
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8), None


def run_case(case, repeat):
    """Runs in the worker process: times segment, profiles one run, reports."""
    import cProfile
    import pstats
    import resource

    import numpy as np
    from gmmkit_image import segment

    image, mask = make_volume() if case.startswith("volume") else make_photo()
    options = {"probabilities": False}
    if case.startswith("photo"):
        options.update(channel_axis=-1, features=("intensity",))  # grey, as the reference
    if case in ("volume", "volume-pve", "photo", "photo-bias-classes"):
        options.update(smoothing=True, bias_field=True)
    if case == "photo-bias-classes":
        options["bias_classes"] = 2
    if case == "volume-pve":
        options["partial_volume"] = True
    n_voxels = int(mask.sum()) if mask is not None else image.shape[0] * image.shape[1]
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best, cpu, result = np.inf, np.inf, None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = segment(image, 3, mask=mask, **options)
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = cProfile.Profile()
    profiler.runcall(segment, image, 3, mask=mask, **options)
    stats = pstats.Stats(profiler).stats
    phases = {}
    for label, file, name in PHASES:
        phases[label] = sum(entry[3] for (path, _, function), entry in stats.items()
                            if path.endswith(file) and function == name)
    reference = sklearn_reference(image, mask, case)
    return {
        "case": case, "shape": list(image.shape), "voxels": n_voxels,
        "seconds": best, "cpu_seconds": cpu, "voxels_per_second": n_voxels / best,
        "iterations": result.n_smoothing_iter, "peak_rss_mb": peak,
        "rss_before_segment_mb": rss_data, "phases": phases,
        "profiled_seconds": max(entry[3] for entry in stats.values()),
        "sklearn_seconds": reference,
    }


def sklearn_reference(image, mask, case):
    """Seconds of scikit-learn's plain 3-component mixture on the same voxels."""
    import numpy as np
    from gmmkit_image.features import grey_levels
    from sklearn.mixture import GaussianMixture

    grey = grey_levels(image, channel_axis=-1 if case.startswith("photo") else None)
    X = (grey[mask] if mask is not None else grey.ravel()).reshape(-1, 1).astype(np.float64)
    start = time.perf_counter()
    GaussianMixture(3, random_state=0, reg_covar=1e-6 * X.var()).fit(X).predict(X)
    return time.perf_counter() - start


def report(rows):
    lines = ["| case | voxels | segment s (target) | CPU s | voxels/s | iterations | peak RSS MB "
             "(target) | sklearn plain mixture s |", "|" + "---|" * 8]
    for row in rows:
        target = TARGETS[row["case"]]
        verdict = "PASS" if target is not None and row["seconds"] <= target else "MISS"
        mark = "" if target is None else f" ({target:g}: {verdict})"
        rss_mark = "" if not row["case"].startswith("volume") else \
            f" ({RSS_TARGET_MB:g}: {'PASS' if row['peak_rss_mb'] <= RSS_TARGET_MB else 'MISS'})"
        lines.append(f"| {row['case']} {' x '.join(map(str, row['shape']))} | {row['voxels']:,} | "
                     f"{row['seconds']:.1f}{mark} | {row['cpu_seconds']:.1f} | "
                     f"{row['voxels_per_second']:,.0f} | "
                     f"{row['iterations']} | {row['peak_rss_mb']:.0f}{rss_mark} | "
                     f"{row['sklearn_seconds']:.1f} |")
    lines.append("")
    lines.append("Where the time goes (cProfile, cumulative seconds of one profiled run):")
    for row in rows:
        total = row["profiled_seconds"]
        parts = ", ".join(f"{label} {seconds:.1f}" for label, seconds in row["phases"].items()
                          if seconds >= 0.05)
        lines.append(f"- {row['case']}: {total:.1f} s in all; {parts}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(TARGETS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_case(args.worker, args.repeat)))
        return 0
    rows = []
    for case in args.cases.split(","):
        print(f"bench_image: {case} ...", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, __file__, "--worker", case, "--repeat",
                               str(args.repeat)], capture_output=True, text=True)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(json.dumps(rows, indent=1) if args.json else report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
