"""A brain-like test volume with a known answer: nested tissue shells, partial
volume, a smooth bias field and Rician noise.

Three tissues (CSF, grey and white matter, T1-like intensities) fill nested
shells with folded boundaries. The true tissue fractions of every voxel are
measured on a finer grid and blurred by the scanner's point-spread function,
so boundary voxels mix two tissues; the clean image is their
fraction-weighted intensity. A smooth multiplicative field of +-``bias``
multiplies it, and Rician noise (the magnitude of complex Gaussian noise,
as in MR magnitude images) is added last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

#: CSF, grey and white matter intensities (T1-weighted, white matter brightest)
TISSUE_INTENSITIES = (0.3, 0.6, 0.85)
TISSUES = ("CSF", "GM", "WM")


@dataclass
class Phantom:
    """What :func:`tissue_phantom` made.

    Attributes
    ----------
    image : ndarray of float64, ``shape``
        What the scanner measured: ``clean * bias_field`` with Rician noise.
    mask : ndarray of bool, ``shape``
        The head: voxels whose centre lies inside the outer sphere.
    fractions : ndarray of float64, shape (*shape, 3)
        True CSF, GM and WM fraction of every voxel (they add up to 1).
    labels : ndarray of int32, ``shape``
        The tissue with the largest fraction, 1 (CSF), 2 (GM), 3 (WM); 0
        outside the mask.
    bias_field : ndarray of float64, ``shape``
        The true multiplicative field, within 1 +- ``bias`` inside the mask.
    clean : ndarray of float64, ``shape``
        Fraction-weighted tissue intensity, without field or noise.
    """

    image: np.ndarray
    mask: np.ndarray
    fractions: np.ndarray
    labels: np.ndarray
    bias_field: np.ndarray
    clean: np.ndarray

    @property
    def volumes(self) -> np.ndarray:
        """True volume of each tissue inside the mask, in voxels: ndarray of shape (3,)."""
        return self.fractions[self.mask].sum(axis=0)


def _normalised_grid(shape, supersample):
    """Coordinates in [-1, 1] (the shortest axis) of a grid ``supersample`` times finer."""
    size = min(shape)
    axes = [(np.arange(n * supersample) + 0.5) / supersample - n / 2 for n in shape]
    return np.meshgrid(*[a / (size / 2) for a in axes], indexing="ij", sparse=True)


#: deep structures: (tissue, centre (z, y, x), semi-axes (z, y, x)) in [-1, 1] coordinates
DEEP_STRUCTURES = (
    (1, (0.0, -0.05, -0.17), (0.22, 0.28, 0.08)),    # ventricles (CSF)
    (1, (0.0, -0.05, 0.17), (0.22, 0.28, 0.08)),
    (2, (-0.05, 0.25, -0.3), (0.13, 0.13, 0.13)),    # deep grey nuclei
    (2, (-0.05, 0.25, 0.3), (0.13, 0.13, 0.13)),
    (2, (0.25, -0.35, 0.0), (0.1, 0.12, 0.1)),
)


def _tissue_of(coords):
    """1 (CSF), 2 (GM) or 3 (WM) at coordinates in [-1, 1]: folded nested shells.

    Outside in: a CSF shell, a folded grey-matter cortex, white matter with
    gyri reaching into the cortex, and inside it CSF ventricles and grey
    nuclei, so every depth holds more than one tissue (as in a brain).
    """
    radius = np.sqrt(sum(c * c for c in coords))
    x, y = coords[-1], coords[-2]
    z = coords[0] if len(coords) == 3 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        angle = np.arctan2(y, x)
        polar = np.arccos(np.clip(np.nan_to_num(z / radius), -1, 1))
    folds = np.sin(6 * angle) * np.sin(5 * polar)
    tissue = np.ones(np.broadcast_shapes(*(np.shape(c) for c in coords)), dtype=np.int8)
    tissue[radius < 0.8 + 0.04 * folds] = 2
    tissue[radius < 0.56 + 0.08 * folds] = 3
    for kind, centre, axes in DEEP_STRUCTURES:
        inside = sum(((c - m) / a) ** 2 for c, m, a in
                     zip(coords, centre[-len(coords):], axes[-len(coords):])) < 1
        tissue[np.broadcast_to(inside, tissue.shape)] = kind
    return tissue


def _smooth_field(coords, bias, mask):
    """A smooth (not polynomial) field with values 1 +- ``bias`` inside the mask."""
    x, y = coords[-1], coords[-2]
    z = coords[0] if len(coords) == 3 else 0.3
    shape = np.broadcast_shapes(*(np.shape(c) for c in coords))
    raw = np.broadcast_to(
        np.sin(1.3 * x + 0.4) + 0.7 * np.cos(1.1 * y - 0.5 * z) + 0.5 * np.tanh(x * z + y),
        shape,
    )
    inside = raw[mask]
    centred = raw - 0.5 * (inside.max() + inside.min())
    return 1.0 + bias * centred / (0.5 * (inside.max() - inside.min()))


def tissue_phantom(shape: tuple[int, ...] = (48, 48, 48), *, noise: float = 0.05,
                   bias: float = 0.2, blur: float = 0.6,
                   intensities: Sequence[float] = TISSUE_INTENSITIES, supersample: int = 3,
                   seed: int = 0) -> Phantom:
    """A noisy, biased, partial-volume "brain" of nested CSF, GM and WM shells.

    Parameters
    ----------
    shape : tuple of 3 (or 2) int, default=(48, 48, 48)
    noise : float, default=0.05
        Rician noise: the standard deviation of the real and imaginary
        Gaussian noise, as a fraction of the brightest tissue (BrainWeb's
        convention: 0.03, 0.05, 0.07, ...).
    bias : float, default=0.2
        Amplitude of the multiplicative field: values in [1 - bias, 1 + bias]
        inside the mask.
    blur : float, default=0.6
        Standard deviation (voxels) of the Gaussian point-spread function
        that mixes the tissues of neighbouring voxels.
    intensities : three floats, default=(0.3, 0.6, 0.85)
        CSF, GM and WM.
    supersample : int, default=3
        The fractions are measured on a grid this many times finer per axis.
    seed : int, default=0

    Returns
    -------
    Phantom
    """
    from scipy.ndimage import gaussian_filter

    shape = tuple(int(n) for n in shape)
    fine = _tissue_of(_normalised_grid(shape, supersample))
    blocks = tuple(x for n in shape for x in (n, supersample))
    fractions = np.stack(
        [(fine == t).reshape(blocks).mean(axis=tuple(range(1, 2 * len(shape), 2)))
         for t in (1, 2, 3)], axis=-1,
    )
    if blur > 0:
        fractions = np.stack([gaussian_filter(fractions[..., t], blur, mode="nearest")
                              for t in range(3)], axis=-1)
    fractions /= fractions.sum(axis=-1, keepdims=True)
    coords = _normalised_grid(shape, 1)
    radius = np.sqrt(sum(c * c for c in coords))
    mask = np.broadcast_to(radius < 0.96, shape).copy()
    clean = fractions @ np.asarray(intensities, dtype=float)
    field = _smooth_field(coords, bias, mask)
    rng = np.random.default_rng(seed)
    sigma = noise * max(intensities)
    real = clean * field + rng.normal(0.0, sigma, shape)
    imaginary = rng.normal(0.0, sigma, shape)
    image = np.hypot(real, imaginary)
    labels = np.where(mask, fractions.argmax(axis=-1) + 1, 0).astype(np.int32)
    return Phantom(image, mask, fractions, labels, field, clean)


def dice(labels: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Dice overlap of class ``k`` between two label images: 2|A & B| / (|A| + |B|)."""
    found, true = np.asarray(labels) == k, np.asarray(truth) == k
    total = found.sum() + true.sum()
    return 2.0 * np.sum(found & true) / total if total else 1.0
