"""A speaker store: a UBM and enrolled speaker models as gmmkit model files in a directory.

Layout::

    DIR/ubm.gmm                 the UBM (gmmkit model file with speech metadata)
    DIR/speakers/NAME.gmm       one MAP-adapted model per speaker
    DIR/index.sqlite            optional: name, file, frames, enrolment time
    DIR/ivector/tv.npz          optional: the i-vector extractor (and back-end) of the UBM
    DIR/ivector/NAME.npy        the speaker's enrolment i-vectors, one row per utterance
    DIR/calibration.json        optional: a ScoreCalibration of the store's scores

Enrolling a speaker writes one file (and one index row); nothing else is
retrained, so a store grows to thousands of speakers. With the SQLite
index, listing the speakers reads one table instead of the directory.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from gmmkit_speech.adapt import check_same_features, map_adapt
from gmmkit_speech.ubm import as_config, feature_config, load_model, save_model, speech_info

UBM_FILE = "ubm.gmm"
SPEAKER_DIR = "speakers"
INDEX_FILE = "index.sqlite"
IVECTOR_DIR = "ivector"
EXTRACTOR_FILE = "tv.npz"
CALIBRATION_FILE = "calibration.json"
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
        self._extractor = None

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

    def enroll(self, name, frames, *, relevance_factor=16.0, update="m", ivector=None):
        """MAP-adapt the UBM to ``frames`` and save the model as speaker ``name``.

        Parameters
        ----------
        name : str
            Letters, digits, ``_ . @ -``; an existing speaker is replaced.
        frames : ndarray of shape (n_frames, n_features) or list of such arrays
            Made with ``self.config`` (:meth:`features_of`); a list is one
            utterance per array.
        relevance_factor, update
            As in :func:`map_adapt`.
        ivector : bool, optional
            Also keep the speaker's i-vectors (one per utterance) beside the
            MAP model; default: when the store has an i-vector extractor.

        Returns
        -------
        GaussianMixture
        """
        wanted = self._require_extractor() if ivector else (
            None if ivector is False else self.ivector_extractor)
        model = map_adapt(self.ubm, frames, relevance_factor=relevance_factor, update=update,
                          feature_config=self.config)
        self.add(name, model)
        if wanted is not None:
            self.add_ivectors(name, self.extract_ivectors(frames))
        return model

    # --------------------------------------------------------------- i-vectors

    @property
    def ivector_extractor(self):
        """The store's IvectorExtractor (with its back-end), or None."""
        from gmmkit_speech.ivector import IvectorExtractor

        if self._extractor is None and (self.directory / IVECTOR_DIR / EXTRACTOR_FILE).is_file():
            self._extractor = IvectorExtractor.load(self.directory / IVECTOR_DIR / EXTRACTOR_FILE)
        return self._extractor

    def set_ivector_extractor(self, extractor):
        """Keep ``extractor`` (trained on this store's UBM) for i-vector models.

        A store has one extractor: another one is refused once set, since
        the i-vectors of enrolled speakers belong to it.
        """
        from gmmkit_speech.statistics import ubm_name

        extractor.check_ubm(ubm_name(self.ubm), self.config.to_dict(), what="the store's UBM")
        current = self.ivector_extractor
        if current is not None:
            if np.array_equal(current.T, extractor.T):
                return
            raise ValueError(f"'{self.directory}' already has another i-vector extractor; its "
                             "speakers' i-vectors belong to it. Enrol into a new store to use "
                             "this one.")
        (self.directory / IVECTOR_DIR).mkdir(exist_ok=True)
        extractor.save(self.directory / IVECTOR_DIR / EXTRACTOR_FILE)
        self._extractor = extractor

    def extract_ivectors(self, frames):
        """i-vectors of utterances under the store's extractor: (n_utterances, rank)."""
        from gmmkit_speech.ivector import extract_ivectors

        utterances = [frames] if isinstance(frames, np.ndarray) else list(frames)
        return extract_ivectors(self._require_extractor(), utterances, ubm=self.ubm)

    def add_ivectors(self, name, ivectors):
        """Save a speaker's enrolment i-vectors (n_sessions, rank) beside its MAP model."""
        ivectors = np.atleast_2d(np.asarray(ivectors, dtype=np.float64))
        rank = self._require_extractor().rank
        if ivectors.shape[1] != rank:
            raise ValueError(f"the i-vectors have {ivectors.shape[1]} dimensions but the store's "
                             f"extractor gives {rank}; extract them with store.extract_ivectors.")
        path = self._path(name).parent.parent / IVECTOR_DIR / f"{name}.npy"
        path.parent.mkdir(exist_ok=True)
        np.save(path, ivectors)

    def ivectors(self, name):
        """The speaker's enrolment i-vectors: ndarray of shape (n_sessions, rank)."""
        path = self._path(name).parent.parent / IVECTOR_DIR / f"{name}.npy"
        if not path.is_file():
            if name in self:
                raise ValueError(f"speaker '{name}' has no i-vector model in '{self.directory}';"
                                 " enrol it again with an i-vector extractor in the store "
                                 "(`gmmkit speech enroll --ivector`).")
            self._unknown(name)
        return np.load(path, allow_pickle=False)

    def _require_extractor(self):
        extractor = self.ivector_extractor
        if extractor is None:
            raise ValueError("this store has no i-vector extractor; add one with "
                             "store.set_ivector_extractor(extractor) (or `gmmkit speech enroll "
                             "--ivector --tv TV.npz`).")
        return extractor

    def set_calibration(self, calibration, *, backend="gmm", top_c=5, norm=None, n_trials=None):
        """Keep a fitted :class:`ScoreCalibration` of this store's scores (``calibration.json``).

        Parameters
        ----------
        calibration : ScoreCalibration
            Fitted on development trials scored with this store.
        backend : {"gmm", "cosine", "plda"}, default="gmm"
        top_c : int or None, default=5
        norm : str, optional
            How the calibrated scores were made; scores made another way
            must not use it (:meth:`calibration` checks).
        n_trials : int, optional
            How many trials it was fitted on (kept for the record).
        """
        import json

        record = {**calibration.to_dict(), "backend": backend, "top_c": top_c, "norm": norm,
                  "n_trials": n_trials,
                  "fitted": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        path = self.directory / CALIBRATION_FILE
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")
        temporary.replace(path)

    def calibration(self, *, backend="gmm", top_c=5, norm=None):
        """The stored calibration of scores made with ``backend``/``top_c``/``norm``, or None.

        Returns
        -------
        (ScoreCalibration, dict) or None
            The calibration and its record (backend, top_c, norm, n_trials,
            fitted); None when the store has none.

        Raises
        ------
        ValueError
            When the store's calibration was fitted on scores made another way.
        """
        from gmmkit_speech.calibration import ScoreCalibration

        record = self.calibration_record()
        if record is None:
            return None
        wanted = {"backend": backend, "top_c": top_c, "norm": norm}
        differ = {k: record.get(k) for k, v in wanted.items() if record.get(k) != v}
        if differ:
            made = ", ".join(f"{k}={v!r}" for k, v in differ.items())
            asked = ", ".join(f"{k}={wanted[k]!r}" for k in differ)
            raise ValueError(f"the calibration of '{self.directory}' was fitted on scores made "
                             f"with {made}, not {asked}; score the same way or calibrate again.")
        return ScoreCalibration.from_dict(record), record

    def calibration_record(self):
        """The stored calibration's record as written (dict), unchecked; None without one."""
        import json

        path = self.directory / CALIBRATION_FILE
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

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
