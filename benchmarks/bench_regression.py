"""GaussianMixtureRegressor against least squares on a noisy non-linear function.

    python benchmarks/bench_regression.py

y = sin(3x) + N(0, 0.1^2), x uniform on [-2, 2], 1000 points: 700 to fit,
300 held out. Prints held-out R^2 of an 8-component regressor and of
ordinary least squares, and the median predicted standard deviation
(the true noise is 0.1), for three seeds.
"""

import numpy as np

from gmmkit import GaussianMixtureRegressor


def r2(y, prediction):
    return 1.0 - np.sum((prediction - y) ** 2) / np.sum((y - y.mean()) ** 2)


def main():
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x = rng.uniform(-2, 2, 1000)
        y = np.sin(3 * x) + 0.1 * rng.normal(size=1000)
        X = x[:, None]
        train, test = slice(0, 700), slice(700, None)
        regressor = GaussianMixtureRegressor(8, random_state=0).fit(X[train], y[train])
        mean, std = regressor.predict(X[test], return_std=True)
        design = np.column_stack([x, np.ones_like(x)])
        coef = np.linalg.lstsq(design[train], y[train], rcond=None)[0]
        print(
            f"seed {seed}: GMM regressor R2 {r2(y[test], mean):.3f}, "
            f"least squares R2 {r2(y[test], design[test] @ coef):.3f}, "
            f"median predicted std {np.median(std):.3f}"
        )


if __name__ == "__main__":
    main()
