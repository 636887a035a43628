"""ChoiceSpecification: published Heating results, pipelines, unseen alternatives,
errors and the sklearn transformer contract."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils._param_validation import InvalidParameterError

from skpolicy import SituationKFold, SoftmaxChoiceEstimator
from skpolicy.datasets import load_heating
from skpolicy.preprocessing import ChoiceSpecification, subset_alternatives


@pytest.fixture(scope="module")
def heating():
    return load_heating(return_X_y=True)


def our_name(published_name):
    """mlogit-vignette names (asc_ec) as ChoiceSpecification names them (asc[ec])."""
    if published_name.startswith("asc_"):
        return f"asc[{published_name[4:]}]"
    return published_name


def fit_pipeline(spec, X, y, **est_params):
    pipe = make_pipeline(spec, SoftmaxChoiceEstimator(**est_params))
    return pipe.set_output(transform="pandas").fit(X, y)


def check_published(est, published, published_precision):
    names = list(est.feature_names_in_)
    assert sorted(names) == sorted(our_name(n) for n in published["coefficients"])
    se = est.std_errors().to_numpy()
    for name, coef in published["coefficients"].items():
        k = names.index(our_name(name))
        # mlogit's own stopping rule leaves its 8th digit up to ~1e-7 relative off
        # the exact MLE (see test_heating_published.py).
        tol = published_precision(coef) + 1e-7 * abs(coef)
        assert est.coef_[k] == pytest.approx(coef, abs=tol), name
        err = published["std_errors"][name]
        assert se[k] == pytest.approx(err, abs=published_precision(err)), name
    loglik = published["loglik"]
    assert est.log_likelihood_ == pytest.approx(loglik, abs=published_precision(loglik))


BUILDERS = {
    "heating_noasc": {
        "transformer": lambda: ChoiceSpecification(["ic", "oc"], constants=False),
        "formula": lambda: ChoiceSpecification.from_formula("ic + oc | 0"),
    },
    "heating_asc": {
        "transformer": lambda: ChoiceSpecification(["ic", "oc"], reference="hp"),
        "formula": lambda: ChoiceSpecification.from_formula("ic + oc", reference="hp"),
    },
}


@pytest.mark.parametrize("how", ["transformer", "formula"])
@pytest.mark.parametrize("model", ["heating_noasc", "heating_asc"])
def test_heating_published(heating, model, how, published, published_precision):
    X, y = heating
    pipe = fit_pipeline(BUILDERS[model][how](), X, y)
    check_published(
        pipe[-1], published["models"][model]["published"], published_precision
    )


def test_heating_names_and_column_order(heating):
    X, y = heating
    est = fit_pipeline(ChoiceSpecification(["ic", "oc"], reference="hp"), X, y)[-1]
    # Constants first (alternatives sorted, reference dropped), then generic.
    assert list(est.feature_names_in_) == [
        "asc[ec]",
        "asc[er]",
        "asc[gc]",
        "asc[gr]",
        "ic",
        "oc",
    ]


def test_heating_other_reference_is_published(heating, published, published_precision):
    """mlogit's same model with reflevel='gr' (published in the vignette)."""
    X, y = heating
    published = published["models"]["heating_asc"]["published"]["other"][
        "same_model_reflevel_gr"
    ]
    est = fit_pipeline(ChoiceSpecification(["ic", "oc"], reference="gr"), X, y)[-1]
    names = list(est.feature_names_in_)
    for name, value in published.items():
        ours = f"asc[{name.split(':')[1]}]" if name.startswith("(") else name
        coef = est.coef_[names.index(ours)]
        assert coef == pytest.approx(value, abs=published_precision(value) + 1e-7)


