"""Engines that compute the kernel sums: numpy (the reference) or numba (optional).

:class:`~._linear_loss.LinearChoiceLoss` asks :func:`resolve_engine` which engine to
use and, for numba, delegates its ``sums`` to :class:`NumbaSums` (both models: with
alternative features only, and with situation features). numba is imported only
here and only when that engine is chosen or its cache must be inspected, so
``import skpolicy`` stays light and everything works without numba installed.

``"auto"`` never waits for the compiler: on a cold numba cache it fits with numpy
and compiles the kernel in a background process (see :func:`resolve_engine`).
"""

import functools
import glob
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._config import get_config
from ._data import SituationFeatures

# "auto" (see resolve_engine) was set from benchmarks/bench_policy.py and
# benchmarks/cold_start.py on the benchmark machine (2 cores, warm numba cache):
#
# - With the kernel already in the process, numba from this many rows on (below,
#   both engines take a few milliseconds).
_AUTO_MIN_ROWS = 20_000
# - Conditional logit: numba up to this many features. Its Hessian pass is 2-3.3
#   times faster at 10 alternatives and 10, 30, 64, 99, 200 and 400 features (one
#   thread; fits 1.8-4.1 times), its gradient pass 0.6-0.9 times as fast from 64
#   features on: beyond 500 the solver is L-BFGS (gradients only), so numpy.
#   (Situation features: numba for every size measured, Hessian 3.8-9 times, fits
#   2.3-3.9 times faster with 3-30 actions and 5-30 state features.)
_AUTO_MAX_FEATURES = 500
# - Loading numba and the kernel from numba's disk cache costs the first fit in a
#   process 0.5-0.9 s; numba is worth it when the fit saves more. The time saved
#   per row grows with the features: about 0.36 us at 10 features, 2 us at 30,
#   9 us at 99, 41 us at 200 for the conditional logit (break-even at ~1.4e6,
#   2.3e5, 6e4, 1.2e4 rows), 0.5-1.8 us for policies of 12-319 coefficients
#   (break-even ~1e6 to 2.8e5 rows). _load_pays models those break-evens.
_AUTO_LOAD_WORK = {False: 2_000_000, True: 1_200_000}
# Situations per window of the compiled kernel: as many as fit a feature buffer of
# about this size (in the L2 cache), between 8 and 64. 64 situations measured
# fastest for 10 alternatives and 10 to 99 features, and for ragged situations of
# up to 40 alternatives (larger windows amortise the Hessian tiles' reductions:
# -20% at 99 features against the 8 situations of a 64 KiB buffer); 32 at 200.
_WINDOW_BYTES = 512 * 1024
# Each thread gets a few tasks so that a thread slowed by another process does not
# hold up the pass; no task is smaller than this many rows.
_TASKS_PER_THREAD = 4
_MIN_TASK_ROWS = 16_384
# Situation-feature kernel: bytes of all the buffers of a window (see
# NumbaSums), and the longest window.
_Z_WINDOW_BYTES = 1 << 20
_Z_MAX_WINDOW = 128
# Output bytes (gradient and Hessian blocks) of one task beyond which the tasks
# are fewer than _TASKS_PER_THREAD per thread.
_TASK_OUTPUT_BYTES = 4 << 20


@functools.cache
def _kernel_module():
    """The compiled-kernel module, or None when numba is missing or broken."""
    try:
        from . import _numba_kernel
    except ImportError:
        return None
    return _numba_kernel


def numba_available():
    """Whether the numba engine can be used (numba is installed and imports)."""
    return _kernel_module() is not None


def resolve_engine(engine, n_rows, n_features, *, situation_features=False):
    """The engine (``"numpy"`` or ``"numba"``) that ``engine`` stands for.

    ``"auto"`` takes numba where it was measured faster (:func:`_numba_pays`) and
    only when its compiled kernel is ready: already in this process, or in numba's
    on-disk cache when the fit is large enough to repay loading it
    (:func:`_load_pays`). On a cold cache it takes numpy and compiles the kernel in
    a background process for the fits that follow (:func:`compile_in_background`),
    so a one-off fit never waits seconds for the compiler.

    Parameters
    ----------
    engine : {"auto", "numpy", "numba"} or None
        None reads the configuration (:func:`skpolicy.get_config`).
    n_rows, n_features : int
        Shape of the canonical block (used by ``"auto"``): rows and parameters.
    situation_features : bool, default=False
        Whether the model has situation features (per-alternative coefficients).
    """
    engine = get_config()["engine"] if engine is None else engine
    if engine == "numba":
        if not numba_available():
            raise ImportError(
                "engine='numba' needs numba: pip install skpolicy[fast] (or pip "
                "install numba), or use engine='auto' to fall back to numpy"
            )
        return "numba"
    if engine == "auto":
        if not _numba_pays(n_rows, n_features, situation_features):
            return "numpy"
        if kernel_loaded(situation_features):
            return "numba"
        if not _load_pays(n_rows, n_features, situation_features):
            return "numpy"
        if kernel_cached(situation_features):
            return "numba"
        if importlib.util.find_spec("numba") is not None:
            compile_in_background(situation_features)
        return "numpy"
    if engine == "numpy":
        return "numpy"
    raise ValueError(f"unknown engine {engine!r}; use 'auto', 'numpy' or 'numba'")


