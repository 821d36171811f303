"""Coarse-to-fine HMRF-EM for big images (gmmkit_image.multiscale)."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import numpy as np
from gmmkit_image import segment
from gmmkit_image.bias import BiasBasis
from gmmkit_image.mrf import Lattice, softmax, sweep
from gmmkit_image.multiscale import _on_grid, grid_sweep, stride_for
from gmmkit_image.phantom import dice, tissue_phantom
from gmmkit_image.synthetic import piecewise_constant


@pytest.mark.parametrize("shape, spacing", [((9, 11), (1.0, 1.0)),
                                            ((5, 6, 7), (1.0, 2.0, 1.5))])
@pytest.mark.parametrize("method", ["mean-field", "icm"])
@pytest.mark.parametrize("full", [True, False])
def test_the_grid_sweep_is_the_row_sweep(shape, spacing, method, full):
    rng = np.random.default_rng(0)
    mask = np.ones(shape, bool) if full else rng.random(shape) > 0.3
    mask[(0,) * len(shape)] = True  # the bounding box starts at the origin: the same colours
    rows = np.flatnonzero(mask)
    log_likelihood = 2 * rng.normal(size=(len(rows), 3))
    posteriors = softmax(rng.normal(size=(len(rows), 3)))
    lattice = Lattice.from_mask(mask, spacing)
    expected = sweep(log_likelihood, posteriors, lattice, beta=0.7, method=method)
    grid = _on_grid(posteriors, rows, shape).copy()
    pairs = grid_sweep(_on_grid(log_likelihood, rows, shape), grid, None if full else mask,
                       lattice.weights, beta=0.7, method=method)
    np.testing.assert_allclose(grid.reshape(3, -1).T[rows], expected.posteriors, atol=1e-12)
    assert np.all(grid.reshape(3, -1).T[~mask.ravel()] == 0)
    assert pairs == pytest.approx(expected.pairs, rel=1e-12)


@pytest.mark.parametrize("shape", [(13, 17), (7, 9, 11)])
def test_the_field_on_a_finer_grid_is_the_same_polynomial(shape):
    rng = np.random.default_rng(1)
    mask = rng.random(shape) > 0.3
    lattice = Lattice.from_mask(mask, (1.0, 2.0, 1.5)[:len(shape)])
    basis = BiasBasis(lattice, 3)
    coefficients = rng.normal(size=basis.size)
    on_grid = basis.apply_on_grid(coefficients, [np.arange(n, dtype=float)
                                                 for n in lattice.shape])
    np.testing.assert_allclose(on_grid.reshape(-1)[lattice.index], basis.apply(coefficients),
                               atol=1e-5)  # apply's rows are float32
    # half-way positions: the polynomial itself, not an interpolation
    half = basis.apply_on_grid(coefficients, [np.arange(2 * n - 1) / 2 for n in lattice.shape])
    np.testing.assert_allclose(half[(slice(None, None, 2),) * len(shape)], on_grid, atol=1e-12)


def test_stride_for():
    assert stride_for(4_000_000, 2, 100_000) == 7  # 4e6 / 36 > 1e5 >= 4e6 / 49
    assert stride_for(1_939_272, 3, 100_000) == 3
    assert stride_for(150_000, 2, 100_000) == 2


def test_coarse_to_fine_smooths_like_full_resolution():
    image, truth = piecewise_constant((160, 160), noise=0.17, seed=2)
    plain = segment(image, 3)
    full = segment(image, 3, smoothing=1.0, hmrf_max_pixels=None)
    staged = segment(image, 3, smoothing=1.0, hmrf_max_pixels=10_000, max_pixels=4_000)
    error = {name: np.mean(r.labels != truth) for name, r in
             (("plain", plain), ("full", full), ("staged", staged))}
    assert error["staged"] < 0.5 * error["plain"], error
    assert error["staged"] <= error["full"] + 0.01, error
    assert staged.n_smoothing_iter > 2 and staged.beta == full.beta == 1.0
    np.testing.assert_allclose(staged.model.weights_, np.bincount(
        staged.labels.ravel(), minlength=4)[1:] / staged.labels.size, atol=0.01)


def test_coarse_to_fine_bias_field_and_dice_on_the_phantom():
    phantom = tissue_phantom((40, 44, 40), noise=0.05, seed=5)
    plain = segment(phantom.image, 3, mask=phantom.mask)
    staged = segment(phantom.image, 3, mask=phantom.mask, smoothing=True, bias_field=True,
                     hmrf_max_pixels=5_000, max_pixels=5_000)
    inside = phantom.mask
    assert staged.bias_field.shape == phantom.image.shape
    assert np.all(staged.bias_field[~inside] == 1)
    assert np.corrcoef(np.log(staged.bias_field[inside]),
                       np.log(phantom.bias_field[inside]))[0, 1] >= 0.95
    for k in (1, 2, 3):
        assert dice(staged.labels, phantom.labels, k) >= dice(plain.labels, phantom.labels, k)
    assert np.all(staged.labels[~inside] == 0)
    np.testing.assert_allclose(staged.corrected[inside],
                               phantom.image[inside] / staged.bias_field[inside])


def test_hmrf_max_pixels_must_be_a_positive_integer():
    image, _ = piecewise_constant((20, 20), seed=0)
    for wrong in (0, True, 2.5):
        with pytest.raises(ValueError) as raised:
            segment(image, 2, smoothing=True, hmrf_max_pixels=wrong)
        assert str(raised.value) == f"hmrf_max_pixels={wrong!r} must be a positive integer or None."
