"""Peak memory of a fit, as a multiple of the feature array (Linux).

Simulates dense conditional-logit data chunk by chunk (so that generating it needs
little beyond the array itself), resets the process's resident-memory high-water
mark (``VmHWM``), fits with the defaults and reports the peak resident memory the
fit added, its ratio to the size of the feature array, and the fit time. The target
is at most 2x the float64 feature array; 10^7 situations x 10 x 10 (8 GB) must fit
on a 24 GB machine. Run by hand:

    python benchmarks/profile_memory.py --n 1e6
    python benchmarks/profile_memory.py --n 1e7          # needs ~10 GB of RAM
    python benchmarks/profile_memory.py --n 1e6 --dtype float32 --unavailable 0.3
"""

import argparse
import time

import numpy as np

import skpolicy
from skpolicy import SoftmaxChoiceEstimator


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak():
    """Set VmHWM to the current resident size (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def simulate(n, J, K, unavailable, dtype, chunk=200_000, seed=0):
    rng = np.random.default_rng(seed)
    coef = np.linspace(-1.0, 1.0, K)
    X = np.empty((n, J, K), dtype=dtype)
    y = np.empty(n, dtype=np.int64)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        x = rng.standard_normal((hi - lo, J, K))
        utility = x @ coef + rng.gumbel(size=(hi - lo, J))
        if unavailable > 0:
            closed = rng.random((hi - lo, J)) < unavailable
            closed[:, :2] = False  # at least two alternatives
            utility[closed] = -np.inf
            x[closed] = np.nan
        y[lo:hi] = utility.argmax(axis=1)
        X[lo:hi] = x
    return X, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e6, help="situations")
    parser.add_argument("--alternatives", type=int, default=10)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--unavailable", type=float, default=0.0)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    n, J, K = int(args.n), args.alternatives, args.features
    start = time.perf_counter()
    X, y = simulate(n, J, K, args.unavailable, np.dtype(args.dtype))
    float64_bytes = n * J * K * 8
    print(
        f"{n} x {J} x {K} {args.dtype}: {X.nbytes / 2**30:.2f} GiB "
        f"(float64 array {float64_bytes / 2**30:.2f} GiB), simulated in "
        f"{time.perf_counter() - start:.0f} s; resident "
        f"{status_kib('VmRSS') / 2**20:.2f} GiB"
    )
    with skpolicy.config_context(engine=args.engine):
        for _ in range(args.repeat):
            reset_peak()
            before = status_kib("VmRSS") * 1024
            start = time.perf_counter()
            est = SoftmaxChoiceEstimator().fit(X, y)
            seconds = time.perf_counter() - start
            added = status_kib("VmHWM") * 1024 - before
            print(
                f"fit {seconds:.2f} s, {est.n_iter_} iterations, converged "
                f"{est.converged_}; peak added {added / 2**30:.2f} GiB = "
                f"{added / float64_bytes:.2f} x the float64 features "
                f"({added / X.nbytes:.2f} x X); process peak "
                f"{status_kib('VmHWM') / 2**20:.2f} GiB"
            )


if __name__ == "__main__":
    main()
