"""skpolicy.plotting: the displays draw the numbers they claim to draw."""

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpolicy import SoftmaxChoiceEstimator
from skpolicy.datasets import make_choice_data
from skpolicy.inference import coef_table
from skpolicy.plotting import (
    CoefficientDisplay,
    ImportanceWeightDisplay,
    ShareCalibrationDisplay,
)
from skpolicy.postestimation import predict_shares

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def long_data():
    return make_choice_data(600, 4, 3, format="long", random_state=0)


@pytest.fixture(scope="module")
def fitted(long_data):
    X, y = long_data
    return SoftmaxChoiceEstimator().fit(X, y)


def _points(errorbar):
    """x and y of the markers of an ErrorbarContainer."""
    line = errorbar.lines[0]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def _bars(errorbar):
    """Segments of the interval bars: (n, 2, 2), [[x0, y0], [x1, y1]] per bar."""
    return np.array([np.asarray(seg) for seg in errorbar.lines[2][0].get_segments()])


# --------------------------------------------------------------------------------
# CoefficientDisplay
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("cov_type", ["hessian", "opg", "robust", "cluster"])
def test_coefficients_are_the_coef_table(long_data, fitted, cov_type):
    X, y = long_data
    groups = X.index.get_level_values(0) % 50 if cov_type == "cluster" else None
    table = coef_table(fitted, X, y, cov_type=cov_type, groups=groups)
    disp = CoefficientDisplay.from_estimator(
        fitted, X, y, cov_type=cov_type, groups=groups
    )
    x, position = _points(disp.errorbar_)
    np.testing.assert_allclose(x, table["coef"])
    bars = _bars(disp.errorbar_)
    np.testing.assert_allclose(bars[:, 0, 0], table["[0.025"])
    np.testing.assert_allclose(bars[:, 1, 0], table["0.975]"])
    np.testing.assert_allclose(bars[:, 0, 1], position)  # horizontal bars
    # One row per coefficient, the first on top, labelled with its name.
    ticks = dict(
        zip(
            disp.ax_.get_yticks(),
            [t.get_text() for t in disp.ax_.get_yticklabels()],
            strict=True,
        )
    )
    assert [ticks[p] for p in position] == list(table.index)
    assert np.all(np.diff(position) < 0)
    assert list(disp.zero_line_.get_xdata()) == [0, 0]
    assert cov_type in disp.ax_.get_xlabel()
    assert disp.figure_ is disp.ax_.figure


def test_coefficients_of_a_pipeline_and_a_subset(long_data):
    X, y = long_data
    pipe = make_pipeline(StandardScaler(), SoftmaxChoiceEstimator())
    pipe = pipe.set_output(transform="pandas").fit(X, y)
    table = coef_table(pipe, X, y, cov_type="robust", confidence=0.9)
    disp = CoefficientDisplay.from_estimator(
        pipe, X, y, cov_type="robust", confidence=0.9, features=["x2", "x0"]
    )
    np.testing.assert_allclose(_points(disp.errorbar_)[0], table.loc[["x2", "x0"]].coef)
    np.testing.assert_allclose(
        _bars(disp.errorbar_)[:, 1, 0], table.loc[["x2", "x0"], "0.95]"]
    )
    assert disp.confidence == pytest.approx(0.9)
    with pytest.raises(ValueError, match=r"features \['nope'\] are not in the table"):
        CoefficientDisplay.from_estimator(pipe, features=["nope"])


