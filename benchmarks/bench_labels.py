"""predict's labelling: numpy's argmax over the first axis against best_components.

    python benchmarks/bench_labels.py               # 200,000 x 39, K=64 diag, 12 rounds
    python benchmarks/bench_labels.py --rounds 5

Fits a K=64 diag mixture (2 EM iterations on 20,000 rows: timing only),
then times ``predict`` on 200,000 rows with each labelling in turn,
alternating in one process so that a shared machine's load falls on both,
and checks that the labels are identical. Prints the median and fastest
milliseconds per predict, and one (64, 8192) chunk's labelling alone.
"""

from __future__ import annotations

import argparse
import time
import timeit
import warnings

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="predicts per labelling")
    args = parser.parse_args(argv)

    import gmmkit.estimators.mixture as mixture
    from gmmkit import GaussianMixture
    from gmmkit.engine.scoring import best_components

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200_000, 39)) + rng.integers(0, 8, size=(200_000, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 2 iterations do not converge; timing only
        model = GaussianMixture(64, covariance_type="diag", max_iter=2, random_state=0)
        model.fit(X[:20_000])
    variants = {"argmax(axis=0)": lambda lp: lp.argmax(axis=0), "best_components": best_components}
    times = {name: [] for name in variants}
    labels = {}
    try:
        for _ in range(args.rounds):
            for name, labelling in variants.items():
                mixture.best_components = labelling
                start = time.perf_counter()
                labels[name] = model.predict(X)
                times[name].append(time.perf_counter() - start)
    finally:
        mixture.best_components = best_components
    first, second = labels.values()
    if not np.array_equal(first, second):
        raise AssertionError("the labellings disagree")
    chunk = rng.normal(size=(64, 8192))
    print("predict, 200,000 x 39, K=64 diag, float64 (ms per call)")
    for name, spent in times.items():
        one = min(timeit.repeat(lambda f=variants[name]: f(chunk), number=20, repeat=5)) / 20
        print(f"{name:<16} median {1e3 * np.median(spent):7.1f}  fastest {1e3 * min(spent):7.1f}"
              f"  one (64, 8192) chunk {1e3 * one:.3f}")


if __name__ == "__main__":
    main()
