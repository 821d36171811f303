"""GMMClassifier: digits accuracy, the closed form, priors, labels, "auto", sklearn API, errors."""


import numpy as np
import pytest
from helpers import run_check_estimator
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gmmkit.estimators.classifier import GMMClassifier, accuracy
from gmmkit.exceptions import NotFittedError

sklearn = pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def digits_split():
    """scikit-learn's bundled 8x8 digits (1797 rows, 64 pixels 0-16), split in halves."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)


def two_classes(n_samples=(300, 100), seed=0):
    """Two 2-D Gaussian classes, the second shifted by (3, 1) and stretched."""
    rng = np.random.default_rng(seed)
    first = rng.normal(size=(n_samples[0], 2)) @ [[1.0, 0.3], [0.0, 0.8]]
    second = rng.normal(size=(n_samples[1], 2)) @ [[1.5, 0.0], [-0.4, 0.6]] + [3.0, 1.0]
    return np.vstack([first, second]), np.repeat([0, 1], n_samples)


# ------------------------------------------------------------------ accuracy


def test_digits_several_components_per_class_beat_one_gaussian(digits_split):
    # measured on this split: diagonal, 1 component 0.909, 6 components 0.961-0.968 over
    # random_state 0-2 (5-fold CV on all digits: 0.922 vs 0.975); one *full* Gaussian
    # per class, well regularised, is already 0.988 here (regularised QDA), and more
    # full components do not add to it (0.986-0.989 with 2)
    X_train, X_test, y_train, y_test = digits_split
    one = GMMClassifier(1, covariance_type="diag", reg_covar=1.0).fit(X_train, y_train)
    six = GMMClassifier(6, covariance_type="diag", reg_covar=1.0, random_state=0)
    six.fit(X_train, y_train)
    one_accuracy, six_accuracy = one.score(X_test, y_test), six.score(X_test, y_test)
    assert 0.88 <= one_accuracy <= 0.94
    assert six_accuracy >= one_accuracy + 0.03
    assert six_accuracy > 0.95
    full = GMMClassifier(1, covariance_type="full", reg_covar=1.0).fit(X_train, y_train)
    assert full.score(X_test, y_test) > 0.97
    np.testing.assert_array_equal(six.classes_, np.arange(10))
    assert six.estimators_[3].n_components == 6 and list(six.n_components_) == [6] * 10


def test_cross_val_score_of_a_pca_pipeline_on_digits(digits_split):
    from sklearn.decomposition import PCA
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    X_train, _, y_train, _ = digits_split
    pipeline = make_pipeline(
        PCA(30, random_state=0),
        GMMClassifier(6, covariance_type="diag", reg_covar=1.0, random_state=0),
    )
    scores = cross_val_score(pipeline, X_train, y_train, cv=3)  # default scoring: accuracy
    assert scores.shape == (3,) and scores.min() > 0.93


# --------------------------------------------------------------- closed form


def test_one_full_gaussian_per_class_is_bayes_rule_by_hand():
    X, y = two_classes()
    priors = np.array([0.4, 0.6])
    model = GMMClassifier(1, reg_covar=0.0, priors=priors).fit(X, y)
    X_new = np.random.default_rng(1).normal(1.5, 2.0, size=(20, 2))
    log_densities = np.column_stack(
        [
            multivariate_normal(X[y == c].mean(axis=0), np.cov(X[y == c].T, bias=True)).logpdf(
                X_new
            )
            for c in (0, 1)
        ]
    )
    joint = np.exp(log_densities) * priors
    expected = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X_new), expected, rtol=1e-8)
    # log p(c | x) by hand in log space (np.log(expected) loses digits near p = 1)
    log_joint = log_densities + np.log(priors)
    expected_log = log_joint - logsumexp(log_joint, axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_log_proba(X_new), expected_log, rtol=1e-8)
    np.testing.assert_array_equal(model.predict(X_new), expected.argmax(axis=1))
    np.testing.assert_array_equal(model.class_prior_, priors)


def test_probabilities_stay_exact_far_from_every_class():
    X, y = two_classes()
    model = GMMClassifier(1).fit(X, y)
    far = np.array([[1e4, 1e4], [-1e4, 3e3]])  # every density underflows to 0
    assert np.all(np.exp(model.estimators_[0].score_samples(far)) == 0.0)
    proba = model.predict_proba(far)  # RuntimeWarnings are errors in this suite
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(model.predict_log_proba(far)))


def test_priors_move_the_decision_boundary():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(-1.0, 1.0, (200, 1)), rng.normal(1.0, 1.0, (200, 1))])
    y = np.repeat([0, 1], 200)
    middle = np.array([[0.0], [0.1], [-0.1]])
    assert set(GMMClassifier(priors=[0.9, 0.1]).fit(X, y).predict(middle)) == {0}
    assert set(GMMClassifier(priors=[0.1, 0.9]).fit(X, y).predict(middle)) == {1}
    uniform = GMMClassifier(priors="uniform").fit(X, y)
    np.testing.assert_array_equal(uniform.class_prior_, [0.5, 0.5])
    # a zero prior: the class is never predicted, and the probabilities stay finite
    never = GMMClassifier(priors=[1.0, 0.0]).fit(X, y)
    assert set(never.predict(X)) == {0}
    np.testing.assert_array_equal(never.predict_proba(X)[:, 1], 0.0)


def test_default_priors_are_the_weighted_class_frequencies():
    X, y = two_classes(n_samples=(300, 100))
    np.testing.assert_allclose(GMMClassifier().fit(X, y).class_prior_, [0.75, 0.25])
    weights = np.where(y == 1, 3.0, 1.0)
    weighted = GMMClassifier().fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(weighted.class_prior_, [0.5, 0.5])


def test_integer_sample_weights_equal_repeated_rows():
    X, y = two_classes(n_samples=(60, 40))
    weights = np.random.default_rng(3).integers(0, 4, size=100)
    weighted = GMMClassifier(1).fit(X, y, sample_weight=weights)
    repeated = GMMClassifier(1).fit(np.repeat(X, weights, 0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-8)
    assert weighted.score(X, y, sample_weight=weights) == pytest.approx(
        repeated.score(np.repeat(X, weights, 0), np.repeat(y, weights))
    )


# ----------------------------------------------------- labels and components


def test_string_labels_are_sorted_and_returned():
    X, y = two_classes(n_samples=(100, 100))
    X = np.vstack([X, X[:100] + [0.0, 8.0]])
    labels = np.array(["dog", "cat", "eel"])[np.repeat([0, 1, 2], 100)]
    model = GMMClassifier().fit(X, labels)
    np.testing.assert_array_equal(model.classes_, ["cat", "dog", "eel"])
    predicted = model.predict(X)
    assert predicted.dtype.kind == "U" and model.score(X, labels) > 0.9
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], predicted)
    as_list = GMMClassifier().fit(X.tolist(), labels.tolist())  # plain lists work too
    np.testing.assert_array_equal(as_list.predict(X), predicted)


def test_auto_picks_one_component_for_a_gaussian_and_two_for_a_two_cluster_class():
    rng = np.random.default_rng(4)
    single = rng.normal(size=(300, 2))
    pair = np.vstack([rng.normal(size=(150, 2)) + [8.0, 0.0], rng.normal(size=(150, 2)) - 8.0])
    X, y = np.vstack([single, pair]), np.repeat(["single", "pair"], 300)
    model = GMMClassifier("auto", max_components=4, random_state=0).fit(X, y)
    chosen = dict(zip(model.classes_, model.n_components_))
    assert chosen == {"pair": 2, "single": 1}
    mixed = GMMClassifier({"single": 1, "pair": "auto"}, max_components=4, random_state=0)
    assert list(mixed.fit(X, y).n_components_) == [2, 1]  # classes_: pair, single
    assert model.score(X, y) == 1.0


def test_auto_is_capped_by_the_class_size():
    X, y = two_classes(n_samples=(50, 3))
    model = GMMClassifier("auto", covariance_type="spherical", random_state=0).fit(X, y)
    assert model.n_components_[1] <= 3


def test_per_class_components_and_fitted_attributes():
    X, y = two_classes()
    model = GMMClassifier({0: 3, 1: 1}, covariance_type="diag", random_state=0).fit(X, y)
    assert [m.n_components for m in model.estimators_] == [3, 1]
    assert [m.covariance_type for m in model.estimators_] == ["diag", "diag"]
    assert list(model.n_components_) == [3, 1] and np.all(model.n_iter_ >= 1)
    assert model.n_features_in_ == 2


def test_missing_features_are_marginalised_with_missing_em():
    X, y = two_classes(n_samples=(200, 200))
    model = GMMClassifier(missing="em").fit(X, y)
    holes = X.copy()
    holes[::2, 1] = np.nan  # the first feature alone still separates the classes well
    assert model.score(holes, y) > 0.85
    first_only = GMMClassifier().fit(X[:, :1], y)
    np.testing.assert_allclose(
        model.predict_proba(holes[::2]), first_only.predict_proba(X[::2, :1]), rtol=1e-8
    )


def test_accuracy_matches_scikit_learn():
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(5)
    y_true, y_pred, w = rng.integers(0, 3, 50), rng.integers(0, 3, 50), rng.uniform(size=50)
    assert accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred))
    assert accuracy(y_true, y_pred, sample_weight=w) == pytest.approx(
        accuracy_score(y_true, y_pred, sample_weight=w)
    )


# ------------------------------------------------------------- scikit-learn


def xor_classes(n_per_cluster=60, seed=6):
    """Class 0 in clusters at (3, 3) and (-3, -3), class 1 at (3, -3) and (-3, 3)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[3.0, 3.0], [-3.0, -3.0], [3.0, -3.0], [-3.0, 3.0]])
    X = np.vstack([rng.normal(size=(n_per_cluster, 2)) + c for c in centers])
    return X, np.repeat([0, 0, 1, 1], n_per_cluster)