def test_coefficients_from_a_table_of_standard_errors():
    table = pd.DataFrame(
        {"coef": [1.0, -0.5], "std err": [0.1, 0.2]}, index=["price", "time"]
    )
    disp = CoefficientDisplay.from_table(table, confidence=0.8, name="model A")
    z = 1.2815515655446004
    np.testing.assert_allclose(disp.lower, [1 - 0.1 * z, -0.5 - 0.2 * z])
    np.testing.assert_allclose(_bars(disp.errorbar_)[:, 1, 0], disp.upper)
    assert disp.ax_.get_legend().get_texts()[0].get_text() == "model A"
    with pytest.raises(ValueError, match="'coef' column"):
        CoefficientDisplay.from_table(table.rename(columns={"coef": "b"}))
    with pytest.raises(ValueError, match="'std err'"):
        CoefficientDisplay.from_table(table[["coef"]])
    full = pd.DataFrame(
        {"coef": [1.0], "[0.025": [0.8], "0.975]": [1.2]}, index=["price"]
    )
    assert CoefficientDisplay.from_table(full).confidence == pytest.approx(0.95)
    with pytest.raises(ValueError, match="intervals are at 0.95"):
        CoefficientDisplay.from_table(full, confidence=0.9)


def test_plot_draws_on_the_given_axes(long_data, fitted):
    X, y = long_data
    fig, (left, right) = plt.subplots(1, 2)
    disp = CoefficientDisplay.from_estimator(fitted, ax=left, color="red")
    assert disp.ax_ is left and disp.figure_ is fig
    assert disp.errorbar_.lines[0].get_color() == "red"
    again = disp.plot(ax=right, name="again")
    assert again is disp and disp.ax_ is right
    np.testing.assert_allclose(_points(disp.errorbar_)[0], fitted.coef_)
    assert len(plt.get_fignums()) == 1


# --------------------------------------------------------------------------------
# ShareCalibrationDisplay
# --------------------------------------------------------------------------------


def _held_out(X, y):
    situations = X.index.get_level_values(0)
    split = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=0)
    train, test = next(split.split(X, y, groups=situations))
    model = SoftmaxChoiceEstimator().fit(X.iloc[train], y[train])
    return model, X.iloc[test], y[test]


def test_shares_on_held_out_long_data(long_data):
    model, X, y = _held_out(*long_data)
    disp = ShareCalibrationDisplay.from_estimator(model, X, y)
    alternative = X.index.get_level_values(1)
    observed = pd.Series(y, index=alternative).groupby(level=0).mean()
    predicted = predict_shares(model, X)
    x, yy = _points(disp.errorbar_)
    np.testing.assert_allclose(x, predicted)
    np.testing.assert_allclose(yy, observed)
    assert list(disp.alternatives) == list(predicted.index)
    n = X.index.get_level_values(0).nunique()
    assert disp.n_choices == pytest.approx(n)
    bars = _bars(disp.errorbar_)  # vertical: x fixed, y from lower to upper
    np.testing.assert_allclose(bars[:, 0, 0], x)
    np.testing.assert_allclose(bars[:, 0, 1], disp.lower)
    np.testing.assert_allclose(bars[:, 1, 1], disp.upper)
    assert [a.get_text() for a in disp.annotations_] == [
        str(a) for a in predicted.index
    ]
    np.testing.assert_allclose(disp.line_.get_xdata(), disp.line_.get_ydata())
    assert not np.allclose(disp.observed, disp.predicted)  # held out: they differ


def test_share_intervals_are_wilson_intervals(long_data):
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    model, X, y = _held_out(*long_data)
    disp = ShareCalibrationDisplay.from_estimator(model, X, y, confidence=0.9)
    counts = pd.Series(y, index=X.index.get_level_values(1)).groupby(level=0).sum()
    lower, upper = proportion.proportion_confint(
        counts, counts.sum(), alpha=0.1, method="wilson"
    )
    np.testing.assert_allclose(disp.lower, lower)
    np.testing.assert_allclose(disp.upper, upper)


