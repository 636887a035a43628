r"""Sampling actions and rankings from a softmax policy, with their propensities.

A logging system that runs a stochastic policy must record, for every action it
plays, the probability with which it played it (the *propensity*): off-policy
evaluation and learning (:mod:`skpolicy.ope`) divide by it. These functions
sample from the logits (utilities) :math:`u_{sa}` of a softmax policy, such as
``SoftmaxPolicy.decision_function(X)``, and return the exact probability of
what they drew:

- :func:`softmax_probabilities`: the action probabilities
  :math:`(1-\varepsilon)\,\mathrm{softmax}(u_s / T) + \varepsilon\,
  \mathrm{Uniform}(C(s))` with temperature :math:`T` and :math:`\varepsilon`-mixing
  with the uniform policy over the available actions :math:`C(s)`;
- :func:`sample_actions`: one or several independent draws per state, with
  their propensities;
- :func:`sample_rankings`: top-k rankings without replacement under the
  Plackett–Luce model (the ranking form of the softmax), drawn by the Gumbel
  top-k trick, with the probability of each ranking;
- :func:`plackett_luce_log_proba`: the log-probability of given rankings.

A logit of ``-inf`` marks an unavailable action: it never gets probability,
whatever the temperature or :math:`\varepsilon`. To sample from probabilities
``p`` rather than logits, pass ``np.log(p)`` (zeros become ``-inf``).

References
----------
- Plackett, R. L. (1975). The analysis of permutations. Applied Statistics;
  Luce, R. D. (1959). Individual Choice Behavior.
- Kool, W., van Hoof, H. and Welling, M. (2019). Stochastic beams and where to
  find them: the Gumbel-top-k trick for sampling sequences without replacement.
  ICML.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "plackett_luce_log_proba",
    "sample_actions",
    "sample_rankings",
    "softmax_probabilities",
]

# Largest number of (row, draw, action) comparisons held in memory at once.
_CHUNK = 2**22


def _check_logits(logits):
    u = np.asarray(logits, dtype=float)
    if u.ndim != 2:
        raise ValueError(
            f"`logits` must be 2-D (n_states, n_actions), got shape {u.shape}; "
            "use logits.reshape(1, -1) for a single state."
        )
    if u.shape[1] == 0:
        raise ValueError("`logits` has no actions (0 columns).")
    if np.isnan(u).any() or np.isposinf(u).any():
        bad = np.flatnonzero((np.isnan(u) | np.isposinf(u)).any(axis=1))
        raise ValueError(
            "`logits` must be finite, or -inf for an unavailable action; rows "
            f"{bad[:5].tolist()} hold NaN or +inf."
        )
    available = np.isfinite(u)
    empty = ~available.any(axis=1)
    if empty.any():
        raise ValueError(
            f"Rows {np.flatnonzero(empty)[:5].tolist()} of `logits` have no available "
            "action (every logit is -inf)."
        )
    return u, available


def _check_temperature(temperature, allow_zero=True):
    if (
        not isinstance(temperature, numbers.Real)
        or isinstance(temperature, bool)
        or not np.isfinite(temperature)
        or temperature < 0
        or (temperature == 0 and not allow_zero)
    ):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"`temperature` must be a finite number {bound}, got {temperature!r}."
        )
    return float(temperature)


def _check_epsilon(epsilon):
    if (
        not isinstance(epsilon, numbers.Real)
        or isinstance(epsilon, bool)
        or not 0 <= epsilon <= 1
    ):
        raise ValueError(f"`epsilon` must be in [0, 1], got {epsilon!r}.")
    return float(epsilon)


def _scaled(u, temperature):
    """(u - max_s u) / T: non-positive, -inf where unavailable, never +inf."""
    with np.errstate(over="ignore"):  # a huge negative gap may round to -inf: fine
        return (u - u.max(axis=1, keepdims=True)) / temperature


def _softmax(u, available, temperature, epsilon):
    if temperature == 0:
        best = u == u.max(axis=1, keepdims=True)
        p = best / best.sum(axis=1, keepdims=True)
    else:
        e = np.exp(_scaled(u, temperature))
        p = e / e.sum(axis=1, keepdims=True)
    if epsilon > 0:
        p = (1.0 - epsilon) * p + epsilon * (
            available / available.sum(axis=1, keepdims=True)
        )
    return p


def softmax_probabilities(logits, temperature=1.0, epsilon=0.0):
    r"""Action probabilities of a softmax policy with temperature and ε-mixing.

    .. math::

        p(a|s) = (1 - \varepsilon)\, \frac{\exp(u_{sa}/T)}
            {\sum_{k \in C(s)} \exp(u_{sk}/T)}
            + \varepsilon\, \frac{1[a \in C(s)]}{|C(s)|},

    where :math:`C(s)` holds the actions with a finite logit. :math:`T = 0` is the
    greedy limit: uniform over the actions of largest logit (ε-greedy with
    :math:`\varepsilon > 0`).

    Parameters
    ----------
    logits : array-like of shape (n_states, n_actions)
        Utilities :math:`u_{sa}`; ``-inf`` for an unavailable action.
    temperature : float, default=1.0
        :math:`T \ge 0`; larger is closer to uniform.
    epsilon : float, default=0.0
        Weight :math:`\varepsilon \in [0, 1]` of the uniform policy over the
        available actions.

    Returns
    -------
    proba : ndarray of shape (n_states, n_actions)
        Rows sum to 1; exactly 0 on unavailable actions.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.sampling import softmax_probabilities
    >>> logits = np.array([[0.0, np.log(3.0), -np.inf]])
    >>> softmax_probabilities(logits)
    array([[0.25, 0.75, 0.  ]])
    >>> softmax_probabilities(logits, epsilon=0.2)
    array([[0.3, 0.7, 0. ]])
    """
    u, available = _check_logits(logits)
    return _softmax(
        u, available, _check_temperature(temperature), _check_epsilon(epsilon)
    )


def sample_actions(
    logits, n_draws=None, *, temperature=1.0, epsilon=0.0, random_state=None
):
    """Draw actions from a softmax policy and return their propensities.

    Each draw is independent (with replacement) from
    :func:`softmax_probabilities` ``(logits, temperature, epsilon)``, by inverting
    its cumulative distribution with one uniform number per draw. Unavailable
    actions (and actions whose probability underflows to 0) are never drawn.

    Parameters
    ----------
    logits : array-like of shape (n_states, n_actions)
        Utilities; ``-inf`` for an unavailable action.
    n_draws : int or None, default=None
        None draws one action per state and returns 1-D arrays; an int draws that
        many per state and returns arrays of shape (n_states, n_draws).
    temperature : float, default=1.0
        Softmax temperature :math:`T \\ge 0` (0: greedy, ties broken uniformly).
    epsilon : float, default=0.0
        Weight of the uniform policy over the available actions.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    actions : ndarray of int of shape (n_states,) or (n_states, n_draws)
        Column indices of the drawn actions (map them to labels with
        ``policy.classes_[actions]``).
    propensities : ndarray of shape (n_states,) or (n_states, n_draws)
        Probability with which each drawn action was drawn: what a logging
        system records as ``pscore``.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.sampling import sample_actions
    >>> logits = np.array([[0.0, np.log(3.0), -np.inf]] * 4)
    >>> actions, propensities = sample_actions(logits, random_state=0)
    >>> actions.shape, set(actions.tolist()) <= {0, 1}
    ((4,), True)
    >>> bool(np.allclose(propensities, np.where(actions == 0, 0.25, 0.75)))
    True
    """
    u, available = _check_logits(logits)
    p = _softmax(u, available, _check_temperature(temperature), _check_epsilon(epsilon))
    if n_draws is None:
        draws, squeeze = 1, True
    elif (
        isinstance(n_draws, numbers.Integral)
        and not isinstance(n_draws, bool)
        and n_draws >= 1
    ):
        draws, squeeze = int(n_draws), False
    else:
        raise ValueError(f"`n_draws` must be None or an integer >= 1, got {n_draws!r}.")
    rng = check_random_state(random_state)
    n, J = p.shape
    cdf = np.cumsum(p, axis=1)
    # Close the distribution exactly at its last positive-probability action, so that
    # a rounding error in the cumulative sum can never select past it.
    last = J - 1 - np.argmax(p[:, ::-1] > 0, axis=1)
    cdf[np.arange(J) >= last[:, None]] = 2.0
    uniform = rng.random_sample((n, draws))
    actions = np.empty((n, draws), dtype=np.intp)
    step = max(1, _CHUNK // (draws * J))
    for start in range(0, n, step):
        stop = min(n, start + step)
        # index of the first action whose cumulative probability exceeds the draw
        actions[start:stop] = (
            cdf[start:stop, None, :] <= uniform[start:stop, :, None]
        ).sum(axis=2)
    propensities = np.take_along_axis(p, actions, axis=1)
    if squeeze:
        return actions[:, 0], propensities[:, 0]
    return actions, propensities


def _log_perm(m, k):
    """log(m! / (m - k)!): the number of ordered k-subsets of m items."""
    return np.sum(np.log(m[:, None] - np.arange(k)[None, :]), axis=1)


def _pl_log_proba(z, rankings):
    """Plackett–Luce log-probability of ``rankings`` for scaled logits ``z``."""
    n, k = rankings.shape
    rows = np.arange(n)
    remaining = np.isfinite(z)
    log_p = np.zeros(n)
    for t in range(k):  # a loop over positions, not over states
        chosen = rankings[:, t]
        zr = np.where(remaining, z, -np.inf)
        m = zr.max(axis=1)
        lse = m + np.log(np.exp(zr - m[:, None]).sum(axis=1))
        log_p += z[rows, chosen] - lse
        remaining[rows, chosen] = False
    return log_p


def _check_rankings(rankings, available):
    r = np.asarray(rankings)
    n, J = available.shape
    if r.ndim != 2 or r.shape[0] != n:
        raise ValueError(
            f"`rankings` must be 2-D with one row per state ({n}), got shape {r.shape}."
        )
    if r.dtype.kind not in "iu":
        raise ValueError(f"`rankings` must hold integer action indices, got {r.dtype}.")
    if r.shape[1] == 0 or r.shape[1] > J:
        raise ValueError(f"`rankings` must have 1..{J} columns, got {r.shape[1]}.")
    if ((r < 0) | (r >= J)).any():
        raise ValueError(f"`rankings` entries must lie in 0..{J - 1}.")
    sorted_r = np.sort(r, axis=1)
    dup = (sorted_r[:, 1:] == sorted_r[:, :-1]).any(axis=1)
    if dup.any():
        raise ValueError(
            f"Rankings {np.flatnonzero(dup)[:5].tolist()} repeat an action (a "
            "ranking lists distinct actions)."
        )
    unavailable = ~np.take_along_axis(available, r, axis=1)
    if unavailable.any():
        raise ValueError(
            f"Rankings {np.flatnonzero(unavailable.any(axis=1))[:5].tolist()} hold "
            "an unavailable action (logit -inf)."
        )
    return r.astype(np.intp)


def plackett_luce_log_proba(logits, rankings, *, temperature=1.0, epsilon=0.0):
    r"""Log-probability of top-k rankings under the Plackett–Luce model.

    .. math::

        P(r_1, \dots, r_k | s) = (1-\varepsilon) \prod_{t=1}^{k}
            \frac{\exp(u_{s r_t}/T)}{\sum_{j \in C(s) \setminus \{r_1..r_{t-1}\}}
            \exp(u_{sj}/T)}
            + \varepsilon\, \frac{(m_s - k)!}{m_s!},

    the softmax applied position after position to the actions not yet ranked;
    with :math:`\varepsilon > 0`, mixed with the uniform distribution over the
    ordered k-subsets of the :math:`m_s = |C(s)|` available actions (as
    :func:`sample_rankings` draws).

    Parameters
    ----------
    logits : array-like of shape (n_states, n_actions)
        Utilities; ``-inf`` for an unavailable action.
    rankings : array-like of int of shape (n_states, k)
        Distinct available action indices per row, best first.
    temperature : float, default=1.0
        :math:`T > 0`.
    epsilon : float, default=0.0
        Weight of the uniform ranking distribution.

    Returns
    -------
    log_proba : ndarray of shape (n_states,)

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.sampling import plackett_luce_log_proba
    >>> logits = np.log([[1.0, 2.0, 1.0]])
    >>> np.exp(plackett_luce_log_proba(logits, [[1, 0]]))  # 2/4 * 1/2
    array([0.25])
    """
    u, available = _check_logits(logits)
    temperature = _check_temperature(temperature, allow_zero=False)
    epsilon = _check_epsilon(epsilon)
    r = _check_rankings(rankings, available)
    return _mix_log_proba(
        _pl_log_proba(_scaled(u, temperature), r), available, r.shape[1], epsilon
    )


def _mix_log_proba(log_pl, available, k, epsilon):
    if epsilon == 0:
        return log_pl
    log_uniform = -_log_perm(available.sum(axis=1), k)
    if epsilon == 1:
        return log_uniform
    return np.logaddexp(np.log1p(-epsilon) + log_pl, np.log(epsilon) + log_uniform)


def sample_rankings(logits, k, *, temperature=1.0, epsilon=0.0, random_state=None):
    r"""Draw top-k rankings without replacement (Plackett–Luce) with their probability.

    The Gumbel top-k trick: adding independent standard Gumbel noise to the
    scaled logits :math:`u_{sa}/T` and sorting gives a ranking whose top k follow
    the Plackett–Luce model, i.e. softmax draws without replacement (the first
    action is a softmax draw, the second a softmax draw among the rest, ...). With
    :math:`\varepsilon > 0` a row is, with probability :math:`\varepsilon`, ranked
    uniformly at random instead. The returned log-probabilities are exact for this
    mixture (see :func:`plackett_luce_log_proba`).

    Parameters
    ----------
    logits : array-like of shape (n_states, n_actions)
        Utilities; ``-inf`` for an unavailable action.
    k : int
        Length of the rankings; at most the number of available actions of every
        state.
    temperature : float, default=1.0
        :math:`T > 0`.
    epsilon : float, default=0.0
        Probability of ranking a state's available actions uniformly at random.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    rankings : ndarray of int of shape (n_states, k)
        Action indices, best first.
    log_proba : ndarray of shape (n_states,)
        Log-probability of each ranking (of its ordered top k); ``exp`` of it is
        the propensity of the slate.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.sampling import sample_rankings
    >>> logits = np.array([[0.0, 1.0, -np.inf, 2.0]] * 3)
    >>> rankings, log_proba = sample_rankings(logits, 2, random_state=0)
    >>> rankings.shape, bool(np.all(rankings != 2))
    ((3, 2), True)
    """
    u, available = _check_logits(logits)
    temperature = _check_temperature(temperature, allow_zero=False)
    epsilon = _check_epsilon(epsilon)
    n, J = u.shape
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` must be an integer >= 1, got {k!r}.")
    n_available = available.sum(axis=1)
    short = n_available < k
    if short.any():
        raise ValueError(
            f"k={k} exceeds the number of available actions of rows "
            f"{np.flatnonzero(short)[:5].tolist()} "
            f"({n_available[short][:5].tolist()})."
        )
    rng = check_random_state(random_state)
    z = _scaled(u, temperature)
    gumbel = rng.gumbel(size=(n, J))
    keys = z + gumbel  # -inf stays -inf: unavailable actions are never ranked
    if epsilon > 0:
        uniform_rows = rng.random_sample(n) < epsilon
        keys[uniform_rows] = np.where(
            available[uniform_rows], gumbel[uniform_rows], -np.inf
        )
    top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1, kind="stable")
    rankings = np.take_along_axis(top, order, axis=1)
    log_proba = _mix_log_proba(_pl_log_proba(z, rankings), available, k, epsilon)
    return rankings, log_proba
