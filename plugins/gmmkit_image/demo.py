"""The image plugin's part of ``gmmkit demo``: scikit-image's coins, segmented
with and without the bias field that evens out the lighting, in 2 classes and
in 3 (the field from 2 classes first)."""

from __future__ import annotations

import numpy as np


def coins_demo(out_dir):
    """scikit-image's coins: 2 classes with HMRF smoothing, without and with the bias field;
    3 classes with the field estimated from 2."""
    from skimage import data

    from gmmkit.demo import DemoSection, pyplot
    from gmmkit_image import segment

    image = data.coins()
    plain = segment(image, 2, smoothing=True)
    result = segment(image, 2, smoothing=True, bias_field=True)
    three = segment(image, 3, smoothing=True, bias_field=True, bias_classes=2)
    shares = ", ".join(f"{100 * share:.0f}%" for share in three.shares)
    moved = float(np.mean(plain.labels != result.labels))
    field = result.bias_field
    section = DemoSection(
        "Coins: segmentation with a bias field for the uneven lighting",
        paragraphs=[
            f"scikit-image's coins photograph ({image.shape[0]} x {image.shape[1]} pixels) "
            "segmented by gmmkit_image.segment into 2 grey-level classes (background, coins) "
            "with HMRF-EM smoothing (Potts prior, beta = 0.5). The lighting is uneven: the top "
            "of the background is as bright as some coins, so without correction the plain "
            "classes put it with the coins. With bias_field=True a smooth multiplicative "
            f"field (here {field.min():.2f} to {field.max():.2f}) is estimated inside EM; "
            f"{100 * moved:.1f}% of the pixels change class and the background becomes one "
            "class.",
            "With 3 classes and bias_classes=2 the field is estimated with 2 classes first, "
            "then held fixed while the 3 classes are fitted on the corrected photo: the "
            "background stays one class and the coins split into a darker and a brighter "
            f"class (shares {shares}). Re-estimated with the 3 classes throughout, the field "
            "would leave the background in two classes.",
        ],
        table=[["class", "pixels", "fraction", "mean grey", "pixels without the field"]]
        + [
            [row["class"], row["pixels"], row["fraction"], row["mean_grey"], before["pixels"]]
            for row, before in zip(result.statistics(), plain.statistics())
        ],
    )
    plt = pyplot()
    if plt is not None:
        section.figures.append(bias_figure(plt, image, plain, result, out_dir, three=three))
    return section


def bias_figure(plt, image, plain, corrected, out_dir, name="coins_bias_field.png",
                three=None):
    """Input, labels without and with the field, the field and the corrected image.

    With ``three`` (a 3-class result), its labels too, after the 2-class ones.
    """
    from gmmkit.demo import save_figure
    from gmmkit_image.io import label_colours

    def coloured(result):
        return np.vstack([[0, 0, 0], label_colours(result.n_classes)])[result.labels]

    panels = [
        (image, "input", "gray"),
        (coloured(plain), "labels, no bias field", None),
        (coloured(corrected), "labels, bias_field=True", None),
        (corrected.bias_field, "estimated field", "magma"),
        (corrected.corrected, "corrected image", "gray"),
    ]
    if three is not None:
        panels.insert(3, (coloured(three), "3 classes, bias_classes=2", None))
    figure, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4))
    for ax, (picture, title, cmap) in zip(axes, panels):
        shown = ax.imshow(picture, cmap=cmap, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
        if title == "estimated field":
            figure.colorbar(shown, ax=ax, fraction=0.046)
    return save_figure(figure, out_dir, name)


def segmentation_figure(plt, image, result, out_dir, name="coins_segmentation.png"):
    """Input, label image and overlay side by side; returns the PNG's file name."""
    from gmmkit.demo import save_figure
    from gmmkit_image.io import label_colours

    colours = np.vstack([[0, 0, 0], label_colours(result.n_classes)])
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("input")
    axes[1].imshow(colours[result.labels], interpolation="nearest")
    axes[1].set_title(f"labels (1..{result.n_classes}, dark to bright)")
    axes[2].imshow(result.overlay())
    axes[2].set_title("overlay")
    for ax in axes:
        ax.set_axis_off()
    return save_figure(figure, out_dir, name)
