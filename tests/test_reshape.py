"""skpolicy.reshape: wide -> long, long <-> dense, and their errors."""

import copy
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from skpolicy import SoftmaxChoiceEstimator
from skpolicy.datasets import make_choice_data
from skpolicy.reshape import dense_to_long, long_to_dense, wide_to_long

HEATING_ALTS = ["gc", "gr", "ec", "er", "hp"]


@pytest.fixture(scope="module")
def heating_wide():
    path = resources.files("skpolicy.datasets") / "data" / "heating.csv.gz"
    with resources.as_file(path) as file:
        return pd.read_csv(file)


def hand_long(wide, alternatives, attributes, case, choice, situation):
    """Reference wide -> long conversion: one frame per alternative, concatenated."""
    frames = []
    for alt in alternatives:
        frame = pd.DataFrame({"situation": wide[situation], "alternative": alt})
        for attr in attributes:
            frame[attr] = wide[f"{attr}.{alt}"]
        for col in case:
            frame[col] = wide[col]
        frame["chosen"] = (wide[choice] == alt).astype(int)
        frames.append(frame)
    return pd.concat(frames).set_index(["situation", "alternative"])


def sort_rows(frame):
    return frame.sort_index(level=[0, 1])


@pytest.fixture
def ragged_wide():
    """Wide data with availability columns, int ids, and a case variable."""
    rng = np.random.default_rng(3)
    n = 40
    alts = ["car", "bus", "rail"]
    avail = rng.random((n, 3)) > 0.3
    avail[:, 0] = True  # at least the car
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    wide = pd.DataFrame(
        {
            "id": np.arange(100, 100 + n),
            "mode": np.array(alts)[chosen],
            "income": rng.integers(1, 9, n),
            "female": rng.random(n) > 0.5,
        }
    )
    for attr in ("time", "cost"):
        for j, alt in enumerate(alts):
            values = rng.uniform(1, 10, n).round(2)
            # The attribute of an unavailable alternative is often missing.
            wide[f"{attr}.{alt}"] = np.where(avail[:, j], values, np.nan)
    for j, alt in enumerate(alts[1:], start=1):
        wide[f"avail.{alt}"] = avail[:, j].astype(int)
    return wide, avail


# ------------------------------------------------------------------ wide -> long


def test_heating_wide_to_long_matches_reference(heating_wide):
    case = ["income", "agehed", "rooms", "region"]
    long = wide_to_long(
        heating_wide, choice="depvar", situation="idcase", names=("situation", "alt")
    )
    expected = hand_long(
        heating_wide, HEATING_ALTS, ["ic", "oc"], case, "depvar", "idcase"
    )
    assert list(long.columns) == ["ic", "oc", *case, "chosen"]
    assert long.index.names == ["situation", "alt"]
    pd.testing.assert_frame_equal(
        sort_rows(long), sort_rows(expected.rename_axis(["situation", "alt"]))
    )
    # Situations in the order of the wide table, alternatives in column order.
    assert list(long.index.get_level_values(0)[:5]) == [1] * 5
    assert list(long.index.get_level_values(1)[:5]) == HEATING_ALTS


def test_default_situation_ids_are_positions(heating_wide):
    long = wide_to_long(heating_wide.drop(columns="idcase"), choice="depvar")
    np.testing.assert_array_equal(
        long.index.get_level_values("situation"), np.repeat(np.arange(900), 5)
    )
    assert long.index.names == ["situation", "alternative"]


def test_any_row_index_of_the_wide_table(heating_wide):
    subset = heating_wide.iloc[::-3]  # reversed, with gaps in the index
    long = wide_to_long(subset, choice="depvar", situation="idcase")
    expected = hand_long(
        subset, HEATING_ALTS, ["ic", "oc"], ["income"], "depvar", "idcase"
    )
    pd.testing.assert_frame_equal(
        sort_rows(long[["ic", "oc", "income", "chosen"]]), sort_rows(expected)
    )
    positions = wide_to_long(subset, choice="depvar").index.get_level_values(0)
    np.testing.assert_array_equal(positions, np.repeat(np.arange(len(subset)), 5))


