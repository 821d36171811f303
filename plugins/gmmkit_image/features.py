"""Per-pixel feature extractors for image segmentation.

Every extractor is ``function(image, *, channel_axis=None, **options)`` and
returns one row per pixel, in C order over the image's spatial axes (the
channel axis removed): an array of shape (n_pixels, n_features). They are
registered under the names in :data:`FEATURES` through the
``gmmkit_register_features`` hook, so ``gmmkit.run_pipeline`` can use them
too.

Integer images are scaled by their type's range (scikit-image's
``img_as_float``: uint8 / 255, uint16 / 65535); float images are used as
they are (no rescaling, so CT numbers or microscopy counts keep their
units). An RGBA image's alpha channel is dropped by the colour features.
"""

from __future__ import annotations

import numpy as np

#: default Gaussian scales (pixels) of the ``texture`` feature
TEXTURE_SCALES = (1.0, 2.0, 4.0)
#: default spatial frequencies (cycles per pixel) of the ``gabor`` feature
GABOR_FREQUENCIES = (0.1, 0.25)
GABOR_ORIENTATIONS = 4


def as_float(image):
    """``image`` as floats: integers scaled to [0, 1] (or [-1, 1]), floats unchanged."""
    image = np.asarray(image)
    if image.dtype.kind == "f":
        return image
    from skimage.util import img_as_float

    return img_as_float(image)


def channels_last(image, channel_axis):
    """(spatial..., C) float array; a grey image gets a channel axis of length 1."""
    image = as_float(image)
    if channel_axis is None:
        return image[..., None]
    return np.moveaxis(image, channel_axis, -1)


def _colour(image, channel_axis, feature):
    """(spatial..., 3) RGB with the alpha channel dropped, or a ValueError."""
    if channel_axis is None:
        channel_axis = -1
    image = np.asarray(image)
    if image.ndim < 3 or image.shape[channel_axis] not in (3, 4):
        raise ValueError(
            f"feature {feature!r} needs a colour image with 3 (RGB) or 4 (RGBA) channels "
            f"on channel_axis={channel_axis}; got an image of shape {image.shape}. Use "
            "features=('intensity',) for a grey image or ('channels',) for other channels."
        )
    return channels_last(image, channel_axis)[..., :3]


def grey_levels(image, *, channel_axis=None):
    """Grey level of every pixel, the image's spatial shape (no channel axis).

    RGB(A) gives luminance (``skimage.color.rgb2gray``), other channel
    counts their mean.
    """
    pixels = channels_last(image, channel_axis)
    if pixels.shape[-1] in (3, 4) and channel_axis is not None:
        from skimage.color import rgb2gray

        return rgb2gray(pixels[..., :3])
    return pixels.mean(axis=-1)


def intensity(image, *, channel_axis=None):
    """Grey level of every pixel: shape (n_pixels, 1).

    Parameters
    ----------
    image : ndarray of shape (H, W), (Z, H, W), or with a channel axis
        Integer images are scaled by their type's range; RGB(A) images are
        turned into luminance when ``channel_axis`` is given (alpha dropped),
        other channel counts into the mean of their channels.
    channel_axis : int or None, default=None

    Returns
    -------
    ndarray of shape (n_pixels, 1)
    """
    return grey_levels(image, channel_axis=channel_axis).reshape(-1, 1)


def channels(image, *, channel_axis=None):
    """Every channel's value (multi-channel microscopy, RGBA kept whole): (n_pixels, C)."""
    pixels = channels_last(image, channel_axis)
    return pixels.reshape(-1, pixels.shape[-1])


def rgb(image, *, channel_axis=-1):
    """Red, green and blue in [0, 1] (alpha dropped): shape (n_pixels, 3)."""
    return _colour(image, channel_axis, "rgb").reshape(-1, 3)


def lab(image, *, channel_axis=-1):
    """CIELAB colour divided by 100 (L in [0, 1], a and b about [-1, 1]): (n_pixels, 3).

    Distances in CIELAB follow perceived colour differences better than in
    RGB, so colour classes separate more evenly.
    """
    from skimage.color import rgb2lab

    colour = np.clip(_colour(image, channel_axis, "lab"), 0.0, 1.0)
    return rgb2lab(colour).reshape(-1, 3) / 100.0


def xy(image, *, channel_axis=None, weight=1.0):
    """Pixel position scaled to [0, weight] along every spatial axis: (n_pixels, n_axes).

    Columns are the row and column index (2-D) or slice, row and column
    (3-D volume). With position features the classes become spatially
    compact blobs; ``weight`` sets how much position counts against colour
    in the k-means start and for ``covariance_type`` "tied" or "spherical".
    """
    shape = channels_last(image, channel_axis).shape[:-1]
    grids = np.meshgrid(
        *(np.linspace(0.0, weight, n) if n > 1 else np.zeros(1) for n in shape), indexing="ij"
    )
    return np.stack([g.ravel() for g in grids], axis=1)


