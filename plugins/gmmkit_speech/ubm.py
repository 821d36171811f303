"""The universal background model (UBM) and the speech metadata of model files.

A UBM is a diagonal-covariance :class:`gmmkit.GaussianMixture` fitted by
the core engine to frames pooled from many speakers. Speech models carry a
``speech_`` dict (role, feature config, and for speakers the adaptation
settings); :func:`save_model` writes it into the model file's ``extra`` and
:func:`load_model` reads it back.
"""

from __future__ import annotations

import sys

import numpy as np

from gmmkit_speech.features import FeatureConfig

#: the UBM size everywhere (train_ubm, `gmmkit speech ubm`, the bundled recipe): the size
#: docs/speech.md measures (EER 2.1% and 99.3% identified on the bundled set)
DEFAULT_COMPONENTS = 128


def pool_frames(frames):
    """Stack a list of (n_i, d) arrays (or pass one (n, d) array): (sum n_i, d) array."""
    if isinstance(frames, np.ndarray):
        pooled = frames
    else:
        parts = [np.asarray(part) for part in frames]
        if not parts:
            raise ValueError("no frames given; pass at least one (n_frames, n_features) array.")
        widths = sorted({part.shape[1] for part in parts if part.ndim == 2})
        if len(widths) > 1 or any(part.ndim != 2 for part in parts):
            raise ValueError(
                f"the frame arrays have different widths {widths}; make them all with "
                "one FeatureConfig."
            )
        pooled = np.concatenate(parts)
    if pooled.ndim != 2:
        raise ValueError(f"frames must have shape (n_frames, n_features); got {pooled.shape}.")
    return pooled


def train_ubm(
    frames,
    *,
    n_components=DEFAULT_COMPONENTS,
    feature_config=None,
    max_iter=100,
    tol=1e-3,
    n_init=1,
    reg_covar=0.05,
    dtype="float32",
    chunk_size=None,
    random_state=0,
    verbose=True,
):
    """Fit a UBM: a diagonal-covariance mixture of frames pooled from many speakers.

    Parameters
    ----------
    frames : ndarray of shape (n_frames, n_features) or list of such arrays
    n_components : int, default=128
        Typically 64 to 1024; at least 20 frames per component are needed.
    feature_config : FeatureConfig or dict, optional
        How the frames were made (default: the default FeatureConfig); it
        is stored with the model, and speaker features are checked against it.
    max_iter, tol, n_init, chunk_size, random_state
        As in :class:`gmmkit.GaussianMixture`.
    reg_covar : float, default=0.05
        Variance floor added to every variance: frames after CMVN have unit
        variance, and the floor keeps components from shrinking onto a few
        near-identical frames (silence, a held vowel).
    dtype : {"float32", "float64"}, default="float32"
        The engine's working precision for training (float32 halves memory
        and time). The returned model scores in float64 (its ``dtype`` is
        reset to None): scoring and MAP statistics of one utterance are cheap.
    verbose : bool, default=True
        Progress on stderr: one line to start and one when EM has finished.

    Returns
    -------
    GaussianMixture
        Fitted, with ``speech_ = {"role": "ubm", "features": {...}, "n_frames": n,
        "train_dtype": dtype}``.
    """
    from gmmkit import GaussianMixture

    config = as_config(feature_config)
    X = pool_frames(frames)
    if X.shape[1] != config.n_features:
        raise ValueError(
            f"the frames have {X.shape[1]} features but the feature config gives "
            f"{config.n_features} ({config.n_mfcc} MFCCs{' with deltas' if config.deltas else ''});"
            " pass the FeatureConfig the frames were made with."
        )
    minimum = 20 * n_components
    if X.shape[0] < minimum:
        raise ValueError(
            f"{X.shape[0]} frames are too few for a {n_components}-component UBM (at least "
            f"{minimum}, 20 per component); pool more audio or lower n_components."
        )
    if verbose:
        print(
            f"training UBM: {n_components} components on {X.shape[0]} frames x {X.shape[1]} "
            f"features ({dtype})",
            file=sys.stderr,
            flush=True,
        )
    ubm = GaussianMixture(
        n_components,
        covariance_type="diag",
        max_iter=max_iter,
        tol=tol,
        n_init=n_init,
        reg_covar=reg_covar,
        init_params="k-means++",
        dtype=dtype,
        chunk_size=chunk_size,
        random_state=random_state,
    ).fit(X)
    if verbose:
        state = "converged" if ubm.converged_ else "stopped without converging"
        print(f"training UBM: {state} after {ubm.n_iter_} EM iterations (log-likelihood "
              f"{ubm.lower_bound_:.3f} per frame)", file=sys.stderr, flush=True)
    # score and adapt in float64: per-utterance work is small, and MAP statistics stay exact
    ubm.set_params(dtype=None)
    ubm.speech_ = {"role": "ubm", "features": config.to_dict(), "n_frames": int(X.shape[0]),
                   "train_dtype": dtype}
    return ubm


def as_config(config):
    """A FeatureConfig from None (the default), a dict or a FeatureConfig."""
    if config is None:
        return FeatureConfig()
    if isinstance(config, FeatureConfig):
        return config
    return FeatureConfig.from_dict(dict(config))


def feature_config(model):
    """The FeatureConfig a speech model was made with (ValueError for a non-speech model)."""
    info = speech_info(model)
    return FeatureConfig.from_dict(info["features"])


def speech_info(model, *, source=None):
    """The ``speech_`` dict of a model, checked."""
    info = getattr(model, "speech_", None)
    if not isinstance(info, dict) or "features" not in info:
        where = f"'{source}'" if source else "this model"
        raise ValueError(
            f"{where} is not a speech model (no feature config in its metadata); train it with "
            "gmmkit_speech.train_ubm or `gmmkit speech ubm`."
        )
    return info


def save_model(model, path):
    """Write a speech model (UBM or speaker) with its ``speech_`` metadata."""
    from gmmkit import save

    save(model, path, extra={"speech": speech_info(model)})


def load_model(path, *, role=None):
    """Read a speech model file; ``role`` ("ubm" or "speaker") is checked if given."""
    from gmmkit import load

    model = load(path)
    model.speech_ = (model.metadata_.get("extra") or {}).get("speech")
    info = speech_info(model, source=path)
    if role is not None and info.get("role") != role:
        raise ValueError(
            f"'{path}' is a {info.get('role')} model, not a {role} model; "
            f"give the {role} model file."
        )
    return model
