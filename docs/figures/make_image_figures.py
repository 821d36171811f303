"""Draw the figures of docs/image.md (docs/figures/image_*.png).

Run from the repository root::

    python docs/figures/make_image_figures.py

Needs the image and plot extras (scikit-image, imageio, matplotlib).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gmmkit_image import BackgroundModel, segment
from gmmkit_image.demo import bias_figure, segmentation_figure
from gmmkit_image.io import label_colours
from gmmkit_image.phantom import dice, tissue_phantom
from gmmkit_image.synthetic import moving_objects_video, piecewise_constant

from gmmkit.demo import pyplot, save_figure

OUT = Path(__file__).resolve().parent


def coloured(labels, n_classes):
    """Label image as RGB with the label PNG colours (0 black)."""
    return np.vstack([[0, 0, 0], label_colours(n_classes)])[labels]


def coins(plt):
    from skimage import data

    image = data.coins()
    return segmentation_figure(plt, image, segment(image, 3, smoothing=1.0), OUT,
                               "image_coins.png")


def coins_bias(plt):
    from skimage import data

    image = data.coins()
    plain = segment(image, 2, smoothing=True)
    corrected = segment(image, 2, smoothing=True, bias_field=True)
    three = segment(image, 3, smoothing=True, bias_field=True, bias_classes=2)
    return bias_figure(plt, image, plain, corrected, OUT, "image_coins_bias.png", three=three)


def phantom(plt):
    scan = tissue_phantom(noise=0.05, seed=1)
    plain = segment(scan.image, 3, mask=scan.mask)
    full = segment(scan.image, 3, mask=scan.mask, smoothing=True, bias_field=True,
                   partial_volume=True)
    z = scan.image.shape[0] // 2 + 3

    def scores(result):
        return " / ".join(f"{dice(result.labels, scan.labels, k):.3f}" for k in (1, 2, 3))

    field_range = (0.8, 1.2)
    panels = [
        (scan.image[z], "input (5% Rician noise, +-20% field)", "gray", None),
        (coloured(scan.labels[z], 3), "true tissues (CSF / GM / WM)", None, None),
        (coloured(plain.labels[z], 3), f"plain GMM\nDice {scores(plain)}", None, None),
        (coloured(full.labels[z], 3), f"HMRF-EM + bias field\nDice {scores(full)}", None,
         None),
        (np.where(scan.mask[z], scan.bias_field[z], np.nan), "true field", "magma",
         field_range),
        (np.where(scan.mask[z], full.bias_field[z], np.nan), "estimated field", "magma",
         field_range),
        (full.partial_volume[z, ..., 1], "grey-matter fraction (PVE)", "gray", (0, 1)),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(21, 3.6))
    for ax, (picture, title, cmap, limits) in zip(axes, panels):
        low, high = limits if limits else (None, None)
        ax.imshow(picture, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    return save_figure(figure, OUT, "image_phantom.png")


def smoothing(plt):
    image, truth = piecewise_constant((128, 128), noise=0.17, seed=1)
    plain = segment(image, 3)
    smoothed = segment(image, 3, smoothing=1.0)
    panels = [
        (np.clip(image, 0, 1), "noisy input (noise sd 0.17)", "gray"),
        (coloured(truth, 3), "true classes", None),
        (coloured(plain.labels, 3), f"plain GMM: {np.mean(plain.labels != truth):.1%} wrong",
         None),
        (coloured(smoothed.labels, 3),
         f"HMRF-EM, beta=1: {np.mean(smoothed.labels != truth):.1%} wrong", None),
    ]
    figure, axes = plt.subplots(1, 4, figsize=(13, 3.5))
    for ax, (picture, title, cmap) in zip(axes, panels):
        ax.imshow(picture, cmap=cmap, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    return save_figure(figure, OUT, "image_smoothing.png")


def colour(plt):
    from skimage import data
    from skimage.transform import rescale

    photo = rescale(data.astronaut(), 0.5, channel_axis=-1)
    result = segment(photo, 5, features=("lab",), channel_axis=-1, smoothing=0.5)
    figure, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    axes[0].imshow(photo)
    axes[0].set_title("input (astronaut, 256 x 256)")
    axes[1].imshow(coloured(result.labels, result.n_classes), interpolation="nearest")
    axes[1].set_title("5 CIELAB classes, beta=0.5")
    axes[2].imshow(result.overlay())
    axes[2].set_title("overlay")
    for ax in axes:
        ax.set_axis_off()
    return save_figure(figure, OUT, "image_colour.png")


def background(plt):
    frames, masks = moving_objects_video(n_frames=80, shape=(120, 160), warmup=60, seed=0)
    model = BackgroundModel()
    for frame in frames:
        mask = model.apply(frame)
    figure, axes = plt.subplots(1, 4, figsize=(13, 2.9))
    panels = [(frames[-1], "frame 80"), (masks[-1], "true objects"),
              (mask, "BackgroundModel mask"), (model.background_image(), "background_image()")]
    for ax, (picture, title) in zip(axes, panels):
        ax.imshow(picture, cmap="gray", interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    return save_figure(figure, OUT, "image_background.png")


def main():
    plt = pyplot()
    for draw in (coins, coins_bias, phantom, smoothing, colour, background):
        print("wrote", OUT / draw(plt))


if __name__ == "__main__":
    main()
