"""The math: segment reductions, stable softmax, loss derivatives."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.special import logsumexp

from skpolicy import _linear_loss
from skpolicy._data import dense_block
from skpolicy._linear_loss import LinearChoiceLoss
from skpolicy._segments import RaggedSegments, RegularSegments, make_segments
from skpolicy._softmax import segment_logsumexp


def reference_lse(u, sizes):
    """Per-situation log-sum-exp with a Python loop (independent reference)."""
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return np.array(
        [logsumexp(u[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    )


@pytest.mark.parametrize("sizes", [[3, 3, 3, 3], [1, 4, 2, 7, 3]])
def test_segments_match_loops(sizes):
    rng = np.random.default_rng(0)
    seg = make_segments(sizes)
    assert isinstance(seg, RegularSegments if len(set(sizes)) == 1 else RaggedSegments)
    n = sum(sizes)
    v = rng.normal(size=n)
    X = rng.normal(size=(n, 2))
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    np.testing.assert_allclose(seg.sum(v), [v[p].sum() for p in parts])
    np.testing.assert_allclose(seg.max(v), [v[p].max() for p in parts])
    np.testing.assert_allclose(seg.weighted_row_sum(v, X), [v[p] @ X[p] for p in parts])
    assert seg.argmax(v).tolist() == [p.start + int(np.argmax(v[p])) for p in parts]
    assert (
        seg.expand(np.arange(len(sizes))).tolist()
        == np.repeat(np.arange(len(sizes)), sizes).tolist()
    )


def test_segment_argmax_first_on_ties():
    seg = make_segments([3, 2])
    assert seg.argmax(np.array([1.0, 5.0, 5.0, 2.0, 2.0])).tolist() == [1, 3]


@pytest.mark.parametrize("sizes", [[4, 4, 4], [2, 5, 1, 3]])
def test_split_covers_all_rows_with_whole_segments(sizes):
    seg = make_segments(sizes)
    for max_rows in (1, 3, 5, 100):
        chunks = seg.split(max_rows)
        rows = np.concatenate([np.arange(r.start, r.stop) for r, _, _ in chunks])
        assert rows.tolist() == list(range(sum(sizes)))
        sub_sizes = np.concatenate([c.sizes for _, _, c in chunks])
        assert sub_sizes.tolist() == list(sizes)


@pytest.mark.parametrize("scale", [1.0, 1e2, 1e4])
def test_logsumexp_is_stable_for_large_utilities(scale):
    rng = np.random.default_rng(1)
    sizes = [3, 5, 2, 4]
    u = rng.normal(size=14) * scale
    u[5:10] += 3 * scale  # one situation far above the others
    lse, proba = segment_logsumexp(u, make_segments(sizes))
    np.testing.assert_allclose(lse, reference_lse(u, sizes), rtol=1e-13)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(make_segments(sizes).sum(proba), 1.0, rtol=1e-13)


def five_point_gradient(f, x, h):
    """Central five-point stencil: (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h."""
    grad = np.empty_like(x)
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        grad[k] = (f(x - 2 * e) - 8 * f(x - e) + 8 * f(x + e) - f(x + 2 * e)) / (12 * h)
    return grad


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_gradient_and_hessian_match_finite_differences(ragged_weighted_counts, alpha):
    X, counts, weights = ragged_weighted_counts
    loss = LinearChoiceLoss(dense_block(X, counts, weights), alpha=alpha)
    coef = np.array([0.4, -0.7, 0.2])

    def f(c):
        return loss.loss_gradient(c)[0]

    def g(c):
        return loss.loss_gradient(c)[1]

    obj, grad, hess = loss.gradient_hessian(coef)
    np.testing.assert_allclose(grad, five_point_gradient(f, coef, 1e-3), rtol=1e-8)
    # Each Hessian column against the five-point derivative of the gradient.
    fd_hess = np.column_stack(
        [five_point_gradient(lambda c, i=i: g(c)[i], coef, 1e-3) for i in range(3)]
    )
    np.testing.assert_allclose(hess, fd_hess, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(hess, hess.T)
    assert np.all(np.linalg.eigvalsh(hess) > 0)
    # And the scipy forward difference agrees to its own (lower) accuracy.
    np.testing.assert_allclose(grad, approx_fprime(coef, f, 1e-7), rtol=1e-5, atol=1e-7)
    assert obj == pytest.approx(loss.loss_gradient(coef)[0], rel=1e-14)


def test_loss_equals_direct_formula(ragged_weighted_counts):
    """The kernel's loss is -(1/W) sum_s w_s sum_a y_sa log pi(a|s) + alpha/2 |c|^2."""
    X, counts, weights = ragged_weighted_counts
    coef = np.array([0.4, -0.7, 0.2])
    alpha = 0.25
    u = np.where(np.isnan(X).all(axis=2), -np.inf, np.nan_to_num(X) @ coef)
    logp = u - logsumexp(u, axis=1, keepdims=True)
    chosen = counts > 0
    W = (weights * counts.sum(axis=1)).sum()
    expected = -(weights[:, None] * counts * np.where(chosen, logp, 0)).sum() / W
    expected += 0.5 * alpha * coef @ coef
    loss = LinearChoiceLoss(dense_block(X, counts, weights), alpha=alpha)
    assert loss.loss_gradient(coef)[0] == pytest.approx(expected, rel=1e-13)


def test_sums_do_not_depend_on_chunking(ragged_weighted_counts, monkeypatch):
    """Sums over chunks of situations can be merged in any grouping."""
    X, counts, weights = ragged_weighted_counts
    coef = np.array([1.0, 0.5, -2.0])
    data = dense_block(X, counts, weights)
    whole = LinearChoiceLoss(data).sums(coef, hessian=True)
    monkeypatch.setattr(_linear_loss, "_CHUNK_BYTES", 3 * 8 * 7)  # ~7 rows a chunk
    small = LinearChoiceLoss(data)
    assert len(small._chunks) > 5
    parts = small.sums(coef, hessian=True)
    assert parts[0] == pytest.approx(whole[0], rel=1e-13)
    np.testing.assert_allclose(parts[1], whole[1], rtol=1e-12)
    np.testing.assert_allclose(parts[2], whole[2], rtol=1e-12)


def test_large_utilities_give_finite_loss_and_gradient():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4, 2)) * 1e4
    y = rng.integers(0, 4, size=50)
    loss = LinearChoiceLoss(dense_block(X, y))
    for coef in (np.array([1.0, -1.0]), np.array([-1.0, 0.5])):
        value, grad, hess = loss.gradient_hessian(coef)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert np.all(np.isfinite(hess))


