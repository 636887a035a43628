"""Inference on the fitted estimator: scores, covariances, tables, fit statistics,
Wald and likelihood-ratio tests, summary.

References are computed independently here: explicit per-situation loops, statsmodels'
per-group scores, hand-written formulas, and the published Heating results.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from skpolicy import SoftmaxChoiceEstimator
from skpolicy._inference import constants_only_log_likelihood
from skpolicy.datasets import make_choice_data
from skpolicy.inference import TestResult, lr_test

# --------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def heating(heating_by_hand):
    """Long Heating data with hand-built constants (hp reference), and choices."""
    long = heating_by_hand
    alt = long.index.get_level_values("alt")
    X = pd.DataFrame(
        {f"asc_{a}": (alt == a).astype(float) for a in ["ec", "er", "gc", "gr"]},
        index=long.index,
    )
    X[["ic", "oc"]] = long[["ic", "oc"]]
    return X, long["chosen"].to_numpy()


@pytest.fixture(scope="module")
def heating_fits(heating):
    X, y = heating
    full = SoftmaxChoiceEstimator().fit(X, y)
    costs = SoftmaxChoiceEstimator().fit(X[["ic", "oc"]], y)
    return full, costs


def ragged_panel(n=300, seed=0):
    """Ragged long data with weights and a person id (3 situations per person)."""
    X, y = make_choice_data(n, 5, 3, unavailable=0.35, format="long", random_state=seed)
    situation = X.index.get_level_values(0).to_numpy()
    rng = np.random.default_rng(seed)
    w_sit = rng.uniform(0.5, 2.0, size=n)
    person = situation // 3
    X = X.copy()
    X.index = pd.MultiIndex.from_arrays(
        [situation, X.index.get_level_values(1), person],
        names=["situation", "alternative", "person"],
    )
    return X, y, w_sit[situation]


def loop_pieces(est, X, y, w_rows):
    """Per-situation scores, information and per-choice OPG by an explicit loop."""
    coef = est.coef_
    situation = X.index.get_level_values(0).to_numpy()
    x_all, y_all = X.to_numpy(float), np.asarray(y, float)
    K = x_all.shape[1]
    scores, info, opg = [], np.zeros((K, K)), np.zeros((K, K))
    for s in pd.unique(situation):
        rows = situation == s
        x, ys, w = x_all[rows], y_all[rows], w_rows[rows][0]
        u = x @ coef
        p = np.exp(u - u.max())
        p /= p.sum()
        d = x - p @ x
        scores.append(w * ys @ d)
        info += w * ys.sum() * (d.T * p) @ d
        opg += w * (d.T * ys) @ d
    return np.array(scores), info, opg


# --------------------------------------------------------------------------------
# Published Heating results
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["heating_asc", "heating_noasc"])
def test_hessian_std_errors_reproduce_published(
    heating, model, published, published_precision
):
    X, y = heating
    published = published["models"][model]["published"]
    names = list(published["coefficients"])
    est = SoftmaxChoiceEstimator().fit(X[names], y)
    stored = est.std_errors()
    recomputed = est.std_errors(X[names], y)
    table = est.coef_table()
    for name in names:
        err = published["std_errors"][name]
        assert stored[name] == pytest.approx(err, abs=published_precision(err)), name
        assert table.loc[name, "std err"] == stored[name]
    np.testing.assert_allclose(recomputed, stored, rtol=1e-9)


def test_fit_statistics_match_mlogit_summary(heating, heating_fits, published):
    X, y = heating
    full, _ = heating_fits
    other = published["models"]["heating_asc"]["published"]["other"]
    fs = full.fit_statistics(X, y, alternative_key="alt")
    assert fs.attrs["reference"] == "constants only"
    assert fs["mcfadden_r2"] == pytest.approx(
        other["mcfadden_r2_vs_constants_only"], abs=5e-7
    )
    assert fs["lr_statistic"] == pytest.approx(
        other["lr_test_vs_constants_only_chisq"], abs=5e-3
    )
    # Independent pieces: market shares, equal shares, information criteria.
    counts = pd.Series(y, index=X.index).groupby(level="alt").sum()
    ll_const = float(np.sum(counts * np.log(counts / counts.sum())))
    assert fs["constants_log_likelihood"] == pytest.approx(ll_const, rel=1e-12)
    assert fs["null_log_likelihood"] == pytest.approx(900 * np.log(1 / 5))
    ll, K = full.log_likelihood_, 6
    assert fs["log_likelihood"] == pytest.approx(ll, rel=1e-10)
    assert fs["lr_df"] == 2  # 6 coefficients against 4 free constants
    assert fs["lr_pvalue"] == pytest.approx(stats.chi2.sf(2 * (ll - ll_const), 2))
    assert fs["adjusted_mcfadden_r2"] == pytest.approx(
        1 - (ll - K) / (ll_const - 4), rel=1e-10
    )
    assert fs["aic"] == pytest.approx(-2 * ll + 2 * K)
    assert fs["bic"] == pytest.approx(-2 * ll + K * np.log(900))
    assert (fs["n_situations"], fs["n_parameters"]) == (900, K)
    # Without data: the reference recorded at fit, the same numbers.
    stored = full.fit_statistics()
    assert stored.attrs["reference"] == "constants only"
    pd.testing.assert_series_equal(stored, fs, rtol=1e-10)
    # Asked for: equal shares as the reference.
    for stats_null in (
        full.fit_statistics(reference="null"),
        full.fit_statistics(X, y, reference="null"),
    ):
        assert stats_null.attrs["reference"] == "equal shares"
        assert stats_null["mcfadden_r2"] == pytest.approx(1 - ll / (900 * np.log(0.2)))
        assert stats_null["lr_df"] == K


def test_model_without_constants_is_compared_with_equal_shares(heating, heating_fits):
    """mlogit's ``ic + oc | 0`` does not nest the constants-only model: its rho^2
    and LR test use equal shares (never LR chi2(-2), a NaN p-value or rho^2 < 0),
    with or without the data."""
    X, y = heating
    X = X[["ic", "oc"]]
    _, no_asc = heating_fits
    for fs in (no_asc.fit_statistics(), no_asc.fit_statistics(X, y)):
        assert fs.attrs["reference"] == "equal shares"
        assert fs["lr_df"] == 2
        assert fs["mcfadden_r2"] > 0 and 0 < fs["lr_pvalue"] < 1
        ll = no_asc.log_likelihood_
        assert fs["mcfadden_r2"] == pytest.approx(1 - ll / (900 * np.log(0.2)))
    text = str(no_asc.summary())
    assert "LR chi2(2)" in text and "nan" not in text.lower()
    # Forcing the constants-only reference still works.
    forced = no_asc.fit_statistics(X, y, reference="constants")
    assert forced.attrs["reference"] == "constants only"


def test_constants_only_model_is_exact_on_ragged_sets():
    X, y, w = ragged_panel(n=200, seed=3)
    est = SoftmaxChoiceEstimator().fit(X, y, sample_weight=w)
    data = est._choice_data(X, y, w, reset=False)
    rows = np.arange(len(X)) if data.rows is None else data.rows
    alt = X.index.get_level_values("alternative").to_numpy()[rows]
    ll, n_constants = constants_only_log_likelihood(alt, data)
    assert n_constants == 4
    # Reference: maximise the constants-only likelihood with scipy, looping over
    # situations, constant of alternative 0 fixed at 0.
    situation = X.index.get_level_values(0).to_numpy()
    alt_user = X.index.get_level_values(1).to_numpy()
    groups = [np.flatnonzero(situation == s) for s in pd.unique(situation)]

    def negloglik(c):
        asc = np.concatenate([[0.0], c])
        total = 0.0
        for rows in groups:
            v = asc[alt_user[rows]]
            lse = np.log(np.exp(v - v.max()).sum()) + v.max()
            total -= w[rows[0]] * (y[rows] @ (v - lse))
        return total

    res = optimize.minimize(negloglik, np.zeros(4), method="BFGS", tol=1e-10)
    assert ll == pytest.approx(-res.fun, abs=1e-6)
    stats_ = est.fit_statistics(X, y, w, reference="constants")
    assert stats_["constants_log_likelihood"] == pytest.approx(ll)


def test_constants_only_closed_form_equals_fit_on_balanced_sets(heating, heating_fits):
    X, y = heating
    full, _ = heating_fits
    data = full._choice_data(X, y, None, reset=False)
    alt = X.index.get_level_values("alt").to_numpy()
    closed, k1 = constants_only_log_likelihood(alt, data, closed_form=True)
    fitted, k2 = constants_only_log_likelihood(alt, data, closed_form=False)
    assert closed == pytest.approx(fitted, abs=1e-7)
    assert k1 == k2 == 4


def test_constants_only_drops_never_chosen_alternatives():
    X, y = make_choice_data(150, 4, 2, format="long", random_state=5)
    alt = X.index.get_level_values(1).to_numpy()
    # Move every choice of alternative 3 to alternative 0 when both are offered,
    # and drop situations where only 3 could be chosen.
    sit = X.index.get_level_values(0).to_numpy()
    frame = pd.DataFrame({"s": sit, "a": alt, "y": y})
    chose3 = frame.loc[(frame.a == 3) & (frame.y == 1), "s"]
    frame.loc[frame.s.isin(chose3) & (frame.a == 3), "y"] = 0
    frame.loc[frame.s.isin(chose3) & (frame.a == 0), "y"] = 1
    y2 = frame["y"].to_numpy()
    est = SoftmaxChoiceEstimator().fit(X, y2)
    ll = est.fit_statistics(X, y2, reference="constants")["constants_log_likelihood"]
    # The supremum puts probability 0 on alternative 3: market shares of 0, 1, 2.
    counts = np.bincount(alt, weights=y2, minlength=4)[:3]
    assert ll == pytest.approx(float(counts @ np.log(counts / counts.sum())), abs=1e-6)


# --------------------------------------------------------------------------------
# Scores and covariances
# --------------------------------------------------------------------------------


def test_situation_scores_match_explicit_loop_and_sum_to_zero():
    X, y, w = ragged_panel()
    est = SoftmaxChoiceEstimator(tol=1e-12).fit(X, y, sample_weight=w)
    scores = est.situation_scores(X, y, sample_weight=w)
    ref, _, _ = loop_pieces(est, X, y, w)
    np.testing.assert_allclose(scores, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scores.sum(axis=0), 0, atol=1e-8)
    unweighted = est.situation_scores(X, y)
    w_sit = pd.Series(w).groupby(X.index.get_level_values(0)).first().to_numpy()
    np.testing.assert_allclose(unweighted * w_sit[:, None], scores, rtol=1e-12)


def test_situation_scores_dense_equals_long(to_long):
    Xd, yd = make_choice_data(80, 4, 2, unavailable=0.3, random_state=2)
    Xl, yl = to_long(Xd, yd)
    est_d = SoftmaxChoiceEstimator().fit(Xd, yd)
    est_l = SoftmaxChoiceEstimator().fit(Xl, yl)
    np.testing.assert_allclose(
        est_d.situation_scores(Xd, yd), est_l.situation_scores(Xl, yl), atol=1e-10
    )


def test_robust_and_cluster_match_explicit_loop():
    X, y, w = ragged_panel()
    est = SoftmaxChoiceEstimator(tol=1e-12).fit(X, y, sample_weight=w)
    scores, info, opg = loop_pieces(est, X, y, w)
    bread = np.linalg.inv(info)
    W = np.sum(pd.Series(w * y).to_numpy())
    robust = W / (W - 1) * bread @ opg @ bread
    person = pd.Series(X.index.get_level_values("person"))
    person_of_sit = person.groupby(X.index.get_level_values(0)).first().to_numpy()
    G = len(np.unique(person_of_sit))
    totals = pd.DataFrame(scores).groupby(person_of_sit).sum().to_numpy()
    cluster = G / (G - 1) * bread @ totals.T @ totals @ bread
    cases = {
        "hessian": bread,
        "opg": np.linalg.inv(opg),
        "robust": robust,
    }
    for cov_type, ref in cases.items():
        got = est.covariance_matrix(X, y, w, cov_type=cov_type)
        np.testing.assert_allclose(got.to_numpy(), ref, rtol=1e-8, err_msg=cov_type)
    for groups in ("person", person.to_numpy(), 2):
        got = est.covariance_matrix(X, y, w, cov_type="cluster", groups=groups)
        np.testing.assert_allclose(got.to_numpy(), cluster, rtol=1e-8)
    assert list(got.index) == list(X.columns) == list(got.columns)


def test_robust_and_cluster_match_statsmodels_group_scores():
    pytest.importorskip("statsmodels")
    from statsmodels.discrete.conditional_models import ConditionalLogit

    X, y = make_choice_data(250, 4, 2, format="long", random_state=11)
    est = SoftmaxChoiceEstimator(tol=1e-12).fit(X, y)
    situation = X.index.get_level_values(0).to_numpy()
    model = ConditionalLogit(y, X.to_numpy(), groups=situation)
    # One choice per situation: McFadden's and Chamberlain's logit coincide.
    s_scores = np.array([model.score_grp(g, est.coef_) for g in range(250)])
    info = -model.hessian(est.coef_)
    bread = np.linalg.inv(info)
    n = 250
    robust = n / (n - 1) * bread @ s_scores.T @ s_scores @ bread
    got = est.covariance_matrix(X, y, cov_type="robust").to_numpy()
    np.testing.assert_allclose(got, robust, rtol=1e-5)
    np.testing.assert_allclose(est.covariance_matrix().to_numpy(), bread, rtol=1e-5)
    person = situation // 5
    totals = pd.DataFrame(s_scores).groupby(np.arange(n) // 5).sum().to_numpy()
    G = n // 5
    cluster = G / (G - 1) * bread @ totals.T @ totals @ bread
    got = est.covariance_matrix(X, y, cov_type="cluster", groups=person).to_numpy()
    np.testing.assert_allclose(got, cluster, rtol=1e-5)


def test_cluster_by_situation_is_robust_up_to_the_corrections():
    X, y = make_choice_data(120, 3, 2, format="long", random_state=4)
    est = SoftmaxChoiceEstimator().fit(X, y)
    robust = est.covariance_matrix(X, y, cov_type="robust")
    cluster = est.covariance_matrix(X, y, cov_type="cluster", groups=0)
    # One choice per situation: both meats are sum_s g_s g_s^T; only W/(W-1) with
    # W = n and G/(G-1) with G = n remain, and they are equal.
    np.testing.assert_allclose(cluster, robust, rtol=1e-10)


def test_cluster_correction_is_G_over_G_minus_1():
    X, y, _ = ragged_panel(n=60)
    est = SoftmaxChoiceEstimator().fit(X, y)
    scores = est.situation_scores(X, y)
    person = X.index.get_level_values("person")
    person_of_sit = pd.Series(person).groupby(X.index.get_level_values(0)).first()
    totals = pd.DataFrame(scores).groupby(person_of_sit.to_numpy()).sum().to_numpy()
    bread = est.covariance_matrix(X, y).to_numpy()
    uncorrected = bread @ totals.T @ totals @ bread
    got = est.covariance_matrix(X, y, cov_type="cluster", groups="person")
    np.testing.assert_allclose(got, uncorrected * 20 / 19, rtol=1e-10)


def test_opg_close_to_hessian_when_correctly_specified():
    X, y = make_choice_data(20000, 4, 3, coef=[1.0, -0.5, 0.25], random_state=0)
    est = SoftmaxChoiceEstimator().fit(X, y)
    hessian = est.std_errors()
    opg = est.std_errors(X, y, cov_type="opg")
    robust = est.std_errors(X, y, cov_type="robust")
    np.testing.assert_allclose(opg, hessian, rtol=0.05)
    np.testing.assert_allclose(robust, hessian, rtol=0.05)


def test_integer_weights_equal_repeated_situations(to_long):
    Xd, yd = make_choice_data(60, 4, 2, unavailable=0.2, random_state=8)
    reps = np.random.default_rng(0).integers(1, 4, size=60)
    est_w = SoftmaxChoiceEstimator(tol=1e-12).fit(Xd, yd, sample_weight=reps)
    Xr, yr = np.repeat(Xd, reps, axis=0), np.repeat(yd, reps)
    est_r = SoftmaxChoiceEstimator(tol=1e-12).fit(Xr, yr)
    for cov_type in ("hessian", "opg", "robust"):
        np.testing.assert_allclose(
            est_w.covariance_matrix(Xd, yd, reps, cov_type=cov_type),
            est_r.covariance_matrix(Xr, yr, cov_type=cov_type),
            rtol=1e-6,
            err_msg=cov_type,
        )
    # Replicates of a situation belong to one cluster.
    np.testing.assert_allclose(
        est_w.covariance_matrix(
            Xd, yd, reps, cov_type="cluster", groups=np.arange(60) // 2
        ),
        est_r.covariance_matrix(
            Xr, yr, cov_type="cluster", groups=np.repeat(np.arange(60) // 2, reps)
        ),
        rtol=1e-6,
    )


def test_counts_are_repeated_choices_for_opg():
    # A situation with counts (2, 1, 0) is three one-choice situations.
    Xd, _ = make_choice_data(40, 3, 2, random_state=9)
    counts = np.random.default_rng(1).integers(0, 3, size=(40, 3)).astype(float)
    counts[counts.sum(axis=1) == 0, 0] = 1
    est = SoftmaxChoiceEstimator(tol=1e-12).fit(Xd, counts)
    n_s = counts.sum(axis=1).astype(int)
    rows = np.repeat(np.arange(40), n_s)
    chosen = np.concatenate([np.repeat(np.arange(3), c.astype(int)) for c in counts])
    est1 = SoftmaxChoiceEstimator(tol=1e-12).fit(Xd[rows], chosen)
    for cov_type in ("hessian", "opg", "robust"):
        np.testing.assert_allclose(
            est.covariance_matrix(Xd, counts, cov_type=cov_type),
            est1.covariance_matrix(Xd[rows], chosen, cov_type=cov_type),
            rtol=1e-6,
        )


def test_dense_cluster_groups_per_situation():
    Xd, yd = make_choice_data(90, 3, 2, random_state=1)
    est = SoftmaxChoiceEstimator().fit(Xd, yd)
    groups = np.arange(90) % 30
    cov = est.covariance_matrix(Xd, yd, cov_type="cluster", groups=groups)
    assert list(cov.index) == ["x0", "x1"]
    scores = est.situation_scores(Xd, yd)
    totals = pd.DataFrame(scores).groupby(groups).sum().to_numpy()
    bread = est.covariance_matrix().to_numpy()
    np.testing.assert_allclose(
        cov, 30 / 29 * bread @ totals.T @ totals @ bread, rtol=1e-8
    )


def test_group_column_that_is_not_a_feature_is_dropped():
    X, y, _ = ragged_panel(n=60)
    est = SoftmaxChoiceEstimator().fit(X, y)
    with_column = X.reset_index(level="person")
    before = with_column.copy()
    cov = est.covariance_matrix(with_column, y, cov_type="cluster", groups="person")
    ref = est.covariance_matrix(X, y, cov_type="cluster", groups="person")
    np.testing.assert_allclose(cov, ref)
    pd.testing.assert_frame_equal(with_column, before)


# --------------------------------------------------------------------------------
# Tables and tests
# --------------------------------------------------------------------------------


def test_coef_table_columns_and_values(heating, heating_fits):
    X, y = heating
    full, _ = heating_fits
    table = full.coef_table(X, y, cov_type="robust", confidence=0.9)
    assert list(table.columns) == ["coef", "std err", "z", "P>|z|", "[0.05", "0.95]"]
    se = np.sqrt(np.diag(full.covariance_matrix(X, y, cov_type="robust")))
    np.testing.assert_allclose(table["std err"], se)
    np.testing.assert_allclose(table["z"], full.coef_ / se)
    np.testing.assert_allclose(
        table["P>|z|"], 2 * stats.norm.sf(np.abs(full.coef_ / se))
    )
    np.testing.assert_allclose(table["[0.05"], full.coef_ - 1.6448536269514722 * se)
    np.testing.assert_allclose(table["0.95]"], full.coef_ + 1.6448536269514722 * se)
    assert list(table.index) == list(X.columns)


def test_wald_test_by_hand(heating_fits):
    full, _ = heating_fits
    V = full.covariance_matrix().to_numpy()
    c = full.coef_
    ic, oc = 4, 5
    expected = (c[ic] - c[oc]) ** 2 / (V[ic, ic] + V[oc, oc] - 2 * V[ic, oc])
    R = np.zeros(6)
    R[ic], R[oc] = 1, -1
    for spec in ("ic = oc", "ic - oc", "-oc + ic = 0", ["1*ic - oc = 0"]):
        result = full.wald_test(spec)
        assert result.statistic == pytest.approx(expected, rel=1e-10), spec
        assert result.df == 1
        assert result.pvalue == pytest.approx(stats.chi2.sf(expected, 1))
    assert full.wald_test(R).statistic == pytest.approx(expected, rel=1e-10)
    # Two restrictions with a non-zero right-hand side.
    R2 = np.array([[1.0, 0, 0, 0, 0, 0], [0, 1.0, -2.0, 0, 0, 0]])
    r2 = np.array([1.5, 0.25])
    diff = R2 @ c - r2
    expected2 = diff @ np.linalg.solve(R2 @ V @ R2.T, diff)
    got = full.wald_test(["asc_ec = 1.5", "asc_er - 2*asc_gc = 0.25"])
    assert got.statistic == pytest.approx(expected2, rel=1e-10)
    assert full.wald_test(R2, r2).statistic == pytest.approx(expected2, rel=1e-10)
    assert got.df == 2 and isinstance(got, TestResult)


def test_wald_test_with_robust_covariance(heating, heating_fits):
    X, y = heating
    full, _ = heating_fits
    V = full.covariance_matrix(X, y, cov_type="robust").to_numpy()
    expected = full.coef_[3] ** 2 / V[3, 3]
    got = full.wald_test("asc_gr", X=X, y=y, cov_type="robust")
    assert got.statistic == pytest.approx(expected, rel=1e-10)


def test_lr_test_by_hand(heating, heating_fits):
    full, costs = heating_fits
    result = lr_test(costs, full)
    expected = 2 * (full.log_likelihood_ - costs.log_likelihood_)
    assert result.statistic == pytest.approx(expected)
    assert result.df == 4
    assert result.pvalue == pytest.approx(stats.chi2.sf(expected, 4))
    assert result.test == "LR"


def test_lr_test_accepts_pipelines(heating):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = heating
    big = make_pipeline(StandardScaler(), SoftmaxChoiceEstimator())
    big.set_output(transform="pandas").fit(X, y)
    small = SoftmaxChoiceEstimator().fit(X[["ic", "oc"]], y)
    result = lr_test(small, big)
    assert result.statistic == pytest.approx(
        2 * (big[-1].log_likelihood_ - small.log_likelihood_)
    )


def test_lr_test_errors(heating, heating_fits):
    X, y = heating
    full, costs = heating_fits
    with pytest.raises(ValueError, match="swap"):
        lr_test(full, costs)
    other = SoftmaxChoiceEstimator().fit(X.iloc[:2000], y[:2000])
    with pytest.raises(ValueError, match="same data"):
        lr_test(other, full)
    with pytest.raises(TypeError, match="SoftmaxChoiceEstimator"):
        lr_test("model", full)


def test_summary_text_and_html(heating, heating_fits):
    X, y = heating
    full, _ = heating_fits
    summary = full.summary(X, y, cov_type="cluster", groups="idcase")
    text = str(summary)
    for needle in [
        "SoftmaxChoiceEstimator",
        "900",
        "5/5",
        "-1008.2287",
        "0.013691",
        "27.9899",
        "cluster (900 clusters)",
        "newton-cholesky",
        "asc_gr",
        "P>|z|",
        "[0.025",
    ]:
        assert needle in text, needle
    assert "<table" in summary._repr_html_()
    pd.testing.assert_frame_equal(
        summary.coef_table,
        full.coef_table(X, y, cov_type="cluster", groups="idcase"),
    )
    assert "constants only" in str(full.summary())
    assert "equal shares" in str(full.summary(reference="null"))


# --------------------------------------------------------------------------------
# Errors, warnings, no mutation
# --------------------------------------------------------------------------------


def test_inputs_are_not_mutated(heating, heating_fits):
    X, y = heating
    full, _ = heating_fits
    X0, y0 = X.copy(), y.copy()
    w = np.ones(len(y))
    w0 = w.copy()
    full.covariance_matrix(X, y, w, cov_type="cluster", groups="idcase")
    full.fit_statistics(X, y, w)
    full.situation_scores(X, y, w)
    full.summary(X, y, w)
    pd.testing.assert_frame_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(w, w0)


def test_error_messages(heating, heating_fits):
    X, y = heating
    full, _ = heating_fits
    with pytest.raises(ValueError, match="cov_type='sandwich' is not supported"):
        full.covariance_matrix(X, y, cov_type="sandwich")
    with pytest.raises(ValueError, match="needs groups"):
        full.covariance_matrix(X, y, cov_type="cluster")
    with pytest.raises(ValueError, match="groups is only used with cov_type"):
        full.covariance_matrix(X, y, cov_type="robust", groups="idcase")
    with pytest.raises(ValueError, match="'robust' needs the training data"):
        full.covariance_matrix(cov_type="robust")
    with pytest.raises(ValueError, match="y is required"):
        full.covariance_matrix(X, cov_type="opg")
    with pytest.raises(ValueError, match="groups has 10 entries but X has 4500 rows"):
        full.covariance_matrix(X, y, cov_type="cluster", groups=np.arange(10))
    with pytest.raises(ValueError, match="groups varies within situation 1"):
        full.covariance_matrix(X, y, cov_type="cluster", groups=np.arange(4500))
    with pytest.raises(ValueError, match="single cluster"):
        full.covariance_matrix(X, y, cov_type="cluster", groups=np.zeros(4500))
    with pytest.raises(ValueError, match="'household' is neither an index level"):
        full.covariance_matrix(X, y, cov_type="cluster", groups="household")
    with pytest.raises(ValueError, match="missing value at position 3"):
        groups = np.arange(4500, dtype=float) // 5
        groups[3] = np.nan
        full.covariance_matrix(X, y, cov_type="cluster", groups=groups)
    with pytest.raises(ValueError, match="confidence must be in"):
        full.coef_table(confidence=95)
    with pytest.raises(ValueError, match="reference='shares'"):
        full.fit_statistics(X, y, reference="shares")
    _, no_asc = heating_fits
    with pytest.raises(ValueError, match="reference='constants' needs X"):
        no_asc.fit_statistics(reference="constants")
    with pytest.raises(ValueError, match="alternative_key='mode' is not an index"):
        full.fit_statistics(X, y, alternative_key="mode", reference="constants")


def test_wald_errors_name_the_culprit(heating_fits):
    full, _ = heating_fits
    with pytest.raises(
        ValueError, match="'price = 0' at 'price ': unknown coefficient name"
    ):
        full.wald_test("price = 0")
    with pytest.raises(ValueError, match="more than one '='"):
        full.wald_test("ic = oc = 0")
    with pytest.raises(ValueError, match="expected '\\+' or '-'"):
        full.wald_test("ic oc")
    with pytest.raises(ValueError, match="R has shape \\(3,\\)"):
        full.wald_test([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="linearly dependent"):
        full.wald_test(["ic = oc", "2*ic = 2*oc"])
    with pytest.raises(ValueError, match="involves no coefficient"):
        full.wald_test(np.zeros((1, 6)))
    with pytest.raises(ValueError, match="r must be None"):
        full.wald_test("ic", r=[1.0])
    with pytest.raises(ValueError, match="r has shape"):
        full.wald_test(np.eye(6)[:2], r=[1.0])


def test_singular_information_names_the_features():
    X, y = make_choice_data(100, 3, 2, format="long", random_state=0)
    X = X.assign(x2=X["x0"])
    est = SoftmaxChoiceEstimator(alpha=1e-2).fit(X, y)
    with pytest.warns(UserWarning, match="alpha=0.01 > 0"):
        with pytest.raises(ValueError, match=r"singular.*\['x0', 'x2'\]"):
            est.covariance_matrix()


def test_warning_when_data_differ_from_training(heating, heating_fits):
    X, y = heating
    full, _ = heating_fits
    with pytest.warns(UserWarning, match="fitted on 900"):
        full.covariance_matrix(X.iloc[:2000], y[:2000], cov_type="robust")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full.covariance_matrix(X, y, cov_type="robust")


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SoftmaxChoiceEstimator().coef_table()


def test_coef_table_and_summary_through_a_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skpolicy.inference import coef_table, summary

    X, y, _ = ragged_panel(n=90)
    raw = X.reset_index(level="person")  # the person id is a column the pipeline drops
    pipe = make_pipeline(
        ColumnTransformer(
            [("scale", StandardScaler(), ["x0", "x1", "x2"])],
            verbose_feature_names_out=False,
        ),
        SoftmaxChoiceEstimator(),
    ).set_output(transform="pandas")
    pipe.fit(raw, y)
    Xt = pipe[:-1].transform(raw)
    person = raw["person"].to_numpy()
    expected = pipe[-1].coef_table(Xt, y, cov_type="cluster", groups=person)
    got = coef_table(pipe, raw, y, cov_type="cluster", groups="person")
    pd.testing.assert_frame_equal(got, expected)
    text = str(
        summary(pipe, raw, y, alternative_key="alternative", reference="constants")
    )
    assert "constants only" in text and "x2" in text
    # Every inference method of the estimator, as a function on the Pipeline.
    from skpolicy import inference

    pd.testing.assert_frame_equal(
        inference.covariance_matrix(pipe, raw, y, cov_type="HC0"),
        pipe[-1].covariance_matrix(Xt, y, cov_type="HC0"),
    )
    pd.testing.assert_series_equal(
        inference.std_errors(pipe, raw, y, cov_type="cluster", groups="person"),
        pipe[-1].std_errors(Xt, y, cov_type="cluster", groups=person),
    )
    pd.testing.assert_series_equal(
        inference.fit_statistics(pipe, raw, y), pipe[-1].fit_statistics(Xt, y)
    )
    assert inference.wald_test(pipe, "x0 = x1").statistic == pytest.approx(
        pipe[-1].wald_test("x0 = x1").statistic
    )
    np.testing.assert_allclose(
        inference.situation_scores(pipe, raw, y), pipe[-1].situation_scores(Xt, y)
    )
    # A bare estimator goes straight through.
    est = SoftmaxChoiceEstimator().fit(X, y)
    pd.testing.assert_frame_equal(coef_table(est), est.coef_table())


def test_printed_columns_carry_the_same_significant_digits(heating, heating_fits):
    """Every estimate, standard error and bound is printed with 7 significant
    digits (mlogit prints about 6, Stata 7), whatever its magnitude."""
    full, _ = heating_fits
    text = str(full.summary())
    body = text.split("-" * 20)[-1].splitlines()
    for line in body:
        if not line.strip() or line.startswith(("=", "-")):
            continue
        name, coef, se, _z, _p, low, high = line.split()
        for cell in (coef, se, low, high):
            digits = cell.lstrip("-").replace(".", "").lstrip("0")
            assert len(digits) == 7, (name, cell)
    assert "Log-likelihood:                  -1008.2287" in text


def test_summary_validates_the_data_once(heating, heating_fits):
    """summary(X, y, ...) builds one loss for all its statistics (three before)."""
    from unittest import mock

    X, y = heating
    full, _ = heating_fits
    with mock.patch.object(
        SoftmaxChoiceEstimator, "_choice_data", wraps=full._choice_data
    ) as validate:
        full.summary(X, y, cov_type="cluster", groups="idcase")
    assert validate.call_count == 1
    assert not hasattr(full, "_loss_cache")
