"""The Potts prior's maths (gmmkit_image.mrf) against direct computations, and
HMRF-EM smoothing on noisy piecewise-constant images in 2-D and 3-D."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import itertools

import numpy as np
from gmmkit_image import segment
from gmmkit_image.mrf import (
    Lattice,
    estimate_beta,
    free_energy,
    neighbour_sum,
    softmax,
    sweep,
)
from gmmkit_image.synthetic import piecewise_constant
from scipy.special import entr

import gmmkit
from gmmkit.plugins import make_plugin_manager, use_plugin_manager


def error_rate(labels, truth):
    return float(np.mean(labels != truth))


def direct_pairs(mask, q, weights):
    """sum over face-neighbour pairs of w_ij q_i . q_j, pair by pair."""
    rows = -np.ones(mask.shape, dtype=int)
    rows[mask] = np.arange(mask.sum())
    total = 0.0
    for where in itertools.product(*(range(n) for n in mask.shape)):
        if not mask[where]:
            continue
        for axis, weight in enumerate(weights):
            other = list(where)
            other[axis] += 1
            if other[axis] < mask.shape[axis] and mask[tuple(other)]:
                total += weight * q[rows[where]] @ q[rows[tuple(other)]]
    return total


def random_problem(shape, n_classes=3, seed=0, spacing=None):
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < 0.8
    lattice = Lattice.from_mask(mask, spacing)
    log_likelihood = rng.normal(0.0, 2.0, (lattice.n, n_classes))
    start = rng.dirichlet(np.ones(n_classes), size=lattice.n)
    return mask, lattice, log_likelihood, start


@pytest.mark.parametrize("shape, spacing", [((7, 9), None), ((5, 6, 4), (1.0, 1.0, 2.5))])
def test_sweep_pairs_equal_the_direct_sum_over_neighbour_pairs(shape, spacing):
    mask, lattice, log_likelihood, start = random_problem(shape, spacing=spacing)
    swept = sweep(log_likelihood, start, lattice, beta=0.7)
    np.testing.assert_allclose(swept.pairs, direct_pairs(mask, swept.posteriors,
                                                         lattice.weights), rtol=1e-6)


@pytest.mark.parametrize("method", ["mean-field", "icm"])
def test_every_sweep_raises_the_free_energy(method):
    _, lattice, log_likelihood, q = random_problem((6, 7, 5), seed=1)
    mask = np.zeros(lattice.shape, bool).ravel()
    mask[lattice.index] = True
    mask = mask.reshape(lattice.shape)
    if method == "icm":
        q = np.eye(3)[q.argmax(axis=1)]
    energies = [free_energy(log_likelihood, q, direct_pairs(mask, q, lattice.weights), 0.9)]
    for _ in range(4):
        swept = sweep(log_likelihood, q, lattice, beta=0.9, method=method)
        q = swept.posteriors
        energies.append(free_energy(log_likelihood, q, swept.pairs, 0.9))
    assert np.all(np.diff(energies) >= -1e-12), energies
    assert energies[-1] > energies[0]


def test_mean_field_update_is_the_exact_maximiser_of_each_pixel():
    """Changing one pixel's q away from its update can only lower F (the others fixed)."""
    mask, lattice, log_likelihood, start = random_problem((6, 6), seed=2)
    q = sweep(log_likelihood, start, lattice, beta=1.3).posteriors
    second = ~lattice.checkerboard()  # the half updated last: its neighbours are final
    pixel = np.flatnonzero(second)[3]

    def energy(posteriors):
        pairs = direct_pairs(mask, posteriors, lattice.weights)
        return free_energy(log_likelihood, posteriors, pairs, 1.3)

    best = energy(q)
    rng = np.random.default_rng(0)
    for _ in range(20):
        other = q.copy()
        other[pixel] = rng.dirichlet(np.ones(3))
        assert energy(other) <= best + 1e-12


def test_free_energy_is_the_documented_formula():
    rng = np.random.default_rng(3)
    log_likelihood = rng.normal(size=(10, 3))
    q = rng.dirichlet(np.ones(3), size=10)
    expected = (np.sum(q * log_likelihood) + 0.4 * 5.0 + entr(q).sum()) / 10
    assert free_energy(log_likelihood, q, 5.0, 0.4) == pytest.approx(expected, rel=1e-12)


def test_neighbour_sum_counts_face_neighbours_with_axis_weights():
    np.testing.assert_array_equal(
        neighbour_sum(np.ones((3, 4, 1)))[..., 0],
        [[2, 3, 3, 2], [3, 4, 4, 3], [2, 3, 3, 2]],
    )
    volume = np.zeros((3, 3, 3, 2))
    volume[1, 1, 1, 0] = 1.0
    field = neighbour_sum(volume, (0.5, 1.0, 1.0))
    assert field[..., 0].sum() == 5 and field[..., 1].sum() == 0
    assert field[0, 1, 1, 0] == 0.5 and field[1, 1, 2, 0] == 1 and field[0, 0, 1, 0] == 0