def _numba_pays(n_rows, n_features, situation_features):
    """Whether numba was measured faster than numpy, its kernel being loaded."""
    if n_rows < _AUTO_MIN_ROWS:
        return False
    return situation_features or n_features <= _AUTO_MAX_FEATURES


def _load_pays(n_rows, n_features, situation_features):
    """Whether the fit saves more than loading numba's kernel costs (~0.5 s)."""
    if situation_features:
        work = n_rows * (1 + n_features / 100)
    else:
        work = n_rows * (1 + (n_features / 16) ** 2)
    return work >= _AUTO_LOAD_WORK[bool(situation_features)]


# ------------------------------------------------------------------ cold caches
# The kernels (functions of _numba_kernel) for each kind of model.
_KERNELS = {False: "chunk_sums", True: "chunk_sums_z"}
# Kernels found in numba's cache, and the background compilations started by this
# process.
_CACHED = set()
_COMPILING = {}
# A background compilation that has not finished after this many seconds is
# assumed dead (its lock file no longer stops another one).
_COMPILE_LOCK_SECONDS = 900


def kernel_loaded(situation_features):
    """Whether the numba kernel of this kind of model is in this process already."""
    name = _KERNELS[bool(situation_features)]
    if sys.modules.get(__package__ + "._numba_kernel") is None:
        return False  # not imported: not compiled (and no numba import here)
    return numba_available() and bool(getattr(_kernel_module(), name).signatures)


def kernel_cached(situation_features):
    """Whether the numba kernel of this kind of model runs without compiling.

    True when it is in this process or in numba's on-disk cache for this source,
    this numba and this CPU. Checking the cache needs numba's internals; should
    they change, the answer is True (compile on first use, the behaviour without
    this check).
    """
    name = _KERNELS[bool(situation_features)]
    if name in _CACHED or kernel_loaded(situation_features):
        return True
    process = _COMPILING.get(name)
    if process is not None:
        process.poll()  # reap a finished background compilation
    if _surely_not_cached(name) or not numba_available():
        return False
    try:
        cached = _in_numba_cache(name, situation_features)
    except Exception:  # noqa: BLE001 - numba internals moved: compile on use
        cached = True
    if cached:
        _CACHED.add(name)
    return cached


def _in_numba_cache(name, situation_features):
    """Whether the kernel is compiled in this process or in numba's index file."""
    dispatcher = getattr(_kernel_module(), name)
    if dispatcher.signatures:
        return True
    arguments = _example_arguments(situation_features)
    signature = tuple(dispatcher.typeof_pyval(a) for a in arguments)
    cache = dispatcher._cache
    key = cache._index_key(signature, dispatcher.targetctx.codegen())
    return key in cache._cache_file._load_index()


def _surely_not_cached(name):
    """True when no index file of the kernel exists where numba would cache it.

    Looks without importing numba (0.3-0.6 s), so that a fit on a cold cache does
    not pay for it. False when numba is already imported or when the places are
    not known (then :func:`_in_numba_cache` decides).
    """
    places = _cache_places()
    if "numba" in sys.modules or places is None:
        return False
    version = f"py{sys.version_info[0]}{sys.version_info[1]}{sys.abiflags}"
    pattern = f"_numba_kernel.{name}-*.{version}.nbi"
    return not any(glob.glob(os.path.join(glob.escape(p), pattern)) for p in places)


def _cache_places():
    """Where numba caches the kernels (its locators in order), or None if unknown.

    As ``numba.core.caching``: NUMBA_CACHE_DIR, else ``__pycache__`` next to the
    source, else the user-wide cache directory.
    """
    if os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES"):
        return None
    folder = os.path.dirname(os.path.abspath(__file__))
    subpath = "_".join(
        [os.path.basename(folder), hashlib.sha1(folder.encode()).hexdigest()]
    )
    if os.environ.get("NUMBA_CACHE_DIR"):
        return [os.path.join(os.environ["NUMBA_CACHE_DIR"], subpath)]
    if not sys.platform.startswith("linux"):
        return None
    user = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return [os.path.join(folder, "__pycache__"), os.path.join(user, "numba", subpath)]


