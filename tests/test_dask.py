"""Distributed fits on Dask collections equal the in-memory fits (issue 11).

Small data, the synchronous scheduler by default (deterministic and fast), and one
LocalCluster with two worker processes.
"""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

from skpolicy import SoftmaxChoiceEstimator, SoftmaxPolicy  # noqa: E402
from skpolicy._dask import dask_covariance_matrix, last_fit  # noqa: E402
from skpolicy.datasets import make_choice_data  # noqa: E402

RTOL_COEF = 1e-8
RTOL_LL = 1e-10


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def long_frame(n=240, J=5, K=3, seed=0):
    """A long frame with a situation column, a person column, y and weights."""
    X, y = make_choice_data(n, J, K, format="long", unavailable=0.3, random_state=seed)
    frame = X.reset_index().drop(columns="alternative")
    frame["y"] = np.asarray(y)
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 4, size=n).astype(float)
    frame["w"] = weights[frame["situation"].to_numpy()]
    frame["person"] = frame["situation"] // 4
    return frame


def assert_same_fit(est, ref):
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=RTOL_COEF)
    np.testing.assert_allclose(est.log_likelihood_, ref.log_likelihood_, rtol=RTOL_LL)
    np.testing.assert_allclose(
        est.null_log_likelihood_, ref.null_log_likelihood_, rtol=RTOL_LL
    )
    assert est.n_situations_ == ref.n_situations_
    assert est.n_choices_ == pytest.approx(ref.n_choices_, rel=1e-12)
    assert est.solver_ == ref.solver_
    np.testing.assert_allclose(
        est.covariance_matrix(), ref.covariance_matrix(), rtol=1e-7
    )
    pd.testing.assert_series_equal(est.fit_statistics(), ref.fit_statistics())


def uneven_divisions(n, parts, seed=0):
    """Sorted division points cutting 0..n-1 into ``parts`` uneven pieces."""
    rng = np.random.default_rng(seed)
    inner = np.sort(rng.choice(np.arange(1, n), size=parts - 1, replace=False))
    return [0, *inner.tolist(), n - 1]


# --------------------------------------------------------------------------------
# fit: long DataFrames
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("n_partitions", [1, 2, 7, 64])
def test_long_set_index_equals_in_memory(n_partitions):
    frame = long_frame()
    pdf = frame.set_index("situation")
    ref = SoftmaxChoiceEstimator().fit(
        pdf[["x0", "x1", "x2"]], pdf["y"], sample_weight=pdf["w"]
    )
    ddf = dd.from_pandas(frame, npartitions=3).set_index("situation")
    ddf = ddf.repartition(divisions=uneven_divisions(240, n_partitions))
    assert ddf.npartitions == n_partitions
    est = SoftmaxChoiceEstimator().fit(
        ddf[["x0", "x1", "x2"]], ddf["y"], sample_weight=ddf["w"]
    )
    assert_same_fit(est, ref)
    assert list(est.feature_names_in_) == ["x0", "x1", "x2"]


def test_long_shuffled_situation_column():
    """A hash shuffle (overlapping id ranges): the exact check passes."""
    frame = long_frame(seed=1)
    ref = SoftmaxChoiceEstimator(situation_key="situation").fit(
        frame[["situation", "x0", "x1", "x2"]], frame["y"]
    )
    ddf = dd.from_pandas(frame, npartitions=4).shuffle(on="situation", npartitions=5)
    est = SoftmaxChoiceEstimator(situation_key="situation").fit(
        ddf[["situation", "x0", "x1", "x2"]], ddf["y"]
    )
    assert_same_fit(est, ref)


def test_streaming_equals_persisted():
    frame = long_frame(seed=2)
    ddf = dd.from_pandas(frame, npartitions=2).set_index("situation")
    X, y = ddf[["x0", "x1", "x2"]], ddf["y"]
    persisted = SoftmaxChoiceEstimator().fit(X, y)
    with dask.config.set({"skpolicy.persist": False}):
        streamed = SoftmaxChoiceEstimator().fit(X, y)
    np.testing.assert_allclose(streamed.coef_, persisted.coef_, rtol=1e-12)
    assert last_fit["n_passes"] == last_fit["solver_passes"]


def test_split_situation_refused():
    frame = long_frame()
    # Unsorted rows cut into partitions by position: situations straddle them.
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    ddf = dd.from_pandas(shuffled, npartitions=3, sort=False)
    est = SoftmaxChoiceEstimator(situation_key="situation")
    with pytest.raises(ValueError, match=r"has rows in partitions .*set_index"):
        est.fit(ddf[["situation", "x0", "x1", "x2"]], ddf["y"])


