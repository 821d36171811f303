"""Evaluation protocols: trial lists, labelled audio folders, per-condition results.

A trial list is a CSV file with the header ``speaker,file,target`` and an
optional ``condition`` column: the claimed (enrolled) speaker, the test
audio file (relative to the CSV's folder), whether the claimed speaker
spoke it (1/0 or true/false), and a label such as ``clean`` or ``noisy``.
:func:`evaluate_trials` gives the EER and minDCF of every condition and of
all trials together.

Audio folders name their speakers by their layout: a file in a subfolder
belongs to the subfolder's speaker (``cohort/s01/a.wav`` -> ``s01``), a
file directly in the folder given is a speaker of its own (its name
without the suffix).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
ALL = "all"


@dataclass
class Trials:
    """Verification trials: who is claimed, which file is tested, and the truth.

    Attributes
    ----------
    speakers : list of str
        The claimed speaker of every trial.
    files : list of str
        The test file (or utterance id) of every trial.
    is_target : ndarray of bool, shape (n_trials,)
    conditions : list of str
        Every trial's condition ("all" when the list has none).
    """

    speakers: list
    files: list
    is_target: np.ndarray
    conditions: list = field(default_factory=list)

    def __post_init__(self):
        self.is_target = np.asarray(self.is_target, dtype=bool)
        if not self.conditions:
            self.conditions = [ALL] * len(self.speakers)
        lengths = {len(self.speakers), len(self.files), len(self.is_target), len(self.conditions)}
        if len(lengths) != 1:
            raise ValueError("speakers, files, is_target and conditions must have one entry per "
                             "trial.")

    def __len__(self) -> int:
        return len(self.speakers)

    @classmethod
    def read(cls, path: str | os.PathLike, *, check_files: bool = False) -> Trials:
        """Read a trial list CSV (files made relative to its folder): Trials.

        With ``check_files``, a line naming a file that does not exist is
        refused with its line number.
        """
        folder = Path(path).parent
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"speaker", "file", "target"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"'{path}' lacks the columns {sorted(missing)}; a trials file "
                                 "has the header speaker,file,target (and optionally condition).")
            speakers, files, targets, conditions = [], [], [], []
            for line, row in enumerate(reader, start=2):
                flag = (row["target"] or "").strip().lower()
                if flag not in ("1", "0", "true", "false"):
                    raise ValueError(f"'{path}' line {line}: target {row['target']!r} is not 1, "
                                     "0, true or false.")
                file = folder / (row["file"] or "")
                if check_files and not file.is_file():
                    raise ValueError(f"'{path}' line {line}: no such file '{row['file']}' "
                                     f"(looked for '{file}'); files are relative to the trials "
                                     "file's folder.")
                speakers.append(row["speaker"])
                files.append(str(file))
                targets.append(flag in ("1", "true"))
                conditions.append((row.get("condition") or ALL).strip() or ALL)
        if not speakers:
            raise ValueError(f"'{path}' holds no trials.")
        return cls(speakers, files, np.array(targets), conditions)

    def write(self, path: str | os.PathLike, *,
              relative_to: str | os.PathLike | None = None) -> None:
        """Write the list as CSV (files relative to ``relative_to`` when given)."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["speaker", "file", "target", "condition"])
            for speaker, file, target, condition in zip(self.speakers, self.files,
                                                        self.is_target, self.conditions):
                name = Path(file).relative_to(relative_to) if relative_to else file
                writer.writerow([speaker, str(name), int(target), condition])

    @classmethod
    def all_against_all(cls, models: Sequence[str], test_files: Sequence[str],
                        test_speakers: Sequence[str],
                        conditions: Sequence[str] | None = None) -> Trials:
        """Every test file against every model: Trials of len(models) x len(test_files)."""
        speakers, files, targets, labels = [], [], [], []
        for i, (file, true) in enumerate(zip(test_files, test_speakers)):
            for model in models:
                speakers.append(model)
                files.append(file)
                targets.append(model == true)
                labels.append(ALL if conditions is None else conditions[i])
        return cls(speakers, files, np.array(targets), labels)