def test_spacing_gives_the_finest_axis_weight_one():
    lattice = Lattice.from_mask(np.ones((4, 5, 6), bool), spacing=(3.0, 1.0, 1.5))
    assert lattice.weights == (1 / 3, 1.0, 2 / 3)
    assert lattice.spacing == (3.0, 1.0, 1.5)
    box = Lattice.from_mask(np.pad(np.ones((2, 3), bool), ((4, 1), (2, 5))))
    assert box.shape == (2, 3) and box.origin == (4, 2) and box.n == 6
    np.testing.assert_array_equal(box.coordinates()[0], [4, 2])
    with pytest.raises(ValueError, match=r"^spacing=\(1, 0\) must give one positive number per "
                                         r"spatial axis \(2\)\.$"):
        Lattice.from_mask(np.ones((2, 2), bool), spacing=(1, 0))


def test_zero_beta_gives_the_likelihood_and_a_lone_pixel_feels_no_pull():
    rng = np.random.default_rng(0)
    log_lik = np.log(rng.dirichlet(np.ones(3), size=20))
    lattice = Lattice.from_mask(np.ones((4, 5), bool))
    plain = sweep(log_lik, softmax(log_lik.copy()), lattice, beta=0.0).posteriors
    np.testing.assert_allclose(plain, np.exp(log_lik), rtol=1e-12)
    lone_mask = np.zeros((4, 5), bool)
    lone_mask[1, 2] = True
    lone = sweep(log_lik[:1], np.full((1, 3), 1 / 3), Lattice.from_mask(lone_mask), beta=5.0)
    np.testing.assert_allclose(lone.posteriors, np.exp(log_lik[:1]), rtol=1e-12)
    assert lone.pairs == 0


def potts_sample(shape, beta, n_classes=3, sweeps=300, seed=0):
    """A Gibbs sample of the Potts prior (checkerboard sweeps), as one-hot rows."""
    rng = np.random.default_rng(seed)
    lattice = Lattice.from_mask(np.ones(shape, bool))
    q = np.eye(n_classes)[rng.integers(n_classes, size=lattice.n)]
    halves = lattice.checkerboard()
    for _ in range(sweeps):
        for half in (halves, ~halves):
            field = lattice.field(lattice.scatter(q))[half]
            p = softmax(beta * field)
            draw = (p.cumsum(axis=1) > rng.random((len(p), 1))).argmax(axis=1)
            q[half] = np.eye(n_classes)[draw]
    return q, lattice


@pytest.mark.parametrize("beta", [0.4, 0.8])
def test_pseudo_likelihood_recovers_the_beta_of_a_potts_sample(beta):
    """2-D, 3 classes: below the critical beta ln(1 + sqrt 3) = 1.005."""
    labels, lattice = potts_sample((80, 80), beta)
    assert estimate_beta(labels, lattice) == pytest.approx(beta, rel=0.1)


@pytest.mark.parametrize("shape", [(96, 96), (28, 28, 28)], ids=["2-D", "3-D"])
@pytest.mark.parametrize("method", ["mean-field", "icm"])
def test_smoothing_at_least_halves_the_pixel_error_of_the_plain_mixture(shape, method):
    image, truth = piecewise_constant(shape, noise=0.17, seed=1)
    plain = error_rate(segment(image, 3).labels, truth)
    smoothed = segment(image, 3, smoothing=1.0, method=method)
    assert plain > 0.2  # the noise is strong: the plain mixture gets a fifth wrong
    assert error_rate(smoothed.labels, truth) <= plain / 2
    assert smoothed.n_smoothing_iter >= 1
    # HMRF-EM re-estimated the class means close to the true levels
    np.testing.assert_allclose(smoothed.model.means_[:, 0], [0.2, 0.5, 0.8], atol=0.05)


def test_hmrf_postprocessor_through_run_pipeline():
    import gmmkit_image

    image, truth = piecewise_constant((64, 64), noise=0.17, seed=2)
    pm = make_plugin_manager(entry_points=False)
    assert pm.add_plugin(gmmkit_image, "gmmkit_image").status == "loaded"
    with use_plugin_manager(pm):
        result = gmmkit.run_pipeline(
            image, features=["intensity"], model=gmmkit.GaussianMixture(3, random_state=0),
            postprocessors=["label_image", ("hmrf", {"beta": 1.0})],
        )
    plain, smoothed = result.outputs["label_image"], result.outputs["hmrf"]
    assert error_rate(smoothed, truth) <= error_rate(plain, truth) / 2
    np.testing.assert_array_equal(np.unique(plain), [1, 2, 3])
    assert result.model.n_iter_ > 0  # the pipeline's model is left as fitted (a copy smooths)
    np.testing.assert_array_equal(result.model.predict(result.features),
                                  result.responsibilities.argmax(axis=1))
