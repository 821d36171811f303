"""``segment``: Gaussian-mixture segmentation of images and volumes.

The mixture is fitted on a seeded random subsample of the pixels (at most
``max_pixels``), then every pixel is classified in chunks, so the cost of
the fit does not grow with the image. Labels follow scikit-image's
``label2rgb(bg_label=0)``: 0 is reserved for pixels outside the mask (and
NaN pixels), the classes are 1..K from the darkest to the brightest.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from gmmkit import DegenerateComponentWarning
from gmmkit_image import features as feature_module
from gmmkit_image.mrf import hmrf_em

#: default largest number of pixels the mixture is fitted on
MAX_FIT_PIXELS = 100_000
#: pixels classified per chunk
CHUNK_PIXELS = 16_384


class EmptyClassWarning(DegenerateComponentWarning):
    """A class of the segmentation labels no pixel: its mean colour is undefined (NaN).

    Strong smoothing (a large ``smoothing`` beta, especially with ICM) or
    merging small regions can absorb a whole class into its neighbours.
    Filter it with ``warnings.filterwarnings("ignore", category=EmptyClassWarning)``.
    """


def warn_empty_classes(labels, n_classes, after, fix):
    """Warn (:class:`EmptyClassWarning`) naming the classes 1..n_classes no pixel has.

    Parameters
    ----------
    labels : ndarray of int, the image's spatial shape
        0 outside the mask, classes 1..n_classes.
    n_classes : int
    after : str
        What emptied them, for the message (e.g. ``"smoothing (beta=1000, icm)"``).
    fix : str
        What to do instead, for the message.

    Returns
    -------
    list of int
        The empty classes.
    """
    counts = np.bincount(np.ravel(labels), minlength=n_classes + 1)[1:n_classes + 1]
    empty = [int(k) + 1 for k in np.flatnonzero(counts == 0)]
    if empty:
        listed = ", ".join(map(str, empty))
        one = len(empty) == 1
        warnings.warn(
            f"{'class' if one else 'classes'} {listed} of {n_classes} "
            f"{'labels' if one else 'label'} no pixel after {after}, so "
            f"{'its mean colour is' if one else 'their mean colours are'} undefined (NaN); "
            f"{fix}.",
            EmptyClassWarning, stacklevel=3,
        )
    return empty


@dataclass
class Segmentation:
    """What :func:`segment` found.

    Attributes
    ----------
    labels : ndarray of int32, the image's spatial shape
        0 outside the mask and at NaN pixels; classes 1..K ordered by mean
        grey level (1 the darkest).
    probabilities : ndarray of float32, shape (*spatial, K), or None
        ``probabilities[..., k - 1]`` is the posterior map of class k (0
        outside the mask), like FSL FAST's partial-volume maps; None when
        ``segment(..., probabilities=False)``.
    model : GaussianMixture
        The fitted mixture; component ``k - 1`` is class ``k``. With
        smoothing, its parameters are the ones HMRF-EM ended with.
    image : ndarray
        The input image (for :meth:`overlay` and :meth:`statistics`).
    channel_axis : int or None
    n_fit_pixels : int
        Pixels the mixture was fitted on (the subsample).
    n_smoothing_iter : int
        HMRF-EM iterations run (0 without smoothing).
    """

    labels: np.ndarray
    probabilities: np.ndarray | None
    model: object
    image: np.ndarray = field(repr=False)
    channel_axis: int | None = None
    n_fit_pixels: int = 0
    n_smoothing_iter: int = 0

    @property
    def n_classes(self):
        """Number of classes K."""
        return len(self.model.weights_)

    def overlay(self, *, alpha=0.35):
        """The classes painted over the image: float RGB of shape (*spatial, 3) in [0, 1].

        Uses ``skimage.color.label2rgb(labels, image, bg_label=0)`` with the
        colours of the label PNGs (:func:`gmmkit_image.write_labels`); pixels
        outside the mask keep the image's own colour.
        """
        from skimage.color import label2rgb

        from gmmkit_image.io import label_colours

        present = np.unique(self.labels)
        present = present[present > 0]
        colours = label_colours(int(present.max(initial=0)))[present - 1]
        return label2rgb(self.labels, image=display_image(self.image, self.channel_axis),
                         colors=list(colours), bg_label=0, alpha=alpha, channel_axis=-1)

    def statistics(self):
        """Per-class area and mean colour: a list of dicts (see ``class_statistics``)."""
        from gmmkit_image.postprocess import class_statistics

        return class_statistics(self.labels, self.image, channel_axis=self.channel_axis,
                                n_classes=self.n_classes)


def display_image(image, channel_axis):
    """The image as RGB (colour) or grey floats in [0, 1] for showing; NaN shown black."""
    pixels = feature_module.channels_last(image, channel_axis)
    if pixels.shape[-1] in (3, 4) and channel_axis is not None:
        shown = pixels[..., :3]
    else:
        shown = feature_module.grey_levels(image, channel_axis=channel_axis)
    low, high = np.nanmin(shown), np.nanmax(shown)
    if low < 0 or high > 1:
        shown = (shown - low) / (high - low if high > low else 1.0)
    return np.nan_to_num(shown, nan=0.0)


def segment(image, n_classes=3, *, features=("intensity",), smoothing=0.0, mask=None,
            channel_axis=None, covariance_type="full", method="mean-field",
            max_pixels=MAX_FIT_PIXELS, probabilities=True, random_state=0, n_init=1,
            max_iter=100, smoothing_iter=10, verbose=False):
    """Segment a 2-D image or 3-D volume into classes with a Gaussian mixture.

    Parameters
    ----------
    image : array-like of shape (H, W), (Z, H, W), or either with a channel axis
        Grey, RGB(A), multi-channel; uint8, uint16, bool or float (floats are
        not rescaled). NaN pixels are left out like pixels outside the mask.
    n_classes : int or "auto", default=3
        "auto" chooses K in 1..10 by BIC on the fitting subsample.
    features : sequence of str or (str, dict), default=("intensity",)
        Feature extractors by name: this plugin's ``intensity``, ``channels``,
        ``rgb``, ``lab``, ``xy``, ``texture``, ``gabor``, or any other
        registered one (called as ``f(image, **options)``).
    smoothing : float, default=0.0
        Potts weight beta of the HMRF-EM spatial prior; 0 is the plain
        mixture. Values around 0.5-2 remove speckle noise.
    mask : array-like of bool, the image's spatial shape, optional
        Pixels to segment; the others get label 0.
    channel_axis : int or None, default=None
        The colour/channel axis; None for grey images and volumes.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    method : {"mean-field", "icm"}, default="mean-field"
        How the smoothing updates the pixels (soft or hard).
    max_pixels : int, default=100000
        Fit on a random subsample of at most this many pixels (seeded by
        ``random_state``); every pixel is then classified in chunks.
    probabilities : bool, default=True
        Keep the per-class posterior maps (memory: 4 bytes x pixels x K).
    random_state : int, Generator or None, default=0
        Seeds the subsample and the mixture's initialisation.
    n_init, max_iter : int
        Passed to ``GaussianMixture``.
    smoothing_iter : int, default=10
        Most HMRF-EM iterations.
    verbose : bool, default=False
        Progress on stderr.

    Returns
    -------
    Segmentation
    """
    from gmmkit import GaussianMixture

    pixels, spatial, valid_index = _checked_pixels(image, mask, channel_axis)
    k_needed = 2 if n_classes == "auto" else _checked_classes(n_classes)
    rng = np.random.default_rng(random_state)
    _check_distinct(pixels, valid_index, k_needed, rng, masked=mask is not None)
    X = _features(_filled(pixels, valid_index), features, channel_axis, spatial)
    if len(valid_index) < len(X):
        X = X[valid_index]
    fit_rows = _subsample(len(valid_index), max_pixels, rng)
    say = _progress(verbose)
    if len(fit_rows) < len(valid_index):
        say(f"segment: {len(valid_index):,} pixels; fitting on a random subsample of "
            f"{len(fit_rows):,} (max_pixels)")
    reg_covar = _relative_regularisation(X[fit_rows])
    model = GaussianMixture(
        n_classes, covariance_type=covariance_type, reg_covar=reg_covar, n_init=n_init,
        max_iter=max_iter, random_state=int(rng.integers(2**31 - 1)),
    ).fit(X[fit_rows])
    fitted_pixels = pixels.reshape(-1, pixels.shape[-1])[valid_index[fit_rows]]
    _order_by_grey(model, X[fit_rows], feature_module.grey_levels(fitted_pixels, channel_axis=-1))
    n_iter, n_pixels = 0, int(np.prod(spatial))
    maps = np.zeros((n_pixels, len(model.weights_)), np.float32) if probabilities else None
    labels = np.zeros(n_pixels, dtype=np.int32)
    if smoothing:
        say(f"segment: HMRF-EM smoothing, beta={smoothing}, {method}")
        posteriors, n_iter = hmrf_em(model, X, spatial, valid_index, beta=smoothing,
                                     fit_rows=fit_rows, method=method,
                                     max_iter=smoothing_iter, reg_covar=reg_covar,
                                     progress=lambda i, changed: say(
                                         f"segment: HMRF-EM iteration {i}: {changed:.2%} of "
                                         "the labels changed"))
        labels[valid_index] = posteriors.argmax(axis=1) + 1
        if probabilities:
            maps[valid_index] = posteriors
    else:
        _classify_in_chunks(model, X, valid_index, labels, maps)
    if probabilities:
        maps = maps.reshape(*spatial, -1)
    if smoothing:
        warn_empty_classes(labels, len(model.weights_), f"smoothing (beta={smoothing:g}, "
                           f"{method})", "use less smoothing or fewer classes")
    else:
        warn_empty_classes(labels, len(model.weights_), "classifying every pixel",
                           "use fewer classes")
    return Segmentation(labels.reshape(spatial), maps, model, np.asarray(image), channel_axis,
                        len(fit_rows), n_iter)


# ------------------------------------------------------------------ checks


def _checked_classes(n_classes):
    if isinstance(n_classes, (int, np.integer)) and not isinstance(n_classes, bool) \
            and n_classes >= 1:
        return int(n_classes)
    raise ValueError(f"n_classes={n_classes!r} is not valid; give a positive integer or 'auto'.")


def _checked_pixels(image, mask, channel_axis):
    """(pixels (n, C) float, spatial shape, flat indices of the pixels to segment)."""
    image = np.asarray(image)
    if image.dtype.kind not in "biuf":
        raise ValueError(
            f"image has dtype {image.dtype}; give numbers (uint8, uint16, float, bool)."
        )
    if image.size == 0:
        raise ValueError(
            f"image is empty (shape {image.shape}); give an image with at least one pixel."
        )
    if channel_axis is None and image.ndim == 3 and image.shape[-1] in (3, 4):
        raise ValueError(
            f"image of shape {image.shape} looks like a colour image; pass channel_axis=-1 "
            "(for a volume of 3 or 4 slices, put the slices first: (Z, H, W))."
        )
    pixels = feature_module.channels_last(image, channel_axis)
    spatial = pixels.shape[:-1]
    if len(spatial) not in (2, 3):
        raise ValueError(
            f"image has {len(spatial)} spatial axes (shape {image.shape}, "
            f"channel_axis={channel_axis}); give a 2-D image or a 3-D volume."
        )
    pixels = pixels.reshape(-1, pixels.shape[-1])
    if np.isinf(pixels).any():
        raise ValueError("image has infinite values; set them to NaN to leave them out.")
    valid = ~np.isnan(pixels).any(axis=1)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != spatial:
            raise ValueError(
                f"mask has shape {mask.shape} but the image's pixels have shape {spatial}; "
                "give one boolean per pixel."
            )
        valid &= mask.astype(bool).ravel()
    valid_index = np.flatnonzero(valid)
    if valid_index.size == 0:
        what = "the mask selects no pixel" if mask is not None else "every pixel is NaN"
        raise ValueError(f"nothing to segment: {what}.")
    return pixels.reshape(*spatial, -1), spatial, valid_index


def _check_distinct(pixels, valid_index, n_classes, rng, *, masked):
    """ValueError when the pixels have fewer distinct values than classes."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    sample = valid_index
    if sample.size > MAX_FIT_PIXELS:
        sample = rng.choice(valid_index, MAX_FIT_PIXELS, replace=False)
    distinct = len(np.unique(flat[sample], axis=0))
    if distinct < n_classes and sample.size < valid_index.size:
        distinct = len(np.unique(flat[valid_index], axis=0))
    if distinct < n_classes:
        where = " inside the mask" if masked else ""
        noun = "value" if distinct == 1 else "values"
        raise ValueError(
            f"image has only {distinct} distinct {noun}{where}; a {n_classes}-class "
            f"segmentation needs at least {n_classes}. Lower n_classes."
        )


