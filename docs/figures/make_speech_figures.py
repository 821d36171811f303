"""Draw the figures of docs/speech.md into docs/figures/.

    python docs/figures/make_speech_figures.py

speech_det.png and speech_confusion.png are the `gmmkit demo` figures of
the speech plugin (the default recipe on the bundled speech set);
speech_mfcc.png shows one bundled word's MFCC frames before and after the
energy VAD and CMVN. speech_det_systems.png and speech_det_systems_noise.png
are the DET curves of the four systems of gmmkit_speech.comparison (GMM-UBM,
GMM-UBM + S-norm, i-vector cosine, i-vector PLDA) on the test protocol
(take-2 words seven .. stop; the recipe was chosen on the development words
by benchmarks/bench_speech_dev.py), clean and with noise at 10 dB SNR,
testing single words; speech_det_systems_2words.png the same, clean,
testing two words of a speaker joined (test_words=2). The tables of every
system and condition, for both test units, are printed.

    python docs/figures/make_speech_figures.py --systems   # only those three
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent


def mfcc_figure(out_dir):
    from gmmkit_speech import FeatureConfig, load_audio
    from gmmkit_speech.data import load_speech_set

    from gmmkit.demo import pyplot, save_figure

    plt = pyplot()
    utterance = next(u for u in load_speech_set() if u.speaker == "s04" and u.text == "seven")
    signal = load_audio(utterance.path.open("rb"))
    raw = FeatureConfig(deltas=False, cmvn=None, vad=None).extract(signal)
    recipe = FeatureConfig().extract(signal)
    figure, axes = plt.subplots(3, 1, figsize=(7, 6.5))
    axes[0].plot(np.arange(signal.size) / 16000, signal, linewidth=0.5)
    axes[0].set_title(f"'{utterance.text}', speaker {utterance.speaker} ({utterance.voice})")
    axes[0].set_xlabel("seconds")
    axes[1].imshow(raw.T, aspect="auto", origin="lower", cmap="magma")
    axes[1].set_title(f"20 MFCCs, every frame ({raw.shape[0]} frames)")
    axes[2].imshow(recipe.T, aspect="auto", origin="lower", cmap="magma")
    axes[2].set_title(f"the recipe: MFCC + deltas + delta-deltas, energy VAD, CMVN "
                      f"({recipe.shape[0]} frames x {recipe.shape[1]})")
    for ax in axes[1:]:
        ax.set_ylabel("coefficient")
    axes[2].set_xlabel("frame (10 ms)")
    figure.tight_layout()
    return save_figure(figure, out_dir, "speech_mfcc.png")


def systems_figures(out_dir):
    """DET curves of the four systems, clean and noisy; prints the results tables."""
    from gmmkit_speech.comparison import bundled_signals, run_bundled_comparison
    from gmmkit_speech.conditions import CONDITIONS

    signals = bundled_signals()
    names = []
    for test_words in (1, 2):
        comparison = run_bundled_comparison(conditions=tuple(CONDITIONS), signals=signals,
                                            test_words=test_words, protocol="test")
        print(f"test protocol, test unit: {test_words} word(s)")
        print("| system | condition | EER (%) | minDCF(0.01) | identified (%) |")
        print("| --- | --- | --- | --- | --- |")
        for row in comparison.table():
            print("| " + " | ".join(str(v) for v in row) + " |")
        if test_words == 1:
            names += [comparison.plot_det(out_dir / "speech_det_systems.png", condition="clean"),
                      comparison.plot_det(out_dir / "speech_det_systems_noise.png",
                                          condition="noise 10 dB")]
        else:
            names.append(comparison.plot_det(
                out_dir / "speech_det_systems_2words.png", condition="clean",
                title="Bundled speakers, take-2 test words, two per test (clean)"))
    return [Path(name).name for name in names]


def main():
    import sys

    from gmmkit_speech.demo import speech_demo

    if "--systems" in sys.argv[1:]:
        print("wrote", ", ".join(systems_figures(OUT)))
        return
    section = speech_demo(OUT)
    print("\n".join(section.paragraphs))
    print("wrote", ", ".join([*section.figures, mfcc_figure(OUT), *systems_figures(OUT)]))


if __name__ == "__main__":
    main()
