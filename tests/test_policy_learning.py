"""Off-policy learning: skpolicy.policy_learning (issue 10 section 3)."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpolicy import SoftmaxPolicy, ope
from skpolicy.policy_learning import (
    OffPolicyLearner,
    _Estimate,
    _reward_scale,
    feedback_target,
    make_off_policy_scorer,
)
from skpolicy.sampling import sample_actions, softmax_probabilities

# ------------------------------------------------------------------ helpers


def random_logs(seed, n=300, J=4, d=3, n_phi=0, masked=False):
    """Logged rounds of a random softmax behaviour policy (not a learning problem)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    logits = X @ rng.normal(size=(d, J))
    phi = None
    if n_phi:
        phi = rng.normal(size=(n, J, n_phi))
        logits = logits + phi @ rng.normal(size=n_phi)
    available = None
    if masked:
        available = rng.random((n, J)) < 0.75
        available[np.arange(n), rng.integers(0, J, n)] = True
        logits = np.where(available, logits, -np.inf)
    action, pscore = sample_actions(logits, epsilon=0.1, random_state=seed)
    reward = rng.normal(size=n) + (action == 1) + X[:, 0] * (action == 2)
    q_hat = rng.normal(size=(n, J))
    return X, action, reward, pscore, q_hat, available, phi


def objective(learner, X, action, reward, pscore, **kw):
    """The learner's minimised objective ``theta -> (f, grad, estimate)``."""
    loss, codes, r, p, q, rho = learner._logged_block(
        X,
        action,
        reward,
        pscore,
        kw.get("q_hat"),
        kw.get("sample_weight"),
        kw.get("available_actions"),
        kw.get("action_features"),
    )
    evaluate = learner._objective(loss, codes, r, p, q, rho, _reward_scale(r, rho))
    return loss.n_params, evaluate


def finite_difference(f, theta, h=1e-6):
    grad = np.empty_like(theta)
    for k in range(theta.size):
        step = np.zeros_like(theta)
        step[k] = h
        grad[k] = (f(theta + step)[0] - f(theta - step)[0]) / (2 * h)
    return grad


def bandit_problem(seed, d=5, J=5):
    """Parameters of a synthetic bandit with a known optimum.

    Action 0 is safe (expected reward 0.5 in every state); the others pay
    ``sigmoid(2 (x @ W_a + b_a))``. The best policy plays the best action of
    each state; its value is ``E max_a q(x, a)``. The behaviour policy is a
    softmax in the states that ignores the rewards, mixed with 10% uniform.
    """
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(d, J)),
        0.5 * rng.normal(size=J),
        0.5 * rng.normal(size=(d, J)),
    )


def expected_reward(X, problem):
    W, b, _ = problem
    q = 1 / (1 + np.exp(-2 * (X @ W + b)))
    q[:, 0] = 0.5
    return q


def simulate(problem, n, seed):
    rng = np.random.default_rng(seed)
    W, _, B = problem
    X = rng.normal(size=(n, W.shape[0]))
    q = expected_reward(X, problem)
    behaviour = softmax_probabilities(X @ B, epsilon=0.1)
    action, pscore = sample_actions(X @ B, epsilon=0.1, random_state=seed)
    reward = rng.binomial(1, q[np.arange(n), action]).astype(float)
    return X, action, reward, pscore, q, behaviour


def true_value(proba, q):
    return float(np.mean(np.sum(proba * q, axis=1)))


# ------------------------------------------------------ gradient = derivative

CASES = {
    "plain": {},
    "clipped+penalised": {"max_weight": 2.0, "variance_penalty": 1.5},
    "weighted+masked+phi": {"variance_penalty": 0.7, "alpha": 0.1},
}


@pytest.mark.parametrize("estimator", ["ips", "snips", "dr"])
@pytest.mark.parametrize("case", list(CASES))
def test_gradient_matches_finite_differences(estimator, case):
    params = CASES[case]
    extra = case == "weighted+masked+phi"
    X, action, reward, pscore, q_hat, available, phi = random_logs(
        1, n_phi=2 if extra else 0, masked=extra
    )
    kw = {"q_hat": q_hat}
    if extra:
        kw.update(
            sample_weight=np.random.default_rng(2).integers(0, 4, X.shape[0]),
            available_actions=available,
            action_features=phi,
        )
    learner = OffPolicyLearner(estimator=estimator, **params)
    n_params, f = objective(learner, X, action, reward, pscore, **kw)
    theta = np.random.default_rng(3).normal(scale=0.5, size=n_params)
    value, grad, est = f(theta)
    if "max_weight" in params:
        assert 0 < np.sum(~est.active) < X.shape[0]  # some rounds clipped, some not
    numeric = finite_difference(f, theta)
    assert np.max(np.abs(grad - numeric)) <= 1e-6 * max(1.0, np.abs(grad).max())


