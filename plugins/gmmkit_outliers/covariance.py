"""Covariance types of the detector's mixtures: scikit-learn's four and mclust's models.

A fitted gmmkit.GaussianMixture stores an mclust model in the arrays of a
scikit-learn type (GaussianMixture's documented layouts): spherical (K,)
for EII, VII and the univariate E and V; diag (K, D) for EEI, VEI, EVI,
VVI; tied (D, D) for EEE; full (K, D, D) for the others. Scoring, the
explanations and detector files only need that layout.
"""

from __future__ import annotations

#: scikit-learn's names, which are their own layout
SKLEARN_LAYOUTS = ("full", "tied", "diag", "spherical")


def layout(covariance_type):
    """The scikit-learn type whose arrays store ``covariance_type``: a str.

    Parameters
    ----------
    covariance_type : str
        scikit-learn's "full", "tied", "diag", "spherical" or an mclust
        model name ("EII" ... "VVV", "E", "V").
    """
    if covariance_type in SKLEARN_LAYOUTS or not isinstance(covariance_type, str):
        return covariance_type  # an invalid value is refused by GaussianMixture's check
    if covariance_type in ("E", "V") or covariance_type.endswith("II"):
        return "spherical"
    if covariance_type.endswith("I"):
        return "diag"
    return "tied" if covariance_type == "EEE" else "full"


def for_features(covariance_type, n_features):
    """The model to fit to ``n_features`` columns: a str.

    mclust's multivariate models do not fit one column; there the model with
    the same volume constraint stands in (mclust's univariate "E" for equal
    volume, "V" for variable). Every other case is ``covariance_type`` itself.
    """
    if n_features == 1 and covariance_type not in SKLEARN_LAYOUTS + ("E", "V"):
        return covariance_type[0]
    return covariance_type
