"""Conditional-logit benchmark data with a known θ, cached as ``.npz`` outside the repo.

Standalone on purpose: it needs numpy only (>= 1.24), so every peer environment,
including the Python 3.9 one of pylogit, can read the files, and none needs skpolicy.

The model is the one every contestant fits: n situations, J alternatives, K generic
features, ``u_sa = x_sa @ theta``, ``P(a | s) = softmax over the available a``. Features
are i.i.d. standard normal; the chosen alternative maximises utility plus Gumbel noise
over the available alternatives, which is a draw from the softmax probabilities.

One file per (n, J, K, unavailable share, seed) holds::

    X      (n, J, K) float64, all-NaN rows for unavailable alternatives
    y      (n,) int64, index of the chosen alternative
    avail  (n, J) bool, availability mask
    theta  (K,) float64, the true coefficients

Ragged choice sets: each alternative is unavailable with probability ``unavailable``,
independently; a situation left with fewer than two is topped up with randomly chosen
alternatives until it has two.
"""

import os
import zipfile

import numpy as np

DEFAULT_ROOT = os.environ.get("BENCH_DATA", "/work/bench-data")


def true_theta(n_features):
    """The known coefficients: evenly spaced in [-1, 1] (none is zero for K even)."""
    return np.linspace(-1.0, 1.0, n_features)


def simulate(n, n_alternatives, n_features, unavailable=0.0, seed=0, chunk=250_000):
    """Draw one conditional-logit data set; returns a dict with X, y, avail, theta.

    Generated in chunks of ``chunk`` situations (each with its own child seed), so the
    peak memory is the output plus a small multiple of one chunk.
    """
    n, J, K = int(n), int(n_alternatives), int(n_features)
    if not 0 <= unavailable < 1:
        raise ValueError(f"unavailable must be in [0, 1), got {unavailable!r}")
    if J < 2:
        raise ValueError("need at least two alternatives")
    theta = true_theta(K)
    X = np.empty((n, J, K))
    y = np.empty(n, dtype=np.int64)
    avail = np.ones((n, J), dtype=bool)
    n_chunks = max(1, -(-n // chunk))
    seeds = np.random.SeedSequence(seed).spawn(n_chunks)
    for c, ss in enumerate(seeds):
        rng = np.random.default_rng(ss)
        lo, hi = c * chunk, min(n, (c + 1) * chunk)
        m = hi - lo
        x = rng.standard_normal((m, J, K))
        av = np.ones((m, J), dtype=bool)
        if unavailable > 0:
            av = rng.random((m, J)) >= unavailable
            # Top up to two available alternatives with random ones.
            for row in np.flatnonzero(av.sum(axis=1) < 2):
                closed = np.flatnonzero(~av[row])
                need = 2 - int(av[row].sum())
                av[row, rng.choice(closed, size=need, replace=False)] = True
        utility = x @ theta + rng.gumbel(size=(m, J))
        y[lo:hi] = np.where(av, utility, -np.inf).argmax(axis=1)
        x[~av] = np.nan
        X[lo:hi] = x
        avail[lo:hi] = av
    return {"X": X, "y": y, "avail": avail, "theta": theta}


def dataset_name(n, n_alternatives, n_features, unavailable, seed):
    """File name that identifies a data set, e.g. ``n100000_J10_K10_u0.30_s0.npz``."""
    return f"n{n}_J{n_alternatives}_K{n_features}_u{unavailable:.2f}_s{seed}.npz"


def ensure_dataset(n, n_alternatives, n_features, unavailable=0.0, seed=0, root=None):
    """Path of the cached data set, generating and saving it first if needed."""
    root = root or DEFAULT_ROOT
    os.makedirs(root, exist_ok=True)
    path = os.path.join(
        root, dataset_name(n, n_alternatives, n_features, unavailable, seed)
    )
    if not _readable(path):
        data = simulate(n, n_alternatives, n_features, unavailable, seed)
        tmp = path + f".tmp{os.getpid()}.npz"
        np.savez(tmp, **data)  # uncompressed: loads at disk/page-cache speed
        os.replace(tmp, path)
    return path


def _readable(path):
    if not os.path.exists(path):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return {"X.npy", "y.npy", "avail.npy", "theta.npy"} <= set(z.namelist())
    except zipfile.BadZipFile:
        return False


def load(path):
    """Read a cached data set into a dict of arrays (X, y, avail, theta)."""
    with np.load(path) as f:
        return {k: f[k] for k in ("X", "y", "avail", "theta")}


def loglik(theta, X, y, avail, chunk=100_000):
    """Log-likelihood (sum over situations) at ``theta``, in float64, by chunks.

    This single function is the yardstick: the runner re-evaluates every contestant's
    coefficients with it. Stable log-sum-exp over the available alternatives only.
    """
    theta = np.asarray(theta, dtype=np.float64)
    total = 0.0
    n = X.shape[0]
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        av = avail[lo:hi]
        u = np.where(av, np.nan_to_num(X[lo:hi], nan=0.0) @ theta, -np.inf)
        umax = u.max(axis=1)
        lse = umax + np.log(np.exp(u - umax[:, None]).sum(axis=1))
        total += float((u[np.arange(hi - lo), y[lo:hi]] - lse).sum())
    return total