def test_shares_dense_equal_long(to_long):
    X, y = make_choice_data(400, 4, 2, unavailable=0.2, random_state=3)
    weights = np.random.default_rng(0).uniform(0.5, 2, size=400)
    model = SoftmaxChoiceEstimator().fit(X[:200], y[:200])
    dense = ShareCalibrationDisplay.from_estimator(
        model, X[200:], y[200:], sample_weight=weights[200:]
    )
    long_model = SoftmaxChoiceEstimator().fit(*to_long(X[:200], y[:200]))
    X_long, y_long, w_long = to_long(X[200:], y[200:], weights[200:])
    long = ShareCalibrationDisplay.from_estimator(
        long_model, X_long, y_long, sample_weight=w_long
    )
    for attribute in ("observed", "predicted", "lower", "upper"):
        np.testing.assert_allclose(getattr(dense, attribute), getattr(long, attribute))
    assert dense.n_choices == pytest.approx(long.n_choices)
    assert dense.n_choices == pytest.approx(
        weights[200:].sum() ** 2 / (weights[200:] ** 2).sum()
    )


def test_share_counts_need_the_situations(ragged_weighted_counts, to_long):
    X, counts, weights = ragged_weighted_counts
    proba = SoftmaxChoiceEstimator().fit(X, counts, weights).predict_proba(X)
    dense = ShareCalibrationDisplay.from_predictions(
        counts, proba, sample_weight=weights
    )
    X_long, c_long, w_long = to_long(X, counts, weights)
    p_long = proba[~np.isnan(X).all(axis=2)]
    alternatives = X_long.index.get_level_values(1)
    situations = X_long.index.get_level_values(0)
    long = ShareCalibrationDisplay.from_predictions(
        c_long,
        p_long,
        alternatives=alternatives,
        situations=situations,
        sample_weight=w_long,
    )
    np.testing.assert_allclose(dense.observed, long.observed)
    np.testing.assert_allclose(dense.predicted, long.predicted)
    expected = (weights * counts.sum(1))[:, None] * proba
    np.testing.assert_allclose(dense.predicted, expected.sum(0) / expected.sum())
    with pytest.raises(ValueError, match="pass situations"):
        ShareCalibrationDisplay.from_predictions(
            c_long, p_long, alternatives=alternatives
        )


def test_shares_alternatives_kind(long_data):
    model, X, y = _held_out(*long_data)
    disp = ShareCalibrationDisplay.from_estimator(model, X, y, kind="alternatives")
    observed, position = _points(disp.errorbar_)
    np.testing.assert_allclose(observed, disp.observed)
    np.testing.assert_allclose(disp.line_.get_xdata(), disp.predicted)
    np.testing.assert_allclose(disp.line_.get_ydata(), position)
    bars = _bars(disp.errorbar_)
    np.testing.assert_allclose(bars[:, 0, 0], disp.lower)
    np.testing.assert_allclose(bars[:, 1, 0], disp.upper)
    with pytest.raises(ValueError, match="kind must be"):
        disp.plot(kind="pie")


def test_shares_of_a_classifier_read_classes():
    rng = np.random.default_rng(0)
    S = rng.normal(size=(300, 2))
    actions = np.where(S[:, 0] > 0.3, "left", np.where(S[:, 1] > 0, "right", "stay"))
    policy = LogisticRegression().fit(S[:150], actions[:150])
    disp = ShareCalibrationDisplay.from_estimator(policy, S[150:], actions[150:])
    assert list(disp.alternatives) == list(policy.classes_)
    np.testing.assert_allclose(
        disp.predicted, policy.predict_proba(S[150:]).mean(axis=0)
    )
    observed = pd.Series(actions[150:]).value_counts(normalize=True)
    np.testing.assert_allclose(disp.observed, observed[policy.classes_])
    with pytest.raises(ValueError, match="'up', which is not one of"):
        ShareCalibrationDisplay.from_predictions(
            ["up"], np.array([[0.5, 0.5]]), alternatives=["left", "right"]
        )


# --------------------------------------------------------------------------------
# ImportanceWeightDisplay
# --------------------------------------------------------------------------------


