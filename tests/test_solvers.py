"""Numerics that must not depend on the units of the features (issue 9).

- the stopping rule and every solver's path (skpolicy._solvers);
- the collinearity and separation diagnostics (skpolicy._identification);
- log-probabilities that never exceed 0 (skpolicy._softmax).
"""

import warnings

import numpy as np
import pytest

from skpolicy import SoftmaxChoiceEstimator
from skpolicy._data import dense_block
from skpolicy._linear_loss import LinearChoiceLoss
from skpolicy._segments import make_segments
from skpolicy._softmax import segment_log_softmax, segment_logsumexp
from skpolicy._solvers import SOLVERS, solve
from skpolicy.datasets import make_choice_data
from skpolicy.exceptions import CollinearityWarning, SeparationWarning


# scipy's trust-region methods stop where changes of the objective drown in
# rounding, near a gradient of 1e-8 (see the estimator's docstring).
def _tol(solver):
    return 1e-7 if solver.startswith("trust") else 1e-8


@pytest.fixture(scope="module")
def problem():
    X, y = make_choice_data(300, 4, 3, random_state=0)
    reference = SoftmaxChoiceEstimator(tol=1e-12).fit(X, y)
    return X, y, reference.coef_


# --------------------------------------------------------------------------------
# Stopping rule
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e-8, 1e-7, 1e4])
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_rescaled_features_give_rescaled_coefficients(problem, solver, scale):
    X, y, coef = problem
    est = SoftmaxChoiceEstimator(solver=solver, tol=_tol(solver)).fit(X * scale, y)
    assert est.converged_ and est.n_iter_ > 0
    np.testing.assert_allclose(est.coef_ * scale, coef, rtol=1e-6)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_features_in_very_different_units(problem, solver):
    X, y, coef = problem
    units = np.array([1e-8, 1.0, 1e4])
    est = SoftmaxChoiceEstimator(solver=solver, tol=_tol(solver)).fit(X * units, y)
    assert est.converged_
    np.testing.assert_allclose(est.coef_ * units, coef, rtol=1e-6)


def test_the_rule_is_the_same_in_every_unit(problem):
    # The solver takes the same steps whatever the units: same iterations, same
    # (rescaled) coefficients to rounding, same convergence decision.
    X, y, _ = problem
    runs = [
        SoftmaxChoiceEstimator(solver="newton-cholesky").fit(X * c, y)
        for c in (1e-8, 1.0, 1e4)
    ]
    assert len({r.n_iter_ for r in runs}) == 1
    for r, c in zip(runs, (1e-8, 1.0, 1e4), strict=True):
        np.testing.assert_allclose(r.coef_ * c, runs[1].coef_, rtol=1e-10)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_tol_bounds_the_standardised_gradient(problem, solver):
    X, y, _ = problem
    loss = LinearChoiceLoss(dense_block(X * 1e-6, y))
    H0 = loss.gradient_hessian(np.zeros(3))[2]
    scale = np.sqrt(np.diag(H0))
    previous = np.inf
    for tol in (1e-3, 1e-6):
        result = solve(loss, np.zeros(3), solver=solver, max_iter=100, tol=tol)
        criterion = np.max(np.abs(result.gradient / scale))
        assert result.converged and criterion <= tol
        assert criterion <= previous
        previous = criterion


def test_max_iter_still_reports_non_convergence(problem):
    from sklearn.exceptions import ConvergenceWarning

    X, y, _ = problem
    with pytest.warns(ConvergenceWarning, match="standardised") as record:
        est = SoftmaxChoiceEstimator(solver="lbfgs", max_iter=1).fit(X * 1e-8, y)
    assert not est.converged_
    assert record[0].filename == __file__


# --------------------------------------------------------------------------------
# Identification diagnostics
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [1e6, 1e-6])
def test_collinearity_warning_does_not_depend_on_units(problem, factor):
    X, y, _ = problem
    X = X.copy()
    X[:, :, 1] *= factor
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SoftmaxChoiceEstimator().fit(X, y)


@pytest.mark.parametrize("factor", [1e6, 1e-6])
def test_collinear_features_are_named_in_any_units(problem, factor):
    X, y, _ = problem
    # x3 = 2 x0 (up to units): x0 and x3 are collinear, x1 and x2 are not.
    X = np.concatenate([X, 2 * X[:, :, :1] * factor], axis=2)
    X[:, :, 1] *= 1 / factor
    with pytest.warns(CollinearityWarning, match=r"\['x0', 'x3'\]") as record:
        SoftmaxChoiceEstimator().fit(X, y)
    message = str(record[0].message)
    assert "x1" not in message and "x2" not in message
    assert record[0].filename == __file__


@pytest.mark.parametrize("factor", [1e6, 1e-6])
def test_separation_is_found_in_any_units(problem, factor):
    X, y, _ = problem
    X = X.copy()
    X[:, :, 2] = 0.0
    X[np.arange(len(y)), y, 2] = factor  # x2 marks the chosen alternative
    with pytest.warns(SeparationWarning, match=r"involving \[[^]]*'x2'"):
        SoftmaxChoiceEstimator().fit(X, y)


# --------------------------------------------------------------------------------
# Log-probabilities
# --------------------------------------------------------------------------------


def _spread_utilities(seed, n=1000, size=3):
    # Utilities spread over 590 (the old code's one-shift range): situations far
    # below the top one used to get a log-sum-exp a few ulps below their maximum.
    rng = np.random.default_rng(seed)
    u = rng.uniform(-590, 0, size=(n, size))
    u[0, 0] = 0.0
    return u


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_log_probabilities_never_exceed_zero(seed):
    u = _spread_utilities(seed)
    for sizes in (np.full(1000, 3), None):
        flat = u.ravel()
        if sizes is None:  # ragged situations take the other code path
            sizes = np.random.default_rng(seed).integers(1, 6, size=600)
            flat = flat[: sizes.sum()]
        segments = make_segments(sizes)
        lse, proba = segment_logsumexp(flat, segments)
        assert np.all(flat - segments.expand(lse) <= 0.0)
        assert np.all(segment_log_softmax(flat, segments) <= 0.0)
        assert np.all(proba <= 1.0)
        np.testing.assert_allclose(segments.sum(proba), 1.0, rtol=1e-12)


def test_propensities_from_score_samples_never_exceed_one():
    X = _spread_utilities(1)[:, :, None]
    y = np.zeros(len(X), dtype=int)
    y[1::2] = 1
    est = SoftmaxChoiceEstimator().fit(X, y)
    est.coef_ = np.array([1.0])  # set by hand: utilities are X itself
    log_proba = est.predict_log_proba(X)
    assert log_proba.max() <= 0.0
    assert np.exp(est.score_samples(X)).max() <= 1.0
    exact = X[:, :, 0] - np.log(np.exp(X[:, :, 0]).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(log_proba, exact, rtol=1e-12, atol=1e-12)
