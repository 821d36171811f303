"""``gmmkit speech identify|verify|evaluate|calibrate``: score files and trial lists.

identify and verify take many files and folders and score them in one
process (one scores CSV with ``--scores``); evaluate scores a trial list
and reports EER, minDCF, actual DCF, Cllr and identification; calibrate
fits a ScoreCalibration on development trials and keeps it in the store,
where verify finds its threshold. Only click and numpy load at import.
"""

from __future__ import annotations

import click
import numpy as np

from gmmkit.cli.helpers import (
    command_outputs,
    force_option,
    format_table,
    json_option,
    quiet_option,
)
from gmmkit_speech.cli_helpers import (
    audio_files,
    check_cohort_size,
    cohort_files,
    print_result,
    progress,
    scoring_system,
    top_c_or_none,
    upsampling_warned_once,
    warn_upsampled,
)

NORMS = ("z-norm", "t-norm", "zt-norm", "s-norm", "as-norm")
#: confusion matrices of more speakers go to --json only
MAX_CONFUSION = 20

store_option = click.option("--store", "store_dir", required=True,
                            type=click.Path(file_okay=False), help="The speaker store folder.")
top_c_option = click.option("--top-c", default=5, show_default=True, type=click.IntRange(min=0),
                            help="Score each frame with its C best UBM components (0, or C "
                                 "at least the UBM's size: all).")
scores_option = click.option("--scores", "scores_path", type=click.Path(dir_okay=False),
                             help="Also write every score to this CSV (file,speaker,score,"
                                  "decision).")
p_target_option = click.option("--p-target", default=0.01, show_default=True,
                               type=click.FloatRange(0, 1, min_open=True, max_open=True),
                               help="Target prior of the decisions, minDCF and actual DCF.")
backend_option = click.option("--backend", type=click.Choice(["gmm", "cosine", "plda"]),
                              default="gmm", show_default=True,
                              help="Score MAP models (gmm) or i-vector models (cosine, plda; "
                                   "enrol with --ivector).")
trials_option = click.option("--trials", required=True,
                             type=click.Path(exists=True, dir_okay=False),
                             help="CSV with columns speaker,file,target (target: 1/0 or "
                                  "true/false) and an optional condition; files relative to "
                                  "the CSV's folder.")


def _check_finite(ctx, param, value):
    import math

    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number; give a log-likelihood-ratio "
                                 "score such as 0 or 0.5", ctx=ctx, param=param)
    return value


def _test_files(store, audio, quiet):
    """The audio files under AUDIO, checked for upsampling (one warning)."""
    files = audio_files(audio)
    warn_upsampled(files, store.config.sr, "the store's UBM models audio at that rate; enrol "
                                           "such speakers in a store whose UBM was trained at "
                                           "their rate (`gmmkit speech ubm --sr`).")
    return files


def _score_files(store, files, speakers, top_c, quiet):
    from gmmkit_speech.batch import score_files

    with upsampling_warned_once():
        return score_files(store, files, speakers=speakers, top_c=top_c_or_none(top_c, store.ubm),
                           progress=lambda items: progress(items, quiet, "tests"))


@click.command()
@store_option
@click.argument("audio", nargs=-1, required=True, type=click.Path(exists=True))
@top_c_option
@click.option("-n", "--n-best", default=5, show_default=True, type=click.IntRange(min=1),
              help="How many of the best speakers to list per file.")
@scores_option
@force_option
@json_option
@quiet_option
def identify(store_dir, audio, top_c, n_best, scores_path, force, as_json, quiet):
    """Identify the speaker of every file in AUDIO (files or folders) among the store's speakers.

    All files are scored in one process; --scores writes every (file, speaker)
    score, decision "identified" for the best speaker of each file.
    """
    from gmmkit_speech.batch import write_scores
    from gmmkit_speech.store import SpeakerStore

    store = SpeakerStore(store_dir)
    files = _test_files(store, audio, quiet)
    outputs = command_outputs(force, audio, files, store_dir)
    scores_file = outputs.file(scores_path, "scores_path") if scores_path else None
    table = _score_files(store, files, None, top_c, quiet)
    if scores_file is not None:
        rows = table.rows(accept="identified", reject="")
        scores_file.write(lambda temporary: write_scores(temporary, rows))
    outputs.commit()
    results, lines = [], []
    for file, best, row in zip(table.files, table.identified(), table.scores):
        order = np.argsort(-row, kind="stable")[:n_best]
        ranked = {table.speakers[j]: float(row[j]) for j in order}
        results.append({"file": file, "speaker": best, "scores": ranked})
        lines += [f"{file}: {best}"] + [f"  {name:<20} {score:+.4f}"
                                        for name, score in ranked.items()]
    if scores_path:
        lines.append(f"scores written to {scores_path}")
    print_result({"n_files": len(files), "results": results, "scores_csv": scores_path},
                 as_json, "\n".join(lines))


