"""Checks of what :func:`gmmkit_image.segment` is given, with messages that name the fix."""

from __future__ import annotations

import numpy as np

from gmmkit_image import features as feature_module

#: largest number of pixels the distinct-value check looks at first
SAMPLE_PIXELS = 100_000
#: feature lists a bias field or partial-volume fractions can work on (one intensity)
INTENSITY_FEATURES = (("intensity",), ("channels",))


def is_positive_int(value):
    """Whether ``value`` is an integer >= 1 (Python or numpy; not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def checked_classes(n_classes):
    """``n_classes`` as an int (or ValueError)."""
    if is_positive_int(n_classes):
        return int(n_classes)
    raise ValueError(f"n_classes={n_classes!r} is not valid; give a positive integer or 'auto'.")


def checked_pixels(image, mask, channel_axis):
    """(pixels (*spatial, C) float, spatial shape, flat indices of the pixels to segment)."""
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


def check_distinct(pixels, valid_index, n_classes, rng, *, masked):
    """ValueError when the pixels have fewer distinct values than classes."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    sample = valid_index
    if sample.size > SAMPLE_PIXELS:
        sample = rng.choice(valid_index, SAMPLE_PIXELS, replace=False)
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


def feature_names(features):
    """The names of a ``features`` argument, as a tuple."""
    if isinstance(features, str):
        features = [features]
    return tuple(step if isinstance(step, str) else step[0] for step in features)


def check_intensity_model(features, X, *, bias_field, partial_volume, masked=True):
    """ValueError unless the features are one intensity (and, with a field, none < 0)."""
    wanted = [name for name, on in (("bias_field", bias_field),
                                    ("partial_volume", partial_volume)) if on]
    if not wanted:
        return
    names = feature_names(features)
    if names not in INTENSITY_FEATURES or X.shape[1] != 1:
        raise ValueError(
            f"{' and '.join(f'{w}=True' for w in wanted)} model{'s' if len(wanted) == 1 else ''}"
            f" one intensity per pixel, but features={names!r} give {X.shape[1]} "
            "feature(s); use features=('intensity',) (colour images are turned into grey)."
        )
    if bias_field:
        negative = int(np.sum(X[:, 0] < 0))
        if negative:
            where = " inside the mask" if masked else ""
            raise ValueError(
                f"image has {negative} negative value{'s' if negative > 1 else ''}{where}; "
                "bias_field=True multiplies intensities by a positive field (log domain) and "
                "needs values >= 0. Shift the image (image - image.min()) or leave those "
                "pixels out with mask=."
            )
