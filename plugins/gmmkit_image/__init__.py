"""gmmkit_image: Gaussian mixture segmentation of images (built-in plugin).

Needs the ``image`` extra (scikit-image): ``pip install 'gmmkit[image]'``.
scikit-image is imported inside the functions that use it, so loading the
plugin costs nothing. This package registers the ``intensity`` feature and
a small segmentation demo; the image issue fills in the rest.
"""

from __future__ import annotations

from gmmkit import hookimpl

requires = ("skimage",)
install_hint = "pip install 'gmmkit[image]'"


def intensity(image, *, channel_axis=None):
    """Grey level of every pixel in [0, 1]: shape (n_pixels, 1).

    Parameters
    ----------
    image : ndarray of shape (H, W), (H, W, C) or a volume (Z, H, W)
        Integer images are scaled by their type's range (scikit-image's
        ``img_as_float``); RGB(A) images are turned into luminance when
        ``channel_axis`` is given (alpha dropped).
    channel_axis : int or None, default=None

    Returns
    -------
    ndarray of shape (n_pixels, 1)
    """
    import numpy as np
    from skimage.color import rgb2gray
    from skimage.util import img_as_float

    image = img_as_float(np.asarray(image))
    if channel_axis is not None:
        image = np.moveaxis(image, channel_axis, -1)
        if image.shape[-1] == 4:
            image = image[..., :3]
        image = rgb2gray(image) if image.shape[-1] == 3 else image.mean(axis=-1)
    return image.reshape(-1, 1)


def label_image(model, features, responsibilities, *, data, channel_axis=None):
    """Component labels in the image's shape, ordered by mean intensity (darkest = 0).

    Returns
    -------
    ndarray of int, the image's shape without its channel axis
    """
    import numpy as np

    shape = list(np.shape(data))
    if channel_axis is not None:
        del shape[channel_axis]
    rank = np.argsort(np.argsort(model.means_[:, 0]))
    return rank[np.asarray(responsibilities).argmax(axis=1)].reshape(shape)


@hookimpl
def gmmkit_register_features(register):
    register("intensity", intensity)


@hookimpl
def gmmkit_register_postprocessors(register):
    register("label_image", label_image)


@hookimpl
def gmmkit_register_demos(register):
    from gmmkit_image.demo import coins_demo

    register("image", coins_demo)
