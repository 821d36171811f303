"""``gmmkit speech ...``: train a UBM, enrol, identify, verify and evaluate from audio files.

Only click is imported here; librosa, soundfile and matplotlib load inside
the commands. Results go to stdout (``--json`` for machines), progress to
stderr (``-q`` silences it); errors are one line (gmmkit.cli).
"""

from __future__ import annotations

from pathlib import Path

import click

from gmmkit.cli.helpers import (
    command_outputs,
    echo_json,
    force_option,
    json_option,
    output_option,
    quiet_option,
    seed_option,
)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")

_store_option = click.option("--store", "store_dir", required=True,
                             type=click.Path(file_okay=False), help="The speaker store folder.")
_top_c_option = click.option("--top-c", default=5, show_default=True, type=click.IntRange(min=0),
                             help="Score each frame with its C best UBM components (0, or C "
                                  "at least the UBM's size: all).")


def _check_n_mfcc(ctx, param, value):
    """--n-mfcc: 1 to the number of mel bands (the cepstrum has no more coefficients)."""
    from gmmkit_speech.features import FeatureConfig

    if not 1 <= value <= FeatureConfig.n_mels:
        raise click.BadParameter(
            f"{value} is not in 1..{FeatureConfig.n_mels}: the MFCCs come from "
            f"{FeatureConfig.n_mels} mel bands, so there are at most {FeatureConfig.n_mels}",
            ctx=ctx, param=param)
    return value


def _check_finite(ctx, param, value):
    import math

    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number; give a log-likelihood-ratio "
                                 "score such as 0 or 0.5", ctx=ctx, param=param)
    return value


def _top_c(top_c, ubm):
    """--top-c for the scoring functions: None for all components, else at most the UBM's."""
    return min(top_c, len(ubm.weights_)) if top_c else None


@click.group()
def speech():
    """Speaker recognition with GMM-UBM models (MFCC, MAP adaptation, LLR scores)."""


@speech.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-k", "--n-components", default=256, show_default=True,
              type=click.IntRange(min=1), help="UBM components.")
@output_option("Model file to write (e.g. ubm.gmm).", dest="model_path", required=True)
@click.option("--sr", default=16000, show_default=True, type=click.IntRange(min=1000),
              help="Sample rate the audio is resampled to.")
@click.option("--n-mfcc", default=20, show_default=True, type=int, callback=_check_n_mfcc,
              help="Cepstral coefficients per frame (1..40).")
@click.option("--deltas/--no-deltas", default=True, show_default=True)
@click.option("--cmvn/--no-cmvn", default=True, show_default=True)
@click.option("--vad/--no-vad", default=True, show_default=True, help="Energy VAD.")
@click.option("--max-iter", default=100, show_default=True, type=click.IntRange(min=1))
@seed_option()
@force_option
@json_option
@quiet_option
def ubm(audio, n_components, model_path, sr, n_mfcc, deltas, cmvn, vad, max_iter, seed,
        force, as_json, quiet):
    """Train a UBM on every audio file in AUDIO (files or folders, searched recursively)."""
    from gmmkit_speech.features import FeatureConfig
    from gmmkit_speech.ubm import save_model, train_ubm

    config = FeatureConfig(sr=sr, n_mfcc=n_mfcc, deltas=deltas, cmvn="utterance" if cmvn else None,
                           vad="energy" if vad else None)
    files = audio_files(audio)
    outputs = command_outputs(force, audio, files)
    model_file = outputs.file(model_path, "model_path")
    frames = [file_frames(path, config) for path in _progress(files, quiet, "features")]
    model = train_ubm(frames, n_components=n_components, feature_config=config,
                      max_iter=max_iter, random_state=seed, verbose=not quiet)
    model_file.write(lambda temporary: save_model(model, temporary))
    outputs.commit()
    summary = {"model_file": model_path, "n_components": n_components, "n_files": len(files),
               "n_frames": model.speech_["n_frames"], "converged": bool(model.converged_),
               "n_iter": int(model.n_iter_), "features": config.to_dict()}
    _print(summary, as_json, f"UBM: {n_components} components from {len(files)} files "
           f"({summary['n_frames']} frames), converged={summary['converged']} after "
           f"{summary['n_iter']} iterations; saved to {model_path}")


