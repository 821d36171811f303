"""Background subtraction for video: a Gaussian mixture per pixel, updated online.

The model of Stauffer and Grimson (1999) with Zivkovic's (2004, 2006)
improvements, as in OpenCV's ``BackgroundSubtractorMOG2``: every pixel has
up to ``n_components`` Gaussians (one variance each) kept in order of
weight. A new frame updates the mode it matches (within
sqrt(var_threshold_gen) standard deviations) or replaces the weakest mode;
weights decay at the learning rate, and a Dirichlet-prior pruning term
(``complexity_reduction``) drops modes that stop being seen, so each pixel
uses only as many modes as it needs. The heaviest modes whose weights add
up to ``background_ratio`` describe the background; a pixel within
sqrt(var_threshold) standard deviations of one of them is background.

Every step is vectorised over the pixels in numpy (float32). Pixel values
are on the 0..255 scale (integer frames are scaled by their type's range,
float frames are taken as 0..1), so the defaults are OpenCV's.
"""

from __future__ import annotations

import numpy as np

from gmmkit_image.features import as_float

FOREGROUND, SHADOW, BACKGROUND = 255, 127, 0


class BackgroundModel:
    """Per-pixel online Gaussian mixtures (Zivkovic's MOG2) for foreground masks.

    Parameters
    ----------
    n_components : int, default=5
        Most Gaussians per pixel (3 to 5 is usual).
    learning_rate : float or None, default=None
        Weight of each new frame in [0, 1]; None uses 1 / min(t, history)
        for frame t (fast start, then a steady 1 / history).
    history : int, default=500
        Frames the automatic learning rate averages over.
    var_threshold : float, default=16.0
        Squared Mahalanobis distance under which a pixel matches a
        background mode (16: 4 standard deviations).
    var_threshold_gen : float, default=9.0
        Squared distance under which a pixel updates an existing mode
        instead of starting a new one.
    background_ratio : float, default=0.9
        Total weight of the modes that count as background.
    var_init, var_min, var_max : float, default=15, 4, 75
        Starting variance of a new mode and its bounds (0..255 scale,
        summed over channels).
    complexity_reduction : float, default=0.05
        Pruning strength; 0 is the plain Stauffer-Grimson update.
    shadows : bool, default=False
        Mark shadows (darker background of the same colour) as 127.
    shadow_threshold : float, default=0.5
        Darkest a shadow can make a pixel (ratio to the background).

    Attributes
    ----------
    n_frames_ : int
        Frames seen.
    frame_shape_ : tuple
        Shape of the frames.
    """

    def __init__(self, n_components=5, *, learning_rate=None, history=500, var_threshold=16.0,
                 var_threshold_gen=9.0, background_ratio=0.9, var_init=15.0, var_min=4.0,
                 var_max=75.0, complexity_reduction=0.05, shadows=False, shadow_threshold=0.5):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.history = history
        self.var_threshold = var_threshold
        self.var_threshold_gen = var_threshold_gen
        self.background_ratio = background_ratio
        self.var_init = var_init
        self.var_min = var_min
        self.var_max = var_max
        self.complexity_reduction = complexity_reduction
        self.shadows = shadows
        self.shadow_threshold = shadow_threshold
        self.n_frames_ = 0

    # ----------------------------------------------------------------- state

    def _start(self, frame):
        if not (isinstance(self.n_components, (int, np.integer)) and self.n_components >= 1):
            raise ValueError(f"n_components={self.n_components!r} must be a positive integer.")
        n_pixels, n_channels = frame.shape
        self._weights = np.zeros((n_pixels, self.n_components), dtype=np.float32)
        self._means = np.zeros((n_pixels, self.n_components, n_channels), dtype=np.float32)
        self._variances = np.full((n_pixels, self.n_components), self.var_init, dtype=np.float32)
        self.n_frames_ = 0

    def _pixels(self, frame):
        """(n_pixels, C) float32 on the 0..255 scale, checked against earlier frames."""
        frame = np.asarray(frame)
        if frame.dtype.kind not in "biuf" or frame.ndim not in (2, 3) or frame.size == 0:
            raise ValueError(
                f"frame of shape {frame.shape} and dtype {frame.dtype} is not an image; give "
                "(H, W) grey or (H, W, C) colour frames of numbers."
            )
        if self.n_frames_ and frame.shape != self.frame_shape_:
            raise ValueError(
                f"frame {self.n_frames_ + 1} has shape {frame.shape} but the earlier frames "
                f"have shape {self.frame_shape_}; every frame of a video must have one size."
            )
        pixels = as_float(frame).astype(np.float32, copy=False) * np.float32(255.0)
        if pixels.ndim == 3 and pixels.shape[-1] == 4:
            pixels = pixels[..., :3]  # drop alpha
        if np.isnan(pixels).any():
            raise ValueError("frame has NaN pixels; background subtraction needs every pixel.")
        self.frame_shape_ = frame.shape
        return pixels.reshape(frame.shape[0] * frame.shape[1], -1)

    def _rate(self, learning_rate):
        rate = self.learning_rate if learning_rate is None else learning_rate
        if rate is None or rate < 0:
            return 1.0 / min(self.n_frames_, self.history)
        if not 0 <= rate <= 1:
            raise ValueError(f"learning_rate={rate!r} must be in [0, 1] (or None: automatic).")
        return float(rate)

    # ---------------------------------------------------------------- update

    def apply(self, frame, *, learning_rate=None):
        """Update the model with ``frame`` and return its foreground mask.

        Parameters
        ----------
        frame : ndarray of shape (H, W) or (H, W, C)
            Grey or colour (RGBA: alpha dropped); every frame the same shape.
        learning_rate : float, optional
            Overrides the model's for this frame (0 = do not learn).

        Returns
        -------
        ndarray of uint8, shape (H, W)
            255 foreground, 0 background, and 127 shadow when ``shadows=True``.
        """
        pixels = self._pixels(frame)
        if self.n_frames_ == 0 or self._means.shape[0] != pixels.shape[0]:
            self._start(pixels)
        self.n_frames_ += 1
        rate = np.float32(self._rate(learning_rate))
        weights, means, variances = self._weights, self._means, self._variances
        active = weights > 0
        diff = pixels[:, None, :] - means
        dist2 = np.einsum("pmc,pmc->pm", diff, diff)
        fits = active & (dist2 < self.var_threshold_gen * variances)
        matched = fits.any(axis=1)
        first = fits.argmax(axis=1)
        before = _weight_before(weights)
        upto = np.arange(weights.shape[1]) <= np.where(matched, first, weights.shape[1])[:, None]
        background = (
            active & upto & (before < self.background_ratio)
            & (dist2 < self.var_threshold * variances)
        ).any(axis=1)
        mask = np.where(background, BACKGROUND, FOREGROUND).astype(np.uint8)
        if self.shadows:
            self._mark_shadows(mask, pixels, before)
        if rate > 0:
            self._learn(pixels, diff, dist2, matched, first, rate)
        return mask.reshape(self.frame_shape_[:2])

    def _learn(self, pixels, diff, dist2, matched, first, rate):
        weights, means, variances = self._weights, self._means, self._variances
        weights *= 1 - rate
        weights -= rate * self.complexity_reduction
        hit = (np.arange(weights.shape[1]) == first[:, None]) & matched[:, None]
        weights += rate * hit
        np.maximum(weights, 0, out=weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(hit, rate / weights, np.float32(0))
        means += step[..., None] * diff
        variances += step * (dist2 - variances)
        np.clip(variances, self.var_min, self.var_max, out=variances)
        new = np.flatnonzero(~matched)  # the weakest mode (the last) makes way
        weights[new, -1] = rate
        means[new, -1] = pixels[new]
        variances[new, -1] = self.var_init
        weights /= weights.sum(axis=1, keepdims=True)
        self._sort_modes()

    def _sort_modes(self):
        """Keep every pixel's modes in decreasing weight (only rows out of order are sorted)."""
        weights = self._weights
        rows = np.flatnonzero((weights[:, 1:] > weights[:, :-1]).any(axis=1))
        if rows.size == 0:
            return
        order = np.argsort(-weights[rows], axis=1, kind="stable")
        weights[rows] = np.take_along_axis(weights[rows], order, axis=1)
        self._variances[rows] = np.take_along_axis(self._variances[rows], order, axis=1)
        self._means[rows] = np.take_along_axis(self._means[rows], order[..., None], axis=1)

    def _mark_shadows(self, mask, pixels, before):
        """Foreground pixels that are a darker copy of a background mode become SHADOW."""
        rows = np.flatnonzero(mask == FOREGROUND)
        if rows.size == 0:
            return
        x = pixels[rows][:, None, :]
        means = self._means[rows]
        numerator = np.einsum("pmc,pmc->pm", means, x)
        denominator = np.einsum("pmc,pmc->pm", means, means)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = numerator / denominator
        colour = ratio[..., None] * means - x
        distortion = np.einsum("pmc,pmc->pm", colour, colour)
        shadow = (
            (self._weights[rows] > 0) & (before[rows] < self.background_ratio)
            & (denominator > 0) & (ratio <= 1) & (ratio >= self.shadow_threshold)
            & (distortion < self.var_threshold * self._variances[rows] * ratio * ratio)
        ).any(axis=1)
        mask[rows[shadow]] = SHADOW

    # ---------------------------------------------------------------- output

    def background_image(self):
        """The current background: weighted mean of each pixel's background modes.

        Returns
        -------
        ndarray of uint8, shape (H, W) or (H, W, C) like the frames (alpha dropped)
        """
        if not self.n_frames_:
            raise ValueError("the model has seen no frame yet; call apply(frame) first.")
        before = _weight_before(self._weights)
        weights = np.where(before < self.background_ratio, self._weights, 0.0)
        mean = np.einsum("pm,pmc->pc", weights, self._means) / weights.sum(axis=1)[:, None]
        height, width = self.frame_shape_[:2]
        image = np.clip(np.round(mean), 0, 255).astype(np.uint8)
        return image.reshape(height, width) if len(self.frame_shape_) == 2 else \
            image.reshape(height, width, -1)


def _weight_before(weights):
    """Total weight of the modes ahead of each mode: (n_pixels, n_modes)."""
    before = np.zeros_like(weights)
    for k in range(1, weights.shape[1]):
        before[:, k] = before[:, k - 1] + weights[:, k - 1]
    return before