@pytest.mark.parametrize("estimator", ["ips", "snips", "dr"])
@pytest.mark.parametrize("max_weight", [None, 3.0])
def test_estimate_and_std_error_are_those_of_ope(estimator, max_weight):
    X, action, reward, pscore, q_hat, _, _ = random_logs(4)
    pi = np.random.default_rng(5).dirichlet(np.ones(4), size=X.shape[0])
    est = _Estimate(
        estimator, pi, action, reward, pscore, q_hat, np.ones(X.shape[0]), max_weight
    )
    func = {
        "ips": ope.inverse_propensity_score,
        "snips": ope.self_normalized_ips,
        "dr": ope.doubly_robust,
    }[estimator]
    args = (reward, action, pscore, pi) + ((q_hat,) if estimator == "dr" else ())
    ref = func(*args, max_weight=max_weight)
    assert est.value == pytest.approx(ref.estimate, abs=1e-12)
    assert est.std_error == pytest.approx(ref.std_error, rel=1e-10)
    np.testing.assert_allclose(est.contributions, ref.contributions, atol=1e-12)


def test_frequency_weights_equal_repeated_rounds():
    X, action, reward, pscore, q_hat, _, _ = random_logs(6, n=120)
    w = np.random.default_rng(7).integers(0, 3, X.shape[0])
    rep = np.repeat(np.arange(X.shape[0]), w)
    for estimator in ("snips", "dr"):
        learner = OffPolicyLearner(estimator=estimator, variance_penalty=1.0)
        a = clone(learner).fit(X, action, reward, pscore, q_hat=q_hat, sample_weight=w)
        b = clone(learner).fit(
            X[rep], action[rep], reward[rep], pscore[rep], q_hat=q_hat[rep]
        )
        np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)
        assert a.value_ == pytest.approx(b.value_, abs=1e-8)
        assert a.std_error_ == pytest.approx(b.std_error_, rel=1e-8)


# ------------------------------------------------------------ the estimator


