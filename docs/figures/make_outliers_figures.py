"""Make docs/figures/outliers_scatter.png and outliers_scores.png (the demo's figures).

    python docs/figures/make_outliers_figures.py
"""

from pathlib import Path

from gmmkit_outliers.demo import outliers_demo

if __name__ == "__main__":
    section = outliers_demo(Path(__file__).resolve().parent)
    print("wrote", ", ".join(section.figures))
