"""The result of :func:`gmmkit_image.segment`: :class:`Segmentation`, and the
empty-class warning shared by segment and the command line."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from gmmkit_image import features as feature_module
from gmmkit_image import report
from gmmkit_image.hmrf import EmptyClassWarning

__all__ = ["EmptyClassWarning", "Segmentation", "display_image", "warn_empty_classes"]


def warn_empty_classes(labels: ArrayLike, n_classes: int, after: str, fix: str, *,
                       already: Sequence[int] = ()) -> list[int]:
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
    already : sequence of int
        Classes (1-based) a warning has named already; not named again.

    Returns
    -------
    list of int
        The empty classes.
    """
    counts = np.bincount(np.ravel(labels), minlength=n_classes + 1)[1:n_classes + 1]
    empty = [int(k) + 1 for k in np.flatnonzero(counts == 0)]
    new = [k for k in empty if k not in already]
    if new:
        listed = ", ".join(map(str, new))
        one = len(new) == 1
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
        outside the mask); None when ``segment(..., probabilities=False)``.
    model : GaussianMixture
        The fitted mixture; component ``k - 1`` is class ``k``. After
        HMRF-EM, its Gaussians are the ones HMRF-EM ended with (in the
        corrected intensity when a bias field was estimated) and its
        ``weights_`` the classes' shares of the pixels.
    image : ndarray
        The input image (for :meth:`overlay` and :meth:`statistics`).
    channel_axis : int or None
    n_fit_pixels : int
        Pixels the mixture was fitted on (the subsample).
    n_smoothing_iter : int
        HMRF-EM iterations run (0 without smoothing or bias field).
    beta : float
        The Potts weight of the last HMRF-EM iteration (the estimate with
        ``smoothing="auto"``); 0 without smoothing.
    objective : list of float
        HMRF-EM's free energy per pixel after each iteration (non-decreasing
        for a fixed beta); empty without HMRF-EM.
    bias_field : ndarray of float64, the image's spatial shape, or None
        The estimated multiplicative field (1 outside the mask); with
        ``bias_field=True``.
    corrected : ndarray of float64, the image's shape, or None
        The image divided by the field (every channel).
    partial_volume : ndarray of float32, shape (*spatial, K), or None
        The fraction of each class inside every pixel (they add up to 1; 0
        outside the mask); with ``partial_volume=True``.
    spacing : tuple of float
        Pixel or voxel spacing along each spatial axis.
    features : tuple of str
        The feature extractors used (the default depends on the image).
    selection : list of dict or None
        ``n_classes="auto"``: one row per K tried (``k``, ``bic``,
        ``log_likelihood``, ``chosen``, ``status``: why it was not chosen).
    plain_shares : ndarray of shape (K,) or None
        Each class's share of the pixels under the plain mixture (before
        smoothing and the field); None without HMRF-EM. Compare with
        :attr:`shares`.
    """

    labels: np.ndarray
    probabilities: np.ndarray | None
    model: Any
    image: np.ndarray = field(repr=False)
    channel_axis: int | None = None
    n_fit_pixels: int = 0
    n_smoothing_iter: int = 0
    beta: float = 0.0
    objective: list = field(default_factory=list)
    bias_field: np.ndarray | None = field(default=None, repr=False)
    corrected: np.ndarray | None = field(default=None, repr=False)
    partial_volume: np.ndarray | None = field(default=None, repr=False)
    spacing: tuple = ()
    features: tuple = ()
    selection: list | None = None
    plain_shares: np.ndarray | None = None

    @property
    def shares(self) -> np.ndarray:
        """Each class's share of the labelled pixels, shape (K,)."""
        return report.class_shares(self.labels, self.n_classes)

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return len(self.model.weights_)

    @property
    def volumes(self) -> np.ndarray:
        """Volume of every class in units of the spacing (mm^3 for NIfTI), shape (K,).

        From the partial-volume fractions when there are any, else from the
        labels (pixels times the pixel volume).
        """
        unit = float(np.prod(self.spacing)) if self.spacing else 1.0
        if self.partial_volume is not None:
            return self.partial_volume.reshape(-1, self.n_classes).sum(axis=0, dtype=np.float64) \
                * unit
        counts = np.bincount(self.labels.ravel(), minlength=self.n_classes + 1)[1:]
        return counts[:self.n_classes].astype(np.float64) * unit

    def overlay(self, *, alpha: float = 0.35) -> np.ndarray:
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

    def montage(self, *, alpha: float = 0.35) -> np.ndarray:
        """A 3-D result's overlay as one picture: axial, coronal and sagittal slices.

        The slices go through the centre of the segmented voxels, each
        stretched to its physical aspect (:func:`gmmkit_image.io.slice_montage`).

        Returns
        -------
        ndarray of float, shape (h, w, 3), in [0, 1]
        """
        from gmmkit_image.io import slice_montage

        if self.labels.ndim != 3:
            raise ValueError(f"montage() shows a 3-D volume; these labels have shape "
                             f"{self.labels.shape} (use overlay() for a 2-D image).")
        inside = np.nonzero(self.labels)
        at = tuple(int(round(float(np.mean(axis)))) for axis in inside) if inside[0].size \
            else None
        return slice_montage(self.overlay(alpha=alpha), self.spacing, at=at)

    def statistics(self) -> list[dict]:
        """Per-class area and mean colour: a list of dicts (see ``class_statistics``)."""
        from gmmkit_image.postprocess import class_statistics

        return class_statistics(self.labels, self.image, channel_axis=self.channel_axis,
                                n_classes=self.n_classes)


def display_image(image: ArrayLike, channel_axis: int | None) -> np.ndarray:
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
