"""NIfTI scans: reading and writing on the same grid, `gmmkit image segment T1.nii.gz ...`
with a brain mask and a bias field, and the bad inputs of a real scan."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("nibabel", reason="the nifti extra: pip install 'gmmkit[nifti]'")

import json

import nibabel
import numpy as np
from gmmkit_image import segment
from gmmkit_image.nifti import VolumeChoiceError, read_nifti, write_nifti
from gmmkit_image.phantom import tissue_phantom
from helpers import invoke, plugin_cli

SPACING = (1.2, 1.0, 2.0)
AFFINE = np.array([[0, 0, 2.0, -30.0], [-1.2, 0, 0, 40.0], [0, 1.0, 0, -12.5], [0, 0, 0, 1]])


@pytest.fixture(scope="module")
def cli():
    return plugin_cli("gmmkit_image")


run = invoke


def save(path, data, affine=AFFINE, dtype=None):
    image = nibabel.Nifti1Image(np.asarray(data, dtype=dtype), affine)
    image.header.set_xyzt_units("mm")
    nibabel.save(image, str(path))
    return path


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """A 24 x 28 x 20 phantom as T1.nii.gz (int16 with a scale factor) and brain.nii.gz."""
    folder = tmp_path_factory.mktemp("scan")
    phantom = tissue_phantom((24, 28, 20), noise=0.05, seed=8)
    image = nibabel.Nifti1Image(np.round(phantom.image * 1000).astype(np.int16), AFFINE)
    image.header.set_slope_inter(0.001, 0.0)
    image.header.set_xyzt_units("mm")
    nibabel.save(image, str(folder / "T1.nii.gz"))
    save(folder / "brain.nii.gz", phantom.mask, dtype=np.uint8)
    return folder, phantom


def test_reading_applies_the_scale_and_takes_the_spacing_from_the_affine(scan):
    folder, phantom = scan
    volume = read_nifti(folder / "T1.nii.gz")
    assert volume.data.dtype == np.float32 and volume.data.shape == (24, 28, 20)
    np.testing.assert_allclose(volume.data, np.round(phantom.image * 1000) / 1000, atol=1e-6)
    assert volume.spacing == pytest.approx(SPACING)
    np.testing.assert_allclose(volume.affine, AFFINE)


def test_written_labels_and_maps_keep_the_grid(scan, tmp_path):
    folder, _ = scan
    like = read_nifti(folder / "T1.nii.gz")
    labels = np.arange(24 * 28 * 20).reshape(24, 28, 20) % 4
    write_nifti(tmp_path / "seg.nii.gz", labels, like)
    back = nibabel.load(str(tmp_path / "seg.nii.gz"))
    assert back.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(back.dataobj), labels)
    np.testing.assert_allclose(back.affine, AFFINE)
    assert back.header.get_xyzt_units()[0] == "mm"
    maps = np.random.default_rng(0).random((24, 28, 20, 3))
    write_nifti(tmp_path / "maps.nii", maps, like)
    back = nibabel.load(str(tmp_path / "maps.nii"))
    assert back.shape == (24, 28, 20, 3) and back.get_data_dtype() == np.float32
    np.testing.assert_allclose(back.get_fdata(), maps, rtol=1e-6)
    assert (tmp_path / "maps.nii").read_bytes()[:2] != b"\x1f\x8b"  # .nii is not gzipped
    assert (tmp_path / "seg.nii.gz").read_bytes()[:2] == b"\x1f\x8b"


def test_the_issue_command_segments_a_scan_with_mask_bias_field_and_auto_smoothing(
        cli, scan, tmp_path):
    folder, phantom = scan
    result = run(cli, "image", "segment", folder / "T1.nii.gz", "-k", 3, "--mask",
                 folder / "brain.nii.gz", "--bias-field", "--smooth", "auto", "-o",
                 tmp_path / "seg.nii.gz", "--probabilities", tmp_path / "pve.nii.gz",
                 "--partial-volume", tmp_path / "fractions.nii.gz", "--field",
                 tmp_path / "field.nii.gz", "--json", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    volume = read_nifti(folder / "T1.nii.gz")
    expected = segment(volume.data, 3, mask=phantom.mask, bias_field=True, smoothing="auto",
                       partial_volume=True, spacing=volume.spacing)
    seg = nibabel.load(str(tmp_path / "seg.nii.gz"))
    np.testing.assert_allclose(seg.affine, AFFINE)
    np.testing.assert_array_equal(np.asarray(seg.dataobj), expected.labels)
    maps = nibabel.load(str(tmp_path / "pve.nii.gz"))
    assert maps.shape == (24, 28, 20, 3)
    np.testing.assert_allclose(maps.get_fdata(), expected.probabilities, atol=1e-6)
    field = nibabel.load(str(tmp_path / "field.nii.gz")).get_fdata()
    np.testing.assert_allclose(field, expected.bias_field, rtol=1e-6)
    assert summary["spacing"] == pytest.approx(list(SPACING))
    assert summary["beta"] == pytest.approx(expected.beta)
    voxel = np.prod(SPACING)
    np.testing.assert_allclose([row["volume"] for row in summary["classes"]],
                               expected.volumes, rtol=1e-6)
    assert expected.volumes.sum() == pytest.approx(phantom.mask.sum() * voxel, rel=1e-5)


def test_text_output_gives_volumes_in_cubic_millimetres(cli, scan):
    folder, _ = scan
    result = run(cli, "image", "segment", folder / "T1.nii.gz", "--mask",
                 folder / "brain.nii.gz", "-q")
    assert result.exit_code == 0, result.output
    # a grey volume: voxels, and no colour column
    assert result.stdout.splitlines()[2].split() == ["class", "voxels", "fraction", "volume",
                                                     "(mm^3)", "mean", "grey"]


BAD = "bad input | message (exact)"


def test_a_mask_of_another_shape_spacing_or_place_is_refused(cli, scan, tmp_path):
    folder, phantom = scan
    image = folder / "T1.nii.gz"
    fix = (f"give a mask on the grid of {image} (resample it, with nearest-neighbour "
           "interpolation).")
    cases = {
        "small.nii.gz": (phantom.mask[:20], AFFINE,
                         "has shape (20, 28, 20) but the image has (24, 28, 20)"),
        "coarse.nii.gz": (phantom.mask, np.diag([2.0, 2.0, 2.0, 1.0]),
                          "has voxel spacing 2 x 2 x 2 mm but the image has 1.2 x 1 x 2 mm"),
        "moved.nii.gz": (phantom.mask, AFFINE + np.outer(np.eye(4)[0], np.eye(4)[3]) * 5,
                         "lies elsewhere in space than the image (their affines differ: origin "
                         "-25 x 40 x -12.5 mm against -30 x 40 x -12.5 mm)"),
    }
    for name, (data, affine, problem) in cases.items():
        save(tmp_path / name, data, affine, np.uint8)
        result = run(cli, "image", "segment", image, "--mask", tmp_path / name, "-q")
        assert result.exit_code == 1
        assert result.stderr == f"Error: --mask {tmp_path / name} {problem}; {fix}\n"


def test_an_empty_mask_is_refused(cli, scan, tmp_path):
    folder, phantom = scan
    save(tmp_path / "empty.nii.gz", np.zeros(phantom.mask.shape), dtype=np.uint8)
    result = run(cli, "image", "segment", folder / "T1.nii.gz", "--mask",
                 tmp_path / "empty.nii.gz", "-o", tmp_path / "seg.nii.gz", "-q")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: --mask {tmp_path / 'empty.nii.gz'} selects no voxel (every value is 0); give a "
        "mask whose non-zero voxels are the ones to segment.\n"
    )
    assert not (tmp_path / "seg.nii.gz").exists()
    with pytest.raises(ValueError, match=r"^nothing to segment: the mask selects no pixel\.$"):
        segment(np.ones((5, 5, 5)), 2, mask=np.zeros((5, 5, 5), bool))


def test_a_4d_scan_needs_the_volume_to_take(cli, scan, tmp_path):
    folder, phantom = scan
    series = np.stack([phantom.image, phantom.image * 1.1, phantom.image * 0.9], axis=-1)
    path = save(tmp_path / "bold.nii.gz", series, dtype=np.float32)
    result = run(cli, "image", "segment", path, "-q")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path} holds 4-D data of shape (24, 28, 20, 3) (3 volumes); choose one with "
        "--volume N (0..2).\n"
    )
    wrong = run(cli, "image", "segment", path, "--volume", 3, "-q")
    assert wrong.stderr == (
        f"Error: {path} holds 4-D data of shape (24, 28, 20, 3) (3 volumes); --volume 3 is not "
        "one of them; choose one with --volume N (0..2).\n"
    )
    chosen = run(cli, "image", "segment", path, "--volume", 1, "--json", "-q")
    assert chosen.exit_code == 0, chosen.output
    assert json.loads(chosen.stdout)["shape"] == [24, 28, 20]
    with pytest.raises(VolumeChoiceError) as raised:
        read_nifti(path)
    assert str(raised.value) == (
        f"{str(path)!r} holds 4-D data of shape (24, 28, 20, 3) (3 volumes); choose one with "
        "volume=N (0..2)."
    )
    np.testing.assert_allclose(read_nifti(path, volume=2).data, series[..., 2])


def test_negative_intensities_with_the_bias_field_are_refused(cli, scan, tmp_path):
    folder, phantom = scan
    shifted = phantom.image - 0.5
    path = save(tmp_path / "shifted.nii.gz", shifted, dtype=np.float32)
    negative = int(np.sum(shifted[phantom.mask] < 0))
    result = run(cli, "image", "segment", path, "--mask", folder / "brain.nii.gz",
                 "--bias-field", "-q")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path} has {negative} negative values inside the mask; --bias-field multiplies "
        "intensities by a positive field (log domain) and needs values >= 0: shift the image "
        "first (add a constant) or leave those voxels out with --mask.\n"
    )
    with pytest.raises(ValueError) as raised:
        segment(shifted, 3, mask=phantom.mask, bias_field=True)
    assert str(raised.value) == (
        f"image has {negative} negative values inside the mask; bias_field=True multiplies "
        "intensities by a positive field (log domain) and needs values >= 0. Shift the image "
        "(image - image.min()) or leave those pixels out with mask=."
    )
    # without the field, negative intensities are fine
    assert run(cli, "image", "segment", path, "--mask", folder / "brain.nii.gz",
               "-q").exit_code == 0


def test_option_mistakes_are_usage_errors(cli, scan, tmp_path):
    folder, _ = scan
    image = folder / "T1.nii.gz"
    field = run(cli, "image", "segment", image, "--field", tmp_path / "f.nii.gz")
    assert field.exit_code == 2
    assert "Error: --field writes the bias field's result; add --bias-field." in field.stderr
    classes = run(cli, "image", "segment", image, "--bias-classes", 2)
    assert classes.exit_code == 2
    assert ("Error: --bias-classes sets how the bias field is estimated; add --bias-field."
            in classes.stderr)
    gz = run(cli, "image", "segment", image, "-o", tmp_path / "seg.gz")
    assert gz.exit_code == 2
    assert (f"Invalid value for '-o': cannot write '{tmp_path / 'seg.gz'}': give a file ending "
            "in .png, .tif, .tiff, .npy, .nii or .nii.gz") in gz.stderr
    smooth = run(cli, "image", "segment", image, "--smooth", "lots")
    assert smooth.exit_code == 2
    assert "'lots' is not a number >= 0 or 'auto'" in smooth.stderr
    volume = run(cli, "image", "segment", image, "--volume", 0, "-q")
    assert volume.exit_code == 0, volume.output  # a 3-D file: --volume is not needed
