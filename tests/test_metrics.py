"""Choice scorers: any fitted estimator, validated y and weights (issue 9, part 2)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpolicy import SoftmaxChoiceEstimator
from skpolicy.datasets import make_choice_data
from skpolicy.metrics import (
    hit_rate_scorer,
    log_likelihood_scorer,
    make_top_k_scorer,
    mcfadden_r2_scorer,
)
from skpolicy.model_selection import SituationKFold

SCORERS = {
    "loglik": log_likelihood_scorer,
    "hit": hit_rate_scorer,
    "top2": make_top_k_scorer(2),
    "rho2": mcfadden_r2_scorer,
}


@pytest.fixture(scope="module")
def long_fit():
    X, y = make_choice_data(120, 4, 2, format="long", random_state=0)
    return X, y, SoftmaxChoiceEstimator().fit(X, y)


@pytest.fixture(scope="module")
def dense_fit():
    X, y = make_choice_data(120, 4, 2, random_state=0)
    return X, y, SoftmaxChoiceEstimator().fit(X, y)


def _search(X, y, **kwargs):
    pipe = make_pipeline(StandardScaler(), SoftmaxChoiceEstimator(**kwargs)).set_output(
        transform="pandas"
    )
    search = GridSearchCV(
        pipe,
        {"softmaxchoiceestimator__alpha": [0.0, 0.1]},
        cv=SituationKFold(3, **kwargs),
        scoring=mcfadden_r2_scorer,
    )
    return search.fit(X, y)


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_scorers_accept_a_fitted_search(long_fit, name):
    X, y, _ = long_fit
    search = _search(X, y)
    scorer = SCORERS[name]
    assert scorer(search, X, y) == pytest.approx(scorer(search.best_estimator_, X, y))


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_scorers_read_the_situation_key_through_a_search(long_fit, name):
    X, y, _ = long_fit
    swapped = X.swaplevel()  # (alternative, situation): the key must be followed
    search = _search(swapped, y, situation_key="situation")
    scorer = SCORERS[name]
    expected = scorer(search.best_estimator_, X, y)  # same model, default layout
    assert scorer(search, swapped, y) == pytest.approx(expected)


def test_log_likelihood_scorer_is_the_estimators_score(long_fit, dense_fit):
    X, y, est = long_fit
    w = 1.0 + X.index.get_level_values(0).to_numpy() % 3
    assert log_likelihood_scorer(est, X, y) == pytest.approx(est.score(X, y))
    assert log_likelihood_scorer(est, X, y, sample_weight=w) == pytest.approx(
        est.score(X, y, sample_weight=w)
    )
    Xd, yd, estd = dense_fit
    assert log_likelihood_scorer(estd, Xd, yd) == pytest.approx(estd.score(Xd, yd))


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_wrong_lengths_are_clear_errors(long_fit, dense_fit, name):
    scorer = SCORERS[name]
    X, y, est = long_fit
    with pytest.raises(ValueError, match=f"y has 479 entries but X has {len(X)}"):
        scorer(est, X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight has 3 entries"):
        scorer(est, X, y, sample_weight=np.ones(3))
    Xd, yd, estd = dense_fit
    with pytest.raises(ValueError, match="y has 119 entries but X has 120"):
        scorer(estd, Xd, yd[:-1])
    with pytest.raises(ValueError, match="sample_weight has 7 entries"):
        scorer(estd, Xd, yd, sample_weight=np.ones(7))


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_no_choice_is_refused_instead_of_nan(long_fit, dense_fit, name):
    scorer = SCORERS[name]
    X, y, est = long_fit
    with pytest.raises(ValueError, match="y holds no choice"):
        scorer(est, X, np.zeros_like(y))
    with pytest.raises(ValueError, match="sample_weight is 0 for every situation"):
        scorer(est, X, y, sample_weight=np.zeros(len(y)))
    Xd, yd, estd = dense_fit
    with pytest.raises(ValueError, match="y holds no choice"):
        scorer(estd, Xd, np.zeros((120, 4)))


@pytest.mark.parametrize("name", sorted(SCORERS))
@pytest.mark.parametrize("bad", [-1.0, np.nan])
def test_negative_or_nan_weights_are_refused(long_fit, dense_fit, name, bad):
    scorer = SCORERS[name]
    X, y, est = long_fit
    w = np.ones(len(y))
    w[X.index.get_level_values(0) == 5] = bad
    with pytest.raises(ValueError, match="sample_weight contains (a negative|NaN)"):
        scorer(est, X, y, sample_weight=w)
    Xd, yd, estd = dense_fit
    wd = np.ones(120)
    wd[5] = bad
    with pytest.raises(ValueError, match="sample_weight contains (a negative|NaN)"):
        scorer(estd, Xd, yd, sample_weight=wd)


def test_weights_varying_within_a_situation_are_refused(long_fit):
    X, y, est = long_fit
    w = np.ones(len(y))
    w[1] = 2.0
    with pytest.raises(ValueError, match="sample_weight varies within situation 0"):
        mcfadden_r2_scorer(est, X, y, sample_weight=w)


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_series_y_is_aligned_on_x(long_fit, name):
    X, y, est = long_fit
    shuffled = pd.Series(y, index=X.index).sample(frac=1.0, random_state=0)
    scorer = SCORERS[name]
    assert scorer(est, X, shuffled) == pytest.approx(scorer(est, X, y))


def test_dense_choice_of_an_unavailable_alternative(dense_fit):
    X, y, est = dense_fit
    X = X.copy()
    X[3, y[3]] = np.nan
    with pytest.raises(ValueError, match=f"chooses alternative {y[3]} in situation 3"):
        hit_rate_scorer(est, X, y)


def test_mcfadden_without_any_real_choice_is_refused(dense_fit):
    X, y, est = dense_fit
    X = X.copy()
    X[:, 1:] = np.nan  # every situation offers alternative 0 only
    with pytest.raises(ValueError, match="rho-squared is undefined"):
        mcfadden_r2_scorer(est, X, np.zeros(120, dtype=int))


def test_scorers_need_y(long_fit):
    X, _, est = long_fit
    with pytest.raises(ValueError, match="needs y"):
        hit_rate_scorer(est, X, None)
