"""A speaker store: a UBM and enrolled speaker models as gmmkit model files in a directory.

Layout::

    DIR/ubm.gmm                 the UBM (gmmkit model file with speech metadata)
    DIR/speakers/NAME.gmm       one MAP-adapted model per speaker
    DIR/index.sqlite            optional: name, file, frames, enrolment time

Enrolling a speaker writes one file (and one index row); nothing else is
retrained, so a store grows to thousands of speakers. With the SQLite
index, listing the speakers reads one table instead of the directory.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from gmmkit_speech.adapt import check_same_features, map_adapt
from gmmkit_speech.ubm import as_config, feature_config, load_model, save_model, speech_info

UBM_FILE = "ubm.gmm"
SPEAKER_DIR = "speakers"
INDEX_FILE = "index.sqlite"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")


class SpeakerStore:
    """Enrolled speakers on disk, behaving like a read-only dict name -> model.

    Use :meth:`create` for a new store and ``SpeakerStore(directory)`` to open one.

    Parameters
    ----------
    directory : str or os.PathLike
        A folder made by :meth:`create`.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        if not (self.directory / UBM_FILE).is_file():
            raise ValueError(
                f"'{self.directory}' is not a speaker store (it has no {UBM_FILE}); create one "
                "with SpeakerStore.create(directory, ubm) or `gmmkit speech enroll --ubm`."
            )
        self.ubm = load_model(self.directory / UBM_FILE, role="ubm")
        self.config = feature_config(self.ubm)
        self._models = {}

    @classmethod
    def create(cls, directory, ubm, *, index=True):
        """Make a store in ``directory`` (created if needed) around ``ubm``; return it.

        Parameters
        ----------
        directory : str or os.PathLike
        ubm : GaussianMixture
            From :func:`train_ubm` (or :func:`load_model`).
        index : bool, default=True
            Also keep a SQLite index of the speakers.
        """
        directory = Path(directory)
        if (directory / UBM_FILE).exists():
            raise ValueError(
                f"'{directory}' already holds a speaker store; open it with "
                "SpeakerStore(directory) or choose an empty folder."
            )
        (directory / SPEAKER_DIR).mkdir(parents=True, exist_ok=True)
        save_model(ubm, directory / UBM_FILE)
        if index:
            with _connect(directory / INDEX_FILE) as db:
                db.execute(
                    "CREATE TABLE speakers (name TEXT PRIMARY KEY, file TEXT NOT NULL, "
                    "n_frames INTEGER, enrolled TEXT)"
                )
        return cls(directory)

    # ------------------------------------------------------------- enrolment

    def enroll(self, name, frames, *, relevance_factor=16.0, update="m"):
        """MAP-adapt the UBM to ``frames`` and save the model as speaker ``name``.

        Parameters
        ----------
        name : str
            Letters, digits, ``_ . @ -``; an existing speaker is replaced.
        frames : ndarray of shape (n_frames, n_features) or list of such arrays
            Made with ``self.config`` (:meth:`features_of`).
        relevance_factor, update
            As in :func:`map_adapt`.

        Returns
        -------
        GaussianMixture
        """
        model = map_adapt(self.ubm, frames, relevance_factor=relevance_factor, update=update,
                          feature_config=self.config)
        self.add(name, model)
        return model

    def add(self, name, model):
        """Save an adapted speaker ``model`` as ``name``; its features must match the UBM's."""
        path = self._path(name)
        info = speech_info(model)
        check_same_features(as_config(info["features"]), self.config,
                            what=f"speaker '{name}''s features")
        save_model(model, path)
        self._models[name] = model
        if self.indexed:
            with _connect(self.directory / INDEX_FILE) as db:
                db.execute(
                    "INSERT OR REPLACE INTO speakers VALUES (?, ?, ?, ?)",
                    (name, str(path.relative_to(self.directory)), info.get("n_frames"),
                     datetime.now(timezone.utc).isoformat(timespec="seconds")),
                )

    def features_of(self, signal_or_path, *, sr=None):
        """Frames of a file or a signal under the store's feature config: (n_frames, d)."""
        from gmmkit_speech.features import load_audio

        if isinstance(signal_or_path, (str, Path)):
            signal = load_audio(signal_or_path, sr=self.config.sr)
            return self.config.extract(signal, source=f"'{signal_or_path}'")
        return self.config.extract(signal_or_path, sr=sr)

    # ---------------------------------------------------------------- lookup

    @property
    def indexed(self):
        """True when the store keeps a SQLite index."""
        return (self.directory / INDEX_FILE).is_file()

    def names(self):
        """The enrolled speakers' names, sorted: list of str."""
        if self.indexed:
            with _connect(self.directory / INDEX_FILE) as db:
                return [row[0] for row in db.execute("SELECT name FROM speakers ORDER BY name")]
        return sorted(path.stem for path in (self.directory / SPEAKER_DIR).glob("*.gmm"))

    def __len__(self):
        return len(self.names())

    def __contains__(self, name):
        return name in self.names()

    def __getitem__(self, name):
        if name not in self._models:
            path = self._path(name)
            if not path.is_file():
                self._unknown(name)
            self._models[name] = load_model(path, role="speaker")
        return self._models[name]

    def keys(self):
        return self.names()

    def items(self):
        """(name, model) of every speaker; models are loaded once and cached."""
        return [(name, self[name]) for name in self.names()]

    def _unknown(self, name):
        names = self.names()
        listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        known = f"enrolled: {listed} ({len(names)} in all)" if names else "no speaker is enrolled"
        raise ValueError(
            f"unknown speaker '{name}' in store '{self.directory}'; {known}. Enrol it first "
            "(gmmkit speech enroll)."
        )

    def _path(self, name):
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise ValueError(
                f"speaker name {name!r} is not valid; use 1 to 128 letters, digits, '_', '.', "
                "'@' or '-', starting with a letter or digit."
            )
        return self.directory / SPEAKER_DIR / f"{name}.gmm"


def _connect(path):
    """A sqlite3 connection that commits on leaving ``with`` and then closes."""

    class Connection(sqlite3.Connection):
        def __exit__(self, *exc):
            super().__exit__(*exc)
            self.close()
            return False

    return sqlite3.connect(path, factory=Connection)
