"""Two-covariance (Gaussian) PLDA (Prince and Elder, 2007; Brummer and de Villiers, 2010).

Every speaker s has a latent identity y_s ~ N(mu, B) and each of its
vectors is x_sj = y_s + e_sj with e_sj ~ N(0, W). The model is trained by
EM on labelled vectors: the E-step is the Gaussian posterior of each y_s,

    precision  P_s = B^-1 + n_s W^-1,   mean  m_s = P_s^-1 (B^-1 mu + W^-1 sum_j x_sj),

and the M-step sets mu to the mean of the m_s, B to the covariance of the
posteriors and W to the average posterior within-speaker scatter.

The verification score is the log-likelihood ratio of "same speaker"
against "different speakers". In the basis that makes W = I and B
diagonal (psi), it is a sum over dimensions; for n enrolment vectors with
mean e and a test vector t (all transformed),

    LLR = sum_i  log N(t_i; a_i e_i, 1 + v_i) - log N(t_i; 0, 1 + psi_i),
    a_i = n psi_i / (1 + n psi_i),   v_i = psi_i / (1 + n psi_i).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from gmmkit_speech.backend import check_labelled, speaker_scatter

LOG_2PI = np.log(2.0 * np.pi)


class PLDA:
    """Two-covariance PLDA trained by EM.

    Parameters
    ----------
    n_iter : int, default=10
        EM iterations.

    Attributes
    ----------
    mean_ : ndarray of shape (d,)
    between_ : ndarray of shape (d, d)
        B, the covariance of speaker identities.
    within_ : ndarray of shape (d, d)
        W, the covariance of a speaker's vectors about its identity.
    log_likelihoods_ : list of float
        Log-likelihood of the training vectors before each iteration and after the last.
    """

    def __init__(self, n_iter: int = 10) -> None:
        self.n_iter = n_iter

    def fit(self, vectors: ArrayLike, speakers: ArrayLike) -> PLDA:
        """Fit on vectors (n, d) and their speakers (n,), at least 2 per speaker; return self."""
        X, labels = check_labelled(vectors, speakers, min_sessions=2, what="PLDA")
        if not (isinstance(self.n_iter, (int, np.integer)) and self.n_iter >= 0):
            raise ValueError(f"n_iter={self.n_iter!r} is not valid; use an int >= 0.")
        names, index = np.unique(labels, return_inverse=True)
        counts = np.bincount(index).astype(np.float64)
        sums = np.zeros((len(names), X.shape[1]))
        np.add.at(sums, index, X)
        W, B, _ = speaker_scatter(X, labels)  # the start: the scatter matrices
        self.mean_, self.within_ = X.mean(axis=0), _floored(W)
        self.between_ = _floored(B, reference=self.within_)
        self.log_likelihoods_ = []
        for _ in range(self.n_iter):
            self.log_likelihoods_.append(self.log_likelihood(X, labels))
            self._em_step(X, index, counts, sums)
        self.log_likelihoods_.append(self.log_likelihood(X, labels))
        return self

    def _em_step(self, X, index, counts, sums):
        B_inv, W_inv = np.linalg.inv(self.between_), np.linalg.inv(self.within_)
        precision = B_inv[None] + counts[:, None, None] * W_inv[None]  # (S, d, d)
        cov = np.linalg.inv(precision)
        means = np.einsum("sij,sj->si", cov, B_inv @ self.mean_ + sums @ W_inv)
        self.mean_ = means.mean(axis=0)
        centred = means - self.mean_
        self.between_ = _floored(cov.mean(axis=0) + centred.T @ centred / len(means),
                                 reference=self.within_)
        residual = X - means[index]
        scatter = residual.T @ residual + np.einsum("s,sij->ij", counts, cov)
        self.within_ = _floored(scatter / len(X))

    def log_likelihood(self, vectors: ArrayLike, speakers: ArrayLike) -> float:
        """log p(vectors) under the model, speakers' vectors sharing an identity: float."""
        X = np.asarray(vectors, dtype=np.float64)
        transform, psi = self._diagonal_basis()
        Z = (X - self.mean_) @ transform
        _, index = np.unique(np.asarray(speakers), return_inverse=True)
        counts = np.bincount(index).astype(np.float64)
        sums = np.zeros((len(counts), Z.shape[1]))
        np.add.at(sums, index, Z)
        # per speaker and dimension: z_j = y + e_j, y ~ N(0, psi), e_j ~ N(0, 1)
        n = counts[:, None]
        quadratic = (Z**2).sum() - (psi * sums**2 / (1.0 + n * psi)).sum()
        log_det = np.log1p(n * psi).sum()
        jacobian = len(X) * np.linalg.slogdet(transform)[1]
        return float(-0.5 * (Z.size * LOG_2PI + log_det + quadratic) + jacobian)

    def llr(self, enrol: Sequence[ArrayLike] | np.ndarray, test: ArrayLike) -> np.ndarray:
        """Same- versus different-speaker log-likelihood ratios: (n_models, n_test).

        Parameters
        ----------
        enrol : list of ndarray of shape (n_s, d), or ndarray of shape (n_models, d)
            Each model's enrolment vectors (a 2-D array: one vector per model).
        test : ndarray of shape (n_test, d)
        """
        self._check_fitted()
        transform, psi = self._diagonal_basis()
        if isinstance(enrol, np.ndarray) and enrol.ndim == 2:
            enrol = [row[None] for row in enrol]
        models = [np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in enrol]
        counts = np.array([len(sessions) for sessions in models], dtype=np.float64)
        if counts.size == 0 or counts.min() < 1:
            raise ValueError("every model needs at least one enrolment vector.")
        E = np.array([(s - self.mean_).mean(axis=0) for s in models]) @ transform
        T = (np.atleast_2d(np.asarray(test, dtype=np.float64)) - self.mean_) @ transform
        n = counts[:, None]
        a = n * psi / (1.0 + n * psi)  # (M, d)
        v = 1.0 + psi / (1.0 + n * psi)  # (M, d)
        same = -0.5 * (np.log(v).sum(axis=1)[:, None]
                       + (1.0 / v) @ (T**2).T
                       - 2.0 * (a * E / v) @ T.T
                       + ((a * E) ** 2 / v).sum(axis=1)[:, None])
        different = -0.5 * (np.log1p(psi).sum() + (T**2) @ (1.0 / (1.0 + psi)))
        return same - different[None, :]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted parameters as a dict of arrays."""
        self._check_fitted()
        return {"mean": self.mean_, "between": self.between_, "within": self.within_}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> PLDA:
        """A fitted PLDA from :meth:`to_arrays`."""
        model = cls()
        model.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        model.between_ = np.asarray(arrays["between"], dtype=np.float64)
        model.within_ = np.asarray(arrays["within"], dtype=np.float64)
        return model

    def _diagonal_basis(self):
        """(A, psi): A' W A = I and A' B A = diag(psi)."""
        from scipy.linalg import eigh

        psi, A = eigh(self.between_, self.within_)
        return A, np.maximum(psi, 0.0)

    def _check_fitted(self):
        if not hasattr(self, "within_"):
            raise ValueError("this PLDA is not fitted; call fit(vectors, speakers).")


def _symmetric(matrix):
    return 0.5 * (matrix + matrix.T)


def _floored(matrix, *, reference=None):
    """``matrix`` made symmetric; plus a tiny ridge (1e-6 of the average variance) only
    when it is not positive definite (fewer vectors than dimensions)."""
    matrix = _symmetric(matrix)
    try:
        np.linalg.cholesky(matrix)
        return matrix
    except np.linalg.LinAlgError:
        scale = np.trace(matrix if reference is None else reference) / len(matrix)
        return matrix + 1e-6 * scale * np.eye(len(matrix))
