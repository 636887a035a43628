"""Engines that compute the kernel sums: numpy (the reference) or numba (optional).

:class:`~._linear_loss.LinearChoiceLoss` asks :func:`resolve_engine` which engine to
use and, for numba, delegates its ``sums`` to :class:`NumbaSums`. numba is imported
only here and only when that engine is chosen, so ``import skpolicy`` stays light
and everything works without numba installed.
"""

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._config import get_config

# "auto" uses numba from this many rows on: below it a numpy fit takes about as
# long as importing numba and loading its cached machine code (~0.3 s, once per
# process).
_AUTO_MIN_ROWS = 20_000
# ... and up to this many features: the kernel's Hessian accumulates in 2 x 2
# register tiles, which beat numpy's BLAS products up to about 60 features and lose
# to them beyond 100 (measured at 10 alternatives).
_AUTO_MAX_FEATURES = 64
# Situations per window of the compiled kernel: as many as fit a feature buffer of
# about this size (in the L1/L2 cache), between 8 and 64. 64 situations of 10
# alternatives and 10 features (50 KiB) measured fastest on the benchmark machine.
_WINDOW_BYTES = 64 * 1024
# Each thread gets a few tasks so that a thread slowed by another process does not
# hold up the pass; no task is smaller than this many rows.
_TASKS_PER_THREAD = 4
_MIN_TASK_ROWS = 16_384


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

    Parameters
    ----------
    engine : {"auto", "numpy", "numba"} or None
        None reads the configuration (:func:`skpolicy.get_config`).
    n_rows, n_features : int
        Shape of the canonical block (used by ``"auto"``).
    situation_features : bool, default=False
        Whether the model has situation features (per-alternative coefficients).
    """
    engine = get_config()["engine"] if engine is None else engine
    if situation_features and engine in ("auto", "numba"):
        engine = _situation_feature_engine(engine, n_rows, n_features)
    if engine == "numba":
        if not numba_available():
            raise ImportError(
                "engine='numba' needs numba: pip install skpolicy[fast] (or pip "
                "install numba), or use engine='auto' to fall back to numpy"
            )
        return "numba"
    if engine == "auto":
        fits = n_rows >= _AUTO_MIN_ROWS and n_features <= _AUTO_MAX_FEATURES
        return "numba" if fits and numba_available() else "numpy"
    if engine == "numpy":
        return "numpy"
    raise ValueError(f"unknown engine {engine!r}; use 'auto', 'numpy' or 'numba'")


def _situation_feature_engine(engine, n_rows, n_features):
    # TODO(lead): measured choice for the situation-feature model.
    return "numpy"


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
    """

    def __init__(self, X, offsets, wn, wy):
        self._kernel = _kernel_module().chunk_sums
        self.X = np.ascontiguousarray(X)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.wn = np.ascontiguousarray(wn, dtype=np.float64)
        self.wy = np.ascontiguousarray(wy, dtype=np.float64)
        n_even = self.X.shape[1] + (self.X.shape[1] & 1)
        max_size = int(np.diff(self.offsets).max(initial=1))
        window = _WINDOW_BYTES // (8 * max(n_even, 1) * max_size)
        self.window = int(min(64, max(8, window - window % 4)))
        self._bounds = {}

    def _task_bounds(self, n_threads):
        """Situation boundaries of the tasks: contiguous, about equal in rows."""
        if n_threads not in self._bounds:
            n_rows = self.X.shape[0]
            n_tasks = 1
            if n_threads > 1:
                n_tasks = n_threads * _TASKS_PER_THREAD
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
        K = self.X.shape[1]
        K2 = K + (K & 1)
        coef = np.ascontiguousarray(coef, dtype=np.float64)
        n_threads = effective_n_threads()
        bounds = self._task_bounds(n_threads)
        n_tasks = bounds.shape[0] - 1
        grads = np.zeros((n_tasks, K))
        hessians = np.zeros((n_tasks, K2, K2))

        def task(c):
            return self._kernel(
                self.X,
                self.offsets,
                self.wn,
                self.wy,
                coef,
                bounds[c],
                bounds[c + 1],
                hessian,
                self.window,
                grads[c],
                hessians[c],
            )

        if n_tasks == 1 or n_threads == 1:
            parts = [task(c) for c in range(n_tasks)]
        else:
            pool = executor(n_threads)
            parts = list(pool.map(task, range(n_tasks)))
        loss = float(sum(p[0] for p in parts))
        if not np.isfinite(sum(p[1] for p in parts)):
            raise FloatingPointError("non-finite utility; check the features and coef_")
        grad = grads.sum(axis=0)
        hess = None
        if hessian:
            lower = hessians.sum(axis=0)[:K, :K]
            hess = np.tril(lower) + np.tril(lower, -1).T
        return loss, grad, hess