def test_works_with_scikit_learn_tools():
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import GridSearchCV

    model = GMMClassifier(1, covariance_type="diag", random_state=0)
    assert is_classifier(model)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "estimators_")
    assert model.set_params(n_components=2).n_components == 2
    # one diagonal Gaussian per class cannot tell XOR classes apart; two can
    X, y = xor_classes()
    search = GridSearchCV(model, {"n_components": [1, 2]}, cv=3).fit(X, y)
    assert search.best_params_ == {"n_components": 2} and search.best_score_ > 0.95
    assert search.cv_results_["mean_test_score"][0] < 0.7


def test_dataframe_feature_names_are_remembered_and_checked():
    pd = pytest.importorskip("pandas")
    X, y = two_classes()
    frame = pd.DataFrame(X, columns=["width", "height"])
    model = GMMClassifier().fit(frame, pd.Series(y))
    np.testing.assert_array_equal(model.feature_names_in_, ["width", "height"])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(model.predict(frame), model.predict(X))
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame[["height", "width"]])


@pytest.mark.slow
def test_passes_check_estimator():
    failed, n_passed = run_check_estimator(GMMClassifier())
    assert failed == {}
    assert n_passed >= 55


# -------------------------------------------------------------------- errors


def test_too_few_samples_in_a_class_names_the_class_and_the_counts():
    X, y = two_classes(n_samples=(50, 3))
    with pytest.raises(ValueError, match=r"class 1 has 3 sample\(s\) for 4 components") as raised:
        GMMClassifier(4).fit(X, y)
    assert "use fewer components" in str(raised.value) and "'auto'" in str(raised.value)
    weights = np.where(y == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match="class 1 has no sample with positive weight"):
        GMMClassifier().fit(X, y, sample_weight=weights)


