"""Helpers of the ``gmmkit speech`` commands: audio files, stores, cohorts, back-ends.

Messages here speak CLI (they name options); only click and numpy are
imported at module level.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click
import numpy as np

from gmmkit.cli.helpers import echo_json


def top_c_or_none(top_c, ubm):
    """--top-c for the scoring functions: None for all components, else at most the UBM's."""
    return min(top_c, len(ubm.weights_)) if top_c else None


def check_backend_speakers(speakers):
    """Usage errors for speaker folders that cannot train the back-end."""
    names, counts = np.unique(speakers, return_counts=True)
    if len(names) < 2:
        raise click.UsageError("the i-vector back-end needs at least 2 speakers (one subfolder "
                               "of AUDIO each); add speakers or pass --no-backend.")
    few = names[counts < 2]
    if few.size:
        listed = ", ".join(few[:5]) + (", ..." if few.size > 5 else "")
        raise click.UsageError(
            f"the PLDA back-end needs at least 2 files per speaker, and {few.size} speaker(s) "
            f"have 1 ({listed}); speakers are the subfolders of AUDIO. Add recordings or pass "
            "--no-backend.")


def enrol_extractor(store, store_dir, ubm, ubm_path, ivector, tv_path):
    """The extractor `enroll --ivector` uses (None without --ivector), checked against the UBM."""
    from gmmkit_speech.ivector import IvectorExtractor

    if not ivector:
        return None
    current = None if store is None else store.ivector_extractor
    if tv_path is None:
        if current is None:
            raise click.UsageError(f"--ivector needs an i-vector extractor and '{store_dir}' has "
                                   "none yet; pass --tv TV.npz (from `gmmkit speech tv`).")
        return current
    extractor = IvectorExtractor.load(tv_path)
    check_tv(extractor, tv_path, ubm,
             f"the UBM of '{store_dir}'" if store is not None else f"'{ubm_path}'")
    if current is not None and not np.array_equal(current.T, extractor.T):
        raise click.ClickException(f"'{store_dir}' already has another i-vector extractor than "
                                   f"'{tv_path}'; leave out --tv, or enrol into a new store.")
    return extractor


def check_tv(extractor, tv_path, ubm, what):
    """A one-line error naming both UBMs when the extractor was trained on another UBM.

    ``what`` names the UBM in the message ("'ubm.gmm'", "the UBM of 'store'").
    """
    from gmmkit_speech.statistics import ubm_name
    from gmmkit_speech.ubm import speech_info

    try:
        extractor.check_ubm(ubm_name(ubm), speech_info(ubm)["features"], what=what)
    except ValueError:
        mine, theirs = extractor.ubm_name, ubm_name(ubm)
        raise click.ClickException(
            f"'{tv_path}' was trained on UBM {mine}, not on {what} ({theirs}); train an extractor "
            "on this UBM with `gmmkit speech tv AUDIO --ubm UBM.gmm -o TV.npz`.") from None


def audio_files(paths):
    """Audio files among ``paths``, folders searched recursively, sorted: list of str."""
    from gmmkit_speech.trials import labelled_audio

    return [file for file, _ in labelled_audio(paths)]


def labelled_audio(paths):
    """(file, speaker) of the audio files under ``paths`` (gmmkit_speech.trials)."""
    from gmmkit_speech.trials import labelled_audio as find

    return find(paths)


def file_frames(path, config):
    """Frames of one audio file under ``config``."""
    from gmmkit_speech.features import load_audio

    return config.extract(load_audio(path, sr=config.sr), source=f"'{path}'")


def frames_of_files(files, config, quiet, label="features"):
    """Frames of every file under ``config``, one progress bar, one upsampling warning."""
    warn_upsampled(files, config.sr, "train the UBM on audio at their rate (`gmmkit speech ubm "
                                     "--sr`) for such recordings.")
    with upsampling_warned_once():
        return [file_frames(f, config) for f in progress(files, quiet, label)]


def open_store(store_dir, ubm_path):
    """(the store in ``store_dir``, its UBM), or (None, the UBM of ``ubm_path``) without one.

    Nothing is written: the command creates a new store once it has
    something to put in it.
    """
    from gmmkit_speech.store import UBM_FILE, SpeakerStore
    from gmmkit_speech.ubm import load_model

    if (Path(store_dir) / UBM_FILE).exists():
        store = SpeakerStore(store_dir)
        if ubm_path is not None and not same_model(load_model(ubm_path), store.ubm):
            raise click.ClickException(
                f"'{store_dir}' was created with another UBM than '{ubm_path}'; its speakers are "
                "adapted from its own UBM. Leave out --ubm, or enrol into a new store."
            )
        return store, store.ubm
    if ubm_path is None:
        raise click.ClickException(
            f"'{store_dir}' is not a speaker store yet; pass --ubm UBM.gmm to create it."
        )
    return None, load_model(ubm_path, role="ubm")


