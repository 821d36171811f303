"""NIfTI volumes (MRI scans) through nibabel: read with their voxel spacing, write
labels and per-class maps on the same grid (affine and orientation kept).

nibabel is the optional ``nifti`` extra (``pip install 'gmmkit[nifti]'``); it
is imported inside the functions that need it.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

NIFTI_SUFFIXES = (".nii", ".nii.gz")
INSTALL_HINT = "pip install 'gmmkit[nifti]'"
#: how far two affines may differ (in mm) and still be one grid
GRID_TOLERANCE = 1e-3


class VolumeChoiceError(ValueError):
    """A 4-D NIfTI file was given where one volume is needed: say which.

    Attributes
    ----------
    path : str
    shape : tuple of int
    """

    def __init__(self, message: str, path: str, shape: tuple[int, ...]) -> None:
        super().__init__(message)
        self.path = path
        self.shape = shape


@dataclass
class NiftiVolume:
    """A volume read by :func:`read_nifti`.

    Attributes
    ----------
    data : ndarray of float32 (or the file's integers for labels), 2-D or 3-D
        The voxel values, with the file's scaling applied.
    affine : ndarray of shape (4, 4)
        Voxel indices to scanner millimetres.
    header : nibabel.Nifti1Header
    spacing : tuple of float
        Voxel size along each axis (mm).
    path : str
    """

    data: np.ndarray
    affine: np.ndarray
    header: Any
    spacing: tuple
    path: str = ""


def is_nifti(path: str | os.PathLike) -> bool:
    """Whether ``path`` ends in .nii or .nii.gz (any case)."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def _nibabel():
    try:
        import nibabel
    except ImportError:
        raise ImportError(
            f"reading and writing NIfTI files needs nibabel: {INSTALL_HINT}"
        ) from None
    return nibabel


def read_nifti(path: str | os.PathLike, *, volume: int | None = None) -> NiftiVolume:
    """A 3-D (or 2-D) volume and its grid from a .nii or .nii.gz file.

    Parameters
    ----------
    path : str or os.PathLike
    volume : int, optional
        Which volume of a 4-D file (0-based); a 4-D file with more than one
        volume needs it.

    Returns
    -------
    NiftiVolume

    Raises
    ------
    ValueError
        The file is missing or not NIfTI; :class:`VolumeChoiceError` for a
        4-D file without ``volume`` (or with one out of range).
    """
    nibabel = _nibabel()
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"NIfTI file {str(path)!r} does not exist.")
    try:
        image = nibabel.load(str(path))
        shape = tuple(int(n) for n in image.shape)
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types for bad files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"cannot read {str(path)!r} as NIfTI ({reason}).") from None
    proxy = image.dataobj
    if len(shape) == 4 and (shape[3] > 1 or volume is not None):
        last = shape[3] - 1
        if volume is None or not 0 <= volume <= last:
            given = "" if volume is None else f"; volume={volume} is not one of them"
            raise VolumeChoiceError(
                f"{str(path)!r} holds 4-D data of shape {shape} ({shape[3]} volumes){given}; "
                f"choose one with volume=N (0..{last}).", str(path), shape,
            )
        data = np.asanyarray(proxy[..., volume])
    elif len(shape) in (2, 3) or (len(shape) == 4 and shape[3] == 1):
        data = np.asanyarray(proxy).reshape(shape[:3] if len(shape) == 4 else shape)
    else:
        raise ValueError(
            f"{str(path)!r} holds data of shape {shape}; give a 2-D image or a 3-D volume."
        )
    if data.dtype.kind == "f" or image.header.get_slope_inter()[0] not in (None, 1.0):
        data = data.astype(np.float32, copy=False)
    spacing = tuple(float(z) for z in image.header.get_zooms()[:data.ndim])
    return NiftiVolume(data, np.asarray(image.affine, dtype=np.float64), image.header,
                       spacing, str(path))


def check_same_grid(image: NiftiVolume, mask: NiftiVolume, *, mask_name: str = "the mask",
                    fix: str | None = None) -> None:
    """ValueError unless ``mask`` (a NiftiVolume) lies on ``image``'s voxel grid.

    Parameters
    ----------
    image, mask : NiftiVolume
    mask_name : str
        How messages call the mask (the CLI says ``--mask brain.nii.gz``).
    fix : str, optional
        What to do, for the messages (default: resample the mask).
    """
    fix = fix or ("resample the mask onto the image's grid (e.g. nibabel.processing."
                  "resample_from_to(mask, image, order=0))")
    if mask.data.shape != image.data.shape:
        raise ValueError(
            f"{mask_name} has shape {mask.data.shape} but the image has "
            f"{image.data.shape}; {fix}."
        )
    if not np.allclose(mask.spacing, image.spacing, rtol=0, atol=GRID_TOLERANCE):
        raise ValueError(
            f"{mask_name} has voxel spacing {_mm(mask.spacing)} but the image has "
            f"{_mm(image.spacing)}; {fix}."
        )
    if not np.allclose(mask.affine, image.affine, rtol=0, atol=GRID_TOLERANCE):
        raise ValueError(
            f"{mask_name} lies elsewhere in space than the image (their affines differ: "
            f"origin {_mm(mask.affine[:3, 3])} against {_mm(image.affine[:3, 3])}); {fix}."
        )


def _mm(values):
    return " x ".join(f"{v:g}" for v in values) + " mm"


def write_nifti(path: str | os.PathLike, array: ArrayLike, like: NiftiVolume | None = None, *,
                spacing: Sequence[float] | None = None, compress: bool | None = None) -> None:
    """Write ``array`` as NIfTI on the grid of ``like`` (affine, orientation, units kept).

    Parameters
    ----------
    path : str or os.PathLike
    array : ndarray, 2-D or 3-D, or with a last axis of classes (written as 4-D)
        Labels (integers: uint8 up to 255, else int16/int32) or maps (float32).
    like : NiftiVolume, optional
        The volume whose affine and header to keep; without it the affine
        is the diagonal of ``spacing``.
    spacing : sequence of float, optional
    compress : bool, optional
        gzip the file; default: ``path`` ends in .gz.
    """
    nibabel = _nibabel()
    array = np.asarray(array)
    if array.dtype.kind in "biu":
        top = int(array.max(initial=0))
        array = array.astype(np.uint8 if array.min(initial=0) >= 0 and top < 256
                             else np.int16 if top < 32768 else np.int32)
    else:
        array = array.astype(np.float32)
    if like is not None:
        header = like.header.copy()
        header.set_data_dtype(array.dtype)
        header.set_slope_inter(1.0, 0.0)
        image = nibabel.Nifti1Image(array, like.affine, header)
    else:
        zooms = list(spacing or (1.0,) * min(array.ndim, 3))
        affine = np.diag([*zooms[:3], *([1.0] * (3 - len(zooms[:3]))), 1.0])
        image = nibabel.Nifti1Image(array, affine)
    payload = image.to_bytes()
    if compress is None:
        compress = str(path).lower().endswith(".gz")
    if compress:
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    Path(path).write_bytes(payload)
