"""`gmmkit image segment` and `gmmkit image background` (click's runner, fresh plugin manager)."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import json

import imageio.v3 as iio
import numpy as np
from gmmkit_image import segment
from gmmkit_image.synthetic import moving_objects_video, piecewise_constant
from helpers import invoke, plugin_cli
from PIL import Image


@pytest.fixture(scope="module")
def cli():
    return plugin_cli("gmmkit_image")


run = invoke


@pytest.fixture(scope="module")
def noisy_png(tmp_path_factory):
    image, truth = piecewise_constant((64, 64), noise=0.17, seed=4)
    path = tmp_path_factory.mktemp("images") / "noisy.png"
    iio.imwrite(path, np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    return path, truth


def test_segment_writes_labels_overlay_and_probabilities(cli, noisy_png, tmp_path):
    path, truth = noisy_png
    result = run(cli, "image", "segment", path, "-k", 3, "--smooth", 1.0, "-q",
                 "-o", tmp_path / "labels.png", "--overlay", tmp_path / "overlay.png",
                 "--probabilities", tmp_path / "probs.npz")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    with Image.open(tmp_path / "labels.png") as picture:
        labels = np.asarray(picture)
    expected = segment(iio.imread(path), 3, smoothing=1.0)
    np.testing.assert_array_equal(labels, expected.labels)
    assert np.mean(labels != truth) < 0.1
    assert iio.imread(tmp_path / "overlay.png").shape == (64, 64, 3)
    with np.load(tmp_path / "probs.npz") as maps:
        assert sorted(maps.files) == ["class_1", "class_2", "class_3"]
        np.testing.assert_allclose(maps["class_2"], expected.probabilities[..., 1])
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}: 64 x 64, 3 classes from intensity, smoothing beta=1"
    # a grey image: no colour column; the share of each class before the smoothing
    assert lines[2].split() == ["class", "pixels", "fraction", "before", "smoothing", "volume",
                                "mean", "grey"]
    assert lines[-1] == f"probabilities written to {tmp_path / 'probs.npz'}"


def test_segment_with_the_field_from_fewer_classes(cli, noisy_png, tmp_path):
    path, _ = noisy_png
    result = run(cli, "image", "segment", path, "-k", 3, "--smooth", 0.5, "--bias-field",
                 "--bias-classes", 2, "--json", "-q", "-o", tmp_path / "labels.npy",
                 "--field", tmp_path / "field.npy")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["bias_field"] is True and summary["bias_classes"] == 2
    expected = segment(iio.imread(path), 3, smoothing=0.5, bias_field=True, bias_classes=2)
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), expected.labels)
    np.testing.assert_allclose(np.load(tmp_path / "field.npy"), expected.bias_field)
    two = segment(iio.imread(path), 2, smoothing=0.5, bias_field=True)
    np.testing.assert_array_equal(expected.bias_field, two.bias_field)


def test_segment_json_colour_features_and_progress(cli, tmp_path):
    rng = np.random.default_rng(0)
    colours = np.array([[220, 40, 40], [40, 40, 220]], np.uint8)
    halves = colours[np.arange(600).reshape(20, 30) // 300]
    picture = np.clip(halves + rng.normal(0, 5, (20, 30, 3)), 0, 255).astype(np.uint8)
    iio.imwrite(tmp_path / "two.png", picture)
    result = run(cli, "image", "segment", tmp_path / "two.png", "-k", 2, "--features", "lab,xy",
                 "--json", "--max-pixels", 100)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["channel_axis"] == -1 and summary["features"] == ["lab", "xy"]
    assert summary["n_fit_pixels"] == 100
    assert [row["pixels"] for row in summary["classes"]] == [300, 300]
    assert summary["classes"][0]["mean"][2] > 0.8  # class 1 (darker) is the blue half
    assert "fitting on a random subsample of 100 (max_pixels)" in result.stderr


def test_segment_a_tiff_volume_with_a_mask(cli, tmp_path):
    volume, truth = piecewise_constant((8, 20, 24), noise=0.03)
    iio.imwrite(tmp_path / "volume.tif", volume.astype(np.float32))
    mask = np.ones(volume.shape, np.uint8)
    mask[:, :2] = 0
    np.save(tmp_path / "mask.npy", mask)
    result = run(cli, "image", "segment", tmp_path / "volume.tif", "-k", 3, "-q",
                 "--mask", tmp_path / "mask.npy", "-o", tmp_path / "labels.tif")
    assert result.exit_code == 0, result.output
    labels = iio.imread(tmp_path / "labels.tif")
    assert labels.shape == volume.shape and np.all(labels[:, :2] == 0)
    assert np.mean(labels[:, 2:] == truth[:, 2:]) > 0.99


def test_segment_errors_are_one_line(cli, tmp_path):
    (tmp_path / "notes.png").write_text("hello")
    bad = run(cli, "image", "segment", tmp_path / "notes.png", "-q")
    assert bad.exit_code == 1 and bad.output == (
        f"Error: cannot read {str(tmp_path / 'notes.png')!r} as an image (not a known image "
        "format); give a PNG, JPEG or TIFF file or a .npy array.\n"
    )
    iio.imwrite(tmp_path / "flat.png", np.full((5, 5), 9, np.uint8))
    flat = run(cli, "image", "segment", tmp_path / "flat.png", "-k", 2, "-q")
    assert flat.exit_code == 1 and flat.output == (
        "Error: image has only 1 distinct value; a 2-class segmentation needs at least 2. "
        "Lower n_classes.\n"
    )
    assert run(cli, "image", "segment", tmp_path / "flat.png", "-k", "x").exit_code == 2


def strict_json(text):
    """json.loads that refuses NaN and Infinity, as allow_nan=False writers promise."""
    def refuse(constant):
        raise ValueError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_segment_json_stays_valid_when_smoothing_empties_a_class(cli, tmp_path):
    """An emptied class used to print NaN (invalid JSON); its statistics are null now.

    --smooth 1000 --method icm used to empty the middle class of two noisy halves
    (the mixing weights fed the larger classes); with the Potts prior as the only
    spatial prior it keeps its pixels, and --min-region is what empties one here.
    """
    rng = np.random.default_rng(0)
    image = np.zeros((40, 40))
    image[:, 20:] = 1.0
    np.save(tmp_path / "halves.npy", image + rng.normal(0.0, 0.3, image.shape))
    result = run(cli, "image", "segment", tmp_path / "halves.npy", "--smooth", 1000,
                 "--method", "icm", "--json", "-q")
    assert result.exit_code == 0, result.output
    summary = strict_json(result.stdout)
    assert all(row["pixels"] > 0 for row in summary["classes"])
    # the third class of two halves is noise: the smoothing takes most of it, and says so
    shares = [(row["plain_fraction"], row["fraction"]) for row in summary["classes"]]
    assert result.stderr == (
        f"Warning: smoothing (beta=1000, icm) shrank class 2 from {shares[1][0]:.1%} of the "
        f"pixels (plain mixture) to {shares[1][1]:.1%}; the Potts prior is absorbing it into "
        "the neighbouring classes. Use a smaller --smooth or fewer classes if the class is "
        "real.\n"
    )
    assert shares[1][1] < 0.5 * shares[1][0] and shares[0][1] >= 0.5 * shares[0][0]
    spot = np.zeros((40, 40))
    spot[:, 20:], spot[5:8, 5:8] = 1.0, 2.0  # class 3 is one 3 x 3 region
    np.save(tmp_path / "spot.npy", spot)
    merged = run(cli, "image", "segment", tmp_path / "spot.npy", "--min-region", 10, "--json",
                 "-q")
    assert merged.exit_code == 0, merged.output
    assert [c["pixels"] for c in strict_json(merged.stdout)["classes"]] == [800, 800, 0]
    assert merged.stderr == (
        "Warning: class 3 of 3 labels no pixel after --min-region 10 merged its regions into "
        "their neighbours, so its mean colour is undefined (NaN); give a smaller --min-region or "
        "fewer classes.\n"
    )


def test_background_masks_from_a_frame_folder(cli, tmp_path):
    frames, masks = moving_objects_video(n_frames=70, warmup=50, seed=5)
    (tmp_path / "frames").mkdir()
    for i, frame in enumerate(frames):
        iio.imwrite(tmp_path / "frames" / f"f{i:03d}.png", frame)
    result = run(cli, "image", "background", tmp_path / "frames", "-o", tmp_path / "masks",
                 "--background", tmp_path / "bg.png", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_frames"] == 70 and summary["frame_shape"] == [60, 80, 3]
    written = sorted((tmp_path / "masks").glob("mask_*.png"))
    assert len(written) == 70
    found = np.stack([iio.imread(p) for p in written[50:]]) == 255
    truth = np.stack(masks[50:])
    f1 = 2 * np.sum(found & truth) / (found.sum() + truth.sum())
    assert f1 >= 0.9
    assert summary["foreground_fraction"][60] == pytest.approx(found[10].mean())
    assert iio.imread(tmp_path / "bg.png").shape == (60, 80, 3)
    assert "background: 50 frames" in result.stderr
    text = run(cli, "image", "background", tmp_path / "frames", "-o", tmp_path / "m2", "-q")
    first = text.stdout.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'frames'}: 70 frames of 60 x 80 x 3; mean foreground ")
    missing = run(cli, "image", "background", tmp_path / "nothing.mp4", "-o", tmp_path / "m3")
    assert missing.exit_code == 1 and missing.output == (
        f"Error: video {str(tmp_path / 'nothing.mp4')!r} does not exist; give a video file or a "
        "folder of frames.\n"
    )


@pytest.mark.slow
def test_demo_shows_the_coins_without_and_with_the_bias_field(tmp_path):
    from gmmkit_image.demo import coins_demo

    section = coins_demo(tmp_path)
    assert section.figures == ["coins_bias_field.png"]
    assert (tmp_path / "coins_bias_field.png").stat().st_size > 10_000
    header, *rows = section.table
    assert header == ["class", "pixels", "fraction", "mean grey", "pixels without the field"]
    assert len(rows) == 2 and sum(row[1] for row in rows) == 303 * 384
    assert rows[0][3] < rows[1][3]  # mean grey: dark to bright
    # the field moves the bright top of the background out of the coins' class
    assert rows[0][1] > rows[0][4] + 10_000
    # with 3 classes (the field from 2) the background is one class of about 2/3
    assert "bias_classes=2" in section.paragraphs[1]
    assert "(shares 66%, 17%, 17%)" in section.paragraphs[1]
