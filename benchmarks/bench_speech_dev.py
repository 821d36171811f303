"""Choose the i-vector recipe on the development trials of the bundled speech set.

    python benchmarks/bench_speech_dev.py              # the whole grid, single-word tests
    python benchmarks/bench_speech_dev.py --quick      # four settings (a smoke run)

Progress (one line per ten settings) goes to stderr; ``-q`` silences it.

Every setting of the grid below trains on take 1 and is scored on the
``"development"`` protocol of :mod:`gmmkit_speech.comparison`: the take-2
recordings of the words zero .. six (70 target and 630 non-target trials
of single words). The test words (seven .. stop) are never read. The rule,
fixed before the grid was run: the lowest development EER of i-vector
PLDA on single words; ties (EER within 0.01 points) go to the higher
identification, then the lower minDCF, then the cheaper setting (the
earlier one in grid order: smaller UBM, smaller rank, fewer training
lengths). The script prints every setting, best first, and the chosen one
as a dict to paste into ``IVECTOR_RECIPE``. Quality, not speed: the time
is the whole grid's (the UBMs and T matrices are trained once per setting
of their own and shared through the comparison's cache).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

#: the grid: every combination is scored
GRID = {
    "n_components": (32, 64),
    "rank": (40, 60, 100, 150),
    "train_words": ((1,), (1, 2), (1, 2, 3)),
    "lda_dim": (0, 9),
    "enrol": ("words", "joined"),
    "norm": ((None, None), ("s-norm", None), ("as-norm", 20), ("as-norm", 50)),
}
QUICK = {"n_components": (32,), "rank": (20, 60), "train_words": ((1, 2),), "lda_dim": (0,),
         "enrol": ("words", "joined"), "norm": ((None, None),)}


def settings(grid: dict) -> list[dict]:
    """Every combination of ``grid``, in grid order, as IVECTOR_RECIPE overrides."""
    rows = []
    for values in itertools.product(*grid.values()):
        setting = dict(zip(grid, values))
        setting["norm"], setting["top_n"] = setting["norm"]
        rows.append(setting)
    return rows


def main(argv: list[str] | None = None) -> None:
    from gmmkit_speech.comparison import bundled_signals, run_bundled_comparison

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four settings only")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    signals, cache, rows = bundled_signals(), {}, []
    grid = settings(QUICK if args.quick else GRID)
    start = time.perf_counter()
    for order, setting in enumerate(grid):
        if not args.quiet and order % 10 == 0:
            print(f"setting {order + 1}/{len(grid)} ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr, flush=True)
        result = run_bundled_comparison(systems=("i-vector cosine", "i-vector PLDA"),
                                        protocol="development", signals=signals,
                                        ivector_recipe=setting, cache=cache)
        plda = result.results["i-vector PLDA", "clean"]
        cosine = result.results["i-vector cosine", "clean"]
        rows.append((round(100 * plda.eer, 2), -plda.accuracy, plda.min_dcf, order, setting,
                     plda, cosine))
    rows.sort(key=lambda row: row[:4])
    print(f"{len(rows)} settings in {time.perf_counter() - start:.0f} s; development "
          "protocol, single words, 70 target / 630 non-target trials")
    print("| UBM | rank | train words | LDA | enrol | norm | PLDA EER % | PLDA id % | "
          "PLDA minDCF | cosine EER % | cosine id % |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for *_, setting, plda, cosine in rows:
        norm = setting["norm"] or "-"
        if setting["top_n"]:
            norm += f" top {setting['top_n']}"
        print(f"| {setting['n_components']} | {setting['rank']} | "
              f"{'+'.join(map(str, setting['train_words']))} | {setting['lda_dim'] or '-'} | "
              f"{setting['enrol']} | {norm} | {100 * plda.eer:.2f} | {100 * plda.accuracy:.1f} | "
              f"{plda.min_dcf:.3f} | {100 * cosine.eer:.2f} | {100 * cosine.accuracy:.1f} |")
    print("chosen:", rows[0][4])


if __name__ == "__main__":
    main()
