"""Engines: configuration, selection, and numba against the numpy reference."""

import numpy as np
import pytest

import skpolicy
from skpolicy import SoftmaxChoiceEstimator, _engines
from skpolicy._data import dense_block
from skpolicy._linear_loss import LinearChoiceLoss
from skpolicy.datasets import make_choice_data
from skpolicy.exceptions import PenalizedInferenceWarning

needs_numba = pytest.mark.skipif(
    not _engines.numba_available(), reason="the numba engine needs numba"
)


# ------------------------------------------------------------------ configuration
def test_config_context_restores_and_set_config_validates():
    assert skpolicy.get_config() == {"engine": "auto", "n_threads": None}
    with skpolicy.config_context(engine="numpy", n_threads=1):
        assert skpolicy.get_config() == {"engine": "numpy", "n_threads": 1}
        with skpolicy.config_context(engine="auto"):
            assert skpolicy.get_config()["engine"] == "auto"
            assert skpolicy.get_config()["n_threads"] == 1
        assert skpolicy.get_config()["engine"] == "numpy"
    assert skpolicy.get_config() == {"engine": "auto", "n_threads": None}
    with pytest.raises(ValueError, match="engine must be one of"):
        skpolicy.set_config(engine="cuda")
    with pytest.raises(ValueError, match="n_threads=0"):
        skpolicy.set_config(n_threads=0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        skpolicy.set_config(n_threads=1.5)


def test_resolve_engine(monkeypatch):
    assert _engines.resolve_engine("numpy", 10**9, 5) == "numpy"
    # "auto" keeps small problems (no numba import for them) and many features
    # (BLAS products win) on numpy.
    assert _engines.resolve_engine("auto", 100, 5) == "numpy"
    big = _engines._AUTO_MIN_ROWS
    assert _engines.resolve_engine("auto", big, 1000) == "numpy"
    expected = "numba" if _engines.numba_available() else "numpy"
    assert _engines.resolve_engine("auto", big, 5) == expected
    with skpolicy.config_context(engine="numpy"):
        assert _engines.resolve_engine(None, big, 5) == "numpy"
    with pytest.raises(ValueError, match="unknown engine"):
        _engines.resolve_engine("cuda", 10, 5)


def test_without_numba_auto_falls_back_and_numba_raises(monkeypatch):
    monkeypatch.setattr(_engines, "_kernel_module", lambda: None)
    assert not _engines.numba_available()
    assert _engines.resolve_engine("auto", 10**9, 5) == "numpy"
    with pytest.raises(ImportError, match=r"skpolicy\[fast\]"):
        _engines.resolve_engine("numba", 10, 5)
    X, y = make_choice_data(50, 3, 2, random_state=0)
    with skpolicy.config_context(engine="auto"):
        est = SoftmaxChoiceEstimator().fit(X, y)
    assert est.converged_


# ------------------------------------------------------------------ agreement
def _problem(n, J, K, *, unavailable=0.0, dtype=np.float64, counts=False, seed=0):
    rng = np.random.default_rng(seed)
    X, y = make_choice_data(
        n, J, K, unavailable=unavailable, dtype=dtype, random_state=seed
    )
    w = rng.uniform(0.2, 3.0, size=n)
    if counts:
        available = ~np.isnan(X).all(axis=2)
        y_counts = rng.integers(0, 3, size=(n, J)) * available
        y_counts[np.arange(n), y] += 1
        y = y_counts.astype(float)
    return dense_block(X, y, w)


def _assert_same_sums(data, coef, rtol=1e-12):
    reference = LinearChoiceLoss(data, engine="numpy").sums(coef, hessian=True)
    compiled = LinearChoiceLoss(data, engine="numba")
    assert compiled.engine == "numba"
    for hessian in (True, False):
        loss, grad, hess = compiled.sums(coef, hessian=hessian)
        assert loss == pytest.approx(reference[0], rel=rtol)
        scale = np.abs(reference[1]).max()
        np.testing.assert_allclose(grad, reference[1], rtol=rtol, atol=rtol * scale)
        if hessian:
            atol = rtol * np.abs(reference[2]).max()
            np.testing.assert_allclose(hess, reference[2], rtol=rtol, atol=atol)
            np.testing.assert_array_equal(hess, hess.T)
        else:
            assert hess is None


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "n, J, K, unavailable, counts",
    [
        (200, 5, 3, 0.0, False),  # regular, odd K
        (333, 10, 10, 0.0, True),  # last window partly filled, counts
        (257, 6, 4, 0.4, True),  # ragged with counts
        (150, 2, 1, 0.0, False),  # binary choice, one feature
        (120, 40, 7, 0.6, False),  # long, very ragged situations
    ],
)
def test_numba_matches_numpy(n, J, K, unavailable, counts, dtype):
    data = _problem(n, J, K, unavailable=unavailable, dtype=dtype, counts=counts)
    coef = np.random.default_rng(1).normal(size=K)
    _assert_same_sums(data, coef)
    _assert_same_sums(data, np.zeros(K))


