"""The bundled speech set: 10 synthetic speakers x 14 words x 2 takes (gmmkit/datasets/speech/).

The audio ships inside the installed package ``gmmkit.datasets`` and is read
with importlib.resources, so it works from a wheel as from the repository.
gmmkit/datasets/make_speech.py rebuilds it; gmmkit/datasets/README.md gives its source.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

SPEECH_FOLDER = "speech"
MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class Utterance:
    """One bundled recording.

    Attributes
    ----------
    path : importlib.resources Traversable or pathlib.Path
        The FLAC file.
    speaker : str
        "s01" .. "s10".
    voice : str
        The espeak-ng voice and variant.
    text : str
        The word spoken.
    take : int
        1 or 2.
    """

    path: object
    speaker: str
    voice: str
    text: str
    take: int


def speech_folder():
    """The folder of the bundled audio (a Traversable inside ``gmmkit.datasets``)."""
    return resources.files("gmmkit.datasets").joinpath(SPEECH_FOLDER)


def load_speech_set():
    """Every bundled utterance, in manifest order: list of :class:`Utterance`."""
    folder = speech_folder()
    text = folder.joinpath(MANIFEST).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return [
        Utterance(folder.joinpath(row["file"]), row["speaker"], row["voice"], row["text"],
                  int(row["take"]))
        for row in rows
    ]


def read_utterance(utterance, config):
    """Frames of a bundled utterance under ``config``: (n_frames, config.n_features)."""
    from gmmkit_speech.features import load_audio

    with resources.as_file(utterance.path) as path:
        signal = load_audio(path, sr=config.sr)
    return config.extract(signal, source=utterance.path.name)
