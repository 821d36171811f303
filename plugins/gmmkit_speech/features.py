"""Audio in, frames out: the file loader and MFCC features (deltas, CMVN, energy VAD).

librosa and soundfile are imported inside the functions that use them, so
importing this module is cheap. :class:`FeatureConfig` is the recipe; it is
stored in every speech model file, so that speaker features are always made
the way the UBM's were.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields

import numpy as np

#: librosa.feature.delta's window: frames needed for deltas
DELTA_WIDTH = 9
#: clipped audio is reported when more than this fraction of samples is clipped
CLIP_FRACTION = 0.001
CMVN_CHOICES = ("utterance", None)
VAD_CHOICES = ("energy", None)


class ClippedAudioWarning(UserWarning):
    """The audio has many samples at full scale: its spectrum is distorted."""


class UpsampledAudioWarning(UserWarning):
    """A file sampled below the rate asked for is upsampled: it gains no bandwidth."""


@dataclass(frozen=True)
class FeatureConfig:
    """How frames are made from audio; stored in the metadata of speech model files.

    Parameters
    ----------
    sr : int, default=16000
        Sample rate the audio is resampled to, in Hz.
    n_mfcc : int, default=20
        Cepstral coefficients per frame (c0 included, as librosa gives them).
    deltas : bool, default=True
        Append delta and delta-delta coefficients (3 x n_mfcc columns).
    cmvn : {"utterance", None}, default="utterance"
        Cepstral mean and variance normalisation over each utterance's kept frames.
    vad : {"energy", None}, default="energy"
        Drop frames quieter than ``vad_db`` below the loudest frame or below
        ``vad_floor_db`` (dB relative to full scale).
    frame_ms, hop_ms : float, default=25 and 10
        Analysis window and hop in milliseconds.
    n_mels : int, default=40
        Mel bands under the cepstrum.
    vad_db : float, default=30
    vad_floor_db : float, default=-60
    """

    sr: int = 16000
    n_mfcc: int = 20
    deltas: bool = True
    cmvn: str | None = "utterance"
    vad: str | None = "energy"
    frame_ms: float = 25.0
    hop_ms: float = 10.0
    n_mels: int = 40
    vad_db: float = 30.0
    vad_floor_db: float = -60.0

    def __post_init__(self):
        if self.cmvn not in CMVN_CHOICES:
            raise ValueError(f"cmvn={self.cmvn!r} is not valid; use 'utterance' or None.")
        if self.vad not in VAD_CHOICES:
            raise ValueError(f"vad={self.vad!r} is not valid; use 'energy' or None.")
        if int(self.sr) != self.sr or self.sr < 1000:
            raise ValueError(f"sr={self.sr!r} is not a sample rate; use an int of Hz, e.g. 16000.")
        if not (isinstance(self.n_mels, int) and self.n_mels >= 1):
            raise ValueError(f"n_mels={self.n_mels!r} is not valid; use a positive int, e.g. 40.")
        if not (isinstance(self.n_mfcc, int) and 1 <= self.n_mfcc <= self.n_mels):
            raise ValueError(
                f"n_mfcc={self.n_mfcc!r} is not valid: the cepstrum of n_mels={self.n_mels} mel "
                f"bands has {self.n_mels} coefficients; use an int from 1 to {self.n_mels} "
                "(or more n_mels)."
            )

    @property
    def n_features(self):
        """Columns per frame."""
        return self.n_mfcc * (3 if self.deltas else 1)

    def to_dict(self):
        """The config as a JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        """A config from :meth:`to_dict`'s dict (unknown keys refused)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown feature settings {unknown}; known: {sorted(known)}.")
        return cls(**values)

    def differences(self, other):
        """'sr 8000 != 16000, ...': the settings where ``self`` and ``other`` differ."""
        mine, theirs = self.to_dict(), other.to_dict()
        return ", ".join(
            f"{name} {mine[name]!r} != {theirs[name]!r}"
            for name in mine
            if mine[name] != theirs[name]
        )

    def extract(self, signal, *, sr=None, source="audio"):
        """Frames of ``signal`` (at ``sr``, default this config's rate), resampled if needed.

        Returns
        -------
        ndarray of shape (n_frames, n_features)
        """
        signal = as_float_samples(signal)
        rate = self.sr if sr is None else int(sr)
        if rate != self.sr:
            signal = resample(signal, rate, self.sr)
        options = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sr"}
        return mfcc(signal, sr=self.sr, source=source, **options)


def resample(signal, rate, target):
    """``signal`` (n_samples,) from ``rate`` to ``target`` Hz (librosa's soxr_hq)."""
    import librosa

    return librosa.resample(signal, orig_sr=rate, target_sr=target)


def load_audio(path, *, sr=16000):
    """Read a WAV, FLAC or OGG file as a mono signal at ``sr`` Hz.

    Channels are averaged; another sample rate is resampled. A file sampled
    below ``sr`` gets an :class:`UpsampledAudioWarning`: upsampling adds no
    frequencies, so its features differ from those of audio recorded at ``sr``.

    Parameters
    ----------
    path : str or os.PathLike
    sr : int, default=16000

    Returns
    -------
    ndarray of shape (n_samples,)
        float64 samples in [-1, 1].

    Raises
    ------
    ValueError
        When the file cannot be read as audio, or holds no samples.
    """
    import soundfile

    try:
        samples, rate = soundfile.read(path, dtype="float64", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(
            f"cannot read audio file '{path}' ({detail}); give a WAV, FLAC or OGG file."
        ) from None
    if samples.shape[0] == 0:
        raise ValueError(f"audio file '{path}' is empty (0 samples); record or choose another.")
    signal = samples.mean(axis=1)
    if rate < sr:
        warnings.warn(
            f"'{path}' is sampled at {rate} Hz and is upsampled to {sr} Hz, which adds no "
            f"frequencies above {rate // 2} Hz; its features will not match those of {sr} Hz "
            f"audio. Pass sr={rate} (and FeatureConfig(sr={rate})) to work at its rate.",
            UpsampledAudioWarning, stacklevel=2)
    if rate != sr:
        signal = resample(signal, rate, sr)
    return signal


def clipped_fraction(signal):
    """The fraction of samples in flat runs at the signal's peak: float in [0, 1].

    Clipping flattens the waveform's tops: two or more consecutive samples
    sit at the same extreme value. A peak below half of full scale is not
    counted as clipping (nor is digital silence).
    """
    magnitude = np.abs(signal)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak < 0.5:
        return 0.0
    at_peak = magnitude >= peak * (1 - 1e-6)
    flat = at_peak[1:] & at_peak[:-1] & (np.sign(signal[1:]) == np.sign(signal[:-1]))
    in_runs = np.zeros_like(at_peak)
    in_runs[1:] |= flat
    in_runs[:-1] |= flat
    return float(in_runs.mean())


def check_clipping(signal, *, source="audio"):
    """Warn (:class:`ClippedAudioWarning`) when more than 0.1% of samples are clipped.

    Clipped audio is scored, not refused: a slightly clipped recording
    still carries the speaker; the warning says the scores may suffer.
    """
    clipped = clipped_fraction(signal)
    if clipped > CLIP_FRACTION:
        warnings.warn(
            f"{source} is clipped: {100 * clipped:.1f}% of its samples sit in flat runs at its "
            "peak; clipping distorts the spectrum and lowers speaker scores; record at a lower "
            "gain.",
            ClippedAudioWarning,
            stacklevel=3,
        )


def mfcc(
    signal,
    *,
    sr=16000,
    n_mfcc=20,
    deltas=True,
    cmvn="utterance",
    vad="energy",
    frame_ms=25.0,
    hop_ms=10.0,
    n_mels=40,
    vad_db=30.0,
    vad_floor_db=-60.0,
    source="audio",
):
    """MFCC frames of a mono signal, the speaker-recognition recipe by default.

    Static MFCCs come from librosa (Hann window of ``frame_ms``, hop
    ``hop_ms``, ``n_mels`` mel bands); deltas and delta-deltas (9-frame
    window) are computed on every frame; then the energy VAD drops quiet
    frames and CMVN standardises each column over the frames kept.

    Parameters
    ----------
    signal : ndarray of shape (n_samples,)
        Audio samples: floats in [-1, 1], or integer PCM (int16, int32),
        which is scaled to [-1, 1].
    sr : int, default=16000
        Sample rate in Hz.
    n_mfcc : int, default=20
    deltas : bool, default=True
        Append delta and delta-delta coefficients.
    cmvn : {"utterance", None}, default="utterance"
    vad : {"energy", None}, default="energy"
        Keep frames within ``vad_db`` dB of the loudest frame and above
        ``vad_floor_db`` dBFS (frame RMS).
    frame_ms, hop_ms : float, default=25 and 10
    n_mels : int, default=40
    vad_db, vad_floor_db : float, default=30 and -60
    source : str, default="audio"
        What to call the signal in messages (e.g. the file name).

    Returns
    -------
    ndarray of shape (n_frames, n_mfcc) or (n_frames, 3 * n_mfcc) with deltas
        float64.

    Raises
    ------
    ValueError
        For a signal that is not 1-D, too short for the analysis, or
        silent once the VAD has dropped the quiet frames.
    """
    import librosa

    FeatureConfig(sr=sr, n_mfcc=n_mfcc, n_mels=n_mels, cmvn=cmvn, vad=vad)  # validates them
    signal = as_float_samples(signal)
    if signal.ndim != 1:
        raise ValueError(
            f"mfcc expects a mono signal of shape (n_samples,); got shape {signal.shape}. "
            "Mix the channels down first (e.g. signal.mean(axis=1))."
        )
    if not np.all(np.isfinite(signal)):
        raise ValueError(f"{source} holds NaN or infinite samples; give finite audio samples.")
    check_clipping(signal, source=source)
    n_fft = int(round(sr * frame_ms / 1000.0))
    hop = int(round(sr * hop_ms / 1000.0))
    needed = DELTA_WIDTH if deltas else 1
    n_frames = 1 + len(signal) // hop
    if len(signal) < n_fft or n_frames < needed:
        shortest = max((needed - 1) * hop, n_fft)  # samples
        raise ValueError(
            f"{source} is too short: {len(signal) / sr:.3f} s gives {n_frames} frames; at least "
            f"{1 + shortest // hop} frames ({shortest / sr:.3f} s) are needed; give a longer "
            "utterance."
        )
    static = librosa.feature.mfcc(
        y=signal.astype(np.float32), sr=sr, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop,
        n_mels=n_mels,
    )
    columns = [static]
    if deltas:
        columns += [librosa.feature.delta(static, width=DELTA_WIDTH, order=o) for o in (1, 2)]
    frames = np.vstack(columns).T.astype(np.float64)
    if vad == "energy":
        keep = energy_vad(signal, n_frames=frames.shape[0], n_fft=n_fft, hop=hop,
                          vad_db=vad_db, floor_db=vad_floor_db)
        if not keep.any():
            raise ValueError(
                f"{source} has no speech: the energy VAD dropped all {len(keep)} frames (none "
                f"above {vad_floor_db:g} dBFS); check the recording level, or pass vad=None."
            )
        frames = frames[keep]
    if cmvn == "utterance":
        frames = normalise(frames)
    return frames


def as_float_samples(signal):
    """float64 samples; integer PCM (e.g. int16) scaled by its full scale to [-1, 1]."""
    signal = np.asarray(signal)
    if np.issubdtype(signal.dtype, np.integer):
        return signal / float(np.iinfo(signal.dtype).max)
    return np.asarray(signal, dtype=np.float64)


def energy_vad(signal, *, n_frames, n_fft, hop, vad_db=30.0, floor_db=-60.0):
    """Which frames hold speech: bool array of shape (n_frames,).

    A frame is kept when its RMS level (dBFS, over the same centred windows
    librosa uses) is within ``vad_db`` of the loudest frame and above ``floor_db``.
    """
    padded = np.pad(signal, n_fft // 2)
    starts = np.arange(n_frames) * hop
    windows = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[starts]
    level = 10.0 * np.log10(np.mean(windows**2, axis=1) + 1e-12)
    return (level > level.max() - vad_db) & (level > floor_db)


def normalise(frames):
    """Each column to mean 0 and standard deviation 1 (a constant column to 0)."""
    std = frames.std(axis=0)
    return (frames - frames.mean(axis=0)) / np.where(std > 0, std, 1.0)


def static_mfcc(signal, *, sr=16000, n_mfcc=20, frame_ms=25.0, hop_ms=10.0, n_mels=40, **options):
    """Plain MFCCs, one row per frame (the registered ``mfcc`` feature): (n_frames, n_mfcc).

    The same as :func:`mfcc` with ``deltas=False, cmvn=None, vad=None`` unless
    ``options`` turn them on, so every frame of the signal is kept.
    """
    options = {"deltas": False, "cmvn": None, "vad": None, **options}
    return mfcc(signal, sr=sr, n_mfcc=n_mfcc, frame_ms=frame_ms, hop_ms=hop_ms, n_mels=n_mels,
                **options)
