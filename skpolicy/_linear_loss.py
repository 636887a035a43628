"""The conditional-logit loss as a function of the coefficients (the kernel).

Conventions (DESIGN.md section 1). For a canonical block with rows grouped by
situation, choice counts ``y_sa``, situation weights ``w_s``, ``n_s = sum_a y_sa``
and ``W = sum_s w_s n_s``, utilities are ``u = X @ coef`` and the objective is::

    L(coef) = -(1/W) sum_s w_s sum_a y_sa log pi(a|s) + alpha/2 ||coef||^2

    grad L  = (1/W) sum_s w_s (n_s xbar_s - sum_a y_sa x_sa) + alpha coef
    hess L  = (1/W) sum_s w_s n_s Cov_pi[x_s.] + alpha I

with ``xbar_s = sum_a pi(a|s) x_sa``. The kernel :meth:`LinearChoiceLoss.sums`
returns the unnormalised *sums* over a block's situations, so that blocks (chunks
here, partitions of a distributed data set later) can be reduced in any order.

One pass over the features gives the loss, gradient and (optionally) Hessian: the
block is processed in cache-sized chunks of whole situations, and each chunk is read
from memory once while its utilities, probabilities, gradient and Hessian terms are
formed. Two engines compute these sums (:mod:`._engines`): the numpy code below, the
reference, and an optional compiled kernel (numba) that must agree with it.

Features may be float32: they are never copied to float64 as a whole; each chunk is
converted while in cache and all arithmetic and accumulation is in float64, so the
sums are those of the float32 data computed to float64 accuracy.
"""

import numpy as np

from ._data import check_fit_block
from ._engines import NumbaSums, blas_controller, resolve_engine
from ._softmax import segment_logsumexp

# Rows per chunk are chosen so that a chunk of features plus its temporaries stays
# in the per-core cache (measured on the benchmark machine, see benchmarks/).
_CHUNK_BYTES = 1 << 19


class LinearChoiceLoss:
    """Penalised, weight-normalised negative log-likelihood of a linear softmax.

    Parameters
    ----------
    data : ChoiceData
        Canonical block with ``y`` (and optionally ``sample_weight``) set.
    alpha : float, default=0.0
        L2 penalty strength on the normalised objective.
    engine : {"auto", "numpy", "numba"} or None, default=None
        Who computes :meth:`sums`; None reads :func:`skpolicy.get_config`.

    Attributes
    ----------
    n_chosen : ndarray of shape (n_situations,)
        Number of choices ``n_s`` per situation.
    weight_sum : float
        ``W = sum_s w_s n_s``, the normaliser.
    engine : str
        The engine in use, ``"numpy"`` or ``"numba"``.
    """

    def __init__(self, data, alpha=0.0, *, engine=None):
        self.data = data
        self.alpha = float(alpha)
        segments = data.segments
        self.n_chosen = check_fit_block(data)
        # w_s n_s per situation and w_s y_sa per row: the only weights the passes use.
        if data.sample_weight is None:
            self._wn = self.n_chosen
            self._wy = data.y
        else:
            self._wn = data.sample_weight * self.n_chosen
            self._wy = segments.expand(data.sample_weight) * data.y
        self.weight_sum = float(self._wn.sum())
        self.engine = resolve_engine(engine, *data.X.shape)
        self._numba = None
        if self.engine == "numba":
            self._numba = NumbaSums(data.X, segments.offsets, self._wn, self._wy)
        else:
            rows_per_chunk = max(
                1, _CHUNK_BYTES // (data.X.itemsize * max(1, data.n_features))
            )
            self._chunks = segments.split(rows_per_chunk)

    # ------------------------------------------------------------------ kernel
    def sums(self, coef, hessian=False):
        """Sums over all situations of the loss, gradient and Hessian terms.

        Parameters
        ----------
        coef : ndarray of shape (n_features,)
        hessian : bool, default=False
            Also return the Hessian sum.

        Returns
        -------
        loss_sum : float
            ``-sum_s w_s sum_a y_sa log pi(a|s)``.
        grad_sum : ndarray of shape (n_features,)
        hess_sum : ndarray of shape (n_features, n_features) or None
        """
        coef = np.asarray(coef, dtype=np.float64)
        if self._numba is not None:
            return self._numba(coef, hessian)
        if len(self._chunks) > 1:
            # The chunks' products are too small for BLAS threads to help, and on a
            # busy machine their spin-waiting makes a pass up to 10 times slower
            # (measured with OpenBLAS and a second process on one of two cores).
            with blas_controller().limit(limits=1, user_api="blas"):
                parts = [self._chunk_sums(coef, c, hessian) for c in self._chunks]
        else:
            parts = [self._chunk_sums(coef, c, hessian) for c in self._chunks]
        loss = sum(p[0] for p in parts)
        grad = np.sum([p[1] for p in parts], axis=0)
        hess = None
        if hessian:
            hess = np.sum([p[2] for p in parts], axis=0)
            hess = 0.5 * (hess + hess.T)
        return float(loss), grad, hess

    def _chunk_sums(self, coef, chunk, hessian):
        rows, sits, segments = chunk
        # float32 features are converted chunk by chunk (see the module docstring).
        X = self.data.X[rows].astype(np.float64, copy=False)
        u = X @ coef
        lse, proba = segment_logsumexp(u, segments)
        wn = self._wn[sits]
        wy = self._wy[rows]
        loss = wn @ lse - wy @ u
        # Gradient w.r.t. the utilities: w_s (n_s pi(a|s) - y_sa).
        q = segments.expand(wn) * proba
        grad = X.T @ (q - wy)
        hess = None
        if hessian:
            # Covariance of the rows around their situation's mean xbar_s: the
            # centred product keeps the digits that X'QX - xbar'(wn)xbar loses
            # when the choice is nearly certain or features have large offsets.
            xbar = segments.weighted_row_sum(proba, X)
            X = X - segments.expand(xbar)
            hess = X.T @ (q[:, None] * X)
        return loss, grad, hess

    # -------------------------------------------------------- normalised objective
    def loss_gradient(self, coef):
        """Objective and gradient at ``coef``: ``(float, ndarray (n_features,))``."""
        loss, grad, _ = self.sums(coef)
        return self._normalise(coef, loss, grad)[:2]

    def gradient_hessian(self, coef):
        """Objective, gradient and Hessian ``(n_features, n_features)`` at ``coef``."""
        return self._normalise(coef, *self.sums(coef, hessian=True))

    def _normalise(self, coef, loss, grad, hess=None):
        W = self.weight_sum
        loss = loss / W + 0.5 * self.alpha * float(coef @ coef)
        grad = grad / W + self.alpha * coef
        if hess is not None:
            hess = hess / W
            hess[np.diag_indices_from(hess)] += self.alpha
        return loss, grad, hess
