"""Label post-processing: small regions, relabelling, per-class statistics, I/O."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import numpy as np
from gmmkit_image import class_statistics, read_image, relabel, remove_small_regions, write_labels
from gmmkit_image.io import label_colours, read_frames
from PIL import Image

import gmmkit
from gmmkit.plugins import make_plugin_manager, use_plugin_manager


def test_small_regions_take_the_class_around_them_and_zero_stays():
    labels = np.ones((12, 12), int)
    labels[:, 6:] = 2
    labels[2:4, 2:4] = 3          # 4 pixels inside class 1
    labels[8, 9] = 1              # 1 pixel inside class 2
    labels[0, :] = 0              # outside the mask
    labels[6:9, 0:3] = 0
    cleaned = remove_small_regions(labels, 5)
    expected = labels.copy()
    expected[2:4, 2:4] = 1
    expected[8, 9] = 2
    np.testing.assert_array_equal(cleaned, expected)
    np.testing.assert_array_equal(remove_small_regions(labels, 1), labels)
    volume = np.ones((5, 5, 5), int)
    volume[2, 2, 2] = 2
    assert np.all(remove_small_regions(volume, 2) == 1)


def test_relabel_by_area_and_by_intensity_drops_empty_classes():
    labels = np.array([[0, 1, 1, 3], [3, 3, 3, 3], [5, 5, 5, 0]])
    np.testing.assert_array_equal(relabel(labels, by="area"),
                                  [[0, 3, 3, 1], [1, 1, 1, 1], [2, 2, 2, 0]])
    image = np.array([[0.0, 0.9, 0.9, 0.1], [0.1, 0.1, 0.1, 0.1], [0.5, 0.5, 0.5, 0.0]])
    np.testing.assert_array_equal(relabel(labels, by="intensity", image=image),
                                  [[0, 3, 3, 1], [1, 1, 1, 1], [2, 2, 2, 0]])
    with pytest.raises(ValueError, match="^relabel\\(by='intensity'\\) needs the image"):
        relabel(labels, by="intensity")


def test_class_statistics_count_pixels_and_mean_colour():
    image = np.zeros((2, 3, 3), np.uint8)
    image[0] = (255, 0, 0)
    image[1, :2] = (0, 0, 255)
    labels = np.array([[1, 1, 1], [2, 2, 0]])
    rows = class_statistics(labels, image, channel_axis=-1, n_classes=3)
    assert [row["pixels"] for row in rows] == [3, 2, 0]
    np.testing.assert_allclose(rows[0]["mean"], [1, 0, 0])
    np.testing.assert_allclose(rows[1]["mean"], [0, 0, 1])
    assert rows[0]["fraction"] == 0.6 and np.isnan(rows[2]["mean_grey"])
    np.testing.assert_allclose(rows[0]["mean_grey"], 0.2125, atol=1e-4)  # rgb2gray of red


def test_registered_postprocessors_in_a_pipeline():
    import gmmkit_image

    rng = np.random.default_rng(0)
    image = np.where(np.arange(40)[None, :] < 20, 0.2, 0.8) + rng.normal(0, 0.02, (30, 40))
    image[5, 5] = 0.8  # one bright speck in the dark half
    pm = make_plugin_manager(entry_points=False)
    pm.add_plugin(gmmkit_image, "gmmkit_image")
    with use_plugin_manager(pm):
        result = gmmkit.run_pipeline(
            image, features=["intensity"], model=gmmkit.GaussianMixture(2, random_state=0),
            postprocessors=["label_image", ("remove_small_regions", {"min_size": 3}),
                            "class_statistics", ("relabel", {"by": "area"})],
        )
    out = result.outputs
    assert out["label_image"][5, 5] == 2 and out["remove_small_regions"][5, 5] == 1
    assert [row["pixels"] for row in out["class_statistics"]] == [599, 601]
    np.testing.assert_array_equal(out["relabel"], 3 - out["label_image"])  # bright is larger


def test_label_png_round_trip_keeps_values_and_shows_colours(tmp_path):
    labels = np.arange(12).reshape(3, 4) % 5
    write_labels(tmp_path / "labels.png", labels)
    with Image.open(tmp_path / "labels.png") as picture:
        assert picture.mode == "P"
        np.testing.assert_array_equal(np.asarray(picture), labels)
        palette = np.array(picture.getpalette()[:15]).reshape(5, 3)
    np.testing.assert_array_equal(palette[0], [0, 0, 0])
    np.testing.assert_array_equal(palette[1:], np.round(label_colours(4) * 255))
    assert len({tuple(row) for row in palette}) == 5  # distinct colours
    shown = read_image(tmp_path / "labels.png")  # imageio shows the colours
    assert shown.shape == (3, 4, 3)
    volume = np.arange(24).reshape(2, 3, 4) % 3
    write_labels(tmp_path / "labels.tif", volume)
    np.testing.assert_array_equal(read_image(tmp_path / "labels.tif"), volume)
    write_labels(tmp_path / "labels.npy", volume)
    np.testing.assert_array_equal(read_image(tmp_path / "labels.npy"), volume)
    with pytest.raises(ValueError, match="write a volume as .tif or .npy"):
        write_labels(tmp_path / "volume.png", volume)


def test_frames_from_a_folder_and_a_gif(tmp_path):
    import imageio.v3 as iio

    frames = [np.full((4, 6, 3), 40 * i, np.uint8) for i in range(3)]
    for i, frame in enumerate(frames):
        iio.imwrite(tmp_path / f"frame_{i:03d}.png", frame)
    read = list(read_frames(tmp_path))
    np.testing.assert_array_equal(np.stack(read), np.stack(frames))
    iio.imwrite(tmp_path / "clip.gif", np.stack(frames))
    assert len(list(read_frames(tmp_path / "clip.gif"))) == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no image files"):
        list(read_frames(tmp_path / "empty"))