def test_split_situation_at_a_boundary_refused():
    """Sorted ids, but one situation cut in two by the partition boundary."""
    frame = long_frame()
    frame = frame.sort_values("situation").reset_index(drop=True)
    ddf = dd.from_pandas(frame, npartitions=4, sort=False)
    est = SoftmaxChoiceEstimator(situation_key="situation")
    with pytest.raises(ValueError, match="whole inside one partition"):
        est.fit(ddf[["situation", "x0", "x1", "x2"]], ddf["y"])


def test_y_partitioned_differently_refused():
    frame = long_frame()
    ddf = dd.from_pandas(frame, npartitions=3).set_index("situation")
    y = dd.from_pandas(frame.set_index("situation")["y"], npartitions=2)
    with pytest.raises(ValueError, match="partitioned exactly like X"):
        SoftmaxChoiceEstimator().fit(ddf[["x0", "x1", "x2"]], y)
    with pytest.raises(ValueError, match="must be a Dask Series"):
        SoftmaxChoiceEstimator().fit(ddf[["x0", "x1", "x2"]], frame["y"].to_numpy())


def test_partition_errors_are_the_in_memory_errors():
    frame = long_frame()
    frame.loc[17, "x1"] = np.nan
    pdf = frame.set_index("situation")
    with pytest.raises(ValueError, match="NaN or inf") as expected:
        SoftmaxChoiceEstimator().fit(pdf[["x0", "x1", "x2"]], pdf["y"])
    ddf = dd.from_pandas(frame, npartitions=3).set_index("situation")
    with pytest.raises(ValueError, match="NaN or inf") as got:
        SoftmaxChoiceEstimator().fit(ddf[["x0", "x1", "x2"]], ddf["y"])
    assert str(got.value) == str(expected.value)
    frame = long_frame()
    frame["c"] = frame["situation"] % 3  # constant within every situation
    ddf = dd.from_pandas(frame, npartitions=3).set_index("situation")
    with pytest.raises(ValueError, match=r"\['c'\] are constant within"):
        SoftmaxChoiceEstimator().fit(ddf[["x0", "c"]], ddf["y"])


# --------------------------------------------------------------------------------
# fit: dense arrays
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [300, 150, (10, 90, 1, 50, 49, 60, 40), 5])
def test_dense_equals_in_memory(chunks):
    X, y = make_choice_data(300, 4, 3, unavailable=0.2, random_state=3)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=300)
    ref = SoftmaxChoiceEstimator().fit(X, y, sample_weight=w)
    # Chunks along the alternatives and features are merged; y chunked otherwise.
    dX = da.from_array(X, chunks=(chunks, 2, 3))
    est = SoftmaxChoiceEstimator().fit(dX, da.from_array(y, chunks=70), sample_weight=w)
    assert_same_fit(est, ref)
    assert est.n_features_in_ == 3 and not hasattr(est, "feature_names_in_")


def test_dense_needs_three_dimensions():
    with pytest.raises(ValueError, match="carries no situation structure"):
        SoftmaxChoiceEstimator().fit(da.zeros((10, 3), chunks=5), da.zeros(10))


# --------------------------------------------------------------------------------
# fit: the policy
# --------------------------------------------------------------------------------


def policy_data(n=600, P=3, J=4, seed=0):
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n, P))
    logits = S @ rng.normal(size=(P, J))
    a = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    mask = rng.random((n, J)) > 0.25
    mask[np.arange(n), a] = True
    w = rng.integers(1, 3, size=n).astype(float)
    return S, np.array(["a", "b", "c", "d"])[a], mask, w


@pytest.mark.parametrize("chunks", [600, (100, 7, 293, 200), 64])
def test_policy_array_equals_in_memory(chunks):
    S, a, mask, w = policy_data()
    ref = SoftmaxPolicy().fit(S, a, sample_weight=w, available_actions=mask)
    pol = SoftmaxPolicy().fit(
        da.from_array(S, chunks=(chunks, 2)),
        da.from_array(a, chunks=100),
        sample_weight=da.from_array(w, chunks=50),
        available_actions=da.from_array(mask, chunks=(chunks, 4)),
    )
    assert_same_fit(pol, ref)
    np.testing.assert_array_equal(pol.classes_, ref.classes_)
    np.testing.assert_allclose(pol.intercept_, ref.intercept_, rtol=RTOL_COEF)
    # The constants-only reference, from the partitions' availability patterns.
    assert ref._fit_record["reference"] is not None
    np.testing.assert_allclose(
        pol._fit_record["reference"][:2], ref._fit_record["reference"][:2], rtol=1e-9
    )


