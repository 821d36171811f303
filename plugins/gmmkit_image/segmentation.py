"""``segment``: Gaussian-mixture segmentation of images and volumes.

The mixture is fitted on a seeded random subsample of the pixels (at most
``max_pixels``), then every pixel is classified in chunks, so the cost of
the fit does not grow with the image. With spatial smoothing or a bias
field, HMRF-EM (:mod:`gmmkit_image.hmrf`) then refines the classes on every
pixel inside the mask. Labels follow scikit-image's ``label2rgb(bg_label=0)``:
0 is reserved for pixels outside the mask (and NaN pixels), the classes are
1..K from the darkest to the brightest.
"""

from __future__ import annotations

import sys
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from gmmkit_image import checks, report
from gmmkit_image import features as feature_module
from gmmkit_image.bias import DEFAULT_ORDER, BiasBasis, one_blas_thread
from gmmkit_image.hmrf import EmptyClassWarning, hmrf_em
from gmmkit_image.mrf import Lattice, checked_spacing
from gmmkit_image.result import Segmentation, warn_empty_classes

#: default largest number of pixels the mixture is fitted on
MAX_FIT_PIXELS = 100_000
#: pixels classified per chunk
CHUNK_PIXELS = 16_384
#: the Potts weight ``smoothing=True`` stands for
DEFAULT_BETA = 0.5
#: default most pixels HMRF-EM runs on at full resolution (beyond: coarse to fine)
HMRF_MAX_PIXELS = 1_000_000

__all__ = ["EmptyClassWarning", "Segmentation", "correct_bias", "segment"]


