"""The outlier plugin's part of ``gmmkit demo``."""

from __future__ import annotations

import numpy as np


def wholesale_demo(out_dir):
    """The least typical wholesale customers under a mixture of log spending."""
    from gmmkit.datasets import load

    from gmmkit import GaussianMixture, run_pipeline
    from gmmkit.demo import DemoSection, pyplot, save_figure

    dataset = load("wholesale_customers")
    log_spending = np.log1p(dataset.data)
    result = run_pipeline(
        log_spending,
        features=["robust_scale"],
        model=GaussianMixture(3, random_state=0, n_init=3),
        postprocessors=["outlier_score"],
    )
    scores = result.outputs["outlier_score"]
    top = np.argsort(scores)[::-1][:8]
    section = DemoSection(
        "Wholesale customers: the least typical clients",
        paragraphs=[
            f"{dataset.data.shape[0]} clients' annual spending on "
            f"{dataset.data.shape[1]} product groups, log-transformed and robustly scaled, "
            "fitted by a 3-component mixture. A client's outlier score is minus its log "
            "density; the table lists the highest. The robust detector (noise component, "
            "automatic threshold, explanations) comes with the outlier plugin's own issue.",
        ],
        table=[["row", "score", "channel", *dataset.feature_names]]
        + [
            [int(i), float(scores[i]), str(dataset.target[i]), *(int(v) for v in dataset.data[i])]
            for i in top
        ],
    )
    plt = pyplot()
    if plt is not None:
        figure, axes = plt.subplots(figsize=(6, 3.5))
        axes.hist(scores, bins=40, color="0.6")
        for i in top:
            axes.axvline(scores[i], color="red", linewidth=0.8)
        axes.set_xlabel("outlier score (minus log density)")
        axes.set_ylabel("clients")
        section.figures.append(save_figure(figure, out_dir, "wholesale_scores.png"))
    return section