@speech.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--ubm", "ubm_path", type=click.Path(exists=True, dir_okay=False),
              help="The UBM; needed when the store does not exist yet.")
@click.option("--speaker", required=True, help="The speaker's name.")
@_store_option
@click.option("--relevance-factor", default=16.0, show_default=True,
              type=click.FloatRange(min=0))
@click.option("--update", type=click.Choice(["m", "mw", "mwv"]), default="m", show_default=True,
              help="Adapt means; means and weights; or means, weights and variances.")
@force_option
@json_option
@quiet_option
def enroll(files, ubm_path, speaker, store_dir, relevance_factor, update, force, as_json,
           quiet):
    """Enrol SPEAKER from FILES (audio files or folders) into the store.

    A new store appears only when the enrolment succeeds.
    """
    from gmmkit_speech.adapt import map_adapt
    from gmmkit_speech.store import NAME_PATTERN, SpeakerStore
    from gmmkit_speech.ubm import feature_config

    if not NAME_PATTERN.fullmatch(speaker):
        raise click.BadParameter(
            f"{speaker!r} is not a valid name; use 1 to 128 letters, digits, '_', '.', '@' or "
            "'-', starting with a letter or digit", param_hint="--speaker")
    paths = audio_files(files)
    outputs = command_outputs(force, files, paths, ubm_path)
    store, ubm = open_store(store_dir, ubm_path)
    new_store = outputs.directory(store_dir, "store_dir") if store is None else None
    config = feature_config(ubm)
    frames = [file_frames(path, config) for path in _progress(paths, quiet, "features")]
    model = map_adapt(ubm, frames, relevance_factor=relevance_factor, update=update,
                      feature_config=config)
    if new_store is not None:
        store = SpeakerStore.create(new_store.temporary, ubm)
    store.add(speaker, model)
    summary = {"speaker": speaker, "store": store_dir, "n_files": len(paths),
               "n_frames": model.speech_["n_frames"], "n_speakers": len(store)}
    outputs.commit()
    _print(summary, as_json, f"enrolled {speaker} from {len(paths)} files "
           f"({summary['n_frames']} frames); the store holds {summary['n_speakers']} "
           f"speaker{'' if summary['n_speakers'] == 1 else 's'}")


@speech.command()
@_store_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_top_c_option
@click.option("-n", "--n-best", default=5, show_default=True, type=click.IntRange(min=1),
              help="How many of the best speakers to list.")
@json_option
def identify(store_dir, file, top_c, n_best, as_json):
    """Identify the speaker of FILE among the store's speakers (closed set)."""
    from gmmkit_speech.scoring import identify as identify_speaker
    from gmmkit_speech.store import SpeakerStore

    store = SpeakerStore(store_dir)
    best, scores = identify_speaker(store, store.ubm, store.features_of(file),
                                    top_c=_top_c(top_c, store.ubm))
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:n_best]
    summary = {"file": file, "speaker": best, "scores": dict(ranked)}
    lines = [f"{file}: {best}"] + [f"  {name:<20} {score:+.4f}" for name, score in ranked]
    _print(summary, as_json, "\n".join(lines))


@speech.command()
@_store_option
@click.option("--speaker", required=True, help="The claimed speaker.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--threshold", default=0.0, show_default=True, type=float, callback=_check_finite,
              help="Accept when the LLR score is at least this (a finite number).")
@_top_c_option
@json_option
def verify(store_dir, speaker, file, threshold, top_c, as_json):
    """Verify that FILE is spoken by SPEAKER: accept or reject, with the LLR score."""
    from gmmkit_speech.scoring import verify as verify_speaker
    from gmmkit_speech.store import SpeakerStore

    store = SpeakerStore(store_dir)
    model = store[speaker]
    accepted, score = verify_speaker(model, store.ubm, store.features_of(file),
                                     threshold=threshold, top_c=_top_c(top_c, store.ubm))
    summary = {"file": file, "speaker": speaker, "score": score, "threshold": threshold,
               "accepted": accepted}
    decision = "accept" if accepted else "reject"
    _print(summary, as_json, f"{decision}: {file} as {speaker} (score {score:+.4f}, "
           f"threshold {threshold:+.4f})")


@speech.command()
@_store_option
@click.option("--trials", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with columns speaker,file,target (target: 1/0 or true/false); "
                   "files relative to the CSV's folder.")
