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
  eight independent accumulators (four leave the loop bound by the FMA latency), or
  from 16 features on in 4 x 4 tiles (sixteen accumulators, one load per two FMAs:
  1.5-2 times faster there, slower with fewer features because of the padding).
- Situation features (:func:`chunk_sums_z`) add a feature-major copy of the
  window's ``z_s`` and ``(alternative, situation)`` grids of probabilities and
  residuals; their Hessian blocks are products of such buffers over the window's
  situations in 4 x 4 tiles (:func:`_gemm_nt`, 18-22 GFMA/s on one core, near the
  machine's peak), never ``e_a (x) z_s``.
- The features arrive as their bytes (a read-only uint8 view) with a float32 flag,
  and every array argument is read-only: each kernel has exactly one compiled
  variant, whatever the dtype or the writeability of the caller's arrays (each
  variant costs seconds of compilation on a cold cache).
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
def _syrk_lower4(Y, n, hess):
    """``hess += Y[:, :n] @ Y[:, :n].T`` on the lower triangle (rows a multiple of 4).

    4 x 4 tiles (as :func:`_gemm_nt`): 1.5 to 2 times faster than
    :func:`_syrk_lower` from 30 rows on; with fewer rows the padding to 4 costs more
    than it saves (see ``_engines.hessian_rows``).
    """
    for a in range(0, Y.shape[0], 4):
        a0, a1, a2, a3 = _ix(a), _ix(a + 1), _ix(a + 2), _ix(a + 3)
        for b in range(0, a + 1, 4):
            b0, b1, b2, b3 = _ix(b), _ix(b + 1), _ix(b + 2), _ix(b + 3)
            h00 = h01 = h02 = h03 = 0.0
            h10 = h11 = h12 = h13 = 0.0
            h20 = h21 = h22 = h23 = 0.0
            h30 = h31 = h32 = h33 = 0.0
            for i_ in range(n):
                i = _ix(i_)
                x0 = Y[a0, i]
                x1 = Y[a1, i]
                x2 = Y[a2, i]
                x3 = Y[a3, i]
                y0 = Y[b0, i]
                y1 = Y[b1, i]
                y2 = Y[b2, i]
                y3 = Y[b3, i]
                h00 += x0 * y0
                h01 += x0 * y1
                h02 += x0 * y2
                h03 += x0 * y3
                h10 += x1 * y0
                h11 += x1 * y1
                h12 += x1 * y2
                h13 += x1 * y3
                h20 += x2 * y0
                h21 += x2 * y1
                h22 += x2 * y2
                h23 += x2 * y3
                h30 += x3 * y0
                h31 += x3 * y1
                h32 += x3 * y2
                h33 += x3 * y3
            hess[a0, b0] += h00
            hess[a0, b1] += h01
            hess[a0, b2] += h02
            hess[a0, b3] += h03
            hess[a1, b0] += h10
            hess[a1, b1] += h11
            hess[a1, b2] += h12
            hess[a1, b3] += h13
            hess[a2, b0] += h20
            hess[a2, b1] += h21
            hess[a2, b2] += h22
            hess[a2, b3] += h23
            hess[a3, b0] += h30
            hess[a3, b1] += h31
            hess[a3, b2] += h32
            hess[a3, b3] += h33


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _syrk(Y, n, hess):
    """``hess += Y Y'`` (lower triangle) with the tiles that suit the row count."""
    if Y.shape[0] >= 16:
        _syrk_lower4(Y, n, hess)
    else:
        _syrk_lower(Y, n, hess)


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _gather(X, wy, first, sizes, S, W, Jb, Xt, wyb):
    """Copy a window's rows into ``Xt[k, j * W + s]`` and ``wyb`` (zero padding).

    Compiled for float32 and float64 features (the caller views its bytes).
    """
    K = X.shape[1]
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
        for j in range(Jb):
            i = _ix(j * W + s)
            wyb[i] = 0.0
            for k in range(K):
                Xt[_ix(k), i] = 0.0


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def chunk_sums(
    Xb, x32, offsets, wn, wy, coef, s_start, s_stop, hessian, window, grad, hess
):
    """Loss, gradient and Hessian sums over situations ``s_start:s_stop``.

    Parameters
    ----------
    Xb : ndarray of shape (n_rows, n_features * itemsize), uint8, C-contiguous
        The bytes of the (n_rows, n_features) features, float32 if ``x32`` else
        float64: one compiled variant serves both.
    x32 : bool
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
    hess : ndarray of shape (n_hess, n_hess), float64
        ``n_hess = _engines.hessian_rows(n_features)``. Its lower triangle is
        incremented by the Hessian sum when ``hessian``.

    Returns
    -------
    loss : float
        ``sum_s wn_s lse_s - sum_i wy_i u_i``.
    u_sum : float
        Sum of the utilities: non-finite iff some utility is.
    """
    K = Xb.shape[1] // (4 if x32 else 8)
    K2 = hess.shape[0]
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
        if x32:
            _gather(Xb.view(np.float32), wy, first, sizes, S, W, Jb, Xt, wyb)
        else:
            _gather(Xb.view(np.float64), wy, first, sizes, S, W, Jb, Xt, wyb)
        for s in range(S, W):
            wns[_ix(s)] = 0.0

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
            _syrk(Xt, nb, hess)
        s0 = s1
    return loss, u_sum


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _gemm_nt(A, B, n, out):
    """``out += A[:, :n] @ B[:, :n].T`` (row counts of A and B multiples of 4).

    4 x 4 register tiles: sixteen independent accumulators keep both FMA units
    busy and load one operand per two FMAs (measured 18-22 GFMA/s on one core of
    the benchmark machine, against 5-13 for 2 x 2 tiles).
    """
    for a in range(0, A.shape[0], 4):
        a0, a1, a2, a3 = _ix(a), _ix(a + 1), _ix(a + 2), _ix(a + 3)
        for b in range(0, B.shape[0], 4):
            b0, b1, b2, b3 = _ix(b), _ix(b + 1), _ix(b + 2), _ix(b + 3)
            h00 = h01 = h02 = h03 = 0.0
            h10 = h11 = h12 = h13 = 0.0
            h20 = h21 = h22 = h23 = 0.0
            h30 = h31 = h32 = h33 = 0.0
            for i_ in range(n):
                i = _ix(i_)
                x0 = A[a0, i]
                x1 = A[a1, i]
                x2 = A[a2, i]
                x3 = A[a3, i]
                y0 = B[b0, i]
                y1 = B[b1, i]
                y2 = B[b2, i]
                y3 = B[b3, i]
                h00 += x0 * y0
                h01 += x0 * y1
                h02 += x0 * y2
                h03 += x0 * y3
                h10 += x1 * y0
                h11 += x1 * y1
                h12 += x1 * y2
                h13 += x1 * y3
                h20 += x2 * y0
                h21 += x2 * y1
                h22 += x2 * y2
                h23 += x2 * y3
                h30 += x3 * y0
                h31 += x3 * y1
                h32 += x3 * y2
                h33 += x3 * y3
            out[a0, b0] += h00
            out[a0, b1] += h01
            out[a0, b2] += h02
            out[a0, b3] += h03
            out[a1, b0] += h10
            out[a1, b1] += h11
            out[a1, b2] += h12
            out[a1, b3] += h13
            out[a2, b0] += h20
            out[a2, b1] += h21
            out[a2, b2] += h22
            out[a2, b3] += h23
            out[a3, b0] += h30
            out[a3, b1] += h31
            out[a3, b2] += h32
            out[a3, b3] += h33


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def chunk_sums_z(
    Xb,
    x32,
    Z,
    codes,
    free,
    offsets,
    wn,
    wy,
    beta,
    gamma,
    s_start,
    s_stop,
    hessian,
    window,
    grad,
    hxx,
    hxz,
    hzz,
):
    """Sums of the model with situation features over situations ``s_start:s_stop``.

    Utilities ``u_i = x_i @ beta + z_s @ gamma[a_i]`` (see :mod:`._linear_loss`).
    The windows are those of :func:`chunk_sums`, plus ``Zt[p, s]`` (feature-major
    situation features) and the ``(J, W)`` grids of probabilities and residuals
    of every (alternative, situation). ``e_a (x) z_s`` is never formed:

    - gradient of ``gamma_f``: ``sum_s r_sf z_s``;
    - Hessian ``gamma_f``-``gamma_g`` block ``sum_s c_s pi_sf (delta_fg - pi_sg)
      z_s z_s'`` (``c_s = w_s n_s``; the centred covariance of ``e_a (x) z_s``):
      all of them at once as one product ``M1 @ M2'`` with rows ``M1[(f, g), s] =
      c_s pi_sf (delta_fg - pi_sg)`` for ``f >= g`` and ``M2[(p, q), s] = z_sp
      z_sq`` for ``p >= q``, a quarter of the multiply-adds of ``A' A`` with
      ``A = pi (x) z`` (and ``1 - pi_sf`` is summed from the other alternatives'
      probabilities, so it keeps its digits when ``pi_sf`` is close to 1);
    - Hessian ``beta``-``gamma_f`` block: ``sum_s (q_sf xc_sf) z_s'``, the product
      of the centred, weighted feature rows of each free alternative with ``Zt``.

    Parameters
    ----------
    Xb, x32 : the bytes of the (n_rows, K) features, as for :func:`chunk_sums`
        (K >= 0)
    Z : ndarray of shape (n_situations, P), float64, C-contiguous
    codes : ndarray of shape (n_rows,) or (0,), int64
        Alternative of every row; empty when every situation has the ``J`` rows
        ``0..J-1`` in order.
    free : ndarray of shape (F,), int64
        The alternatives whose ``gamma`` is estimated.
    offsets, wn, wy : as for :func:`chunk_sums`
    beta : ndarray of shape (K,), float64
    gamma : ndarray of shape (J, P), float64
        Zero in the reference's row.
    s_start, s_stop, hessian, window : as for :func:`chunk_sums`
    grad : ndarray of shape (K + F * P,), float64
        Incremented by the gradient sum (``[beta, gamma[free[0]], ...]``).
    hxx : ndarray of shape (_engines.hessian_rows(K),) * 2
        The lower triangle is incremented.
    hxz : ndarray of shape (F * K rounded up to 4, P rounded up to 4)
        ``hxz[f * K + k, p]``: the ``beta_k``-``gamma_fp`` entry.
    hzz : ndarray of shape (F (F + 1) / 2 and P (P + 1) / 2, both rounded up to 4)
        ``hzz[f (f + 1) / 2 + g, p (p + 1) / 2 + q]`` for ``f >= g``, ``p >= q``.
        Without ``hessian``, ``hxz`` may have no rows and ``hzz`` no rows and
        columns (the Hessian buffers are sized by them).

    Returns
    -------
    loss, u_sum : float
        As for :func:`chunk_sums`.
    """
    K = Xb.shape[1] // (4 if x32 else 8)
    P = Z.shape[1]
    J = gamma.shape[0]
    F = free.shape[0]
    K4 = hxx.shape[0]
    regular = codes.shape[0] == 0
    W = window
    WP = W + _PAD
    cap = 0
    Xt = np.zeros((K4, _PAD))
    u = np.empty(0)
    e = np.empty(0)
    t = np.empty(0)
    e_bits = e.view(np.int64)
    t_bits = t.view(np.int64)
    wyb = np.empty(0)
    r = np.empty(0)
    sq = np.empty(0)
    cb = np.empty(0, dtype=np.int64)
    Zt = np.zeros((hxz.shape[1], WP))
    UZ = np.empty((J, W))
    PG = np.zeros((J, W))
    # Rows rounded up to 4 for _gemm_nt (the extra rows stay 0).
    J4 = J + (-J) % 4
    RG = np.zeros((J4, WP))
    GZ = np.zeros((J4, hxz.shape[1]))
    IG = np.empty((J, W), dtype=np.int64)
    M1 = np.zeros((hzz.shape[0], WP))
    M2 = np.zeros((hzz.shape[1], WP))
    V = np.zeros((hxz.shape[0], WP))
    m = np.empty(W)
    tot = np.empty(W)
    xb = np.empty(W)
    om = np.empty(W)
    wns = np.empty(W)
    sizes = np.empty(W, dtype=np.int64)
    first = np.empty(W, dtype=np.int64)
    loss = 0.0
    u_sum = 0.0
    s0 = s_start
    while s0 < s_stop:
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
            Xt = np.zeros((K4, cap + _PAD))
            u = np.empty(cap)
            e = np.empty(cap)
            t = np.empty(cap)
            wyb = np.empty(cap)
            r = np.empty(cap)
            sq = np.empty(cap)
            cb = np.empty(cap, dtype=np.int64)
            e_bits = e.view(np.int64)
            t_bits = t.view(np.int64)

        # Copy the window: rows (as chunk_sums), their alternatives, Z.
        if x32:
            _gather(Xb.view(np.float32), wy, first, sizes, S, W, Jb, Xt, wyb)
        else:
            _gather(Xb.view(np.float64), wy, first, sizes, S, W, Jb, Xt, wyb)
        for s in range(S, W):
            wns[_ix(s)] = 0.0
        if not regular:
            for s in range(S):
                r0 = first[_ix(s)]
                for j in range(sizes[_ix(s)]):
                    cb[_ix(j * W + s)] = codes[_ix(r0 + j)]
        for p in range(P):
            for s in range(S):
                Zt[_ix(p), _ix(s)] = Z[_ix(s0 + s), _ix(p)]
            for s in range(S, W):
                Zt[_ix(p), _ix(s)] = 0.0

        # Utilities: UZ[a, s] = z_s @ gamma[a] for every alternative, then each
        # row adds its alternative's.
        for a in range(J):
            for s in range(W):
                UZ[_ix(a), _ix(s)] = 0.0
            for p in range(P):
                c = gamma[_ix(a), _ix(p)]
                for s in range(W):
                    UZ[_ix(a), _ix(s)] += c * Zt[_ix(p), _ix(s)]
        for i_ in range(nb):
            u[_ix(i_)] = 0.0
        for k in range(K):
            c = beta[_ix(k)]
            for i_ in range(nb):
                i = _ix(i_)
                u[i] += c * Xt[_ix(k), i]
        if regular:
            for j in range(Jb):
                for s in range(W):
                    u[_ix(j * W + s)] += UZ[_ix(j), _ix(s)]
        else:
            for s in range(S):
                for j in range(sizes[_ix(s)]):
                    i = _ix(j * W + s)
                    u[i] += UZ[_ix(cb[i]), _ix(s)]
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

        for j in range(Jb):
            for s in range(W):
                i = _ix(j * W + s)
                p = e[i] * tot[_ix(s)]
                e[i] = p
                q = wns[_ix(s)] * p
                r[i] = q - wyb[i]
                if hessian:
                    sq[i] = math.sqrt(q)

        # The (alternative, situation) grids: probability, residual, row.
        if regular:
            for j in range(Jb):
                for s in range(W):
                    i = _ix(j * W + s)
                    PG[_ix(j), _ix(s)] = e[i]
                    RG[_ix(j), _ix(s)] = r[i]
                    IG[_ix(j), _ix(s)] = j * W + s
        else:
            for a in range(J):
                for s in range(W):
                    PG[_ix(a), _ix(s)] = 0.0
                    RG[_ix(a), _ix(s)] = 0.0
                    IG[_ix(a), _ix(s)] = -1
            for s in range(S):
                for j in range(sizes[_ix(s)]):
                    i = _ix(j * W + s)
                    a = _ix(cb[i])
                    PG[a, _ix(s)] = e[i]
                    RG[a, _ix(s)] = r[i]
                    IG[a, _ix(s)] = j * W + s

        # Gradient of gamma_a: sum_s r_sa z_s (for every a, the free ones kept).
        _gemm_nt(RG, Zt, W, GZ)

        if not hessian:
            for k in range(K):
                g = 0.0
                for i_ in range(nb):
                    i = _ix(i_)
                    g += r[i] * Xt[_ix(k), i]
                grad[_ix(k)] += g
            s0 = s1
            continue

        if K:
            # As chunk_sums: centre on xbar_s, scale by sqrt(q).
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
            _syrk(Xt, nb, hxx)
            # V[f * K + k, s] = q_sf xc_sfk (0 where f is unavailable).
            for f in range(F):
                a = _ix(free[_ix(f)])
                for s in range(W):
                    i = IG[a, _ix(s)]
                    if i >= 0:
                        om[_ix(s)] = sq[_ix(i)]
                    else:
                        om[_ix(s)] = 0.0
                for k in range(K):
                    row = _ix(f * K + k)
                    for s in range(W):
                        i = IG[a, _ix(s)]
                        if i >= 0:
                            V[row, _ix(s)] = om[_ix(s)] * Xt[_ix(k), _ix(i)]
                        else:
                            V[row, _ix(s)] = 0.0
            _gemm_nt(V, Zt, W, hxz)

        # M2[(p, q), s] = z_sp z_sq and M1[(f, g), s] = c_s pi_sf (delta_fg - pi_sg).
        for p in range(P):
            for q in range(p + 1):
                row = _ix(p * (p + 1) // 2 + q)
                for s in range(W):
                    M2[row, _ix(s)] = Zt[_ix(p), _ix(s)] * Zt[_ix(q), _ix(s)]
        for f in range(F):
            a = _ix(free[_ix(f)])
            # 1 - pi_sf, summed from the other alternatives.
            for s in range(W):
                om[_ix(s)] = 0.0
            for b in range(J):
                if b != a:
                    for s in range(W):
                        om[_ix(s)] += PG[_ix(b), _ix(s)]
            for s in range(W):
                xb[_ix(s)] = wns[_ix(s)] * PG[a, _ix(s)]
            for g in range(f):
                b = _ix(free[_ix(g)])
                row = _ix(f * (f + 1) // 2 + g)
                for s in range(W):
                    M1[row, _ix(s)] = -xb[_ix(s)] * PG[b, _ix(s)]
            row = _ix(f * (f + 1) // 2 + f)
            for s in range(W):
                M1[row, _ix(s)] = xb[_ix(s)] * om[_ix(s)]
        _gemm_nt(M1, M2, W, hzz)
        s0 = s1
    for f in range(F):
        a = _ix(free[_ix(f)])
        for p in range(P):
            grad[_ix(K + f * P + p)] += GZ[a, _ix(p)]
    return loss, u_sum