def test_availability_drops_rows(ragged_wide):
    wide, avail = ragged_wide
    long = wide_to_long(wide, choice="mode", situation="id")
    assert long.shape[0] == avail.sum()
    assert list(long.columns) == ["time", "cost", "income", "female", "chosen"]
    # Exactly one chosen row per situation and never an unavailable one.
    per_situation = long["chosen"].groupby(level=0).sum()
    assert (per_situation == 1).all() and len(per_situation) == len(wide)
    assert not long[["time", "cost"]].isna().any().any()
    alts = ["car", "bus", "rail"]
    for s in (0, 7, 23):
        sid = wide["id"][s]
        expected = [a for j, a in enumerate(alts) if avail[s, j]]
        assert list(long.loc[sid].index) == expected
        for a in expected:
            assert long.loc[(sid, a), "time"] == wide[f"time.{a}"][s]
            assert long.loc[(sid, a), "income"] == wide["income"][s]
            assert long.loc[(sid, a), "chosen"] == int(wide["mode"][s] == a)


def test_boolean_availability_and_custom_prefix():
    wide = pd.DataFrame(
        {
            "y": ["b", "a"],
            "x_a": [1.0, 2.0],
            "x_b": [3.0, 4.0],
            "ok_b": [True, False],
        }
    )
    long = wide_to_long(wide, choice="y", sep="_", availability="ok")
    assert list(long.index) == [(0, "a"), (0, "b"), (1, "a")]
    assert long["x"].tolist() == [1.0, 3.0, 2.0]
    assert long["chosen"].tolist() == [0, 1, 1]


def test_integer_choice_labels_match_column_suffixes():
    wide = pd.DataFrame({"choice": [2, 1], "price.1": [5, 6], "price.2": [7, 8]})
    long = wide_to_long(wide, choice="choice")
    assert long["chosen"].tolist() == [0, 1, 1, 0]
    assert list(long.index.get_level_values(1)) == ["1", "2", "1", "2"]
    # Given as integers, the labels stay integers.
    long = wide_to_long(wide, choice="choice", alternatives=[1, 2])
    assert list(long.index.get_level_values(1)) == [1, 2, 1, 2]
    assert long["chosen"].tolist() == [0, 1, 1, 0]


def test_alternatives_may_contain_the_separator_and_case_names_too():
    wide = pd.DataFrame(
        {
            "mode": ["car.pool", "bus"],
            "time.car.pool": [1.0, 2.0],
            "time.bus": [3.0, 4.0],
            "hh.size": [2, 3],
        }
    )
    long = wide_to_long(wide, choice="mode", alternatives=["car.pool", "bus"])
    assert list(long.columns) == ["time", "hh.size", "chosen"]
    assert long.loc[(0, "car.pool"), "chosen"] == 1
    assert long.loc[(1, "bus"), "hh.size"] == 3
    # varying= names the alternative columns explicitly.
    long2 = wide_to_long(
        wide.rename(columns={"time.car.pool": "time.carpool"}).assign(
            mode=["carpool", "bus"]
        ),
        choice="mode",
        varying=["time.carpool", "time.bus"],
    )
    assert list(long2.columns) == ["time", "hh.size", "chosen"]


def test_without_choice_gives_no_chosen_column(heating_wide):
    long = wide_to_long(heating_wide.drop(columns="depvar"), choice=None)
    assert "chosen" not in long.columns and long.shape == (4500, 7)


def test_chosen_name_and_names(heating_wide):
    long = wide_to_long(
        heating_wide, choice="depvar", chosen_name="y", names=("house", "system")
    )
    assert long.index.names == ["house", "system"] and "y" in long.columns


