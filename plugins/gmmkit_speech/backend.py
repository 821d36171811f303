"""The i-vector back-end: centring, LDA, WCCN, length normalisation and cosine scores.

- **LDA** projects onto the directions that maximise between-speaker over
  within-speaker scatter: the generalised eigenvectors of (S_b, S_w).
- **WCCN** (within-class covariance normalisation, Hatch et al. 2006)
  whitens the within-speaker covariance W: x -> B'x with B B' = W^-1.
- **Length normalisation** (Garcia-Romero and Espy-Wilson, 2011) scales
  every vector to unit length after centring (and whitening).
- **Cosine scoring** is the dot product of length-normalised vectors; a
  speaker enrolled from several utterances is their normalised mean.

:class:`IvectorBackend` chains them (fitted on labelled i-vectors) and
holds the optional :class:`gmmkit_speech.plda.PLDA`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike


def length_normalise(vectors: ArrayLike) -> np.ndarray:
    """Each row scaled to unit Euclidean length: ndarray like ``vectors`` (n, d)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("a vector of length 0 cannot be length-normalised; centre the "
                         "i-vectors on a training mean that none of them equals.")
    return vectors / norms


def cosine_scores(enrol: ArrayLike, test: ArrayLike) -> np.ndarray:
    """Cosine similarity of every enrolment and test vector: (n_enrol, n_test)."""
    return length_normalise(np.atleast_2d(enrol)) @ length_normalise(np.atleast_2d(test)).T


