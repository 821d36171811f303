"""Generated test data with known answers: a noisy piecewise-constant image or
volume, and a video of objects moving over a static textured background."""

from __future__ import annotations

import numpy as np


def piecewise_constant(shape=(96, 96), *, levels=(0.2, 0.5, 0.8), noise=0.17, seed=0):
    """A noisy image (2-D) or volume (3-D) of three flat regions with known classes.

    Parameters
    ----------
    shape : tuple of 2 or 3 int
    levels : three floats, default=(0.2, 0.5, 0.8)
        Grey level of classes 1, 2, 3.
    noise : float, default=0.17
        Standard deviation of the added Gaussian noise.
    seed : int

    Returns
    -------
    image : ndarray of float64, ``shape``
    truth : ndarray of int, ``shape``
        Classes 1..3 (1 the darkest).
    """
    grids = np.indices(shape, dtype=float)
    fractions = [g / n for g, n in zip(grids, shape)]
    truth = np.ones(shape, dtype=int)
    truth[fractions[-1] >= 1 / 3] = 2
    truth[(fractions[0] >= 0.5) & (fractions[-1] >= 2 / 3)] = 3
    centre = sum((f - c) ** 2 for f, c in zip(fractions, (0.25, 0.15, 0.2)))
    truth[centre < 0.03] = 3
    rng = np.random.default_rng(seed)
    image = np.asarray(levels)[truth - 1] + rng.normal(0.0, noise, shape)
    return image, truth


def moving_objects_video(n_frames=90, shape=(60, 80), *, warmup=50, noise=6.0, seed=0):
    """RGB uint8 frames of a static textured background with two moving objects.

    A red box and a blue disc appear after ``warmup`` background-only
    frames and cross the picture (wrapping around).

    Returns
    -------
    frames : list of ndarray of uint8, shape (H, W, 3)
    masks : list of ndarray of bool, shape (H, W)
        Where the objects are (the true foreground).
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    height, width = shape
    texture = gaussian_filter(rng.normal(size=(height, width, 3)), (2, 2, 0))
    texture = 60 + 120 * (texture - texture.min()) / np.ptp(texture)
    rows, cols = np.indices(shape)
    frames, masks = [], []
    for t in range(n_frames):
        frame = texture.copy()
        mask = np.zeros(shape, dtype=bool)
        if t >= warmup:
            step = t - warmup
            left = (3 * step) % width
            box = (rows >= height // 6) & (rows < height // 6 + 15) & (cols >= left) \
                & (cols < left + 12)
            disc = (rows - (2 * step + 5) % height) ** 2 + (cols - (width - 1 - 2 * step)
                                                          % width) ** 2 < 36
            frame[box] = (235, 30, 30)
            frame[disc] = (20, 20, 230)
            mask = box | disc
        frame += rng.normal(0.0, noise, frame.shape)
        frames.append(np.clip(np.round(frame), 0, 255).astype(np.uint8))
        masks.append(mask)
    return frames, masks
