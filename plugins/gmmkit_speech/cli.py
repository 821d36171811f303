"""``gmmkit speech ...``: train a UBM and an i-vector extractor, enrol, identify, verify, evaluate.

Only click is imported here; librosa, soundfile and matplotlib load inside
the commands. Results go to stdout (``--json`` for machines), progress to
stderr (``-q`` silences it); errors are one line (gmmkit.cli).
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from gmmkit.cli.helpers import (
    command_outputs,
    force_option,
    json_option,
    output_option,
    quiet_option,
    seed_option,
)
from gmmkit_speech.cli_helpers import (
    audio_files,
    check_backend_speakers,
    check_cohort_size,
    cohort_files,
    enrol_extractor,
    file_frames,
    labelled_audio,
    open_store,
    print_result,
    progress,
    scoring_system,
    top_c_or_none,
)

NORMS = ("z-norm", "t-norm", "zt-norm", "s-norm", "as-norm")

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
    labelled = labelled_audio(audio)
    files = [file for file, _ in labelled]
    outputs = command_outputs(force, audio, files)
    model_file = outputs.file(model_path, "model_path")
    frames = [file_frames(path, config) for path in progress(files, quiet, "features")]
    model = train_ubm(frames, n_components=n_components, feature_config=config,
                      max_iter=max_iter, random_state=seed, verbose=not quiet)
    # the default impostor cohort of `evaluate --norm`: the UBM's training speakers
    model.speech_["train_files"] = [[str(Path(f).resolve()), s] for f, s in labelled]
    model_file.write(lambda temporary: save_model(model, temporary))
    outputs.commit()
    summary = {"model_file": model_path, "n_components": n_components, "n_files": len(files),
               "n_frames": model.speech_["n_frames"], "converged": bool(model.converged_),
               "n_iter": int(model.n_iter_), "features": config.to_dict()}
    print_result(summary, as_json, f"UBM: {n_components} components from {len(files)} files "
           f"({summary['n_frames']} frames), converged={summary['converged']} after "
           f"{summary['n_iter']} iterations; saved to {model_path}")


@speech.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--ubm", "ubm_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The UBM the statistics are taken against.")
@output_option("Extractor file to write (e.g. tv.npz).", dest="tv_path", required=True)
@click.option("--rank", default=100, show_default=True, type=click.IntRange(min=1),
              help="i-vector dimension.")
@click.option("--n-iter", default=10, show_default=True, type=click.IntRange(min=1),
              help="EM iterations of the T matrix.")
@click.option("--min-divergence/--no-min-divergence", default=True, show_default=True)
@click.option("--backend/--no-backend", default=True, show_default=True,
              help="Also train LDA, WCCN and PLDA on the speakers (one subfolder of AUDIO per "
                   "speaker, at least 2 files each).")
@click.option("--lda-dim", type=click.IntRange(min=0), default=None,
              help="LDA dimension (default: speakers - 1; 0: no LDA).")
@seed_option()
@force_option
@json_option
@quiet_option
def tv(audio, ubm_path, tv_path, rank, n_iter, min_divergence, backend, lda_dim, seed, force,
       as_json, quiet):
    """Train an i-vector extractor (total-variability matrix) on AUDIO against the UBM."""
    import warnings

    from gmmkit_speech.ivector import ShortUtteranceWarning
    from gmmkit_speech.systems import train_ivector_system
    from gmmkit_speech.ubm import feature_config, load_model

    labelled = labelled_audio(audio)
    files = [file for file, _ in labelled]
    outputs = command_outputs(force, audio, files, ubm_path)
    tv_file = outputs.file(tv_path, "tv_path")
    speakers = [speaker for _, speaker in labelled] if backend else None
    if backend:
        check_backend_speakers(speakers)
    ubm = load_model(ubm_path, role="ubm")
    config = feature_config(ubm)
    frames = [file_frames(path, config) for path in progress(files, quiet, "features")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortUtteranceWarning)  # training takes them all
        extractor = train_ivector_system(ubm, frames, speakers, rank=rank, n_iter=n_iter,
                                         min_divergence=min_divergence, lda_dim=lda_dim,
                                         random_state=seed, verbose=not quiet)
    tv_file.write(extractor.save)
    outputs.commit()
    summary = {"tv_file": tv_path, "rank": rank, "n_iter": n_iter, "n_files": len(files),
               "ubm": extractor.ubm_name, "log_likelihood": extractor.log_likelihoods_[-1],
               "backend": extractor.backend is not None}
    with_backend = (f" and its back-end (LDA, WCCN, PLDA) on {len(set(speakers))} speakers"
                    if backend else "")
    print_result(summary, as_json, f"i-vector extractor: rank {rank}, {n_iter} EM iterations on "
           f"{len(files)} files{with_backend}; UBM {extractor.ubm_name}; saved to {tv_path}")


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
@click.option("--ivector", is_flag=True,
              help="Also keep the speaker's i-vectors (one per file) beside the MAP model.")
@click.option("--tv", "tv_path", type=click.Path(exists=True, dir_okay=False),
              help="The i-vector extractor (from `gmmkit speech tv`); needed with --ivector "
                   "until the store has one.")
@force_option
@json_option
@quiet_option
def enroll(files, ubm_path, speaker, store_dir, relevance_factor, update, ivector, tv_path,
           force, as_json, quiet):
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
    if tv_path is not None and not ivector:
        raise click.UsageError("--tv is for --ivector enrolment; add --ivector.")
    paths = audio_files(files)
    outputs = command_outputs(force, files, paths, ubm_path, tv_path)
    store, ubm = open_store(store_dir, ubm_path)
    extractor = enrol_extractor(store, store_dir, ubm, ubm_path, ivector, tv_path)
    new_store = outputs.directory(store_dir, "store_dir") if store is None else None
    config = feature_config(ubm)
    frames = [file_frames(path, config) for path in progress(paths, quiet, "features")]
    model = map_adapt(ubm, frames, relevance_factor=relevance_factor, update=update,
                      feature_config=config)
    if new_store is not None:
        store = SpeakerStore.create(new_store.temporary, ubm)
    store.add(speaker, model)
    if extractor is not None:
        store.set_ivector_extractor(extractor)
        store.add_ivectors(speaker, store.extract_ivectors(frames))
    summary = {"speaker": speaker, "store": store_dir, "n_files": len(paths),
               "n_frames": model.speech_["n_frames"], "n_speakers": len(store),
               "ivector": extractor is not None}
    outputs.commit()
    print_result(summary, as_json, f"enrolled {speaker} from {len(paths)} files "
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
                                    top_c=top_c_or_none(top_c, store.ubm))
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:n_best]
    summary = {"file": file, "speaker": best, "scores": dict(ranked)}
    lines = [f"{file}: {best}"] + [f"  {name:<20} {score:+.4f}" for name, score in ranked]
    print_result(summary, as_json, "\n".join(lines))


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
                                     threshold=threshold, top_c=top_c_or_none(top_c, store.ubm))
    summary = {"file": file, "speaker": speaker, "score": score, "threshold": threshold,
               "accepted": accepted}
    decision = "accept" if accepted else "reject"
    print_result(summary, as_json, f"{decision}: {file} as {speaker} (score {score:+.4f}, "
           f"threshold {threshold:+.4f})")


@speech.command()
@_store_option
@click.option("--trials", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with columns speaker,file,target (target: 1/0 or true/false) and an "
                   "optional condition; files relative to the CSV's folder.")
@click.option("--det", "det_path", default="det.png", show_default=True,
              type=click.Path(dir_okay=False), help="Where to draw the DET curve (PNG).")
@click.option("--p-target", default=0.01, show_default=True, type=click.FloatRange(0, 1),
              help="Target prior of minDCF.")
@click.option("--backend", type=click.Choice(["gmm", "cosine", "plda"]), default="gmm",
              show_default=True, help="Score MAP models (gmm) or i-vector models (cosine, plda; "
                                      "enrol with --ivector).")
@click.option("--norm", type=click.Choice(["none", *NORMS]), default="none", show_default=True,
              help="Score normalisation with an impostor cohort.")
@click.option("--cohort", "cohort_paths", multiple=True, type=click.Path(exists=True),
              help="Impostor audio for --norm: one subfolder per speaker (repeatable); default: "
                   "the UBM's training audio.")
@click.option("--top-n", type=click.IntRange(min=2), default=None,
              help="Cohort scores kept per side (needed by --norm as-norm).")
@_top_c_option
@force_option
@json_option
@quiet_option
def evaluate(store_dir, trials, det_path, p_target, backend, norm, cohort_paths, top_n, top_c,
             force, as_json, quiet):
    """Score the verification trials of a CSV file: print EER and minDCF, draw the DET curve.

    With a condition column, the EER and minDCF of every condition are printed too.
    """
    from gmmkit_speech.evaluation import PLOT_HINT, plot_det
    from gmmkit_speech.store import SpeakerStore
    from gmmkit_speech.systems import system_scores
    from gmmkit_speech.trials import Trials, evaluate_trials

    norm = None if norm == "none" else norm
    if norm == "as-norm" and top_n is None:
        raise click.UsageError("--norm as-norm needs --top-n, the number of cohort scores kept "
                               "per side (e.g. --top-n 100).")
    outputs = command_outputs(force, store_dir, trials, *cohort_paths)
    det_file = outputs.figure(det_path, "det_path")
    store = SpeakerStore(store_dir)
    trial_list = Trials.read(trials)
    names = sorted(set(trial_list.speakers))
    files = sorted(set(trial_list.files))
    system, models = scoring_system(store, store_dir, backend, top_c, names)
    cohort = cohort_speakers = None
    if norm is not None:
        listed = cohort_files(cohort_paths, store, store_dir)
        check_cohort_size(listed, names, top_n, norm)
        cohort_speakers = [speaker for _, speaker in listed]
        cohort = system.prepare([store.features_of(f) for f, _ in
                                 progress(listed, quiet, "cohort")])
    tests = system.prepare([store.features_of(f) for f in progress(files, quiet, "tests")])
    matrix = system_scores(system, models, tests, norm=norm, cohort=cohort, model_speakers=names,
                           cohort_speakers=cohort_speakers, top_n=top_n)
    row = {name: i for i, name in enumerate(names)}
    column = {file: j for j, file in enumerate(files)}
    scores = np.array([matrix[row[s], column[f]] for s, f in zip(trial_list.speakers,
                                                                  trial_list.files)])
    results = evaluate_trials(scores, trial_list, p_target=p_target)
    overall = results["all"]
    summary = {**overall, "p_target": p_target, "backend": backend, "norm": norm or "none",
               "conditions": {k: v for k, v in results.items() if k != "all"}}
    target, nontarget = scores[trial_list.is_target], scores[~trial_list.is_target]
    try:
        det_file.write(lambda temporary: plot_det(target, nontarget, temporary))
        summary["det_plot"] = det_path
    except ImportError:
        det_file.skip()
        click.echo(f"Warning: no DET plot: it needs matplotlib: {PLOT_HINT}", err=True)
    outputs.commit()
    how = f", {backend}" + ("" if norm is None else f" with {norm}")
    lines = [f"{overall['n_trials']} trials ({overall['n_target']} target){how}: "
             f"EER {100 * overall['eer']:.2f}%, minDCF(p_target={p_target:g}) "
             f"{overall['min_dcf']:.4f}"]
    lines += [f"  {name}: {r['n_trials']} trials, EER {100 * r['eer']:.2f}%, minDCF "
              f"{r['min_dcf']:.4f}" for name, r in summary["conditions"].items()]
    if "det_plot" in summary:
        lines.append(f"DET curve written to {det_path}")
    print_result(summary, as_json, "\n".join(lines))
