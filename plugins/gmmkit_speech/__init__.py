"""gmmkit_speech: speaker and acoustic models with Gaussian mixtures (built-in plugin).

Needs the ``speech`` extra (librosa, soundfile): ``pip install 'gmmkit[speech]'``.
librosa is imported inside the functions that use it. This package
registers the ``mfcc`` feature; the speech issue fills in UBM training, MAP
adaptation, scoring and evaluation.
"""

from __future__ import annotations

from gmmkit import hookimpl

requires = ("librosa", "soundfile")
install_hint = "pip install 'gmmkit[speech]'"


def mfcc(signal, *, sr=16000, n_mfcc=20, frame_ms=25.0, hop_ms=10.0):
    """MFCCs of a mono signal, one row per frame: shape (n_frames, n_mfcc).

    Parameters
    ----------
    signal : ndarray of shape (n_samples,)
        Audio samples (floats in [-1, 1]).
    sr : int, default=16000
        Sample rate in Hz.
    n_mfcc : int, default=20
    frame_ms, hop_ms : float, default=25 and 10
        Analysis window and hop in milliseconds.

    Returns
    -------
    ndarray of shape (n_frames, n_mfcc)
    """
    import librosa
    import numpy as np

    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(
            f"mfcc expects a mono signal of shape (n_samples,); got shape {signal.shape}. "
            "Mix the channels down first (e.g. signal.mean(axis=1))."
        )
    n_fft = int(round(sr * frame_ms / 1000.0))
    hop = int(round(sr * hop_ms / 1000.0))
    coefficients = librosa.feature.mfcc(
        y=signal, sr=sr, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop, n_mels=40
    )
    return coefficients.T.astype(np.float64)


@hookimpl
def gmmkit_register_features(register):
    register("mfcc", mfcc)