@pytest.fixture
def biogeme_wide(ragged_wide):
    """ragged_wide renamed to Biogeme's layout: CAR_TIME, BUS_AV, ..."""
    wide, avail = ragged_wide

    def rename(column):
        if "." not in column:
            return column
        attr, alt = column.split(".")
        return f"{alt.upper()}_{'AV' if attr == 'avail' else attr.upper()}"

    out = wide.rename(columns=rename).assign(mode=wide["mode"].str.upper())
    return out, wide


def upper_long(long):
    """The long data of the lower-case table, with Biogeme's names."""
    return long.rename(columns=str.upper).rename(index=str.upper, level=1)


def test_alternative_first_layout(biogeme_wide):
    biogeme, wide = biogeme_wide
    expected = upper_long(wide_to_long(wide, choice="mode", situation="id"))
    expected = expected.rename(
        columns={"ID": "id", "MODE": "mode", "INCOME": "income", "FEMALE": "female"}
    ).rename(columns={"CHOSEN": "chosen"})
    long = wide_to_long(
        biogeme,
        choice="mode",
        situation="id",
        sep="_",
        layout="alternative_first",
        availability="AV",
    )
    pd.testing.assert_frame_equal(long, expected)
    # The availability columns named by a template: the same data.
    by_template = wide_to_long(
        biogeme,
        choice="mode",
        situation="id",
        sep="_",
        layout="alternative_first",
        availability="{alternative}_AV",
    )
    pd.testing.assert_frame_equal(by_template, expected)


def test_alternative_first_with_listed_alternatives_containing_the_separator():
    wide = pd.DataFrame(
        {
            "CHOICE": ["CAR_POOL", "CAR"],
            "CAR_POOL_TT": [1.0, 2.0],
            "CAR_TT": [3.0, 4.0],
            "CAR_POOL_AV": [1, 1],
            "HH_SIZE": [2, 3],
        }
    )
    long = wide_to_long(
        wide,
        choice="CHOICE",
        sep="_",
        layout="alternative_first",
        alternatives=["CAR_POOL", "CAR"],
        availability="AV",
    )
    assert list(long.columns) == ["TT", "HH_SIZE", "chosen"]
    assert long["TT"].tolist() == [1.0, 3.0, 2.0, 4.0]
    assert long.loc[(0, "CAR_POOL"), "chosen"] == 1


def test_availability_template_in_either_layout(ragged_wide):
    wide, avail = ragged_wide
    expected = wide_to_long(wide, choice="mode", situation="id")
    renamed = wide.rename(
        columns=lambda c: f"{c[6:]}_is_available" if c.startswith("avail.") else c
    )
    long = wide_to_long(
        renamed,
        choice="mode",
        situation="id",
        availability="{alternative}_is_available",
    )
    pd.testing.assert_frame_equal(long, expected)
    # With the alternatives listed, the template names their columns.
    listed = wide_to_long(
        renamed,
        choice="mode",
        situation="id",
        alternatives=["car", "bus", "rail"],
        availability="{alternative}_is_available",
    )
    pd.testing.assert_frame_equal(listed, expected)
    # Braces doubled in a template are literal braces.
    braces = wide.rename(
        columns=lambda c: f"{{{c[6:]}}}" if c.startswith("avail.") else c
    )
    long = wide_to_long(
        braces, choice="mode", situation="id", availability="{{{alternative}}}"
    )
    pd.testing.assert_frame_equal(long, expected)


def test_availability_template_with_integer_alternatives():
    wide = pd.DataFrame(
        {"y": [2, 1], "x.1": [1.0, 2.0], "x.2": [3.0, 4.0], "av_2": [1, 0]}
    )
    long = wide_to_long(
        wide, choice="y", alternatives=[1, 2], availability="av_{alternative}"
    )
    assert list(long.index) == [(0, 1), (0, 2), (1, 1)]
    assert long["chosen"].tolist() == [0, 1, 1]