def test_importance_weights_histogram():
    rng = np.random.default_rng(1)
    behaviour = rng.uniform(0.05, 1, size=500)
    target = rng.uniform(0, 1, size=500)
    target[:7] = 0.0
    disp = ImportanceWeightDisplay.from_predictions(target, behaviour, bins=20)
    weights = target / behaviour
    np.testing.assert_allclose(disp.weights, weights)
    assert disp.ess == pytest.approx(weights.sum() ** 2 / (weights**2).sum())
    heights = [bar.get_height() for bar in disp.bars_]
    counts, _ = np.histogram(weights[weights > 0], bins=disp.bin_edges_)
    np.testing.assert_array_equal(heights, counts)
    assert sum(heights) == 493  # the zero weights are not on the log axis
    assert disp.ax_.get_xscale() == "log"
    title = disp.ax_.get_title()
    assert f"ESS {disp.ess:.1f} of 500" in title and "7 zero" in title
    assert list(disp.line_.get_xdata()) == [1, 1]
    with pytest.raises(ValueError, match="behaviour probability 0"):
        ImportanceWeightDisplay.from_predictions([0.5, 0.5], [0.5, 0.0])
    with pytest.raises(ValueError, match=">= 0"):
        ImportanceWeightDisplay.from_weights([1.0, -1.0])


def test_importance_weights_equal_weights():
    disp = ImportanceWeightDisplay.from_weights(np.ones(10))
    assert disp.ess == pytest.approx(10)
    assert sum(bar.get_height() for bar in disp.bars_) == 10


class _Uniform:
    """A policy without classes_: predict_proba only."""

    def predict_proba(self, X):
        return np.full((len(X), 3), 1 / 3)


def test_importance_weights_from_policies_duck_typed():
    rng = np.random.default_rng(2)
    S = rng.normal(size=(200, 2))
    actions = rng.choice(["a", "b", "c"], size=200)
    target = LogisticRegression().fit(S, np.where(S[:, 0] > 0, "a", "c"))  # no "b"
    behaviour = LogisticRegression().fit(S, actions)
    logged = np.where(actions == "b", "a", actions)
    disp = ImportanceWeightDisplay.from_estimator(target, behaviour, S, logged)
    columns_t = np.searchsorted(target.classes_, logged)
    columns_b = np.searchsorted(behaviour.classes_, logged)
    expected = (
        target.predict_proba(S)[np.arange(200), columns_t]
        / behaviour.predict_proba(S)[np.arange(200), columns_b]
    )
    np.testing.assert_allclose(disp.weights, expected)
    with pytest.raises(ValueError, match=r"logged action 'b' is not in target_policy"):
        ImportanceWeightDisplay.from_estimator(target, behaviour, S, actions)
    positions = rng.integers(0, 3, size=200)
    uniform = ImportanceWeightDisplay.from_estimator(
        _Uniform(), _Uniform(), S, positions
    )
    np.testing.assert_allclose(uniform.weights, 1.0)
    with pytest.raises(ValueError, match="column positions"):
        ImportanceWeightDisplay.from_estimator(_Uniform(), _Uniform(), S, positions + 3)


# --------------------------------------------------------------------------------
# Without matplotlib
# --------------------------------------------------------------------------------


def test_missing_matplotlib_says_how_to_install(monkeypatch, long_data, fitted):
    X, y = long_data
    display = ImportanceWeightDisplay(weights=[1.0, 2.0])  # numbers need no matplotlib
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    message = r'needs matplotlib.*pip install "skpolicy\[plot\]"'
    calls = [
        lambda: CoefficientDisplay.from_estimator(fitted),
        lambda: CoefficientDisplay.from_table(coef_table(fitted)),
        lambda: ShareCalibrationDisplay.from_estimator(fitted, X, y),
        lambda: ImportanceWeightDisplay.from_weights([1.0]),
        lambda: ImportanceWeightDisplay.from_predictions([0.5], [0.5]),
        display.plot,
    ]
    for call in calls:
        with pytest.raises(ImportError, match=message):
            call()
