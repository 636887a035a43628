"""Softmax over the alternatives of each situation, in utility space.

These functions know nothing about features or coefficients: they map utilities
``u`` (one per row of a canonical block) to log-probabilities, probabilities and the
per-situation log-sum-exp, stably for utilities of any size.
"""

import numpy as np

# exp(-_SAFE_RANGE) is still a normal float64 (the smallest is about exp(-708)), so
# when all utilities of a chunk lie within this range of the chunk's maximum we may
# subtract that one maximum instead of every situation's own: no segment then sums
# to zero or overflows, and we save a segment-wise reduction.
_SAFE_RANGE = 600.0


def segment_logsumexp(u, segments):
    """Log-sum-exp of the utilities of each situation, and the probabilities.

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
    if top - u.min() < _SAFE_RANGE:
        shift = top
        expu = np.exp(u - top)
    else:
        shift = segments.max(u)
        expu = np.exp(u - segments.expand(shift))
    total = segments.sum(expu)
    lse = np.log(total) + shift
    expu /= segments.expand(total)
    return lse, expu


def segment_log_softmax(u, segments):
    """Log-probabilities ``u - lse`` of each row, shape (n_rows,)."""
    lse, _ = segment_logsumexp(u, segments)
    return u - segments.expand(lse)