def test_default_reference_is_first_sorted_alternative(heating):
    X, _ = heating
    spec = ChoiceSpecification(["ic"]).fit(X)
    assert spec.reference_ == "ec"
    assert list(spec.alternatives_) == ["ec", "er", "gc", "gr", "hp"]
    assert "asc[ec]" not in spec.get_feature_names_out()
    # Given alternatives fix the order, and the first is the default reference.
    spec = ChoiceSpecification(["ic"], alternatives=["hp", "gc", "gr", "ec", "er"]).fit(
        X
    )
    assert spec.reference_ == "hp"
    assert list(spec.get_feature_names_out()) == [
        "asc[gc]",
        "asc[gr]",
        "asc[ec]",
        "asc[er]",
        "ic",
    ]


def hand_design(X, reference="hp"):
    """Reference design matrix built column by column from the index."""
    alt = X.index.get_level_values("alt")
    alts = sorted(set(alt))
    out = {}
    for a in alts:
        if a != reference:
            out[f"asc[{a}]"] = (alt == a).astype(float)
    out["oc"] = X["oc"].astype(float)
    for a in alts:
        if a != reference:
            out[f"income:{a}"] = np.where(alt == a, X["income"], 0.0)
    for a in alts:
        out[f"ic:{a}"] = np.where(alt == a, X["ic"], 0.0)
    out["rooms:gc"] = np.where(alt == "gc", X["rooms"], 0.0)
    out["rooms:er"] = np.where(alt == "er", X["rooms"], 0.0)
    return pd.DataFrame(out, index=X.index)


def test_all_four_roles_match_a_hand_built_design(heating):
    X, y = heating
    spec = ChoiceSpecification(
        generic=["oc"],
        case=["income"],
        alternative_specific={"ic": None, "rooms": ["gc", "er"]},
        reference="hp",
    )
    Xt = spec.fit_transform(X)
    expected = hand_design(X)
    pd.testing.assert_frame_equal(Xt, expected)
    # The same coefficients as an estimator fitted on the hand-built columns.
    ours = fit_pipeline(spec, X, y)[-1]
    ref = SoftmaxChoiceEstimator().fit(expected, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9)
    assert list(ours.feature_names_in_) == list(expected.columns)


def test_case_interactions_drop_the_reference_even_without_constants(heating):
    X, _ = heating
    spec = ChoiceSpecification(case=["income"], constants=False, reference="gc")
    names = list(spec.fit(X).get_feature_names_out())
    assert names == ["income:ec", "income:er", "income:gr", "income:hp"]


def test_alternative_specific_list_form_is_all_alternatives(heating):
    X, _ = heating
    a = ChoiceSpecification(alternative_specific=["ic"], constants=False).fit(X)
    b = ChoiceSpecification(alternative_specific={"ic": None}, constants=False)
    b.fit(X)
    assert list(a.get_feature_names_out()) == [
        f"ic:{alt}" for alt in ["ec", "er", "gc", "gr", "hp"]
    ]
    pd.testing.assert_frame_equal(a.transform(X), b.transform(X))
    assert a.reference_ is None


def test_subset_terms_ignore_values_of_other_alternatives(heating):
    X, _ = heating
    X_nan = X.copy()
    alt = X.index.get_level_values("alt")
    X_nan.loc[alt != "hp", "rooms"] = np.nan  # "rooms" only matters for hp
    spec = ChoiceSpecification(["ic"], alternative_specific={"rooms": "hp"})
    out = spec.fit_transform(X_nan)
    assert not out.isna().any().any()
    np.testing.assert_array_equal(out["rooms:hp"], np.where(alt == "hp", X["rooms"], 0))


def test_column_selector_and_alternative_key_by_name(heating):
    X, _ = heating
    spec = ChoiceSpecification(
        make_column_selector(pattern="^(?:ic|oc)$"), alternative_key="alt"
    )
    assert list(spec.fit(X).get_feature_names_out())[-2:] == ["ic", "oc"]
    by_column = X.reset_index(level="alt")
    spec = ChoiceSpecification(["ic"], alternative_key="alt").fit(by_column)
    pd.testing.assert_frame_equal(
        spec.transform(by_column).reset_index(drop=True),
        ChoiceSpecification(["ic"]).fit_transform(X).reset_index(drop=True),
    )