def test_fill_value_for_attributes_of_some_alternatives():
    wide = pd.DataFrame(
        {
            "CHOICE": ["SM", "CAR"],
            "TRAIN_TT": [110.0, 90.0],
            "SM_TT": [60.0, 70.0],
            "CAR_TT": [120.0, 80.0],
            "SM_SEATS": [1, 0],
            "TRAIN_HE": [30, 60],
            "SM_HE": [10, 20],
        }
    )
    kwargs = {"choice": "CHOICE", "sep": "_", "layout": "alternative_first"}
    long = wide_to_long(wide, **kwargs, fill_value=0)
    assert list(long.columns) == ["TT", "SEATS", "HE", "chosen"]
    assert long["SEATS"].tolist() == [0, 1, 0, 0, 0, 0]
    assert long["HE"].tolist() == [30, 10, 0, 60, 20, 0]
    assert long["TT"].tolist() == [110.0, 60.0, 120.0, 90.0, 70.0, 80.0]
    nan = wide_to_long(wide, **kwargs, fill_value=np.nan)
    assert nan["SEATS"].isna().tolist() == [True, False, True] * 2
    with pytest.raises(
        ValueError,
        match=r"'SEATS' has no column for.*\['TRAIN', 'CAR'\].*'TRAIN_SEATS'.*fill_",
    ):
        wide_to_long(wide, **kwargs)


# ------------------------------------------------------------ long <-> dense


def test_long_to_dense_heating(heating_wide):
    long = wide_to_long(heating_wide, choice="depvar", situation="idcase")
    X = long.drop(columns=["region", "chosen"])
    dense = long_to_dense(X, long["chosen"])
    assert dense.X.shape == (900, 5, 5)
    assert list(dense.alternatives) == sorted(HEATING_ALTS)
    assert list(dense.feature_names) == ["ic", "oc", "income", "agehed", "rooms"]
    assert list(dense.situations) == list(heating_wide["idcase"])
    assert dense.names == ["situation", "alternative"]
    for k, alt in enumerate(dense.alternatives):
        np.testing.assert_array_equal(dense.X[:, k, 0], heating_wide[f"ic.{alt}"])
        # A case variable is equal on every alternative.
        np.testing.assert_array_equal(dense.X[:, k, 2], heating_wide["income"])
    chosen = np.asarray(dense.alternatives)[dense.y]
    np.testing.assert_array_equal(chosen, heating_wide["depvar"])


def test_round_trip_wide_long_dense_long(ragged_wide):
    wide, avail = ragged_wide
    long = wide_to_long(wide, choice="mode", situation="id")
    X, y = long.drop(columns="chosen"), long["chosen"]
    dense = long_to_dense(X, y)
    # Unavailable alternatives are all-NaN rows.
    order = [list(dense.alternatives).index(a) for a in ["car", "bus", "rail"]]
    available = ~np.isnan(dense.X).all(axis=2)
    np.testing.assert_array_equal(available[:, order], avail)
    X_back, y_back = dense_to_long(**dense)
    assert X_back.index.names == X.index.names
    assert list(X_back.columns) == list(X.columns)
    pd.testing.assert_frame_equal(
        sort_rows(X_back), sort_rows(X).astype(float), check_index_type=False
    )
    pd.testing.assert_series_equal(
        sort_rows(y_back), sort_rows(y), check_names=False, check_index_type=False
    )
    # The labels are the original ids and alternatives.
    assert set(X_back.index.get_level_values(0)) == set(wide["id"])
    assert set(X_back.index.get_level_values(1)) == {"car", "bus", "rail"}


def test_dense_to_long_matches_reference(to_long):
    X, y = make_choice_data(30, 4, 2, unavailable=0.3, random_state=0)
    X_long, y_long = dense_to_long(X, y)
    X_ref, y_ref = to_long(X, y)
    pd.testing.assert_frame_equal(X_long, X_ref, check_index_type=False)
    np.testing.assert_array_equal(y_long, y_ref)
    assert y_long.name == "chosen" and y_long.index.equals(X_long.index)
    assert dense_to_long(X).equals(X_long)