def speaker_scatter(vectors: ArrayLike,
                    speakers: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Within- and between-speaker covariances: W, B of shape (d, d), and the labels.

    W averages every vector's outer deviation from its speaker's mean; B is
    the covariance of the speaker means (one per speaker, weighted by its
    number of vectors), both about the overall mean.
    """
    X = np.asarray(vectors, dtype=np.float64)
    labels, index = np.unique(np.asarray(speakers), return_inverse=True)
    counts = np.bincount(index)
    means = np.zeros((len(labels), X.shape[1]))
    np.add.at(means, index, X)
    means /= counts[:, None]
    within = X - means[index]
    centred = means - X.mean(axis=0)
    W = within.T @ within / len(X)
    B = (centred * counts[:, None]).T @ centred / len(X)
    return W, B, labels


def check_labelled(vectors: ArrayLike, speakers: ArrayLike, *, min_sessions: int = 1,
                   what: str = "the back-end") -> tuple[np.ndarray, np.ndarray]:
    """(vectors (n, d) float64, labels (n,)) after checking shapes and session counts."""
    X = np.asarray(vectors, dtype=np.float64)
    labels = np.asarray(speakers)
    if X.ndim != 2 or labels.shape != (len(X),):
        raise ValueError(f"{what} needs vectors of shape (n, d) and one speaker label per "
                         f"vector; got {X.shape} and {labels.shape}.")
    names, counts = np.unique(labels, return_counts=True)
    if len(names) < 2:
        raise ValueError(f"{what} needs at least 2 speakers; got {len(names)}.")
    few = names[counts < min_sessions]
    if few.size:
        raise ValueError(
            f"{what} needs at least {min_sessions} sessions per speaker; {few.size} speaker(s) "
            f"have fewer ({', '.join(map(str, few[:5]))}{', ...' if few.size > 5 else ''}: "
            f"{int(counts.min())} session(s)); give more utterances of each speaker or leave "
            "those speakers out."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(f"the vectors given to {what} hold NaN or infinite values.")
    return X, labels


def lda(vectors: ArrayLike, speakers: ArrayLike, *, n_components: int | None = None) -> np.ndarray:
    """The LDA projection: (d, n_components) matrix P, projected vectors are X @ P.

    Columns are the generalised eigenvectors of (B, W) of
    :func:`speaker_scatter` with the largest eigenvalues, scaled so the
    projected within-speaker covariance is I. ``n_components`` defaults to,
    and is at most, min(d, n_speakers - 1).
    """
    from scipy.linalg import eigh

    X, labels = check_labelled(vectors, speakers, min_sessions=2, what="LDA")
    W, B, names = speaker_scatter(X, labels)
    most = min(X.shape[1], len(names) - 1)
    n_components = most if n_components is None else n_components
    if not (isinstance(n_components, (int, np.integer)) and 1 <= n_components <= most):
        raise ValueError(f"n_components={n_components!r} is not valid; LDA of {len(names)} "
                         f"speakers in {X.shape[1]} dimensions gives 1 to {most}.")
    values, vectors_ = eigh(B, W + 1e-10 * np.trace(W) / len(W) * np.eye(len(W)))
    return vectors_[:, ::-1][:, :n_components]  # eigh normalises: P' W P = I


def wccn(vectors: ArrayLike, speakers: ArrayLike, *, ridge: float = 1e-3) -> np.ndarray:
    """The WCCN matrix: (d, d) lower-triangular B with B B' = (W + r I)^-1; use X @ B.

    ``ridge`` r is that fraction of W's average variance: it keeps W
    invertible when there are fewer vectors than dimensions.
    """
    X, labels = check_labelled(vectors, speakers, min_sessions=2, what="WCCN")
    W, _, _ = speaker_scatter(X, labels)
    W = W + ridge * np.trace(W) / len(W) * np.eye(len(W))
    return np.linalg.cholesky(np.linalg.inv(W))


class IvectorBackend:
    """Centre, LDA, WCCN and length-normalise i-vectors; score by cosine or PLDA.

    Parameters
    ----------
    lda_dim : int or None, default=None
        LDA dimension (default: n_speakers - 1, at most the i-vector's); 0 skips LDA.
    use_wccn : bool, default=True
    plda : bool, default=True
        Also train a two-covariance PLDA (needs 2 sessions per speaker).
    plda_iter : int, default=10

    Attributes
    ----------
    mean_ : ndarray of shape (rank,)
    projection_ : ndarray of shape (rank, dim)
        LDA then WCCN (identity without both).
    plda_ : PLDA or None
    """

    def __init__(self, *, lda_dim: int | None = None, use_wccn: bool = True, plda: bool = True,
                 plda_iter: int = 10) -> None:
        self.lda_dim = lda_dim
        self.use_wccn = use_wccn
        self.plda = plda
        self.plda_iter = plda_iter

    def fit(self, ivectors: ArrayLike, speakers: ArrayLike) -> IvectorBackend:
        """Fit on training i-vectors (n, rank) and their speakers (n,); return self."""
        from gmmkit_speech.plda import PLDA

        X, labels = check_labelled(ivectors, speakers, min_sessions=2, what="the i-vector "
                                   "back-end")
        self.mean_ = X.mean(axis=0)
        X = X - self.mean_
        projection = np.eye(X.shape[1])
        if self.lda_dim != 0:
            projection = lda(X, labels, n_components=self.lda_dim)
        if self.use_wccn:
            projection = projection @ wccn(X @ projection, labels)
        self.projection_ = projection
        self.plda_ = None
        if self.plda:
            self.plda_ = PLDA(n_iter=self.plda_iter).fit(self._normalised(X), labels)
        return self

    def transform(self, ivectors: ArrayLike) -> np.ndarray:
        """Centred, projected and length-normalised vectors: (n, dim)."""
        self._check_fitted()
        return self._normalised(np.atleast_2d(np.asarray(ivectors, dtype=np.float64))
                                - self.mean_)

    def score(self, enrol: Sequence[ArrayLike], test: ArrayLike, *,
              method: str = "plda") -> np.ndarray:
        """Scores of speaker models against test i-vectors: (n_speakers, n_test).

        Parameters
        ----------
        enrol : list of ndarray of shape (n_sessions_s, rank)
            Each speaker's enrolment i-vectors.
        test : ndarray of shape (n_test, rank)
        method : {"plda", "cosine"}, default="plda"
        """
        if method not in ("plda", "cosine"):
            raise ValueError(f"method={method!r} is not valid; use 'plda' or 'cosine'.")
        models = [self.transform(sessions) for sessions in enrol]
        test = self.transform(test)
        if method == "cosine":
            return cosine_scores(np.array([m.mean(axis=0) for m in models]), test)
        if self.plda_ is None:
            raise ValueError("this back-end has no PLDA (plda=False); use method='cosine' or "
                             "fit it with plda=True.")
        return self.plda_.llr(models, test)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted back-end as a dict of arrays (for files)."""
        self._check_fitted()
        arrays = {"mean": self.mean_, "projection": self.projection_}
        if self.plda_ is not None:
            arrays.update({f"plda_{k}": v for k, v in self.plda_.to_arrays().items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> IvectorBackend:
        """The inverse of :meth:`to_arrays`."""
        from gmmkit_speech.plda import PLDA

        backend = cls(plda="plda_mean" in arrays)
        backend.mean_ = np.asarray(arrays["mean"])
        backend.projection_ = np.asarray(arrays["projection"])
        plda = {k[5:]: v for k, v in arrays.items() if k.startswith("plda_")}
        backend.plda_ = PLDA.from_arrays(plda) if plda else None
        return backend

    def _normalised(self, X):
        return length_normalise(X @ self.projection_)

    def _check_fitted(self):
        if not hasattr(self, "projection_"):
            raise ValueError("this IvectorBackend is not fitted; call fit(ivectors, speakers).")
