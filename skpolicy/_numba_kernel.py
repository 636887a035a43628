"""Compiled kernel (numba): the sums of :meth:`LinearChoiceLoss.sums` in one pass.

An optional accelerator (``pip install skpolicy[fast]``); the numpy code in
:mod:`._linear_loss` is the reference it is tested against. Importing this module
imports numba, so only :mod:`._engines` does, and only when the numba engine is used.

How a pass is organised, and why (each point was measured on the benchmark machine,
see ``benchmarks/profile_kernel.py``):

- Situations are processed in *windows* of ``W`` situations (a few dozen). A window
  is copied once from the caller's row-major ``(n_rows, K)`` array into a
  feature-major buffer, ``Xt[k, j * W + s]`` holding feature ``k`` of alternative
  ``j`` of the window's situation ``s``. Every later step is a loop over contiguous
  memory that LLVM turns into AVX2/FMA code, and every per-situation reduction (max,
  sum, probability-weighted mean) adds ``J`` contiguous vectors of length ``W``
  instead of running a short loop per situation. The buffer stays in the L1/L2 cache,
  so the features are read from main memory once per pass.
- Ragged windows are padded to their largest situation with zero-probability rows,
  and a short last window with zero-weight dummy situations, so one code path serves
  every layout.
- The buffers' row stride is the window length plus 8 doubles: with a power-of-two
  stride the ``K`` rows of the buffer share a set of the 8-way L1 cache, and the copy
  runs 3 to 5 times slower.
- ``exp`` is a vectorisable polynomial (below), about 5 times faster than the scalar
  libm call that LLVM emits for ``math.exp``.
- The Hessian is the covariance form ``sum_i q_i (x_i - xbar_s)(x_i - xbar_s)'``:
  the rows are centred on their situation's probability-weighted mean (more accurate
  than subtracting ``xbar xbar'`` afterwards) and scaled by ``sqrt(q_i)`` in the
  buffer, then ``H += Y Y'`` is accumulated on the lower triangle in 2 x 2 tiles with
  eight independent accumulators (four leave the loop bound by the FMA latency).
- Array indices that numba cannot prove non-negative get negative-index wraparound
  code on every access, which also defeats vectorisation; such indices are passed
  through :func:`_ix` (an unsigned cast, free at run time). Likewise ``if a > b``
  replaces ``max(a, b)`` on floats, which compiles to a call. Window sizes are
  run-time arguments: with a compile-time constant LLVM unrolls the short loops
  completely and then fails to vectorise them.
- Functions release the GIL (``nogil``): the caller runs chunks of situations on
  a thread pool, each chunk writing its own output slots.
"""

import math

import numpy as np
from numba import njit

# No "nnan"/"ninf": non-finite utilities must propagate to the checks.
_FASTMATH = {"nsz", "arcp", "contract", "reassoc"}

# exp(x) = 2**n * exp(r), n = round(x / ln 2), |r| <= ln(2) / 2. Adding 1.5 * 2**52
# rounds x / ln 2 to an integer held in the low mantissa bits, which are then
# shifted into the exponent field of exp(r). Degree-13 Taylor polynomial: the
# truncation error on |r| <= 0.347 is below 1e-17.
_MAGIC = 6755399441055744.0
_MAGIC_BITS = np.float64(_MAGIC).view(np.int64)
_LOG2E = 1.4426950408889634
_LN2_HI = 0.693147180369123816490
_LN2_LO = 1.90821492927058770002e-10
# exp(-708) is still a normal double; inputs are shifted to be <= 0.
_EXP_MIN = -708.0
# Row stride padding of the window buffers (see the module docstring).
_PAD = 8


@njit(inline="always")
def _ix(i):
    """Index known to be >= 0 (see the module docstring)."""
    return np.uint64(i)


