"""Bad input to the image plugin: one test per case named in the issue, exact messages."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import numpy as np
from gmmkit_image import read_image, segment


def test_unreadable_file(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    with pytest.raises(ValueError) as raised:
        read_image(text)
    assert str(raised.value) == (
        f"cannot read {str(text)!r} as an image (not a known image format); give a PNG, JPEG "
        "or TIFF file or a .npy array."
    )


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="^image file '.*nothing.png' does not exist.$"):
        read_image(tmp_path / "nothing.png")


def test_npy_file_of_strings_is_not_an_image(tmp_path):
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    with pytest.raises(ValueError, match=r"\(it holds <U1 values, not numbers\)"):
        read_image(tmp_path / "words.npy")


def test_empty_image():
    with pytest.raises(ValueError) as raised:
        segment(np.zeros((0, 10)))
    assert str(raised.value) == (
        "image is empty (shape (0, 10)); give an image with at least one pixel."
    )


def test_empty_image_file(tmp_path):
    np.save(tmp_path / "empty.npy", np.zeros((4, 0)))
    with pytest.raises(ValueError) as raised:
        read_image(tmp_path / "empty.npy")
    assert str(raised.value) == (
        f"image {str(tmp_path / 'empty.npy')!r} is empty (shape (4, 0)); give an image with "
        "at least one pixel."
    )


def test_one_colour_image():
    with pytest.raises(ValueError) as raised:
        segment(np.full((20, 20), 128, np.uint8), 3)
    assert str(raised.value) == (
        "image has only 1 distinct value; a 3-class segmentation needs at least 3. "
        "Lower n_classes."
    )


def test_fewer_distinct_colours_than_classes_inside_the_mask():
    image = np.zeros((10, 10, 3), np.uint8)
    image[:5] = (255, 0, 0)
    image[5:] = (0, 0, 255)
    image[0, 0] = (0, 255, 0)
    mask = np.ones((10, 10), bool)
    mask[0, 0] = False
    with pytest.raises(ValueError) as raised:
        segment(image, 3, channel_axis=-1, mask=mask)
    assert str(raised.value) == (
        "image has only 2 distinct values inside the mask; a 3-class segmentation needs at "
        "least 3. Lower n_classes."
    )


def test_nan_pixels_are_excluded_like_a_mask():
    image = np.linspace(0, 1, 100).reshape(10, 10)
    image[2, :] = np.nan
    masked = np.isnan(image)
    result = segment(image, 2)
    assert np.all(result.labels[masked] == 0) and np.all(result.labels[~masked] > 0)
    assert result.n_fit_pixels == 90
    with pytest.raises(ValueError) as raised:
        segment(np.full((4, 4), np.nan))
    assert str(raised.value) == "nothing to segment: every pixel is NaN."


def test_huge_image_message(capsys):
    image = np.random.default_rng(0).random((300, 400))
    segment(image, 2, max_pixels=10_000, verbose=True, probabilities=False)
    assert capsys.readouterr().err == (
        "segment: 120,000 pixels; fitting on a random subsample of 10,000 (max_pixels)\n"
    )


def test_other_bad_arguments():
    image = np.random.default_rng(0).random((8, 8))
    cases = {
        "mask has shape (4, 4) but the image's pixels have shape (8, 8); give one boolean per "
        "pixel.": dict(mask=np.ones((4, 4), bool)),
        "nothing to segment: the mask selects no pixel.": dict(mask=np.zeros((8, 8), bool)),
        "n_classes=0 is not valid; give a positive integer or 'auto'.": dict(n_classes=0),
        "image of shape (8, 8, 3) looks like a colour image; pass channel_axis=-1 (for a volume "
        "of 3 or 4 slices, put the slices first: (Z, H, W)).": dict(image=np.ones((8, 8, 3))),
        "feature 'lab' needs a colour image with 3 (RGB) or 4 (RGBA) channels on "
        "channel_axis=-1; got an image of shape (8, 8). Use features=('intensity',) for a grey "
        "image or ('channels',) for other channels.": dict(features=("lab",)),
        "image has 1 spatial axes (shape (8,), channel_axis=None); give a 2-D image or a 3-D "
        "volume.": dict(image=np.arange(8.0)),
        "image has infinite values; set them to NaN to leave them out.":
            dict(image=np.where(image > 0.5, np.inf, image)),
        "max_pixels=0 must be a positive integer.": dict(max_pixels=0),
        "max_pixels=True must be a positive integer.": dict(max_pixels=True),
    }
    for message, options in cases.items():
        arguments = {"image": image, "n_classes": 2, **options}
        with pytest.raises(ValueError) as raised:
            segment(arguments.pop("image"), arguments.pop("n_classes"), **arguments)
        assert str(raised.value) == message
    with pytest.raises(ValueError, match=r"^no feature called 'nope' \(available: .*intensity"):
        segment(image, 2, features=("nope",))


def test_bias_classes_without_the_bias_field_or_not_a_positive_integer():
    image = np.random.default_rng(0).random((16, 16))
    with pytest.raises(ValueError) as raised:
        segment(image, 3, bias_classes=2)
    assert str(raised.value) == (
        "bias_classes=2 sets how the bias field is estimated; pass bias_field=True too (or "
        "leave bias_classes=None)."
    )
    for wrong in (0, 1.5, True):
        with pytest.raises(ValueError) as raised:
            segment(image, 3, bias_field=True, bias_classes=wrong)
        assert str(raised.value) == (
            f"bias_classes={wrong!r} must be a positive integer (the classes the field is "
            "estimated with, e.g. 2) or None."
        )
