"""Sampling actions and rankings with propensities: skpolicy.sampling."""

from itertools import permutations

import numpy as np
import pytest
from scipy import stats

from skpolicy.sampling import (
    plackett_luce_log_proba,
    sample_actions,
    sample_rankings,
    softmax_probabilities,
)

LOGITS = np.array(
    [
        [0.5, -1.0, 2.0, -np.inf],
        [-np.inf, 0.0, 0.0, 1.0],
        [3.0, -np.inf, -np.inf, -np.inf],
    ]
)


def reference_probabilities(u, T, eps):
    """(1 - eps) softmax(u / T) + eps uniform over the finite entries, row by row."""
    out = np.zeros_like(u)
    for i, row in enumerate(u):
        avail = np.isfinite(row)
        e = np.zeros_like(row)
        e[avail] = np.exp(row[avail] / T)
        out[i] = (1 - eps) * e / e.sum() + eps * avail / avail.sum()
    return out


def within_band(count, n, p, level=1e-6):
    """count is inside the central (1 - level) binomial interval of (n, p)."""
    low, high = stats.binom.interval(1 - level, n, p)
    return low <= count <= high


# --------------------------------------------------------------- probabilities


@pytest.mark.parametrize("T, eps", [(1.0, 0.0), (0.5, 0.0), (3.0, 0.25), (1.0, 1.0)])
def test_softmax_probabilities_exact(T, eps):
    p = softmax_probabilities(LOGITS, temperature=T, epsilon=eps)
    np.testing.assert_allclose(p, reference_probabilities(LOGITS, T, eps), rtol=1e-14)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    assert (p[~np.isfinite(LOGITS)] == 0).all()


def test_softmax_greedy_limit_and_large_logits():
    u = np.array([[1.0, 3.0, 3.0, -np.inf], [1e308, -1e308, 0.0, 5.0]])
    np.testing.assert_array_equal(
        softmax_probabilities(u, temperature=0.0), [[0, 0.5, 0.5, 0], [1, 0, 0, 0]]
    )
    np.testing.assert_allclose(
        softmax_probabilities(u[:1], temperature=0.0, epsilon=0.3),
        [[0.1, 0.45, 0.45, 0.0]],
    )
    p = softmax_probabilities(u, temperature=1e-3)  # no overflow
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p[1], [1, 0, 0, 0])


# ------------------------------------------------------------------ actions