# ------------------------------------------------------------------ pipelines


def test_grid_search_with_situation_kfold(heating):
    X, y = heating
    pipe = make_pipeline(
        ChoiceSpecification(["ic", "oc"], reference="hp"), SoftmaxChoiceEstimator()
    ).set_output(transform="pandas")
    search = GridSearchCV(
        pipe,
        {
            "choicespecification__constants": [False, True],
            "softmaxchoiceestimator__alpha": [0.0, 1e-2],
        },
        cv=SituationKFold(5, situation_key="idcase"),
    ).fit(X, y)
    # The constants (LL -1008.2 vs -1095.2 in sample) also win out of sample.
    assert search.best_params_["choicespecification__constants"] is True
    assert np.all(search.cv_results_["mean_test_score"] < 0)
    best = search.best_estimator_[-1]
    assert list(best.feature_names_in_)[:4] == [
        "asc[ec]",
        "asc[er]",
        "asc[gc]",
        "asc[gr]",
    ]


def test_specification_is_fitted_per_fold():
    """A rare alternative absent from some training folds: each fold's
    specification knows only the alternatives of its own training rows."""
    rng = np.random.default_rng(0)
    n = 60
    alts = np.array(["a", "b", "c", "rare"])
    offered = np.ones((n, 4), dtype=bool)
    offered[:, 3] = False
    offered[:5, 3] = True  # "rare" only in the first 5 situations
    s, j = np.nonzero(offered)
    X = pd.DataFrame(
        {"price": rng.uniform(1, 5, len(s))},
        index=pd.MultiIndex.from_arrays([s, alts[j]], names=["sid", "alt"]),
    )
    first = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    y = np.zeros(len(s), dtype=int)
    y[first + rng.integers(0, 3, n)] = 1
    cv = SituationKFold(3)
    pipe = make_pipeline(
        ChoiceSpecification(["price"], constants=False), SoftmaxChoiceEstimator()
    ).set_output(transform="pandas")
    result = cross_validate(pipe, X, y, cv=cv, return_estimator=True)
    for (train, _), fitted in zip(cv.split(X), result["estimator"], strict=True):
        seen = set(X.index.get_level_values("alt")[train])
        assert set(fitted[0].alternatives_) == seen
    assert np.all(np.isfinite(result["test_score"]))