def segment(image: ArrayLike, n_classes: int | str = 3, *, features: Sequence | None = None,
            smoothing: float | bool | str = 0.0, mask: ArrayLike | None = None,
            channel_axis: int | None = None, covariance_type: str = "full",
            method: str = "mean-field", bias_field: bool = False,
            bias_order: int = DEFAULT_ORDER, bias_classes: int | None = None,
            partial_volume: bool = False, spacing: Sequence[float] | None = None,
            max_pixels: int = MAX_FIT_PIXELS,
            hmrf_max_pixels: int | None = HMRF_MAX_PIXELS, probabilities: bool = True,
            random_state: int | np.random.Generator | None = 0,
            n_init: int = 1, max_iter: int = 100, smoothing_iter: int = 50, tol: float = 1e-5,
            verbose: bool = False) -> Segmentation:
    """Segment a 2-D image or 3-D volume into classes with a Gaussian mixture.

    Parameters
    ----------
    image : array-like of shape (H, W), (Z, H, W), or either with a channel axis
        Grey, RGB(A), multi-channel; uint8, uint16, bool or float (floats are
        not rescaled). NaN pixels are left out like pixels outside the mask.
    n_classes : int or "auto", default=3
        "auto" chooses K in 1..10 by BIC on the fitting subsample.
    features : sequence of str or (str, dict), optional
        Feature extractors by name: this plugin's ``intensity``, ``channels``,
        ``rgb``, ``lab``, ``xy``, ``texture``, ``gabor``, or any other
        registered one (called as ``f(image, **options)``). Default:
        ``("lab",)`` (colour) for an RGB(A) image with ``channel_axis``,
        ``("intensity",)`` (grey level) otherwise and whenever
        ``bias_field`` or ``partial_volume`` is on (they model one
        intensity). :attr:`Segmentation.features` says which were used.
    smoothing : float, True or "auto", default=0.0
        Potts weight beta of the HMRF-EM spatial prior; 0 is the plain
        mixture, True is ``DEFAULT_BETA`` (0.5), "auto" estimates beta by
        pseudo-likelihood at every iteration.
    mask : array-like of bool, the image's spatial shape, optional
        Pixels to segment; the others get label 0.
    channel_axis : int or None, default=None
        The colour/channel axis; None for grey images and volumes.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    method : {"mean-field", "icm"}, default="mean-field"
        How the smoothing updates the pixels (soft or hard).
    bias_field : bool, default=False
        Estimate a smooth multiplicative field (log-domain polynomial) inside
        HMRF-EM; needs one intensity feature and intensities >= 0.
    bias_order : int, default=3
        Polynomial order of the log field.
    bias_classes : int or None, default=None
        Estimate the field with this many classes first, then keep it fixed
        while the ``n_classes`` classes are fitted on the corrected image
        (the field first, as FSL FAST's bias-removal iterations before its
        final ones). None: the field is re-estimated with the ``n_classes``
        classes throughout. For a photo whose background is more than one
        Gaussian (coins with 3 classes: ``bias_classes=2``); see
        docs/image.md. Needs ``bias_field=True``.
    partial_volume : bool, default=False
        Estimate the fraction of each class inside every pixel
        (:mod:`gmmkit_image.pve`); needs one intensity feature.
    spacing : sequence of float, optional
        Pixel spacing along each spatial axis (default 1): neighbour weights
        of the smoothing, the field's coordinates and :attr:`Segmentation.volumes`.
    max_pixels : int, default=100000
        Fit the starting mixture on a random subsample of at most this many
        pixels (seeded by ``random_state``); every pixel is then classified
        in chunks.
    hmrf_max_pixels : int or None, default=1000000
        With more pixels to segment than this, HMRF-EM estimates the
        classes, beta and the field on a strided grid of at most
        ``max_pixels`` pixels, then refines every pixel at full resolution
        with a few mean-field sweeps (:mod:`gmmkit_image.multiscale`); None:
        always at full resolution.
    probabilities : bool, default=True
        Keep the per-class posterior maps (memory: 4 bytes x pixels x K).
    random_state : int, Generator or None, default=0
        Seeds the subsample and the mixture's initialisation.
    n_init, max_iter : int
        Passed to ``GaussianMixture``.
    smoothing_iter : int, default=50
        Most HMRF-EM iterations.
    tol : float, default=1e-5
        HMRF-EM stops when its objective per pixel rises by less than this.
    verbose : bool, default=False
        Progress on stderr.

    Returns
    -------
    Segmentation
    """
    from gmmkit import GaussianMixture

    if bias_classes is not None:
        options = dict(features=features, smoothing=smoothing, mask=mask,
                       channel_axis=channel_axis, covariance_type=covariance_type,
                       method=method, spacing=spacing, max_pixels=max_pixels,
                       hmrf_max_pixels=hmrf_max_pixels, random_state=random_state,
                       n_init=n_init, max_iter=max_iter, smoothing_iter=smoothing_iter, tol=tol,
                       verbose=verbose)
        return _field_first(image, n_classes, bias_classes, bias_field=bias_field,
                            bias_order=bias_order, partial_volume=partial_volume,
                            probabilities=probabilities, options=options)
    pixels, spatial, valid_index = checks.checked_pixels(image, mask, channel_axis)
    k_needed = 2 if n_classes == "auto" else checks.checked_classes(n_classes)
    spacing = checked_spacing(spacing, len(spatial))
    beta = DEFAULT_BETA if smoothing is True else (0.0 if smoothing is False else smoothing)
    rng = np.random.default_rng(random_state)
    checks.check_distinct(pixels, valid_index, k_needed, rng, masked=mask is not None)
    features = default_features(features, pixels, channel_axis,
                                one_intensity=bias_field or partial_volume)
    X = feature_module.pixel_features(feature_module.filled(pixels, valid_index), features,
                                     channel_axis, spatial)
    if len(valid_index) < len(X):
        X = X[valid_index]
    checks.check_intensity_model(features, X, bias_field=bias_field,
                                 partial_volume=partial_volume, masked=mask is not None)
    fit_rows = _subsample(len(valid_index), max_pixels, rng)
    say = _progress(verbose)
    if len(fit_rows) < len(valid_index):
        say(f"segment: {len(valid_index):,} pixels; fitting on a random subsample of "
            f"{len(fit_rows):,} (max_pixels)")
    reg_covar = _relative_regularisation(X[fit_rows])
    model = GaussianMixture(
        n_classes, covariance_type=covariance_type, reg_covar=reg_covar, n_init=n_init,
        max_iter=max_iter, random_state=int(rng.integers(2**31 - 1)),
    ).fit(X[fit_rows])
    fitted_pixels = pixels.reshape(-1, pixels.shape[-1])[valid_index[fit_rows]]
    grey = feature_module.grey_levels(fitted_pixels, channel_axis=-1)
    _order_by_grey(model, model.predict_proba(X[fit_rows]), grey)
    n_pixels = int(np.prod(spatial))
    result = Segmentation(np.zeros(n_pixels, dtype=np.int32), None, model, np.asarray(image),
                          channel_axis, len(fit_rows), spacing=spacing,
                          features=checks.feature_names(features))
    if n_classes == "auto":
        result.selection = report.selection_rows(model)
        report.warn_selection(result.selection, X[fit_rows])
    else:
        report.warn_zero_variance(model, X[fit_rows])
    maps = np.zeros((n_pixels, len(model.weights_)), np.float32) if probabilities else None
    vanished = []
    if beta or bias_field:
        coarse = None if hmrf_max_pixels is None or len(valid_index) <= _checked_limit(
            hmrf_max_pixels) else max_pixels
        plain = _plain_counts(model, X)
        with one_blas_thread():  # thin products over many rows: BLAS threads only contend
            posteriors, vanished = _run_hmrf(result, X, valid_index, spatial, beta, method,
                                             bias_field, bias_order, smoothing_iter, tol, say,
                                             coarse)
        grey = feature_module.grey_levels(pixels.reshape(-1, pixels.shape[-1])[valid_index],
                                          channel_axis=-1)
        order = _order_by_grey(model, posteriors, grey)
        posteriors = posteriors[:, order]
        result.plain_shares = plain[order] / plain.sum()
        vanished = [int(np.flatnonzero(order == k)[0]) + 1 for k in vanished]
        result.labels[valid_index] = posteriors.argmax(axis=1) + 1
        if maps is not None:
            maps[valid_index] = posteriors
        if partial_volume:
            result.partial_volume = _partial_volume(result, X, posteriors, valid_index, spatial)
    else:
        _classify_in_chunks(model, X, valid_index, result.labels, maps)
        if partial_volume:
            posteriors = model.predict_proba(X)
            result.partial_volume = _partial_volume(result, X, posteriors, valid_index, spatial)
    result.labels = result.labels.reshape(spatial)
    if maps is not None:
        result.probabilities = maps.reshape(*spatial, -1)
    if beta:
        after = (f"smoothing (beta={result.beta:g}, {method})" if smoothing != "auto"
                 else f"smoothing (beta=auto, {method})")
        report.warn_shrunk(result.plain_shares, result.shares, after)
        warn_empty_classes(result.labels, len(model.weights_), after,
                           "use less smoothing or fewer classes", already=vanished)
    else:
        warn_empty_classes(result.labels, len(model.weights_), "classifying every pixel",
                           "use fewer classes", already=vanished)
    return result