def test_policy_frame_equals_in_memory():
    S, a, _, _ = policy_data(seed=1)
    frame = pd.DataFrame(S, columns=["s0", "s1", "s2"]).assign(action=a)
    ref = SoftmaxPolicy(alpha=1e-3).fit(frame[["s0", "s1", "s2"]], frame["action"])
    ddf = dd.from_pandas(frame, npartitions=5)
    pol = SoftmaxPolicy(alpha=1e-3).fit(ddf[["s0", "s1", "s2"]], ddf["action"])
    np.testing.assert_allclose(pol.coef_, ref.coef_, rtol=RTOL_COEF, atol=1e-12)
    np.testing.assert_allclose(pol.log_likelihood_, ref.log_likelihood_, rtol=RTOL_LL)
    assert list(pol.feature_names_in_) == ["s0", "s1", "s2"]
    proba = pol.predict_proba(ddf[["s0", "s1", "s2"]])
    assert isinstance(proba, dd.DataFrame) and list(proba.columns) == list("abcd")
    np.testing.assert_allclose(
        proba.compute().to_numpy(), ref.predict_proba(frame[["s0", "s1", "s2"]])
    )
    np.testing.assert_array_equal(
        pol.predict(ddf[["s0", "s1", "s2"]]).compute().to_numpy(),
        ref.predict(frame[["s0", "s1", "s2"]]),
    )


# --------------------------------------------------------------------------------
# predictions and score
# --------------------------------------------------------------------------------


def test_long_predictions_are_lazy_and_equal():
    frame = long_frame()
    pdf = frame.set_index("situation")
    X = pdf[["x0", "x1", "x2"]]
    ref = SoftmaxChoiceEstimator().fit(X, pdf["y"])
    ddf = dd.from_pandas(frame, npartitions=4).set_index("situation")
    dX = ddf[["x0", "x1", "x2"]]
    for method in ("predict_proba", "predict_log_proba", "score_samples", "predict"):
        out = getattr(ref, method)(dX)
        assert isinstance(out, dd.Series), method
        assert out.npartitions == dX.npartitions
        # Assigned to X's frame, so both come from one computation (a sorted or
        # shuffled frame may order the rows of a situation differently each time).
        got = dX.assign(out=out).compute()
        assert len(got) == len(X)
        expected = getattr(ref, method)(got[["x0", "x1", "x2"]])
        np.testing.assert_allclose(got["out"].to_numpy(), expected)
    assert ref.score(dX, ddf["y"]) == pytest.approx(ref.score(X, pdf["y"]), rel=1e-12)


def test_dense_predictions_are_lazy_and_equal():
    X, y = make_choice_data(200, 4, 3, unavailable=0.2, random_state=4)
    ref = SoftmaxChoiceEstimator().fit(X, y)
    dX = da.from_array(X, chunks=(30, 4, 3))
    for method in ("predict_proba", "predict_log_proba", "decision_function"):
        out = getattr(ref, method)(dX)
        assert isinstance(out, da.Array) and out.chunks[0] == dX.chunks[0]
        np.testing.assert_allclose(out.compute(), getattr(ref, method)(X))
    np.testing.assert_array_equal(ref.predict(dX).compute(), ref.predict(X))
    dy = da.from_array(y, chunks=30)
    assert ref.score(dX, dy) == pytest.approx(ref.score(X, y), rel=1e-12)


def test_policy_array_predictions_with_mask():
    S, a, mask, w = policy_data(seed=2)
    ref = SoftmaxPolicy().fit(S, a, available_actions=mask)
    dS = da.from_array(S, chunks=(100, 3))
    dmask = da.from_array(mask, chunks=(100, 4))
    out = ref.predict_proba(dS, available_actions=dmask)
    assert isinstance(out, da.Array)
    np.testing.assert_allclose(
        out.compute(), ref.predict_proba(S, available_actions=mask)
    )
    np.testing.assert_array_equal(
        ref.predict(dS, available_actions=dmask).compute(),
        ref.predict(S, available_actions=mask),
    )
    got = ref.score(dS, da.from_array(a, chunks=100), available_actions=dmask)
    assert got == pytest.approx(ref.score(S, a, available_actions=mask), rel=1e-12)


# --------------------------------------------------------------------------------
# covariances
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("cov_type", ["hessian", "opg", "HC0", "robust"])
def test_covariances_equal_in_memory(cov_type):
    frame = long_frame(seed=5)
    pdf = frame.set_index("situation")
    X, y, w = pdf[["x0", "x1", "x2"]], pdf["y"], pdf["w"]
    ref = SoftmaxChoiceEstimator().fit(X, y, sample_weight=w)
    expected = ref.covariance_matrix(X, y, w, cov_type=cov_type)
    ddf = dd.from_pandas(frame, npartitions=3).set_index("situation")
    got = dask_covariance_matrix(
        ref, ddf[["x0", "x1", "x2"]], ddf["y"], ddf["w"], cov_type=cov_type
    )
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)