@click.command()
@store_option
@click.option("--speaker", required=True, help="The claimed speaker.")
@click.argument("audio", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--threshold", default=None, type=float, callback=_check_finite,
              help="Accept when the LLR score is at least this (a finite number). Default: "
                   "the store's calibrated threshold for --p-target (`gmmkit speech "
                   "calibrate`), else 0.")
@p_target_option
@top_c_option
@scores_option
@force_option
@json_option
@quiet_option
def verify(store_dir, speaker, audio, threshold, p_target, top_c, scores_path, force, as_json,
           quiet):
    """Verify that every file in AUDIO (files or folders) is spoken by SPEAKER.

    Prints accept or reject with the LLR score and the threshold, which is
    calibrated when the store holds a calibration of the same --top-c.
    """
    from gmmkit_speech.batch import write_scores
    from gmmkit_speech.store import SpeakerStore

    store = SpeakerStore(store_dir)
    store[speaker]  # an unknown speaker fails before any audio is read
    source = "--threshold"
    if threshold is None:
        threshold, source = _calibrated_threshold(store, top_c, p_target)
    files = _test_files(store, audio, quiet)
    outputs = command_outputs(force, audio, files, store_dir)
    scores_file = outputs.file(scores_path, "scores_path") if scores_path else None
    table = _score_files(store, files, [speaker], top_c, quiet)
    accepted = table.decisions(threshold)[:, 0]
    if scores_file is not None:
        rows = table.rows(table.decisions(threshold))
        scores_file.write(lambda temporary: write_scores(temporary, rows))
    outputs.commit()
    results = [{"file": f, "score": float(s), "accepted": bool(a)}
               for f, s, a in zip(table.files, table.scores[:, 0], accepted)]
    lines = [f"{'accept' if r['accepted'] else 'reject'}: {r['file']} as {speaker} (score "
             f"{r['score']:+.4f}, threshold {threshold:+.4f})" for r in results]
    lines.append(f"{int(accepted.sum())} of {len(files)} accepted; threshold {threshold:+.4f} "
                 f"({source})")
    if scores_path:
        lines.append(f"scores written to {scores_path}")
    print_result({"speaker": speaker, "threshold": threshold, "threshold_source": source,
                  "n_files": len(files), "n_accepted": int(accepted.sum()), "results": results,
                  "scores_csv": scores_path}, as_json, "\n".join(lines))


def stored_calibration(store, backend, top_c, norm):
    """(the store's calibration of these scores or None, a CLI message when it is of others)."""
    try:
        found = store.calibration(backend=backend, top_c=top_c, norm=norm)
    except ValueError:
        record = store.calibration_record()
        made = {"--backend": record.get("backend"), "--top-c": record.get("top_c"),
                "--norm": record.get("norm") or "none"}
        asked = {"--backend": backend, "--top-c": top_c, "--norm": norm or "none"}
        differ = [name for name in made if made[name] != asked[name]]
        return None, (
            f"the calibration of '{store.directory}' was fitted on scores made with "
            + ", ".join(f"{name} {made[name]}" for name in differ) + ", not "
            + ", ".join(f"{name} {asked[name]}" for name in differ)
            + "; score them the same way or calibrate again (`gmmkit speech calibrate`).")
    return (None if found is None else found[0]), None


def _calibrated_threshold(store, top_c, p_target):
    """(threshold, where it comes from): the store's calibration for --p-target, else 0."""
    found, mismatch = stored_calibration(store, "gmm", top_c, None)
    if mismatch:
        raise click.UsageError(f"{mismatch} Or pass --threshold.")
    if found is None:
        return 0.0, "uncalibrated default; run `gmmkit speech calibrate`"
    return float(found.threshold(p_target=p_target)), f"calibrated for --p-target {p_target:g}"


