"""BackgroundModel: per-pixel online mixtures (Zivkovic's MOG2) on a generated video."""

import pytest

pytest.importorskip("skimage", reason="the image extra: pip install 'gmmkit[image]'")
pytest.importorskip("imageio", reason="the image extra: pip install 'gmmkit[image]'")

import numpy as np
from gmmkit_image import BackgroundModel
from gmmkit_image.synthetic import moving_objects_video


def foreground_f1(model, frames, masks, *, skip):
    tp = fp = fn = 0
    for t, (frame, truth) in enumerate(zip(frames, masks)):
        found = model.apply(frame) == 255
        if t >= skip:
            tp += np.sum(found & truth)
            fp += np.sum(found & ~truth)
            fn += np.sum(~found & truth)
    return 2 * tp / (2 * tp + fp + fn)


@pytest.mark.parametrize("n_components", [3, 5])
def test_foreground_f1_on_a_generated_video(n_components):
    frames, masks = moving_objects_video(n_frames=90, warmup=50, noise=6.0, seed=0)
    model = BackgroundModel(n_components)
    assert foreground_f1(model, frames, masks, skip=50) >= 0.9
    assert model.n_frames_ == 90
    # the background image is the texture without objects, up to the noise
    clean, _ = moving_objects_video(n_frames=1, warmup=50, noise=0.0, seed=0)
    error = np.abs(model.background_image().astype(float) - clean[0])
    assert model.background_image().shape == (60, 80, 3) and error.mean() < 2.0


def test_grey_frames_and_a_fixed_learning_rate():
    frames, masks = moving_objects_video(n_frames=70, warmup=40, seed=1)
    grey = [frame[..., 0] for frame in frames]  # red: the box bright, the disc dark
    model = BackgroundModel(3, learning_rate=0.02)
    assert foreground_f1(model, grey, masks, skip=40) >= 0.9
    assert model.background_image().shape == (60, 80)


def test_a_static_object_is_absorbed_into_the_background():
    frames, _ = moving_objects_video(n_frames=1, warmup=5, seed=2)
    scene = frames[0].copy()
    scene[20:30, 20:30] = (250, 250, 250)
    model = BackgroundModel(learning_rate=0.05)
    for _ in range(30):
        model.apply(frames[0])
    assert np.all(model.apply(scene)[20:30, 20:30] == 255)
    for _ in range(100):
        mask = model.apply(scene)
    assert np.all(mask[20:30, 20:30] == 0)  # it stayed: now it is background


def test_shadows_are_marked_127_and_objects_stay_255():
    frames, _ = moving_objects_video(n_frames=1, warmup=5, noise=0.0, seed=3)
    background = frames[0]
    model = BackgroundModel(shadows=True)
    for _ in range(40):
        model.apply(background)
    frame = background.copy()
    frame[5:15, 5:25] = np.round(background[5:15, 5:25] * 0.6).astype(np.uint8)  # shadow
    frame[40:50, 40:60] = (240, 20, 240)  # an object
    mask = model.apply(frame, learning_rate=0)
    assert np.all(mask[5:15, 5:25] == 127)
    assert np.all(mask[40:50, 40:60] == 255)
    assert np.sum(mask == 0) == mask.size - 200 - 200
    assert np.all(BackgroundModel(shadows=False).apply(frame) == 255)  # first frame: all new


def test_bad_frames():
    model = BackgroundModel()
    model.apply(np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError) as raised:
        model.apply(np.zeros((4, 6), np.uint8))
    assert str(raised.value) == (
        "frame 2 has shape (4, 6) but the earlier frames have shape (4, 5); every frame of a "
        "video must have one size."
    )
    with pytest.raises(ValueError, match=r"^frame of shape \(0, 5\) and dtype uint8 is not"):
        BackgroundModel().apply(np.zeros((0, 5), np.uint8))
    with pytest.raises(ValueError, match=r"^learning_rate=2 must be in \[0, 1\]"):
        model.apply(np.zeros((4, 5), np.uint8), learning_rate=2)
    with pytest.raises(ValueError, match="^the model has seen no frame yet"):
        BackgroundModel().background_image()
    for wrong in (0, True, 2.0):
        with pytest.raises(ValueError) as raised:
            BackgroundModel(wrong).apply(np.zeros((4, 5), np.uint8))
        assert str(raised.value) == f"n_components={wrong!r} must be a positive integer."


def reference_mog2(frames, *, n_modes=3, shadows=True, tg=9.0, tb=16.0, ratio=0.9, ct=0.05,
                   var_init=15.0, var_min=4.0, var_max=75.0, tau=0.5, history=500):
    """The same update written as OpenCV's per-pixel loop, in plain Python floats."""
    height, width = frames[0].shape[:2]
    state = [[[] for _ in range(width)] for _ in range(height)]  # modes: [w, mean, var]
    masks = []
    for t, frame in enumerate(frames, start=1):
        rate = 1.0 / min(t, history)
        mask = np.zeros((height, width), np.uint8)
        for i in range(height):
            for j in range(width):
                x = frame[i, j].astype(float)
                modes = state[i][j]
                total, matched, background = 0.0, None, False
                for index, (w, mean, var) in enumerate(modes):
                    d2 = float(np.sum((x - mean) ** 2))
                    if total < ratio and d2 < tb * var:
                        background = True
                    if d2 < tg * var:
                        matched = index
                        break
                    total += w
                value = 0 if background else 255
                if value == 255 and shadows:
                    total = 0.0
                    for w, mean, var in modes:
                        if total >= ratio:
                            break
                        num, den = float(mean @ x), float(mean @ mean)
                        if den > 0 and tau * den <= num <= den:
                            a = num / den
                            if np.sum((a * mean - x) ** 2) < tb * var * a * a:
                                value = 127
                                break
                        total += w
                mask[i, j] = value
                updated = []
                for index, (w, mean, var) in enumerate(modes):
                    w = w * (1 - rate) - rate * ct
                    if index == matched:
                        w += rate
                        step = rate / w
                        d = x - mean
                        mean = mean + step * d
                        var = min(max(var + step * (float(d @ d) - var), var_min), var_max)
                    updated.append([w if w >= rate * ct else 0.0, mean, var])
                while len(updated) < n_modes:
                    updated.append([0.0, np.zeros_like(x), var_init])
                if matched is None:
                    updated[-1] = [rate, x.copy(), var_init]
                norm = sum(m[0] for m in updated)
                updated = [[m[0] / norm, m[1], m[2]] for m in updated]
                updated.sort(key=lambda m: -m[0])
                state[i][j] = [m for m in updated if m[0] > 0]
        masks.append(mask)
    return masks


def test_the_vectorised_update_equals_a_per_pixel_loop():
    frames, _ = moving_objects_video(n_frames=45, shape=(6, 7), warmup=20, noise=6.0, seed=6)
    for t in range(30, 38):  # a darker copy of the background now and then: shadows
        frames[t] = (frames[t] * 0.7).astype(np.uint8)
    model = BackgroundModel(3, shadows=True)
    found = [model.apply(frame) for frame in frames]
    expected = reference_mog2(frames, n_modes=3)
    np.testing.assert_array_equal(np.stack(found), np.stack(expected))
    assert {0, 127, 255} <= set(np.unique(np.stack(found)))
