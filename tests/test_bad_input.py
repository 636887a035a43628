"""Every bad input of DESIGN.md section 6 gets its own clear error or warning."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpolicy import SoftmaxChoiceEstimator
from skpolicy.datasets import load_heating, make_choice_data
from skpolicy.exceptions import CollinearityWarning, SeparationWarning


@pytest.fixture
def long_data():
    return make_choice_data(40, 4, 2, format="long", random_state=0)


@pytest.fixture
def dense_data():
    return make_choice_data(40, 4, 2, random_state=0)


def test_bare_2d_array_names_both_formats(long_data):
    X, y = long_data
    with pytest.raises(ValueError, match="no situation structure") as err:
        SoftmaxChoiceEstimator().fit(X.to_numpy(), y)
    assert "long pandas DataFrame" in str(err.value)
    assert "(n_situations, n_alternatives, n_features)" in str(err.value)
    assert 'set_output(transform="pandas")' in str(err.value)


def test_index_that_does_not_identify_situations(long_data):
    X, y = long_data
    with pytest.raises(ValueError, match="does not identify situations"):
        SoftmaxChoiceEstimator().fit(X.reset_index(drop=True), y)


def test_pipeline_that_dropped_the_index(long_data):
    X, y = long_data
    pipe = make_pipeline(StandardScaler(), SoftmaxChoiceEstimator())
    with pytest.raises(ValueError, match=r'set_output\(transform="pandas"\)'):
        pipe.fit(X, y)


def test_situation_without_choice_points_to_splitter(long_data):
    X, y = long_data
    y = y.copy()
    y[X.index.get_level_values(0) == 7] = 0
    with pytest.raises(
        ValueError, match="situation 7 has no chosen alternative"
    ) as err:
        SoftmaxChoiceEstimator().fit(X, y)
    assert "SituationKFold" in str(err.value)


@pytest.mark.filterwarnings("ignore:.*offer a single alternative")
def test_kfold_on_long_data_fails_and_names_the_splitter(long_data):
    X, y = long_data
    X = X.sample(frac=1.0, random_state=0)  # shuffled rows: KFold cuts situations
    y = pd.Series(
        y, index=make_choice_data(40, 4, 2, format="long", random_state=0)[0].index
    )
    y = y.loc[X.index].to_numpy()
    with pytest.raises(ValueError, match="SituationKFold"):
        cross_val_score(
            SoftmaxChoiceEstimator(), X, y, cv=KFold(3), error_score="raise"
        )


def test_chosen_alternative_unavailable(dense_data):
    X, y = dense_data
    X = X.copy()
    X[5, y[5]] = np.nan
    with pytest.raises(ValueError, match=f"chooses alternative {y[5]} in situation 5"):
        SoftmaxChoiceEstimator().fit(X, y)


def test_nan_in_available_alternative_long(long_data):
    X, y = long_data
    X = X.copy()
    X.iloc[9, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf in column 'x1'") as err:
        SoftmaxChoiceEstimator().fit(X, y)
    assert "situation 2" in str(err.value)  # row 9 belongs to situation 2


def test_inf_in_available_alternative_dense(dense_data):
    X, y = dense_data
    X = X.copy()
    X[3, 1, 0] = np.inf
    with pytest.raises(
        ValueError, match="feature 0 of available alternative 1 of situation 3"
    ):
        SoftmaxChoiceEstimator().fit(X, y)


def test_partly_nan_row_is_not_unavailable(dense_data):
    X, y = dense_data
    X = X.copy()
    X[3, 2, 1] = np.nan
    with pytest.raises(
        ValueError, match="feature 1 of available alternative 2 of situation 3"
    ):
        SoftmaxChoiceEstimator().fit(X, y)


@pytest.mark.parametrize("what", ["y", "sample_weight"])
def test_negative_counts_and_weights(long_data, what):
    X, y = long_data
    y = y.astype(float)
    w = np.ones_like(y)
    (y if what == "y" else w)[4] = -1.0
    with pytest.raises(ValueError, match=f"{what} contains a negative value"):
        SoftmaxChoiceEstimator().fit(X, y, sample_weight=w)


def test_negative_dense_weights_and_counts(dense_data):
    X, y = dense_data
    with pytest.raises(ValueError, match="sample_weight contains a negative"):
        SoftmaxChoiceEstimator().fit(X, y, sample_weight=-np.ones(40))
    counts = np.eye(4)[y]
    counts[0, 0] = -2
    with pytest.raises(ValueError, match="y contains a negative"):
        SoftmaxChoiceEstimator().fit(X, counts)


def test_weights_varying_within_a_situation(long_data):
    X, y = long_data
    w = np.ones(len(y))
    w[X.index.get_level_values(0) == 3] = [1.0, 2.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="sample_weight varies within situation 3"):
        SoftmaxChoiceEstimator().fit(X, y, sample_weight=w)


@pytest.mark.parametrize("what", ["y", "sample_weight"])
def test_length_mismatch_long(long_data, what):
    X, y = long_data
    kwargs = {"y": y[:-1]} if what == "y" else {"y": y, "sample_weight": np.ones(5)}
    with pytest.raises(
        ValueError, match=f"{what} has .* entries but X has {len(X)} rows"
    ):
        SoftmaxChoiceEstimator().fit(X, **kwargs)


def test_length_mismatch_dense(dense_data):
    X, y = dense_data
    with pytest.raises(ValueError, match="y has 39 entries but X has 40 situations"):
        SoftmaxChoiceEstimator().fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight has 3 entries but X has 40"):
        SoftmaxChoiceEstimator().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"y has shape \(40, 3\)"):
        SoftmaxChoiceEstimator().fit(X, np.ones((40, 3)))


def test_dense_y_not_an_alternative_index(dense_data):
    X, y = dense_data
    y = y.copy()
    y[2] = 4
    with pytest.raises(
        ValueError, match=r"y\[2\] = 4 is not the index of an alternative"
    ):
        SoftmaxChoiceEstimator().fit(X, y)


def test_feature_constant_within_every_situation(long_data):
    X, y = long_data
    X = X.assign(income=X.index.get_level_values(0) * 10.0)
    with pytest.raises(
        ValueError, match=r"\['income'\] are constant within every situation"
    ):
        SoftmaxChoiceEstimator().fit(X, y)


def test_non_numeric_column(long_data):
    X, y = long_data
    with pytest.raises(ValueError, match="column 'mode' has dtype .*, not numeric"):
        SoftmaxChoiceEstimator().fit(X.assign(mode="car"), y)


def test_unknown_situation_key(long_data):
    X, y = long_data
    with pytest.raises(ValueError, match="situation_key='case' is neither"):
        SoftmaxChoiceEstimator(situation_key="case").fit(X, y)


def test_perfect_prediction_warns_and_suggests_alpha(dense_data):
    X, y = dense_data
    X = X.copy()
    X[:, :, 1] = 0.0
    X[np.arange(40), y, 1] = 1.0  # feature 1 marks the chosen alternative
    with pytest.warns(SeparationWarning, match="alpha > 0"):
        SoftmaxChoiceEstimator().fit(X, y)
    # A penalty gives a finite estimate and no warning.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SoftmaxChoiceEstimator(alpha=0.01).fit(X, y)


def test_quasi_separation_warns_and_names_the_feature(dense_data):
    X, y = dense_data
    X = X.copy()
    X[:, :, 1] = 0.0
    X[:20, :, 1] = -1.0
    X[np.arange(20), y[:20], 1] = 1.0  # separates the first 20 situations only
    with pytest.warns(SeparationWarning, match=r"involving \['x1'\].*quasi-complete"):
        SoftmaxChoiceEstimator().fit(X, y)


def test_strong_but_legitimate_effects_do_not_warn():
    import warnings

    X, y = make_choice_data(20_000, 10, 10, random_state=0)  # utilities sd ~ 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SoftmaxChoiceEstimator().fit(X, y)


def test_collinear_features_warn(long_data):
    X, y = long_data
    alt = X.index.get_level_values(1)
    constants = {f"asc_{a}": (alt == a).astype(float) for a in range(4)}
    expected = "asc_0', 'asc_1', 'asc_2', 'asc_3'.*reference"
    with pytest.warns(CollinearityWarning, match=expected):
        SoftmaxChoiceEstimator().fit(X.assign(**constants), y)


def test_single_alternative_situations_warn(dense_data):
    X, y = dense_data
    X = X.copy()
    X[0, [a for a in range(4) if a != y[0]]] = np.nan
    with pytest.warns(
        UserWarning, match="1 situation\\(s\\) offer a single alternative"
    ):
        SoftmaxChoiceEstimator().fit(X, y)


@pytest.mark.parametrize(
    "method",
    [
        "decision_function",
        "predict_proba",
        "predict_log_proba",
        "score_samples",
        "predict",
    ],
)
def test_unfitted_estimator(long_data, method):
    X, _ = long_data
    with pytest.raises(NotFittedError):
        getattr(SoftmaxChoiceEstimator(), method)(X)


def test_different_features_at_predict(long_data, dense_data):
    X, y = long_data
    est = SoftmaxChoiceEstimator().fit(X, y)
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        est.predict_proba(X.assign(x2=1.0))
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict_proba(X.rename(columns={"x1": "price"}))
    Xd, _ = dense_data
    with pytest.raises(ValueError, match="X has 3 features"):
        est.predict_proba(np.concatenate([Xd, Xd[:, :, :1]], axis=2))


def test_inputs_are_never_modified(long_data, dense_data):
    X, y = long_data
    order = np.random.default_rng(1).permutation(len(y))  # unsorted rows: reordering
    X, y = X.iloc[order], y[order].astype(float)
    w = 1.0 + X.index.get_level_values(0).to_numpy() / 40
    copies = X.copy(), y.copy(), w.copy()
    est = SoftmaxChoiceEstimator().fit(X, y, sample_weight=w)
    for method in ("predict_proba", "predict", "decision_function", "score_samples"):
        getattr(est, method)(X)
    est.score(X, y, sample_weight=w)
    pd.testing.assert_frame_equal(X, copies[0])
    np.testing.assert_array_equal(y, copies[1])
    np.testing.assert_array_equal(w, copies[2])

    Xd, yd = dense_data
    Xd = Xd.copy()
    Xd[1, 2] = np.nan
    yd = np.where(yd == 2, 0, yd)
    dcopies = Xd.copy(), yd.copy()
    est.fit(Xd, yd)
    est.predict_proba(Xd)
    np.testing.assert_array_equal(Xd, dcopies[0])
    np.testing.assert_array_equal(yd, dcopies[1])


def test_long_y_labels_rule():
    """Long-format y: True/False are 1/0; "yes"/"no" labels are refused with the
    one-line fix."""
    X, y = load_heating(return_X_y=True)
    X = X[["ic", "oc"]]
    ref = SoftmaxChoiceEstimator().fit(X, y).coef_
    for as_bool in (y == 1, (y == 1).astype("boolean"), (y == 1).astype(object)):
        coef = SoftmaxChoiceEstimator().fit(X, as_bool).coef_
        np.testing.assert_allclose(coef, ref, rtol=1e-12)
    labels = np.where(y == 1, "yes", "no")
    for bad in (labels, pd.Series(labels, dtype="category"), list(labels)):
        with pytest.raises(ValueError, match=r"y = \(y == 'yes'\)\.astype\(int\)"):
            SoftmaxChoiceEstimator().fit(X, bad)
    fixed = (labels == "yes").astype(int)
    np.testing.assert_allclose(SoftmaxChoiceEstimator().fit(X, fixed).coef_, ref)
