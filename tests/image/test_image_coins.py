"""scikit-image's coins photograph: uneven lighting corrected by the bias field."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import numpy as np
from gmmkit_image import segment
from scipy import ndimage as ndi


@pytest.fixture(scope="module")
def coins():
    """The photograph and its 24 coins found independently (scikit-image's watershed example)."""
    from skimage import data, filters, segmentation

    image = data.coins()
    markers = np.zeros(image.shape, np.int32)
    markers[image < 30], markers[image > 150] = 1, 2
    found = segmentation.watershed(filters.sobel(image), markers) == 2
    regions, _ = ndi.label(ndi.binary_fill_holes(found))
    sizes = np.bincount(regions.ravel())
    coin_ids = [k for k in range(1, len(sizes)) if sizes[k] >= 500]
    assert len(coin_ids) == 24
    return image, regions, coin_ids


def objects(result, regions, coin_ids):
    """(background share of the largest class, coins with an object of their own, objects)."""
    labels = result.labels
    background = np.bincount(labels.ravel()).argmax()
    components, _ = ndi.label(labels != background)
    sizes = np.bincount(components.ravel())
    owners = []
    for coin in coin_ids:
        ids, counts = np.unique(components[regions == coin], return_counts=True)
        owners.append(ids[counts.argmax()] if counts.max() >= 0.8 * counts.sum() else 0)
    own = len(set(owners)) == len(owners) and 0 not in owners
    large = [k for k in range(1, len(sizes)) if sizes[k] >= 250]  # a quarter of a small coin
    share = np.mean(labels[regions == 0] == background)
    return background, share, own, sorted(large) == sorted(owners)


@pytest.mark.slow
def test_with_the_bias_field_the_background_is_one_class_and_every_coin_one_object(coins):
    image, regions, coin_ids = coins
    result = segment(image, 2, smoothing=True, bias_field=True)
    background, share, own, only_coins = objects(result, regions, coin_ids)
    assert background == 1 and share >= 0.97 and own and only_coins, (share, own, only_coins)
    # the lighting: brighter at the top than at the bottom of the photograph
    field = result.bias_field
    assert field[:40].mean() > 1.3 * field[-40:].mean()
    # without the field the bright top of the background joins the coins
    plain = segment(image, 2, smoothing=True)
    _, share, own, only_coins = objects(plain, regions, coin_ids)
    assert share < 0.9 and not (own and only_coins)


@pytest.mark.slow
def test_three_classes_with_the_field_from_two_one_background_class_and_24_coin_objects(coins):
    """k=3: the background is one class and the coins are split in two bright classes."""
    image, regions, coin_ids = coins
    result = segment(image, 3, smoothing=True, bias_field=True, bias_classes=2)
    background, share, own, only_coins = objects(result, regions, coin_ids)
    assert background == 1 and share >= 0.97 and own and only_coins, (share, own, only_coins)
    assert result.shares[0] > 0.6 and np.all(result.shares[1:] > 0.15), result.shares
    # the field is the 2-class fit's, held fixed: the 3 classes are those of the corrected photo
    two = segment(image, 2, smoothing=True, bias_field=True)
    np.testing.assert_array_equal(result.bias_field, two.bias_field)
    np.testing.assert_array_equal(result.corrected, two.corrected)
    again = segment(two.corrected, 3, smoothing=True)
    np.testing.assert_array_equal(result.labels, again.labels)
    assert result.objective == again.objective and result.image is not two.corrected
    # re-estimated with the 3 classes throughout, the field leaves a background of two classes
    # (top and bottom): the model's objective prefers it, which is why this is not the default
    both = segment(image, 3, smoothing=True, bias_field=True)
    _, share, _, _ = objects(both, regions, coin_ids)
    assert share < 0.6 and both.shares.max() < 0.4, (share, both.shares)
    assert both.objective[-1] > result.objective[-1]
