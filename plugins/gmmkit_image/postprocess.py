"""Post-processing of label images, and the post-processors this plugin registers.

The plain functions work on label arrays (0 = outside the mask, classes
1..K). The registered post-processors have the ``gmmkit.run_pipeline``
signature ``f(model, features, responsibilities, *, data, **options)``;
each first turns the responsibilities into a label image.
"""

from __future__ import annotations

import copy

import numpy as np

from gmmkit_image import features as feature_module


def remove_small_regions(labels, min_size, *, connectivity=1):
    """Merge connected regions smaller than ``min_size`` pixels into their surroundings.

    Each pixel of a small region takes the class of the nearest pixel of a
    region that is kept. Label 0 (outside the mask) is never changed and
    never spreads.

    Parameters
    ----------
    labels : ndarray of int, 2-D or 3-D
    min_size : int
        Regions with fewer pixels are removed.
    connectivity : int, default=1
        1: face neighbours (4 in 2-D, 6 in 3-D); ``labels.ndim``: also diagonals.

    Returns
    -------
    ndarray of the same shape and dtype
    """
    from scipy.ndimage import distance_transform_edt
    from skimage.measure import label as connected_regions

    labels = np.asarray(labels)
    regions = connected_regions(labels, background=0, connectivity=connectivity)
    sizes = np.bincount(regions.ravel())
    small = (sizes < min_size)[regions] & (labels != 0)
    not_donor = small | (labels == 0)
    if not small.any() or not_donor.all():
        return labels.copy()
    nearest = distance_transform_edt(not_donor, return_distances=False, return_indices=True)
    cleaned = labels.copy()
    cleaned[small] = labels[tuple(index[small] for index in nearest)]
    return cleaned