def test_sample_actions_frequencies_and_propensities():
    n = 30_000
    u = np.repeat(LOGITS[:2], n // 2, axis=0)
    actions, propensities = sample_actions(
        u, temperature=1.5, epsilon=0.1, random_state=0
    )
    p = softmax_probabilities(u, temperature=1.5, epsilon=0.1)
    assert actions.shape == propensities.shape == (n,)
    np.testing.assert_array_equal(propensities, p[np.arange(n), actions])
    for row in range(2):
        drawn = actions[row * n // 2 : (row + 1) * n // 2]
        counts = np.bincount(drawn, minlength=4)
        for j in range(4):
            assert within_band(counts[j], n // 2, p[row * n // 2, j]), (row, j)
    assert not np.any(actions[: n // 2] == 3)
    assert not np.any(actions[n // 2 :] == 0)


def test_sample_actions_several_draws_per_state():
    actions, propensities = sample_actions(LOGITS, n_draws=4000, random_state=1)
    assert actions.shape == propensities.shape == (3, 4000)
    p = softmax_probabilities(LOGITS)
    np.testing.assert_array_equal(propensities, np.take_along_axis(p, actions, axis=1))
    for row in range(3):
        counts = np.bincount(actions[row], minlength=4)
        for j in range(4):
            assert within_band(counts[j], 4000, p[row, j])
    assert (actions[2] == 0).all() and (propensities[2] == 1.0).all()
    one, _ = sample_actions(LOGITS, n_draws=1, random_state=1)
    assert one.shape == (3, 1)


def test_sample_actions_never_draws_zero_probability_actions():
    # unavailable, underflowing and trailing zero-probability actions
    u = np.array([[-np.inf, 0.0, -1e4, -np.inf], [0.0, -np.inf, -np.inf, -np.inf]])
    actions, propensities = sample_actions(u, n_draws=5000, random_state=2)
    assert (actions[0] == 1).all() and (actions[1] == 0).all()
    assert (propensities == 1.0).all()
    actions, _ = sample_actions(u, n_draws=5000, epsilon=1.0, random_state=2)
    assert set(actions[0].tolist()) == {1, 2}
    greedy, propensities = sample_actions(
        np.array([[1.0, 3.0, 3.0, -np.inf]]),
        n_draws=2000,
        temperature=0.0,
        random_state=3,
    )
    assert set(greedy[0].tolist()) == {1, 2}
    assert (propensities == 0.5).all()


def test_sample_actions_reproducible():
    a1, p1 = sample_actions(LOGITS, n_draws=50, random_state=7)
    a2, p2 = sample_actions(LOGITS, n_draws=50, random_state=np.random.RandomState(7))
    a3, _ = sample_actions(LOGITS, n_draws=50, random_state=8)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(a1, a3)


# ----------------------------------------------------------------- rankings


@pytest.mark.parametrize("T, eps", [(1.0, 0.0), (0.7, 0.0), (2.0, 0.3)])
def test_plackett_luce_probabilities_sum_to_one(T, eps):
    u = np.array([[0.3, -1.2, 2.0, 0.0, -np.inf], [1.0, 1.0, -0.5, 0.2, 0.8]])
    for row in range(2):
        avail = np.flatnonzero(np.isfinite(u[row]))
        for k in range(1, avail.size + 1):
            perms = np.array(list(permutations(avail, k)))
            logits = np.repeat(u[row : row + 1], len(perms), axis=0)
            logp = plackett_luce_log_proba(logits, perms, temperature=T, epsilon=eps)
            assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-12), (row, k)


def test_plackett_luce_by_hand_and_first_position():
    u = np.log(np.array([[1.0, 2.0, 3.0, 4.0]]))
    # P(3, 1, 2) = 4/10 * 2/6 * 3/4
    assert np.exp(plackett_luce_log_proba(u, [[3, 1, 2]]))[0] == pytest.approx(
        0.4 * (2 / 6) * 0.75, rel=1e-14
    )
    p = softmax_probabilities(np.repeat(LOGITS, 1, axis=0), temperature=0.5)
    first = np.array([[2], [3], [0]])
    np.testing.assert_allclose(
        np.exp(plackett_luce_log_proba(LOGITS, first, temperature=0.5)),
        np.take_along_axis(p, first, axis=1)[:, 0],
        rtol=1e-14,
    )


def test_sample_rankings_frequencies_and_probabilities():
    n, k = 24_000, 2
    u = np.repeat(np.array([[0.0, 1.0, -0.5, -np.inf]]), n, axis=0)
    rankings, log_proba = sample_rankings(
        u, k, temperature=1.2, epsilon=0.2, random_state=0
    )
    assert rankings.shape == (n, k) and log_proba.shape == (n,)
    np.testing.assert_allclose(
        log_proba,
        plackett_luce_log_proba(u, rankings, temperature=1.2, epsilon=0.2),
        rtol=1e-14,
    )
    assert not np.any(rankings == 3)
    assert (rankings[:, 0] != rankings[:, 1]).all()
    perms = np.array(list(permutations([0, 1, 2], k)))
    exact = np.exp(
        plackett_luce_log_proba(u[: len(perms)], perms, temperature=1.2, epsilon=0.2)
    )
    for perm, prob in zip(perms, exact, strict=True):
        count = np.sum((rankings == perm).all(axis=1))
        assert within_band(count, n, prob), (perm, count, prob)


def test_sample_rankings_full_and_reproducible():
    u = np.array([[0.1, 0.2, 0.3], [-np.inf, 1.0, 2.0]])
    r1, l1 = sample_rankings(u[:1], 3, random_state=5)
    assert sorted(r1[0].tolist()) == [0, 1, 2]
    r2, l2 = sample_rankings(u[:1], 3, random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(l1, l2)
    r, _ = sample_rankings(u, 2, random_state=0)
    assert sorted(r[1].tolist()) == [1, 2]
    _, lp = sample_rankings(u, 2, epsilon=1.0, random_state=0)
    np.testing.assert_allclose(np.exp(lp), [1 / 6, 1 / 2])


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "func, args, kwargs, message",
    [
        (softmax_probabilities, (np.zeros(3),), {}, "2-D"),
        (softmax_probabilities, (np.zeros((2, 0)),), {}, "no actions"),
        (softmax_probabilities, ([[0.0, np.nan]],), {}, "NaN or \\+inf"),
        (softmax_probabilities, ([[0.0, np.inf]],), {}, "NaN or \\+inf"),
        (softmax_probabilities, ([[-np.inf, -np.inf]],), {}, "no available"),
        (softmax_probabilities, ([[0.0, 1.0]],), {"temperature": -1}, "temperature"),
        (softmax_probabilities, ([[0.0, 1.0]],), {"epsilon": 1.5}, "epsilon"),
        (sample_actions, ([[0.0, 1.0]],), {"n_draws": 0}, "n_draws"),
        (sample_rankings, ([[0.0, -np.inf]], 2), {}, "exceeds"),
        (sample_rankings, ([[0.0, 1.0]], 0), {}, "`k`"),
        (sample_rankings, ([[0.0, 1.0]], 1), {"temperature": 0.0}, "temperature"),
        (plackett_luce_log_proba, ([[0.0, 1.0]], [[0, 0]]), {}, "repeat"),
        (plackett_luce_log_proba, ([[0.0, -np.inf]], [[1]]), {}, "unavailable"),
        (plackett_luce_log_proba, ([[0.0, 1.0]], [[2]]), {}, "0..1"),
        (plackett_luce_log_proba, ([[0.0, 1.0]], [[0.0]]), {}, "integer"),
        (plackett_luce_log_proba, ([[0.0, 1.0]], [0]), {}, "2-D"),
    ],
)
def test_errors(func, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        func(*args, **kwargs)
