"""Harder test conditions built at run time: additive noise at a set SNR, a telephone channel.

The bundled voices are clean and consistent, so recognisers look better on
them than on real recordings. These degradations make a harder copy of the
test audio without shipping more files:

- :func:`add_noise`: white Gaussian noise at ``snr_db`` (10 dB: the noise
  has a tenth of the speech's power), seeded;
- :func:`telephone`: the 300-3400 Hz band of a telephone line, through an
  8 kHz channel (band-pass filter, resampling down and back up).

:data:`CONDITIONS` names the ones the bundled comparison reports.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import ArrayLike

#: the harder conditions of the bundled comparison: name -> (snr_db, telephone)
CONDITIONS = {"clean": (None, False), "noise 10 dB": (10.0, False),
              "telephone": (None, True)}


def add_noise(signal: ArrayLike, snr_db: float, *, seed: int = 0) -> np.ndarray:
    """``signal`` plus white Gaussian noise at ``snr_db`` dB signal-to-noise ratio.

    Parameters
    ----------
    signal : ndarray of shape (n_samples,)
    snr_db : float
        10 log10(signal power / noise power), the power over the whole signal.
    seed : int, default=0

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    signal = np.asarray(signal, dtype=np.float64)
    power = float(np.mean(signal**2))
    if not np.isfinite(snr_db):
        raise ValueError(f"snr_db={snr_db!r} is not a finite number of decibels; use e.g. 10.")
    if power == 0.0:
        raise ValueError("the signal is silent (power 0); noise at an SNR needs speech.")
    noise = np.random.default_rng(seed).standard_normal(signal.shape)
    noise *= np.sqrt(power / 10.0 ** (snr_db / 10.0) / np.mean(noise**2))
    return signal + noise


def telephone(signal: ArrayLike, sr: int, *, low: float = 300.0,
              high: float = 3400.0) -> np.ndarray:
    """``signal`` through a telephone channel: a ``low``-``high`` Hz band, sampled at 8 kHz.

    A 4th-order Butterworth band-pass (zero phase), then resampled to
    8 kHz and back to ``sr``, as a narrow-band call recorded at ``sr``.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    from scipy.signal import butter, sosfiltfilt

    from gmmkit_speech.features import resample

    if not 0 < low < high < min(sr, 8000) / 2:
        raise ValueError(f"the band {low:g}-{high:g} Hz does not fit an 8 kHz channel at "
                         f"sr={sr}; use 0 < low < high < 4000.")
    signal = np.asarray(signal, dtype=np.float64)
    sos = butter(4, [low, high], btype="bandpass", fs=sr, output="sos")
    narrow = resample(sosfiltfilt(sos, signal), sr, 8000)
    wide = resample(narrow, 8000, sr)[:len(signal)]  # resampling may add or drop a sample
    return np.pad(wide, (0, len(signal) - len(wide)))


def degrade(signal: ArrayLike, sr: int, condition: str, *, seed: int = 0) -> np.ndarray:
    """``signal`` under one of :data:`CONDITIONS` (by name)."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition={condition!r} is not known; use one of "
                         f"{', '.join(map(repr, CONDITIONS))}.")
    snr_db, narrow = CONDITIONS[condition]
    signal = np.asarray(signal, dtype=np.float64)
    if narrow:
        signal = telephone(signal, sr)
    if snr_db is not None:
        signal = add_noise(signal, snr_db, seed=seed)
    return signal


def stable_seed(name: str) -> int:
    """A seed from a name (file name), the same in every run: int."""
    return zlib.crc32(str(name).encode("utf-8"))
