"""SoftmaxPolicy: the linear softmax policy over state features (a classifier)."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skpolicy import SoftmaxChoiceEstimator, SoftmaxPolicy
from skpolicy.exceptions import SingleAlternativeWarning


def logged(n=3000, P=3, J=4, seed=0, scale=0.8):
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n, P))
    gamma = rng.normal(size=(P, J)) * scale
    logits = S @ gamma + np.linspace(-0.5, 0.5, J)
    a = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    return S, a


def expanded_long(S, a, J, mask=None, phi=None, reference=0, intercept=True):
    """The same model as a conditional logit on e_a (x) [s, 1] (materialised)."""
    n, P = S.shape
    Z = np.hstack([S, np.ones((n, 1))]) if intercept else S
    free = [j for j in range(J) if j != reference]
    cols = []
    if phi is not None:
        cols += [f"phi{k}" for k in range(phi.shape[2])]
    names = [f"x{k}" for k in range(P)] + (["intercept"] if intercept else [])
    cols += [f"{f}[{j}]" for j in free for f in names]
    rows = []
    for s in range(n):
        for j in range(J):
            if mask is not None and not mask[s, j]:
                continue
            vec = [] if phi is None else list(phi[s, j])
            for f in free:
                vec += list(Z[s] if f == j else np.zeros(Z.shape[1]))
            rows.append((s, j, vec, float(a[s] == j)))
    index = pd.MultiIndex.from_tuples([(s, j) for s, j, _, _ in rows])
    X = pd.DataFrame([v for _, _, v, _ in rows], index=index, columns=cols)
    y = np.array([c for *_, c in rows])
    return X, y


def test_equals_logistic_regression_without_penalty():
    S, a = logged(n=4000, P=4, J=5)
    policy = SoftmaxPolicy(tol=1e-10).fit(S, a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the spelling of "no penalty" changed in 1.8
        reference = LogisticRegression(penalty=None, tol=1e-12, max_iter=10_000)
        reference.fit(S, a)
    proba = reference.predict_proba(S)
    ll_sklearn = float(np.log(proba[np.arange(len(a)), a]).sum())
    assert policy.log_likelihood_ == pytest.approx(ll_sklearn, rel=1e-8)
    np.testing.assert_allclose(policy.predict_proba(S), proba, atol=1e-6)
    # Our coefficients are sklearn's (symmetric) ones minus the reference row.
    np.testing.assert_allclose(
        policy.coef_, reference.coef_ - reference.coef_[0], atol=1e-4
    )
    assert policy.coef_[0].tolist() == [0.0] * 4 and policy.intercept_[0] == 0


def test_equals_statsmodels_mnlogit_coefficients_errors_and_margins():
    sm = pytest.importorskip("statsmodels.api")
    S, a = logged(n=2000, P=3, J=4, seed=1)
    policy = SoftmaxPolicy(tol=1e-10).fit(S, a)
    result = sm.MNLogit(a, sm.add_constant(S)).fit(method="newton", disp=0, tol=1e-12)
    # statsmodels: params (1 + P, J - 1) with the constant first, base = class 0.
    params = np.asarray(result.params)
    bse = np.asarray(result.bse)
    table = policy.coef_table()
    for j in range(1, 4):
        for k, name in enumerate(["intercept", "x0", "x1", "x2"]):
            row = f"{name}[{j}]"
            assert table.loc[row, "coef"] == pytest.approx(params[k, j - 1], rel=1e-6)
            assert table.loc[row, "std err"] == pytest.approx(bse[k, j - 1], rel=1e-6)
    assert policy.log_likelihood_ == pytest.approx(result.llf, rel=1e-10)
    # Average marginal effects with delta-method standard errors.
    margins = result.get_margeff(at="overall", method="dydx")
    ame = policy.average_marginal_effects(S)
    effects = np.asarray(margins.margeff)  # (P, J)
    errors = np.asarray(margins.margeff_se)
    for j in range(4):
        for k in range(3):
            assert ame.loc[(j, f"x{k}"), "dy/dx"] == pytest.approx(
                effects[k, j], rel=1e-6, abs=1e-10
            )
            assert ame.loc[(j, f"x{k}"), "std err"] == pytest.approx(
                errors[k, j], rel=1e-4
            )
    # statsmodels' pseudo R^2 is McFadden's against the constants-only model.
    stats = policy.fit_statistics(S, a)
    assert stats.attrs["reference"] == "constants only"
    assert stats["mcfadden_r2"] == pytest.approx(result.prsquared, rel=1e-9)
    assert stats["lr_statistic"] == pytest.approx(result.llr, rel=1e-8)
    pd.testing.assert_series_equal(policy.fit_statistics(), stats, rtol=1e-10)


def test_state_path_equals_the_materialised_conditional_logit():
    """Z path == e_a (x) z_s as alternative features: same LL, mapped coefficients;
    an availability mask == dropping those actions from the long choice sets; and
    action features (the mixed model) ride along with shared coefficients."""
    rng = np.random.default_rng(2)
    S, a = logged(n=300, P=2, J=4, seed=2)
    mask = rng.random((300, 4)) > 0.3
    mask[np.arange(300), a] = True
    phi = rng.normal(size=(300, 4, 2))
    w = rng.uniform(0.5, 2, size=300)
    policy = SoftmaxPolicy(reference=2, tol=1e-10).fit(
        S, a, sample_weight=w, available_actions=mask, action_features=phi
    )
    X, y = expanded_long(S, a, 4, mask=mask, phi=phi, reference=2)
    w_rows = w[X.index.get_level_values(0)]
    # States where the mask leaves one action are single-alternative situations.
    with pytest.warns(SingleAlternativeWarning):
        clogit = SoftmaxChoiceEstimator(tol=1e-10).fit(X, y, sample_weight=w_rows)
    assert policy.log_likelihood_ == pytest.approx(clogit.log_likelihood_, rel=1e-10)
    coef = pd.Series(policy._coef_vector(), index=policy.covariance_matrix().index)
    np.testing.assert_allclose(coef[X.columns], clogit.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        policy.covariance_matrix().loc[X.columns, X.columns],
        clogit.covariance_matrix(),
        rtol=1e-6,
    )
    proba = policy.predict_proba(S, available_actions=mask, action_features=phi)
    assert np.all(proba[~mask] == 0)
    long_proba = clogit.predict_proba(X)
    s_idx, j_idx = (X.index.get_level_values(i).to_numpy() for i in (0, 1))
    np.testing.assert_allclose(proba[s_idx, j_idx], long_proba, rtol=1e-8)
    # The covariance types need the same per-sample inputs as fit.
    hc0 = policy.covariance_matrix(
        S,
        a,
        w,
        cov_type="HC0",
        available_actions=mask,
        action_features=phi,
    ).loc[X.columns, X.columns]
    np.testing.assert_allclose(
        hc0, clogit.covariance_matrix(X, y, w_rows, cov_type="HC0"), rtol=1e-6
    )


def test_score_vectors_and_policy_gradient_at_any_coefficients():
    S, a = logged(n=200, P=2, J=3, seed=3)
    policy = SoftmaxPolicy().fit(S, a)
    before = policy._coef_vector().copy()
    theta = np.random.default_rng(0).normal(size=before.size)
    scores = policy.score_vectors(S, a, coef=theta)
    assert scores.shape == (200, before.size)

    def log_pi(t):
        logp = policy.predict_log_proba(S, coef=t)
        return logp[np.arange(200), a]

    h = 1e-5
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        fd = (log_pi(theta + e) - log_pi(theta - e)) / (2 * h)
        np.testing.assert_allclose(scores[:, k], fd, atol=1e-8)
    # At the MLE the scores sum to zero; the signed REINFORCE estimate is one call.
    assert np.abs(policy.score_vectors(S, a).sum(axis=0)).max() < 1e-6
    advantages = np.random.default_rng(1).normal(size=200)
    np.testing.assert_allclose(
        policy.policy_gradient(S, a, advantages, coef=theta),
        advantages @ scores / 200,
    )
    np.testing.assert_array_equal(policy._coef_vector(), before)  # not mutated
    assert np.all(policy.predict_log_proba(S) <= 0)


def test_labels_reference_and_binary_decision_function():
    S, a = logged(n=500, P=2, J=3, seed=4)
    labels = np.array(["walk", "bus", "car"])[a]
    policy = SoftmaxPolicy(reference="car").fit(S, labels)
    assert policy.classes_.tolist() == ["bus", "car", "walk"]
    assert policy.reference_ == "car"
    assert np.all(policy.coef_[1] == 0)
    assert set(policy.predict(S)) <= set(labels)
    assert "x0[bus]" in policy.coef_table().index
    assert policy.score(S, labels) == pytest.approx(policy.log_likelihood_ / 500)
    binary = SoftmaxPolicy().fit(S, a == 0)
    d = binary.decision_function(S)
    assert d.shape == (500,)
    p = binary.predict_proba(S)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-d)))


def test_sampling_returns_exact_propensities():
    S, a = logged(n=50, P=2, J=3, seed=5)
    policy = SoftmaxPolicy().fit(S, a)
    actions, propensities = policy.sample(S, random_state=0)
    proba = policy.predict_proba(S)
    codes = np.searchsorted(policy.classes_, actions)
    np.testing.assert_allclose(propensities, proba[np.arange(50), codes])
    draws, props = policy.sample(S, n_draws=4, epsilon=0.1, random_state=0)
    assert draws.shape == props.shape == (50, 4)
    rankings, log_proba = policy.sample_rankings(S, 2, random_state=0)
    assert rankings.shape == (50, 2) and np.all(log_proba < 0)


def test_pipeline_grid_search_cross_val_clone_pickle():
    S, a = logged(n=600, P=3, J=3, seed=6)
    pipe = make_pipeline(StandardScaler(), SoftmaxPolicy())
    search = GridSearchCV(pipe, {"softmaxpolicy__alpha": [0.0, 0.1]}, cv=KFold(3))
    search.fit(S, a)
    assert search.best_params_["softmaxpolicy__alpha"] in (0.0, 0.1)
    scores = cross_val_score(SoftmaxPolicy(), S, a, cv=3)
    assert np.all(scores < 0)  # mean log-likelihood
    policy = SoftmaxPolicy(alpha=0.01).fit(S, a)
    again = pickle.loads(pickle.dumps(policy))
    np.testing.assert_allclose(again.predict_proba(S), policy.predict_proba(S))
    assert clone(policy).get_params() == policy.get_params()
    # The inference functions take the Pipeline.
    from skpolicy.inference import coef_table

    fitted = make_pipeline(StandardScaler(), SoftmaxPolicy()).fit(S, a)
    assert coef_table(fitted).shape == (8, 6)


def test_masks_survive_cross_validation_as_fit_parameters():
    rng = np.random.default_rng(7)
    S, a = logged(n=400, P=2, J=3, seed=7)
    mask = rng.random((400, 3)) > 0.2
    mask[np.arange(400), a] = True
    search = GridSearchCV(SoftmaxPolicy(), {"alpha": [0.0, 0.01]}, cv=3)
    search.fit(S, a, available_actions=mask)  # sliced with the samples
    assert search.best_estimator_.predict_proba(S, available_actions=mask)[
        ~mask
    ].max() == (0)


def test_warm_start_and_coefficient_shapes():
    S, a = logged(n=300, P=2, J=3, seed=8)
    policy = SoftmaxPolicy(warm_start=True).fit(S, a)
    n_iter = policy.fit(S, a).n_iter_
    assert n_iter <= 1
    assert policy.coef_.shape == (3, 2) and policy.intercept_.shape == (3,)
    with pytest.raises(ValueError, match="warm_start=True but the previous"):
        policy.fit(np.hstack([S, S[:, :1]]), a)


def test_bad_input_is_refused_clearly():
    S, a = logged(n=100, P=2, J=3, seed=9)
    mask = np.ones((100, 3), dtype=bool)
    mask[5, a[5]] = False
    S_copy, mask_copy = S.copy(), mask.copy()
    with pytest.raises(ValueError, match="logged action .* of sample 5 is unavailable"):
        SoftmaxPolicy().fit(S, a, available_actions=mask)
    empty = np.ones((100, 3), dtype=bool)
    empty[7] = False
    with pytest.raises(ValueError, match="no available action in sample 7"):
        SoftmaxPolicy().fit(S, a, available_actions=empty)
    policy = SoftmaxPolicy().fit(S, a)
    with pytest.raises(ValueError, match="is not an action the policy knows"):
        policy.score(S, np.full(100, 9))
    bad = S.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SoftmaxPolicy().fit(bad, a)
    with pytest.raises(ValueError, match="inconsistent numbers of samples|same length"):
        SoftmaxPolicy().fit(S, a[:-1])
    with pytest.raises(ValueError, match="one class only"):
        SoftmaxPolicy().fit(S, np.zeros(100))
    with pytest.raises(ValueError, match="reference='tram' is not one of"):
        SoftmaxPolicy(reference="tram").fit(S, a)
    with pytest.raises(ValueError, match="fitted with 0 action feature"):
        policy.predict_proba(S, action_features=np.zeros((100, 3, 1)))
    np.testing.assert_array_equal(S, S_copy)
    np.testing.assert_array_equal(mask, mask_copy)


def _expected_failures(estimator):
    if estimator.alpha == 0:
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "the check's data are separable: without a penalty the likelihood "
                "has no finite maximum, so two fits stop at different large "
                "coefficients (with alpha > 0 the check passes)"
            )
        }
    return {}


@parametrize_with_checks(
    [SoftmaxPolicy(), SoftmaxPolicy(alpha=0.1)],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_common_checks(estimator, check):
    with warnings.catch_warnings():
        # Separable toy data have no finite maximum-likelihood estimate.
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)
