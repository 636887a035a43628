"""The linear softmax loss: the ONE home of the model math (the kernel).

Conventions (DESIGN.md sections 1 and 5)
---------------------------------------
A canonical block (:class:`~._data.ChoiceData`) holds whole situations ``s``, each
with its available alternatives as rows ``i`` (grouped by situation), choice counts
``y_i >= 0``, situation weights ``w_s >= 0``, ``n_s = sum_{i in s} y_i`` and
``W = sum_s w_s n_s`` (the weighted number of choices).

Utilities have two parts, either of which may be absent::

    u_i = x_i @ beta + z_s @ gamma[a_i]

- **alternative features** ``x_i`` (``data.X``, shape ``(n_rows, K)``) with shared
  coefficients ``beta`` (K,): the conditional logit;
- **situation features** ``z_s`` (:class:`SituationFeatures`, ``Z`` of shape
  ``(n_situations, P)``) with one coefficient vector ``gamma[a]`` (P,) per
  alternative ``a`` of ``0..J-1`` (``a_i`` is the alternative of row ``i``):
  multinomial logistic regression, mlogit's case variables, the usual linear
  softmax policy over state features. ``gamma[reference] = 0`` identifies them
  (a constant added to every ``gamma[a]`` cancels from the softmax); only the
  ``F = J - 1`` other alternatives' vectors are parameters (``free``).

The parameter vector is ``coef = [beta, gamma[free[0]], gamma[free[1]], ...]``
(alternative-major), of length ``K + F * P``. ``e_a (x) z_s`` is never formed: the
Z part of the gradient is ``Z^T (Q - Y)`` per alternative and its Hessian blocks are
``Z^T D Z`` products (BLAS), with ``Q`` and ``Y`` the (situations x alternatives)
grids of ``w_s n_s pi`` and ``w_s y``.

With ``d_i = dphi_i - sum_{k in s} pi_k dphi_k`` (the row's feature vector ``dphi_i``
-- ``x_i`` and ``e_{a_i} (x) z_s`` -- centred on its situation's mean), the objective
and its derivatives are::

    L(coef)  = -(1/W) sum_s w_s sum_i y_i log pi_i + alpha/2 ||coef||^2
    grad L   = -(1/W) sum_s w_s sum_i y_i d_i + alpha coef
    hess L   =  (1/W) sum_s w_s n_s sum_i pi_i d_i d_i^T + alpha I

(the score function ``d_i`` of the policy-gradient theorem, and the covariance of
the features under the policy). :meth:`LinearChoiceLoss.sums` returns the
unnormalised **sums** over the block's situations, so that blocks -- cache-sized
chunks here, partitions of a distributed data set -- merge in any order.
:meth:`LinearChoiceLoss.moments` gives, from the same pieces, the per-situation
score vectors ``w_s g_s`` (``g_s = sum_i y_i d_i``), the observed information
``sum_s w_s n_s Cov_pi`` and the outer product of the per-choice scores
``sum_s w_s sum_i y_i d_i d_i^T`` that every covariance type, fit statistic and
scorer uses.

Two engines compute the sums, for both parts of the model (:mod:`._engines`): the
numpy code below, the reference, and an optional compiled kernel (numba) that must
agree with it. Features may be float32: each chunk is converted while in cache
and all arithmetic and accumulation is in float64.
"""

from dataclasses import dataclass

import numpy as np

from ._data import check_fit_block
from ._engines import (
    NumbaSums,
    blas_controller,
    effective_n_threads,
    executor,
    resolve_engine,
)
from ._softmax import segment_logsumexp

# Bytes of features (and their temporaries) per chunk of whole situations: small
# enough to stay in the per-core cache for the alternative-feature model (measured
# on the benchmark machine, see benchmarks/); the situation-feature products are
# BLAS matrix products that want longer operands, so they get a larger budget.
_CHUNK_BYTES = 1 << 19
_Z_CHUNK_BYTES = 1 << 23