def _trial_scores(store, store_dir, trials, backend, top_c, quiet, *, norm=None,
                  cohort_paths=(), top_n=None):
    """(Trials, a score per trial, score matrix (speakers x files), speakers, files)."""
    from gmmkit_speech.systems import system_scores
    from gmmkit_speech.trials import Trials

    trial_list = Trials.read(trials, check_files=True)
    names = sorted(set(trial_list.speakers))
    files = sorted(set(trial_list.files))
    warn_upsampled(files, store.config.sr, "the store's UBM models audio at that rate.")
    system, models = scoring_system(store, store_dir, backend, top_c, names)
    cohort = cohort_speakers = None
    if norm is not None:
        listed = cohort_files(cohort_paths, store, store_dir)
        check_cohort_size(listed, names, top_n, norm)
        cohort_speakers = [speaker for _, speaker in listed]
        with upsampling_warned_once():
            cohort = system.prepare([store.features_of(f) for f in
                                     progress([f for f, _ in listed], quiet, "cohort")])
    with upsampling_warned_once():
        tests = system.prepare([store.features_of(f) for f in progress(files, quiet, "tests")])
    matrix = system_scores(system, models, tests, norm=norm, cohort=cohort, model_speakers=names,
                           cohort_speakers=cohort_speakers, top_n=top_n)
    row = {name: i for i, name in enumerate(names)}
    column = {file: j for j, file in enumerate(files)}
    scores = np.array([matrix[row[s], column[f]] for s, f in zip(trial_list.speakers,
                                                                  trial_list.files)])
    return trial_list, scores, matrix, names, files


@click.command()
@store_option
@trials_option
@click.option("--det", "det_path", default="det.png", show_default=True,
              type=click.Path(dir_okay=False),
              help="Where to draw the DET curve (PNG), its minDCF point marked.")
@p_target_option
@backend_option
@click.option("--norm", type=click.Choice(["none", *NORMS]), default="none", show_default=True,
              help="Score normalisation with an impostor cohort.")
@click.option("--cohort", "cohort_paths", multiple=True, type=click.Path(exists=True),
              help="Impostor audio for --norm: one subfolder per speaker (repeatable); default: "
                   "the UBM's training audio.")
@click.option("--top-n", type=click.IntRange(min=2), default=None,
              help="Cohort scores kept per side (needed by --norm as-norm).")
@top_c_option
@click.option("--scores", "scores_path", type=click.Path(dir_okay=False),
              help="Also write every trial's score to this CSV (file,speaker,score,decision,"
                   "target,condition; decision at the Bayes threshold of --p-target).")
@force_option
@json_option
@quiet_option
def evaluate(store_dir, trials, det_path, p_target, backend, norm, cohort_paths, top_n, top_c,
             scores_path, force, as_json, quiet):
    """Score the verification trials of a CSV file and report how well the store does.

    Prints EER, minDCF and its threshold, actual DCF and Cllr (on calibrated
    scores when the store holds a calibration of these scores, from `gmmkit
    speech calibrate`), the identification accuracy and confusion matrix of
    the files, and the results of every condition; draws the DET curve.
    """
    from gmmkit_speech.batch import write_scores
    from gmmkit_speech.calibration import bayes_threshold
    from gmmkit_speech.evaluation import PLOT_HINT, plot_det
    from gmmkit_speech.store import SpeakerStore
    from gmmkit_speech.trials import trial_report

    norm = None if norm == "none" else norm
    if norm == "as-norm" and top_n is None:
        raise click.UsageError("--norm as-norm needs --top-n, the number of cohort scores kept "
                               "per side (e.g. --top-n 100).")
    outputs = command_outputs(force, store_dir, trials, *cohort_paths)
    det_file = outputs.figure(det_path, "det_path")
    scores_file = outputs.file(scores_path, "scores_path") if scores_path else None
    store = SpeakerStore(store_dir)
    trial_list, scores, matrix, names, files = _trial_scores(
        store, store_dir, trials, backend, top_c, quiet, norm=norm, cohort_paths=cohort_paths,
        top_n=top_n)
    calibration, mismatch = stored_calibration(store, backend, top_c, norm)
    if mismatch:
        click.echo(f"Warning: {mismatch} Actual DCF and Cllr are of the raw scores.", err=True)
    summary = trial_report(scores, trial_list, matrix, names, files, p_target=p_target,
                           calibration=calibration)
    summary.update(backend=backend, norm=norm or "none")
    target, nontarget = scores[trial_list.is_target], scores[~trial_list.is_target]
    try:
        det_file.write(lambda temporary: plot_det(target, nontarget, temporary,
                                                  p_target=p_target))
        summary["det_plot"] = det_path
    except ImportError:
        det_file.skip()
        click.echo(f"Warning: no DET plot: it needs matplotlib: {PLOT_HINT}", err=True)
    if scores_file is not None:
        llrs = scores if calibration is None else calibration.transform(scores)
        accepted = llrs >= bayes_threshold(p_target=p_target)
        rows = [(f, s, float(x), "accept" if a else "reject", int(t), c) for f, s, x, a, t, c in
                zip(trial_list.files, trial_list.speakers, scores, accepted,
                    trial_list.is_target, trial_list.conditions)]
        scores_file.write(lambda temporary: write_scores(
            temporary, rows, columns=("file", "speaker", "score", "decision", "target",
                                      "condition")))
        summary["scores_csv"] = scores_path
    outputs.commit()
    print_result(summary, as_json, _evaluate_text(summary, p_target, backend, norm))


