"""The loss with situation features (z_s, one coefficient vector per alternative).

Checked against finite differences, against the same model with e_a (x) z_s
materialised as alternative features, and against per-situation loops.
"""

import numpy as np
import pytest
from scipy.special import logsumexp

from skpolicy import _linear_loss
from skpolicy._data import ChoiceData, SituationFeatures, dense_block
from skpolicy._linear_loss import LinearChoiceLoss


def five_point(f, x, h=1e-4):
    out = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        out.append(
            (f(x - 2 * e) - 8 * f(x - e) + 8 * f(x + e) - f(x + 2 * e)) / (12 * h)
        )
    return np.array(out)


def mixed_problem(n=60, J=4, K=2, P=3, unavailable=0.3, seed=0, reference=1):
    """Ragged availability, counts (some situations with two choices), weights."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, J, K))
    avail = rng.random((n, J)) > unavailable
    avail[:, 0] = True
    X[~avail] = np.nan
    Z = rng.normal(size=(n, P))
    counts = np.zeros((n, J))
    for s in range(n):
        options = np.flatnonzero(avail[s])
        counts[s, rng.choice(options)] += 1
        counts[s, rng.choice(options)] += rng.integers(0, 2)
    weights = rng.uniform(0.5, 2.0, size=n)
    data = dense_block(X, counts, weights)
    rows = np.arange(n * J) if data.rows is None else data.rows
    zf = SituationFeatures(Z, J, rows % J, reference=reference)
    return X, Z, counts, weights, avail, data, zf


def materialised(X, Z, avail, reference):
    """The same model with e_a (x) z_s as alternative features (J-1 blocks)."""
    n, J, K = X.shape
    P = Z.shape[1]
    free = [a for a in range(J) if a != reference]
    Xm = np.zeros((n, J, K + len(free) * P))
    Xm[:, :, :K] = np.nan_to_num(X)
    for i, a in enumerate(free):
        Xm[:, a, K + i * P : K + (i + 1) * P] = Z
    Xm[~avail] = np.nan
    return Xm


@pytest.mark.parametrize("K", [0, 2])
@pytest.mark.parametrize("alpha", [0.0, 0.2])
def test_gradient_hessian_and_product_match_finite_differences(K, alpha):
    X, Z, counts, weights, avail, data, zf = mixed_problem()
    if K == 0:
        data = _zero_feature_block(counts, weights, avail)
    loss = LinearChoiceLoss(data, alpha=alpha, situation_features=zf)
    rng = np.random.default_rng(1)
    coef = rng.normal(size=loss.n_params) * 0.5
    _, grad, hess = loss.gradient_hessian(coef)
    np.testing.assert_allclose(
        grad, five_point(lambda c: loss.loss_gradient(c)[0], coef), atol=1e-9
    )
    fd_hess = five_point(lambda c: loss.loss_gradient(c)[1], coef)
    np.testing.assert_allclose(hess, fd_hess, atol=1e-8)
    np.testing.assert_allclose(hess, hess.T)
    v = rng.normal(size=loss.n_params)
    np.testing.assert_allclose(loss.hessian_product(coef, v), hess @ v, atol=1e-12)


def _zero_feature_block(counts, weights, avail):
    """A block with no alternative features (only the availability pattern)."""
    n, J = counts.shape
    X = np.zeros((n, J, 1))
    X[~avail] = np.nan
    data = dense_block(X, counts, weights)
    return ChoiceData(**{**data.__dict__, "X": np.zeros((data.X.shape[0], 0))})


@pytest.mark.parametrize("reference", [0, 2])
def test_situation_features_equal_the_materialised_model(reference):
    X, Z, counts, weights, avail, data, zf = mixed_problem(reference=reference)
    loss = LinearChoiceLoss(data, alpha=0.1, situation_features=zf)
    big = LinearChoiceLoss(
        dense_block(materialised(X, Z, avail, reference), counts, weights), alpha=0.1
    )
    coef = np.random.default_rng(2).normal(size=loss.n_params) * 0.3
    for mine, theirs in zip(
        loss.gradient_hessian(coef), big.gradient_hessian(coef), strict=True
    ):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)
    m1, m2 = loss.moments(coef), big.moments(coef)
    np.testing.assert_allclose(m1.scores, m2.scores, atol=1e-13)
    np.testing.assert_allclose(m1.information, m2.information, atol=1e-12)
    np.testing.assert_allclose(m1.opg, m2.opg, atol=1e-12)
    assert m1.log_likelihood == pytest.approx(m2.log_likelihood, rel=1e-13)


def test_moments_equal_a_loop_over_situations():
    X, Z, counts, weights, avail, data, zf = mixed_problem(n=25)
    loss = LinearChoiceLoss(data, situation_features=zf)
    coef = np.random.default_rng(3).normal(size=loss.n_params) * 0.4
    m = loss.moments(coef)
    Xm = materialised(X, Z, avail, zf.reference)
    p = loss.n_params
    info, opg, loglik = np.zeros((p, p)), np.zeros((p, p)), 0.0
    for s in range(len(Z)):
        phi = Xm[s][avail[s]]
        y = counts[s][avail[s]]
        u = phi @ coef
        logp = u - logsumexp(u)
        pi = np.exp(logp)
        d = phi - pi @ phi
        g = y @ d
        np.testing.assert_allclose(m.scores[s], weights[s] * g, atol=1e-12)
        info += weights[s] * y.sum() * (d.T * pi) @ d
        opg += weights[s] * (d.T * y) @ d
        loglik += weights[s] * y @ logp
    np.testing.assert_allclose(m.information, info, atol=1e-12)
    np.testing.assert_allclose(m.opg, opg, atol=1e-12)
    assert m.log_likelihood == pytest.approx(loglik, rel=1e-13)


def test_sums_do_not_depend_on_chunking(monkeypatch):
    *_, data, zf = mixed_problem(n=80)
    coef = np.random.default_rng(4).normal(size=2 + 3 * 3)
    whole = LinearChoiceLoss(data, situation_features=zf).sums(coef, hessian=True)
    monkeypatch.setattr(_linear_loss, "_Z_CHUNK_BYTES", 2000)
    small = LinearChoiceLoss(data, situation_features=zf)
    assert len(small._chunks) > 5
    parts = small.sums(coef, hessian=True)
    assert parts[0] == pytest.approx(whole[0], rel=1e-13)
    np.testing.assert_allclose(parts[1], whole[1], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(parts[2], whole[2], rtol=1e-12, atol=1e-13)


def test_contract_is_the_chain_rule():
    """contract(df/du) is the gradient of any function of the utilities."""
    *_, data, zf = mixed_problem()
    loss = LinearChoiceLoss(data, situation_features=zf)
    rng = np.random.default_rng(5)
    c = rng.normal(size=data.X.shape[0])
    coef = rng.normal(size=loss.n_params)

    def f(theta):  # a linear function of the utilities: c @ u
        return c @ loss.row_utilities(theta)

    np.testing.assert_allclose(loss.contract(c), five_point(f, coef), atol=1e-8)
    # The loss gradient is the contraction of w_s (n_s pi - y).
    u = loss.row_utilities(coef)
    seg = data.segments
    lse = np.log(seg.sum(np.exp(u)))
    pi = np.exp(u - seg.expand(lse))
    w = seg.expand(data.sample_weight)
    n_s = seg.expand(seg.sum(data.y))
    resid = w * (n_s * pi - data.y)
    np.testing.assert_allclose(
        loss.contract(resid) / loss.weight_sum, loss.loss_gradient(coef)[1], atol=1e-13
    )


def test_null_log_likelihood_and_information_helpers():
    *_, data, zf = mixed_problem()
    loss = LinearChoiceLoss(data, alpha=0.3, situation_features=zf)
    sizes = data.segments.sizes
    w = data.sample_weight * data.segments.sum(data.y)
    assert loss.null_log_likelihood() == pytest.approx(-(w @ np.log(sizes)))
    coef = np.zeros(loss.n_params)
    objective, _, hess = loss.gradient_hessian(coef)
    assert loss.log_likelihood(coef, objective) == pytest.approx(
        loss.log_likelihood(coef), rel=1e-13
    )
    np.testing.assert_allclose(
        loss.information(hess), loss.moments(coef).information, rtol=1e-12
    )


def test_state_hessian_keeps_its_digits_when_an_action_is_nearly_certain():
    """The gamma diagonal blocks use 1 - pi_f summed from the other actions:
    pi_f - pi_f^2 would lose every digit when pi_f is within 1e-13 of 1."""
    rng = np.random.default_rng(6)
    n, J, P = 40, 3, 2
    Z = np.abs(rng.normal(size=(n, P))) + 0.5  # same sign: every state is certain
    y = np.zeros(n, dtype=int)
    data = dense_block(np.zeros((n, J, 1)) + np.arange(J)[None, :, None], y)
    data = ChoiceData(**{**data.__dict__, "X": np.zeros((n * J, 0))})
    zf = SituationFeatures(Z, J, None, reference=0)
    loss = LinearChoiceLoss(data, situation_features=zf, engine="numpy")
    # Utilities of +-30 z: action 1 takes all but < 1e-13 of the probability.
    coef = np.concatenate([[30.0, 30.0], [-30.0, -30.0]])
    expected = np.zeros((4, 4))
    for s in range(n):
        z = Z[s].astype(np.longdouble)
        u = np.array([0, z @ coef[:2], z @ coef[2:]], dtype=np.longdouble)
        p = np.exp(u - u.max())
        p /= p.sum()
        # Exactly, in long double: pi_f (1 - pi_f) = pi_f * (sum of the others).
        others = np.array([p[0] + p[2], p[0] + p[1]])
        d = -np.outer(p[1:], p[1:])
        d[np.diag_indices(2)] = p[1:] * others
        expected += np.kron(d, np.outer(z, z))
    _, _, hess = loss.gradient_hessian(coef)
    assert np.all(np.isfinite(hess))
    np.testing.assert_allclose(hess * n, expected.astype(float), rtol=1e-9, atol=0)
