"""UBM training: seconds per EM iteration, gmmkit against scikit-learn, in one run.

    python benchmarks/bench_speech_ubm.py                 # 200,000 x 39, K=256, diag
    python benchmarks/bench_speech_ubm.py --frames 50000  # a quick run

The frames are MFCC frames of the bundled speech set (13 MFCCs with deltas
and delta-deltas = 39 features, energy VAD, CMVN), tiled to the requested
number of rows with a little jitter (so no two rows are equal), offline
and reproducible. Both libraries fit a K-component diagonal mixture from
the same starting parameters (weights, means, precisions from a random
pick of rows), with ``tol=0`` so every iteration runs. Each library
reports the time of every EM iteration itself (``verbose=2``); the first
(which includes start-up) is dropped and the median of the others is
compared, so a burst of load on a shared machine moves single iterations,
not the result. gmmkit runs as ``train_ubm`` does (float32 work,
automatic chunks); gmmkit in float64 is timed too, for reference. All
three use train_ubm's variance floor ``reg_covar=0.05`` (the frames have
unit variance after CMVN). Any other warning (e.g. gmmkit's
PrecisionWarning when float32 work falls back to float64) is printed.
"""

from __future__ import annotations

import argparse
import io
import re
import warnings
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

from gmmkit import ConvergenceWarning


def speech_frames(n_frames, seed=0):
    """(n_frames, 39) float64: bundled MFCC frames, tiled and jittered."""
    from gmmkit_speech.experiment import bundled_frames
    from gmmkit_speech.features import FeatureConfig

    _, frames = bundled_frames(FeatureConfig(n_mfcc=13))
    pool = np.concatenate(frames)
    rng = np.random.default_rng(seed)
    rows = pool[rng.integers(0, len(pool), n_frames)]
    return rows + 0.01 * rng.standard_normal(rows.shape)


def starting_point(X, n_components, seed=0):
    """Weights, means and diagonal precisions to start both libraries from."""
    rng = np.random.default_rng(seed)
    means = X[rng.choice(len(X), n_components, replace=False)]
    weights = np.full(n_components, 1.0 / n_components)
    precisions = np.tile(1.0 / X.var(axis=0), (n_components, 1))
    return weights, means, precisions


def iteration_seconds(model, X):
    """Fit ``model`` (verbose=2, verbose_interval=1) and return each EM iteration's seconds.

    Both libraries print "Iteration i  time lapse t s" after every
    iteration at verbose=2 (scikit-learn on stdout, gmmkit on stderr); the
    first iteration's lapse includes the initialisation and is dropped.
    """
    buffer = io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(buffer), redirect_stderr(buffer):
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter on purpose (tol=0)
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        model.fit(X)
    lapses = [float(t) for t in re.findall(r"time lapse ([0-9.]+)s", buffer.getvalue())]
    return np.array(lapses[1:]), model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("-k", "--components", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args(argv)

    from sklearn.mixture import GaussianMixture as SklearnMixture

    from gmmkit import GaussianMixture

    X = speech_frames(args.frames)
    weights, means, precisions = starting_point(X, args.components)
    common = dict(covariance_type="diag", tol=0.0, weights_init=weights, means_init=means,
                  precisions_init=precisions, reg_covar=0.05)  # train_ubm's variance floor

    settings = dict(max_iter=1 + args.iterations, verbose=2, verbose_interval=1, **common)
    print(f"UBM training: {X.shape[0]} frames x {X.shape[1]} features, K={args.components}, "
          f"diag; {args.iterations} timed EM iterations each")
    ours, ours_model = iteration_seconds(
        GaussianMixture(args.components, dtype="float32", **settings), X)
    ours64, _ = iteration_seconds(GaussianMixture(args.components, dtype="float64", **settings), X)
    theirs, theirs_model = iteration_seconds(
        SklearnMixture(args.components, init_params="random_from_data", random_state=0,
                       **settings), X)
    for name, lapses in [("gmmkit  (float32)", ours), ("gmmkit  (float64)", ours64),
                         ("sklearn (float64)", theirs)]:
        print(f"{name}: median {np.median(lapses):.3f} s/iter (min {lapses.min():.3f}, "
              f"max {lapses.max():.3f})")
    print(f"speed-up: {np.median(theirs) / np.median(ours):.2f}x (ratio of medians; "
          f"{theirs.min() / ours.min():.2f}x of the fastest iterations; target >= 3x)")
    gap = abs(ours_model.score(X) - theirs_model.score(X))
    print(f"mean log-likelihood after {1 + args.iterations} iterations: gmmkit "
          f"{ours_model.score(X):.6f}, sklearn {theirs_model.score(X):.6f} (difference {gap:.1e})")


if __name__ == "__main__":
    main()
