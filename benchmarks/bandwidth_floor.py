"""How far a fit is from the memory-bandwidth floor.

The floor of a fit is the time to read the feature matrix once, multiplied by the
number of passes over it that the solver makes (every pass must stream all of the
features from memory at least once). This script measures, on simulated dense data:

- ``read``: one read of the float64 (or float32) feature matrix, by a trivial
  compiled sum on all threads (and numpy's single-threaded ``X.sum()``);
- one kernel pass (``LinearChoiceLoss.sums``) without and with the Hessian, for
  each engine;
- a full ``SoftmaxChoiceEstimator().fit`` (defaults: Newton with the exact Hessian
  from coef = 0, tol = 1e-8): time and passes;

and prints fit / floor and pass / read. Run by hand (numba is needed for the
threaded read and the numba engine):

    python benchmarks/bandwidth_floor.py                  # 10^5 and 10^6 x 10 x 10
    python benchmarks/bandwidth_floor.py --n 1e7 --engines numba --repeat 1
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

import skpolicy
from skpolicy import SoftmaxChoiceEstimator
from skpolicy._data import dense_block
from skpolicy._engines import effective_n_threads
from skpolicy._linear_loss import LinearChoiceLoss
from skpolicy.datasets import make_choice_data


def best_time(fun, repeat):
    fun()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fun()
        times.append(time.perf_counter() - start)
    return min(times)


def threaded_read(X, n_threads):
    """A function that reads every element of X once on ``n_threads`` threads."""
    from numba import njit

    @njit(nogil=True, fastmath=True)
    def row_sum(flat, start, stop):
        part = flat[start:stop]  # indices from 0: no wraparound code, vectorised
        total = 0.0
        for i in range(part.shape[0]):
            total += part[i]
        return total

    flat = X.reshape(-1)
    bounds = np.linspace(0, flat.shape[0], 4 * n_threads + 1).astype(np.int64)
    pool = ThreadPoolExecutor(n_threads)

    def read():
        parts = pool.map(
            lambda c: row_sum(flat, bounds[c], bounds[c + 1]), range(len(bounds) - 1)
        )
        return sum(parts)

    return read


def fit_once(X, y):
    """A fit with the defaults, as a user would run it."""
    return SoftmaxChoiceEstimator().fit(X, y)


def count_passes(fit):
    n = 0
    sums = LinearChoiceLoss.sums

    def counted(loss, coef, hessian=False):
        nonlocal n
        n += 1
        return sums(loss, coef, hessian)

    LinearChoiceLoss.sums = counted
    try:
        fit()
    finally:
        LinearChoiceLoss.sums = sums
    return n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1e5,1e6", help="situations, comma-separated")
    parser.add_argument("--alternatives", type=int, default=10)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--engines", default="numba,numpy")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n_threads = effective_n_threads()
    print(f"threads: {n_threads}; times are the best of {args.repeat}")
    for n in (int(float(v)) for v in args.n.split(",")):
        X, y = make_choice_data(
            n,
            args.alternatives,
            args.features,
            dtype=np.dtype(args.dtype),
            random_state=0,
        )
        data = dense_block(X, y)
        coef = np.linspace(-1.0, 1.0, args.features)
        read_numpy = best_time(X.sum, args.repeat)
        read = min(best_time(threaded_read(X, n_threads), args.repeat), read_numpy)
        print(
            f"\nn = {n}: {X.nbytes / 2**20:.0f} MiB of {args.dtype} features; one "
            f"read {read * 1e3:.1f} ms ({X.nbytes / read / 1e9:.1f} GB/s; the "
            f"faster of {n_threads} threads and numpy's X.sum(), "
            f"{read_numpy * 1e3:.1f} ms)"
        )
        print(
            f"{'engine':6} {'pass s':>8} {'+hess s':>8} {'hess/read':>9} "
            f"{'fit s':>7} {'passes':>6} {'floor s':>8} {'fit/floor':>9}"
        )
        for engine in args.engines.split(","):
            with skpolicy.config_context(engine=engine):
                loss = LinearChoiceLoss(data)
                grad_pass = best_time(partial(loss.sums, coef), args.repeat)
                hess_pass = best_time(partial(loss.sums, coef, True), args.repeat)
                fit = partial(fit_once, X, y)
                passes = count_passes(fit)
                fit_s = best_time(fit, args.repeat)
            floor = read * passes
            print(
                f"{engine:6} {grad_pass:8.4f} {hess_pass:8.4f} "
                f"{hess_pass / read:9.1f} {fit_s:7.3f} {passes:6d} {floor:8.3f} "
                f"{fit_s / floor:9.1f}"
            )


if __name__ == "__main__":
    main()
