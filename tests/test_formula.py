"""The mlogit-style formula front end: grammar, equivalence with the hand-written
specification, expression terms (formulaic) and their errors.

The published Heating models through the formula are in test_specification.py
(parametrized over "transformer" and "formula").
"""

import re
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline

from skpolicy import SituationKFold, SoftmaxChoiceEstimator
from skpolicy.datasets import load_heating
from skpolicy.formula import parse_formula
from skpolicy.preprocessing import ChoiceSpecification


@pytest.fixture(scope="module")
def heating():
    return load_heating(return_X_y=True)


def pipeline(spec):
    return make_pipeline(spec, SoftmaxChoiceEstimator()).set_output(transform="pandas")


# ------------------------------------------------------------------ grammar


@pytest.mark.parametrize(
    "formula, params",
    [
        ("ic + oc", {"generic": ["ic", "oc"]}),
        ("depvar ~ ic + oc | 0", {"generic": ["ic", "oc"], "constants": False}),
        ("ic + oc | -1", {"generic": ["ic", "oc"], "constants": False}),
        ("ic + oc | - 1", {"generic": ["ic", "oc"], "constants": False}),
        ("ic + oc | 1", {"generic": ["ic", "oc"]}),
        # One part: as in mlogit, its 0 / -1 removes the constants.
        ("ic + oc - 1", {"generic": ["ic", "oc"], "constants": False}),
        ("0 + ic + oc", {"generic": ["ic", "oc"], "constants": False}),
        (
            "cost + freq | income | time",
            {
                "generic": ["cost", "freq"],
                "case": ["income"],
                "alternative_specific": ["time"],
            },
        ),
        ("cost | | time", {"generic": ["cost"], "alternative_specific": ["time"]}),
        # mlogit's placeholders: a lone 0 in part 1 or 3 means "no term".
        ("| income + age | 0", {"case": ["income", "age"]}),
        ("0 | income", {"case": ["income"]}),
        ("0 | income | 0", {"case": ["income"]}),
        ("cost | 1 | 0", {"generic": ["cost"]}),
        (
            "cost | income - 1 | 0",
            {"generic": ["cost"], "case": ["income"], "constants": False},
        ),
        # Terms restricted to some alternatives (parts 2 and 3).
        ("cost | income[air]", {"generic": ["cost"], "case": {"income": ["air"]}}),
        (
            "cost | income + age[air, bus] | time[car] + wait",
            {
                "generic": ["cost"],
                "case": {"income": None, "age": ["air", "bus"]},
                "alternative_specific": {"time": ["car"], "wait": None},
            },
        ),
        (
            "| | time['car', \"bus\"]",
            {"alternative_specific": {"time": ["car", "bus"]}},
        ),
        ("| | log(t)[ x ] - 1", None),  # removal next to a part-3 term: error
        (
            "| 0 | log(t)[ x ]",
            {"alternative_specific": {"log(t)": ["x"]}, "constants": False},
        ),
        ("| income", {"case": ["income"]}),
        ("| income - 1", {"case": ["income"], "constants": False}),
        ("", {}),
        ("ic + ic", {"generic": ["ic"]}),  # R drops repeated terms
        (
            "log(ic) + I(ic / income) + ic:income | C(region)",
            {
                "generic": ["log(ic)", "I(ic / income)", "ic:income"],
                "case": ["C(region)"],
            },
        ),
        ("I(a - b) + f(x, y)", {"generic": ["I(a - b)", "f(x, y)"]}),
    ],
)
def test_parse(formula, params):
    if params is None:
        with pytest.raises(ValueError):
            parse_formula(formula)
        return
    expected = {
        "generic": None,
        "case": None,
        "alternative_specific": None,
        "constants": True,
        **params,
    }
    assert parse_formula(formula) == expected