def _run_hmrf(result, X, valid_index, spatial, beta, method, bias_field, bias_order,
              smoothing_iter, tol, say, coarse_pixels=None):
    """HMRF-EM on every valid pixel; fills the result's HMRF fields; returns (q, vanished).

    With ``coarse_pixels``, coarse to fine (:func:`gmmkit_image.multiscale.coarse_to_fine`).
    """
    valid = np.zeros(int(np.prod(spatial)), dtype=bool)
    valid[valid_index] = True
    what = [f"beta={beta}" if beta else "no smoothing", method] if beta else ["no smoothing"]
    if bias_field:
        what.append(f"bias field of order {bias_order}")
    say(f"segment: HMRF-EM, {', '.join(what)}")

    def progress(iteration, objective, changed, used_beta):
        extra = f", beta={used_beta:.3f}" if beta == "auto" else ""
        say(f"segment: HMRF-EM iteration {iteration}: objective {objective:.6f}, "
            f"{changed:.2%} of the labels changed{extra}")

    if coarse_pixels is not None:
        from gmmkit_image.multiscale import FINE_SWEEPS, coarse_to_fine

        staged = coarse_to_fine(result.model, X, valid.reshape(spatial), result.spacing,
                                beta=beta, method=method,
                                bias_order=bias_order if bias_field else None,
                                coarse_pixels=coarse_pixels, max_iter=smoothing_iter, tol=tol,
                                progress=progress, say=say)
        fitted, log_rho = staged.coarse, staged.log_rho
        result.n_smoothing_iter = fitted.n_iter + FINE_SWEEPS
        posteriors = staged.posteriors
    else:
        lattice = Lattice.from_mask(valid.reshape(spatial), result.spacing)
        basis = BiasBasis(lattice, bias_order) if bias_field else None
        fitted = hmrf_em(result.model, X, lattice, beta=beta, method=method, basis=basis,
                         max_iter=smoothing_iter, tol=tol, progress=progress)
        log_rho = fitted.log_rho
        result.n_smoothing_iter = fitted.n_iter
        posteriors = fitted.posteriors
    result.objective = fitted.objective
    result.beta = fitted.beta[-1] if beta else 0.0
    if bias_field:
        field = np.ones(int(np.prod(spatial)))
        field[valid_index] = np.exp(-log_rho)
        result.bias_field = field.reshape(spatial)
        result.corrected = _corrected(result.image, result.bias_field, result.channel_axis)
    return posteriors, fitted.vanished


