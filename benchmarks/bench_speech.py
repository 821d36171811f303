"""Speech i-vector path: Baum-Welch statistics, T-matrix EM, real-time factor, in one run.

    python benchmarks/bench_speech.py            # 1,000,000 x 60, K=512, rank 200, 2,000 utts
    python benchmarks/bench_speech.py --quick    # 100,000 x 60, K=128, rank 50 (a smoke run)
    python benchmarks/bench_speech.py --batch 300 --only-batch   # identify 300 files

1. Baum-Welch statistics (zeroth and centred first order per utterance) of
   1,000,000 frames x 60 features (MFCCs + deltas of the bundled set, tiled
   with a little jitter) in 2,000 utterances of 500 frames, against a
   K=512 diagonal UBM: ``gmmkit_speech.baum_welch_statistics`` (the core
   engine's ``predict_proba`` in float32 chunks) against the same sums
   from scikit-learn's ``GaussianMixture.predict_proba`` with the same
   parameters (float64, in chunks of the same size, so neither holds an
   N x K matrix of the whole set; the per-utterance sums are the same code,
   with BLAS on one thread in both). The two results are compared.
2. T-matrix training, rank 200, on those 2,000 utterances: seconds per EM
   iteration (``train_ivector_extractor``, minimum divergence on).
3. Real-time factor of the enrol/verify path for a 3-s utterance (MFCC to
   score): enrol = MFCC + MAP adaptation; verify (GMM-UBM) = MFCC + top-5
   LLR; verify (i-vector) = MFCC + statistics + i-vector + PLDA score.
   RTF = seconds of processing / 3 s of audio (below 1: faster than real time).
4. ``--batch N``: ``gmmkit speech identify`` of N test files (the bundled
   take-2 words, repeated) against a store of the ten bundled speakers
   (128-component UBM on take 1), all N in one process, against one
   process per file (timed on 5 files, scaled to N).

The UBM is fitted with 2 EM iterations on a 50,000-frame sample (its
parameters are realistic; its quality does not matter for timing). The
machine may be shared: each timing is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def speech_frames(n_frames, seed=0):
    """(n_frames, 60) float64: bundled MFCC frames with deltas, tiled and jittered.

    Values are clipped to +-5 (the frames have unit variance after CMVN):
    the rare far frames would otherwise draw a component of the briefly
    fitted UBM more than 30 standard deviations from the centre, and the
    engine would then (rightly) score in float64 instead of float32.
    """
    from gmmkit_speech.experiment import bundled_frames

    _, frames = bundled_frames()
    pool = np.clip(np.concatenate(frames), -5.0, 5.0)
    rng = np.random.default_rng(seed)
    rows = pool[rng.integers(0, len(pool), n_frames)]
    return rows + 0.01 * rng.standard_normal(rows.shape)


def make_ubm(X, n_components):
    """A diagonal speech UBM fitted briefly to a sample of X."""
    from gmmkit_speech import FeatureConfig

    from gmmkit import ConvergenceWarning, GaussianMixture

    sample = X[np.random.default_rng(1).choice(len(X), min(len(X), 50_000), replace=False)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ubm = GaussianMixture(n_components, covariance_type="diag", max_iter=2, reg_covar=0.05,
                              random_state=0, dtype="float32").fit(sample)
    ubm.set_params(dtype=None)
    ubm.speech_ = {"role": "ubm", "features": FeatureConfig().to_dict()}
    return ubm


def best_of(repeat, function):
    """(fastest seconds, last result) of ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def sklearn_statistics(ubm, utterances, chunk_frames):
    """N (U, K) and centred F (U, K, d) from scikit-learn's predict_proba, chunk by chunk."""
    from gmmkit_speech.statistics import one_blas_thread
    from sklearn.mixture import GaussianMixture as SklearnMixture

    model = SklearnMixture(len(ubm.weights_), covariance_type="diag")
    model.weights_ = np.asarray(ubm.weights_, dtype=np.float64)
    model.means_ = np.asarray(ubm.means_, dtype=np.float64)
    model.covariances_ = np.asarray(ubm.covariances_, dtype=np.float64)
    model.precisions_cholesky_ = 1.0 / np.sqrt(model.covariances_)
    lengths = np.array([len(u) for u in utterances])
    X = np.concatenate(utterances)
    owner = np.repeat(np.arange(len(utterances)), lengths)
    zeroth = np.zeros((len(utterances), len(ubm.weights_)))
    first = np.zeros((len(utterances), *ubm.means_.shape))
    for start in range(0, len(X), chunk_frames):
        chunk = X[start:start + chunk_frames]
        gamma = model.predict_proba(chunk)
        ids = owner[start:start + chunk_frames]
        with one_blas_thread():  # as gmmkit_speech does: small GEMMs on one thread
            for u in np.unique(ids):
                rows = ids == u
                zeroth[u] += gamma[rows].sum(axis=0)
                first[u] += gamma[rows].T @ chunk[rows]
    return zeroth, first - zeroth[:, :, None] * model.means_[None]