def test_float32_features_stay_float32_and_agree():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5, 3))
    y = rng.integers(0, 5, size=300)
    coef = np.array([0.3, -0.2, 0.1])
    d64 = dense_block(X, y)
    d32 = dense_block(X.astype(np.float32), y)
    assert d32.X.dtype == np.float32
    l64, g64, h64 = LinearChoiceLoss(d64).gradient_hessian(coef)
    l32, g32, h32 = LinearChoiceLoss(d32).gradient_hessian(coef)
    assert l32 == pytest.approx(l64, rel=1e-6)
    np.testing.assert_allclose(g32, g64, atol=1e-5)
    np.testing.assert_allclose(h32, h64, atol=1e-5)


def test_hessian_keeps_its_digits_when_choices_are_nearly_certain():
    """The Hessian is a covariance: centring on xbar_s avoids the cancellation of
    sum_i q_i x_i x_i' - xbar' (wn) xbar when one alternative takes nearly all the
    probability (checked against a long-double computation, situation by situation).
    """
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4, 2)) * 1e4
    y = rng.integers(0, 4, size=50)
    coef = np.array([-1.0, 0.5])
    expected = np.zeros((2, 2))
    for Xs in X.astype(np.longdouble):
        u = Xs @ coef.astype(np.longdouble)
        p = np.exp(u - u.max())
        p /= p.sum()
        centred = Xs - p @ Xs
        expected += (centred.T * p) @ centred
    _, _, hess = LinearChoiceLoss(dense_block(X, y)).gradient_hessian(coef)
    assert 1e-12 < np.abs(expected).max() < 1e-9
    np.testing.assert_allclose(hess * 50, expected.astype(float), rtol=1e-9)
