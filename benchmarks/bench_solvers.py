"""Time every solver of SoftmaxChoiceEstimator on one simulated problem.

Reports fit time, iterations, passes over the data and the peak memory allocated
during the fit (tracemalloc: numpy registers its allocations there), for the dense
and the long format, with each engine (see ``skpolicy.set_config``). Run by hand,
never in the test suite:

    python benchmarks/bench_solvers.py                 # 100,000 x 10 x 10
    python benchmarks/bench_solvers.py --n 10000 --repeat 3 --engine numba
    python benchmarks/bench_solvers.py --solvers newton-cholesky --dtype float32
"""

import argparse
import time
import tracemalloc

import numpy as np

import skpolicy
from skpolicy import SoftmaxChoiceEstimator
from skpolicy._linear_loss import LinearChoiceLoss
from skpolicy._solvers import SOLVERS
from skpolicy.datasets import make_choice_data


class PassCounter:
    """Count calls of ``LinearChoiceLoss.sums`` (one per pass over the data)."""

    def __enter__(self):
        self.n = 0
        self._sums = LinearChoiceLoss.sums
        counter = self

        def sums(loss, coef, hessian=False):
            counter.n += 1
            return counter._sums(loss, coef, hessian)

        LinearChoiceLoss.sums = sums
        return self

    def __exit__(self, *exc):
        LinearChoiceLoss.sums = self._sums


def measure(X, y, solver, repeat):
    """Best-of-repeat fit time; then one more fit under tracemalloc for memory.

    tracemalloc slows allocations down, so time and memory come from separate fits.
    """
    times = []
    for _ in range(repeat):
        est = SoftmaxChoiceEstimator(solver=solver)
        with PassCounter() as passes:
            start = time.perf_counter()
            est.fit(X, y)
            times.append(time.perf_counter() - start)
    tracemalloc.start()
    SoftmaxChoiceEstimator(solver=solver).fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), est, passes.n, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="situations")
    parser.add_argument("--alternatives", type=int, default=10)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="best of REPEAT fits")
    parser.add_argument(
        "--engine", default="all", help="numpy, numba, auto or all (default)"
    )
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--formats", default="dense,long")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()
    engines = ["numpy", "numba"] if args.engine == "all" else [args.engine]
    shape = (args.n, args.alternatives, args.features)
    data = {
        fmt: make_choice_data(
            *shape, format=fmt, dtype=np.dtype(args.dtype), random_state=0
        )
        for fmt in args.formats.split(",")
    }
    feature_mb = np.prod(shape) * 8 / 2**20
    print(
        f"{args.n} situations x {args.alternatives} alternatives x {args.features} "
        f"features ({args.dtype}); float64 feature array {feature_mb:.0f} MiB"
    )
    print(
        f"{'format':6} {'engine':6} {'solver':16} {'fit s':>7} {'iter':>5} "
        f"{'passes':>6} {'peak MiB':>9} {'peak/features':>13} {'log-likelihood':>16}"
    )
    for name, (X, y) in data.items():
        for engine in engines:
            for solver in args.solvers.split(","):
                with skpolicy.config_context(engine=engine):
                    seconds, est, passes, peak = measure(X, y, solver, args.repeat)
                print(
                    f"{name:6} {engine:6} {solver:16} {seconds:7.3f} {est.n_iter_:5d} "
                    f"{passes:6d} {peak / 2**20:9.1f} "
                    f"{peak / 2**20 / feature_mb:13.2f} {est.log_likelihood_:16.6f}"
                )
    print(
        "peak = largest allocation total during one fit (tracemalloc: numpy's "
        "arrays; the numba kernel's small per-thread buffers are not traced); "
        "resident memory: benchmarks/profile_memory.py"
    )


if __name__ == "__main__":
    main()