@pytest.mark.parametrize(
    "formula, by_hand",
    [
        ("ic + oc | 0", ChoiceSpecification(["ic", "oc"], constants=False)),
        ("ic + oc", ChoiceSpecification(["ic", "oc"])),
        (
            "oc | income + rooms | ic",
            ChoiceSpecification(
                ["oc"], case=["income", "rooms"], alternative_specific=["ic"]
            ),
        ),
    ],
)
def test_from_formula_builds_the_same_transformer(heating, formula, by_hand):
    ours = ChoiceSpecification.from_formula(formula)
    assert type(ours) is ChoiceSpecification
    assert ours.get_params() == by_hand.get_params()
    X, _ = heating
    pd.testing.assert_frame_equal(ours.fit_transform(X), by_hand.fit_transform(X))


def test_from_formula_passes_reference_alternatives_and_key(heating):
    X, _ = heating
    spec = ChoiceSpecification.from_formula(
        "ic | income",
        reference="gr",
        alternatives=["gr", "gc", "ec", "er", "hp"],
        alternative_key="alt",
    ).fit(X)
    assert spec.reference_ == "gr"
    assert list(spec.get_feature_names_out())[:2] == ["asc[gc]", "asc[ec]"]


@pytest.mark.parametrize(
    "formula, message",
    [
        ("a | b | c | d", "has 4 parts.*at most three"),
        ("y ~ x ~ z", "more than one '~'"),
        ("log(x + y", "unbalanced parentheses"),
        ("x)", "unbalanced parentheses"),
        ("x - y", r"'- y'.*only the constant can be removed"),
        ("x | income | time - 1", "removes the constant in its third part"),
        ("x - 1 | income", "removes the constant in its first part.*'... \\| 0'"),
        ("0 + x | income", "removes the constant in its first part"),
        ("income[air] | x", r"first part.*second or third part.*isin"),
        ("x | | time[]", "list the alternatives"),
        ("x | | time[a, a]", "lists an alternative twice"),
        ("x | time + time[a]", "'time' appears twice"),
        ("x | | [a]", "no term before"),
        ("x + - y", "'-' without a term|only the constant"),
    ],
)
def test_parse_errors(formula, message):
    with pytest.raises(ValueError, match=message):
        parse_formula(formula)


def test_formula_must_be_a_string():
    with pytest.raises(TypeError, match="formula must be a str"):
        parse_formula(["ic"])


@pytest.mark.parametrize(
    "same",
    [
        # The equivalent formulas of mlogit's vignette "Data management, model
        # description and testing" (ModeCanada), and its examples without an
        # intercept.
        [
            "choice ~ cost + ivt | income + urban",
            "choice ~ cost + ivt | income + urban | 0",
        ],
        ["choice ~ 0 | income | 0", "choice ~ 0 | income", "| income"],
        [
            "choice ~ cost + ivt",
            "choice ~ cost + ivt | 1",
            "choice ~ cost + ivt | 1 | 0",
        ],
        ["choice ~ cost | income + 0 | ivt", "choice ~ cost | income - 1 | ivt"],
    ],
)
def test_mlogit_equivalent_formulas(same):
    first = parse_formula(same[0])
    for other in same[1:]:
        assert parse_formula(other) == first, other


def test_cli_help_formulas_parse():
    """The CLI's --help showed "cost + time | income | 0", which the parser
    refused: it parses now, with constants (mlogit: a 0 in the third part is an
    empty part), and so does every formula the help shows."""
    assert parse_formula("cost + time | income | 0") == {
        "generic": ["cost", "time"],
        "case": ["income"],
        "alternative_specific": None,
        "constants": True,
    }
    from skpolicy import _cli

    shown = re.findall(r'formula "([^"]+)"', _cli._parser().format_help())
    shown += re.findall(r"e\.g\. \"([^\"]+)\"", _cli._parser().format_help())
    assert shown
    for formula in shown:
        parse_formula(formula)


# ------------------------------------------------------ expression terms