@dataclass(frozen=True)
class Moments:
    """Per-situation score vectors, information and OPG of a block at ``coef``.

    Attributes
    ----------
    scores : ndarray of shape (n_situations, n_params)
        ``w_s g_s``, the weighted score vector of each situation.
    information : ndarray of shape (n_params, n_params)
        ``sum_s w_s n_s Cov_pi``: the observed information of the total
        log-likelihood (the Hessian of its negative).
    opg : ndarray of shape (n_params, n_params)
        ``sum_s w_s sum_i y_i d_i d_i^T``: outer product of the per-choice scores.
    weight_sum : float
        ``W = sum_s w_s n_s``.
    log_likelihood : float
        ``sum_s w_s sum_i y_i log pi_i``.
    """

    scores: np.ndarray
    information: np.ndarray
    opg: np.ndarray
    weight_sum: float
    log_likelihood: float


class _Chunk:
    """A chunk of whole situations and its static index arrays."""

    def __init__(self, rows, sits, segments, situation_features):
        self.rows, self.sits, self.segments = rows, sits, segments
        self.grid_index = None  # flat (situation, alternative) position of each row
        zf = situation_features
        if zf is not None and zf.alternatives is not None:
            local = segments.segment_of_rows()
            self.grid_index = local * zf.n_alternatives + zf.alternatives[rows]

    def grid(self, values, J):
        """Per-row values ``(n_rows, ...)`` on the ``(n_situations, J, ...)`` grid.

        Unavailable (situation, alternative) cells hold 0.
        """
        n = self.segments.n_segments
        tail = values.shape[1:]
        if self.grid_index is None:
            return values.reshape(n, J, *tail)
        out = np.zeros((n * J, *tail), dtype=values.dtype)
        out[self.grid_index] = values
        return out.reshape(n, J, *tail)

    def rows_of(self, grid):
        """Inverse of :meth:`grid` for a ``(n_situations, J)`` array."""
        return (
            grid.ravel() if self.grid_index is None else grid.ravel()[self.grid_index]
        )


def utilities(data, situation_features, coef, chunk=None, X=None):
    """Utilities ``x_i @ beta + z_s @ gamma[a_i]`` of every row (or of a chunk).

    Parameters
    ----------
    data : ChoiceData
    situation_features : SituationFeatures or None
    coef : ndarray of shape (K + F * P,)
    chunk : _Chunk, default=None
        Restrict to a chunk of situations (None: the whole block).
    X : ndarray of shape (n_chunk_rows, K), default=None
        The chunk's features already converted to float64 (the loss's passes);
        None multiplies ``data.X`` in its own dtype (predictions: float32
        features are not copied).

    Returns
    -------
    ndarray of shape (n_rows,), float64
    """
    K = data.n_features
    rows = slice(None) if chunk is None else chunk.rows
    if chunk is None:
        chunk = _Chunk(
            slice(0, data.X.shape[0]),
            slice(0, data.n_situations),
            data.segments,
            situation_features,
        )
    n_rows = chunk.segments.n_rows
    u = np.zeros(n_rows)
    if K:
        if X is None:
            X = data.X[rows]
        u += (X @ coef[:K].astype(X.dtype)).astype(np.float64, copy=False)
    zf = situation_features
    if zf is not None and zf.n_features:
        Z = zf.Z[chunk.sits]
        UZ = Z @ zf.gamma_matrix(coef[K:]).T
        u += chunk.rows_of(UZ)
    return u