def same_model(a, b):
    """True when two mixtures have identical parameters."""
    return all(np.array_equal(getattr(a, name), getattr(b, name))
               for name in ("weights_", "means_", "covariances_"))


def scoring_system(store, store_dir, backend, top_c, names):
    """(the scoring system of --backend, the models of the claimed speakers)."""
    from gmmkit_speech.systems import GmmUbmSystem, IvectorSystem

    if backend == "gmm":
        system = GmmUbmSystem(store.ubm, top_c=top_c_or_none(top_c, store.ubm))
        return system, [store[n] for n in names]
    extractor = store.ivector_extractor
    if extractor is None or extractor.backend is None:
        missing = "no i-vector extractor" if extractor is None else "an extractor without back-end"
        raise click.UsageError(
            f"--backend {backend} needs i-vector models, and '{store_dir}' has {missing}; train "
            "one with `gmmkit speech tv` (speaker subfolders) and enrol with --ivector --tv.")
    return IvectorSystem(extractor, store.ubm, extractor.backend, method=backend), [
        store.ivectors(n) for n in names]


def cohort_files(cohort_paths, store, store_dir):
    """(file, speaker) of the cohort: --cohort, or the UBM's training audio."""
    if cohort_paths:
        return labelled_audio(cohort_paths)
    listed = store.ubm.speech_.get("train_files")
    if not listed:
        raise click.UsageError(
            f"--norm needs an impostor cohort and the UBM of '{store_dir}' does not list its "
            "training audio; pass --cohort DIR (one subfolder per speaker).")
    gone = [file for file, _ in listed if not Path(file).is_file()]
    if gone:
        raise click.UsageError(
            f"the UBM's training audio is the default cohort of --norm, but '{gone[0]}' is gone "
            f"({len(gone)} of {len(listed)} files); pass --cohort DIR.")
    return [(file, speaker) for file, speaker in listed]


def check_cohort_size(cohort_files, names, top_n, norm):
    """A usage error when a claimed speaker keeps fewer than --top-n (or 2) cohort utterances."""
    needed = top_n or 2
    for name in names:
        kept = sum(speaker != name for _, speaker in cohort_files)
        if kept < needed:
            left_out = len(cohort_files) - kept
            detail = f" after leaving out {left_out} of speaker {name}" if left_out else ""
            wanted = f"--top-n {top_n}" if top_n else f"--norm {norm}"
            raise click.UsageError(
                f"the cohort has {kept} utterances{detail} but {wanted} needs at least "
                f"{needed}; add impostor speech to the cohort"
                + (" or lower --top-n." if top_n else "."))


def progress(items, quiet, label):
    """Yield ``items`` under one progress bar on stderr (its label alone when not a terminal).

    ``quiet`` hides it, and so does a single item. One bar per stage
    (features, cohort, tests), not a line per file.
    """
    import sys

    if quiet or len(items) < 2:
        yield from items
        return
    with click.progressbar(items, label=f"{label} ({len(items)} files)", file=sys.stderr,
                           show_pos=True) as bar:
        yield from bar


def native_rates(files):
    """The sample rate of every file in its header, in Hz: list of int (unreadable: None)."""
    import soundfile

    rates = []
    for file in files:
        try:
            rates.append(int(soundfile.info(str(file)).samplerate))
        except (RuntimeError, soundfile.LibsndfileError, OSError):
            rates.append(None)  # reading the audio says why, naming the file
    return rates


def warn_upsampled(files, sr, fix):
    """One stderr warning when some ``files`` are sampled below ``sr`` (they get upsampled).

    ``fix`` ends the message (what to do instead). Returns the number of such files.
    """
    low = [(rate, file) for rate, file in zip(native_rates(files), files)
           if rate is not None and rate < sr]
    if low:
        rate, file = min(low)
        click.echo(f"Warning: {len(low)} of {len(files)} files are sampled below {sr} Hz "
                   f"(lowest: {rate} Hz, '{file}'); they are upsampled to {sr} Hz, which adds "
                   f"no frequencies above {rate // 2} Hz; {fix}", err=True)
    return len(low)


@contextmanager
def upsampling_warned_once():
    """Silence the per-file UpsampledAudioWarning: the command warns once (warn_upsampled)."""
    import warnings

    from gmmkit_speech.features import UpsampledAudioWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UpsampledAudioWarning)
        yield


def print_result(summary, as_json, text):
    if as_json:
        echo_json(summary)
    else:
        click.echo(text)