def texture(image, *, channel_axis=None, scales=TEXTURE_SCALES):
    """Local mean and local standard deviation of the grey level at a few scales.

    Parameters
    ----------
    image : ndarray
    channel_axis : int or None, default=None
    scales : sequence of float, default=(1, 2, 4)
        Gaussian window sigmas in pixels (every spatial axis).

    Returns
    -------
    ndarray of shape (n_pixels, 2 * len(scales))
        Columns: mean at each scale, then standard deviation at each scale.
    """
    from scipy.ndimage import gaussian_filter

    grey = grey_levels(image, channel_axis=channel_axis)
    means, stds = [], []
    for sigma in scales:
        mean = gaussian_filter(grey, sigma)
        square = gaussian_filter(grey * grey, sigma)
        means.append(mean.ravel())
        stds.append(np.sqrt(np.maximum(square - mean * mean, 0.0)).ravel())
    return np.stack(means + stds, axis=1)


def gabor(image, *, channel_axis=None, frequencies=GABOR_FREQUENCIES,
          n_orientations=GABOR_ORIENTATIONS):
    """Gabor energy (2-D images): one column per frequency, averaged over orientations.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C) with ``channel_axis``
    frequencies : sequence of float, default=(0.1, 0.25)
        Cycles per pixel.
    n_orientations : int, default=4

    Returns
    -------
    ndarray of shape (n_pixels, len(frequencies))
        log(1 + energy), smoothed over a window of the filter's size.
    """
    from scipy.ndimage import convolve, gaussian_filter
    from skimage.filters import gabor_kernel

    grey = grey_levels(image, channel_axis=channel_axis)
    if grey.ndim != 2:
        raise ValueError(
            f"feature 'gabor' works on 2-D images; got spatial shape {grey.shape}. "
            "Use 'texture' for volumes."
        )
    columns = []
    for frequency in frequencies:
        energy = np.zeros_like(grey)
        for theta in np.arange(n_orientations) * np.pi / n_orientations:
            kernel = gabor_kernel(frequency, theta=theta)
            real = convolve(grey, np.real(kernel), mode="reflect")
            imag = convolve(grey, np.imag(kernel), mode="reflect")
            energy += real * real + imag * imag
        smoothed = gaussian_filter(energy / n_orientations, 0.5 / frequency)
        columns.append(np.log1p(smoothed).ravel())
    return np.stack(columns, axis=1)


#: the extractors this plugin registers, by name
FEATURES = {
    "intensity": intensity,
    "channels": channels,
    "rgb": rgb,
    "lab": lab,
    "xy": xy,
    "texture": texture,
    "gabor": gabor,
}


def filled(pixels, valid_index):
    """The pixels with NaN replaced by the mean of the valid ones (for the extractors).

    Parameters
    ----------
    pixels : ndarray of shape (*spatial, C)
    valid_index : ndarray of int
        Flat indices of the pixels being segmented.

    Returns
    -------
    ndarray of the same shape (``pixels`` itself when nothing is NaN)
    """
    flat = pixels.reshape(-1, pixels.shape[-1])
    nan_rows = np.isnan(flat).any(axis=1)
    if not nan_rows.any():
        return pixels
    filled = flat.copy()
    filled[nan_rows] = flat[valid_index].mean(axis=0)
    return filled.reshape(pixels.shape)


def pixel_features(pixels, features, channel_axis, spatial):
    """The feature rows of every pixel from extractor names (or (name, options) pairs).

    Parameters
    ----------
    pixels : ndarray of shape (*spatial, C)
        The image with its channels last (:func:`channels_last`).
    features : str or sequence of str or (str, dict)
        This module's extractors, or any registered through the hook.
    channel_axis : int or None
        The image's own channel axis (None: grey or volume).
    spatial : tuple of int

    Returns
    -------
    ndarray of float64, shape (n_pixels, n_features)
    """
    from gmmkit import get_features

    if isinstance(features, str):
        features = [features]
    image = pixels if channel_axis is not None else pixels[..., 0]
    axis = -1 if channel_axis is not None else None
    blocks = []
    for step in features:
        name, options = (step, {}) if isinstance(step, str) else step
        if name in FEATURES:
            block = FEATURES[name](image, channel_axis=axis, **options)
        else:
            registered = get_features()
            if name not in registered:
                known = ", ".join(sorted(set(registered) | set(FEATURES)))
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


#: features that need a colour channel axis
COLOUR_FEATURES = ("rgb", "lab")