@click.option("--det", "det_path", default="det.png", show_default=True,
              type=click.Path(dir_okay=False), help="Where to draw the DET curve (PNG).")
@click.option("--p-target", default=0.01, show_default=True, type=click.FloatRange(0, 1),
              help="Target prior of minDCF.")
@_top_c_option
@force_option
@json_option
@quiet_option
def evaluate(store_dir, trials, det_path, p_target, top_c, force, as_json, quiet):
    """Score the verification trials of a CSV file: print EER and minDCF, draw the DET curve."""
    from gmmkit_speech.evaluation import PLOT_HINT, equal_error_rate, min_dcf, plot_det
    from gmmkit_speech.scoring import llr_score
    from gmmkit_speech.store import SpeakerStore

    outputs = command_outputs(force, store_dir, trials)
    det_file = outputs.figure(det_path, "det_path")
    store = SpeakerStore(store_dir)
    rows = read_trials(trials)
    cache = {}
    scores, labels = [], []
    top_c = _top_c(top_c, store.ubm)
    for speaker, path, is_target in _progress(rows, quiet, "trials"):
        if path not in cache:
            cache[path] = store.features_of(path)
        scores.append(llr_score(store[speaker], store.ubm, cache[path], top_c=top_c))
        labels.append(is_target)
    target = [s for s, t in zip(scores, labels) if t]
    nontarget = [s for s, t in zip(scores, labels) if not t]
    summary = {"n_trials": len(rows), "n_target": len(target),
               "eer": equal_error_rate(target, nontarget),
               "min_dcf": min_dcf(target, nontarget, p_target=p_target), "p_target": p_target}
    try:
        det_file.write(lambda temporary: plot_det(target, nontarget, temporary))
        summary["det_plot"] = det_path
    except ImportError:
        det_file.skip()
        click.echo(f"Warning: no DET plot: it needs matplotlib: {PLOT_HINT}", err=True)
    outputs.commit()
    lines = [f"{summary['n_trials']} trials ({summary['n_target']} target): "
             f"EER {100 * summary['eer']:.2f}%, minDCF(p_target={p_target:g}) "
             f"{summary['min_dcf']:.4f}"]
    if "det_plot" in summary:
        lines.append(f"DET curve written to {det_path}")
    _print(summary, as_json, "\n".join(lines))


# ---------------------------------------------------------------- helpers


def audio_files(paths):
    """Audio files among ``paths``, folders searched recursively, sorted: list of str."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        else:
            found.append(str(path))
    if not found:
        raise click.ClickException(
            f"no audio files (.wav, .flac, .ogg) in {', '.join(map(str, paths))}."
        )
    return found


def file_frames(path, config):
    """Frames of one audio file under ``config``."""
    from gmmkit_speech.features import load_audio

    return config.extract(load_audio(path, sr=config.sr), source=f"'{path}'")


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
    import numpy as np

    return all(np.array_equal(getattr(a, name), getattr(b, name))
               for name in ("weights_", "means_", "covariances_"))


def read_trials(path):
    """(speaker, audio path, is_target) rows of a trials CSV."""
    import csv

    folder = Path(path).parent
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"speaker", "file", "target"} - set(reader.fieldnames or ())
        if missing:
            raise click.ClickException(
                f"'{path}' lacks the columns {sorted(missing)}; a trials file has the header "
                "speaker,file,target."
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            flag = row["target"].strip().lower()
            if flag not in ("1", "0", "true", "false"):
                raise click.ClickException(
                    f"'{path}' line {line}: target {row['target']!r} is not 1, 0, true or false."
                )
            rows.append((row["speaker"], str(folder / row["file"]), flag in ("1", "true")))
    if not rows:
        raise click.ClickException(f"'{path}' holds no trials.")
    return rows


def _progress(items, quiet, label):
    """Yield ``items``, reporting every tenth (and the last) on stderr unless quiet."""
    total = len(items)
    for i, item in enumerate(items, start=1):
        yield item
        if not quiet and (i % 10 == 0 or i == total):
            click.echo(f"{label}: {i}/{total}", err=True)


def _print(summary, as_json, text):
    if as_json:
        echo_json(summary)
    else:
        click.echo(text)