def test_plain_formulas_need_no_formulaic(heating, monkeypatch):
    monkeypatch.setitem(sys.modules, "formulaic", None)  # import now fails
    X, y = heating
    pipe = pipeline(ChoiceSpecification.from_formula("ic + oc | income")).fit(X, y)
    assert "income:gc" in pipe[-1].feature_names_in_
    with pytest.raises(ImportError, match="'log\\(ic\\)'.*pip install 'skpolicy"):
        ChoiceSpecification.from_formula("log(ic) + oc").fit(X)


def test_transformed_terms_equal_hand_computed_columns(heating):
    pytest.importorskip("formulaic")
    X, y = heating
    spec = ChoiceSpecification.from_formula(
        "log(ic) + I(oc / income) | rooms:income + 0"
    )
    out = spec.fit_transform(X)
    alt = X.index.get_level_values("alt")
    np.testing.assert_allclose(out["log(ic)"], np.log(X["ic"]))
    np.testing.assert_allclose(out["I(oc / income)"], X["oc"] / X["income"])
    for a in ["er", "gc", "gr", "hp"]:  # reference: ec (first sorted)
        expected = np.where(alt == a, X["rooms"] * X["income"], 0.0)
        np.testing.assert_allclose(out[f"rooms:income:{a}"], expected)
    assert "rooms:income:ec" not in out.columns
    # The fitted model equals one fitted on the hand-computed columns.
    manual = pd.DataFrame(
        {"log_ic": np.log(X["ic"]), "oc_income": X["oc"] / X["income"]},
        index=X.index,
    )
    for a in ["er", "gc", "gr", "hp"]:
        manual[a] = np.where(alt == a, X["rooms"] * X["income"], 0.0)
    ours = pipeline(spec).fit(X, y)[-1]
    ref = SoftmaxChoiceEstimator().fit(manual, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9)


def test_categorical_expression_as_case_variable(heating):
    pytest.importorskip("formulaic")
    X, _ = heating
    out = ChoiceSpecification.from_formula(
        "ic | C(region)", reference="hp"
    ).fit_transform(X)
    alt = X.index.get_level_values("alt")
    # Treatment contrasts: the first level (mountn) is dropped.
    levels = sorted(set(X["region"]))[1:]
    for level in levels:
        for a in ["ec", "er", "gc", "gr"]:
            expected = ((X["region"] == level) & (alt == a)).astype(float)
            np.testing.assert_array_equal(out[f"C(region)[T.{level}]:{a}"], expected)
    assert out.shape[1] == 4 + 1 + 3 * 4


def test_stateful_terms_are_learned_per_fold(heating):
    pytest.importorskip("formulaic")
    X, y = heating
    cv = SituationKFold(3, situation_key="idcase")
    result = cross_validate(
        pipeline(ChoiceSpecification.from_formula("center(ic) + oc | 0")),
        X,
        y,
        cv=cv,
        return_estimator=True,
    )
    probe = X.iloc[:10]
    means = []
    for (train, _), fitted in zip(cv.split(X), result["estimator"], strict=True):
        out = fitted[0].transform(probe)
        train_mean = X["ic"].iloc[train].mean()
        np.testing.assert_allclose(out["center(ic)"], probe["ic"] - train_mean)
        means.append(train_mean)
    assert len(set(np.round(means, 6))) == 3  # the folds really differ


def test_expression_errors(heating):
    pytest.importorskip("formulaic")
    X, _ = heating
    with pytest.raises(ValueError, match="column 'icc' is not in X"):
        ChoiceSpecification.from_formula("icc + oc").fit(X)
    with pytest.raises(ValueError, match="term 'log\\(icc\\)' is neither a column"):
        ChoiceSpecification.from_formula("log(icc) + oc").fit(X)


def test_expression_specification_pickles(heating):
    pytest.importorskip("formulaic")
    import pickle

    X, y = heating
    pipe = pipeline(ChoiceSpecification.from_formula("scale(ic) + oc | C(region)")).fit(
        X, y
    )
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(X), pipe.predict_proba(X))


# ------------------------------------------ terms restricted to some alternatives