def _field_first(image, n_classes, bias_classes, *, bias_field, bias_order, partial_volume,
                 probabilities, options):
    """``segment`` with ``bias_classes``: the field from that many classes, then fixed.

    The first fit estimates the field (with the same smoothing and mask);
    the second segments the corrected image with the field held fixed. Its
    objective is the full model's: the field's log has mean 0 over the
    mask, so the Jacobian adds nothing.
    """
    if not bias_field:
        raise ValueError(f"bias_classes={bias_classes!r} sets how the bias field is estimated; "
                         "pass bias_field=True too (or leave bias_classes=None).")
    if not checks.is_positive_int(bias_classes):
        raise ValueError(f"bias_classes={bias_classes!r} must be a positive integer (the "
                         "classes the field is estimated with, e.g. 2) or None.")
    _progress(options["verbose"])(
        f"segment: the bias field from {bias_classes} classes, then fixed for {n_classes}")
    first = segment(image, int(bias_classes), bias_field=True, bias_order=bias_order,
                    probabilities=False, **options)
    # the corrected image is float: the second fit uses the first one's intensity feature
    options["features"] = options["features"] or ("intensity",)
    result = segment(first.corrected, n_classes, partial_volume=partial_volume,
                     probabilities=probabilities, **options)
    result.image = np.asarray(image)
    result.bias_field, result.corrected = first.bias_field, first.corrected
    return result


def _checked_limit(hmrf_max_pixels):
    if not checks.is_positive_int(hmrf_max_pixels):
        raise ValueError(f"hmrf_max_pixels={hmrf_max_pixels!r} must be a positive integer "
                         "or None.")
    return hmrf_max_pixels


def _corrected(image, field, channel_axis):
    """The image (as floats) divided by the field, channel by channel."""
    values = feature_module.as_float(image).astype(np.float64)
    if channel_axis is None:
        return values / field
    return values / np.expand_dims(field, channel_axis)


def _partial_volume(result, X, posteriors, valid_index, spatial):
    """Fractions of every class in every pixel: (*spatial, K) float32."""
    from gmmkit_image.pve import partial_volume_fractions

    intensity = X[:, 0]
    if result.bias_field is not None:
        intensity = intensity / result.bias_field.reshape(-1)[valid_index]
    valid = np.zeros(int(np.prod(spatial)), dtype=bool)
    valid[valid_index] = True
    lattice = Lattice.from_mask(valid.reshape(spatial), result.spacing)
    fractions = partial_volume_fractions(intensity, posteriors, result.model, lattice)
    maps = np.zeros((int(np.prod(spatial)), fractions.shape[1]), np.float32)
    maps[valid_index] = fractions
    return maps.reshape(*spatial, -1)


