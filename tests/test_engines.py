"""Engines: configuration, selection, and numba against the numpy reference."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import skpolicy
from skpolicy import SoftmaxChoiceEstimator, SoftmaxPolicy, _engines
from skpolicy._data import SituationFeatures, dense_block
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
    # "auto" keeps small problems (no numba import for them) and the conditional
    # logit beyond the Newton solver's size (L-BFGS: numpy's gradients) on numpy.
    monkeypatch.setattr(_engines, "kernel_loaded", lambda situation_features: True)
    assert _engines.resolve_engine("auto", 100, 5) == "numpy"
    big = _engines._AUTO_MIN_ROWS
    assert _engines.resolve_engine("auto", big, 1000) == "numpy"
    assert _engines.resolve_engine("auto", big, 5) == "numba"
    assert _engines.resolve_engine("auto", big, 200) == "numba"
    for n_params in (12, 99, 2000):
        assert _engines.resolve_engine(
            "auto", big, n_params, situation_features=True
        ) == ("numba")
    with skpolicy.config_context(engine="numpy"):
        assert _engines.resolve_engine(None, big, 5) == "numpy"
    with pytest.raises(ValueError, match="unknown engine"):
        _engines.resolve_engine("cuda", 10, 5)


@pytest.mark.parametrize(
    "situation_features, n_features, small, large",
    [
        # The break-evens of loading the kernel (see _engines._AUTO_LOAD_WORK).
        (False, 10, 100_000, 1_500_000),
        (False, 99, 30_000, 100_000),
        (True, 99, 100_000, 700_000),
    ],
)
def test_auto_waits_for_no_compiler(
    monkeypatch, situation_features, n_features, small, large
):
    """Kernel in the process: numba from _AUTO_MIN_ROWS rows; in numba's disk cache:
    when the fit repays loading it; not compiled: numpy, and a background
    compilation."""
    started = []
    state = {"loaded": False, "cached": False}
    monkeypatch.setattr(_engines, "kernel_loaded", lambda z: state["loaded"])
    monkeypatch.setattr(_engines, "kernel_cached", lambda z: state["cached"])
    monkeypatch.setattr(_engines, "compile_in_background", started.append)

    def resolve(n_rows):
        return _engines.resolve_engine(
            "auto", n_rows, n_features, situation_features=situation_features
        )

    assert (resolve(small), resolve(large)) == ("numpy", "numpy")
    assert started == ([situation_features] if _engines.numba_available() else [])
    state["cached"] = True
    assert (resolve(small), resolve(large)) == ("numpy", "numba")
    state["loaded"] = True
    assert (resolve(small), resolve(large)) == ("numba", "numba")
    assert resolve(_engines._AUTO_MIN_ROWS - 1) == "numpy"


@needs_numba
def test_kernel_cache_checks_agree_with_numba():
    from skpolicy import _numba_kernel

    for situation_features, name in _engines._KERNELS.items():
        _engines.compile_kernel(situation_features)
        assert _engines.kernel_loaded(situation_features)
        assert _engines.kernel_cached(situation_features)
        assert _engines._in_numba_cache(name, situation_features)
        # The files numba wrote are where the check without numba looks.
        places = _engines._cache_places()
        if places is not None:
            assert getattr(_numba_kernel, name)._cache.cache_path in places
    # A fresh process finds both kernels on disk: first without numba, then in
    # numba's index (the key of the call's argument types).
    code = (
        "import sys\nfrom skpolicy import _engines\n"
        "print([_engines._surely_not_cached(n) for n in _engines._KERNELS.values()],"
        " 'numba' in sys.modules)\n"
        "print([_engines._in_numba_cache(n, z) for z, n in _engines._KERNELS.items()])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.split("\n")[:2] == ["[False, False] False", "[True, True]"], (
        out.stdout + out.stderr
    )


def test_background_compilation_lock(monkeypatch, tmp_path):
    monkeypatch.setattr(_engines.tempfile, "gettempdir", lambda: str(tmp_path))
    path = _engines._compile_lock("chunk_sums")
    assert path and _engines._compile_lock("chunk_sums") is False
    # A lock older than _COMPILE_LOCK_SECONDS is that of a dead process.
    old = _engines.time.time() - _engines._COMPILE_LOCK_SECONDS - 1
    _engines.os.utime(path, (old, old))
    assert _engines._compile_lock("chunk_sums") == path
    monkeypatch.setattr(_engines, "_COMPILING", {})
    monkeypatch.setenv("SKPOLICY_NUMBA_BACKGROUND", "0")
    _engines.compile_in_background(True)
    assert _engines._COMPILING == {}
    # The background process: its parent gone (no such pid), it compiles at once
    # (here: prints) and removes the lock.
    code = _engines._BACKGROUND_CODE.format(
        situation_features=True, lock=path, parent=2**22 + 1, seconds=0.1, share=0.2
    ).replace("from skpolicy._engines import compile_kernel", "compile_kernel = print")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.stdout == "True\n", out.stderr
    assert not _engines.os.path.exists(path)


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


def _assert_same_sums(data, coef, rtol=1e-12, situation_features=None):
    zf = situation_features
    reference = LinearChoiceLoss(data, situation_features=zf, engine="numpy")
    reference = reference.sums(coef, hessian=True)
    compiled = LinearChoiceLoss(data, situation_features=zf, engine="numba")
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


def _z_problem(n, J, P, K, *, reference=0, weights=True, seed=0, **kwargs):
    """A block with P situation features and K alternative features (K may be 0)."""
    data = _problem(n, J, max(K, 1), seed=seed, **kwargs)
    X = data.X if K else np.zeros((data.X.shape[0], 0), data.X.dtype)
    data = dataclasses.replace(
        data, X=X, sample_weight=data.sample_weight if weights else None
    )
    Z = np.random.default_rng(seed + 1).normal(size=(n, P))
    alternatives = None if data.rows is None else data.rows % J
    return data, SituationFeatures(Z, J, alternatives, reference)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "n, J, P, K, unavailable, counts, reference, weights",
    [
        (300, 5, 3, 0, 0.0, False, 0, False),  # Z only (multinomial logit)
        (333, 10, 4, 3, 0.0, True, 4, True),  # mixed, partial last window, counts
        (257, 6, 5, 2, 0.4, True, 2, True),  # mixed, ragged with counts
        (200, 7, 6, 0, 0.5, False, 6, True),  # Z only, ragged, last reference
        (150, 2, 1, 0, 0.0, False, 1, True),  # binary, one feature
        (90, 13, 2, 5, 0.3, False, 0, True),  # J, F * K, P not multiples of 4
    ],
)
def test_numba_matches_numpy_with_situation_features(
    n, J, P, K, unavailable, counts, reference, weights, dtype
):
    data, zf = _z_problem(
        n,
        J,
        P,
        K,
        unavailable=unavailable,
        counts=counts,
        dtype=dtype,
        reference=reference,
        weights=weights,
    )
    if unavailable:
        assert len(set(data.segments.sizes)) > 1
    coef = np.random.default_rng(1).normal(size=K + (J - 1) * P) * 0.5
    _assert_same_sums(data, coef, situation_features=zf)
    _assert_same_sums(data, np.zeros_like(coef), situation_features=zf)


@needs_numba
def test_numba_situation_features_threads_and_windows_agree():
    # Many windows and tasks, one situation of 30 alternatives among 3s.
    rng = np.random.default_rng(3)
    n, J, P = 20_000, 30, 2
    X = rng.normal(size=(n, J, 1))
    X[:, 3:] = np.nan
    X[7] = rng.normal(size=(J, 1))
    y = rng.integers(0, 3, size=n)
    data = dense_block(X, y, rng.uniform(0.5, 2.0, size=n))
    zf = SituationFeatures(rng.normal(size=(n, P)), J, data.rows % J, 0)
    coef = rng.normal(size=1 + (J - 1) * P) * 0.3
    _assert_same_sums(data, coef, situation_features=zf)
    sums = {}
    for n_threads in (1, 2):
        with skpolicy.config_context(n_threads=n_threads):
            loss = LinearChoiceLoss(data, situation_features=zf, engine="numba")
            sums[n_threads] = loss.sums(coef, hessian=True)
    assert sums[2][0] == pytest.approx(sums[1][0], rel=1e-13)
    np.testing.assert_allclose(sums[2][1], sums[1][1], rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(sums[2][2], sums[1][2], rtol=1e-12, atol=1e-12)


@needs_numba
@pytest.mark.parametrize("coef", [[-30.0, -31.0], [30.0, 1.0]])
def test_numba_situation_features_keep_near_certain_curvature(coef):
    # One alternative almost certain (the reference, then a free one): the gamma
    # block's diagonal c pi (1 - pi) z z' keeps its digits (1 - pi is summed from
    # the other alternatives), as the exact value shows. (numpy's pi - pi^2 loses
    # three digits in the second case.)
    n, J = 60, 3
    data = dense_block(np.zeros((n, J, 1)), np.zeros(n, dtype=int))
    data = dataclasses.replace(data, X=np.zeros((n * J, 0)))
    zf = SituationFeatures(np.ones((n, 1)), J, None, 0)
    coef = np.array(coef)
    _, _, hess = LinearChoiceLoss(data, situation_features=zf, engine="numba").sums(
        coef, hessian=True
    )
    e = np.exp(np.r_[0.0, coef] - max(0.0, coef.max()))
    pi = e / e.sum()
    others = np.array([pi[[0, 2]].sum(), pi[[0, 1]].sum()])  # 1 - pi, exactly
    exact = -n * np.outer(pi[1:], pi[1:])
    exact[np.diag_indices(2)] = n * pi[1:] * others
    np.testing.assert_allclose(hess, exact, rtol=1e-13)


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
    data = dense_block(X, y)
    # Past the data layer's check of huge features: the kernels' own check.
    data = dataclasses.replace(data, X=data.X * 1e300)
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
@pytest.mark.parametrize("mixed", [False, True])
def test_policy_fits_the_same_with_either_engine(mixed):
    rng = np.random.default_rng(4)
    n, J, P = 600, 5, 3
    S = rng.normal(size=(n, P))
    logits = S @ rng.normal(size=(P, J))
    mask = rng.random((n, J)) < 0.8
    mask[np.arange(n), rng.integers(0, J, size=n)] = True
    kwargs = {"available_actions": None}
    if mixed:
        phi = rng.normal(size=(n, J, 2)).astype(np.float32)
        logits = logits + phi @ np.array([0.7, -0.4])
        kwargs = {"available_actions": mask, "action_features": phi}
    logits = np.where(mask | (not mixed), logits, -np.inf)
    a = (logits + rng.gumbel(size=(n, J))).argmax(axis=1)
    w = rng.uniform(0.5, 2.0, size=n)
    fits = {}
    for engine in ("numpy", "numba"):
        with skpolicy.config_context(engine=engine):
            fits[engine] = SoftmaxPolicy(alpha=0.01).fit(S, a, w, **kwargs)
    for attr in ("coef_", "intercept_", "action_coef_"):
        np.testing.assert_allclose(
            getattr(fits["numba"], attr),
            getattr(fits["numpy"], attr),
            rtol=1e-9,
            atol=1e-12,
        )
    assert fits["numba"].log_likelihood_ == pytest.approx(
        fits["numpy"].log_likelihood_, rel=1e-12
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