def test_learns_the_best_action_of_each_state():
    rng = np.random.default_rng(0)
    n = 2000
    X = rng.normal(size=(n, 2))
    action = rng.integers(0, 3, n)
    best = np.argmax(X @ [[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], axis=1)
    reward = rng.binomial(1, np.where(action == best, 0.8, 0.2)).astype(float)
    learner = OffPolicyLearner().fit(X, action, reward, np.full(n, 1 / 3))
    assert learner.converged_
    assert np.mean(learner.predict(X) == best) > 0.9
    assert learner.value_ == pytest.approx(
        learner.score(X, action, reward, np.full(n, 1 / 3))
    )
    # the learned policy samples with the propensities it predicts
    a, p = learner.sample(X, random_state=0)
    np.testing.assert_allclose(p, learner.predict_proba(X)[np.arange(n), a])


def test_beats_behaviour_and_reward_weighted_classification():
    """On a bandit with a known optimum (the closing note's table, smaller)."""
    problem = bandit_problem(0)
    X, action, reward, pscore, _, _ = simulate(problem, 2000, seed=1)
    X_new, _, _, _, q, behaviour = simulate(problem, 20000, seed=2)
    learner = OffPolicyLearner().fit(X, action, reward, pscore)
    # obp's IPWLearner approach: a classifier of the logged actions weighted by r/p
    baseline = LogisticRegression().fit(X, action, sample_weight=reward / pscore)
    greedy = np.eye(5)
    values = {
        "optimum": float(np.mean(q.max(axis=1))),
        "behaviour": true_value(behaviour, q),
        "learned": true_value(learner.predict_proba(X_new), q),
        "learned greedy": true_value(greedy[learner.predict(X_new)], q),
        "baseline": true_value(baseline.predict_proba(X_new), q),
        "baseline greedy": true_value(greedy[baseline.predict(X_new)], q),
    }
    assert values["learned"] > values["behaviour"] + 0.3
    assert values["learned"] > values["baseline"] + 0.1
    assert values["learned greedy"] > values["baseline greedy"]
    assert values["learned greedy"] < values["optimum"]


@pytest.mark.parametrize("solver", ["bfgs", "cg"])
def test_solvers_reach_the_same_optimum(solver):
    X, action, reward, pscore, _, _, _ = random_logs(8)
    ref = OffPolicyLearner(alpha=0.05, tol=1e-8).fit(X, action, reward, pscore)
    other = OffPolicyLearner(alpha=0.05, tol=1e-8, solver=solver).fit(
        X, action, reward, pscore
    )
    assert ref.converged_ and other.converged_
    np.testing.assert_allclose(other.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(other.intercept_, ref.intercept_, atol=1e-5)


def test_snips_fit_is_invariant_to_reward_units_and_shifts():
    X, action, reward, pscore, _, _, _ = random_logs(9)
    ref = OffPolicyLearner(tol=1e-7).fit(X, action, reward, pscore)
    moved = OffPolicyLearner(tol=1e-7).fit(X, action, 100 * reward + 7, pscore)
    np.testing.assert_allclose(moved.coef_, ref.coef_, atol=1e-5)
    assert moved.reward_scale_ == pytest.approx(100 * ref.reward_scale_)
    assert moved.value_ == pytest.approx(100 * ref.value_ + 7)


def test_variance_penalty_and_clipping():
    X, action, reward, pscore, _, _, _ = random_logs(10, n=400)
    fits = [
        OffPolicyLearner(variance_penalty=lam).fit(X, action, reward, pscore)
        for lam in (0.0, 2.0, 8.0)
    ]
    se = [f.std_error_ for f in fits]
    assert se[0] > se[1] > se[2]
    # The penalised objective is the value minus lambda * SE, in reward units.
    f = fits[1]
    theta = f._coef_vector()
    penalised = (f.value_ - 2.0 * f.std_error_) / f.reward_scale_
    assert f.objective_ == pytest.approx(-penalised + 0.5 * f.alpha * theta @ theta)
    # Clipping at M: no round's weight in the objective exceeds M.
    clipped = OffPolicyLearner(estimator="ips", max_weight=1.5).fit(
        X, action, reward, pscore
    )
    w = clipped.predict_proba(X)[np.arange(X.shape[0]), action] / pscore
    expected = np.mean(np.minimum(w, 1.5) * reward)
    assert clipped.value_ == pytest.approx(expected)


def test_doubly_robust_with_masks_and_unlogged_actions():
    rng = np.random.default_rng(11)
    n, J = 600, 4
    X = rng.normal(size=(n, 2))
    q = np.column_stack(
        [
            np.full(n, 0.3),
            0.5 + 0.4 * np.tanh(X[:, 0]),
            0.4 * np.ones(n),
            np.full(n, 0.9),
        ]
    )
    # the behaviour never plays action 3 (the best one): only q_hat knows about it
    action = rng.integers(0, 3, n)
    reward = q[np.arange(n), action] + rng.normal(scale=0.1, size=n)
    pscore = np.full(n, 1 / 3)
    learner = OffPolicyLearner(estimator="dr").fit(X, action, reward, pscore, q_hat=q)
    np.testing.assert_array_equal(learner.classes_, np.arange(J))
    assert np.mean(learner.predict(X) == 3) > 0.9
    # availability: action 3 unavailable in the first half
    available = np.ones((n, J), dtype=bool)
    available[: n // 2, 3] = False
    q_nan = np.where(available, q, np.nan)  # unavailable cells may hold anything
    masked = OffPolicyLearner(estimator="dr").fit(
        X, action, reward, pscore, q_hat=q_nan, available_actions=available
    )
    proba = masked.predict_proba(X, available_actions=available)
    assert np.all(proba[: n // 2, 3] == 0)
    assert masked.score(
        X, action, reward, pscore, q_hat=q_nan, available_actions=available
    ) == pytest.approx(masked.value_)


def test_action_features_and_labels():
    X, action, reward, pscore, _, _, phi = random_logs(12, n_phi=2)
    labels = np.array(["a", "b", "c", "d"])[action]
    learner = OffPolicyLearner(reference="b").fit(
        X, labels, reward, pscore, action_features=phi
    )
    assert learner.action_coef_.shape == (2,)
    assert list(learner.classes_) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(learner.coef_[1], 0.0)
    assert learner.coef_names()[:3] == ["phi0", "phi1", "x0[a]"]
    assert set(learner.predict(X, action_features=phi)) <= set(learner.classes_)


def test_warm_start_continues_from_the_previous_fit():
    X, action, reward, pscore, _, _, _ = random_logs(13)
    learner = OffPolicyLearner(alpha=0.01, warm_start=True).fit(
        X, action, reward, pscore
    )
    first = learner.coef_.copy()
    learner.fit(X, action, reward, pscore)
    assert learner.n_iter_ <= 1
    np.testing.assert_allclose(learner.coef_, first, atol=1e-6)


def test_convergence_warning():
    X, action, reward, pscore, _, _, _ = random_logs(14)
    with pytest.warns(ConvergenceWarning, match="did not reach"):
        learner = OffPolicyLearner(max_iter=1).fit(X, action, reward, pscore)
    assert not learner.converged_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        converged = OffPolicyLearner().fit(X, action, reward, pscore)
    assert converged.converged_ and converged.n_iter_ > 1


def test_likelihood_inference_is_not_offered():
    X, action, reward, pscore, _, _, _ = random_logs(15)
    learner = OffPolicyLearner().fit(X, action, reward, pscore)
    for name in (
        "summary",
        "covariance_matrix",
        "coef_table",
        "average_marginal_effects",
    ):
        assert not hasattr(learner, name)
    with pytest.raises(AttributeError) as info:
        learner.summary()
    assert "off-policy value estimate" in str(info.value.__cause__)
    # the score function is still there (policy-gradient methods)
    assert learner.score_vectors(X, action).shape == (X.shape[0], 3 * 4)


# ------------------------------------------------------- feedback and model selection


def test_packed_feedback_equals_keyword_feedback():
    X, action, reward, pscore, q_hat, _, _ = random_logs(16)
    ref = OffPolicyLearner(estimator="dr").fit(X, action, reward, pscore, q_hat=q_hat)
    y = feedback_target(action, reward, pscore, q_hat)
    assert list(y.columns[:4]) == ["action", "reward", "pscore", "q_hat[0]"]
    as_frame = OffPolicyLearner(estimator="dr").fit(X, y)
    array = np.column_stack([action, reward, pscore, q_hat])  # float action codes
    as_array = OffPolicyLearner(estimator="dr").fit(X, array)
    for other in (as_frame, as_array):
        np.testing.assert_array_equal(other.coef_, ref.coef_)
        assert other.classes_.dtype.kind == "i"
    assert as_frame.score(X, y) == pytest.approx(ref.value_)
    # in a pipeline, the packed y reaches the learner's fit and score
    pipe = make_pipeline(StandardScaler(), OffPolicyLearner(estimator="dr")).fit(X, y)
    assert pipe.score(X, y) == pytest.approx(pipe[-1].value_)
    # a frame without the column names: positional
    unnamed = y.set_axis(range(y.shape[1]), axis=1)
    np.testing.assert_array_equal(
        OffPolicyLearner(estimator="dr").fit(X, unnamed).coef_, ref.coef_
    )


def test_grid_search_selects_by_held_out_value():
    problem = bandit_problem(1)
    X, action, reward, pscore, _, _ = simulate(problem, 1500, seed=3)
    y = feedback_target(action, reward, pscore)
    grid = {"alpha": [1e-3, 1e-1, 10.0]}
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(OffPolicyLearner(), grid, cv=cv).fit(X, y)
    # scoring=None is the learner's own (unclipped SNIPS) estimate on the held-out fold
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_["alpha"] == 1e-3 and scores[0] > scores[2]
    # the same through an explicit scorer, comparing estimators on one criterion
    search2 = GridSearchCV(
        OffPolicyLearner(),
        {"estimator": ["ips", "snips"], "alpha": [1e-3, 10.0]},
        scoring=make_off_policy_scorer("snips"),
        cv=cv,
    ).fit(X, y)
    assert search2.best_params_["alpha"] == 1e-3
    # the scorer rates any classifier over states, e.g. the reward-weighted
    # classification baseline, on the same held-out folds
    scorer = make_off_policy_scorer("snips")
    baseline = []
    for train, test in cv.split(X):
        clf = LogisticRegression().fit(
            X[train], action[train], sample_weight=(reward / pscore)[train]
        )
        baseline.append(scorer(clf, X[test], y.iloc[test]))
    assert search2.best_score_ > np.mean(baseline)


def test_grid_search_with_fit_params_and_metadata_routing():
    X, action, reward, pscore, _, _, _ = random_logs(17)
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        learner = (
            OffPolicyLearner()
            .set_fit_request(reward=True, pscore=True)
            .set_score_request(reward=True, pscore=True)
        )
        search = GridSearchCV(learner, {"alpha": [0.01, 1.0]}, cv=cv).fit(
            X, action, reward=reward, pscore=pscore
        )
    y = feedback_target(action, reward, pscore)
    packed = GridSearchCV(OffPolicyLearner(), {"alpha": [0.01, 1.0]}, cv=cv).fit(X, y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], packed.cv_results_["mean_test_score"]
    )
    # without routing, the fit parameters are sliced with the training folds
    sliced = cross_validate(
        OffPolicyLearner(),
        X,
        action,
        cv=cv,
        params={"reward": reward, "pscore": pscore},
        scoring=lambda est, X_, a_: est.n_situations_,
    )
    assert list(sliced["test_score"]) == [200, 200, 200]


def test_scorer_reads_feedback_from_y():
    X, action, reward, pscore, q_hat, _, _ = random_logs(18)
    learner = OffPolicyLearner().fit(X, action, reward, pscore)
    proba = learner.predict_proba(X)
    y = feedback_target(action, reward, pscore, q_hat)
    for name, func, extra in [
        ("ips", ope.inverse_propensity_score, ()),
        ("snips", ope.self_normalized_ips, ()),
        ("dr", ope.doubly_robust, (q_hat,)),
    ]:
        ref = func(reward, action, pscore, proba, *extra).estimate
        assert make_off_policy_scorer(name)(learner, X, y) == pytest.approx(
            ref, abs=1e-12
        )
    clipped = ope.inverse_propensity_score(
        reward, action, pscore, proba, max_weight=2.0
    )
    assert make_off_policy_scorer("ips", max_weight=2.0)(
        learner, X, y
    ) == pytest.approx(clipped.estimate)
    assert "snips" in repr(make_off_policy_scorer())


# ----------------------------------------------------------------- bad input


def test_bad_input():
    X, action, reward, pscore, q_hat, _, _ = random_logs(19, n=50)
    learner = OffPolicyLearner()
    with pytest.raises(ValueError, match="reward= and pscore="):
        learner.fit(X, action)
    with pytest.raises(ValueError, match="do not pass reward"):
        learner.fit(X, feedback_target(action, reward, pscore), reward)
    with pytest.raises(ValueError, match=re.escape("y has shape (50, 2)")):
        learner.fit(X, np.column_stack([action, reward]))
    bad = pscore.copy()
    bad[3] = 0.0
    with pytest.raises(ValueError, match=r"rounds \[3\]"):
        learner.fit(X, action, reward, bad)
    nan = reward.copy()
    nan[2] = np.nan
    with pytest.raises(ValueError, match="`reward` is NaN or infinite in round 2"):
        learner.fit(X, action, nan, pscore)
    with pytest.raises(ValueError, match="one entry per logged round"):
        learner.fit(X, action, reward[:-1], pscore)
    with pytest.raises(ValueError, match="needs reward predictions"):
        OffPolicyLearner(estimator="dr").fit(X, action, reward, pscore)
    with pytest.raises(ValueError, match=r"q_hat` must have shape"):
        OffPolicyLearner(estimator="dr").fit(
            X, action, reward, pscore, q_hat=q_hat[:, :2]
        )
    with pytest.raises(ValueError, match="estimator"):
        OffPolicyLearner(estimator="dm").fit(X, action, reward, pscore)
    with pytest.raises(ValueError, match="Unknown estimator"):
        make_off_policy_scorer("sndr")
    with pytest.raises(ValueError, match="max_weight"):
        make_off_policy_scorer(max_weight=0)
    fitted = OffPolicyLearner().fit(X, action, reward, pscore)
    with pytest.raises(ValueError, match="needs reward predictions q_hat"):
        OffPolicyLearner(estimator="dr").set_params().fit(
            X, action, reward, pscore, q_hat=q_hat
        ).score(X, action, reward, pscore)
    with pytest.raises(ValueError, match="not one of the policy's actions"):
        make_off_policy_scorer()(
            fitted, X, feedback_target(action + 10, reward, pscore)
        )
    assert isinstance(fitted, SoftmaxPolicy)
    assert clone(fitted).get_params() == fitted.get_params()
    with pytest.raises(ValueError, match="action, reward and pscore"):
        learner.fit(X, pd.DataFrame({"action": action, "reward": reward}))
