"""The data layer refuses (or flags) input that would give a silently wrong model.

Issue 9, sections 1 and 2: every check lives in skpolicy._data, which fit, predict,
score, the scorers and the splitter all go through; the tests drive it through the
estimator, as users do.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from skpolicy import SoftmaxChoiceEstimator
from skpolicy._data import dense_block, label, long_block, split_situations
from skpolicy.datasets import make_choice_data
from skpolicy.exceptions import DataWarning


@pytest.fixture
def long_data():
    return make_choice_data(40, 4, 2, format="long", random_state=0)


@pytest.fixture
def dense_data():
    return make_choice_data(40, 4, 2, random_state=0)


def _with_index(X, frame):
    return X.set_axis(pd.MultiIndex.from_frame(frame), axis=0)


# --------------------------------------------------------------------------------
# 1. Silently wrong models
# --------------------------------------------------------------------------------


def test_missing_situation_id_in_the_index_is_refused(long_data):
    X, y = long_data
    ids = X.index.to_frame(index=False).astype({"situation": float})
    ids.loc[ids["situation"] == 3, "situation"] = np.nan
    with pytest.raises(ValueError, match="situation id .* is missing") as err:
        SoftmaxChoiceEstimator().fit(_with_index(X, ids), y)
    message = str(err.value)
    assert "index level 0 ('situation')" in message
    assert "4 row(s)" in message and "positions [12, 13, 14, 15]" in message
    assert "(nan, 0)" in message


def test_missing_situation_id_in_a_column_or_flat_index_is_refused(long_data):
    X, y = long_data
    flat = X.reset_index()
    flat.loc[5, "situation"] = None
    with pytest.raises(ValueError, match="column 'situation'.* missing .* 1 row"):
        SoftmaxChoiceEstimator(situation_key="situation").fit(
            flat.drop(columns="alternative"), y
        )
    single = X.reset_index("alternative", drop=True)
    single.index = single.index.astype(float).where(single.index != 39, np.nan)
    with pytest.raises(ValueError, match="situation id \\(index\\) is missing"):
        SoftmaxChoiceEstimator().fit(single, y)


def test_missing_situation_ids_are_refused_at_predict_too(long_data):
    X, y = long_data
    est = SoftmaxChoiceEstimator().fit(X, y)
    ids = X.index.to_frame(index=False).astype({"situation": float})
    ids.loc[0, "situation"] = np.nan
    with pytest.raises(ValueError, match="missing"):
        est.predict_proba(_with_index(X, ids))


@pytest.mark.parametrize("what", ["y", "sample_weight"])
def test_series_with_the_same_labels_in_another_order_is_aligned(long_data, what):
    X, y = long_data
    w = 1.0 + X.index.get_level_values(0).to_numpy() / 10.0
    reference = SoftmaxChoiceEstimator().fit(X, y, sample_weight=w)
    shuffled = {
        "y": pd.Series(y, index=X.index),
        "sample_weight": pd.Series(w, index=X.index),
    }[what].sample(frac=1.0, random_state=0)
    kwargs = {"y": y, "sample_weight": w, what: shuffled}
    est = SoftmaxChoiceEstimator().fit(X, **kwargs)
    np.testing.assert_allclose(est.coef_, reference.coef_, rtol=1e-12)
    assert est.score(X, **kwargs) == pytest.approx(reference.score(X, y, w))


def test_series_whose_index_contradicts_x_is_refused(long_data):
    X, y = long_data
    ids = X.index.to_frame(index=False)
    ids["situation"] = ids["situation"] + 100  # same names, other situations
    y_other = pd.Series(y, index=pd.MultiIndex.from_frame(ids))
    with pytest.raises(ValueError, match="y is a pandas Series whose index") as err:
        SoftmaxChoiceEstimator().fit(X, y_other)
    assert "says (100, 0) where X has (0, 0)" in str(err.value)
    assert "y.to_numpy()" in str(err.value)
    w_other = pd.Series(np.ones(len(y)), index=y_other.index)
    with pytest.raises(ValueError, match="sample_weight is a pandas Series"):
        SoftmaxChoiceEstimator().fit(X, y, sample_weight=w_other)


def test_series_with_an_unrelated_index_is_used_by_position(long_data):
    X, y = long_data
    reference = SoftmaxChoiceEstimator().fit(X, y)
    # A column taken before set_index: a RangeIndex that says nothing about X.
    est = SoftmaxChoiceEstimator().fit(X, pd.Series(y))
    np.testing.assert_array_equal(est.coef_, reference.coef_)


def test_alternative_first_levels_warn_and_name_the_fix(long_data):
    X, y = long_data
    swapped = X.swaplevel()  # levels (alternative, situation), same rows
    with pytest.warns(DataWarning, match="more than one chosen row") as record:
        SoftmaxChoiceEstimator().fit(swapped, y)
    message = str(record[0].message)
    assert "index level 0 ('alternative')" in message
    assert "['alternative', 'situation']" in message
    assert "situation_key=" in message and "'situation'" in message
    assert record[0].filename == __file__  # points at the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SoftmaxChoiceEstimator(situation_key="situation").fit(swapped, y)


def test_person_level_first_warns(long_data):
    X, y = long_data
    ids = X.index.to_frame(index=False)
    ids.insert(0, "person", ids["situation"] // 4)  # 4 situations per person
    with pytest.warns(DataWarning, match="index level 0 \\('person'\\)"):
        SoftmaxChoiceEstimator().fit(_with_index(X, ids), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SoftmaxChoiceEstimator(situation_key=1).fit(_with_index(X, ids), y)


def test_counts_with_several_choices_do_not_warn(long_data):
    X, y = long_data
    counts = y * 3.0 + (X.index.get_level_values(1) == 0)  # counts, not 0/1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SoftmaxChoiceEstimator().fit(X, counts)


@pytest.mark.parametrize("key", [True, False])
def test_bool_situation_key_is_refused(long_data, key):
    X, y = long_data
    # TypeError: our data layer's, or sklearn's InvalidParameterError once the
    # estimator's parameter constraint refuses bools itself.
    with pytest.raises(TypeError, match="situation_key"):
        SoftmaxChoiceEstimator(situation_key=key).fit(X, y)
    for bad in (key, np.bool_(key)):
        with pytest.raises(TypeError, match=f"situation_key={key} is a bool"):
            split_situations(X, bad)


def test_duplicated_situation_alternative_rows_are_refused(long_data):
    X, y = long_data
    doubled = pd.concat([X, X.iloc[[9]]])
    with pytest.raises(ValueError, match="X has 1 duplicated index entry:") as err:
        SoftmaxChoiceEstimator().fit(doubled, np.r_[y, 0])
    assert "(2, 1) occurs on the rows at positions [9, 160]" in str(err.value)
    est = SoftmaxChoiceEstimator().fit(X, y)
    with pytest.raises(ValueError, match="duplicated index"):
        est.predict_proba(doubled)


def test_situation_key_that_is_both_a_level_and_a_column_is_refused(long_data):
    X, y = long_data
    both = X.assign(situation=X.index.get_level_values(0))
    with pytest.raises(ValueError, match="both an index level and a column"):
        SoftmaxChoiceEstimator(situation_key="situation").fit(both, y)


# --------------------------------------------------------------------------------
# 2. Clear errors instead of crashes deep inside numpy, scipy or narwhals
# --------------------------------------------------------------------------------


def test_zero_feature_columns_are_refused(long_data, dense_data):
    X, y = long_data
    with pytest.raises(ValueError, match="X has no feature columns"):
        SoftmaxChoiceEstimator().fit(X[[]], y)
    flat = X.reset_index()[["situation"]]
    with pytest.raises(ValueError, match="no feature columns"):
        SoftmaxChoiceEstimator(situation_key="situation").fit(flat, y)
    Xd, yd = dense_data
    with pytest.raises(ValueError, match=r"shape \(40, 4, 0\): no features"):
        SoftmaxChoiceEstimator().fit(Xd[:, :, :0], yd)


def test_huge_finite_features_are_refused_with_the_column(long_data, dense_data):
    X, y = long_data
    huge = X.assign(x1=X["x1"] / X["x1"].abs().max() * 1e308)
    assert np.isfinite(huge.to_numpy()).all()
    with pytest.raises(ValueError, match="value -?1e\\+308 in column 'x1'") as err:
        SoftmaxChoiceEstimator().fit(huge, y)
    assert "Rescale" in str(err.value) and "np.int64" not in str(err.value)
    Xd, yd = dense_data
    big = Xd / np.abs(Xd).max() * 1e308
    with pytest.raises(ValueError, match="1e\\+308 in feature"):
        SoftmaxChoiceEstimator().fit(big, yd)
    # Unavailable alternatives (all-NaN rows) take the exact path; still refused.
    big[0, 1] = np.nan
    with pytest.raises(ValueError, match="1e\\+308 in feature"):
        SoftmaxChoiceEstimator().fit(big, np.where(yd == 1, 0, yd))


def test_large_but_harmless_features_are_accepted(dense_data):
    Xd, yd = dense_data
    est = SoftmaxChoiceEstimator().fit(Xd * 1e100, yd)
    assert est.converged_
    # float32 features are widened per chunk in the kernel: no overflow limit.
    X32 = (Xd * 1e18).astype(np.float32)
    dense_block(X32, yd)


def test_complex_features_and_choices_are_refused(long_data):
    X, y = long_data
    with pytest.raises(ValueError, match="column 'x1' has dtype complex128"):
        SoftmaxChoiceEstimator().fit(X.assign(x1=X["x1"] + 1j), y)
    with pytest.raises(ValueError, match="y must be real"):
        SoftmaxChoiceEstimator().fit(X, y + 0j)
    with pytest.raises(ValueError, match="sample_weight must be real"):
        SoftmaxChoiceEstimator().fit(X, y, sample_weight=np.ones(len(y)) + 0j)


def test_dense_complex_choice_index_is_refused(dense_data):
    X, y = dense_data
    with pytest.raises(ValueError, match="y must hold alternative indices"):
        SoftmaxChoiceEstimator().fit(X, y + 0j)


def test_duplicate_column_names_are_refused(long_data):
    X, y = long_data
    with pytest.raises(ValueError, match=r"duplicate column names \['a'\]"):
        SoftmaxChoiceEstimator().fit(X.set_axis(["a", "a"], axis=1), y)


def test_nested_list_gets_a_true_message(dense_data):
    X, y = dense_data
    with pytest.raises(ValueError, match="np.asarray\\(X, dtype=float\\)") as err:
        SoftmaxChoiceEstimator().fit(X.tolist(), y)
    assert "no situation structure" not in str(err.value)


def test_messages_show_plain_python_values(long_data):
    X, y = long_data
    bad = X.copy()
    bad.iloc[9, 1] = np.nan
    with pytest.raises(ValueError, match=re.escape("at row (2, 1) (situation 2)")):
        SoftmaxChoiceEstimator().fit(bad, y)
    with pytest.raises(ValueError, match="index of X has only 2 level") as err:
        SoftmaxChoiceEstimator(situation_key=np.int64(5)).fit(X, y)
    assert "np.int64" not in str(err.value)
    assert label((np.int64(2), np.float64(0.5), "a")) == "(2, 0.5, 'a')"
    assert label((np.int64(2),)) == "(2,)"


def test_user_data_are_not_modified_by_the_new_checks(long_data):
    X, y = long_data
    ys = pd.Series(y, index=X.index).sample(frac=1.0, random_state=1)
    w = pd.Series(np.ones(len(y)), index=X.index).sample(frac=1.0, random_state=2)
    copies = X.copy(), ys.copy(), w.copy()
    SoftmaxChoiceEstimator().fit(X, ys, sample_weight=w)
    pd.testing.assert_frame_equal(X, copies[0])
    pd.testing.assert_series_equal(ys, copies[1])
    pd.testing.assert_series_equal(w, copies[2])


def test_long_block_aligns_without_the_estimator(long_data):
    X, y = long_data
    features, ids = split_situations(X)
    ys = pd.Series(y, index=X.index).iloc[::-1]
    data = long_block(features, ids, ys)
    np.testing.assert_array_equal(data.y, y)


# --------------------------------------------------------------------------------
# Estimator-side items (need a patch to _estimator.py, see the report of issue 9)
# --------------------------------------------------------------------------------


def test_dense_x_after_fit_on_named_columns_warns(long_data, dense_data):
    X, y = long_data
    est = SoftmaxChoiceEstimator().fit(X, y)
    Xd, _ = dense_data
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict_proba(Xd)


def test_warm_start_with_a_coef_of_the_wrong_shape_is_refused(long_data):
    X, y = long_data
    est = SoftmaxChoiceEstimator(warm_start=True).fit(X, y)
    est.coef_ = np.zeros(5)
    with pytest.raises(ValueError, match="coef_ has shape \\(5,\\)"):
        est.fit(X, y)