def _example_arguments(situation_features):
    """Arguments of a kernel call on a tiny block: the types of every call."""
    X = np.zeros((2, 1))
    offsets = np.array([0, 2])
    wn, wy = np.ones(1), np.array([1.0, 0.0])
    zf = None
    if situation_features:
        zf = SituationFeatures(np.ones((1, 1)), 2)
    sums = NumbaSums(X, offsets, wn, wy, zf)
    params = sums._parameters(np.zeros(1 + (0 if zf is None else zf.n_params)))
    return sums._arguments(params, True, 0, 1, sums._outputs())


def compile_kernel(situation_features):
    """Compile (or load) the kernel in this process: it lands in numba's cache."""
    name = _KERNELS[bool(situation_features)]
    getattr(_kernel_module(), name)(*_example_arguments(situation_features))


def compile_in_background(situation_features):
    """Compile the kernel in a separate process, once this one is idle or gone.

    Once per kernel and process, and one process at a time per source file and
    ``NUMBA_CACHE_DIR`` (a lock file in the temporary directory):
    ``GridSearchCV(n_jobs=8)`` on a cold cache compiles once. A process rather
    than a thread: the compiler holds the GIL for much of its seconds, and a
    process outlives a short script, whose next run then finds the cache warm. It
    waits until this process is idle or gone (see ``_BACKGROUND_CODE``), so the
    fits running now do not share the CPU with it. ``SKPOLICY_NUMBA_BACKGROUND=0``
    turns this off.
    """
    name = _KERNELS[bool(situation_features)]
    if name in _COMPILING or os.environ.get("SKPOLICY_NUMBA_BACKGROUND") == "0":
        return
    _COMPILING[name] = None
    lock = _compile_lock(name)
    if lock is False:
        return
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_parent, env.get("PYTHONPATH")) if p
    )
    code = _BACKGROUND_CODE.format(
        situation_features=bool(situation_features),
        lock=lock,
        parent=os.getpid(),
        seconds=_IDLE_SECONDS,
        share=_IDLE_SHARE,
    )
    try:
        _COMPILING[name] = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    except OSError:
        if lock:
            os.unlink(lock)


# The background compilation waits until the process that started it is idle
# (below _IDLE_SHARE of a core over _IDLE_SECONDS) or gone, and then runs only on
# otherwise idle CPU (SCHED_IDLE; nice 19 where that is missing). Measured: started
# at once (even with SCHED_IDLE) it made the numpy fit it runs beside 10-45%
# slower on 2 cores (benchmarks/cold_start.py), its memory traffic competing.
# Without /proc it starts at once.
_IDLE_SHARE = 0.2
_IDLE_SECONDS = 1.0
_BACKGROUND_CODE = """
import os, time
def busy(pid, last):
    # CPU ticks of pid (utime + stime), and whether it used more than the share.
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None, False
    ticks = int(fields[11]) + int(fields[12])
    if last is None:
        return ticks, True
    return ticks, (ticks - last) / os.sysconf("SC_CLK_TCK") / {seconds} > {share}
try:
    ticks, _ = busy({parent}, None)
    while ticks is not None:
        time.sleep({seconds})
        ticks, more = busy({parent}, ticks)
        if not more:
            break
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except Exception:
        try:
            os.nice(19)
        except Exception:
            pass
    from skpolicy._engines import compile_kernel
    compile_kernel({situation_features})
finally:
    if {lock!r}:
        try:
            os.unlink({lock!r})
        except OSError:
            pass
"""


def _compile_lock(name):
    """Create the lock file of a background compilation.

    Returns its path, None when it cannot be made (compile all the same), or False
    when another process holds a fresh one.
    """
    try:
        folder = os.path.join(tempfile.gettempdir(), "skpolicy-numba")
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    key = hashlib.sha1(
        (os.path.abspath(__file__) + os.environ.get("NUMBA_CACHE_DIR", "")).encode()
    ).hexdigest()[:16]
    path = os.path.join(folder, f"{name}-{key}.lock")
    for _ in range(2):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return path
        except FileExistsError:
            try:
                if time.time() - os.path.getmtime(path) < _COMPILE_LOCK_SECONDS:
                    return False
                os.unlink(path)  # stale: its process died
            except OSError:
                pass
        except OSError:
            return None
    return None


