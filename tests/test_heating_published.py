"""Reproduce the published mlogit results on Train's Heating data.

Source and provenance: tests/data/heating_published.json (copied from the project's
shared data, with citations). Both models of the mlogit vignette "Exercise 1:
Multinomial logit model": coefficients, standard errors from the inverse of the
analytic Hessian, and log-likelihood. The alternative-specific constants are built
by hand here.
"""

import numpy as np
import pandas as pd
import pytest

from skpolicy import SoftmaxChoiceEstimator


def standard_errors(est, X):
    """sqrt(diag(inverse Hessian of the total log-likelihood)) at coef_."""
    proba = est.predict_proba(X)
    situations = X.index.get_level_values(0)
    x = X.to_numpy()
    mean_x = (
        pd.DataFrame(x * proba[:, None]).groupby(situations).transform("sum").to_numpy()
    )
    centred = x - mean_x
    hessian = (centred * proba[:, None]).T @ centred
    return np.sqrt(np.diag(np.linalg.inv(hessian)))


def check_model(est, X, published, published_precision):
    names = list(X.columns)
    se = standard_errors(est, X)
    for k, name in enumerate(names):
        coef = published["coefficients"][name]
        # mlogit stops when g'H^-1 g < 1e-6, which leaves its printed 8th digit off
        # the exact MLE by up to ~1e-7 relative (asc_gr: exact 0.308263248, printed
        # 0.30826328); our fit reaches a gradient below 1e-10.
        tol = published_precision(coef) + 1e-7 * abs(coef)
        assert est.coef_[k] == pytest.approx(coef, abs=tol), name
        err = published["std_errors"][name]
        assert se[k] == pytest.approx(err, abs=published_precision(err)), name
    loglik = published["loglik"]
    assert est.log_likelihood_ == pytest.approx(loglik, abs=published_precision(loglik))


def test_heating_without_constants(heating_by_hand, published, published_precision):
    X = heating_by_hand[["ic", "oc"]]
    est = SoftmaxChoiceEstimator().fit(X, heating_by_hand["chosen"])
    model = published["models"]["heating_noasc"]["published"]
    check_model(est, X, model, published_precision)
    ratio = model["other"]["ratio_oc_over_ic"]
    assert est.coef_[1] / est.coef_[0] == pytest.approx(ratio, abs=5e-8)


def test_heating_with_constants_hp_reference(
    heating_by_hand, published, published_precision
):
    heating_long = heating_by_hand
    model = published["models"]["heating_asc"]
    alt = heating_long.index.get_level_values("alt")
    X = pd.DataFrame(
        {f"asc_{a}": (alt == a).astype(float) for a in model["model"]["asc"]},
        index=heating_long.index,
    )
    X[["ic", "oc"]] = heating_long[["ic", "oc"]]
    est = SoftmaxChoiceEstimator().fit(X, heating_long["chosen"])
    check_model(est, X, model["published"], published_precision)
    # Mean fitted probabilities equal the observed shares (a property of the MLE
    # with a full set of constants).
    shares = model["published"]["other"]["mean_fitted_probabilities_equal_shares"]
    mean_proba = pd.Series(est.predict_proba(X)).groupby(alt).mean()
    for a, share in shares.items():
        assert mean_proba[a] == pytest.approx(share, abs=5e-9)