@needs_numba
def test_numba_matches_numpy_mixed_sizes_and_zero_weights(ragged_weighted_counts):
    X, counts, weights = ragged_weighted_counts
    weights = weights.copy()
    weights[::7] = 0.0
    _assert_same_sums(dense_block(X, counts, weights), np.array([0.4, -0.7, 0.2]))
    # Mostly 3 alternatives, one situation with 30 and one with a single one: the
    # windows holding them are padded.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 30, 2))
    X[:, 3:] = np.nan
    X[70] = rng.normal(size=(30, 2))
    X[71, 1:] = np.nan
    y = rng.integers(0, 3, size=150)
    y[71] = 0
    data = dense_block(X, y, rng.uniform(0.5, 2.0, size=150))
    assert sorted(set(data.segments.sizes)) == [1, 3, 30]
    _assert_same_sums(data, np.array([0.8, -0.3]))


@needs_numba
def test_numba_large_utilities_stay_finite_and_agree():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4, 2)) * 1e4
    y = rng.integers(0, 4, size=50)
    data = dense_block(X, y)
    for coef in (np.array([1.0, -1.0]), np.array([-1.0, 0.5])):
        loss, grad, hess = LinearChoiceLoss(data, engine="numba").sums(coef, True)
        assert np.isfinite(loss) and np.all(np.isfinite(grad))
        assert np.all(np.isfinite(hess))
        # The choices are almost certain (Hessian ~1e-100 and ~1e-10): both
        # engines centre the rows, so both keep its digits.
        _assert_same_sums(data, coef, rtol=1e-10)


@needs_numba
def test_numba_raises_on_non_finite_utilities():
    X, y = make_choice_data(30, 3, 2, random_state=0)
    data = dense_block(X * 1e300, y)
    for engine in ("numpy", "numba"):
        loss = LinearChoiceLoss(data, engine=engine)
        with np.errstate(over="ignore", invalid="ignore"):
            with pytest.raises(FloatingPointError, match="non-finite utility"):
                loss.sums(np.array([1e300, 1e300]), hessian=True)


@needs_numba
def test_numba_threads_give_the_same_sums():
    data = _problem(40_000, 3, 3, unavailable=0.2)
    coef = np.array([0.3, -0.5, 1.0])
    with skpolicy.config_context(n_threads=1):
        one = LinearChoiceLoss(data, engine="numba").sums(coef, hessian=True)
    with skpolicy.config_context(n_threads=2):
        two = LinearChoiceLoss(data, engine="numba").sums(coef, hessian=True)
    assert two[0] == pytest.approx(one[0], rel=1e-13)
    np.testing.assert_allclose(two[1], one[1], rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(two[2], one[2], rtol=1e-12)


@needs_numba
def test_numba_exp_is_accurate():
    from skpolicy import _numba_kernel

    x = np.concatenate([-np.geomspace(1e-12, 708, 5000), [0.0, -0.5, -745.0]])
    n = x.shape[0]
    out = np.empty(n)
    t = np.empty(n)
    _numba_kernel._exp_shifted(
        x, np.zeros(n), 1, n, out, out.view(np.int64), t, t.view(np.int64)
    )
    expected = np.exp(np.maximum(x, -708.0))
    np.testing.assert_allclose(out, expected, rtol=4 * np.finfo(float).eps)


@needs_numba
@pytest.mark.parametrize("format", ["dense", "long"])
def test_estimator_fits_the_same_with_either_engine(format):
    X, y = make_choice_data(400, 5, 4, unavailable=0.2, format=format, random_state=2)
    fits = {}
    for engine in ("numpy", "numba"):
        with skpolicy.config_context(engine=engine):
            fits[engine] = SoftmaxChoiceEstimator(alpha=0.01).fit(X, y)
    np.testing.assert_allclose(fits["numba"].coef_, fits["numpy"].coef_, rtol=1e-10)
    assert fits["numba"].log_likelihood_ == pytest.approx(
        fits["numpy"].log_likelihood_, rel=1e-12
    )
    with pytest.warns(PenalizedInferenceWarning):
        np.testing.assert_allclose(
            fits["numba"].covariance_matrix(),
            fits["numpy"].covariance_matrix(),
            rtol=1e-10,
        )


@needs_numba
# Python >= 3.12 warns about fork() in any multi-threaded process; forking after the
# kernel's threads have run is exactly what this test checks.
@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_numba_engine_works_in_a_forked_child():
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method")
    data = _problem(40_000, 3, 3)
    coef = np.array([0.3, -0.5, 1.0])
    with skpolicy.config_context(n_threads=2):
        expected = LinearChoiceLoss(data, engine="numba").sums(coef)[0]
        with multiprocessing.get_context("fork").Pool(1) as pool:
            got = pool.apply_async(_numba_loss, (data, coef)).get(timeout=60)
    assert got == pytest.approx(expected, rel=1e-13)


def _numba_loss(data, coef):
    with skpolicy.config_context(n_threads=2):
        return LinearChoiceLoss(data, engine="numba").sums(coef)[0]