def test_cluster_covariance_equals_in_memory():
    frame = long_frame(seed=6)
    cols = ["situation", "x0", "x1", "x2", "person"]
    ref = SoftmaxChoiceEstimator(situation_key="situation").fit(
        frame[cols[:-1]], frame["y"]
    )
    expected = ref.covariance_matrix(
        frame[cols], frame["y"], cov_type="cluster", groups="person"
    )
    ddf = dd.from_pandas(frame, npartitions=3).shuffle(on="person", npartitions=4)
    got = dask_covariance_matrix(
        ref, ddf[cols], ddf["y"], cov_type="cluster", groups="person"
    )
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    # Clusters cut by the partitions: refused.
    cut = dd.from_pandas(frame, npartitions=3).shuffle(on="situation", npartitions=4)
    with pytest.raises(ValueError, match=r"cluster .* whole inside one partition"):
        dask_covariance_matrix(
            ref, cut[cols], cut["y"], cov_type="cluster", groups="person"
        )


def test_policy_covariances_equal_in_memory():
    S, a, mask, w = policy_data(seed=3)
    groups = np.arange(600) // 10  # 10 states per cluster, whole in every chunk
    ref = SoftmaxPolicy().fit(S, a, sample_weight=w, available_actions=mask)
    dS = da.from_array(S, chunks=(200, 3))
    kwargs = {"available_actions": da.from_array(mask, chunks=(200, 4))}
    for cov_type, g in [("HC0", None), ("cluster", groups)]:
        expected = ref.covariance_matrix(
            S, a, w, cov_type=cov_type, groups=g, available_actions=mask
        )
        got = dask_covariance_matrix(
            ref, dS, a, w, cov_type=cov_type, groups=g, **kwargs
        )
        pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    with pytest.raises(ValueError, match="cluster 19 has situations in partitions"):
        dask_covariance_matrix(
            ref,
            da.from_array(S, chunks=(195, 3)),
            a,
            w,
            cov_type="cluster",
            groups=groups,
            **kwargs,
        )


# --------------------------------------------------------------------------------
# dask.distributed and the optional import
# --------------------------------------------------------------------------------


def test_local_cluster_two_processes():
    distributed = pytest.importorskip("distributed")
    frame = long_frame(seed=7)
    pdf = frame.set_index("situation")
    ref = SoftmaxChoiceEstimator().fit(pdf[["x0", "x1", "x2"]], pdf["y"])
    X, y = make_choice_data(300, 4, 3, random_state=8)
    ref_dense = SoftmaxChoiceEstimator().fit(X, y)
    # forkserver: workers start from a fresh server process, without re-importing
    # the test session's modules (spawn takes several times longer on 2 cores).
    with (
        dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
        dask.config.set(scheduler=client),
    ):
        ddf = dd.from_pandas(frame, npartitions=4).set_index("situation")
        est = SoftmaxChoiceEstimator().fit(ddf[["x0", "x1", "x2"]], ddf["y"])
        dense = SoftmaxChoiceEstimator().fit(
            da.from_array(X, chunks=(70, 4, 3)), da.from_array(y, chunks=70)
        )
        dX = ddf[["x0", "x1", "x2"]]
        got = dX.assign(p=est.predict_proba(dX)).compute()
    assert_same_fit(est, ref)
    assert_same_fit(dense, ref_dense)
    np.testing.assert_allclose(
        got["p"].to_numpy(), ref.predict_proba(got[["x0", "x1", "x2"]])
    )


def test_import_does_not_need_dask():
    code = (
        "import sys; sys.modules['dask'] = None\n"
        "import skpolicy\n"
        "from skpolicy.datasets import make_choice_data\n"
        "X, y = make_choice_data(50, 3, 2, random_state=0)\n"
        "skpolicy.SoftmaxChoiceEstimator().fit(X, y).predict(X)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_covariance_methods_accept_dask_data_and_others_say_why():
    """std_errors and coef_table go through the Dask covariance; the statistics
    that need per-situation rows refuse Dask data with a clear message."""
    import dask.array as da

    from skpolicy.datasets import make_choice_data

    X, y = make_choice_data(400, 4, 2, random_state=0)
    est = SoftmaxChoiceEstimator().fit(X, y)
    dX, dy = da.from_array(X, chunks=(100, 4, 2)), da.from_array(y, chunks=100)
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_allclose(
            est.std_errors(dX, dy, cov_type="HC0"),
            est.std_errors(X, y, cov_type="HC0"),
            rtol=1e-10,
        )
        with pytest.raises(NotImplementedError, match="pass X=None"):
            est.fit_statistics(dX, dy)