@njit(nogil=True, cache=True, fastmath={"contract"})
def _exp_shifted(u, m, W, J, out, out_bits, t, t_bits):
    """``out[j*W+s] = exp(u[j*W+s] - m[s])`` for ``u <= m`` (clamped at -708).

    Compiled without "reassoc", which would fold ``(y + MAGIC) - MAGIC`` into ``y``.
    ``out_bits``/``t_bits`` are int64 views of ``out``/``t``.
    """
    for j in range(J):
        for s in range(W):
            i = _ix(j * W + s)
            x = u[i] - m[_ix(s)]
            if x < _EXP_MIN:
                x = _EXP_MIN
            ti = x * _LOG2E + _MAGIC
            n = ti - _MAGIC
            r = x - n * _LN2_HI
            r = r - n * _LN2_LO
            p = 1.0 / 6227020800.0
            p = p * r + 1.0 / 479001600.0
            p = p * r + 1.0 / 39916800.0
            p = p * r + 1.0 / 3628800.0
            p = p * r + 1.0 / 362880.0
            p = p * r + 1.0 / 40320.0
            p = p * r + 1.0 / 5040.0
            p = p * r + 1.0 / 720.0
            p = p * r + 1.0 / 120.0
            p = p * r + 1.0 / 24.0
            p = p * r + 1.0 / 6.0
            p = p * r + 0.5
            p = p * r + 1.0
            p = p * r + 1.0
            out[i] = p
            t[i] = ti
    for i_ in range(W * J):
        i = _ix(i_)
        out_bits[i] += (t_bits[i] - _MAGIC_BITS) << 52


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _syrk_lower(Y, n, hess):
    """``hess += Y[:, :n] @ Y[:, :n].T`` on the lower triangle (even row count)."""
    n_rows = Y.shape[0]
    half = n // 2
    for a in range(0, n_rows, 2):
        for b in range(0, a + 1, 2):
            a0, a1, b0, b1 = _ix(a), _ix(a + 1), _ix(b), _ix(b + 1)
            h00 = 0.0
            h01 = 0.0
            h10 = 0.0
            h11 = 0.0
            g00 = 0.0
            g01 = 0.0
            g10 = 0.0
            g11 = 0.0
            # Two independent halves: eight accumulator chains hide FMA latency.
            for i_ in range(half):
                i = _ix(i_)
                k = _ix(i_ + half)
                xa0 = Y[a0, i]
                xa1 = Y[a1, i]
                xb0 = Y[b0, i]
                xb1 = Y[b1, i]
                h00 += xa0 * xb0
                h01 += xa0 * xb1
                h10 += xa1 * xb0
                h11 += xa1 * xb1
                ya0 = Y[a0, k]
                ya1 = Y[a1, k]
                yb0 = Y[b0, k]
                yb1 = Y[b1, k]
                g00 += ya0 * yb0
                g01 += ya0 * yb1
                g10 += ya1 * yb0
                g11 += ya1 * yb1
            if n & 1:
                k = _ix(n - 1)
                h00 += Y[a0, k] * Y[b0, k]
                h01 += Y[a0, k] * Y[b1, k]
                h10 += Y[a1, k] * Y[b0, k]
                h11 += Y[a1, k] * Y[b1, k]
            hess[a0, b0] += h00 + g00
            hess[a0, b1] += h01 + g01
            hess[a1, b0] += h10 + g10
            hess[a1, b1] += h11 + g11


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def chunk_sums(X, offsets, wn, wy, coef, s_start, s_stop, hessian, window, grad, hess):
    """Loss, gradient and Hessian sums over situations ``s_start:s_stop``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float64 or float32, C-contiguous
    offsets : ndarray of shape (n_situations + 1,), int64
    wn : ndarray of shape (n_situations,), float64
        ``w_s n_s``.
    wy : ndarray of shape (n_rows,), float64
        ``w_s y_sa``.
    coef : ndarray of shape (n_features,), float64
    s_start, s_stop : int
    hessian : bool
    window : int
        Situations per window (``W``).
    grad : ndarray of shape (n_features,), float64
        Incremented by the gradient sum.
    hess : ndarray of shape (n_even, n_even), float64
        ``n_even`` is n_features rounded up to even. Its lower triangle is
        incremented by the Hessian sum when ``hessian``.

    Returns
    -------
    loss : float
        ``sum_s wn_s lse_s - sum_i wy_i u_i``.
    u_sum : float
        Sum of the utilities: non-finite iff some utility is.
    """
    K = X.shape[1]
    K2 = K + (K & 1)
    W = window
    cap = 0
    Xt = np.zeros((K2, _PAD))
    u = np.empty(0)
    e = np.empty(0)
    t = np.empty(0)
    e_bits = e.view(np.int64)
    t_bits = t.view(np.int64)
    wyb = np.empty(0)
    r = np.empty(0)
    sq = np.empty(0)
    m = np.empty(W)
    tot = np.empty(W)
    xb = np.empty(W)
    wns = np.empty(W)
    sizes = np.empty(W, dtype=np.int64)
    first = np.empty(W, dtype=np.int64)
    loss = 0.0
    u_sum = 0.0
    s0 = s_start
    while s0 < s_stop:
        # The window: situations s0:s1, each padded to Jb rows (and to W
        # situations). Sorting ragged situations by size would save the padding but
        # loses the sequential reads: measured slower.
        s1 = min(s0 + W, s_stop)
        S = s1 - s0
        Jb = 1
        for s in range(S):
            sit = _ix(s0 + s)
            first[_ix(s)] = offsets[sit]
            size = offsets[sit + _ix(1)] - offsets[sit]
            sizes[_ix(s)] = size
            wns[_ix(s)] = wn[sit]
            if size > Jb:
                Jb = size
        padded = False
        for s in range(S):
            if sizes[_ix(s)] != Jb:
                padded = True
        nb = Jb * W
        if nb > cap:
            cap = nb
            Xt = np.zeros((K2, cap + _PAD))
            u = np.empty(cap)
            e = np.empty(cap)
            t = np.empty(cap)
            wyb = np.empty(cap)
            r = np.empty(cap)
            sq = np.empty(cap)
            e_bits = e.view(np.int64)
            t_bits = t.view(np.int64)

        # Copy (gather) into the buffer; padding rows and dummy situations get zero
        # features and zero weight.
        for s in range(S):
            r0 = first[_ix(s)]
            size = sizes[_ix(s)]
            for j in range(size):
                i = _ix(j * W + s)
                row = _ix(r0 + j)
                wyb[i] = wy[row]
                for k in range(K):
                    Xt[_ix(k), i] = X[row, _ix(k)]
            for j in range(size, Jb):
                i = _ix(j * W + s)
                wyb[i] = 0.0
                for k in range(K):
                    Xt[_ix(k), i] = 0.0
        for s in range(S, W):
            wns[_ix(s)] = 0.0
            for j in range(Jb):
                i = _ix(j * W + s)
                wyb[i] = 0.0
                for k in range(K):
                    Xt[_ix(k), i] = 0.0

        # Utilities and their maximum per situation; padding rows copy their
        # situation's first utility, so they change neither.
        for i_ in range(nb):
            i = _ix(i_)
            u[i] = 0.0
        for k in range(K):
            c = coef[_ix(k)]
            for i_ in range(nb):
                i = _ix(i_)
                u[i] += c * Xt[_ix(k), i]
        if padded:
            for s in range(S):
                for j in range(sizes[_ix(s)], Jb):
                    u[_ix(j * W + s)] = u[_ix(s)]
        for s in range(W):
            m[_ix(s)] = u[_ix(s)]
        for j in range(1, Jb):
            for s in range(W):
                v = u[_ix(j * W + s)]
                if v > m[_ix(s)]:
                    m[_ix(s)] = v
        _exp_shifted(u, m, W, Jb, e, e_bits, t, t_bits)
        if padded:
            for s in range(S):
                for j in range(sizes[_ix(s)], Jb):
                    e[_ix(j * W + s)] = 0.0
        for s in range(W):
            tot[_ix(s)] = e[_ix(s)]
        for j in range(1, Jb):
            for s in range(W):
                tot[_ix(s)] += e[_ix(j * W + s)]

        # Loss; tot becomes 1 / tot.
        acc = 0.0
        for s in range(W):
            acc += wns[_ix(s)] * (math.log(tot[_ix(s)]) + m[_ix(s)])
            tot[_ix(s)] = 1.0 / tot[_ix(s)]
        usum = 0.0
        for i_ in range(nb):
            i = _ix(i_)
            acc -= wyb[i] * u[i]
            usum += u[i]
        loss += acc
        u_sum += usum

        # e becomes the probability p; r = w n p - w y is the gradient w.r.t. u.
        for j in range(Jb):
            for s in range(W):
                i = _ix(j * W + s)
                p = e[i] * tot[_ix(s)]
                e[i] = p
                q = wns[_ix(s)] * p
                r[i] = q - wyb[i]
                if hessian:
                    sq[i] = math.sqrt(q)

        if not hessian:
            for k in range(K):
                g = 0.0
                for i_ in range(nb):
                    i = _ix(i_)
                    g += r[i] * Xt[_ix(k), i]
                grad[_ix(k)] += g
        else:
            # Centre on xbar_s (the gradient is unchanged: r sums to zero over a
            # situation) and scale by sqrt(q): then H = sum_i y_i y_i'.
            for k in range(K):
                for s in range(W):
                    xb[_ix(s)] = e[_ix(s)] * Xt[_ix(k), _ix(s)]
                for j in range(1, Jb):
                    for s in range(W):
                        i = _ix(j * W + s)
                        xb[_ix(s)] += e[i] * Xt[_ix(k), i]
                g = 0.0
                for j in range(Jb):
                    for s in range(W):
                        i = _ix(j * W + s)
                        xc = Xt[_ix(k), i] - xb[_ix(s)]
                        g += r[i] * xc
                        Xt[_ix(k), i] = sq[i] * xc
                grad[_ix(k)] += g
            _syrk_lower(Xt, nb, hess)
        s0 = s1
    return loss, u_sum
