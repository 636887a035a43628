"""What float32 features cost in accuracy and gain in time.

Fits the same simulated dense problem from float64 features and from the same
features stored as float32, and reports the fit times and the largest relative
difference of the coefficients, both against the float64 fit of the original data
and against the float64 fit of the float32-rounded data (which isolates the
arithmetic from the rounding of the input). Run by hand:

    python benchmarks/float32_accuracy.py                 # 10^5 and 10^6 x 10 x 10
    python benchmarks/float32_accuracy.py --n 1e5 --engine numpy
"""

import argparse
import time

import numpy as np

import skpolicy
from skpolicy import SoftmaxChoiceEstimator
from skpolicy.datasets import make_choice_data


def best_fit(X, y, repeat):
    """Best-of-repeat fit time and the last fitted estimator."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        est = SoftmaxChoiceEstimator().fit(X, y)
        best = min(best, time.perf_counter() - start)
    return est, best


def max_rel_diff(a, b):
    return float(np.max(np.abs(a - b) / np.abs(b)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1e5,1e6", help="comma list of situations")
    parser.add_argument("--alternatives", type=int, default=10)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with skpolicy.config_context(engine=args.engine):
        for n in (int(float(v)) for v in args.n.split(",")):
            X, y = make_choice_data(n, args.alternatives, args.features, random_state=0)
            X32 = X.astype(np.float32)
            SoftmaxChoiceEstimator().fit(X[:2000], y[:2000])  # load/compile kernels
            SoftmaxChoiceEstimator().fit(X32[:2000], y[:2000])
            est64, t64 = best_fit(X, y, args.repeat)
            est32, t32 = best_fit(X32, y, args.repeat)
            rounded = SoftmaxChoiceEstimator().fit(X32.astype(np.float64), y)
            print(
                f"n = {n}: fit float64 {t64:.3f} s, float32 {t32:.3f} s "
                f"(x{t64 / t32:.2f}); max relative coefficient difference of the "
                f"float32 fit: {max_rel_diff(est32.coef_, est64.coef_):.1e} vs the "
                f"float64 data, {max_rel_diff(est32.coef_, rounded.coef_):.1e} vs "
                "the float64 fit of the same rounded data"
            )


if __name__ == "__main__":
    main()
