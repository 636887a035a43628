"""Time every solver of SoftmaxChoiceEstimator on one simulated problem.

Reports fit time, iterations, passes over the data and the peak memory allocated
during the fit (tracemalloc: numpy registers its allocations there), for the dense
and the long format. Run by hand, never in the test suite:

    python benchmarks/bench_solvers.py                 # 100,000 x 10 x 10
    python benchmarks/bench_solvers.py --n 10000 --repeat 3
"""

import argparse
import time
import tracemalloc

from skpolicy import SoftmaxChoiceEstimator
from skpolicy._solvers import SOLVERS
from skpolicy.datasets import make_choice_data


def measure(X, y, solver, repeat):
    """Best-of-repeat fit time; then one more fit under tracemalloc for memory.

    tracemalloc slows allocations down, so time and memory come from separate fits.
    """
    times = []
    for _ in range(repeat):
        est = SoftmaxChoiceEstimator(solver=solver, tol=1e-6)
        start = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    SoftmaxChoiceEstimator(solver=solver, tol=1e-6).fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), est, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="situations")
    parser.add_argument("--alternatives", type=int, default=10)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="best of REPEAT fits")
    args = parser.parse_args()
    shape = (args.n, args.alternatives, args.features)
    dense = make_choice_data(*shape, random_state=0)
    long = make_choice_data(*shape, format="long", random_state=0)
    feature_mb = dense[0].nbytes / 2**20
    print(
        f"{args.n} situations x {args.alternatives} alternatives x {args.features} "
        f"features; float64 feature array {feature_mb:.0f} MiB"
    )
    print(
        f"{'format':6} {'solver':16} {'fit s':>7} {'iter':>5} {'peak MiB':>9} "
        f"{'peak/features':>13} {'log-likelihood':>16}"
    )
    for name, (X, y) in (("dense", dense), ("long", long)):
        for solver in SOLVERS:
            seconds, est, peak = measure(X, y, solver, args.repeat)
            print(
                f"{name:6} {solver:16} {seconds:7.3f} {est.n_iter_:5d} "
                f"{peak / 2**20:9.1f} {peak / 2**20 / feature_mb:13.2f} "
                f"{est.log_likelihood_:16.6f}"
            )


if __name__ == "__main__":
    main()
