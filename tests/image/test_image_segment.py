"""gmmkit_image.segment(): labels, probabilities, classes, image kinds, subsampling."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import numpy as np
from gmmkit_image import segment
from gmmkit_image.features import FEATURES
from gmmkit_image.synthetic import piecewise_constant
from scipy.special import logsumexp
from skimage.color import rgb2gray, rgb2lab

from gmmkit import GaussianMixture


def test_grey_image_classes_are_ordered_by_intensity_and_match_the_model():
    image, truth = piecewise_constant((48, 48), noise=0.05)
    result = segment(image, 3)
    assert result.labels.shape == image.shape and result.labels.dtype == np.int32
    assert set(np.unique(result.labels)) == {1, 2, 3}
    assert np.mean(result.labels == truth) > 0.99
    means = result.model.means_[:, 0]
    assert np.all(np.diff(means) > 0)  # component k-1 is class k, darkest first
    np.testing.assert_allclose(means, [0.2, 0.5, 0.8], atol=0.01)
    # every pixel is labelled with the model's most probable component
    np.testing.assert_array_equal(result.labels.ravel(),
                                  result.model.predict(image.reshape(-1, 1)) + 1)
    assert result.probabilities.shape == (48, 48, 3)
    np.testing.assert_allclose(result.probabilities.sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(result.probabilities.argmax(axis=-1) + 1, result.labels)


def test_the_fit_equals_a_gaussian_mixture_on_the_seeded_subsample():
    image, _ = piecewise_constant((60, 60))
    result = segment(image, 2, max_pixels=500, random_state=3)
    assert result.n_fit_pixels == 500
    np.testing.assert_array_equal(result.labels,
                                  segment(image, 2, max_pixels=500, random_state=3).labels)
    # the documented recipe: 500 pixels drawn by default_rng(3), then the mixture seeded from it
    rng = np.random.default_rng(3)
    rows = np.sort(rng.choice(3600, 500, replace=False, shuffle=False))
    X = image.reshape(-1, 1)[rows]
    model = GaussianMixture(2, reg_covar=1e-6 * X.var(), random_state=int(
        rng.integers(2**31 - 1))).fit(X)
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(result.model.means_, model.means_[order], rtol=1e-12)
    np.testing.assert_allclose(result.model.covariances_, model.covariances_[order],
                               rtol=1e-12)
    other = segment(image, 2, max_pixels=500, random_state=4)
    assert not np.allclose(other.model.means_, result.model.means_, rtol=1e-6)


def test_mask_and_nan_pixels_get_label_zero_and_are_left_out_of_the_fit():
    image, truth = piecewise_constant((40, 40), noise=0.05)
    mask = np.zeros(image.shape, bool)
    mask[5:35, 5:35] = True
    holes = image.copy()
    holes[0:3] = np.nan
    result = segment(holes, 3, mask=mask)
    assert np.all(result.labels[~mask] == 0)
    assert np.all(result.labels[mask] >= 1)
    assert np.all(result.probabilities[~mask] == 0)
    inside = segment(image[mask].reshape(30, 30), 3)
    np.testing.assert_allclose(np.sort(result.model.means_[:, 0]),
                               np.sort(inside.model.means_[:, 0]), atol=0.01)
    nan_only = segment(holes, 3)
    assert np.all(nan_only.labels[0:3] == 0) and np.all(nan_only.labels[3:] > 0)


def test_rgb_rgba_sixteen_bit_and_float_images():
    rng = np.random.default_rng(0)
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=np.uint8)
    truth = np.repeat(np.arange(3), 400).reshape(30, 40)
    rgb = np.clip(colours[truth] + rng.normal(0, 8, (30, 40, 3)), 0, 255).astype(np.uint8)
    by_lab = segment(rgb, 3, features=("lab",), channel_axis=-1)
    # classes ordered by luminance: blue (darkest), red, green
    order = np.argsort(rgb2gray(colours[None].astype(float) / 255)[0]) + 1
    rank = np.empty(3, int)
    rank[order - 1] = np.arange(1, 4)
    np.testing.assert_array_equal(by_lab.labels, rank[truth])
    rgba = np.concatenate([rgb, np.full((30, 40, 1), 7, np.uint8)], axis=-1)
    np.testing.assert_array_equal(segment(rgba, 3, features=("rgb",), channel_axis=-1).labels,
                                  by_lab.labels)
    channels_first = np.moveaxis(rgb, -1, 0)
    np.testing.assert_array_equal(
        segment(channels_first, 3, features=("lab",), channel_axis=0).labels, by_lab.labels)
    grey16 = (rgb2gray(rgb) * 65535).astype(np.uint16)
    as_float = grey16 / 65535.0
    np.testing.assert_array_equal(segment(grey16, 3).labels, segment(as_float, 3).labels)
    overlay = by_lab.overlay()
    assert overlay.shape == (30, 40, 3) and 0 <= overlay.min() and overlay.max() <= 1


def test_volume_and_multichannel_and_auto_classes():
    volume, truth = piecewise_constant((16, 20, 24), noise=0.04)
    result = segment(volume, 3)
    assert result.labels.shape == volume.shape and np.mean(result.labels == truth) > 0.99
    assert result.overlay().shape == (16, 20, 24, 3)
    two = np.stack([volume, 0.5 * volume], axis=-1)
    multi = segment(two, 3, features=("channels",), channel_axis=-1)
    assert np.mean(multi.labels == truth) > 0.99
    auto = segment(piecewise_constant((40, 40), noise=0.03)[0], "auto")
    assert auto.n_classes == 3


def test_feature_extractors_against_scikit_image_and_closed_forms():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (5, 7, 3)).astype(np.uint8)
    np.testing.assert_allclose(FEATURES["rgb"](rgb), rgb.reshape(-1, 3) / 255.0)
    np.testing.assert_allclose(FEATURES["lab"](rgb), rgb2lab(rgb).reshape(-1, 3) / 100)
    np.testing.assert_allclose(FEATURES["intensity"](rgb, channel_axis=-1)[:, 0],
                               rgb2gray(rgb).ravel())
    xy = FEATURES["xy"](np.zeros((3, 5)), weight=2.0)
    np.testing.assert_allclose(xy[7], [1.0, 1.0])  # row 1 of 0..2, column 2 of 0..4
    assert FEATURES["xy"](np.zeros((2, 3, 4))).shape == (24, 3)
    flat = np.full((9, 9), 0.4)
    texture = FEATURES["texture"](flat, scales=(1.0, 2.0))
    np.testing.assert_allclose(texture, np.tile([0.4, 0.4, 0.0, 0.0], (81, 1)), atol=1e-7)
    stripes = np.tile([0.0, 1.0], (16, 8))
    centre = FEATURES["texture"](stripes, scales=(3.0,)).reshape(16, 16, 2)[8, 8]
    np.testing.assert_allclose(centre, [0.5, 0.5], atol=0.02)  # local mean and std of 0/1
    gabor = FEATURES["gabor"](stripes, frequencies=(0.5, 0.1)).reshape(16, 16, 2)
    assert gabor[8, 8, 0] > gabor[8, 8, 1]  # stripes of period 2 answer at 0.5 cycles/pixel


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_component_log_densities_add_up_to_score_samples(covariance_type):
    X = np.random.default_rng(0).normal(size=(300, 3)) * [1, 2, 3]
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    joint = model.component_log_densities(X) + np.log(model.weights_)
    np.testing.assert_allclose(logsumexp(joint, axis=1), model.score_samples(X), rtol=1e-10)


def _peak_memory(function):
    import tracemalloc

    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.filterwarnings("ignore::gmmkit.ConvergenceWarning")
def test_huge_image_is_fitted_on_a_subsample_in_bounded_memory():
    image = np.random.default_rng(0).random((600, 600))
    result = segment(image, 2, max_pixels=5000, probabilities=False, max_iter=5)
    assert result.n_fit_pixels == 5000 and result.probabilities is None
    options = {"max_pixels": 5000, "probabilities": False, "max_iter": 5}
    small = _peak_memory(lambda: segment(image, 2, **options))
    large = _peak_memory(lambda: segment(image, 12, **options))
    # posteriors of every pixel at once would add 8 bytes x 10 classes a pixel (28.8 MB)
    assert large - small < 0.25 * image.size * 10 * 8, (small, large)
    assert small < 40 * image.size, small


def test_the_field_from_fewer_classes_on_a_colour_image_segments_its_grey_level():
    """bias_classes: the second fit models the corrected grey level too, not lab colour."""
    image, _ = piecewise_constant((40, 48), noise=0.04, seed=3)
    ramp = np.linspace(0.8, 1.2, 48)[None, :]
    rgb = np.clip(image * ramp, 0, 1)[..., None] * np.array([1.0, 0.8, 0.6])
    result = segment(rgb, 3, channel_axis=-1, smoothing=0.5, bias_field=True, bias_classes=2)
    assert result.features == ("intensity",)
    assert result.corrected.shape == rgb.shape and result.bias_field.shape == (40, 48)
    np.testing.assert_allclose(result.corrected, rgb / result.bias_field[..., None])
    assert result.image is not result.corrected and result.image.shape == rgb.shape
    two = segment(rgb, 2, channel_axis=-1, smoothing=0.5, bias_field=True)
    again = segment(two.corrected, 3, channel_axis=-1, smoothing=0.5, features=("intensity",))
    np.testing.assert_array_equal(result.labels, again.labels)
