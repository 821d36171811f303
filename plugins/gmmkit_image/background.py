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

from gmmkit_image.checks import is_positive_int
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

    def _start(self, pixels):
        if not is_positive_int(self.n_components):
            raise ValueError(f"n_components={self.n_components!r} must be a positive integer.")
        n_channels, n_pixels = pixels.shape
        # mode-major layout: every per-mode step works on contiguous rows of pixels
        self._weights = np.zeros((self.n_components, n_pixels), dtype=np.float32)
        self._means = np.zeros((self.n_components, n_channels, n_pixels), dtype=np.float32)
        self._variances = np.full((self.n_components, n_pixels), self.var_init, dtype=np.float32)
        self.n_frames_ = 0

    def _pixels(self, frame):
        """(C, n_pixels) float32 on the 0..255 scale, checked against earlier frames."""
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
        self.frame_shape_ = frame.shape
        if frame.ndim == 3 and frame.shape[-1] == 4:
            frame = frame[..., :3]  # drop alpha
        if frame.dtype == np.uint8:
            pixels = frame.astype(np.float32)
        else:
            pixels = as_float(frame).astype(np.float32) * np.float32(255.0)
            if np.isnan(pixels).any():
                raise ValueError(
                    "frame has NaN pixels; background subtraction needs every pixel."
                )
        pixels = pixels.reshape(frame.shape[0] * frame.shape[1], -1)
        return np.ascontiguousarray(pixels.T)

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
        if self.n_frames_ == 0 or self._weights.shape[1] != pixels.shape[1]:
            self._start(pixels)
        self.n_frames_ += 1
        rate = np.float32(self._rate(learning_rate))
        weights, variances = self._weights, self._variances
        diff = pixels - self._means
        dist2 = np.einsum("mcp,mcp->mp", diff, diff)
        fits = (weights > 0) & (dist2 < self.var_threshold_gen * variances)
        close = (weights > 0) & (dist2 < self.var_threshold * variances)
        before = _weight_before(weights)
        first = np.full(pixels.shape[1], len(weights))
        background = np.zeros(pixels.shape[1], dtype=bool)
        for mode in range(len(weights)):  # in order of weight, as OpenCV's loop
            unmatched = first == len(weights)
            background |= unmatched & close[mode] & (before[mode] < self.background_ratio)
            first[unmatched & fits[mode]] = mode
        mask = np.where(background, BACKGROUND, FOREGROUND).astype(np.uint8)
        if self.shadows:
            self._mark_shadows(mask, pixels, before)
        if rate > 0:
            self._learn(pixels, diff, dist2, first, rate)
        return mask.reshape(self.frame_shape_[:2])

    def _learn(self, pixels, diff, dist2, first, rate):
        weights, means, variances = self._weights, self._means, self._variances
        n_modes = len(weights)
        weights *= 1 - rate
        weights -= rate * self.complexity_reduction
        hit = np.arange(n_modes)[:, None] == first
        weights += rate * hit
        weights[weights < rate * self.complexity_reduction] = 0  # pruned (OpenCV's rule)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(hit, rate / weights, np.float32(0))
        means += step[:, None, :] * diff
        variances += step * (dist2 - variances)
        np.clip(variances, self.var_min, self.var_max, out=variances)
        new = first == n_modes  # no mode matched: the weakest (the last) makes way
        weights[-1] = np.where(new, rate, weights[-1])
        means[-1] = np.where(new, pixels, means[-1])
        variances[-1] = np.where(new, np.float32(self.var_init), variances[-1])
        weights /= weights.sum(axis=0)
        self._sort_modes()

    def _sort_modes(self):
        """Keep every pixel's modes in decreasing weight (only pixels out of order are sorted)."""
        weights = self._weights
        columns = np.flatnonzero((weights[1:] > weights[:-1]).any(axis=0))
        if columns.size == 0:
            return
        order = np.argsort(-weights[:, columns], axis=0, kind="stable")
        weights[:, columns] = np.take_along_axis(weights[:, columns], order, axis=0)
        self._variances[:, columns] = np.take_along_axis(self._variances[:, columns], order,
                                                         axis=0)
        self._means[:, :, columns] = np.take_along_axis(self._means[:, :, columns],
                                                        order[:, None, :], axis=0)

    def _mark_shadows(self, mask, pixels, before):
        """Foreground pixels that are a darker copy of a background mode become SHADOW."""
        columns = np.flatnonzero(mask == FOREGROUND)
        if columns.size == 0:
            return
        x = pixels[:, columns]
        means = self._means[:, :, columns]
        numerator = np.einsum("mcp,cp->mp", means, x)
        denominator = np.einsum("mcp,mcp->mp", means, means)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = numerator / denominator
        colour = ratio[:, None, :] * means - x
        distortion = np.einsum("mcp,mcp->mp", colour, colour)
        shadow = (
            (self._weights[:, columns] > 0) & (before[:, columns] < self.background_ratio)
            & (denominator > 0) & (ratio <= 1) & (ratio >= self.shadow_threshold)
            & (distortion < self.var_threshold * self._variances[:, columns] * ratio * ratio)
        ).any(axis=0)
        mask[columns[shadow]] = SHADOW

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
        mean = np.einsum("mp,mcp->pc", weights, self._means) / weights.sum(axis=0)[:, None]
        image = np.clip(np.round(mean), 0, 255).astype(np.uint8)
        height, width = self.frame_shape_[:2]
        if len(self.frame_shape_) == 2:
            return image.reshape(height, width)
        return image.reshape(height, width, self._means.shape[1])


def _weight_before(weights):
    """Total weight of the modes ahead of each mode: (n_modes, n_pixels)."""
    before = np.zeros_like(weights)
    for mode in range(1, len(weights)):
        before[mode] = before[mode - 1] + weights[mode - 1]
    return before
