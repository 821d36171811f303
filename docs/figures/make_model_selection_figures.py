"""Make the figures of docs/model-selection.md.

    python docs/figures/make_model_selection_figures.py

bic_faithful.png, bic_iris.png, bic_diabetes.png: the BIC of mclust's 14 models
x K = 1..9 (mclust's sign), as plot.mclustBIC draws them; mclust_faithful.png:
the chosen fit's classification, uncertainty and density; mclust_iris.png: the
pairs plot of the chosen iris fit.
"""

from pathlib import Path

from gmmkit import plot_criterion, plot_mixture, select_model
from gmmkit.datasets import load_dataset


def main():
    out = Path(__file__).resolve().parent
    for name in ("faithful", "iris", "diabetes"):
        X, _, names = load_dataset(name, return_feature_names=True)
        best, table = select_model(X, bic_convention="mclust", as_frame=False)
        plot_criterion(table, "bic", out / f"bic_{name}.png", bic_convention="mclust",
                       title=f"{name}: BIC of the 14 models (chosen: {best.covariance_type}, "
                             f"K={best.n_components})")
        if name == "faithful":
            plot_mixture(best, X, out / "mclust_faithful.png", feature_names=names)
        if name == "iris":
            plot_mixture(best, X, out / "mclust_iris.png", feature_names=names)
        print(f"{name}: {best.covariance_type}, K={best.n_components}")


if __name__ == "__main__":
    main()
