"""``gmmkit speech ...``: train a UBM and an i-vector extractor, enrol (scoring: cli_scoring).

Only click is imported here; librosa, soundfile and matplotlib load inside
the commands. Results go to stdout (``--json`` for machines), progress to
stderr (``-q`` silences it); errors are one line (gmmkit.cli).
"""

from __future__ import annotations

from pathlib import Path

import click

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
    enrol_extractor,
    frames_of_files,
    labelled_audio,
    native_rates,
    open_store,
    print_result,
)
from gmmkit_speech.cli_scoring import calibrate, evaluate, identify, store_option, verify
from gmmkit_speech.ubm import DEFAULT_COMPONENTS


def _check_n_mfcc(ctx, param, value):
    """--n-mfcc: 1 to the number of mel bands (the cepstrum has no more coefficients)."""
    from gmmkit_speech.features import FeatureConfig

    if not 1 <= value <= FeatureConfig.n_mels:
        raise click.BadParameter(
            f"{value} is not in 1..{FeatureConfig.n_mels}: the MFCCs come from "
            f"{FeatureConfig.n_mels} mel bands, so there are at most {FeatureConfig.n_mels}",
            ctx=ctx, param=param)
    return value


@click.group()
def speech():
    """Speaker recognition with GMM-UBM models (MFCC, MAP adaptation, LLR scores)."""


@speech.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-k", "--n-components", default=DEFAULT_COMPONENTS, show_default=True,
              type=click.IntRange(min=1),
              help="UBM components (the size docs/speech.md measures; train_ubm's default).")
@output_option("Model file to write (e.g. ubm.gmm).", dest="model_path", required=True)
@click.option("--sr", default=None, type=click.IntRange(min=1000),
              help="Sample rate the audio is resampled to. Default: the files' own rate, at "
                   "most 16000 (8 kHz recordings stay at 8 kHz); a higher --sr than a file's "
                   "rate is warned about.")
@click.option("--n-mfcc", default=20, show_default=True, type=int, callback=_check_n_mfcc,
              help="Cepstral coefficients per frame (1..40).")
@click.option("--deltas/--no-deltas", default=True, show_default=True,
              help="Append delta and delta-delta coefficients.")
@click.option("--cmvn/--no-cmvn", default=True, show_default=True,
              help="Cepstral mean and variance normalisation per file.")
@click.option("--vad/--no-vad", default=True, show_default=True,
              help="Energy voice activity detection (drop silent frames).")
@click.option("--max-iter", default=100, show_default=True, type=click.IntRange(min=1),
              help="EM iterations of the UBM at most.")
@seed_option()
@force_option
@json_option
@quiet_option
def ubm(audio, n_components, model_path, sr, n_mfcc, deltas, cmvn, vad, max_iter, seed,
        force, as_json, quiet):
    """Train a UBM on every audio file in AUDIO (files or folders, searched recursively)."""
    from gmmkit_speech.features import FeatureConfig
    from gmmkit_speech.ubm import save_model, train_ubm

    labelled = labelled_audio(audio)
    files = [file for file, _ in labelled]
    if sr is None:  # the files' own rate, at most 16 kHz: never upsample by default
        sr = min([16000, *(rate for rate in native_rates(files) if rate is not None)])
    config = FeatureConfig(sr=sr, n_mfcc=n_mfcc, deltas=deltas, cmvn="utterance" if cmvn else None,
                           vad="energy" if vad else None)
    outputs = command_outputs(force, audio, files)
    model_file = outputs.file(model_path, "model_path")
    frames = frames_of_files(files, config, quiet)
    model = train_ubm(frames, n_components=n_components, feature_config=config,
                      max_iter=max_iter, random_state=seed, verbose=not quiet)
    # the default impostor cohort of `evaluate --norm`: the UBM's training speakers
    model.speech_["train_files"] = [[str(Path(f).resolve()), s] for f, s in labelled]
    model_file.write(lambda temporary: save_model(model, temporary))
    outputs.commit()
    summary = {"model_file": model_path, "n_components": n_components, "n_files": len(files),
               "sr": sr,
               "n_frames": model.speech_["n_frames"], "converged": bool(model.converged_),
               "n_iter": int(model.n_iter_), "features": config.to_dict()}
    print_result(summary, as_json, f"UBM: {n_components} components from {len(files)} files "
           f"({summary['n_frames']} frames at {sr} Hz), converged={summary['converged']} after "
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
@click.option("--min-divergence/--no-min-divergence", default=True, show_default=True,
              help="Rescale T after each EM iteration so the i-vectors' second moment is I.")
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
    frames = frames_of_files(files, config, quiet)
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
@store_option
@click.option("--relevance-factor", default=16.0, show_default=True,
              type=click.FloatRange(min=0),
              help="MAP relevance factor: frames a component needs before its data outweigh "
                   "the UBM.")
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
    frames = frames_of_files(paths, config, quiet)
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


for _command in (identify, verify, evaluate, calibrate):
    speech.add_command(_command)