def test_dense_long_dense_round_trip_with_counts(ragged_weighted_counts):
    X, counts, _ = ragged_weighted_counts
    X_long, y_long = dense_to_long(X, counts, alternatives=list("abcde"))
    back = long_to_dense(X_long, y_long)
    assert list(back.alternatives) == list("abcde")
    np.testing.assert_array_equal(back.X, X)
    # Several choices in some situations: y stays counts.
    np.testing.assert_array_equal(back.y, counts)


def test_single_choices_become_indices_counts_otherwise():
    X, y = make_choice_data(20, 3, 2, format="long", random_state=1)
    assert long_to_dense(X, y).y.ndim == 1
    y_none = np.asarray(y).copy()
    y_none[:3] = 0  # situation 0 has no choice
    counts = long_to_dense(X, y_none).y
    assert counts.shape == (20, 3)
    np.testing.assert_array_equal(counts[0], 0)


def test_long_and_dense_fit_the_same_model():
    X, y = make_choice_data(200, 4, 3, unavailable=0.25, random_state=2, format="long")
    dense = long_to_dense(X, y)
    long_fit = SoftmaxChoiceEstimator().fit(X, y)
    dense_fit = SoftmaxChoiceEstimator().fit(dense.X, dense.y)
    np.testing.assert_allclose(dense_fit.coef_, long_fit.coef_, rtol=1e-8)


def test_long_rows_in_any_order():
    X, y = make_choice_data(15, 4, 2, unavailable=0.2, random_state=4, format="long")
    perm = np.random.default_rng(0).permutation(len(X))
    a = long_to_dense(X, y)
    b = long_to_dense(X.iloc[perm], np.asarray(y)[perm])
    # Situations come in order of first appearance; align before comparing.
    pos = pd.Index(b.situations).get_indexer(a.situations)
    np.testing.assert_array_equal(b.X[pos], a.X)
    np.testing.assert_array_equal(b.y[pos], a.y)


def test_keys_by_name_and_by_column():
    X, y = make_choice_data(10, 3, 2, format="long", random_state=5)
    by_level = long_to_dense(X, y)
    swapped = X.reorder_levels([1, 0])
    by_name = long_to_dense(
        swapped, y, situation_key="situation", alternative_key="alternative"
    )
    np.testing.assert_array_equal(by_name.X, by_level.X)
    columns = X.reset_index()
    by_column = long_to_dense(
        columns, y, situation_key="situation", alternative_key="alternative"
    )
    np.testing.assert_array_equal(by_column.X, by_level.X)
    assert list(by_column.feature_names) == ["x0", "x1"]


def test_alternatives_fix_the_axis_and_may_be_absent():
    X, y = make_choice_data(10, 3, 2, format="long", random_state=5)
    dense = long_to_dense(X, y, alternatives=[2, 0, 1, 9])
    assert dense.X.shape == (10, 4, 2)
    assert np.isnan(dense.X[:, 3]).all()
    reference = long_to_dense(X, y)
    np.testing.assert_array_equal(dense.X[:, [1, 2, 0]], reference.X)


def test_conversions_never_mutate_inputs(ragged_wide):
    wide, _ = ragged_wide
    wide_copy = copy.deepcopy(wide)
    long = wide_to_long(wide, choice="mode", situation="id")
    pd.testing.assert_frame_equal(wide, wide_copy)
    X, y = long.drop(columns="chosen"), long["chosen"]
    X_copy, y_copy = X.copy(deep=True), y.copy(deep=True)
    dense = long_to_dense(X, y)
    pd.testing.assert_frame_equal(X, X_copy)
    pd.testing.assert_series_equal(y, y_copy)
    D, Y = dense.X.copy(), dense.y.copy()
    X_long, _ = dense_to_long(**dense)
    np.testing.assert_array_equal(dense.X, D)
    np.testing.assert_array_equal(dense.y, Y)
    # The outputs own their data.
    X_long.iloc[0, 0] = -1e9
    assert not (dense.X == -1e9).any()


