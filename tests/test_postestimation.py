"""Post-estimation on long data: shares, counterfactuals, elasticities, marginal
effects, willingness to pay, log-sums, consumer surplus and simulated choices.

Derivatives are checked against finite differences of ``predict_proba`` (bare
estimator and Pipelines with linear and non-linear transformers); WTP standard
errors against a delta method written out here; counterfactual shares against the
IIA property.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skpolicy import SoftmaxChoiceEstimator
from skpolicy.datasets import make_choice_data
from skpolicy.postestimation import (
    apply_scenario,
    consumer_surplus_change,
    counterfactual,
    elasticities,
    logsum,
    marginal_effects,
    predict_shares,
    simulate_choices,
    willingness_to_pay,
)

# --------------------------------------------------------------------------------
# Data and models
# --------------------------------------------------------------------------------


def travel_data(n=300, seed=0):
    """Ragged long data: price, time (alternative attributes), income (case)."""
    rng = np.random.default_rng(seed)
    n_alt = rng.integers(2, 5, size=n)
    situation = np.repeat(np.arange(n), n_alt)
    alternative = np.concatenate(
        [
            np.sort(rng.choice(["bus", "car", "bike", "train"], k, replace=False))
            for k in n_alt
        ]
    )
    rows = len(situation)
    income = rng.uniform(1, 5, size=n)[situation]
    X = pd.DataFrame(
        {
            "price": rng.uniform(1, 10, rows),
            "time": rng.uniform(5, 60, rows),
            "income": income,
        },
        index=pd.MultiIndex.from_arrays(
            [situation, alternative], names=["situation", "mode"]
        ),
    )
    u = (
        -0.3 * X["price"]
        - 0.05 * X["time"]
        + 0.4 * income * (alternative == "car")
        + rng.gumbel(size=rows)
    )
    chosen = u.groupby(level=0).transform("max") == u
    weights = rng.uniform(0.5, 2.0, size=n)[situation]
    return X, chosen.astype(int).to_numpy(), weights


class CaseInteraction(TransformerMixin, BaseEstimator):
    """Row-wise: price, log(time), and income interacted with the car indicator."""

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        car = X.index.get_level_values("mode") == "car"
        return pd.DataFrame(
            {
                "price": X["price"],
                "log_time": np.log(X["time"]),
                "income:car": X["income"] * car,
            },
            index=X.index,
        )

    def get_feature_names_out(self, input_features=None):
        return np.array(["price", "log_time", "income:car"], dtype=object)


@pytest.fixture(scope="module")
def data():
    return travel_data()


@pytest.fixture(scope="module")
def bare(data):
    X, y, w = data
    features = X[["price", "time"]]
    return SoftmaxChoiceEstimator().fit(features, y, sample_weight=w), features


@pytest.fixture(scope="module")
def scaled(data):
    """Pipeline with a ColumnTransformer: scaled price, squared time."""
    X, y, w = data
    pipe = make_pipeline(
        ColumnTransformer(
            [
                ("price", StandardScaler(), ["price"]),
                (
                    "time",
                    FunctionTransformer(np.square, feature_names_out="one-to-one"),
                    ["time"],
                ),
            ],
            verbose_feature_names_out=False,
        ),
        SoftmaxChoiceEstimator(),
    ).set_output(transform="pandas")
    return pipe.fit(X, y, softmaxchoiceestimator__sample_weight=w)


@pytest.fixture(scope="module")
def custom(data):
    X, y, w = data
    pipe = make_pipeline(CaseInteraction(), SoftmaxChoiceEstimator())
    return pipe.fit(X, y)


def situations(X):
    return X.index.get_level_values(0)


def modes(X):
    return X.index.get_level_values("mode").to_numpy()


def shift_rows(X, attribute, rows, h, relative):
    out = X.copy()
    values = out[attribute].to_numpy(dtype=float).copy()
    values[rows] = values[rows] * (1 + h) if relative else values[rows] + h
    out[attribute] = values
    return out


def fd_proba(model, X, attribute, rows, relative, h=1e-5):
    """Central difference of predict_proba (log for relative) over a row shift."""
    up = model.predict_proba(shift_rows(X, attribute, rows, h, relative))
    down = model.predict_proba(shift_rows(X, attribute, rows, -h, relative))
    if relative:
        return (np.log(up) - np.log(down)) / (2 * h)
    return (up - down) / (2 * h)


def models(bare, scaled, custom, data):
    X, _, _ = data
    return {
        "bare": (bare[0], bare[1]),
        "scaled": (scaled, X),
        "custom": (custom, X),
    }


# --------------------------------------------------------------------------------
# Elasticities and marginal effects against finite differences
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["bare", "scaled", "custom"])
@pytest.mark.parametrize("attribute", ["price", "time"])
def test_per_situation_derivatives_match_finite_differences(
    which, attribute, bare, scaled, custom, data
):
    model, X = models(bare, scaled, custom, data)[which]
    el = elasticities(model, X, attribute, aggregate=False)
    me = marginal_effects(model, X, attribute, aggregate=False)
    assert el.index.equals(X.index) and me.index.equals(X.index)
    sit = situations(X)
    for b in ["bus", "car", "bike", "train"]:
        rows = modes(X) == b
        offers_b = pd.Series(rows).groupby(np.asarray(sit)).transform("any").to_numpy()
        # Every situation is independent: shifting b in all of them at once gives
        # each situation's derivative.
        fd_el = fd_proba(model, X, attribute, rows, relative=True)
        fd_me = fd_proba(model, X, attribute, rows, relative=False)
        np.testing.assert_allclose(
            el[b].to_numpy()[offers_b], fd_el[offers_b], rtol=1e-5, atol=1e-8
        )
        np.testing.assert_allclose(
            me[b].to_numpy()[offers_b], fd_me[offers_b], rtol=1e-5, atol=1e-9
        )
        assert np.isnan(el[b].to_numpy()[~offers_b]).all()


@pytest.mark.parametrize("which", ["bare", "scaled", "custom"])
def test_aggregate_derivatives_match_finite_differences_of_shares(
    which, bare, scaled, custom, data
):
    model, X = models(bare, scaled, custom, data)[which]
    _, _, w = data
    el = elasticities(model, X, "price", sample_weight=w)
    me = marginal_effects(model, X, "price", sample_weight=w)
    h = 1e-5
    for b in el.columns:
        rows = modes(X) == b
        shares = {}
        for sign in (1, -1):
            shifted = shift_rows(X, "price", rows, sign * h, relative=True)
            shares[sign] = predict_shares(model, shifted, sample_weight=w)
        fd = (np.log(shares[1]) - np.log(shares[-1])) / (2 * h)
        np.testing.assert_allclose(el[b], fd[el.index], rtol=1e-5, atol=1e-9)
        for sign in (1, -1):
            shifted = shift_rows(X, "price", rows, sign * h, relative=False)
            shares[sign] = predict_shares(model, shifted, sample_weight=w)
        fd = (shares[1] - shares[-1]) / (2 * h)
        np.testing.assert_allclose(me[b], fd[me.index], rtol=1e-5, atol=1e-10)


def test_bare_estimator_derivative_uses_the_coefficient(bare):
    est, X = bare
    el = elasticities(est, X, "price", aggregate=False)
    proba = est.predict_proba(X)
    car = modes(X) == "car"
    # Own elasticity: (1 - pi) * coef * x, exactly.
    np.testing.assert_allclose(
        el["car"].to_numpy()[car],
        (1 - proba[car]) * est.coef_[0] * X["price"].to_numpy()[car],
        rtol=1e-12,
    )


def test_case_variable_derivatives_match_finite_differences(custom, data):
    X, _, w = data
    el = elasticities(custom, X, "income", kind="case", aggregate=False)
    me = marginal_effects(custom, X, "income", kind="case", aggregate=False)
    all_rows = np.ones(len(X), dtype=bool)
    np.testing.assert_allclose(
        el, fd_proba(custom, X, "income", all_rows, relative=True), rtol=1e-5, atol=1e-9
    )
    np.testing.assert_allclose(
        me,
        fd_proba(custom, X, "income", all_rows, relative=False),
        rtol=1e-5,
        atol=1e-10,
    )
    agg = marginal_effects(custom, X, "income", kind="case", sample_weight=w)
    h = 1e-5
    up = predict_shares(custom, shift_rows(X, "income", all_rows, h, False), w)
    down = predict_shares(custom, shift_rows(X, "income", all_rows, -h, False), w)
    np.testing.assert_allclose(agg, ((up - down) / (2 * h))[agg.index], rtol=1e-5)
    agg_el = elasticities(custom, X, "income", kind="case", sample_weight=w)
    up = predict_shares(custom, shift_rows(X, "income", all_rows, h, True), w)
    down = predict_shares(custom, shift_rows(X, "income", all_rows, -h, True), w)
    np.testing.assert_allclose(
        agg_el, ((np.log(up) - np.log(down)) / (2 * h))[agg_el.index], rtol=1e-5
    )


# --------------------------------------------------------------------------------
# Willingness to pay
# --------------------------------------------------------------------------------


def delta_method_by_hand(coef, cov, k, c):
    """WTP = -coef_k / coef_c; gradient by central differences of the ratio."""
    ratio = lambda t: -t[k] / t[c]  # noqa: E731
    grad = np.zeros_like(coef)
    for j in (k, c):
        e = np.zeros_like(coef)
        e[j] = 1e-7 * max(1.0, abs(coef[j]))
        grad[j] = (ratio(coef + e) - ratio(coef - e)) / (2 * e[j])
    return ratio(coef), np.sqrt(grad @ cov @ grad)


def test_wtp_matches_delta_method_by_hand(bare, data):
    est, X = bare
    _, y, w = data
    for cov_type in ("hessian", "robust", "cluster"):
        groups = "situation" if cov_type == "cluster" else None
        table = willingness_to_pay(
            est, "time", "price", X, y, w, cov_type=cov_type, groups=groups
        )
        cov = est.covariance_matrix(X, y, w, cov_type=cov_type, groups=groups)
        value, se = delta_method_by_hand(est.coef_, cov.to_numpy(), 1, 0)
        assert table.loc["time", "wtp"] == pytest.approx(value, rel=1e-12)
        assert table.loc["time", "std err"] == pytest.approx(se, rel=1e-6), cov_type
        assert table.loc["time", "z"] == pytest.approx(value / se, rel=1e-6)


def test_wtp_through_a_pipeline_uses_final_coefficients(custom, data):
    X, y, _ = data
    est = custom[-1]
    table = willingness_to_pay(
        custom, ["log_time", "income:car"], "price", X, y, cov_type="robust"
    )
    Xt = custom[:-1].transform(X)
    cov = est.covariance_matrix(Xt, y, cov_type="robust").to_numpy()
    for name in ["log_time", "income:car"]:
        k = list(est.feature_names_in_).index(name)
        value, se = delta_method_by_hand(est.coef_, cov, k, 0)
        assert table.loc[name, "wtp"] == pytest.approx(value)
        assert table.loc[name, "std err"] == pytest.approx(se, rel=1e-6)
    hessian = willingness_to_pay(custom, "log_time", "price")
    value, se = delta_method_by_hand(
        est.coef_, est.covariance_matrix().to_numpy(), 1, 0
    )
    assert hessian.loc["log_time", "std err"] == pytest.approx(se, rel=1e-6)


# --------------------------------------------------------------------------------
# Shares and counterfactuals
# --------------------------------------------------------------------------------


def test_predict_shares_by_hand(scaled, data):
    X, _, w = data
    shares = predict_shares(scaled, X, sample_weight=w)
    proba = scaled.predict_proba(X)
    w_sit = pd.Series(w).groupby(np.asarray(situations(X))).first()
    expected = pd.Series(w * proba).groupby(modes(X)).sum() / w_sit.sum()
    pd.testing.assert_series_equal(
        shares, expected.rename("share").rename_axis("mode"), check_exact=False
    )
    assert shares.sum() == pytest.approx(1.0)


def test_removing_an_alternative_redistributes_proportionally(scaled, data):
    X, _, w = data
    proba = pd.Series(scaled.predict_proba(X), index=X.index)
    table = counterfactual(scaled, X, remove=["car"], sample_weight=w)
    # IIA: in each situation the others keep their ratios, scaled by 1/(1 - pi_car).
    p_car = proba.where(modes(X) == "car", 0.0).groupby(level=0).transform("sum")
    after = (proba / (1 - p_car))[modes(X) != "car"]
    w_rows = pd.Series(w, index=X.index)[modes(X) != "car"]
    w_total = pd.Series(w).groupby(np.asarray(situations(X))).first().sum()
    expected = (after * w_rows).groupby(level="mode").sum() / w_total
    assert table.loc["car", "after"] == 0.0
    np.testing.assert_allclose(table.loc[expected.index, "after"], expected, rtol=1e-10)
    np.testing.assert_allclose(table["change"], table["after"] - table["before"])
    np.testing.assert_allclose(
        table["before"], predict_shares(scaled, X, sample_weight=w)[table.index]
    )
    assert table["after"].sum() == pytest.approx(1.0)


def test_changing_an_attribute_of_one_alternative(custom, data):
    X, _, _ = data
    X0 = X.copy()
    table = counterfactual(
        custom, X, changes={"price": lambda p: 0.5 * p}, alternatives=["bus"]
    )
    pd.testing.assert_frame_equal(X, X0)
    changed = X.copy()
    bus = modes(X) == "bus"
    changed.loc[bus, "price"] = 0.5 * X.loc[bus, "price"]
    np.testing.assert_allclose(
        table["after"], predict_shares(custom, changed)[table.index], rtol=1e-12
    )
    assert table.loc["bus", "change"] > 0
    assert (table.drop(index="bus")["change"] < 0).all()


def test_adding_an_alternative(bare, data):
    est, X = bare
    first = situations(X).unique()[:50]
    new = pd.DataFrame(
        {"price": 2.0, "time": 10.0},
        index=pd.MultiIndex.from_arrays(
            [first, ["plane"] * 50], names=["situation", "mode"]
        ),
    )
    table = counterfactual(est, X, add=new)
    combined = pd.concat([X, new])
    np.testing.assert_allclose(
        table["after"], predict_shares(est, combined)[table.index], rtol=1e-12
    )
    assert table.loc["plane", "before"] == 0.0 and table.loc["plane", "after"] > 0


def test_scenario_with_a_frame_callable_and_scalar(bare):
    est, X = bare
    out = apply_scenario(X, changes=lambda frame: frame.assign(time=frame["time"] + 1))
    np.testing.assert_allclose(out["time"], X["time"] + 1)
    out = apply_scenario(X, changes={"price": 3.0}, alternatives=["car"])
    car = modes(X) == "car"
    assert (out.loc[car, "price"] == 3.0).all()
    np.testing.assert_array_equal(out.loc[~car, "price"], X.loc[~car, "price"])


# --------------------------------------------------------------------------------
# Log-sum and consumer surplus
# --------------------------------------------------------------------------------


def test_logsum_by_hand(custom, data):
    X, _, _ = data
    ls = logsum(custom, X)
    u = pd.Series(custom.decision_function(X), index=X.index)
    expected = np.log(np.exp(u).groupby(level=0).sum())
    np.testing.assert_allclose(ls, expected[ls.index], rtol=1e-12)
    assert ls.index.name == "situation"


def test_consumer_surplus_of_a_uniform_price_cut(scaled, data):
    X, _, w = data
    cheaper = apply_scenario(X, changes={"price": lambda p: p - 0.7})
    # Price is standardised inside the pipeline: the derivative recovers the
    # marginal utility of money in raw units, so the surplus gain is exactly 0.7.
    change = consumer_surplus_change(scaled, X, cheaper, cost="price", sample_weight=w)
    np.testing.assert_allclose(change.per_situation["cs_change"], 0.7, rtol=1e-6)
    w_sit = pd.Series(w).groupby(np.asarray(situations(X))).first().to_numpy()
    assert change.total == pytest.approx(0.7 * w_sit.sum(), rel=1e-6)
    assert change.mean == pytest.approx(0.7, rel=1e-6)


def test_consumer_surplus_of_removing_an_alternative(bare, data):
    est, X = bare
    after = apply_scenario(X, remove=["car"])
    change = consumer_surplus_change(est, X, after, cost="price")
    proba = pd.Series(est.predict_proba(X), index=X.index)
    p_car = proba.where(modes(X) == "car", 0.0).groupby(level=0).sum()
    expected = np.log(1 - p_car) / -est.coef_[0]
    np.testing.assert_allclose(
        change.per_situation["cs_change"],
        expected[change.per_situation.index],
        rtol=1e-9,
        atol=1e-12,
    )


# --------------------------------------------------------------------------------
# Simulated choices
# --------------------------------------------------------------------------------


def test_simulated_choices_have_the_model_frequencies(bare):
    est, X = bare
    one = X.loc[[X.index[0][0]]]  # one situation
    reps = 20000
    repeated = pd.concat([one] * reps, keys=range(reps)).droplevel(1)
    repeated.index = pd.MultiIndex.from_arrays(
        [np.repeat(np.arange(reps), len(one)), np.tile(modes(one), reps)],
        names=["situation", "mode"],
    )
    y = simulate_choices(est, repeated, random_state=0)
    assert set(np.unique(y)) <= {0, 1}
    assert np.all(pd.Series(y).groupby(np.repeat(np.arange(reps), len(one))).sum() == 1)
    freq = y.reshape(reps, len(one)).mean(axis=0)
    p = est.predict_proba(one)
    np.testing.assert_array_less(np.abs(freq - p), 4 * np.sqrt(p * (1 - p) / reps))
    np.testing.assert_array_equal(y, simulate_choices(est, repeated, random_state=0))


def test_simulated_choices_dense_and_ragged_long(to_long):
    Xd, yd = make_choice_data(3000, 4, 2, unavailable=0.3, random_state=1)
    est = SoftmaxChoiceEstimator().fit(Xd, yd)
    choices = simulate_choices(est, Xd, random_state=np.random.RandomState(3))
    proba = est.predict_proba(Xd)
    assert proba[np.arange(3000), choices].min() > 0  # never an unavailable one
    # Expected number of choices of each alternative.
    expected = proba.sum(axis=0)
    counts = np.bincount(choices, minlength=4)
    np.testing.assert_array_less(np.abs(counts - expected), 4 * np.sqrt(expected))
    Xl, yl = to_long(Xd, yd)
    est_long = SoftmaxChoiceEstimator().fit(Xl, yl)
    y_long = simulate_choices(est_long, Xl, random_state=3)
    assert y_long.shape == (len(Xl),) and y_long.sum() == 3000
    assert est_long.predict_proba(Xl)[y_long == 1].min() > 0


# --------------------------------------------------------------------------------
# Errors and no mutation
# --------------------------------------------------------------------------------


def test_inputs_are_not_mutated(scaled, data):
    X, y, w = data
    X0, w0 = X.copy(), w.copy()
    elasticities(scaled, X, "price", sample_weight=w)
    marginal_effects(scaled, X, "time", aggregate=False)
    counterfactual(scaled, X, changes={"price": 1.0}, remove=["car"], sample_weight=w)
    consumer_surplus_change(scaled, X, apply_scenario(X, remove=["bus"]), cost="price")
    simulate_choices(scaled, X, random_state=0)
    willingness_to_pay(scaled, "time", "price", X, y, w, cov_type="robust")
    pd.testing.assert_frame_equal(X, X0)
    np.testing.assert_array_equal(w, w0)


def test_error_messages(bare, custom, data):
    est, X = bare
    Xraw, y, _ = data
    with pytest.raises(TypeError, match="needs long choice data.*ndarray"):
        elasticities(est, X.to_numpy(), "price")
    with pytest.raises(TypeError, match="got StandardScaler"):
        predict_shares(StandardScaler(), X)
    with pytest.raises(ValueError, match="attribute 'cost' is not a column of X"):
        elasticities(est, X, "cost")
    with pytest.raises(ValueError, match="'price' varies within situation 0"):
        elasticities(est, X, "price", kind="case")
    with pytest.raises(ValueError, match="kind='both'"):
        marginal_effects(est, X, "price", kind="both")
    with pytest.raises(ValueError, match="attribute 'price' has dtype"):
        elasticities(custom, Xraw.assign(price=Xraw["price"].astype(str)), "price")
    with pytest.raises(
        ValueError, match="alternative_key='alt' is neither an index level"
    ):
        predict_shares(est, X, alternative_key="alt")
    with pytest.raises(ValueError, match=r"remove names alternative\(s\) \['plane'\]"):
        counterfactual(est, X, remove=["plane"])
    with pytest.raises(ValueError, match="leaves situation .* with no alternative"):
        apply_scenario(X, remove=["bus", "car", "bike", "train"])
    with pytest.raises(ValueError, match="changes names column 'cost'"):
        apply_scenario(X, changes={"cost": 1.0})
    with pytest.raises(ValueError, match="alternatives restricts changes"):
        apply_scenario(X, alternatives=["bus"])
    dup = X.iloc[:1]
    with pytest.raises(ValueError, match="which X already offers"):
        apply_scenario(X, add=dup)
    with pytest.raises(ValueError, match=r"missing columns \['time'\]"):
        apply_scenario(X, add=dup[["price"]])
    stranger = dup.rename(index={dup.index[0][0]: -1}, level=0)
    with pytest.raises(ValueError, match="situation -1, which X does not have"):
        apply_scenario(X, add=stranger)
    with pytest.raises(ValueError, match="'speed' is not a coefficient"):
        willingness_to_pay(est, "speed", "price")
    with pytest.raises(ValueError, match="cost 'price' is also among"):
        willingness_to_pay(est, ["price"], "price")
    negated = X.assign(time=-X["time"])  # time now has a positive coefficient
    est_neg = SoftmaxChoiceEstimator().fit(negated, y)
    with pytest.raises(ValueError, match="utility does not decrease with 'time'"):
        consumer_surplus_change(est_neg, negated, negated, cost="time")
    with pytest.raises(ValueError, match="same situations"):
        consumer_surplus_change(est, X, X.iloc[:20], cost="price")
    with pytest.raises(ValueError, match="'fare' is neither a column"):
        consumer_surplus_change(est, X, X, cost="fare")
    doubled = pd.concat([X.iloc[:1], X])
    with pytest.raises(ValueError, match="duplicated index"):
        predict_shares(est, doubled)