def evaluate_trials(scores: ArrayLike, trials: Trials, *, p_target: float = 0.01) -> dict:
    """EER and minDCF of every condition, and of all trials: dict of dicts.

    Parameters
    ----------
    scores : array-like of shape (n_trials,)
    trials : Trials
    p_target : float, default=0.01

    Returns
    -------
    dict
        condition -> {"n_trials", "n_target", "eer", "min_dcf"}; the key
        "all" holds every trial (with a single condition, only "all").
    """
    from gmmkit_speech.evaluation import equal_error_rate, min_dcf

    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(trials),):
        raise ValueError(f"{scores.size} scores for {len(trials)} trials; give one score per "
                         "trial.")
    conditions = np.asarray(trials.conditions)
    results = {}
    for condition in [ALL] + sorted(set(trials.conditions) - {ALL}):
        keep = np.ones(len(trials), bool) if condition == ALL else conditions == condition
        target = scores[keep & trials.is_target]
        nontarget = scores[keep & ~trials.is_target]
        results[condition] = {
            "n_trials": int(keep.sum()), "n_target": int(target.size),
            "eer": equal_error_rate(target, nontarget),
            "min_dcf": min_dcf(target, nontarget, p_target=p_target),
        }
    return results


def trial_report(scores: ArrayLike, trials: Trials, matrix: np.ndarray, speakers: Sequence[str],
                 files: Sequence[str], *, p_target: float = 0.01,
                 calibration=None) -> dict:
    """Everything `gmmkit speech evaluate` reports on scored trials: dict.

    Parameters
    ----------
    scores : array-like of shape (n_trials,)
        The score of every trial.
    trials : Trials
    matrix : ndarray of shape (n_speakers, n_files)
        Every claimed speaker against every test file (for identification).
    speakers, files : sequence of str
        The rows and columns of ``matrix``.
    p_target : float, default=0.01
    calibration : ScoreCalibration, optional
        Applied before actual DCF and Cllr (else the scores are read as LLRs).

    Returns
    -------
    dict
        The "all" entry of :func:`evaluate_trials` with ``min_dcf_miss``,
        ``min_dcf_fa``, ``min_dcf_threshold`` (the minDCF point),
        ``actual_dcf``, ``cllr``, ``calibrated``, ``p_target``,
        ``conditions`` (the other entries) and ``identification``: every file
        with a target trial identified by its best-scoring speaker
        (``n_files``, ``n_correct``, ``accuracy``, ``labels``, ``confusion``).
    """
    from gmmkit_speech.evaluation import actual_dcf, cllr, confusion_matrix, min_dcf_point

    scores = np.asarray(scores, dtype=np.float64)
    results = evaluate_trials(scores, trials, p_target=p_target)
    target, nontarget = scores[trials.is_target], scores[~trials.is_target]
    miss, fa, threshold = min_dcf_point(target, nontarget, p_target=p_target)
    llrs = scores if calibration is None else calibration.transform(scores)
    report = {**results[ALL], "min_dcf_miss": miss, "min_dcf_fa": fa,
              "min_dcf_threshold": threshold if np.isfinite(threshold) else None,
              "actual_dcf": actual_dcf(llrs[trials.is_target], llrs[~trials.is_target],
                                       p_target=p_target),
              "cllr": cllr(llrs[trials.is_target], llrs[~trials.is_target]),
              "calibrated": calibration is not None, "p_target": p_target,
              "conditions": {k: v for k, v in results.items() if k != ALL}}
    truth = {f: s for s, f, t in zip(trials.speakers, trials.files, trials.is_target) if t}
    known = [j for j, f in enumerate(files) if f in truth]
    true = [truth[files[j]] for j in known]
    predicted = [speakers[i] for i in np.asarray(matrix)[:, known].argmax(axis=0)] if known else []
    labels = sorted(set(speakers))
    confusion = confusion_matrix(true, predicted, labels=labels)[0] if known else np.zeros((0, 0))
    correct = int(sum(t == p for t, p in zip(true, predicted)))
    report["identification"] = {
        "n_files": len(known), "n_correct": correct,
        "accuracy": correct / len(known) if known else None, "labels": labels,
        "confusion": confusion.tolist()}
    return report


def labelled_audio(paths: Sequence[str | os.PathLike]) -> list[tuple[str, str]]:
    """(file, speaker) of every audio file under ``paths``, sorted within each path.

    A folder is searched recursively: a file in a subfolder belongs to the
    first subfolder's speaker, a file directly in it to a speaker named by
    its stem. A file given by itself belongs to its parent folder's name.
    """
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
                parts = file.relative_to(path).parts
                found.append((str(file), parts[0] if len(parts) > 1 else file.stem))
        else:
            found.append((str(path), path.parent.name or path.stem))
    if not found:
        raise ValueError(f"no audio files (.wav, .flac, .ogg) in {', '.join(map(str, paths))}.")
    return found
