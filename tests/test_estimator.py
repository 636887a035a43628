"""SoftmaxChoiceEstimator: fitting, method semantics, and the contract tests."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp, softmax
from sklearn.exceptions import ConvergenceWarning

from skpolicy import SoftmaxChoiceEstimator
from skpolicy._solvers import SOLVERS
from skpolicy.datasets import make_choice_data

TIGHT = {"tol": 1e-11}


@pytest.fixture
def ragged():
    return make_choice_data(400, 5, 3, unavailable=0.3, random_state=3)


def test_long_and_dense_give_the_same_fit(ragged_weighted_counts, to_long):
    X, counts, weights = ragged_weighted_counts
    dense = SoftmaxChoiceEstimator(**TIGHT).fit(X, counts, sample_weight=weights)
    Xl, yl, wl = to_long(X, counts, weights)
    shuffled = np.random.default_rng(0).permutation(len(yl))
    long = SoftmaxChoiceEstimator(**TIGHT).fit(
        Xl.iloc[shuffled], yl[shuffled], sample_weight=wl[shuffled]
    )
    np.testing.assert_allclose(long.coef_, dense.coef_, rtol=1e-8, atol=1e-10)
    assert long.log_likelihood_ == pytest.approx(dense.log_likelihood_, rel=1e-12)
    assert long.n_situations_ == dense.n_situations_ == 60
    available = ~np.isnan(X).all(axis=2)
    np.testing.assert_allclose(
        long.predict_proba(Xl), dense.predict_proba(X)[available]
    )
    assert long.score(Xl, yl, sample_weight=wl) == pytest.approx(
        dense.score(X, counts, sample_weight=weights), rel=1e-12
    )


def test_method_shapes_and_meanings_dense(ragged):
    X, y = ragged
    est = SoftmaxChoiceEstimator().fit(X, y)
    n, J, _ = X.shape
    unavailable = np.isnan(X).all(axis=2)
    u = np.where(unavailable, -np.inf, np.nan_to_num(X) @ est.coef_)
    decision = est.decision_function(X)
    assert decision.shape == (n, J)
    np.testing.assert_allclose(decision, u)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba, softmax(u, axis=1), atol=1e-15)
    assert np.all(proba[unavailable] == 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    log_proba = est.predict_log_proba(X)
    np.testing.assert_allclose(log_proba, u - logsumexp(u, axis=1, keepdims=True))
    assert np.all(np.isneginf(log_proba[unavailable]))
    np.testing.assert_array_equal(est.score_samples(X), log_proba)
    pred = est.predict(X)
    assert pred.shape == (n,)
    np.testing.assert_array_equal(pred, proba.argmax(axis=1))
    expected_score = np.mean(log_proba[np.arange(n), y])
    assert est.score(X, y) == pytest.approx(expected_score, rel=1e-12)


def test_method_shapes_and_meanings_long():
    X, y = make_choice_data(300, 4, 3, unavailable=0.25, format="long", random_state=5)
    est = SoftmaxChoiceEstimator().fit(X, y)
    situations = X.index.get_level_values(0)
    u = X.to_numpy() @ est.coef_
    np.testing.assert_allclose(est.decision_function(X), u)
    expected_logp = u - pd.Series(u).groupby(situations).transform(logsumexp).to_numpy()
    np.testing.assert_allclose(est.predict_log_proba(X), expected_logp)
    np.testing.assert_allclose(est.score_samples(X), expected_logp)
    proba = est.predict_proba(X)
    assert proba.shape == (len(X),)
    np.testing.assert_allclose(pd.Series(proba).groupby(situations).sum(), 1.0)
    pred = est.predict(X)
    assert set(np.unique(pred)) == {0, 1}
    assert np.all(pd.Series(pred).groupby(situations).sum() == 1)
    best = pd.Series(proba).groupby(situations).transform("max").to_numpy()
    assert np.all(proba[pred == 1] == best[pred == 1])
    assert est.score(X, y) == pytest.approx(np.mean(expected_logp[y == 1]), rel=1e-12)
    assert est.log_likelihood_ == pytest.approx(
        np.sum(expected_logp[y == 1]), rel=1e-12
    )


def test_predict_breaks_ties_on_the_first_alternative():
    X, y = make_choice_data(50, 3, 2, random_state=0)
    est = SoftmaxChoiceEstimator().fit(X, y)
    tied = np.repeat(X[:1, :1], 3, axis=1)  # three identical alternatives
    assert est.predict(tied).tolist() == [0]


def test_integer_weights_equal_repeated_situations(ragged):
    X, y = ragged
    w = np.random.default_rng(2).integers(0, 4, size=len(y))
    weighted = SoftmaxChoiceEstimator(**TIGHT).fit(X, y, sample_weight=w)
    repeated = SoftmaxChoiceEstimator(**TIGHT).fit(
        np.repeat(X, w, axis=0), np.repeat(y, w)
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(
        repeated.log_likelihood_, rel=1e-10
    )


def test_scaling_all_weights_changes_nothing(ragged):
    X, y = ragged
    w = np.random.default_rng(2).uniform(0.5, 2.0, size=len(y))
    for alpha in (0.0, 0.05):
        a = SoftmaxChoiceEstimator(alpha=alpha, **TIGHT).fit(X, y, sample_weight=w)
        b = SoftmaxChoiceEstimator(alpha=alpha, **TIGHT).fit(
            X, y, sample_weight=7.5 * w
        )
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9)


def test_counts_equal_repeated_choices(ragged):
    X, y = ragged
    counts = np.zeros((len(y), 5))
    counts[np.arange(len(y)), y] = 2.0
    a = SoftmaxChoiceEstimator(**TIGHT).fit(X, counts)
    b = SoftmaxChoiceEstimator(**TIGHT).fit(X, y, sample_weight=np.full(len(y), 2.0))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9)


def test_permuting_alternatives_permutes_probabilities(ragged):
    X, y = ragged
    est = SoftmaxChoiceEstimator().fit(X, y)
    perm = np.array([3, 0, 4, 1, 2])
    inverse = np.argsort(perm)
    refit = SoftmaxChoiceEstimator().fit(X[:, perm], inverse[y])
    np.testing.assert_allclose(refit.coef_, est.coef_, rtol=1e-8)
    np.testing.assert_allclose(
        est.predict_proba(X[:, perm]), est.predict_proba(X)[:, perm]
    )


def test_situation_constant_shift_changes_nothing(ragged):
    X, y = ragged
    est = SoftmaxChoiceEstimator(**TIGHT).fit(X, y)
    shift = np.random.default_rng(0).normal(size=(len(y), 1, 3)) * 10
    shifted = SoftmaxChoiceEstimator(**TIGHT).fit(X + shift, y)
    np.testing.assert_allclose(shifted.coef_, est.coef_, rtol=1e-7)
    np.testing.assert_allclose(
        est.predict_proba(X + shift), est.predict_proba(X), atol=1e-12
    )


def test_predictions_of_a_situation_do_not_depend_on_the_batch(ragged):
    X, y = ragged
    est = SoftmaxChoiceEstimator().fit(X, y)
    np.testing.assert_allclose(est.predict_proba(X[7:8]), est.predict_proba(X)[7:8])


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_reaches_the_same_optimum(ragged_weighted_counts, solver):
    X, counts, weights = ragged_weighted_counts
    reference = SoftmaxChoiceEstimator(solver="newton-cholesky", **TIGHT).fit(
        X, counts, sample_weight=weights
    )
    # scipy's trust-region methods cannot go much below 1e-8 (see the docstring).
    tol = 1e-8 if solver.startswith("trust") else 1e-10
    for alpha in (0.0, 0.1):
        est = SoftmaxChoiceEstimator(solver=solver, alpha=alpha, tol=tol)
        est.fit(X, counts, sample_weight=weights)
        if alpha == 0:
            np.testing.assert_allclose(est.coef_, reference.coef_, rtol=1e-6)
        assert est.converged_ and est.n_iter_ > 0
        assert est.solver_ == solver


def test_auto_solver_resolves():
    X, y = make_choice_data(100, 3, 2, random_state=0)
    assert SoftmaxChoiceEstimator().fit(X, y).solver_ == "newton-cholesky"


def test_penalty_shrinks_towards_zero(ragged):
    X, y = ragged
    norms = [
        np.linalg.norm(SoftmaxChoiceEstimator(alpha=a).fit(X, y).coef_)
        for a in (0.0, 0.1, 1.0, 10.0)
    ]
    assert norms == sorted(norms, reverse=True)


def test_penalised_optimum_has_zero_gradient(ragged):
    """At the penalised optimum alpha * coef equals the mean score."""
    X, y = ragged
    alpha = 0.2
    est = SoftmaxChoiceEstimator(alpha=alpha, **TIGHT).fit(X, y)
    proba = est.predict_proba(X)
    Xz = np.nan_to_num(X)
    mean_x = np.einsum("sj,sjk->sk", proba, Xz)
    score = (Xz[np.arange(len(y)), y] - mean_x).mean(axis=0)
    np.testing.assert_allclose(alpha * est.coef_, score, atol=1e-10)


def test_recovers_known_coefficients():
    coef = np.array([1.0, -0.5, 0.25, 2.0])
    X, y = make_choice_data(20_000, 6, 4, coef=coef, unavailable=0.2, random_state=11)
    est = SoftmaxChoiceEstimator().fit(X, y)
    # Standard errors from the inverse Hessian of the total log-likelihood.
    proba = est.predict_proba(X)
    Xz = np.nan_to_num(X)
    mean_x = np.einsum("sj,sjk->sk", proba, Xz)
    centred = Xz - mean_x[:, None, :]
    hess = np.einsum("sj,sjk,sjl->kl", proba, centred, centred)
    se = np.sqrt(np.diag(np.linalg.inv(hess)))
    assert np.all(np.abs(est.coef_ - coef) < 4 * se)
    assert np.all(se < 0.05)


def test_warm_start_continues_from_previous_coef(ragged):
    X, y = ragged
    est = SoftmaxChoiceEstimator(warm_start=True, **TIGHT).fit(X, y)
    first = est.coef_.copy()
    est.fit(X, y)
    assert est.n_iter_ == 0  # already at the optimum
    np.testing.assert_array_equal(est.coef_, first)
    cold = SoftmaxChoiceEstimator(max_iter=1, solver="lbfgs")
    with pytest.warns(ConvergenceWarning):
        cold.fit(X, y)
    warm = SoftmaxChoiceEstimator(max_iter=1, solver="lbfgs", warm_start=True)
    warm.coef_ = first + 1e-3
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    assert np.linalg.norm(warm.coef_ - first) < np.linalg.norm(cold.coef_ - first)


def test_convergence_warning_when_max_iter_is_too_small(ragged):
    X, y = ragged
    with pytest.warns(ConvergenceWarning, match="did not reach max\\|gradient\\|"):
        est = SoftmaxChoiceEstimator(max_iter=2, solver="lbfgs").fit(X, y)
    assert not est.converged_ and est.n_iter_ == 2


def test_verbose_prints_iterations(ragged, capsys):
    X, y = ragged
    SoftmaxChoiceEstimator(verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "[newton-cholesky] iter   1" in out and "max|grad|" in out


def test_float32_input_is_accepted_and_accurate():
    X, y = make_choice_data(3000, 5, 3, random_state=9)
    est64 = SoftmaxChoiceEstimator().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est32 = SoftmaxChoiceEstimator(tol=1e-6).fit(X.astype(np.float32), y)
    np.testing.assert_allclose(est32.coef_, est64.coef_, rtol=1e-5)
    assert est32.predict_proba(X.astype(np.float32)).dtype == np.float64


def test_huge_utilities_predict_finite_log_probabilities():
    X, y = make_choice_data(200, 4, 2, random_state=0)
    est = SoftmaxChoiceEstimator().fit(X, y)
    est.coef_ = np.array([1e4, -1e4])
    log_proba = est.predict_log_proba(X)
    assert np.all(np.isfinite(log_proba))
    assert np.all(log_proba <= 0)
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)


def test_situation_id_in_a_column_or_named_level():
    X, y = make_choice_data(100, 3, 2, format="long", random_state=0)
    by_level = SoftmaxChoiceEstimator().fit(X, y)
    named = SoftmaxChoiceEstimator(situation_key="situation").fit(X, y)
    column = SoftmaxChoiceEstimator(situation_key="case").fit(
        X.reset_index()
        .drop(columns="alternative")
        .rename(columns={"situation": "case"}),
        y,
    )
    np.testing.assert_allclose(named.coef_, by_level.coef_)
    np.testing.assert_allclose(column.coef_, by_level.coef_)
    assert list(column.feature_names_in_) == ["x0", "x1"]


def test_fitted_attributes():
    X, y = make_choice_data(100, 3, 2, format="long", random_state=0)
    est = SoftmaxChoiceEstimator().fit(X, y)
    assert est.coef_.shape == (2,)
    assert est.n_features_in_ == 2
    assert list(est.feature_names_in_) == ["x0", "x1"]
    assert est.n_situations_ == 100
    assert est.n_iter_ >= 1 and est.converged_
    assert est.log_likelihood_ < 0
    dense = SoftmaxChoiceEstimator().fit(*make_choice_data(10, 3, 4, random_state=0))
    assert dense.n_features_in_ == 4 and not hasattr(dense, "feature_names_in_")


def test_agrees_with_statsmodels_conditional_logit(ragged, to_long):
    sm_conditional = pytest.importorskip("statsmodels.discrete.conditional_models")
    X, y = ragged
    Xl, yl = to_long(X, y)
    est = SoftmaxChoiceEstimator(**TIGHT).fit(Xl, yl)
    model = sm_conditional.ConditionalLogit(
        yl, Xl.to_numpy(), groups=Xl.index.get_level_values(0).to_numpy()
    )
    result = model.fit(method="newton", tol=1e-14, maxiter=100, disp=0)
    np.testing.assert_allclose(est.coef_, result.params, rtol=1e-6)
    assert est.log_likelihood_ == pytest.approx(result.llf, rel=1e-8)