def relabel(labels, *, by="area", image=None, channel_axis=None):
    """Renumber the classes 1..K' (empty classes dropped), 0 stays 0.

    Parameters
    ----------
    labels : ndarray of int
    by : {"area", "intensity"}, default="area"
        "area": the largest class becomes 1; "intensity": the darkest
        (needs ``image``).
    image : ndarray, optional
    channel_axis : int or None

    Returns
    -------
    ndarray of the same shape
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels.ravel())
    present = np.flatnonzero(counts[1:]) + 1
    if by == "area":
        keys = -counts[present]
    elif by == "intensity":
        if image is None:
            raise ValueError("relabel(by='intensity') needs the image; pass image=...")
        grey = feature_module.grey_levels(image, channel_axis=channel_axis).ravel()
        sums = np.bincount(labels.ravel(), weights=np.nan_to_num(grey), minlength=len(counts))
        keys = sums[present] / counts[present]
    else:
        raise ValueError(f"by={by!r} is not one of 'area', 'intensity'.")
    mapping = np.zeros(len(counts), dtype=labels.dtype)
    mapping[present[np.argsort(keys, kind="stable")]] = np.arange(1, len(present) + 1)
    return mapping[labels]


def class_statistics(labels, image, *, channel_axis=None, n_classes=None):
    """Per-class area and mean colour.

    Parameters
    ----------
    labels : ndarray of int, the image's spatial shape
    image : ndarray
    channel_axis : int or None
    n_classes : int, optional
        Report classes 1..n_classes even when some are empty.

    Returns
    -------
    list of dict, one per class 1..K
        ``class``, ``pixels``, ``fraction`` (of the labelled pixels),
        ``mean_grey`` and ``mean`` (list, one value per channel).
    """
    labels = np.asarray(labels).ravel()
    pixels = feature_module.channels_last(image, channel_axis)
    pixels = pixels.reshape(-1, pixels.shape[-1])
    if pixels.shape[0] != labels.size:
        raise ValueError(
            f"labels have {labels.size} pixels but the image has {pixels.shape[0]}; "
            "give the image the labels were made from."
        )
    grey = feature_module.grey_levels(image, channel_axis=channel_axis).ravel()
    n_classes = int(labels.max()) if n_classes is None else n_classes
    size = max(n_classes, int(labels.max())) + 1
    counts = np.bincount(labels, minlength=size)
    sums = np.stack([np.bincount(labels, weights=np.nan_to_num(column), minlength=size)
                     for column in pixels.T], axis=1)
    grey_sums = np.bincount(labels, weights=np.nan_to_num(grey), minlength=size)
    labelled = max(int(counts[1:].sum()), 1)
    rows = []
    for k in range(1, size):
        n = int(counts[k])
        rows.append({
            "class": k,
            "pixels": n,
            "fraction": n / labelled,
            "mean_grey": float(grey_sums[k] / n) if n else float("nan"),
            "mean": [float(s / n) if n else float("nan") for s in sums[k]],
        })
    return rows


# ------------------------------------------------- registered post-processors


def _image_shape(data, channel_axis):
    shape = list(np.shape(data))
    if channel_axis is not None:
        del shape[channel_axis]
    return tuple(shape)


def _class_order(responsibilities, data, channel_axis):
    """Component indices from the darkest class to the brightest."""
    grey = feature_module.grey_levels(data, channel_axis=channel_axis).ravel()
    responsibilities = np.asarray(responsibilities)
    mean_grey = responsibilities.T @ grey / (responsibilities.sum(axis=0) + 1e-300)
    return np.argsort(mean_grey, kind="stable")


def label_image(model, features, responsibilities, *, data, channel_axis=None):
    """Classes 1..K in the image's shape, ordered by mean grey level (darkest = 1).

    Returns
    -------
    ndarray of int, the image's shape without its channel axis
    """
    order = _class_order(responsibilities, data, channel_axis)
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(1, len(order) + 1)
    labels = rank[np.asarray(responsibilities).argmax(axis=1)]
    return labels.reshape(_image_shape(data, channel_axis))


def smoothed_labels(model, features, responsibilities, *, data, channel_axis=None, beta=1.0,
                    method="mean-field", max_iter=10):
    """Labels (1..K, darkest = 1) after HMRF-EM smoothing with Potts weight ``beta``.

    The model is copied, so the pipeline's model is left as fitted.
    """
    from gmmkit_image.hmrf import hmrf_em
    from gmmkit_image.mrf import Lattice

    shape = _image_shape(data, channel_axis)
    features = np.asarray(features, dtype=np.float64)
    model = copy.deepcopy(model)
    order = _class_order(responsibilities, data, channel_axis)
    lattice = Lattice.from_mask(np.ones(shape, dtype=bool))
    fitted = hmrf_em(model, features, lattice, beta=beta, method=method, max_iter=max_iter)
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(1, len(order) + 1)
    return rank[fitted.posteriors.argmax(axis=1)].reshape(shape)


def without_small_regions(model, features, responsibilities, *, data, channel_axis=None,
                          min_size=64):
    """Labels (1..K) with connected regions under ``min_size`` pixels merged away."""
    labels = label_image(model, features, responsibilities, data=data,
                         channel_axis=channel_axis)
    return remove_small_regions(labels, min_size)


def relabelled(model, features, responsibilities, *, data, channel_axis=None, by="area"):
    """Labels renumbered by area (largest = 1) or intensity (darkest = 1)."""
    labels = label_image(model, features, responsibilities, data=data,
                         channel_axis=channel_axis)
    return relabel(labels, by=by, image=data, channel_axis=channel_axis)


def statistics_table(model, features, responsibilities, *, data, channel_axis=None):
    """Per-class pixels, fraction and mean colour: a list of dicts."""
    labels = label_image(model, features, responsibilities, data=data,
                         channel_axis=channel_axis)
    return class_statistics(labels, data, channel_axis=channel_axis,
                            n_classes=np.shape(responsibilities)[1])


#: the post-processors this plugin registers, by name
POSTPROCESSORS = {
    "label_image": label_image,
    "hmrf": smoothed_labels,
    "remove_small_regions": without_small_regions,
    "relabel": relabelled,
    "class_statistics": statistics_table,
}
