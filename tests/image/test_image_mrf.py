"""HMRF-EM smoothing (Potts prior, mean-field and ICM) in 2-D and 3-D."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import warnings

import numpy as np
from gmmkit_image import segment
from gmmkit_image.mrf import neighbour_sum, smooth_posteriors
from gmmkit_image.synthetic import piecewise_constant

import gmmkit
from gmmkit.plugins import make_plugin_manager, use_plugin_manager


def error_rate(labels, truth):
    return float(np.mean(labels != truth))


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


def test_neighbour_sum_counts_face_neighbours_in_2d_and_3d():
    np.testing.assert_array_equal(
        neighbour_sum(np.ones((3, 4, 1)))[..., 0],
        [[2, 3, 3, 2], [3, 4, 4, 3], [2, 3, 3, 2]],
    )
    volume = np.zeros((3, 3, 3, 2))
    volume[1, 1, 1, 0] = 1.0
    field = neighbour_sum(volume)
    assert field[..., 0].sum() == 6 and field[..., 1].sum() == 0
    assert field[0, 1, 1, 0] == field[1, 1, 2, 0] == 1 and field[0, 0, 1, 0] == 0


def test_zero_beta_keeps_the_plain_posteriors_and_mask_pixels_exert_no_pull():
    rng = np.random.default_rng(0)
    log_lik = np.log(rng.dirichlet(np.ones(3), size=20))
    index = np.arange(20)
    plain = smooth_posteriors(log_lik, (4, 5), index, beta=0.0)
    np.testing.assert_allclose(plain, np.exp(log_lik), rtol=1e-12)
    # one lone pixel surrounded by masked-out pixels: nothing to agree with
    lone = smooth_posteriors(log_lik[:1], (4, 5), np.array([7]), beta=5.0)
    np.testing.assert_allclose(lone, np.exp(log_lik[:1]), rtol=1e-12)


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


def test_smoothing_reports_its_iterations_on_stderr(capsys):
    image, _ = piecewise_constant((32, 32), noise=0.1, seed=0)
    result = segment(image, 3, smoothing=1.0, verbose=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "segment: HMRF-EM smoothing, beta=1.0, mean-field"
    assert len(lines) == 1 + result.n_smoothing_iter
    plain = segment(image, 3).labels
    first = smooth_posteriors(  # the first iteration against the plain mixture's labels
        np.log(segment(image, 3).probabilities.reshape(-1, 3)), (32, 32), np.arange(1024),
        beta=1.0).argmax(axis=1) + 1
    assert lines[1] == (f"segment: HMRF-EM iteration 1: {np.mean(first != plain.ravel()):.2%} "
                        "of the labels changed")
    segment(image, 3, smoothing=1.0)
    assert capsys.readouterr().err == ""


def _two_halves():
    rng = np.random.default_rng(0)
    image = np.zeros((40, 40))
    image[:, 20:] = 1.0
    return image + rng.normal(0.0, 0.3, image.shape)


def test_a_class_that_smoothing_empties_is_named_in_a_warning():
    """beta=1000 with ICM absorbs the middle of 3 classes; it used to vanish silently."""
    from gmmkit_image import EmptyClassWarning

    from gmmkit import DegenerateComponentWarning

    with pytest.warns(EmptyClassWarning) as caught:
        result = segment(_two_halves(), 3, smoothing=1000.0, method="icm")
    assert [str(w.message) for w in caught] == [
        "class 2 of 3 labels no pixel after smoothing (beta=1000, icm), so its mean colour is "
        "undefined (NaN); use less smoothing or fewer classes."
    ]
    assert issubclass(EmptyClassWarning, DegenerateComponentWarning)
    rows = result.statistics()
    assert [row["pixels"] for row in rows] == [798, 0, 802]
    assert np.isnan(rows[1]["mean_grey"])
    with warnings.catch_warnings():  # users can filter it by class
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=EmptyClassWarning)
        segment(_two_halves(), 3, smoothing=1000.0, method="icm")
