"""The default smoothing on real MR scans that load offline (nibabel's test data).

scikit-image's brain() needs a download; nibabel ships two real scans: a T1
anatomical (33 x 41 x 25, 2 mm) and an EPI time series (128 x 96 x 24, two
volumes). With no tissue truth for them, the check is a test-retest: add
Gaussian noise and ask how much the segmentation moves from the one of the
original scan by the same method. With the default smoothing it moves less
(more voxels keep their class, class shares drift less) than the plain
mixture, at every K and noise level here.
"""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("nibabel", reason="the nifti extra: pip install 'gmmkit[nifti]'")

from pathlib import Path  # noqa: E402

import nibabel  # noqa: E402
import numpy as np  # noqa: E402
from gmmkit_image import read_nifti, segment  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402
from skimage.filters import threshold_otsu  # noqa: E402

DATA = Path(nibabel.__file__).parent / "tests" / "data"


def scan(name, volume=None):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"nibabel's test data has no {name}")
    read = read_nifti(path, volume=volume)
    data = np.asarray(read.data, dtype=np.float64)
    mask = ndi.binary_fill_holes(data > threshold_otsu(data))  # the head
    return data, mask, read.spacing


def drift(data, mask, spacing, k, level, smoothing, seed=1):
    """(share of voxels that keep their class, largest change of a class share) under noise."""
    clean = segment(data, k, mask=mask, spacing=spacing, smoothing=smoothing)
    span = np.subtract(*np.percentile(data[mask], [99, 1]))
    noisy = data + np.random.default_rng(seed).normal(0, level * span, data.shape)
    moved = segment(noisy, k, mask=mask, spacing=spacing, smoothing=smoothing)
    kept = np.mean(moved.labels[mask] == clean.labels[mask])
    return kept, float(np.abs(moved.shares - clean.shares).max())


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("level", [0.05, 0.1])
def test_default_smoothing_makes_a_real_t1_scan_more_stable_under_noise(k, level):
    data, mask, spacing = scan("anatomical.nii")
    plain_kept, plain_drift = drift(data, mask, spacing, k, level, 0.0)
    kept, share_drift = drift(data, mask, spacing, k, level, True)
    assert kept > plain_kept + 0.02, (plain_kept, kept)
    assert share_drift < plain_drift, (plain_drift, share_drift)


def test_default_smoothing_test_retest_on_a_real_t1_scan():
    """Two noisy copies of the scan: the smoothed segmentations agree more with each other."""
    data, mask, spacing = scan("anatomical.nii")
    span = np.subtract(*np.percentile(data[mask], [99, 1]))
    copies = [data + np.random.default_rng(seed).normal(0, 0.1 * span, data.shape)
              for seed in (1, 2)]
    for k in (2, 3):
        agree = {}
        for smoothing in (0.0, True):
            a, b = (segment(c, k, mask=mask, spacing=spacing, smoothing=smoothing).labels[mask]
                    for c in copies)
            agree[smoothing] = np.mean(a == b)
        assert agree[True] > agree[0.0] + 0.03, agree


@pytest.mark.slow
def test_default_smoothing_makes_a_real_epi_volume_more_stable_under_noise():
    data, mask, spacing = scan("example4d.nii.gz", volume=0)
    plain_kept, plain_drift = drift(data, mask, spacing, 3, 0.1, 0.0)
    kept, share_drift = drift(data, mask, spacing, 3, 0.1, True)
    assert kept > plain_kept + 0.02, (plain_kept, kept)
    assert share_drift < plain_drift, (plain_drift, share_drift)