def _evaluate_text(summary, p_target, backend, norm):
    how = f", {backend}" + ("" if norm is None else f" with {norm}")
    scored = "calibrated" if summary["calibrated"] else "raw scores read as LLRs"
    threshold = summary["min_dcf_threshold"]
    at = "rejecting all" if threshold is None else f"at threshold {threshold:+.4f}"
    lines = [f"{summary['n_trials']} trials ({summary['n_target']} target){how}: "
             f"EER {100 * summary['eer']:.2f}%, minDCF(p_target={p_target:g}) "
             f"{summary['min_dcf']:.4f} {at} "
             f"(miss {100 * summary['min_dcf_miss']:.1f}%, false alarm "
             f"{100 * summary['min_dcf_fa']:.2f}%)",
             f"actual DCF {summary['actual_dcf']:.4f}, Cllr {summary['cllr']:.4f} ({scored})"]
    lines += [f"  {name}: {r['n_trials']} trials, EER {100 * r['eer']:.2f}%, minDCF "
              f"{r['min_dcf']:.4f}" for name, r in summary["conditions"].items()]
    ident = summary["identification"]
    if ident["n_files"]:
        lines.append(f"identification: {ident['n_correct']} of {ident['n_files']} files "
                     f"({100 * ident['accuracy']:.1f}%)")
        labels = ident["labels"]
        if len(labels) <= MAX_CONFUSION:
            lines.append("confusion matrix (rows: true speaker, columns: identified):")
            lines.append(format_table(["", *labels], [[label, *row] for label, row in
                                                      zip(labels, ident["confusion"])]))
        else:
            lines.append(f"confusion matrix of {len(labels)} speakers: see --json")
    if "det_plot" in summary:
        lines.append(f"DET curve written to {summary['det_plot']}")
    if "scores_csv" in summary:
        lines.append(f"scores written to {summary['scores_csv']}")
    return "\n".join(lines)


@click.command()
@store_option
@trials_option
@backend_option
@top_c_option
@click.option("--prior", default=0.5, show_default=True,
              type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="The effective target prior the logistic regression is weighted for.")
@p_target_option
@json_option
@quiet_option
def calibrate(store_dir, trials, backend, top_c, prior, p_target, as_json, quiet):
    """Fit a score calibration on development TRIALS and keep it in the store.

    Scores the trials as `evaluate` does, fits calibrated = scale * score +
    offset by prior-weighted logistic regression (ScoreCalibration) and
    writes STORE/calibration.json. From then on `verify` accepts at the
    calibrated Bayes threshold of its --p-target, and `evaluate` reports
    actual DCF and Cllr of the calibrated scores. Calibrate on trials other
    than those you evaluate on.
    """
    from gmmkit_speech.calibration import ScoreCalibration
    from gmmkit_speech.evaluation import cllr
    from gmmkit_speech.store import SpeakerStore

    store = SpeakerStore(store_dir)
    trial_list, scores, *_ = _trial_scores(store, store_dir, trials, backend, top_c, quiet)
    try:
        calibration = ScoreCalibration(p_target=prior).fit(scores, trial_list.is_target)
    except ValueError as exc:
        raise click.ClickException(f"'{trials}': {exc} Give development trials of both "
                                   "kinds.") from None
    store.set_calibration(calibration, backend=backend, top_c=top_c, n_trials=len(trial_list))
    target, nontarget = scores[trial_list.is_target], scores[~trial_list.is_target]
    calibrated = calibration.transform(scores)
    summary = {"store": store_dir, "n_trials": len(trial_list),
               "n_target": int(trial_list.is_target.sum()), "backend": backend, "top_c": top_c,
               "scale": calibration.scale_, "offset": calibration.offset_,
               "cllr_raw": cllr(target, nontarget),
               "cllr": cllr(calibrated[trial_list.is_target], calibrated[~trial_list.is_target]),
               "p_target": p_target, "threshold": calibration.threshold(p_target=p_target)}
    print_result(summary, as_json,
                 f"calibrated on {summary['n_trials']} trials ({summary['n_target']} target), "
                 f"{backend}: calibrated = {summary['scale']:.4f} * score "
                 f"{summary['offset']:+.4f}; Cllr {summary['cllr_raw']:.4f} -> "
                 f"{summary['cllr']:.4f}; verify's threshold for --p-target {p_target:g}: "
                 f"{summary['threshold']:+.4f}; saved to {store_dir}/calibration.json")
