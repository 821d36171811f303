"""What segment reports about its choices (issue 24): colour features by default, the K
table of -k auto, collapsed classes, shares before and after smoothing, the 3-D montage."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import json
import warnings

import imageio.v3 as iio
import numpy as np
from gmmkit_image import segment
from gmmkit_image.io import slice_montage
from gmmkit_image.report import (
    SelectionWarning,
    SmoothingShrinkWarning,
    ZeroVarianceClassWarning,
    _ranges,
)
from gmmkit_image.synthetic import piecewise_constant
from helpers import invoke, plugin_cli


@pytest.fixture(scope="module")
def cli():
    return plugin_cli("gmmkit_image")


@pytest.fixture(scope="module")
def black_band(tmp_path_factory):
    """Three noisy grey levels and a band of exactly black pixels (1/6 of the image)."""
    image, _ = piecewise_constant((48, 48), noise=0.05, seed=1)
    image = np.clip(image, 0.01, 1.0)
    image[:8, :] = 0.0
    path = tmp_path_factory.mktemp("band") / "band.npy"
    np.save(path, image)
    return image, path


def recorded(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, caught


def agreement(labels, truth):
    """Share of pixels two 2-class labellings agree on, up to swapping the classes."""
    same = np.mean(labels - 1 == truth)
    return max(same, 1 - same)


def test_a_colour_image_is_segmented_on_colour_by_default():
    """Red and green of the same luminance: grey level cannot tell them apart, lab can."""
    rng = np.random.default_rng(0)
    red, green = np.array([0.8, 0.2, 0.2]), np.array([0.2, 0.5, 0.2])
    grey = np.array([0.2125, 0.7154, 0.0721])
    green = green * (red @ grey) / (green @ grey)  # the same luminance
    truth = np.zeros((30, 30), int)
    truth[:, 15:] = 1
    image = np.where(truth[..., None] == 1, green, red) + rng.normal(0, 0.02, (30, 30, 3))
    image = np.clip(image, 0, 1)
    result = segment(image, 2, channel_axis=-1)
    assert result.features == ("lab",)
    assert agreement(result.labels, truth) > 0.99
    grey_result = segment(image, 2, channel_axis=-1, features=("intensity",))
    assert grey_result.features == ("intensity",)
    assert agreement(grey_result.labels, truth) < 0.8
    # the bias field models one intensity: the grey level
    assert segment(image, 2, channel_axis=-1, bias_field=True).features == ("intensity",)
    assert segment(image[..., 0], 2).features == ("intensity",)


def test_k_auto_says_which_k_were_refused_and_why(black_band):
    image, _ = black_band
    result, caught = recorded(lambda: segment(image, "auto"))
    statuses = {row["k"]: row["status"] for row in result.selection}
    chosen = result.n_classes
    assert statuses[chosen] == "chosen" and 2 <= chosen <= 3
    assert all(statuses[k] == "higher BIC" for k in range(1, chosen))
    assert all(statuses[k] == "rejected: a class collapsed (zero variance)"
               for k in range(chosen + 1, 11))
    bics = {row["k"]: row["bic"] for row in result.selection}
    assert all(bics[k] < bics[chosen] for k in range(chosen + 1, 11))  # refused, not worse
    messages = [str(w.message) for w in caught if w.category is SelectionWarning]
    assert messages == [
        f"n_classes='auto' chose K={chosen}: K={chosen + 1}-10 had a lower BIC but a class "
        "collapsed onto pixels of one value (the commonest value, 0, is 16.7% of the pixels) "
        "and was refused. Leave those pixels out with a mask to compare larger K fairly."
    ]
    # without the black band nothing collapses and nothing is said
    masked, caught = recorded(lambda: segment(image, "auto", mask=image > 0))
    assert not [w for w in caught if w.category is SelectionWarning]
    assert all(not row["status"].startswith("rejected") for row in masked.selection)
    assert masked.n_classes == 3  # the three grey levels


def test_k_auto_warns_when_it_stops_at_the_largest_k():
    rng = np.random.default_rng(3)
    levels = np.repeat(np.linspace(0, 1, 12), 300)  # 12 well separated grey levels
    image = (levels + rng.normal(0, 0.005, levels.size)).reshape(60, 60)
    result, caught = recorded(lambda: segment(image, "auto"))
    assert result.n_classes == 10
    assert [str(w.message) for w in caught if w.category is SelectionWarning] == [
        "n_classes='auto' chose K=10, the largest it tries (10 of 10): more classes may fit "
        "better still. Give K explicitly to go beyond."
    ]


def test_an_explicit_k_with_a_zero_variance_class_warns(black_band):
    image, _ = black_band
    result, caught = recorded(lambda: segment(image, 4))
    assert [str(w.message) for w in caught if w.category is ZeroVarianceClassWarning] == [
        "class 1 of 4 has zero variance: it sits on pixels that all have one value (the "
        "commonest value, 0, is 16.7% of the pixels), so its likelihood is unbounded and it "
        "takes only those pixels. Leave them out with a mask, or use fewer classes."
    ]
    assert np.all(result.labels[:8] == 1) and np.sum(result.labels == 1) == 8 * 48
    # a label image (every class one value) fits exactly: no warning
    _, caught = recorded(lambda: segment(np.repeat([0.0, 0.5, 1.0], 100).reshape(15, 20), 3))
    assert not [w for w in caught if w.category is ZeroVarianceClassWarning]


def test_shares_before_and_after_smoothing():
    image, _ = piecewise_constant((64, 64), noise=0.17, seed=4)
    result = segment(image, 3, smoothing=True)
    plain = segment(image, 3)
    np.testing.assert_allclose(result.plain_shares,
                               np.bincount(plain.labels.ravel(), minlength=4)[1:] / image.size)
    np.testing.assert_allclose(result.shares,
                               np.bincount(result.labels.ravel(), minlength=4)[1:] / image.size)
    assert plain.plain_shares is None
    halves = np.zeros((40, 40))
    halves[:, 20:] = 1.0
    halves += np.random.default_rng(0).normal(0.0, 0.3, halves.shape)
    shrunk, caught = recorded(lambda: segment(halves, 3, smoothing=1000, method="icm"))
    messages = [str(w.message) for w in caught if w.category is SmoothingShrinkWarning]
    before, after = shrunk.plain_shares[1], shrunk.shares[1]
    assert after < 0.5 * before
    assert messages == [
        f"smoothing (beta=1000, icm) shrank class 2 from {before:.1%} of the pixels (plain "
        f"mixture) to {after:.1%}; the Potts prior is absorbing it into the neighbouring "
        "classes. Use less smoothing or fewer classes if the class is real."
    ]


def test_ranges():
    assert _ranges([4, 5, 6, 8]) == "4-6, 8"
    assert _ranges([2]) == "2"
    assert _ranges([1, 3, 4]) == "1, 3-4"


def test_the_slice_montage_puts_three_physical_slices_side_by_side():
    volume = np.zeros((4, 6, 8, 3))
    volume[2, :, :, 0] = 1.0  # the axial slice through z=2 is red
    volume[:, 3, :, 1] = 1.0  # the coronal slice through y=3 is green
    volume[:, :, 4, 2] = 1.0  # the sagittal slice through x=4 is blue
    picture = slice_montage(volume, (2.0, 1.0, 1.0), at=(2, 3, 4), gap=1)
    # axial 6 x 8; coronal 4 x 8 stretched to 8 x 8 (2 mm slices); sagittal 8 x 6
    assert picture.shape == (8, 8 + 1 + 8 + 1 + 6, 3)
    assert np.all(picture[1:7, :8, 0] == 1)  # the axial panel (6 rows, centred)
    assert np.all(picture[:, 9:17, 1] == 1) and np.all(picture[:, 18:, 2] == 1)
    assert np.all(picture[:, 8] == 0) and np.all(picture[:, 17] == 0)  # the gaps
    with pytest.raises(ValueError) as raised:
        slice_montage(np.zeros((4, 5, 3)))
    assert str(raised.value) == "volume has shape (4, 5, 3); give an RGB volume (Z, Y, X, 3)."


# ----------------------------------------------------------------------- CLI


def test_cli_colour_default_and_features_option(cli, tmp_path):
    rng = np.random.default_rng(0)
    picture = np.clip(np.array([[200, 40, 40]]) + rng.normal(0, 5, (400, 3)), 0, 255)
    picture[200:] = np.clip(np.array([40, 90, 40]) + rng.normal(0, 5, (200, 3)), 0, 255)
    iio.imwrite(tmp_path / "rg.png", picture.reshape(20, 20, 3).astype(np.uint8))
    auto = invoke(cli, "image", "segment", tmp_path / "rg.png", "-k", 2, "--json", "-q")
    assert auto.exit_code == 0, auto.output
    assert json.loads(auto.stdout)["features"] == ["lab"]
    grey = invoke(cli, "image", "segment", tmp_path / "rg.png", "-k", 2, "-q",
                  "--features", "intensity")
    assert grey.stdout.splitlines()[0].endswith("2 classes from intensity")
    assert grey.stdout.splitlines()[2].split()[-2:] == ["mean", "colour"]  # colour: the column


def test_cli_k_auto_prints_the_table_and_warns_in_cli_words(cli, black_band):
    _, path = black_band
    result = invoke(cli, "image", "segment", path, "-k", "auto", "-q")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("-k auto: K tried (BIC, lower is better)")
    assert lines[start + 1].split() == ["K", "BIC", "log-likelihood", "status"]
    rows = [line.split(None, 3) for line in lines[start + 2:start + 12]]
    assert [int(r[0]) for r in rows] == list(range(1, 11))
    chosen = [int(r[0]) for r in rows if r[3] == "chosen"]
    assert len(chosen) == 1 and lines[0].endswith(f"{chosen[0]} classes from intensity")
    one = invoke(cli, "image", "segment", path, "-k", 1, "-q")
    assert one.stdout.splitlines()[0] == f"{path}: 48 x 48, 1 class from intensity"
    assert rows[5][3] == "rejected: a class collapsed (zero variance)"
    assert result.stderr == (
        f"Warning: -k auto chose K={chosen[0]}: K={chosen[0] + 1}-10 had a lower BIC but a "
        "class collapsed onto pixels of one value (the commonest value, 0, is 16.7% of the "
        "pixels) and was refused. Leave those pixels out with --mask to compare larger K "
        "fairly.\n"
    )
    as_json = json.loads(invoke(cli, "image", "segment", path, "-k", "auto", "-q",
                                "--json").stdout)
    assert [row["k"] for row in as_json["selection"]] == list(range(1, 11))
    assert [row["k"] for row in as_json["selection"] if row["chosen"]] == chosen
    explicit = invoke(cli, "image", "segment", path, "-k", 4, "-q")
    assert explicit.stderr.startswith("Warning: class 1 of 4 has zero variance")
    assert explicit.stderr.endswith("Leave them out with --mask, or use fewer classes.\n")


def test_cli_volume_says_voxels_and_writes_a_montage_overlay(cli, tmp_path):
    volume, _ = piecewise_constant((10, 20, 24), noise=0.03)
    np.save(tmp_path / "volume.npy", volume.astype(np.float32))
    result = invoke(cli, "image", "segment", tmp_path / "volume.npy", "-k", 3, "-q",
                    "--overlay", tmp_path / "overlay.png", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["unit"] == "voxels"
    picture = iio.imread(tmp_path / "overlay.png")
    assert picture.shape == (20, 24 + 4 + 24 + 4 + 20, 3)  # one frame: three slices
    text = invoke(cli, "image", "segment", tmp_path / "volume.npy", "-k", 3, "-q")
    assert text.stdout.splitlines()[2].split() == ["class", "voxels", "fraction", "volume",
                                                   "mean", "grey"]


def test_cli_hmrf_max_pixels(cli, tmp_path):
    image, _ = piecewise_constant((60, 60), noise=0.17, seed=4)
    np.save(tmp_path / "grey.npy", image)
    result = invoke(cli, "image", "segment", tmp_path / "grey.npy", "-k", 3, "--smooth", 1,
                    "--hmrf-max-pixels", 1000, "--max-pixels", 500, "-o",
                    tmp_path / "labels.npy")
    assert result.exit_code == 0, result.output
    assert "segment: HMRF-EM on a coarse grid (stride 3: 400 of 3,600 pixels), then 2 sweeps " \
           "at full resolution" in result.stderr
    expected = segment(image, 3, smoothing=1.0, hmrf_max_pixels=1000, max_pixels=500)
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), expected.labels)
    bad = invoke(cli, "image", "segment", tmp_path / "grey.npy", "--hmrf-max-pixels", 0)
    assert bad.exit_code == 2 and "0 is not in the range x>=1" in bad.output


def test_montage_of_a_volume_result_and_its_refusal_for_a_2d_one():
    volume, _ = piecewise_constant((6, 10, 12), noise=0.03)
    result = segment(volume, 3, spacing=(2.0, 1.0, 1.0))
    picture = result.montage()
    # axial 10 x 12; coronal 6 x 12 at 2 mm -> 12 x 12; sagittal 12 x 10; gaps of 4
    assert picture.shape == (12, 12 + 4 + 12 + 4 + 10, 3)
    assert picture.min() >= 0 and picture.max() <= 1
    flat = segment(volume[0], 2)
    with pytest.raises(ValueError) as raised:
        flat.montage()
    assert str(raised.value) == ("montage() shows a 3-D volume; these labels have shape "
                                 "(10, 12) (use overlay() for a 2-D image).")


def test_every_image_option_has_a_help_text(cli):
    group = cli.commands["image"]
    missing = [f"{name} {param.opts[-1]}" for name, command in group.commands.items()
               for param in command.params
               if param.param_type_name == "option" and not getattr(param, "help", None)]
    assert missing == []


def test_covariance_type_takes_mclusts_models(cli, tmp_path):
    """Issue 17: the image command takes the core's 20 covariance names, as `gmmkit fit` does;
    a colour image with EEI gives Python's labels, the grey level takes E."""
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(0.5, 0.05, (24, 24, 3)) + (np.arange(24) >= 12)[:, None, None]
                    * 0.3, 0, 1)
    path = tmp_path / "colour.npy"
    np.save(path, image)
    out = tmp_path / "labels.npy"
    result = invoke(cli, "image", "segment", path, "-k", 2, "--covariance-type", "EEI",
                    "--channel-axis", "-1", "-o", out, "-q", "--seed", 0)
    assert result.exit_code == 0, result.output
    expected = segment(image, 2, channel_axis=-1, covariance_type="EEI", random_state=0)
    np.testing.assert_array_equal(np.load(out), expected.labels)
    grey = tmp_path / "grey.npy"
    np.save(grey, image[..., 0])
    result = invoke(cli, "image", "segment", grey, "-k", 2, "--covariance-type", "E", "-q")
    assert result.exit_code == 0, result.output
    result = invoke(cli, "image", "segment", grey, "-k", 2, "--covariance-type", "round")
    assert result.exit_code == 2 and "'round' is not one of" in result.output
