"""Off-policy evaluation: skpolicy.ope.

The obp references below re-implement, line for line, the formulas of Open Bandit
Pipeline 0.5.7 (``obp/ope/estimators.py``, ``obp/utils.py``,
``obp/ope/regression_model.py``) with ``len_list = 1`` and ``position = 0``; obp itself
needs torch and is not a test dependency. (Checked against the installed obp 0.5.7
by hand: max |difference| 2.7e-15 on the estimates and bootstrap intervals, 0 on the
cross-fitted reward models.)
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from skpolicy.ope import (
    OPEResult,
    WeightDiagnostics,
    cross_fit_reward_model,
    direct_method,
    doubly_robust,
    evaluate_policy,
    importance_weight_diagnostics,
    inverse_propensity_score,
    self_normalized_doubly_robust,
    self_normalized_ips,
    switch_doubly_robust,
)

# ----------------------------------------------------------------- random problems


def random_logs(seed, n=None, J=None):
    """Random logged bandit data: rewards, actions, propensities, target, q_hat."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 2000)) if n is None else n
    J = int(rng.integers(2, 10)) if J is None else J
    logits = 2 * rng.normal(size=(n, J))
    behavior = np.exp(logits)
    behavior /= behavior.sum(axis=1, keepdims=True)
    target = rng.dirichlet(np.full(J, 0.5), size=n)
    action = (behavior.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    pscore = behavior[np.arange(n), action]
    reward = rng.normal(size=n) + action
    q_hat = rng.normal(size=(n, J))
    return reward, action, pscore, target, q_hat, behavior


# ---------------------------------------------- obp 0.5.7 formulas, re-implemented


def obp_iw(action, pscore, action_dist):
    # obp.ope.estimators: iw = action_dist[np.arange(n), action, position] / pscore
    return action_dist[np.arange(action.shape[0]), action] / pscore


def obp_ipw(reward, action, pscore, action_dist, lambda_=np.inf):
    # InverseProbabilityWeighting._estimate_round_rewards:
    #   iw = np.minimum(iw, self.lambda_); return reward * iw
    # estimate_policy_value: round rewards .mean()
    iw = np.minimum(obp_iw(action, pscore, action_dist), lambda_)
    return (reward * iw).mean()


def obp_snipw(reward, action, pscore, action_dist):
    # SelfNormalizedInverseProbabilityWeighting._estimate_round_rewards:
    #   return reward * iw / iw.mean()
    iw = obp_iw(action, pscore, action_dist)
    return (reward * iw / iw.mean()).mean()


def obp_dm_rounds(action_dist, q_hat):
    # DirectMethod._estimate_round_rewards:
    #   np.average(q_hat_at_position, weights=pi_e_at_position, axis=1)
    return np.average(q_hat, weights=action_dist, axis=1)


def obp_dr_rounds(reward, action, pscore, action_dist, q_hat, lambda_=np.inf):
    # DoublyRobust._estimate_round_rewards:
    #   iw = np.minimum(iw, self.lambda_)
    #   estimated_rewards = np.average(q_hat_at_position, weights=pi_e, axis=1)
    #   estimated_rewards += iw * (reward - q_hat_factual)
    n = action.shape[0]
    iw = np.minimum(obp_iw(action, pscore, action_dist), lambda_)
    q_factual = q_hat[np.arange(n), action]
    return obp_dm_rounds(action_dist, q_hat) + iw * (reward - q_factual)


def obp_sndr(reward, action, pscore, action_dist, q_hat):
    # SelfNormalizedDoublyRobust._estimate_round_rewards:
    #   estimated_rewards += iw * (reward - q_hat_factual) / iw.mean()
    n = action.shape[0]
    iw = obp_iw(action, pscore, action_dist)
    q_factual = q_hat[np.arange(n), action]
    rounds = obp_dm_rounds(action_dist, q_hat) + iw * (reward - q_factual) / iw.mean()
    return rounds.mean()


def obp_switch_dr(reward, action, pscore, action_dist, q_hat, lambda_):
    # SwitchDoublyRobust._estimate_round_rewards:
    #   switch_indicator = np.array(iw <= self.lambda_, dtype=int)
    #   estimated_rewards += switch_indicator * iw * (reward - q_hat_factual)
    n = action.shape[0]
    iw = obp_iw(action, pscore, action_dist)
    switch = np.array(iw <= lambda_, dtype=int)
    q_factual = q_hat[np.arange(n), action]
    rounds = obp_dm_rounds(action_dist, q_hat) + switch * iw * (reward - q_factual)
    return rounds.mean()


def obp_bootstrap_interval(samples, alpha, n_bootstrap_samples, random_state):
    # obp.utils.estimate_confidence_interval_by_bootstrap
    boot_samples = list()
    random_ = check_random_state(random_state)
    for _ in np.arange(n_bootstrap_samples):
        boot_samples.append(np.mean(random_.choice(samples, size=samples.shape[0])))
    lower_bound = np.percentile(boot_samples, 100 * (alpha / 2))
    upper_bound = np.percentile(boot_samples, 100 * (1.0 - alpha / 2))
    return lower_bound, upper_bound


def obp_regression_fit_predict(base_model, context, action, reward, n_actions, k, rs):
    # obp.ope.regression_model.RegressionModel (fitting_method="normal",
    # action_context=np.eye(n_actions, dtype=int)): features np.c_[context,
    # action_context[action]]; fit_predict uses KFold(n_splits=n_folds, shuffle=True,
    # random_state=random_state); predict uses predict_proba(X)[:, 1] for a
    # classifier and predict(X) otherwise.
    from sklearn.base import clone, is_classifier

    action_context = np.eye(n_actions, dtype=int)
    n = context.shape[0]
    q_hat = np.zeros((n, n_actions))
    for train, test in KFold(n_splits=k, shuffle=True, random_state=rs).split(context):
        model = clone(base_model)
        model.fit(np.c_[context[train], action_context[action[train]]], reward[train])
        for a in np.arange(n_actions):
            X = np.c_[context[test], action_context[a * np.ones(len(test), int)]]
            q_hat[test, a] = (
                model.predict_proba(X)[:, 1]
                if is_classifier(model)
                else model.predict(X)
            )
    return q_hat


# --------------------------------------------------------------- exactness vs obp


@pytest.mark.parametrize("seed", range(6))
def test_estimates_match_obp_formulas(seed):
    r, a, p, pe, q, _ = random_logs(seed)
    lam = float(np.quantile(obp_iw(a, p, pe), 0.8))
    pairs = {
        "ips": (inverse_propensity_score(r, a, p, pe), obp_ipw(r, a, p, pe)),
        "ips-clipped": (
            inverse_propensity_score(r, a, p, pe, max_weight=lam),
            obp_ipw(r, a, p, pe, lam),
        ),
        "snips": (self_normalized_ips(r, a, p, pe), obp_snipw(r, a, p, pe)),
        "dm": (direct_method(pe, q), obp_dm_rounds(pe, q).mean()),
        "dr": (doubly_robust(r, a, p, pe, q), obp_dr_rounds(r, a, p, pe, q).mean()),
        "dr-clipped": (
            doubly_robust(r, a, p, pe, q, max_weight=lam),
            obp_dr_rounds(r, a, p, pe, q, lam).mean(),
        ),
        "sndr": (
            self_normalized_doubly_robust(r, a, p, pe, q),
            obp_sndr(r, a, p, pe, q),
        ),
        "switch-dr": (
            switch_doubly_robust(r, a, p, pe, q, lam),
            obp_switch_dr(r, a, p, pe, q, lam),
        ),
    }
    for name, (res, ref) in pairs.items():
        assert abs(res.estimate - ref) < 1e-10, name


def test_obp_three_dimensional_inputs_accepted():
    # obp's action_dist / estimated_rewards_by_reg_model are (n, n_actions, 1).
    r, a, p, pe, q, _ = random_logs(1)
    res = doubly_robust(r, a, p, pe[:, :, None], q[:, :, None])
    assert res.estimate == doubly_robust(r, a, p, pe, q).estimate


@pytest.mark.parametrize("seed", [0, 3])
def test_bootstrap_interval_matches_obp(seed):
    # Same seed => same resamples as obp's RandomState.choice loop, for the linear
    # estimators whose round rewards obp resamples.
    r, a, p, pe, q, _ = random_logs(seed, n=300)
    boot = dict(ci="bootstrap", n_bootstrap=300, alpha=0.1, random_state=seed)
    for res, rounds in [
        (inverse_propensity_score(r, a, p, pe, **boot), r * obp_iw(a, p, pe)),
        (doubly_robust(r, a, p, pe, q, **boot), obp_dr_rounds(r, a, p, pe, q)),
    ]:
        low, high = obp_bootstrap_interval(rounds, 0.1, 300, seed)
        assert abs(res.ci_low - low) < 1e-10
        assert abs(res.ci_high - high) < 1e-10
        assert res.ci_method == "bootstrap"
        assert res.confidence_level == pytest.approx(0.9)


@pytest.mark.parametrize("classifier", [False, True])
def test_cross_fit_matches_obp_regression_model(classifier):
    rng = np.random.default_rng(5)
    n, J = 400, 3
    X = rng.normal(size=(n, 2))
    a = rng.integers(0, J, n)
    y = X[:, 0] * (a - 1) + rng.normal(size=n)
    if classifier:
        y = (y > 0).astype(int)
    base = LogisticRegression() if classifier else LinearRegression()
    ours = cross_fit_reward_model(base, X, a, y, J, cv=4, random_state=7)
    ref = obp_regression_fit_predict(base, X, a, y, J, 4, 7)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


# --------------------------------------------------------------- standard errors


def test_standard_errors_of_linear_estimators():
    r, a, p, pe, q, _ = random_logs(2)
    n = r.shape[0]
    w = obp_iw(a, p, pe)
    z = stats.norm.ppf(0.975)
    for res, rounds in [
        (inverse_propensity_score(r, a, p, pe), w * r),
        (direct_method(pe, q), obp_dm_rounds(pe, q)),
        (doubly_robust(r, a, p, pe, q), obp_dr_rounds(r, a, p, pe, q)),
    ]:
        se = rounds.std(ddof=1) / np.sqrt(n)
        assert res.std_error == pytest.approx(se, rel=1e-12)
        assert res.ci_low == pytest.approx(res.estimate - z * se, rel=1e-12)
        assert res.ci_high == pytest.approx(res.estimate + z * se, rel=1e-12)
        np.testing.assert_allclose(res.contributions, rounds, rtol=1e-12)


def delta_method_se(values, func):
    """SE of func(column means of values) by the delta method, numerically."""
    n = values.shape[0]
    means = values.mean(axis=0)
    grad = np.empty_like(means)
    for j in range(means.size):
        h = 1e-6 * max(1.0, abs(means[j]))
        up, down = means.copy(), means.copy()
        up[j] += h
        down[j] -= h
        grad[j] = (func(up) - func(down)) / (2 * h)
    cov = np.cov(values, rowvar=False, ddof=1)
    return np.sqrt(grad @ cov @ grad / n)


def test_self_normalized_standard_errors_are_the_delta_method():
    r, a, p, pe, q, _ = random_logs(4)
    n = r.shape[0]
    w = obp_iw(a, p, pe)
    res = self_normalized_ips(r, a, p, pe)
    ref = delta_method_se(np.c_[w * r, w], lambda m: m[0] / m[1])
    assert res.std_error == pytest.approx(ref, rel=1e-6)
    assert res.contributions.mean() == pytest.approx(res.estimate, rel=1e-12)

    dm = obp_dm_rounds(pe, q)
    resid = w * (r - q[np.arange(n), a])
    res = self_normalized_doubly_robust(r, a, p, pe, q)
    ref = delta_method_se(np.c_[dm, resid, w], lambda m: m[0] + m[1] / m[2])
    assert res.std_error == pytest.approx(ref, rel=1e-6)


def test_self_normalized_bootstrap_recomputes_the_ratio():
    r, a, p, pe, _, _ = random_logs(6, n=200)
    w = obp_iw(a, p, pe)
    res = self_normalized_ips(
        r, a, p, pe, ci="bootstrap", n_bootstrap=50, random_state=3, alpha=0.2
    )
    rng = np.random.RandomState(3)
    reps = []
    for _ in range(50):
        idx = rng.randint(0, 200, size=200)
        reps.append((w[idx] * r[idx]).sum() / w[idx].sum())
    assert res.std_error == pytest.approx(np.std(reps, ddof=1), rel=1e-10)
    assert res.ci_low == pytest.approx(np.percentile(reps, 10), rel=1e-10)
    assert res.ci_high == pytest.approx(np.percentile(reps, 90), rel=1e-10)


def test_bootstrap_reproducible():
    r, a, p, pe, q, _ = random_logs(7, n=300)
    kw = dict(ci="bootstrap", n_bootstrap=100)
    one = self_normalized_doubly_robust(r, a, p, pe, q, random_state=0, **kw)
    two = self_normalized_doubly_robust(
        r, a, p, pe, q, random_state=np.random.RandomState(0), **kw
    )
    other = self_normalized_doubly_robust(r, a, p, pe, q, random_state=1, **kw)
    assert (one.ci_low, one.ci_high, one.std_error) == (
        two.ci_low,
        two.ci_high,
        two.std_error,
    )
    assert one.ci_low != other.ci_low
    assert one.estimate == other.estimate


# ------------------------------------------------------------ coverage, known V


STATE_P = np.array([0.3, 0.2, 0.2, 0.15, 0.15])
Q_TRUE = np.array(
    [
        [0.2, 0.5, 0.7],
        [0.6, 0.3, 0.4],
        [0.1, 0.8, 0.5],
        [0.5, 0.5, 0.9],
        [0.3, 0.2, 0.6],
    ]
)
PI_B = np.array(
    [
        [0.5, 0.3, 0.2],
        [0.2, 0.4, 0.4],
        [0.6, 0.2, 0.2],
        [0.3, 0.3, 0.4],
        [0.4, 0.4, 0.2],
    ]
)
PI_E = np.array(
    [
        [0.1, 0.2, 0.7],
        [0.7, 0.2, 0.1],
        [0.1, 0.8, 0.1],
        [0.2, 0.1, 0.7],
        [0.2, 0.2, 0.6],
    ]
)
V_TRUE = float(STATE_P @ (PI_E * Q_TRUE).sum(axis=1))


def simulate(rng, n):
    s = rng.choice(5, size=n, p=STATE_P)
    a = (PI_B[s].cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    r = (rng.random(n) < Q_TRUE[s, a]).astype(float)
    return s, a, r


def test_coverage_at_nominal_rate():
    reps, n = 200, 400
    covered = {"ips": 0, "snips": 0, "dr": 0, "sndr": 0}
    for rep in range(reps):
        rng = np.random.default_rng(1000 + rep)
        s, a, r = simulate(rng, n)
        X = np.eye(5)[s]
        pscore, target = PI_B[s, a], PI_E[s]
        q_hat = cross_fit_reward_model(
            LinearRegression(), X, a, r, 3, cv=2, random_state=rep
        )
        table = evaluate_policy(r, a, pscore, target, q_hat=q_hat)
        for name in covered:
            covered[name] += (
                table.loc[name, "ci_low"] <= V_TRUE <= table.loc[name, "ci_high"]
            )
    low, high = stats.binom.interval(0.999, reps, 0.95)
    for name, count in covered.items():
        assert low <= count <= high, (name, count, (low, high))


def test_bootstrap_coverage_at_nominal_rate():
    reps, n = 100, 300
    covered = 0
    for rep in range(reps):
        rng = np.random.default_rng(5000 + rep)
        s, a, r = simulate(rng, n)
        res = self_normalized_ips(
            r,
            a,
            PI_B[s, a],
            PI_E[s],
            ci="bootstrap",
            n_bootstrap=200,
            random_state=rep,
        )
        covered += res.ci_low <= V_TRUE <= res.ci_high
    low, high = stats.binom.interval(0.999, reps, 0.95)
    assert low <= covered <= high


def test_estimators_are_consistent_on_a_large_sample():
    rng = np.random.default_rng(11)
    s, a, r = simulate(rng, 200_000)
    q_hat = Q_TRUE[s]  # the true reward function: DM exact in expectation
    table = evaluate_policy(r, a, PI_B[s, a], PI_E[s], q_hat=q_hat, threshold=3.0)
    assert table.index.tolist() == [
        "ips",
        "snips",
        "dm",
        "dr",
        "sndr",
        "switch-dr(threshold=3)",
    ]
    assert np.all(np.abs(table["estimate"] - V_TRUE) < 4 * table["std_error"] + 1e-3)


# ---------------------------------------------------------------- clipping, switch


def test_clipping_and_switch_limits():
    r, a, p, pe, q, _ = random_logs(8)
    w = obp_iw(a, p, pe)
    big = float(w.max()) * 2
    assert inverse_propensity_score(r, a, p, pe, max_weight=big).estimate == (
        pytest.approx(inverse_propensity_score(r, a, p, pe).estimate, rel=1e-14)
    )
    assert switch_doubly_robust(r, a, p, pe, q, np.inf).estimate == pytest.approx(
        doubly_robust(r, a, p, pe, q).estimate, rel=1e-14
    )
    # every weight is positive here, so threshold 0 switches every round to DM
    assert (w > 0).all()
    assert switch_doubly_robust(r, a, p, pe, q, 0.0).estimate == pytest.approx(
        direct_method(pe, q).estimate, rel=1e-14
    )
    res = inverse_propensity_score(r, a, p, pe, max_weight=2.0)
    assert res.method == "ips(max_weight=2)"
    assert res.estimate == pytest.approx(np.mean(np.minimum(w, 2.0) * r), rel=1e-12)
    sn = self_normalized_ips(r, a, p, pe, max_weight=2.0)
    wc = np.minimum(w, 2.0)
    assert sn.estimate == pytest.approx((wc * r).sum() / wc.sum(), rel=1e-12)


def test_self_normalized_invariant_to_reward_shift():
    r, a, p, pe, q, _ = random_logs(9)
    base = self_normalized_ips(r, a, p, pe)
    shifted = self_normalized_ips(r + 5.0, a, p, pe)
    assert shifted.estimate == pytest.approx(base.estimate + 5.0, rel=1e-12)
    assert shifted.std_error == pytest.approx(base.std_error, rel=1e-9)


# ------------------------------------------------------------------ result object


def test_result_object():
    r, a, p, pe, _, _ = random_logs(10, n=100)
    res = inverse_propensity_score(r, a, p, pe, alpha=0.1)
    assert isinstance(res, OPEResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0
    assert res.confidence_interval == (res.ci_low, res.ci_high)
    assert float(res) == res.estimate
    assert res.to_dict()["confidence_level"] == pytest.approx(0.9)
    assert "contributions" not in res.to_dict()
    text = repr(res)
    assert text.startswith("OPEResult(method='ips', estimate=")
    assert "(90% normal), n=100)" in text
    assert res.contributions.shape == (100,)


# ----------------------------------------------------------------- evaluate_policy


def test_evaluate_policy_equals_single_estimators():
    r, a, p, pe, q, _ = random_logs(12)
    table = evaluate_policy(
        r, a, p, pe, q_hat=q, threshold=2.0, max_weight=5.0, alpha=0.1
    )
    assert list(table.columns) == ["estimate", "std_error", "ci_low", "ci_high", "n"]
    assert table.index.name == "estimator"
    singles = [
        inverse_propensity_score(r, a, p, pe, max_weight=5.0, alpha=0.1),
        self_normalized_ips(r, a, p, pe, max_weight=5.0, alpha=0.1),
        direct_method(pe, q, alpha=0.1),
        doubly_robust(r, a, p, pe, q, max_weight=5.0, alpha=0.1),
        self_normalized_doubly_robust(r, a, p, pe, q, max_weight=5.0, alpha=0.1),
        switch_doubly_robust(r, a, p, pe, q, 2.0, alpha=0.1),
    ]
    assert table.index.tolist() == [s.method for s in singles]
    for res in singles:
        row = table.loc[res.method]
        assert row["estimate"] == res.estimate
        assert row["std_error"] == res.std_error
        assert (row["ci_low"], row["ci_high"]) == res.confidence_interval
        assert row["n"] == res.n


def test_evaluate_policy_default_and_selected_estimators():
    r, a, p, pe, q, _ = random_logs(13)
    assert evaluate_policy(r, a, p, pe).index.tolist() == ["ips", "snips"]
    assert evaluate_policy(r, a, p, pe, estimators="dm", q_hat=q).index.tolist() == [
        "dm"
    ]
    with pytest.raises(ValueError, match="needs reward predictions"):
        evaluate_policy(r, a, p, pe, estimators=["dr"])
    with pytest.raises(ValueError, match="needs a `threshold`"):
        evaluate_policy(r, a, p, pe, q_hat=q, estimators=["switch-dr"])
    with pytest.raises(ValueError, match="Unknown estimator"):
        evaluate_policy(r, a, p, pe, estimators=["magic"])


def test_evaluate_policy_with_reward_model_cross_fits():
    rng = np.random.default_rng(14)
    s, a, r = simulate(rng, 600)
    X = np.eye(5)[s]
    table = evaluate_policy(
        r, a, PI_B[s, a], PI_E[s], X=X, reward_model=Ridge(), cv=3, random_state=2
    )
    q_hat = cross_fit_reward_model(Ridge(), X, a, r, 3, cv=3, random_state=2)
    assert table.loc["dr", "estimate"] == pytest.approx(
        doubly_robust(r, a, PI_B[s, a], PI_E[s], q_hat).estimate, rel=1e-14
    )
    with pytest.raises(ValueError, match="needs the logged states X"):
        evaluate_policy(r, a, PI_B[s, a], PI_E[s], reward_model=Ridge())


# -------------------------------------------------------------- fitted policies


class TablePolicy(ClassifierMixin, BaseEstimator):
    """A duck-typed fitted policy: a state id in column 0 -> a row of `table`."""

    def __init__(self, table, classes):
        self.table = table
        self.classes = classes

    def fit(self, X, y=None):
        self.classes_ = np.asarray(self.classes)
        return self

    def predict_proba(self, X):
        return self.table[np.asarray(X)[:, 0].astype(int)]


def test_fitted_policies_with_labels():
    rng = np.random.default_rng(15)
    s, a, r = simulate(rng, 500)
    labels = np.array(["email", "push", "sms"])
    X = s[:, None]
    behavior = TablePolicy(PI_B, labels).fit(X)
    target = TablePolicy(PI_E, labels).fit(X)
    arrays = evaluate_policy(r, a, PI_B[s, a], PI_E[s], q_hat=Q_TRUE[s])
    policies = evaluate_policy(r, labels[a], behavior, target, X=X, q_hat=Q_TRUE[s])
    pd.testing.assert_frame_equal(arrays, policies, rtol=1e-14)
    # a policy for one side, arrays for the other
    res = inverse_propensity_score(r, labels[a], PI_B[s, a], target, X=X)
    assert res.estimate == pytest.approx(arrays.loc["ips", "estimate"], rel=1e-14)
    res = inverse_propensity_score(r, labels[a], behavior, PI_E[s], X=X)
    assert res.estimate == pytest.approx(arrays.loc["ips", "estimate"], rel=1e-14)
    assert direct_method(target, Q_TRUE[s], X=X).estimate == pytest.approx(
        arrays.loc["dm", "estimate"], rel=1e-14
    )


def test_sklearn_classifier_as_policy():
    rng = np.random.default_rng(16)
    X = rng.normal(size=(300, 2))
    a = rng.integers(0, 3, 300) * 10  # labels 0, 10, 20
    r = rng.random(300)
    behavior = LogisticRegression().fit(X, a)
    target = LogisticRegression(C=0.1).fit(X, (a + 10) % 30)
    res = inverse_propensity_score(r, a, behavior, target, X=X)
    col = a // 10
    w = (
        target.predict_proba(X)[np.arange(300), col]
        / behavior.predict_proba(X)[np.arange(300), col]
    )
    assert res.estimate == pytest.approx(np.mean(w * r), rel=1e-12)


# ------------------------------------------------------------------ diagnostics


def test_weight_diagnostics_against_hand_computation():
    r, a, p, pe, _, behavior = random_logs(17, n=500, J=5)
    pe = pe.copy()
    pe[:, 4] += 0.3  # mass on action 4, which is never logged below
    pe /= pe.sum(axis=1, keepdims=True)
    a = np.where(a == 4, 0, a)
    p = behavior[np.arange(500), a]
    d = importance_weight_diagnostics(a, p, pe, quantiles=[0.25, 0.5, 1.0])
    w = pe[np.arange(500), a] / p
    assert isinstance(d, WeightDiagnostics)
    np.testing.assert_allclose(d.weights, w, rtol=1e-15)
    assert d.ess == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    assert d.ess_ratio == pytest.approx(d.ess / 500, rel=1e-12)
    assert d.mean_weight == pytest.approx(w.mean(), rel=1e-12)
    assert d.max_weight == w.max() == d.quantiles.loc[1.0]
    assert d.quantiles.loc[0.25] == pytest.approx(np.quantile(w, 0.25), rel=1e-12)
    assert d.never_logged_actions.tolist() == [4]
    assert d.never_logged_mass == pytest.approx(pe[:, 4].mean(), rel=1e-12)
    assert d.unsupported_mass is None
    counts = np.bincount(a, minlength=5)
    np.testing.assert_array_equal(d.per_action["logged_count"], counts)
    np.testing.assert_allclose(d.per_action["target_share"], pe.mean(axis=0))
    assert "never_logged_actions=[4]" in repr(d)


def test_unsupported_mass_with_behavior_distribution():
    n = 4
    behavior = np.array([[0.5, 0.5, 0.0]] * n)
    target = np.array([[0.2, 0.2, 0.6]] * 2 + [[0.5, 0.5, 0.0]] * 2)
    action = np.array([0, 1, 0, 1])
    d = importance_weight_diagnostics(
        action, behavior[np.arange(n), action], target, behavior_dist=behavior
    )
    assert d.unsupported_mass == pytest.approx(0.3)
    # a fitted behaviour policy given as pscore provides the distribution itself
    labels = np.array([7, 8, 9])
    bpol = TablePolicy(behavior, labels).fit(None)
    tpol = TablePolicy(target, labels).fit(None)
    X = np.arange(n)[:, None]
    d2 = importance_weight_diagnostics(labels[action], bpol, tpol, X=X)
    assert d2.unsupported_mass == pytest.approx(0.3)
    assert d2.never_logged_actions.tolist() == [9]
    assert d2.per_action.index.tolist() == [7, 8, 9]


# ---------------------------------------------------------------- reward models


def test_cross_fitting_never_uses_a_rounds_own_reward():
    rng = np.random.default_rng(18)
    n = 120
    X = rng.normal(size=(n, 2))
    a = rng.integers(0, 2, n)
    r = rng.normal(size=n)
    q1 = cross_fit_reward_model(LinearRegression(), X, a, r, 2, cv=4, random_state=0)
    r2 = r.copy()
    r2[5] += 100.0
    q2 = cross_fit_reward_model(LinearRegression(), X, a, r2, 2, cv=4, random_state=0)
    np.testing.assert_array_equal(q1[5], q2[5])  # out of fold: unchanged
    assert not np.allclose(q1, q2)  # the other folds did see it
    # cv=1: in-sample fit (no cross-fitting), so row 5 moves
    q3 = cross_fit_reward_model(LinearRegression(), X, a, r, 2, cv=1)
    q4 = cross_fit_reward_model(LinearRegression(), X, a, r2, 2, cv=1)
    assert not np.allclose(q3[5], q4[5])


def test_cross_fit_per_action_and_inputs():
    rng = np.random.default_rng(19)
    n, J = 300, 3
    X = rng.normal(size=(n, 2))
    a = rng.integers(0, J, n)
    r = X[:, 0] * a + rng.normal(scale=0.1, size=n)
    splits = list(KFold(3, shuffle=True, random_state=1).split(X))
    q = cross_fit_reward_model(
        LinearRegression(), X, a, r, J, cv=splits, method="per_action"
    )
    ref = np.empty((n, J))
    for train, test in splits:
        for j in range(J):
            rows = train[a[train] == j]
            ref[test, j] = LinearRegression().fit(X[rows], r[rows]).predict(X[test])
    np.testing.assert_allclose(q, ref, rtol=1e-12)
    # a DataFrame through a pipeline that selects columns by name, and sparse X
    frame = pd.DataFrame(X, columns=["x0", "action_0"])  # a clashing name
    pipe = make_pipeline(StandardScaler(), LinearRegression())
    qf = cross_fit_reward_model(pipe, frame, a, r, J, cv=3, random_state=0)
    qa = cross_fit_reward_model(pipe, X, a, r, J, cv=3, random_state=0)
    np.testing.assert_allclose(qf, qa, rtol=1e-10)
    qs = cross_fit_reward_model(
        LinearRegression(), sp.csr_matrix(X), a, r, J, cv=3, random_state=0
    )
    qd = cross_fit_reward_model(LinearRegression(), X, a, r, J, cv=3, random_state=0)
    np.testing.assert_allclose(qs, qd, rtol=1e-8, atol=1e-10)
    assert cross_fit_reward_model(LinearRegression(), X, a, r, cv=3).shape == (n, J)


def test_cross_fit_classifier_and_errors():
    rng = np.random.default_rng(20)
    X = rng.normal(size=(200, 2))
    a = rng.integers(0, 2, 200)
    y = (rng.random(200) < 0.3).astype(float)
    q = cross_fit_reward_model(LogisticRegression(), X, a, y, 2, random_state=0)
    assert ((q > 0) & (q < 1)).all()
    with pytest.raises(ValueError, match="binary rewards"):
        cross_fit_reward_model(LogisticRegression(), X, a, y + 0.5, 2)
    with pytest.raises(ValueError, match="absent from a training fold"):
        cross_fit_reward_model(
            LinearRegression(),
            X,
            np.r_[a[:-1], 2],
            y,
            3,
            method="per_action",
            cv=2,
            random_state=0,
        )
    with pytest.raises(ValueError, match="`method`"):
        cross_fit_reward_model(LinearRegression(), X, a, y, method="magic")
    with pytest.raises(ValueError, match="every input"):
        cross_fit_reward_model(LinearRegression(), X, a[:-1], y, 2)
    with pytest.raises(ValueError, match="`cv`"):
        cross_fit_reward_model(LinearRegression(), X, a, y, 2, cv=0)
    with pytest.raises(ValueError, match="2-D"):
        cross_fit_reward_model(LinearRegression(), X[:, 0], a, y, 2)
    with pytest.raises(ValueError, match="test fold"):
        cross_fit_reward_model(
            LinearRegression(), X, a, y, 2, cv=[(np.arange(100), np.arange(100, 150))]
        )


# ------------------------------------------------------------------ input errors


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(reward=np.ones(9)), "`reward` has 9 rounds"),
        (dict(action=np.zeros(9, int)), "`action` has 9 rounds"),
        (dict(pscore=np.full(9, 0.5)), "`pscore` has 9 rounds"),
        (dict(pscore=np.r_[0.0, np.full(9, 0.5)]), r"in \(0, 1\]"),
        (dict(pscore=np.r_[1.5, np.full(9, 0.5)]), r"in \(0, 1\]"),
        (dict(pscore=np.r_[np.nan, np.full(9, 0.5)]), r"in \(0, 1\]"),
        (dict(action=np.r_[3, np.zeros(9, int)]), "must lie in 0..2"),
        (dict(action=np.r_[-1, np.zeros(9, int)]), "must lie in 0..2"),
        (dict(action=np.r_[0.5, np.zeros(9)]), "integer action indices"),
        (dict(action=np.array(["a"] * 10)), "integer action indices"),
        (dict(reward=np.r_[np.nan, np.ones(9)]), "NaN or infinite"),
        (dict(action_dist=np.full((10, 3), 0.5)), "must sum to 1"),
        (dict(action_dist=np.tile([1.5, -0.5, 0.0], (10, 1))), "negative"),
        (dict(action_dist=np.full(10, 0.5)), "2-D"),
        (dict(action_dist=np.full((10, 3), np.nan)), "NaN or infinite"),
        (dict(q_hat=np.zeros((10, 2))), "has 2 actions"),
        (dict(q_hat=np.zeros((9, 3))), "`q_hat` has 9 rounds"),
        (dict(max_weight=0.0), "`max_weight`"),
        (dict(max_weight=-1.0), "`max_weight`"),
        (dict(alpha=1.5), "`alpha`"),
        (dict(ci="wald"), "`ci`"),
        (dict(n_bootstrap=1), "`n_bootstrap`"),
    ],
)
def test_input_errors(change, message):
    args = dict(
        reward=np.ones(10),
        action=np.zeros(10, int),
        pscore=np.full(10, 0.5),
        action_dist=np.tile([0.2, 0.3, 0.5], (10, 1)),
        q_hat=np.zeros((10, 3)),
    )
    args.update(change)
    with pytest.raises(ValueError, match=message):
        doubly_robust(**args)