def test_a_single_class_is_refused():
    X, _ = two_classes()
    with pytest.raises(ValueError, match=r"y has 1 class \('a'\).*at least 2 classes"):
        GMMClassifier().fit(X, ["a"] * len(X))


@pytest.mark.parametrize(
    ("priors", "message"),
    [
        ([0.2, 0.3, 0.5], r"priors has shape \(3,\) but y has 2 classes \[0, 1\]"),
        ([1.2, -0.2], "non-negative"),
        ([0.5, 0.6], "must sum to 1; they sum to 1.1"),
        ("balanced", "priors='balanced' is not supported"),
        (["a", "b"], "priors must be None, 'uniform' or an array of 2 numbers"),
    ],
)
def test_bad_priors_are_refused(priors, message):
    X, y = two_classes()
    with pytest.raises(ValueError, match=message):
        GMMClassifier(priors=priors).fit(X, y)


def test_predict_before_fit_raises_not_fitted():
    X, _ = two_classes()
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(GMMClassifier(), method)(X)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (None, "requires y to be passed"),
        (np.r_[np.zeros(200), np.full(200, np.nan)], "y contains NaN or infinity in 200 row"),
        (np.linspace(0, 1, 400), "Unknown label type: continuous"),
        (np.zeros(399), "X has 400 samples but y has 399 labels"),
        (np.zeros((400, 2)), r"y must be 1-D .* got shape \(400, 2\)"),
        (np.array([None, "a"] * 200, dtype=object), "y contains None as a label in 200 row"),
    ],
)
def test_bad_labels_are_refused(y, message):
    X, _ = two_classes()
    with pytest.raises(ValueError, match=message):
        GMMClassifier().fit(X, y)


def test_a_column_vector_y_is_flattened_with_a_warning():
    X, y = two_classes()
    with pytest.warns(UserWarning, match="A column-vector y was passed"):
        model = GMMClassifier().fit(X, y[:, None])
    np.testing.assert_array_equal(model.classes_, [0, 1])


@pytest.mark.parametrize(
    ("n_components", "message"),
    [
        (0, "n_components must be an integer >= 1, 'auto'"),
        ("many", "n_components must be an integer >= 1, 'auto'"),
        ({0: 2}, r"missing \[1\]"),
        ({0: 2, 1: 1, 7: 1}, r"not classes of y \[7\]"),
        ({0: 2, 1: 0}, r"n_components\[1\] must be an integer >= 1"),
    ],
)
def test_bad_n_components_are_refused(n_components, message):
    X, y = two_classes()
    with pytest.raises(ValueError, match=message):
        GMMClassifier(n_components).fit(X, y)


def test_nan_in_x_is_named_by_its_row_in_x():
    X, y = two_classes()
    X[250, 0] = np.nan
    with pytest.raises(ValueError, match=r"first: row 250\).*missing='em'"):
        GMMClassifier().fit(X, y)
