"""Rebuild the bundled speech set, gmmkit/datasets/speech/, with espeak-ng.

Ten synthetic "speakers" (espeak-ng voices with different variants, accents
and base pitches) say the ten digits and four words, twice each (two
"takes"), with the pitch and speed of every utterance drawn around the
speaker's own. Each utterance is resampled to 16 kHz, trimmed to the
speech with 60 ms of margin, scaled to a random peak level, given a faint
noise floor (-66 dBFS, so that no frame is digital silence) and written as
16-bit mono FLAC, with one row per file in ``manifest.csv``.

The script is deterministic: every random draw comes from one seeded
generator, and espeak-ng renders the same text, voice, pitch and speed to
the same samples (checked with espeak-ng 1.51). It needs the espeak-ng
program (``apt-get install espeak-ng``), numpy, scipy and soundfile; the
tests and the demo only read the files it writes, so they do not need it.

Run from the repository root::

    python gmmkit/datasets/make_speech.py            # writes gmmkit/datasets/speech/
    python gmmkit/datasets/make_speech.py --check    # rebuild in a temp dir; compare
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gmmkit.engine.types import FloatArray

#: (speaker id, espeak-ng voice+variant, base pitch 0-99, base speed in words/min)
SPEAKERS = [
    ("s01", "en+m1", 40, 165),
    ("s02", "en+m3", 55, 150),
    ("s03", "en-us+m2", 35, 175),
    ("s04", "en+f2", 60, 160),
    ("s05", "en+f4", 70, 150),
    ("s06", "en-us+f1", 50, 170),
    ("s07", "en-gb-scotland+m4", 45, 155),
    ("s08", "en-029+f3", 65, 165),
    ("s09", "en-gb-x-rp+m7", 30, 160),
    ("s10", "en-us+croak", 50, 150),
]
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
WORDS = ["hello", "yes", "no", "stop"]
TAKES = (1, 2)
RATE = 16000
SEED = 20260312
MARGIN_S = 0.06
NOISE_DBFS = -66.0
COLUMNS = ["file", "speaker", "voice", "text", "take", "pitch", "speed"]


def synthesize(text: str, voice: str, pitch: int, speed: int) -> tuple[FloatArray, int]:
    """espeak-ng's rendering of ``text``: (samples float64 in [-1, 1], sample rate)."""
    import soundfile

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "utterance.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav), text],
            check=True,
        )
        samples, rate = soundfile.read(wav, dtype="float64")
    return samples, rate


def to_16k(samples: FloatArray, rate: int) -> FloatArray:
    """Resample to 16 kHz with a polyphase filter (exact rational ratio)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(RATE, rate)
    return resample_poly(samples, ratio.numerator, ratio.denominator)


def trim(samples: FloatArray, *, top_db: float = 40.0) -> FloatArray:
    """The samples from the first to the last 10 ms block within ``top_db`` of the loudest."""
    block = RATE // 100
    n_blocks = len(samples) // block
    power = (samples[: n_blocks * block].reshape(n_blocks, block) ** 2).mean(axis=1)
    loud = np.flatnonzero(10 * np.log10(power + 1e-20) > 10 * np.log10(power.max()) - top_db)
    margin = int(MARGIN_S * RATE)
    start = max(loud[0] * block - margin, 0)
    stop = min((loud[-1] + 1) * block + margin, len(samples))
    return samples[start:stop]


def render(
    rng: np.random.Generator, voice: str, base_pitch: int, base_speed: int, text: str
) -> tuple[FloatArray, int, int]:
    """One utterance: (16 kHz samples, pitch, speed)."""
    pitch = int(np.clip(base_pitch + rng.integers(-8, 9), 0, 99))
    speed = int(base_speed + rng.integers(-15, 16))
    samples, rate = synthesize(text, voice, pitch, speed)
    samples = trim(to_16k(samples, rate))
    peak = rng.uniform(0.25, 0.8)
    samples = samples * (peak / np.abs(samples).max())
    samples = samples + 10 ** (NOISE_DBFS / 20) * rng.standard_normal(len(samples))
    return samples, pitch, speed


def build(out_dir: Path) -> list[list[Any]]:
    """Write every utterance and manifest.csv into ``out_dir``; return the manifest rows."""
    import soundfile

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    rows = []
    for speaker, voice, base_pitch, base_speed in SPEAKERS:
        for take in TAKES:
            for text in DIGITS + WORDS:
                samples, pitch, speed = render(rng, voice, base_pitch, base_speed, text)
                name = f"{speaker}_{text}_{take}.flac"
                soundfile.write(out_dir / name, samples, RATE, format="FLAC", subtype="PCM_16")
                rows.append([name, speaker, voice, text, take, pitch, speed])
    with open(out_dir / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return rows


def check(reference: Path) -> int:
    """Rebuild into a temp dir and compare the decoded samples with ``reference``."""
    import soundfile

    with tempfile.TemporaryDirectory() as tmp:
        rows = build(Path(tmp))
        different = [
            row[0]
            for row in rows
            if not np.array_equal(
                soundfile.read(Path(tmp) / row[0], dtype="int16")[0],
                soundfile.read(reference / row[0], dtype="int16")[0],
            )
        ]
        same_manifest = (Path(tmp) / "manifest.csv").read_text() == (
            reference / "manifest.csv"
        ).read_text()
    print(f"{len(rows) - len(different)} of {len(rows)} files identical; "
          f"manifest {'identical' if same_manifest else 'DIFFERENT'}")
    return 0 if not different and same_manifest else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "speech")
    parser.add_argument("--check", action="store_true", help="rebuild in a temp dir and compare")
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed: apt-get install espeak-ng")
    if args.check:
        return check(args.out)
    rows = build(args.out)
    size = sum((args.out / row[0]).stat().st_size for row in rows)
    print(f"wrote {len(rows)} files ({size / 2**20:.2f} MB) and manifest.csv to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
