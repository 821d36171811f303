"""ROC-AUC on scikit-learn's bundled data against GMM(n_components=1) and IsolationForest.

The protocols and the detectors are benchmarks/bench_outliers.py's (run here
in the same process); the table is printed (pytest -s shows it).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_outliers.py"
LABELS = ["gmmkit", "GMM(1)", "IsolationForest"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_outliers", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_protocols_are_what_they_say(bench):
    X, y = bench.make_set("load_breast_cancer", 0, 0.10, None)
    assert X.shape == (397, 30) and y.sum() == 40  # 357 benign + 40 malignant (10%)
    X, y = bench.make_set("load_digits", 0, 0.05, (1, 2, 3, 4, 5))
    assert y.mean() == pytest.approx(0.05, abs=0.001) and (X.std(axis=0) > 0).all()
    again, _ = bench.make_set("load_digits", 0, 0.05, (1, 2, 3, 4, 5))
    np.testing.assert_array_equal(again, X)  # seeded


def test_default_detector_beats_one_gaussian_and_isolation_forest_on_average(bench):
    table = bench.compare()
    print("\n" + bench.format_table(table, LABELS))
    mean = bench.averages(table, LABELS)
    assert mean["gmmkit"] >= mean["GMM(1)"]
    assert mean["gmmkit"] >= mean["IsolationForest"]
    # and on every set it is at least as good as the single Gaussian it generalises
    for row in table:
        assert row["gmmkit"] >= row["GMM(1)"], row["data"]