# ----------------------------------------------------------------- features


def _filled(pixels, valid_index):
    """The pixels with NaN (and masked-out NaN) replaced by the mean of the valid ones."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    nan_rows = np.isnan(flat).any(axis=1)
    if not nan_rows.any():
        return pixels
    filled = flat.copy()
    filled[nan_rows] = flat[valid_index].mean(axis=0)
    return filled.reshape(pixels.shape)


def _features(pixels, features, channel_axis, spatial):
    """(n_pixels, n_features) float64 from extractor names (or (name, options) pairs)."""
    from gmmkit import get_features

    if isinstance(features, str):
        features = [features]
    image = pixels if channel_axis is not None else pixels[..., 0]
    axis = -1 if channel_axis is not None else None
    blocks = []
    for step in features:
        name, options = (step, {}) if isinstance(step, str) else step
        if name in feature_module.FEATURES:
            block = feature_module.FEATURES[name](image, channel_axis=axis, **options)
        else:
            registered = get_features()
            if name not in registered:
                known = ", ".join(sorted(set(registered) | set(feature_module.FEATURES)))
                raise ValueError(f"no feature called {name!r} (available: {known}).")
            block = registered[name].obj(image, **options)
        block = np.asarray(block, dtype=np.float64)
        block = block.reshape(len(block), -1)
        if block.shape[0] != int(np.prod(spatial)):
            raise ValueError(
                f"feature {name!r} gave {block.shape[0]} rows for an image of "
                f"{int(np.prod(spatial))} pixels; it must give one row per pixel."
            )
        blocks.append(block)
    if not blocks:
        raise ValueError("features is empty; name at least one, e.g. ('intensity',).")
    return np.hstack(blocks)


def _subsample(n_rows, max_pixels, rng):
    """Sorted row indices of a random subsample of at most ``max_pixels`` rows."""
    if not (isinstance(max_pixels, (int, np.integer)) and max_pixels >= 1):
        raise ValueError(f"max_pixels={max_pixels!r} must be a positive integer.")
    if n_rows <= max_pixels:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, max_pixels, replace=False, shuffle=False))


def _relative_regularisation(X):
    """reg_covar scaled to the features: 1e-6 x the smallest non-zero column variance."""
    variances = X.var(axis=0)
    positive = variances[variances > 0]
    return 1e-6 * float(positive.min()) if positive.size else 1e-6


# ------------------------------------------------------------------ classes


def _order_by_grey(model, X, grey):
    """Reorder the model's components in place by the mean grey level of their pixels."""
    responsibilities = model.predict_proba(X)
    mean_grey = (responsibilities.T @ grey) / (responsibilities.sum(axis=0) + 1e-300)
    order = np.argsort(mean_grey, kind="stable")
    model.weights_ = model.weights_[order]
    model.means_ = model.means_[order]
    if model.covariance_type != "tied":
        model.covariances_ = model.covariances_[order]
        model.precisions_ = model.precisions_[order]
        model.precisions_cholesky_ = model.precisions_cholesky_[order]


def _classify_in_chunks(model, X, valid_index, labels, maps):
    """Write labels (1..K) and, if ``maps`` is given, posteriors of every valid pixel."""
    for start in range(0, X.shape[0], CHUNK_PIXELS):
        rows = slice(start, start + CHUNK_PIXELS)
        posteriors = model.predict_proba(X[rows])
        labels[valid_index[rows]] = posteriors.argmax(axis=1) + 1
        if maps is not None:
            maps[valid_index[rows]] = posteriors


def _progress(verbose):
    if not verbose:
        return lambda message: None
    return lambda message: print(message, file=sys.stderr, flush=True)