def test_encoded_categorical_case_variable_in_pipeline(heating):
    X, y = heating
    encode = ColumnTransformer(
        [("region", OneHotEncoder(drop="first", sparse_output=False), ["region"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    spec = ChoiceSpecification(
        ["ic", "oc"],
        case=["region_ncostl", "region_scostl", "region_valley"],
        reference="hp",
    )
    pipe = make_pipeline(encode, spec, SoftmaxChoiceEstimator())
    pipe.set_output(transform="pandas").fit(X, y)
    names = list(pipe[-1].feature_names_in_)
    assert "region_scostl:gc" in names and "region_scostl:hp" not in names
    assert len(names) == 4 + 2 + 3 * 4


# --------------------------------------------------------- unseen alternatives


@pytest.fixture
def with_new_alternative(heating):
    """Heating plus a sixth system, 'solar', offered in the first 10 houses."""
    X, y = heating
    first = X.loc[X.index.get_level_values("idcase") <= 10]
    solar = first.xs("hp", level="alt", drop_level=False).rename(
        index={"hp": "solar"}, level="alt"
    )
    solar = solar.assign(ic=solar["ic"] * 1.5, oc=solar["oc"] * 0.5)
    return pd.concat([first, solar]).sort_index(level="idcase", sort_remaining=False)


def test_unseen_alternative_with_generic_terms_predicts(heating, with_new_alternative):
    X, y = heating
    pipe = fit_pipeline(ChoiceSpecification(["ic", "oc"], constants=False), X, y)
    new = with_new_alternative
    proba = pipe.predict_proba(new)
    coef = pipe[-1].coef_
    u = new[["ic", "oc"]].to_numpy() @ coef
    ids = new.index.get_level_values("idcase")
    expected = np.exp(u) / pd.Series(np.exp(u)).groupby(ids).transform("sum")
    np.testing.assert_allclose(proba, expected, rtol=1e-10)
    # An alternative-specific term for a subset leaves solar out of that term.
    spec = ChoiceSpecification(
        ["ic", "oc"], constants=False, alternative_specific={"rooms": ["gc"]}
    )
    out = spec.fit(X).transform(new)
    assert (out.xs("solar", level="alt")["rooms:gc"] == 0).all()


@pytest.mark.parametrize(
    "params, culprit",
    [
        ({"generic": ["ic"]}, "constants"),
        ({"case": ["income"], "constants": False}, "case interactions of 'income'"),
        (
            {"alternative_specific": ["ic"], "constants": False},
            "alternative-specific terms of 'ic'",
        ),
    ],
)
def test_unseen_alternative_fails_when_it_needs_coefficients(
    heating, with_new_alternative, params, culprit
):
    X, _ = heating
    spec = ChoiceSpecification(**params).fit(X)
    with pytest.raises(ValueError, match=rf"\['solar'\] not seen at fit.*{culprit}"):
        spec.transform(with_new_alternative)


# ------------------------------------------------------------------ errors


def test_error_reference_absent(heating):
    X, _ = heating
    with pytest.raises(ValueError, match="reference='solar' never appears in X"):
        ChoiceSpecification(["ic"], reference="solar").fit(X)
    no_hp = X.drop(index="hp", level="alt")
    with pytest.raises(ValueError, match="reference='hp' never appears"):
        ChoiceSpecification(["ic"], reference="hp").fit(no_hp)


def test_error_listed_alternatives(heating):
    X, _ = heating
    with pytest.raises(ValueError, match=r"\['solar'\] of alternatives= never"):
        ChoiceSpecification(
            ["ic"], alternatives=["gc", "gr", "ec", "er", "hp", "solar"]
        ).fit(X)
    with pytest.raises(ValueError, match=r"X has alternative\(s\) \['hp'\] that"):
        ChoiceSpecification(["ic"], alternatives=["gc", "gr", "ec", "er"]).fit(X)
    with pytest.raises(ValueError, match="lists 'gc' twice"):
        ChoiceSpecification(["ic"], alternatives=["gc", "gc"]).fit(X)


def test_error_subset_alternative_absent(heating):
    X, _ = heating
    with pytest.raises(ValueError, match=r"\{'ic': \['gc', 'solar'\]\}.*\['solar'\]"):
        ChoiceSpecification(alternative_specific={"ic": ["gc", "solar"]}).fit(X)


def test_error_missing_and_non_numeric_columns(heating):
    X, _ = heating
    with pytest.raises(ValueError, match="column 'icc' is not in X"):
        ChoiceSpecification(["icc"]).fit(X)
    with pytest.raises(ValueError, match="column 'region' has dtype.*OneHotEncoder"):
        ChoiceSpecification(case=["region"]).fit(X)
    spec = ChoiceSpecification(["ic", "oc"]).fit(X)
    with pytest.raises(ValueError, match="column 'ic' has dtype.*not numeric"):
        spec.transform(X.assign(ic=X["ic"].astype(str)))


def test_error_no_terms_and_duplicates(heating):
    X, _ = heating
    with pytest.raises(ValueError, match="the specification has no term"):
        ChoiceSpecification(constants=False).fit(X)
    with pytest.raises(ValueError, match="'ic' is listed twice in generic="):
        ChoiceSpecification(["ic", "ic"]).fit(X)
    clash = X.assign(**{"ic:gc": 1.0})
    with pytest.raises(ValueError, match="'ic:gc' would be produced twice"):
        ChoiceSpecification(["ic:gc"], alternative_specific=["ic"]).fit(clash)


def test_error_input_is_not_long_data(heating):
    X, _ = heating
    with pytest.raises(TypeError, match="needs long choice data.*set_output"):
        ChoiceSpecification(["ic"]).fit(X.to_numpy())
    with pytest.raises(ValueError, match="index of X has only 1 level"):
        ChoiceSpecification(["ic"]).fit(X.reset_index(level="alt"))
    spec = ChoiceSpecification(["ic"]).fit(X)
    with pytest.raises(ValueError, match="feature names"):
        spec.transform(X[["oc", "ic"]])


def test_error_invalid_parameters(heating):
    X, _ = heating
    with pytest.raises(InvalidParameterError, match="'generic' parameter"):
        ChoiceSpecification(generic=3).fit(X)
    with pytest.raises(InvalidParameterError, match="'constants' parameter"):
        ChoiceSpecification(["ic"], constants="yes").fit(X)


# ---------------------------------------------------- the transformer contract


def test_never_mutates_input(heating):
    X, _ = heating
    before = copy.deepcopy(X)
    spec = ChoiceSpecification(
        ["ic"], case=["income"], alternative_specific={"oc": ["gc"]}
    )
    out = spec.fit_transform(X)
    spec.transform(X)
    pd.testing.assert_frame_equal(X, before)
    out.iloc[:, :] = -1.0  # the output shares no memory with X
    pd.testing.assert_frame_equal(X, before)


def test_feature_names_out_and_set_output(heating):
    X, _ = heating
    spec = ChoiceSpecification(["ic", "oc"], case=["income"], reference="hp")
    default = spec.fit(X).transform(X)
    names = spec.get_feature_names_out()
    assert list(default.columns) == list(names)
    assert default.index.equals(X.index)
    np.testing.assert_array_equal(spec.get_feature_names_out(X.columns), names)
    with pytest.raises(ValueError, match="input_features is not equal"):
        spec.get_feature_names_out(["a"] * X.shape[1])
    pandas_out = spec.set_output(transform="pandas").transform(X)
    pd.testing.assert_frame_equal(pandas_out, default)
    assert pandas_out.index.names == ["idcase", "alt"]
    assert spec.n_features_in_ == X.shape[1]
    assert list(spec.feature_names_in_) == list(X.columns)


def test_clone_and_pickle(heating):
    X, y = heating
    spec = ChoiceSpecification(
        ["ic"], case=["income"], alternative_specific={"oc": ["gc"]}, reference="hp"
    )
    cloned = clone(spec)
    assert cloned.get_params() == spec.get_params()
    assert not hasattr(cloned, "alternatives_")
    pipe = fit_pipeline(spec, X, y)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(X), pipe.predict_proba(X))
    pd.testing.assert_frame_equal(restored[0].transform(X), pipe[0].transform(X))


# ------------------------------------------------- case terms for a subset


def test_case_subset_matches_a_hand_built_design(heating):
    X, y = heating
    alt = X.index.get_level_values("alt")
    spec = ChoiceSpecification(
        ["oc"], case={"income": ["gc", "hp"], "agehed": None}, reference="hp"
    )
    out = spec.fit_transform(X)
    expected = {f"asc[{a}]": (alt == a).astype(float) for a in ["ec", "er", "gc", "gr"]}
    expected["oc"] = X["oc"].astype(float)
    # A subset may hold the reference: only the listed alternatives get a column.
    expected["income:gc"] = np.where(alt == "gc", X["income"], 0.0)
    expected["income:hp"] = np.where(alt == "hp", X["income"], 0.0)
    for a in ["ec", "er", "gc", "gr"]:
        expected[f"agehed:{a}"] = np.where(alt == a, X["agehed"], 0.0)
    expected = pd.DataFrame(expected, index=X.index)
    pd.testing.assert_frame_equal(out, expected)
    ours = fit_pipeline(spec, X, y)[-1]
    ref = SoftmaxChoiceEstimator().fit(expected, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9)


def test_case_subset_errors_and_unseen_alternatives(heating, with_new_alternative):
    X, _ = heating
    with pytest.raises(ValueError, match="every alternative.*not identified"):
        ChoiceSpecification(
            case={"income": ["ec", "er", "gc", "gr", "hp"]}, constants=False
        ).fit(X)
    with pytest.raises(ValueError, match=r"case=\{'income': \['solar'\]\}.*never"):
        ChoiceSpecification(case={"income": ["solar"]}).fit(X)
    # A case term for a subset needs no coefficient for a new alternative.
    spec = ChoiceSpecification(["ic"], case={"income": "gc"}, constants=False)
    out = spec.fit(X).transform(with_new_alternative)
    assert list(out.columns) == ["ic", "income:gc"]
    assert (out.xs("solar", level="alt")["income:gc"] == 0).all()
    assert spec.reference_ is None


# ------------------------------------------------------ user-chosen names


def test_names_flow_to_the_estimator(heating):
    X, y = heating
    names = {"asc[gc]": "gas_central", "income:gc": "income_gas_central"}
    spec = ChoiceSpecification(["ic"], case=["income"], reference="hp", names=names)
    pipe = fit_pipeline(spec, X, y)
    expected = [
        "asc[ec]",
        "asc[er]",
        "gas_central",
        "asc[gr]",
        "ic",
        "income:ec",
        "income:er",
        "income_gas_central",
        "income:gr",
    ]
    assert list(pipe[-1].feature_names_in_) == expected
    assert list(pipe[-1].coef_table().index) == expected
    # Renaming changes nothing but the names.
    plain = fit_pipeline(
        ChoiceSpecification(["ic"], case=["income"], reference="hp"), X, y
    )
    np.testing.assert_array_equal(pipe[-1].coef_, plain[-1].coef_)
    np.testing.assert_array_equal(
        pipe[0].transform(X).to_numpy(), plain[0].transform(X).to_numpy()
    )
    assert clone(spec).get_params()["names"] == names
    # A callable, and the formula front end.
    spec = ChoiceSpecification.from_formula(
        "ic | income", reference="hp", names=lambda n: n.replace(":", "_")
    )
    assert "income_gc" in spec.fit(X).get_feature_names_out()


def test_names_errors(heating):
    X, _ = heating
    with pytest.raises(ValueError, match=r"renames \['asc\[hp\]'\].*not produce"):
        ChoiceSpecification(["ic"], reference="hp", names={"asc[hp]": "x"}).fit(X)
    with pytest.raises(ValueError, match="name 'x' to several columns"):
        ChoiceSpecification(["ic", "oc"], names={"ic": "x", "oc": "x"}).fit(X)
    with pytest.raises(ValueError, match="non-empty str"):
        ChoiceSpecification(["ic"], names={"ic": 3}).fit(X)
    with pytest.raises(InvalidParameterError, match="'names' parameter"):
        ChoiceSpecification(["ic"], names=["a"]).fit(X)


# ------------------------------------------------ subset_alternatives (alt.subset)


def test_subset_alternatives_keeps_situations_that_chose_a_kept_alternative(heating):
    X, y = heating
    keep = ["ec", "er", "gc"]
    X_sub, y_sub = subset_alternatives(X, y, keep, alternative_key="alt")
    alt = X.index.get_level_values("alt")
    sid = X.index.get_level_values("idcase")
    chosen_alt = pd.Series(alt[y.to_numpy() == 1], index=sid[y.to_numpy() == 1])
    kept_ids = chosen_alt.index[chosen_alt.isin(keep)]
    mask = np.isin(alt, keep) & np.isin(sid, kept_ids)
    pd.testing.assert_frame_equal(X_sub, X[mask])
    pd.testing.assert_series_equal(y_sub, y[mask])
    assert sorted(X_sub.index.levels[1]) == keep  # unused levels removed
    assert X_sub.index.get_level_values("idcase").nunique() == len(kept_ids)
    assert (y_sub.groupby(level="idcase").sum() == 1).all()
    # The specification refitted on the subset knows only its alternatives.
    pipe = fit_pipeline(ChoiceSpecification(["ic", "oc"]), X_sub, y_sub)
    assert list(pipe[-1].feature_names_in_) == ["asc[er]", "asc[gc]", "ic", "oc"]


def test_subset_alternatives_counts_weights_and_types():
    X = pd.DataFrame(
        {"x": np.arange(9.0)},
        index=pd.MultiIndex.from_product([[1, 2, 3], ["a", "b", "c"]]),
    )
    # Counts: situation 1 chose b and c, situation 2 only c, situation 3 a.
    y = np.array([0, 2, 1, 0, 0, 3, 1, 0, 0])
    w = np.repeat([1.0, 2.0, 3.0], 3)
    X_sub, y_sub, w_sub = subset_alternatives(X, y, ["a", "b"], sample_weight=w)
    assert list(X_sub.index) == [(1, "a"), (1, "b"), (3, "a"), (3, "b")]
    np.testing.assert_array_equal(y_sub, [0, 2, 1, 0])
    np.testing.assert_array_equal(w_sub, [1.0, 1.0, 3.0, 3.0])
    assert isinstance(y_sub, np.ndarray)
    # Ids in columns; lists; the input is not modified.
    flat = X.reset_index(names=["sid", "alt"]).set_index("sid")
    before = flat.copy()
    X_sub, y_sub = subset_alternatives(
        flat, list(y), ["c", "b"], alternative_key="alt", situation_key=0
    )
    assert list(X_sub["alt"]) == ["b", "c", "b", "c"]
    np.testing.assert_array_equal(y_sub, [2, 1, 0, 3])
    pd.testing.assert_frame_equal(flat, before)


def test_subset_alternatives_errors(heating):
    X, y = heating
    with pytest.raises(ValueError, match=r"\['solar'\] never appear in X"):
        subset_alternatives(X, y, ["gc", "solar"])
    with pytest.raises(ValueError, match="y has 3 entries but X has"):
        subset_alternatives(X, y[:3], ["gc"])
    with pytest.raises(ValueError, match="sample_weight has 3 entries"):
        subset_alternatives(X, y, ["gc"], sample_weight=[1.0, 1.0, 1.0])
    never = X.index.get_level_values("alt") == "hp"
    with pytest.raises(ValueError, match="no situation chose one of"):
        subset_alternatives(X, np.where(never, 0, y), ["hp"])
    with pytest.raises(TypeError, match="needs long choice data"):
        subset_alternatives(X.to_numpy(), y, ["gc"])


# ---------------------------------------------------- choices given as labels


def test_choice_labels_rule(heating):
    """True/False are 1/0; "yes"/"no" labels are refused with the one-line fix."""
    X, y = heating
    expected = subset_alternatives(X, y, ["gc", "gr"])
    for as_bool in (
        y == 1,
        (y == 1).to_numpy(),
        (y == 1).astype("boolean"),
        list(y == 1),
    ):
        X_sub, y_sub = subset_alternatives(X, as_bool, ["gc", "gr"])
        pd.testing.assert_frame_equal(X_sub, expected[0])
        np.testing.assert_array_equal(np.asarray(y_sub, dtype=int), expected[1])
    labels = np.where(y == 1, "yes", "no")
    for bad in (labels, pd.Series(labels, dtype="category"), list(labels)):
        with pytest.raises(ValueError, match=r"y = \(y == 'yes'\)\.astype\(int\)"):
            subset_alternatives(X, bad, ["gc", "gr"])
    # The suggested line works.
    y_fixed = (labels == "yes").astype(int)
    np.testing.assert_array_equal(
        subset_alternatives(X, y_fixed, ["gc", "gr"])[1], expected[1]
    )
    with pytest.raises(ValueError, match="nullable boolean with missing"):
        subset_alternatives(
            X, (y == 1).astype("boolean").where(y.index != y.index[0]), ["gc"]
        )