def test_more_input_errors():
    r, a, p = np.ones(4), np.array([0, 1, 0, 1]), np.full(4, 0.5)
    pe = np.tile([0.5, 0.5], (4, 1))
    pol = TablePolicy(np.array([[0.5, 0.5]]), ["x", "y"]).fit(None)
    with pytest.raises(ValueError, match="pass the logged states as X"):
        inverse_propensity_score(r, a, p, pol)
    with pytest.raises(ValueError, match="not among the policy's classes_"):
        inverse_propensity_score(r, np.array(["x", "y", "z", "x"]), p, pol, X=[[0]] * 4)
    other = TablePolicy(np.array([[0.5, 0.5]]), ["x", "w"]).fit(None)
    with pytest.raises(ValueError, match="different classes_"):
        inverse_propensity_score(r, ["x"] * 4, other, pol, X=[[0]] * 4)
    with pytest.raises(ValueError, match="`threshold`"):
        switch_doubly_robust(r, a, p, pe, np.zeros((4, 2)), -1.0)
    with pytest.raises(ValueError, match="`threshold`"):
        switch_doubly_robust(r, a, p, pe, np.zeros((4, 2)), None)
    with pytest.raises(ValueError, match="undefined"):
        self_normalized_ips(r, a, p, np.tile([0.0, 0.0, 1.0], (4, 1)))
    with pytest.raises(ValueError, match="`action`"):
        inverse_propensity_score(r, None, p, pe)
    with pytest.raises(ValueError, match="`pscore`"):
        inverse_propensity_score(r, a, None, pe)
    with pytest.raises(ValueError, match="0 rows"):
        inverse_propensity_score([], [], [], np.zeros((0, 2)))
    with pytest.raises(ValueError, match="`quantiles`"):
        importance_weight_diagnostics(a, p, pe, quantiles=[2.0])