class LinearChoiceLoss:
    """Penalised, weight-normalised negative log-likelihood of a linear softmax.

    See the module docstring for every convention (the parameter layout, the sums,
    the moments).

    Parameters
    ----------
    data : ChoiceData
        Canonical block with ``y`` (and optionally ``sample_weight``) set. Its
        ``X`` may have zero columns when only situation features are used.
    alpha : float, default=0.0
        L2 penalty strength on the normalised objective.
    situation_features : SituationFeatures, default=None
        Situation-level features with per-alternative coefficients.
    engine : {"auto", "numpy", "numba"} or None, default=None
        Who computes :meth:`sums`; None reads :func:`skpolicy.get_config`.

    Attributes
    ----------
    n_chosen : ndarray of shape (n_situations,)
        Number of choices ``n_s`` per situation.
    weight_sum : float
        ``W = sum_s w_s n_s``, the normaliser.
    n_params : int
        ``K + F * P``.
    engine : str
        The engine in use, ``"numpy"`` or ``"numba"``.
    """

    def __init__(self, data, alpha=0.0, *, situation_features=None, engine=None):
        self.data = data
        self.alpha = float(alpha)
        zf = situation_features
        if zf is not None and zf.n_features == 0:
            zf = None
        self.situation_features = zf
        segments = data.segments
        self.n_chosen = check_fit_block(data)
        # w_s n_s per situation and w_s y_i per row: the only weights the passes use.
        if data.sample_weight is None:
            self._wn = self.n_chosen
            self._wy = data.y
        else:
            self._wn = data.sample_weight * self.n_chosen
            self._wy = segments.expand(data.sample_weight) * data.y
        self.weight_sum = float(self._wn.sum())
        K = data.n_features
        self.n_params = K + (0 if zf is None else zf.n_params)
        self.engine = resolve_engine(
            engine, data.X.shape[0], self.n_params, situation_features=zf is not None
        )
        self._numba = None
        if self.engine == "numba":
            self._numba = NumbaSums(data.X, segments.offsets, self._wn, self._wy, zf)
        # Chunks of whole situations: the numpy engine's unit of work, and the unit
        # of the moments for both engines.
        if zf is None:
            per_row = data.X.itemsize * max(1, K)
            budget = _CHUNK_BYTES
        else:
            J = zf.n_alternatives
            # Per situation: J feature rows, the (F * P) products and the grid.
            per_row = 8 * (max(1, K) + 2 * zf.n_params // J + 4)
            budget = _Z_CHUNK_BYTES
        rows_per_chunk = max(1, budget // per_row)
        self._chunks = [
            _Chunk(rows, sits, seg, zf)
            for rows, sits, seg in segments.split(rows_per_chunk)
        ]

    # ------------------------------------------------------------------ layout
    def split_coef(self, coef):
        """``(beta (K,), gamma (J, P) or None)`` from a parameter vector."""
        coef = np.asarray(coef, dtype=np.float64)
        K = self.data.n_features
        zf = self.situation_features
        return coef[:K], None if zf is None else zf.gamma_matrix(coef[K:])

    # ------------------------------------------------------------------ kernel
    def sums(self, coef, hessian=False):
        """Sums over all situations of the loss, gradient and Hessian terms.

        Parameters
        ----------
        coef : ndarray of shape (n_params,)
        hessian : bool, default=False
            Also return the Hessian sum.

        Returns
        -------
        loss_sum : float
            ``-sum_s w_s sum_i y_i log pi_i``.
        grad_sum : ndarray of shape (n_params,)
        hess_sum : ndarray of shape (n_params, n_params) or None
        """
        coef = np.asarray(coef, dtype=np.float64)
        if self._numba is not None:
            return self._numba(coef, hessian)
        parts = self._map(lambda c: self._chunk_sums(coef, c, hessian))
        loss = sum(p[0] for p in parts)
        grad = np.sum([p[1] for p in parts], axis=0)
        hess = None
        if hessian:
            hess = np.sum([p[2] for p in parts], axis=0)
            hess = 0.5 * (hess + hess.T)
        return float(loss), grad, hess

    def _map(self, function, chunks=None):
        """``function`` on every chunk, the chunks spread over the engine's threads.

        BLAS runs single-threaded inside: the chunks' products are too small for
        BLAS threads to help, and on a busy machine their spin-waiting makes a
        pass up to 10 times slower (measured with OpenBLAS and a second process
        on one of two cores). numpy and BLAS release the GIL, so the chunks
        themselves run in parallel on the ``n_threads`` of
        :func:`skpolicy.set_config`.
        """
        chunks = self._chunks if chunks is None else chunks
        if len(chunks) == 1:
            return [function(chunks[0])]
        n_threads = min(effective_n_threads(), len(chunks))
        with blas_controller().limit(limits=1, user_api="blas"):
            if n_threads == 1:
                return [function(c) for c in chunks]
            return list(executor(n_threads).map(function, chunks))

    def _chunk_state(self, coef, chunk):
        """Features, utilities, probabilities and weights of a chunk at ``coef``."""
        K = self.data.n_features
        # float32 features are converted chunk by chunk (see the module docstring).
        X = self.data.X[chunk.rows].astype(np.float64, copy=False) if K else None
        u = utilities(self.data, self.situation_features, coef, chunk, X)
        lse, proba = segment_logsumexp(u, chunk.segments)
        return X, u, lse, proba

    def _chunk_sums(self, coef, chunk, hessian):
        K = self.data.n_features
        zf = self.situation_features
        seg = chunk.segments
        X, u, lse, proba = self._chunk_state(coef, chunk)
        wn = self._wn[chunk.sits]
        wy = self._wy[chunk.rows]
        loss = wn @ lse - wy @ u
        # Gradient w.r.t. the utilities: w_s (n_s pi_i - y_i).
        q = seg.expand(wn) * proba
        resid = q - wy
        grads = []
        if K:
            grads.append(X.T @ resid)
        if zf is not None:
            Z = zf.Z[chunk.sits]
            R = chunk.grid(resid, zf.n_alternatives)[:, zf.free]
            grads.append((R.T @ Z).ravel())
        grad = np.concatenate(grads) if grads else np.zeros(0)
        hess = None
        if hessian:
            Xc = None
            if K:
                # Covariance of the rows around their situation's mean xbar_s: the
                # centred product keeps the digits that X'QX - xbar'(wn)xbar loses
                # when the choice is nearly certain or features have large offsets.
                Xc = X - seg.expand(seg.weighted_row_sum(proba, X))
            hess = self._quadratic(chunk, Xc, proba, q, proportional=True)
        return loss, grad, hess

    def _quadratic(self, chunk, Xc, proba, c, proportional=False):
        """``sum_s sum_i c_i d_i d_i^T`` over a chunk, for row weights ``c``.

        With ``c_i = w_s n_s pi_i`` (``proportional``: ``c`` is proportional to the
        probabilities within each situation) this is the information; with
        ``c_i = w_s y_i`` it is the OPG. ``Xc`` are the centred alternative
        features (None when K = 0).

        The situation-feature blocks expand ``(e_a - pi_s)_free (x) z_s``:

        - beta-gamma_f: ``sum_s [c_sf Xc_sf - pi_sf T_s] z_s^T`` with
          ``T_s = sum_i c_i Xc_i`` (zero when proportional: Xc is centred);
        - gamma_f-gamma_g: ``sum_s z_s z_s^T [c_sf delta_fg - c_sf pi_sg
          - pi_sf c_sg + C_s pi_sf pi_sg]`` with ``C_s = sum_i c_i``; when
          proportional the last three terms reduce to ``-C_s pi_sf pi_sg``.
        """
        K = self.data.n_features
        zf = self.situation_features
        seg = chunk.segments
        blocks = {}
        if K:
            blocks["bb"] = Xc.T @ (c[:, None] * Xc)
        if zf is not None:
            J, P, F = zf.n_alternatives, zf.n_features, zf.n_alternatives - 1
            Z = zf.Z[chunk.sits]
            n = Z.shape[0]
            Pg = chunk.grid(proba, J)[:, zf.free]
            Cg = chunk.grid(c, J)[:, zf.free]
            C = seg.sum(c)
            # A = pi_free (x) z and B = c_free (x) z, (n, F * P): a chunk's worth only.
            A = (Pg[:, :, None] * Z[:, None, :]).reshape(n, F * P)
            if proportional:
                gg = -(A.T @ (C[:, None] * A))
                # The diagonal blocks z z^T C pi_f (1 - pi_f) are formed directly,
                # with 1 - pi_f summed from the other alternatives: pi_f - pi_f^2
                # loses every digit when alternative f is nearly certain.
                grid = chunk.grid(proba, J)
                # Exclusive prefix and suffix sums (no subtraction anywhere).
                before = np.zeros_like(grid)
                np.cumsum(grid[:, :-1], axis=1, out=before[:, 1:])
                after = np.zeros_like(grid)
                np.cumsum(grid[:, :0:-1], axis=1, out=after[:, -2::-1])
                others = (before + after)[:, zf.free]
                D = (C[:, None] * Pg * others)[:, :, None] * Z[:, None, :]
                diag = Z.T @ D.reshape(n, F * P)
                replace = True
            else:
                B = (Cg[:, :, None] * Z[:, None, :]).reshape(n, F * P)
                AB = A.T @ B
                gg = A.T @ (C[:, None] * A) - AB - AB.T
                diag = Z.T @ B
                replace = False
            diag = diag.reshape(P, F, P)
            for f in range(F):
                sl = slice(f * P, (f + 1) * P)
                if replace:
                    gg[sl, sl] = diag[:, f, :]
                else:
                    gg[sl, sl] += diag[:, f, :]
            blocks["gg"] = gg
            if K:
                M = chunk.grid(c[:, None] * Xc, J)[:, zf.free, :]
                if not proportional:
                    T = seg.weighted_row_sum(c, Xc)
                    M = M - Pg[:, :, None] * T[:, None, :]
                bg = (M.reshape(n, F * K).T @ Z).reshape(F, K, P)
                blocks["bg"] = bg.transpose(1, 0, 2).reshape(K, F * P)
        if zf is None:
            return blocks["bb"]
        if not K:
            return blocks["gg"]
        return np.block([[blocks["bb"], blocks["bg"]], [blocks["bg"].T, blocks["gg"]]])

    # ------------------------------------------------------------ contractions
    def contract(self, row_weights):
        """``sum_i c_i dphi_i``: per-row weights mapped to the parameters.

        The chain rule from the utilities to the coefficients: for any function
        ``f(u)`` of the utilities, ``grad_coef f = contract(df/du)``. The gradient
        of the loss is ``contract(w_s (n_s pi_i - y_i))``; an off-policy objective
        supplies its own derivative. The Z part is ``Z^T C`` per alternative,
        never ``e_a (x) z_s``.

        Parameters
        ----------
        row_weights : ndarray of shape (n_rows,)
            One (signed) weight per canonical row.

        Returns
        -------
        ndarray of shape (n_params,)
        """
        row_weights = np.asarray(row_weights, dtype=np.float64)
        K = self.data.n_features
        zf = self.situation_features

        def part(chunk):
            c = row_weights[chunk.rows]
            out = np.zeros(self.n_params)
            if K:
                X = self.data.X[chunk.rows].astype(np.float64, copy=False)
                out[:K] = X.T @ c
            if zf is not None:
                G = chunk.grid(c, zf.n_alternatives)[:, zf.free]
                out[K:] = (G.T @ zf.Z[chunk.sits]).ravel()
            return out

        return np.sum(self._map(part), axis=0)

    def row_utilities(self, coef):
        """Utilities of every canonical row at ``coef``, shape (n_rows,)."""
        coef = np.asarray(coef, dtype=np.float64)
        return np.concatenate(self._map(lambda c: self._chunk_state(coef, c)[1]))

    # ------------------------------------------------------------ Hessian product
    def hessian_product(self, coef, vector):
        """Hessian of the normalised objective at ``coef`` times ``vector``.

        One pass, as cheap as the gradient: the directional derivative of the
        utilities ``delta_i = dphi_i @ vector``, centred within each situation, is
        contracted back with the features, ``sum_s w_s n_s sum_i pi_i d_i
        (d_i @ vector)``.

        Returns
        -------
        ndarray of shape (n_params,)
        """
        coef = np.asarray(coef, dtype=np.float64)
        vector = np.asarray(vector, dtype=np.float64)
        K = self.data.n_features
        zf = self.situation_features

        def part(chunk):
            seg = chunk.segments
            X, _, _, proba = self._chunk_state(coef, chunk)
            delta = utilities(self.data, zf, vector, chunk, X)
            centred = delta - seg.expand(seg.sum(proba * delta))
            weights = seg.expand(self._wn[chunk.sits]) * proba * centred
            out = np.zeros(self.n_params)
            if K:
                out[:K] = X.T @ weights
            if zf is not None:
                Z = zf.Z[chunk.sits]
                G = chunk.grid(weights, zf.n_alternatives)[:, zf.free]
                out[K:] = (G.T @ Z).ravel()
            return out

        out = np.sum(self._map(part), axis=0)
        return out / self.weight_sum + self.alpha * vector

    # -------------------------------------------------------- normalised objective
    def loss_gradient(self, coef):
        """Objective and gradient at ``coef``: ``(float, ndarray (n_params,))``."""
        loss, grad, _ = self.sums(coef)
        return self._normalise(coef, loss, grad)[:2]

    def gradient_hessian(self, coef):
        """Objective, gradient and Hessian ``(n_params, n_params)`` at ``coef``."""
        return self._normalise(coef, *self.sums(coef, hessian=True))

    def _normalise(self, coef, loss, grad, hess=None):
        coef = np.asarray(coef, dtype=np.float64)
        W = self.weight_sum
        loss = loss / W + 0.5 * self.alpha * float(coef @ coef)
        grad = grad / W + self.alpha * coef
        if hess is not None:
            hess = hess / W
            hess[np.diag_indices_from(hess)] += self.alpha
        return loss, grad, hess

    # ----------------------------------------------------------- for inference
    def log_likelihood(self, coef, objective=None):
        """Weighted log-likelihood ``sum_s w_s sum_i y_i log pi_i`` at ``coef``.

        Parameters
        ----------
        coef : ndarray of shape (n_params,)
        objective : float, default=None
            The normalised objective at ``coef`` when already known (saves a pass).
        """
        coef = np.asarray(coef, dtype=np.float64)
        if objective is None:
            return -self.sums(coef)[0]
        penalty = 0.5 * self.alpha * float(coef @ coef)
        return -self.weight_sum * (objective - penalty)

    def null_log_likelihood(self):
        """Log-likelihood of equal shares over each situation's alternatives."""
        return -float(self._wn @ np.log(self.data.segments.sizes))

    def information(self, hessian):
        """Observed information of the total log-likelihood from an objective Hessian.

        Undoes the normalisation by ``W`` and removes the penalty's ``alpha I``.
        """
        info = self.weight_sum * (hessian - self.alpha * np.eye(hessian.shape[0]))
        return 0.5 * (info + info.T)

    def moments(self, coef):
        """Score vectors, information, OPG and log-likelihood at ``coef``.

        One pass over the chunks (the numpy reference, for either engine: it runs
        once per inference request, not per iteration).

        Returns
        -------
        Moments
        """
        coef = np.asarray(coef, dtype=np.float64)
        K = self.data.n_features
        zf = self.situation_features
        w = self.data.sample_weight
        w = np.ones(self.data.n_situations) if w is None else w
        scores = np.empty((self.data.n_situations, self.n_params))

        def part(chunk):
            seg = chunk.segments
            X, u, lse, proba = self._chunk_state(coef, chunk)
            w_s = w[chunk.sits]
            y = self.data.y[chunk.rows]
            wn = self._wn[chunk.sits]
            wy = self._wy[chunk.rows]
            loglik = float(wy @ u - wn @ lse)
            Xc = None
            parts = []
            if K:
                Xc = X - seg.expand(seg.weighted_row_sum(proba, X))
                parts.append(seg.weighted_row_sum(y, Xc))
            if zf is not None:
                # g_s for gamma_f: z_s (y_sf - n_s pi_sf).
                n_s = seg.sum(y)
                resid = chunk.grid(y - seg.expand(n_s) * proba, zf.n_alternatives)
                Z = zf.Z[chunk.sits]
                parts.append(
                    (resid[:, zf.free, None] * Z[:, None, :]).reshape(Z.shape[0], -1)
                )
            scores[chunk.sits] = w_s[:, None] * np.concatenate(parts, axis=1)
            q = seg.expand(wn) * proba
            information = self._quadratic(chunk, Xc, proba, q, proportional=True)
            return loglik, information, self._quadratic(chunk, Xc, proba, wy)

        parts = self._map(part)
        loglik = sum(p[0] for p in parts)
        information = np.sum([p[1] for p in parts], axis=0)
        opg = np.sum([p[2] for p in parts], axis=0)
        information = 0.5 * (information + information.T)
        opg = 0.5 * (opg + opg.T)
        return Moments(scores, information, opg, self.weight_sum, loglik)
