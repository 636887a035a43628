"""Where the time of a fit goes.

Splits ``SoftmaxChoiceEstimator().fit`` on simulated dense data into its phases by
timing the functions it calls (validation and conversion into the canonical block,
the constant-feature check, the loss set-up, the kernel passes, the solver's own
work, the identification check), then splits one kernel pass into reading the
features, the loss and gradient work, and the Hessian work. Run by hand:

    python benchmarks/profile_fit.py                    # 10^5 x 10 x 10, both engines
    python benchmarks/profile_fit.py --n 1e6 --engines numba

For a profile inside the compiled kernel, sample it with Linux perf:
``NUMBA_ENABLE_PROFILING=1 perf record -F 4000 python benchmarks/profile_fit.py``.
"""

import argparse
import os
import sys
import time
from collections import defaultdict
from functools import partial

import numpy as np

import skpolicy
from skpolicy import SoftmaxChoiceEstimator
from skpolicy import _estimator as estimator_module
from skpolicy._data import dense_block
from skpolicy._linear_loss import LinearChoiceLoss
from skpolicy.datasets import make_choice_data

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bandwidth_floor import best_time, threaded_read  # noqa: E402


class PhaseTimer:
    """Patch functions so that their time accumulates under a phase name."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)
        self._patched = []

    def wrap(self, owner, name, phase):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - start
                self.calls[phase] += 1

        setattr(owner, name, timed)
        self._patched.append((owner, name, original))

    def restore(self):
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)


def profile_fit(X, y):
    timer = PhaseTimer()
    timer.wrap(SoftmaxChoiceEstimator, "_choice_data", "validate + canonical block")
    timer.wrap(estimator_module, "varying_features", "constant-feature check")
    timer.wrap(LinearChoiceLoss, "__init__", "loss set-up (weights, engine)")
    timer.wrap(LinearChoiceLoss, "sums", "kernel passes")
    timer.wrap(estimator_module, "solve", "solver total")
    timer.wrap(estimator_module, "check_identification", "identification check")
    try:
        start = time.perf_counter()
        SoftmaxChoiceEstimator().fit(X, y)
        total = time.perf_counter() - start
    finally:
        timer.restore()
    seconds = dict(timer.seconds)
    seconds["solver own work"] = seconds.pop("solver total") - seconds["kernel passes"]
    seconds["rest of fit"] = total - sum(seconds.values())
    return total, seconds, timer.calls["kernel passes"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e5, help="situations")
    parser.add_argument("--alternatives", type=int, default=10)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--unavailable", type=float, default=0.0)
    parser.add_argument("--engines", default="numba,numpy")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = int(args.n)
    X, y = make_choice_data(
        n,
        args.alternatives,
        args.features,
        unavailable=args.unavailable,
        random_state=0,
    )
    data = dense_block(X, y)
    coef = np.linspace(-1.0, 1.0, args.features)
    n_threads = skpolicy._engines.effective_n_threads()
    read = min(
        best_time(threaded_read(X, n_threads), args.repeat),
        best_time(X.sum, args.repeat),
    )
    print(f"{n} x {args.alternatives} x {args.features}, {X.nbytes / 2**20:.0f} MiB")
    for engine in args.engines.split(","):
        with skpolicy.config_context(engine=engine):
            SoftmaxChoiceEstimator().fit(X, y)  # warm up (numba: load the kernel)
            runs = [profile_fit(X, y) for _ in range(args.repeat)]
            total, seconds, passes = min(runs, key=lambda run: run[0])
            loss = LinearChoiceLoss(data)
            grad_pass = best_time(partial(loss.sums, coef), args.repeat)
            hess_pass = best_time(partial(loss.sums, coef, True), args.repeat)
        print(f"\nengine={engine}: fit {total:.3f} s, {passes} passes")
        for phase, value in sorted(seconds.items(), key=lambda item: -item[1]):
            print(f"  {phase:30s} {value:8.3f} s  {100 * value / total:5.1f} %")
        print(
            f"  one pass with the Hessian {hess_pass * 1e3:.1f} ms = read "
            f"{read * 1e3:.1f} ms ({n_threads} threads) + loss/gradient "
            f"{(grad_pass - read) * 1e3:.1f} ms + Hessian "
            f"{(hess_pass - grad_pass) * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
