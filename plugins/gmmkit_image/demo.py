"""The image plugin's part of ``gmmkit demo``."""

from __future__ import annotations

import numpy as np


def coins_demo(out_dir):
    """scikit-image's coins photograph split into 3 grey-level classes."""
    from skimage import data

    from gmmkit import GaussianMixture, run_pipeline
    from gmmkit.demo import DemoSection, pyplot, save_figure

    image = data.coins()
    result = run_pipeline(
        image,
        features=["intensity"],
        model=GaussianMixture(3, random_state=0),
        postprocessors=["label_image"],
    )
    labels = result.outputs["label_image"]
    order = np.argsort(result.model.means_[:, 0])
    section = DemoSection(
        "Coins: grey-level segmentation",
        paragraphs=[
            f"scikit-image's coins photograph ({image.shape[0]} x {image.shape[1]} pixels) "
            "segmented by a 3-component mixture of pixel intensities, classes ordered "
            "from dark to bright. Spatial smoothing and more features come with the image "
            "plugin's own issue.",
        ],
        table=[["class", "pixels", "mean intensity", "weight"]]
        + [
            [rank, int(np.sum(labels == rank)), float(result.model.means_[k, 0]),
             float(result.model.weights_[k])]
            for rank, k in enumerate(order)
        ],
    )
    plt = pyplot()
    if plt is not None:
        figure, axes = plt.subplots(1, 2, figsize=(9, 3.6))
        axes[0].imshow(image, cmap="gray")
        axes[0].set_title("input")
        axes[1].imshow(labels, cmap="viridis")
        axes[1].set_title("GMM classes")
        for ax in axes:
            ax.set_axis_off()
        section.figures.append(save_figure(figure, out_dir, "coins_segmentation.png"))
    return section
