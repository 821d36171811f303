"""Make docs/figures/outliers_scatter.png, outliers_scores.png (the demo's figures) and
outliers_detect_plot.png (what ``gmmkit outliers detect --label --plot`` draws).

    python docs/figures/make_outliers_figures.py
"""

from pathlib import Path

import numpy as np
from gmmkit_outliers.demo import outliers_demo

from gmmkit.datasets import load


def detect_plot(out_dir):
    """The wine cultivars 2 and 3 with 12 wines of cultivar 1 as labelled anomalies."""
    from gmmkit_outliers import GMMOutlierDetector
    from gmmkit_outliers.cli_report import write_plot

    wine = load("wine")
    target = np.asarray(wine.target)
    rng = np.random.default_rng(0)
    rows = np.r_[np.flatnonzero(target != "1"),
                 rng.choice(np.flatnonzero(target == "1"), 12, replace=False)]
    X, labels = wine.data[rows], (target[rows] == "1").astype(int)
    detector = GMMOutlierDetector(random_state=0).fit(X)
    write_plot(detector, X, labels, "wine (cultivar 1 as anomalies)",
               Path(out_dir) / "outliers_detect_plot.png")
    return "outliers_detect_plot.png"


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    section = outliers_demo(here)
    print("wrote", ", ".join([*section.figures, detect_plot(here)]))
