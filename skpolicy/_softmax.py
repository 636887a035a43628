"""Softmax over the alternatives of each situation, in utility space.

These functions know nothing about features or coefficients: they map utilities
``u`` (one per row of a canonical block) to log-probabilities, probabilities and the
per-situation log-sum-exp, stably for utilities of any size.
"""

import numpy as np

from ._segments import RegularSegments


def segment_logsumexp(u, segments):
    """Log-sum-exp of the utilities of each situation, and the probabilities.

    Each situation is shifted by its own maximum ``m_s`` before exponentiating, so
    its largest term is exactly ``exp(0) = 1`` and its sum ``t_s >= 1``. This
    guarantees, in floating point and not only in exact arithmetic, that
    ``lse_s = log(t_s) + m_s >= u_sa`` for every row (so ``u - lse <= 0``: a
    log-probability never exceeds 0, and ``exp`` of it, used as a propensity, never
    exceeds 1) and that every probability is at most 1. Subtracting one maximum for
    all situations instead rounds ``log(t_s)`` for situations far below it and can
    leave ``lse_s`` a few ulps under their largest utility.

    Parameters
    ----------
    u : ndarray of shape (n_rows,), float64
        Utilities, rows grouped by situation.
    segments : Segments
        The situations.

    Returns
    -------
    lse : ndarray of shape (n_segments,)
        ``log(sum(exp(u)))`` over each situation's rows.
    proba : ndarray of shape (n_rows,)
        ``exp(u - lse)`` on each row: the softmax probabilities.
    """
    if u.size == 0:
        return np.zeros(segments.n_segments), np.zeros(0)
    top = u.max()
    if not np.isfinite(top):
        raise FloatingPointError("non-finite utility; check the features and coef_")
    if isinstance(segments, RegularSegments):
        # Equal-sized situations: a (n_segments, size) view, broadcast against
        # per-situation values instead of repeating them on every row.
        grid = u.reshape(-1, segments.size)
        shift = _row_max(grid)
        expu = np.exp(grid - shift[:, None])
        # A BLAS matrix-vector product sums the short rows several times faster
        # than expu.sum(axis=1); a sum of non-negative terms in any order is still
        # at least its largest term, 1.
        total = expu @ np.ones(segments.size)
        expu /= total[:, None]
        return np.log(total) + shift, expu.reshape(-1)
    shift = segments.max(u)
    expu = np.exp(u - segments.expand(shift))
    total = segments.sum(expu)
    expu /= segments.expand(total)
    return np.log(total) + shift, expu


# Up to this many alternatives, the row maxima of a (n, size) grid are fastest as
# size - 1 elementwise maxima of its columns: numpy's reduction along a short last
# axis is 4 to 50 times slower (measured for size 2 to 10 on 10^3 to 10^5 rows);
# for long rows the reduction wins.
_COLUMN_LOOP_MAX_SIZE = 32


def _row_max(grid):
    """Maximum of each row of a 2-D array."""
    size = grid.shape[1]
    if size > _COLUMN_LOOP_MAX_SIZE:
        return grid.max(axis=1)
    top = grid[:, 0].copy()
    for j in range(1, size):
        np.maximum(top, grid[:, j], out=top)
    return top


def segment_log_softmax(u, segments):
    """Log-probabilities ``u - lse`` of each row, shape (n_rows,); all <= 0."""
    lse, _ = segment_logsumexp(u, segments)
    return u - segments.expand(lse)