# ------------------------------------------------------------------- errors


def test_error_chosen_label_not_an_alternative(heating_wide):
    wide = heating_wide.copy()
    wide.loc[3, "depvar"] = "solar"
    with pytest.raises(ValueError, match=r"'solar' of situation 4 is not an alt"):
        wide_to_long(wide, choice="depvar", situation="idcase")


def test_error_chosen_alternative_unavailable(ragged_wide):
    wide, avail = ragged_wide
    s = int(np.flatnonzero(~avail[:, 1])[0])
    wide = wide.copy()
    wide.loc[s, "mode"] = "bus"
    with pytest.raises(
        ValueError, match=rf"situation {wide['id'][s]} chose 'bus'.*'avail.bus'"
    ):
        wide_to_long(wide, choice="mode", situation="id")


def test_error_attribute_missing_for_an_alternative(heating_wide):
    with pytest.raises(ValueError, match=r"'oc' has no column for.*\['hp'\].*oc.hp"):
        wide_to_long(heating_wide.drop(columns="oc.hp"), choice="depvar")


def test_error_no_attribute_columns():
    wide = pd.DataFrame({"y": ["a"], "income": [1.0]})
    with pytest.raises(ValueError, match="no attribute columns found.*'income'"):
        wide_to_long(wide, choice="y")


def test_error_missing_choice(heating_wide):
    wide = heating_wide.copy()
    wide.loc[5, "depvar"] = None
    with pytest.raises(ValueError, match="choice is missing.*situation 6"):
        wide_to_long(wide, choice="depvar", situation="idcase")


def test_error_unknown_columns_and_duplicate_ids(heating_wide):
    with pytest.raises(ValueError, match="choice='chosen' is not a column"):
        wide_to_long(heating_wide, choice="chosen")
    with pytest.raises(ValueError, match="situation='house' is not a column"):
        wide_to_long(heating_wide, choice="depvar", situation="house")
    wide = heating_wide.copy()
    wide.loc[1, "idcase"] = 1
    with pytest.raises(ValueError, match="ids in 'idcase' must be unique.*1 occurs"):
        wide_to_long(wide, choice="depvar", situation="idcase")
    with pytest.raises(TypeError, match="needs a pandas DataFrame"):
        wide_to_long(heating_wide.to_numpy(), choice="depvar")


def test_error_availability_not_binary():
    wide = pd.DataFrame({"y": ["a"], "x.a": [1.0], "x.b": [2.0], "avail.b": [0.5]})
    with pytest.raises(ValueError, match="'avail.b' must hold 0/1.*0.5"):
        wide_to_long(wide, choice="y")


def test_error_name_clash():
    wide = pd.DataFrame({"y": ["a"], "x.a": [1.0], "x.b": [2.0], "x": [3.0]})
    with pytest.raises(ValueError, match="name 'x' would be used twice"):
        wide_to_long(wide, choice="y")


def test_error_bad_varying_column():
    wide = pd.DataFrame({"y": ["a"], "x.a": [1.0], "x.b": [2.0], "z": [3.0]})
    with pytest.raises(ValueError, match="varying column 'z' is not named"):
        wide_to_long(wide, choice="y", varying=["x.a", "x.b", "z"])
    with pytest.raises(ValueError, match=r"varying columns \['q.a'\] are not"):
        wide_to_long(wide, choice="y", varying=["q.a"])