def heating_design_restricted(X):
    """Hand-built design of "oc | income[gc, er] | ic[hp]" (reference: ec)."""
    alt = X.index.get_level_values("alt")
    out = {f"asc[{a}]": (alt == a).astype(float) for a in ["er", "gc", "gr", "hp"]}
    out["oc"] = X["oc"].astype(float)
    out["income:gc"] = np.where(alt == "gc", X["income"], 0.0)
    out["income:er"] = np.where(alt == "er", X["income"], 0.0)
    out["ic:hp"] = np.where(alt == "hp", X["ic"], 0.0)
    return pd.DataFrame(out, index=X.index)


def test_restricted_terms_match_a_hand_built_design(heating):
    X, y = heating
    spec = ChoiceSpecification.from_formula("oc | income[gc, er] | ic[hp]")
    assert (
        spec.get_params()
        == ChoiceSpecification(
            ["oc"], case={"income": ["gc", "er"]}, alternative_specific={"ic": ["hp"]}
        ).get_params()
    )
    expected = heating_design_restricted(X)
    pd.testing.assert_frame_equal(spec.fit_transform(X), expected)
    ours = pipeline(spec).fit(X, y)[-1]
    ref = SoftmaxChoiceEstimator().fit(expected, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9)
    assert list(ours.feature_names_in_) == list(expected.columns)


def test_restriction_labels_match_integer_alternatives(heating):
    X, _ = heating
    codes = {"ec": 1, "er": 2, "gc": 3, "gr": 4, "hp": 5}
    numbered = X.rename(index=codes, level="alt")
    out = ChoiceSpecification.from_formula("oc | 0 | ic[3, '5']").fit_transform(
        numbered
    )
    assert list(out.columns) == ["oc", "ic:3", "ic:5"]
    np.testing.assert_array_equal(
        out["ic:5"], np.where(X.index.get_level_values("alt") == "hp", X["ic"], 0)
    )


def test_alternative_id_is_a_variable_in_expressions(heating):
    """mlogit's I(income * (alt == "gc")) and a generic coefficient shared by a
    subset, I(ic * alt.isin([...])), work as written."""
    pytest.importorskip("formulaic")
    X, y = heating
    alt = X.index.get_level_values("alt")
    spec = ChoiceSpecification.from_formula(
        "oc + I(income * (alt == 'gc')) + I(ic * alt.isin(['gc', 'gr'])) | 0"
    )
    out = spec.fit_transform(X)
    expected = pd.DataFrame(
        {
            "oc": X["oc"].astype(float),
            "I(income * (alt == 'gc'))": np.where(alt == "gc", X["income"], 0.0),
            "I(ic * alt.isin(['gc', 'gr']))": np.where(
                np.isin(alt, ["gc", "gr"]), X["ic"], 0.0
            ),
        },
        index=X.index,
    )
    pd.testing.assert_frame_equal(out, expected)
    # The same design as the restricted-case syntax, up to the names.
    short = ChoiceSpecification.from_formula("oc | income[gc] - 1").fit_transform(X)
    np.testing.assert_array_equal(short["income:gc"], out.iloc[:, 1])
    ours = pipeline(spec).fit(X, y)[-1]
    ref = SoftmaxChoiceEstimator().fit(expected, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9)
    # The input is not modified; transform sees the id on new data too.
    assert "alt" not in X.columns
    pd.testing.assert_frame_equal(pipeline(spec).fit(X, y)[0].transform(X), out)


def test_unnamed_alternative_level_is_called_alternative(heating):
    pytest.importorskip("formulaic")
    X, _ = heating
    unnamed = X.rename_axis([None, None])
    out = ChoiceSpecification.from_formula(
        "I(income * (alternative == 'hp')) | 0"
    ).fit_transform(unnamed)
    alt = X.index.get_level_values("alt")
    np.testing.assert_array_equal(out.iloc[:, 0], np.where(alt == "hp", X["income"], 0))
