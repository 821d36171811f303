"""Reading images, volumes and video frames; writing label images.

Images are read with imageio (PNG, JPEG, TIFF including multi-page TIFF
volumes, and whatever else its installed plugins read); ``.npy`` files with
numpy. Label images are written as palette PNGs: the pixel values are the
labels and every viewer shows each class in its own colour.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
#: label colours (RGB in [0, 1]): 0 black, then scikit-image's label2rgb colours
#: (red, blue, yellow, magenta, green, indigo, dark orange, cyan, pink, yellow-green), cycled
LABEL_COLOURS = np.array([
    (1, 0, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 0.502, 0), (0.294, 0, 0.51),
    (1, 0.549, 0), (0, 1, 1), (1, 0.753, 0.796), (0.604, 0.804, 0.196),
])


def label_colours(n):
    """RGB floats in [0, 1] of labels 1..n: ndarray of shape (n, 3)."""
    return LABEL_COLOURS[np.arange(n) % len(LABEL_COLOURS)]


def _unreadable(path, reason):
    reason = " ".join(str(reason).split())
    return ValueError(
        f"cannot read {str(path)!r} as an image ({reason}); give a PNG, JPEG or TIFF file "
        "or a .npy array."
    )


def _reason(exc):
    """imageio's error, shortened to what the user needs."""
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    if "Could not find a backend" in text:
        return "not a known image format"
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def read_image(path):
    """An image or volume from a file: ndarray (H, W), (H, W, C) or (Z, H, W).

    Parameters
    ----------
    path : str or os.PathLike
        PNG, JPEG, TIFF (a multi-page TIFF is a volume), other formats
        imageio reads, or ``.npy``.

    Returns
    -------
    ndarray

    Raises
    ------
    ValueError
        The file is missing, not an image, or holds no pixel.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"image file {str(path)!r} does not exist.")
    if path.suffix.lower() == ".npy":
        try:
            image = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise _unreadable(path, exc) from None
    else:
        import imageio.v3 as iio

        try:
            with warnings.catch_warnings():  # imageio's legacy plugins warn while probing
                warnings.simplefilter("ignore", DeprecationWarning)
                # from bytes: imageio leaves no file open when no plugin reads it
                image = np.asarray(iio.imread(path.read_bytes(), extension=path.suffix or None))
        except Exception as exc:  # noqa: BLE001 - imageio raises many types for bad files
            raise _unreadable(path, _reason(exc)) from None
    if image.dtype.kind not in "biuf":
        raise _unreadable(path, f"it holds {image.dtype} values, not numbers")
    if image.size == 0:
        raise ValueError(
            f"image {str(path)!r} is empty (shape {image.shape}); give an image with at "
            "least one pixel."
        )
    return image


def read_frames(source):
    """Frames of a video: a folder of images (sorted by name) or a video file.

    Parameters
    ----------
    source : str or os.PathLike
        A folder of images, or a file imageio reads frame by frame (GIF,
        multi-page TIFF; MP4/AVI need imageio's pyav or ffmpeg plugin).

    Yields
    ------
    ndarray of shape (H, W) or (H, W, C)
    """
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(
                f"folder {str(source)!r} has no image files ({', '.join(IMAGE_SUFFIXES)})."
            )
        for file in files:
            yield read_image(file)
        return
    if not source.is_file():
        raise ValueError(f"video {str(source)!r} does not exist; give a video file or a folder "
                         "of frames.")
    import imageio.v3 as iio

    try:
        frames = iio.imiter(source)
        first = next(frames)
    except Exception as exc:  # noqa: BLE001 - imageio raises many types for bad files
        raise ValueError(
            f"cannot read {str(source)!r} as a video ({_reason(exc)}); give a folder of frames, or "
            "install a video plugin for imageio (pip install imageio[pyav])."
        ) from None
    yield np.asarray(first)
    for frame in frames:
        yield np.asarray(frame)


def write_labels(path, labels):
    """Write a label image so a viewer shows every class in its own colour.

    Parameters
    ----------
    path : str or os.PathLike
        ``.png`` (2-D labels, at most 255 classes): a palette PNG whose pixel
        values are the labels, 0 black; ``.tif``/``.tiff``: uint8/uint16
        values (volumes too); ``.npy``: the array as it is.
    labels : ndarray of int, 2-D or 3-D
    """
    path = Path(path)
    labels = np.asarray(labels)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        np.save(path, labels)
        return
    if suffix in (".tif", ".tiff"):
        import imageio.v3 as iio

        dtype = np.uint8 if labels.max(initial=0) < 256 else np.uint16
        iio.imwrite(path, labels.astype(dtype))
        return
    if suffix != ".png":
        raise ValueError(f"cannot write labels as {str(path)!r}; use a .png, .tif or .npy file.")
    if labels.ndim != 2:
        raise ValueError(
            f"labels of shape {labels.shape} are not a 2-D image; write a volume as "
            ".tif or .npy."
        )
    if labels.max(initial=0) > 255 or labels.min(initial=0) < 0:
        raise ValueError("a label PNG holds labels 0..255; write more labels as .tif or .npy.")
    from PIL import Image

    palette = np.zeros((256, 3))
    palette[1:] = label_colours(255)
    picture = Image.frombytes("P", labels.shape[::-1], labels.astype(np.uint8).tobytes())
    picture.putpalette(np.round(palette * 255).astype(np.uint8).ravel().tolist())
    picture.save(path)


def write_rgb(path, picture):
    """Write float RGB in [0, 1] (an overlay) as an 8-bit PNG or TIFF."""
    import imageio.v3 as iio

    iio.imwrite(path, np.round(np.clip(picture, 0.0, 1.0) * 255).astype(np.uint8))


def slice_montage(volume: np.ndarray, spacing: tuple | None = None,
                  at: tuple | None = None, gap: int = 4) -> np.ndarray:
    """Axial, coronal and sagittal slices of an RGB volume side by side: (h, w, 3).

    Parameters
    ----------
    volume : ndarray of shape (Z, Y, X, 3)
        An RGB volume (e.g. :meth:`Segmentation.overlay` of a 3-D scan), axes
        in the array's order: slices (axial), rows (coronal), columns (sagittal).
    spacing : tuple of 3 float, optional
        Voxel spacing; each slice is stretched (nearest neighbour) to its
        physical aspect. Default 1.
    at : tuple of 3 int, optional
        The voxel the three slices go through; default the middle of the volume.
    gap : int, default=4
        Black pixels between the slices.

    Returns
    -------
    ndarray of the volume's dtype, shape (h, w, 3)
        The three slices, each padded to the tallest, with ``gap`` between them.
    """
    volume = np.asarray(volume)
    if volume.ndim != 4 or volume.shape[-1] != 3:
        raise ValueError(f"volume has shape {volume.shape}; give an RGB volume (Z, Y, X, 3).")
    spacing = (1.0, 1.0, 1.0) if spacing is None else tuple(float(s) for s in spacing)
    at = tuple(n // 2 for n in volume.shape[:3]) if at is None else at
    finest = min(spacing)
    slices = [(volume[at[0]], (1, 2)), (volume[:, at[1]], (0, 2)), (volume[:, :, at[2]], (0, 1))]
    panels = []
    for picture, axes in slices:
        for axis, along in enumerate(axes):
            factor = spacing[along] / finest
            if factor != 1.0:
                n = picture.shape[axis]
                index = np.minimum((np.arange(int(round(n * factor))) / factor).astype(int), n - 1)
                picture = np.take(picture, index, axis=axis)
        panels.append(picture)
    height = max(p.shape[0] for p in panels)
    padded = []
    for number, panel in enumerate(panels):
        top = (height - panel.shape[0]) // 2
        block = np.zeros((height, panel.shape[1] + (gap if number else 0), 3), volume.dtype)
        block[top:top + panel.shape[0], (gap if number else 0):] = panel
        padded.append(block)
    return np.concatenate(padded, axis=1)
