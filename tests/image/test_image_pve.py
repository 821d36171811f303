"""Partial-volume fractions (gmmkit_image.pve): the mixel model against direct integrals."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import numpy as np
from gmmkit_image import segment
from gmmkit_image.mrf import Lattice
from gmmkit_image.phantom import tissue_phantom
from gmmkit_image.pve import mixed_class, partial_volume_fractions
from scipy.integrate import quad
from scipy.stats import norm

from gmmkit import GaussianMixture


@pytest.mark.parametrize("x", [0.2, 0.45, 0.61, 0.9, 1.4])
def test_the_mixed_class_density_and_expected_fraction_match_numerical_integrals(x):
    mean_a, mean_b, variance = 0.85, 0.6, 0.03**2

    def integrand(alpha, power):
        return alpha**power * norm.pdf(x, alpha * mean_a + (1 - alpha) * mean_b,
                                       np.sqrt(variance))

    density = quad(integrand, 0, 1, args=(0,), epsabs=1e-300, limit=200)[0]
    first = quad(integrand, 0, 1, args=(1,), epsabs=1e-300, limit=200)[0]
    log_density, alpha = mixed_class(np.array([x]), mean_a, mean_b, variance)
    assert log_density[0] == pytest.approx(np.log(density), rel=1e-9, abs=1e-9)
    assert alpha[0] == pytest.approx(first / density, abs=1e-9)


def test_a_far_intensity_keeps_finite_densities_and_fractions():
    log_density, alpha = mixed_class(np.array([-50.0, 80.0]), 0.85, 0.6, 0.03**2)
    assert np.all(np.isfinite(log_density)) and np.all(log_density < -1e5)
    np.testing.assert_allclose(alpha, [0.0, 1.0], atol=1e-3)  # the truncated normal tails


def test_fractions_add_up_to_one_and_interiors_are_pure():
    rng = np.random.default_rng(0)
    truth = np.zeros((40, 40), dtype=int)
    truth[:, 20:] = 1
    image = np.where(truth == 1, 0.8, 0.2) + rng.normal(0, 0.03, truth.shape)
    image[:, 20] = 0.5 + rng.normal(0, 0.03, 40)  # a column of half-and-half pixels
    X = image.reshape(-1, 1)
    model = GaussianMixture(2, random_state=0).fit(X)
    order = np.argsort(model.means_[:, 0])
    model = model.with_parameters(model.weights_[order], model.means_[order],
                                  model.covariances_[order])
    posteriors = model.predict_proba(X)
    fractions = partial_volume_fractions(X[:, 0], posteriors, model,
                                         Lattice.from_mask(np.ones(image.shape, bool)))
    fractions = fractions.reshape(40, 40, 2)
    np.testing.assert_allclose(fractions.sum(axis=-1), 1.0)
    assert fractions.min() >= 0 and fractions.max() <= 1
    assert np.all(fractions[:, :15, 0] > 0.99) and np.all(fractions[:, 25:, 1] > 0.99)
    assert np.mean(fractions[:, 20, 1]) == pytest.approx(0.5, abs=0.05)
    # the plain labels count the half pixels whole; the fractions split them
    assert fractions[..., 1].sum() == pytest.approx(19.5 * 40, rel=0.01)


def test_partial_volume_maps_on_the_result_and_volumes_in_spacing_units():
    phantom = tissue_phantom((20, 24, 22), noise=0.05, seed=3)
    result = segment(phantom.image, 3, mask=phantom.mask, smoothing=True, partial_volume=True,
                     spacing=(2.0, 1.0, 1.5))
    maps = result.partial_volume
    assert maps.shape == (20, 24, 22, 3) and maps.dtype == np.float32
    np.testing.assert_allclose(maps[phantom.mask].sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(maps[~phantom.mask] == 0)
    np.testing.assert_allclose(result.volumes, maps.reshape(-1, 3).sum(axis=0) * 3.0,
                               rtol=1e-6)
    counts = np.bincount(result.labels.ravel(), minlength=4)[1:]
    without = segment(phantom.image, 3, mask=phantom.mask, spacing=(2.0, 1.0, 1.5))
    np.testing.assert_allclose(without.volumes,
                               np.bincount(without.labels.ravel(), minlength=4)[1:] * 3.0)
    assert without.partial_volume is None and counts.sum() == phantom.mask.sum()


def test_partial_volume_needs_one_intensity():
    rgb = np.random.default_rng(0).random((10, 10, 3))
    with pytest.raises(ValueError) as raised:
        segment(rgb, 2, channel_axis=-1, features=("rgb",), partial_volume=True)
    assert str(raised.value) == (
        "partial_volume=True models one intensity per pixel, but features=('rgb',) give 3 "
        "feature(s); use features=('intensity',) (colour images are turned into grey)."
    )
