"""The names of mclust's covariance models, their layouts and their parameter counts.

Celeux and Govaert (1995) write a component's covariance as
Sigma_k = lambda_k D_k A_k D_k', with the volume lambda_k = |Sigma_k|^(1/d),
the shape A_k (diagonal, determinant 1) and the orientation D_k (orthogonal).
mclust names a model by three letters, volume, shape and orientation, each
Equal across components, Variable, or I (identity: A = I for the shape, D = I
for the orientation). Univariate data have only the volume: E and V.

Each model is served by one of the engine's four storage layouts (the shapes
of ``covariances_``, as scikit-learn's four types keep them):

=====  ===========  ==========================================
model  layout       scikit-learn name (same object, same maths)
=====  ===========  ==========================================
EII    spherical    -
VII    spherical    spherical
EEI    diag         -
VEI    diag         -
EVI    diag         -
VVI    diag         diag
EEE    tied         tied
VEE    full         -
EVE    full         -
VVE    full         -
EEV    full         -
VEV    full         -
EVV    full         -
VVV    full         full
E      spherical    - (one feature)
V      spherical    - (one feature; spherical's maths)
=====  ===========  ==========================================
"""

from __future__ import annotations

#: mclust's 14 multivariate models, in mclust's order (mclust.options("emModelNames"))
MODEL_NAMES = (
    "EII", "VII", "EEI", "VEI", "EVI", "VVI",
    "EEE", "VEE", "EVE", "VVE",
    "EEV", "VEV", "EVV", "VVV",
)  # fmt: skip

#: mclust's two univariate models
UNIVARIATE_NAMES = ("E", "V")

#: scikit-learn's four covariance types and the mclust model each one is
SKLEARN_ALIASES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}

#: the storage layout of each model (the scikit-learn type whose arrays it uses)
LAYOUTS = {
    "EII": "spherical", "VII": "spherical", "E": "spherical", "V": "spherical",
    "EEI": "diag", "VEI": "diag", "EVI": "diag", "VVI": "diag",
    "EEE": "tied",
    "VEE": "full", "EVE": "full", "VVE": "full",
    "EEV": "full", "VEV": "full", "EVV": "full", "VVV": "full",
}  # fmt: skip

_WORDS = {"E": "equal", "V": "variable"}


def describe(name: str) -> str:
    """mclust's description of a model: "variable volume, equal shape, variable orientation".

    Parameters
    ----------
    name : str
        An mclust model name (``"VEV"``, ``"E"``).

    Returns
    -------
    str
    """
    if name in UNIVARIATE_NAMES:
        return f"univariate, {_WORDS[name]} variance"
    volume, shape, orientation = name[0], name[1], name[2]
    if shape == "I":
        return f"spherical, {_WORDS[volume]} volume"
    if orientation == "I":
        return f"diagonal, {_WORDS[volume]} volume and {_WORDS[shape]} shape"
    words = (_WORDS[volume], _WORDS[shape], _WORDS[orientation])
    if len(set(words)) == 1:
        return f"ellipsoidal, {words[0]} volume, shape and orientation"
    return f"ellipsoidal, {words[0]} volume, {words[1]} shape and {words[2]} orientation"


def n_covariance_parameters(name: str, n_components: int, n_features: int) -> int:
    """Free covariance parameters of a model (mclust's ``nVarParams``).

    Counted letter by letter: a volume is 1 number (E) or K (V); a diagonal
    shape d - 1 (E) or K (d - 1) (V), none for I; an orientation
    d (d - 1) / 2 (E) or K d (d - 1) / 2 (V), none for I.

    Parameters
    ----------
    name : str
        An mclust model name.
    n_components, n_features : int

    Returns
    -------
    int
    """
    k, d = n_components, n_features
    if name in UNIVARIATE_NAMES:
        return 1 if name == "E" else k
    volume, shape, orientation = name[0], name[1], name[2]
    count = 1 if volume == "E" else k
    if shape != "I":
        count += (d - 1) * (1 if shape == "E" else k)
    if orientation != "I":
        count += d * (d - 1) // 2 * (1 if orientation == "E" else k)
    return count


def unknown_model_message(name: object) -> str:
    """The error for a covariance_type that is neither an mclust nor a scikit-learn name."""
    return (
        f"covariance_type={name!r} is not supported; use one of mclust's 14 models "
        f"{', '.join(MODEL_NAMES)}, the univariate E and V, or scikit-learn's names "
        + ", ".join(f"{k} (= {v})" for k, v in SKLEARN_ALIASES.items())
    )


def check_model_dimensions(name: str, n_features: int) -> None:
    """Refuse an mclust name that does not fit the number of features.

    mclust fits the univariate models E and V to one feature, and the 14
    three-letter models to two or more; scikit-learn's four names fit any
    number of features.

    Parameters
    ----------
    name : str
        A covariance_type accepted by the table.
    n_features : int

    Raises
    ------
    ValueError
        A three-letter model on one feature, or E/V on several.
    """
    if n_features == 1 and name in MODEL_NAMES:
        raise ValueError(
            f"covariance_type={name!r} is a model for multivariate data, but X has one "
            "feature; use 'E' (equal variance) or 'V' (variable variance), mclust's "
            "univariate models."
        )
    if n_features > 1 and name in UNIVARIATE_NAMES:
        raise ValueError(
            f"covariance_type={name!r} is mclust's univariate model, but X has "
            f"{n_features} features; use one of {', '.join(MODEL_NAMES)}."
        )


def default_models(n_features: int) -> tuple[str, ...]:
    """mclust's default models for data with ``n_features`` features: E, V or the 14."""
    return UNIVARIATE_NAMES if n_features == 1 else MODEL_NAMES