def test_error_bad_layout_and_templates():
    wide = pd.DataFrame({"y": ["a"], "a_x": [1.0], "b_x": [2.0], "a_AV": [1]})
    with pytest.raises(ValueError, match="layout must be one of"):
        wide_to_long(wide, choice="y", layout="alt_first")
    with pytest.raises(ValueError, match="sep must be a non-empty str"):
        wide_to_long(wide, choice="y", sep="")
    with pytest.raises(
        ValueError, match=r"placeholder\(s\) \['\{alt\}'\].*\{alternative\}"
    ):
        wide_to_long(wide, choice="y", availability="{alt}_AV")
    with pytest.raises(ValueError, match="placeholder"):
        wide_to_long(wide, choice="y", availability="{alternative}_{alternative}")
    with pytest.raises(ValueError, match="placeholder"):
        wide_to_long(wide, choice="y", availability="{alternative:>3}_AV")
    with pytest.raises(ValueError, match="would match every column"):
        wide_to_long(wide, choice="y", availability="{alternative}")
    with pytest.raises(ValueError, match="not a valid name template"):
        wide_to_long(wide, choice="y", availability="{alternative_AV")
    with pytest.raises(
        ValueError, match=r"no attribute columns.*'<alternative>\.<attr"
    ):
        wide_to_long(wide, choice="y", layout="alternative_first")
    with pytest.raises(
        ValueError, match=r"'z' is not named '<alternative>_<attribute>'"
    ):
        wide_to_long(
            wide.assign(z=0),
            choice="y",
            sep="_",
            layout="alternative_first",
            varying=["a_x", "z"],
        )


def test_error_long_to_dense_duplicate_pair():
    X, y = make_choice_data(5, 3, 2, format="long", random_state=0)
    X = pd.concat([X, X.iloc[[4]]])
    with pytest.raises(ValueError, match="several rows for situation 1 and alter"):
        long_to_dense(X)


def test_error_long_to_dense_non_numeric(heating_wide):
    long = wide_to_long(heating_wide, choice="depvar")
    with pytest.raises(ValueError, match="column 'region' has dtype.*not numeric"):
        long_to_dense(long)


def test_error_long_to_dense_all_nan_row_and_bad_y():
    X, y = make_choice_data(5, 3, 2, format="long", random_state=0)
    X_nan = X.copy()
    X_nan.iloc[4] = np.nan
    with pytest.raises(ValueError, match="situation 1 and alternative 1 is NaN"):
        long_to_dense(X_nan)
    with pytest.raises(ValueError, match="one entry per row of X"):
        long_to_dense(X, np.asarray(y)[:-1])
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        long_to_dense(X, -np.asarray(y))
    with pytest.raises(ValueError, match=r"alternative\(s\) \[2\] that are not in"):
        long_to_dense(X, alternatives=[0, 1])
    with pytest.raises(ValueError, match="index of X has only 2 level"):
        long_to_dense(X, alternative_key=2)
    with pytest.raises(ValueError, match="'alt' is neither an index level"):
        long_to_dense(X, alternative_key="alt")
    with pytest.raises(TypeError, match="needs long choice data"):
        long_to_dense(X.to_numpy())


def test_error_dense_to_long():
    X, y = make_choice_data(6, 3, 2, unavailable=0.4, random_state=3)
    available = ~np.isnan(X).all(axis=2)
    s, j = np.argwhere(~available)[0]
    y_bad = y.copy()
    y_bad[s] = j
    labels = ["a", "b", "c"]
    with pytest.raises(
        ValueError, match=rf"alternative '{labels[j]}' in situation {s}, but"
    ):
        dense_to_long(X, y_bad, alternatives=labels)
    with pytest.raises(ValueError, match="shape \\(n_situations, n_alternatives"):
        dense_to_long(X[0])
    with pytest.raises(ValueError, match="alternatives has 2 entries, X has 3"):
        dense_to_long(X, alternatives=["a", "b"])
    with pytest.raises(ValueError, match="situations must be unique"):
        dense_to_long(X, situations=[1, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match=r"y\[0\] = 7 is not the index"):
        dense_to_long(X, np.full(6, 7))