def real_time_factors(ubm, extractor, signal, repeat):
    """Seconds / audio seconds of enrolment and of the two verification paths."""
    from gmmkit_speech import FeatureConfig, extract_ivectors, map_adapt
    from gmmkit_speech.scoring import llr_score

    config = FeatureConfig()
    seconds = len(signal) / config.sr
    speaker = map_adapt(ubm, config.extract(signal))
    enrol_ivector = extract_ivectors(extractor, [config.extract(signal)], ubm=ubm)
    backend = extractor.backend

    def enrol():
        return map_adapt(ubm, config.extract(signal))

    def verify_gmm():
        return llr_score(speaker, ubm, config.extract(signal), top_c=5)

    def verify_ivector():
        test = extract_ivectors(extractor, [config.extract(signal)], ubm=ubm)
        return backend.score([enrol_ivector], test, method="plda")

    return {name: best_of(repeat, function)[0] / seconds
            for name, function in [("enrol (MFCC + MAP)", enrol),
                                   ("verify GMM-UBM (MFCC + top-5 LLR)", verify_gmm),
                                   ("verify i-vector (MFCC + stats + i-vector + PLDA)",
                                    verify_ivector)]}


def three_second_signal():
    """3 s of bundled words of one speaker, end to end, at 16 kHz."""
    from gmmkit_speech.comparison import bundled_signals

    utterances, signals = bundled_signals()
    words = [s for u, s in zip(utterances, signals) if u.speaker == "s03" and u.take == 1]
    return np.concatenate(words)[:3 * 16000]


