"""GMMClassifier on scikit-learn's digits: one Gaussian per class against mixtures.

    python benchmarks/bench_classifier.py

A fixed stratified 50/50 split (random_state=0), reg_covar=1.0 for every
configuration; prints the held-out accuracy of each.
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from gmmkit import GMMClassifier

CONFIGURATIONS = [(1, "diag"), (6, "diag"), ("auto", "diag"), (1, "full"), (2, "full")]


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, random_state=0, stratify=y
    )
    for n_components, covariance_type in CONFIGURATIONS:
        model = GMMClassifier(
            n_components, covariance_type=covariance_type, reg_covar=1.0, random_state=0
        ).fit(X_train, y_train)
        print(f"{covariance_type:<5} n_components={n_components!s:<5} "
              f"accuracy {model.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    main()