def correct_bias(image: ArrayLike, mask: ArrayLike | None = None, *, n_classes: int = 3,
                 order: int = DEFAULT_ORDER, smoothing: float | str = DEFAULT_BETA,
                 spacing: Sequence[float] | None = None, channel_axis: int | None = None,
                 random_state: int = 0,
                 verbose: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Estimate and remove a smooth multiplicative intensity field (MRI bias, vignetting).

    Runs :func:`segment` with ``bias_field=True``: the field is estimated
    together with ``n_classes`` intensity classes and the smoothing, as FSL
    FAST does (a tissue model tells the field from the anatomy).

    Parameters
    ----------
    image : array-like, 2-D or 3-D (with ``channel_axis`` for colour)
        Intensities >= 0.
    mask : array-like of bool, optional
        Where to estimate the field (e.g. a brain mask).
    n_classes : int, default=3
    order : int, default=3
        Polynomial order of the log field.
    smoothing : float or "auto", default=0.5
    spacing : sequence of float, optional
    channel_axis : int or None, default=None
    random_state : int, default=0
    verbose : bool, default=False

    Returns
    -------
    corrected : ndarray of float64, the image's shape
        The image divided by the field (every channel); outside the mask
        the field is 1.
    field : ndarray of float64, the image's spatial shape
    """
    result = segment(image, n_classes, mask=mask, smoothing=smoothing, bias_field=True,
                     bias_order=order, spacing=spacing, channel_axis=channel_axis,
                     probabilities=False, random_state=random_state, verbose=verbose)
    assert result.corrected is not None and result.bias_field is not None
    return result.corrected, result.bias_field


# ----------------------------------------------------------------- features


def _subsample(n_rows, max_pixels, rng):
    """Sorted row indices of a random subsample of at most ``max_pixels`` rows."""
    if not checks.is_positive_int(max_pixels):
        raise ValueError(f"max_pixels={max_pixels!r} must be a positive integer.")
    if n_rows <= max_pixels:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, max_pixels, replace=False, shuffle=False))


def _relative_regularisation(X):
    """reg_covar scaled to the features: 1e-6 x the smallest non-zero column variance."""
    variances = X.var(axis=0)
    positive = variances[variances > 0]
    return 1e-6 * float(positive.min()) if positive.size else 1e-6


# ------------------------------------------------------------------ classes


def _order_by_grey(model, responsibilities, grey):
    """Reorder the model's components in place by the mean grey level of their pixels.

    Returns the order (new component j is old component ``order[j]``).
    """
    mean_grey = (responsibilities.T @ grey) / (responsibilities.sum(axis=0) + 1e-300)
    order = np.argsort(mean_grey, kind="stable")
    model.weights_ = model.weights_[order]
    model.means_ = model.means_[order]
    if model.covariance_type != "tied":
        model.covariances_ = model.covariances_[order]
        model.precisions_ = model.precisions_[order]
        model.precisions_cholesky_ = model.precisions_cholesky_[order]
    return order


def _plain_counts(model, X):
    """Pixels of each class under the plain mixture (argmax of its posteriors): (K,)."""
    counts = np.zeros(len(model.weights_))
    for start in range(0, X.shape[0], CHUNK_PIXELS * 8):
        labels = model.predict(X[start:start + CHUNK_PIXELS * 8])
        counts += np.bincount(labels, minlength=len(counts))
    return counts


def default_features(features: Sequence | None, pixels: np.ndarray, channel_axis: int | None,
                     *, one_intensity: bool) -> Sequence:
    """``features`` or, when None, the default: ("lab",) for colour, else ("intensity",)."""
    if features is not None:
        return features
    colour = channel_axis is not None and pixels.shape[-1] in (3, 4)
    return ("lab",) if colour and not one_intensity else ("intensity",)


def _classify_in_chunks(model, X, valid_index, labels, maps):
    """Write labels (1..K) and, if ``maps`` is given, posteriors of every valid pixel."""
    for start in range(0, X.shape[0], CHUNK_PIXELS):
        rows = slice(start, start + CHUNK_PIXELS)
        posteriors = model.predict_proba(X[rows])
        labels[valid_index[rows]] = posteriors.argmax(axis=1) + 1
        if maps is not None:
            maps[valid_index[rows]] = posteriors


def _progress(verbose):
    if not verbose:
        return lambda message: None
    return lambda message: print(message, file=sys.stderr, flush=True)