def batch_identify(n_files, folder):
    """(seconds for N files in one process, seconds per file in a process of its own)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from gmmkit_speech.data import load_speech_set

    folder = Path(folder)
    gmmkit = [str(Path(sys.executable).parent / "gmmkit")]  # the console script
    tests = folder / "tests"
    for utterance in load_speech_set():
        target = folder / f"take{utterance.take}" / utterance.speaker
        target.mkdir(parents=True, exist_ok=True)
        (target / utterance.path.name).write_bytes(utterance.path.read_bytes())
    take2 = sorted((folder / "take2").rglob("*.flac"))
    tests.mkdir()
    for i in range(n_files):
        shutil.copy(take2[i % len(take2)], tests / f"{i:05d}_{take2[i % len(take2)].name}")
    subprocess.run([*gmmkit, "speech", "ubm", folder / "take1", "-o", folder / "ubm.gmm", "-q"],
                   check=True)
    for speaker in sorted(p.name for p in (folder / "take1").iterdir()):
        subprocess.run([*gmmkit, "speech", "enroll", "--ubm", folder / "ubm.gmm", "--speaker",
                        speaker, folder / "take1" / speaker, "--store", folder / "store", "-q"],
                       check=True, stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    subprocess.run([*gmmkit, "speech", "identify", "--store", folder / "store", tests, "-q",
                    "--scores", folder / "scores.csv"], check=True, stdout=subprocess.DEVNULL)
    together = time.perf_counter() - start
    files = sorted(tests.iterdir())[:5]
    start = time.perf_counter()
    for file in files:
        subprocess.run([*gmmkit, "speech", "identify", "--store", folder / "store", file],
                       check=True, stdout=subprocess.DEVNULL)
    return together, (time.perf_counter() - start) / len(files)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("-k", "--components", type=int, default=512)
    parser.add_argument("--rank", type=int, default=200)
    parser.add_argument("--utterance-frames", type=int, default=500)
    parser.add_argument("--iterations", type=int, default=2, help="T-matrix EM iterations")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="100,000 frames, K=128, rank 50")
    parser.add_argument("--batch", type=int, default=0,
                        help="also time `gmmkit speech identify` of this many files")
    parser.add_argument("--only-batch", action="store_true", help="only the --batch timing")
    args = parser.parse_args(argv)
    if args.batch:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            together, alone = batch_identify(args.batch, folder)
        print(f"gmmkit speech identify, {args.batch} files: {together:.1f} s in one process; "
              f"one process per file: {alone:.2f} s per file, {alone * args.batch:.0f} s for "
              f"{args.batch} ({alone * args.batch / together:.0f}x)")
        if args.only_batch:
            return
    if args.quick:
        args.frames, args.components, args.rank = 100_000, 128, 50

    from gmmkit_speech import baum_welch_statistics, train_ivector_extractor
    from gmmkit_speech.backend import IvectorBackend
    from gmmkit_speech.ivector import extract_ivectors
    from gmmkit_speech.statistics import CHUNK_FRAMES

    X = speech_frames(args.frames)
    n_utt = args.frames // args.utterance_frames
    utterances = np.split(X[:n_utt * args.utterance_frames], n_utt)
    ubm = make_ubm(X, args.components)
    print(f"Baum-Welch statistics: {n_utt * args.utterance_frames} frames x {X.shape[1]} in "
          f"{n_utt} utterances, K={args.components} diag; best of {args.repeat}")
    ours, stats = best_of(args.repeat, lambda: baum_welch_statistics(ubm, utterances))
    theirs, (zeroth, first) = best_of(
        args.repeat, lambda: sklearn_statistics(ubm, utterances, CHUNK_FRAMES))
    gap_n = np.abs(stats.zeroth - zeroth).max() / np.abs(zeroth).max()
    gap_f = np.abs(stats.first - first).max() / np.abs(first).max()
    print(f"  gmmkit  (engine, float32): {ours:.2f} s")
    print(f"  sklearn (predict_proba, float64): {theirs:.2f} s")
    print(f"  speed-up: {theirs / ours:.2f}x; largest difference relative to the largest value: "
          f"N {gap_n:.1e}, F {gap_f:.1e}")

    print(f"T-matrix EM: rank {args.rank}, {n_utt} utterances, {args.iterations} iterations")
    start = time.perf_counter()
    extractor = train_ivector_extractor(ubm, stats, rank=args.rank, n_iter=args.iterations,
                                        verbose=False)
    per_iteration = (time.perf_counter() - start) / args.iterations
    print(f"  {per_iteration:.2f} s per iteration (including the final likelihood pass: "
          f"{args.iterations + 1} E-steps)")
    ivectors = extract_ivectors(extractor, stats)
    labels = np.repeat(np.arange(n_utt // 10), 10)[:n_utt]  # any labels: timing only
    extractor.backend = IvectorBackend(lda_dim=0).fit(ivectors[:len(labels)], labels)

    print(f"real-time factor for a 3-s utterance (K={args.components}, rank {args.rank}); "
          f"best of {max(args.repeat, 3)}")
    for name, rtf in real_time_factors(ubm, extractor, three_second_signal(),
                                       max(args.repeat, 3)).items():
        print(f"  {name}: RTF {rtf:.3f}")


if __name__ == "__main__":
    main()