def effective_n_threads():
    """Threads for the numba engine, from the configuration (see ``set_config``)."""
    n_threads = get_config()["n_threads"]
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        return max(1, int(_openmp_effective_n_threads(n_threads)))
    except ImportError:  # pragma: no cover - private helper moved
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        if n_threads is None:
            return cpus
        return n_threads if n_threads > 0 else max(1, cpus + 1 + n_threads)


@functools.cache
def blas_controller():
    """threadpoolctl's controller of the loaded BLAS (created once: ~2 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@functools.cache
def _executor(n_threads, pid):
    # Keyed by process id: a forked child has the parent's pool object but none of
    # its threads, and would wait forever on it.
    return ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="skpolicy")


def executor(n_threads):
    """The process's thread pool of ``n_threads`` workers (both engines use it)."""
    return _executor(n_threads, os.getpid())


def _readonly(a, dtype=None):
    """C-contiguous read-only view of ``a``: the kernel's argument types do not
    depend on whether the caller's arrays are writeable (one compiled variant)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    view = a.view()
    view.flags.writeable = False
    return view


def _round4(n):
    return n + (-n) % 4


def hessian_rows(K):
    """Rows of the kernels' feature buffers and Hessian outputs for K features.

    Even (2 x 2 register tiles) below 16 features, else a multiple of 4 (4 x 4
    tiles: 1.5 to 2 times faster from 30 features on, slower at 10).
    """
    return K + (K & 1) if K < 16 else _round4(K)


def _feature_bytes(X):
    """``(bytes, x32)``: the features as a read-only uint8 view and whether they are
    float32. The kernels view the bytes back as floats, so one compiled variant
    serves float32 and float64 features (each variant costs seconds of compilation
    on a cold cache)."""
    X = np.ascontiguousarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return _readonly(X.view(np.uint8)), X.dtype == np.float32


class NumbaSums:
    """The sums of :meth:`LinearChoiceLoss.sums` by the compiled kernel.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float64 or float32, C-contiguous
        Used in place: the kernel copies one cache-sized block at a time.
    offsets : ndarray of shape (n_situations + 1,), int64
    wn : ndarray of shape (n_situations,), float64
        ``w_s n_s``.
    wy : ndarray of shape (n_rows,), float64
        ``w_s y_sa``.
    situation_features : SituationFeatures or None, default=None
        The situation-feature part of the model (:mod:`._linear_loss`).
    """

    def __init__(self, X, offsets, wn, wy, situation_features=None):
        module = _kernel_module()
        self.X = X = np.ascontiguousarray(X)
        self.Xb, self.x32 = _feature_bytes(X)
        self.offsets = _readonly(offsets, np.int64)
        self.wn = _readonly(wn, np.float64)
        self.wy = _readonly(wy, np.float64)
        self.zf = zf = situation_features
        K = self.X.shape[1]
        max_size = int(np.diff(self.offsets).max(initial=1))
        if zf is None:
            self._kernel = module.chunk_sums
            window = _WINDOW_BYTES // (8 * max(hessian_rows(K), 1) * max_size)
            self.window = int(min(64, max(8, window - window % 4)))
        else:
            self._kernel = module.chunk_sums_z
            self.Z = _readonly(zf.Z, np.float64)
            self.codes = _readonly(
                np.zeros(0) if zf.alternatives is None else zf.alternatives, np.int64
            )
            self.free = _readonly(zf.free, np.int64)
            F, P = self.free.shape[0], zf.n_features
            # Output blocks (see chunk_sums_z) and the window: every buffer of a
            # window together in about _Z_WINDOW_BYTES.
            self._shapes = (
                (hessian_rows(K), hessian_rows(K)),
                (_round4(F * K), _round4(P)),
                (_round4(F * (F + 1) // 2), _round4(P * (P + 1) // 2)),
            )
            per_situation = 8 * (
                sum(s[0] for s in self._shapes[1:])
                + self._shapes[2][1]
                + 4 * zf.n_alternatives
                + max_size * (hessian_rows(K) + 8)
            )
            window = _Z_WINDOW_BYTES // per_situation
            self.window = int(min(_Z_MAX_WINDOW, max(32, window - window % 4)))
            self._zz_index = _zz_index(F, P)
        self._output_bytes = sum(a.nbytes for a in self._outputs())
        self._bounds = {}

    def _task_bounds(self, n_threads):
        """Situation boundaries of the tasks: contiguous, about equal in rows."""
        if n_threads not in self._bounds:
            n_rows = self.X.shape[0]
            n_tasks = 1
            if n_threads > 1:
                # Each task has its own outputs: fewer tasks for large Hessians.
                per_task = max(1, self._output_bytes // _TASK_OUTPUT_BYTES)
                n_tasks = n_threads * max(1, _TASKS_PER_THREAD // per_task)
                n_tasks = max(1, min(n_tasks, n_rows // _MIN_TASK_ROWS))
            targets = (np.arange(1, n_tasks) * n_rows) // n_tasks
            cuts = np.searchsorted(self.offsets, targets)
            n_situations = self.offsets.shape[0] - 1
            self._bounds[n_threads] = np.unique(
                np.concatenate([[0], cuts, [n_situations]])
            )
        return self._bounds[n_threads]

    def __call__(self, coef, hessian):
        """``(loss_sum, grad_sum, hess_sum or None)``, as ``LinearChoiceLoss.sums``."""
        params = self._parameters(coef)
        n_threads = effective_n_threads()
        bounds = self._task_bounds(n_threads)
        n_tasks = bounds.shape[0] - 1
        outputs = [self._outputs(hessian) for _ in range(n_tasks)]

        def task(c):
            return self._kernel(
                *self._arguments(params, hessian, bounds[c], bounds[c + 1], outputs[c])
            )

        if n_tasks == 1 or n_threads == 1:
            parts = [task(c) for c in range(n_tasks)]
        else:
            pool = executor(n_threads)
            parts = list(pool.map(task, range(n_tasks)))
        loss = float(sum(p[0] for p in parts))
        if not np.isfinite(sum(p[1] for p in parts)):
            raise FloatingPointError("non-finite utility; check the features and coef_")
        # Per-task outputs summed in task order: the same sums on every run.
        summed = [
            np.sum([out[i] for out in outputs], axis=0) for i in range(len(outputs[0]))
        ]
        return loss, summed[0], (self._hessian(*summed[1:]) if hessian else None)

    def _parameters(self, coef):
        """The coefficients as the kernel takes them."""
        coef = np.ascontiguousarray(coef, dtype=np.float64)
        if self.zf is None:
            return (coef,)
        K = self.X.shape[1]
        return coef[:K].copy(), self.zf.gamma_matrix(coef[K:])

    def _outputs(self, hessian=True):
        """Zeroed output arrays of one task: gradient, then the Hessian blocks.

        Without ``hessian`` the blocks of the situation-feature model have no rows
        (the kernel sizes its Hessian buffers by them).
        """
        K = self.X.shape[1]
        if self.zf is None:
            K2 = hessian_rows(K)
            return np.zeros(K), np.zeros((K2, K2))
        n_params = K + self.free.shape[0] * self.zf.n_features
        shapes = self._shapes
        if not hessian:
            shapes = (shapes[0], (0, shapes[1][1]), (0, 0))
        return (np.zeros(n_params), *(np.zeros(s) for s in shapes))

    def _arguments(self, params, hessian, start, stop, outputs):
        """The kernel's arguments for situations ``start:stop``."""
        data = (self.Xb, self.x32)
        if self.zf is not None:
            data += (self.Z, self.codes, self.free)
        data += (self.offsets, self.wn, self.wy)
        return (*data, *params, start, stop, hessian, self.window, *outputs)

    def _hessian(self, *blocks):
        """The symmetric Hessian from the summed output blocks."""
        K = self.X.shape[1]
        lower = blocks[0][:K, :K]
        hxx = np.tril(lower) + np.tril(lower, -1).T
        if self.zf is None:
            return hxx
        _, hxz, hzz = blocks
        F, P = self.free.shape[0], self.zf.n_features
        hess = np.empty((K + F * P, K + F * P))
        hess[:K, :K] = hxx
        # hxz[f * K + k, p] -> row K + f * P + p, column k.
        xz = hxz[: F * K, :P].reshape(F, K, P).transpose(0, 2, 1).reshape(F * P, K)
        hess[K:, :K] = xz
        hess[:K, K:] = xz.T
        hess[K:, K:] = hzz[self._zz_index]
        return hess


def _zz_index(F, P):
    """Index of ``hzz`` (see chunk_sums_z) giving the (F P, F P) gamma block."""
    f, p = np.divmod(np.arange(F * P), P)
    hi, lo = np.maximum.outer(f, f), np.minimum.outer(f, f)
    fg = hi * (hi + 1) // 2 + lo
    hi, lo = np.maximum.outer(p, p), np.minimum.outer(p, p)
    pq = hi * (hi + 1) // 2 + lo
    return fg, pq
