"""gmmkit_image: Gaussian-mixture segmentation of images and volumes, and
background subtraction for video (built-in plugin).

Needs the ``image`` extra (scikit-image, imageio): ``pip install 'gmmkit[image]'``;
NIfTI scans need the ``nifti`` extra (nibabel). They are imported inside the
functions that use them, so loading the plugin costs nothing.

Python API::

    from gmmkit_image import segment, read_nifti, BackgroundModel
    result = segment(image, 3, smoothing=1.0)      # result.labels: 0 outside, 1..K
    scan = read_nifti("T1.nii.gz")
    tissues = segment(scan.data, 3, mask=brain, smoothing=True, bias_field=True,
                      partial_volume=True, spacing=scan.spacing)
    masks = [BackgroundModel().apply(frame) for frame in frames]

See docs/image.md.
"""

from __future__ import annotations

from gmmkit import hookimpl
from gmmkit_image.background import BackgroundModel
from gmmkit_image.features import FEATURES, intensity
from gmmkit_image.io import read_frames, read_image, write_labels
from gmmkit_image.nifti import read_nifti, write_nifti
from gmmkit_image.postprocess import (
    POSTPROCESSORS,
    class_statistics,
    label_image,
    relabel,
    remove_small_regions,
)
from gmmkit_image.segmentation import EmptyClassWarning, Segmentation, correct_bias, segment

requires = ("skimage", "imageio")
install_hint = "pip install 'gmmkit[image]'"

__all__ = [
    "BackgroundModel",
    "EmptyClassWarning",
    "Segmentation",
    "class_statistics",
    "correct_bias",
    "intensity",
    "label_image",
    "read_frames",
    "read_image",
    "read_nifti",
    "relabel",
    "remove_small_regions",
    "segment",
    "write_labels",
    "write_nifti",
]


@hookimpl
def gmmkit_register_features(register):
    for name, extractor in FEATURES.items():
        register(name, extractor)


@hookimpl
def gmmkit_register_postprocessors(register):
    for name, postprocess in POSTPROCESSORS.items():
        register(name, postprocess)


@hookimpl
def gmmkit_register_commands(cli):
    from gmmkit_image.cli import image

    cli.add_command(image)


@hookimpl
def gmmkit_register_demos(register):
    from gmmkit_image.demo import coins_demo

    register("image", coins_demo)
