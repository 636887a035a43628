"""Global configuration of skpolicy's computations, in scikit-learn's style.

Mirrors :mod:`sklearn._config`: a global default, a thread-local copy, and
:func:`set_config` / :func:`config_context` to change it. The settings choose how the
kernel is computed, never what it computes: every engine returns the same loss,
gradient and Hessian (to rounding), so fitted models do not depend on them.
"""

import threading
from contextlib import contextmanager

ENGINES = ("auto", "numpy", "numba")

_global_config = {"engine": "auto", "n_threads": None}
_threadlocal = threading.local()


def _get_threadlocal_config():
    if not hasattr(_threadlocal, "global_config"):
        _threadlocal.global_config = _global_config.copy()
    return _threadlocal.global_config


def get_config():
    """Retrieve the current skpolicy configuration.

    Returns
    -------
    config : dict
        Keys are parameter names that can be passed to :func:`set_config`.

    See Also
    --------
    set_config : Set the configuration.
    config_context : Change the configuration within a ``with`` block.
    """
    return _get_threadlocal_config().copy()


def set_config(engine=None, n_threads=None):
    """Set skpolicy's configuration (for the current thread and its defaults).

    Parameters
    ----------
    engine : {"auto", "numpy", "numba"}, default=None
        How loss, gradient and Hessian are computed during fitting and scoring.
        ``"numpy"`` is the reference implementation (vectorised numpy and BLAS,
        one thread). ``"numba"`` is a compiled kernel that makes one pass over the
        features per iterate on several threads, typically 5 to 10 times faster;
        it needs the optional dependency numba (``pip install skpolicy[fast]``).
        ``"auto"`` (the initial setting) uses numba when it is installed and the
        data have at least 20,000 rows (below that, numpy is as fast as the time
        it takes to import numba) and at most 64 features (beyond that, numpy's
        BLAS computes the Hessian faster), and numpy otherwise. Results agree to
        rounding (about 1e-12 relative) whichever engine computes them. None
        leaves the setting unchanged.
    n_threads : int, default=None
        Threads of the numba engine. None (the initial setting) means as many as
        scikit-learn would use for OpenMP: the usable cores, limited by
        ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``; a negative
        value ``-k`` means all cores but ``k - 1``. To restore None after setting
        a number, use :func:`config_context` instead.

    See Also
    --------
    config_context : Change the configuration within a ``with`` block.
    get_config : Retrieve the current configuration.

    Examples
    --------
    >>> import skpolicy
    >>> skpolicy.set_config(engine="numpy")
    >>> skpolicy.get_config()["engine"]
    'numpy'
    >>> skpolicy.set_config(engine="auto")
    """
    config = _get_threadlocal_config()
    if engine is not None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        config["engine"] = engine
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, int):
            raise TypeError(f"n_threads must be an int, got {n_threads!r}")
        if n_threads == 0:
            raise ValueError("n_threads=0 is invalid: use a positive or -1")
        config["n_threads"] = n_threads


@contextmanager
def config_context(*, engine=None, n_threads=None):
    """Context manager to change skpolicy's configuration temporarily.

    Parameters
    ----------
    engine : {"auto", "numpy", "numba"}, default=None
        See :func:`set_config`.
    n_threads : int, default=None
        See :func:`set_config`.

    Yields
    ------
    None.

    See Also
    --------
    set_config : Set the configuration.
    get_config : Retrieve the current configuration.

    Examples
    --------
    >>> import numpy as np
    >>> import skpolicy
    >>> from skpolicy.datasets import make_choice_data
    >>> X, y = make_choice_data(200, 4, 2, random_state=0)
    >>> with skpolicy.config_context(engine="numpy"):
    ...     est = skpolicy.SoftmaxChoiceEstimator().fit(X, y)
    """
    old = get_config()
    set_config(engine=engine, n_threads=n_threads)
    try:
        yield
    finally:
        _get_threadlocal_config().clear()
        _get_threadlocal_config().update(old)
