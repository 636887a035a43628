"""SoftmaxPolicy against scikit-learn's LogisticRegression on the same data.

States x J actions x P state features (multinomial logistic regression with an
intercept per action), fitted in one process, interleaved: skpolicy on each
engine (after a warm-up fit, so numba's compilation is not counted; see
``cold_start.py`` for first fits) and ``LogisticRegression(solver="lbfgs", no
penalty, tol=1e-8)``. Both must reach the same log-likelihood (1e-7 relative).
Peak memory is the largest numpy allocation total during the fit (tracemalloc),
as a multiple of the state matrix. Run by hand, never in the test suite:

    python benchmarks/bench_policy_vs_sklearn.py --n 100000,1000000 --repeat 3
"""

import argparse
import os
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression

import skpolicy
from skpolicy import SoftmaxPolicy


def logged(n, J, P, seed=0):
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n, P))
    gamma = rng.normal(size=(P, J)) / np.sqrt(P)
    a = (S @ gamma + rng.gumbel(size=(n, J))).argmax(axis=1)
    return S, a


def sklearn_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:  # scikit-learn >= 1.8 spells "no penalty" C=inf
            return LogisticRegression(C=np.inf, tol=1e-8, max_iter=10_000)
        except TypeError:  # pragma: no cover
            return LogisticRegression(penalty=None, tol=1e-8, max_iter=10_000)


def fit_time(make, S, a, repeat):
    best, model = np.inf, None
    for _ in range(repeat):
        est = make()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(S, a)
        best = min(best, time.perf_counter() - start)
        model = est
    return best, model


def peak_memory(make, S, a):
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make().fit(S, a)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def log_likelihood(model, S, a):
    proba = model.predict_proba(S)
    return float(np.log(proba[np.arange(len(a)), a]).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="100000,1000000")
    parser.add_argument("--actions", type=int, default=10)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    J, P = args.actions, args.features
    print(f"{J} actions x {P} state features (+ intercept); load {os.getloadavg()}")
    print(
        f"{'states':>9} {'contestant':<26} {'fit s':>8} {'/ sklearn':>9} "
        f"{'iter':>5} {'peak/S':>7} {'log-likelihood':>18}"
    )
    for n in (int(v) for v in args.n.split(",")):
        S, a = logged(n, J, P)
        contestants = {
            "sklearn LogisticRegression": sklearn_model,
        }
        for engine in ("numpy", "numba"):
            contestants[f"SoftmaxPolicy ({engine})"] = lambda engine=engine: (
                _Configured(engine)
            )
        results = {}
        for name, make in contestants.items():
            make().fit(S[: min(n, 20_000)], a[: min(n, 20_000)])  # warm-up
            seconds, model = fit_time(make, S, a, args.repeat)
            peak = peak_memory(make, S, a) / S.nbytes
            n_iter = int(np.max(getattr(model, "n_iter_", -1)))
            results[name] = (seconds, n_iter, peak, log_likelihood(model, S, a))
        base_time, _, _, base_ll = results["sklearn LogisticRegression"]
        for name, (seconds, n_iter, peak, ll) in results.items():
            assert abs(ll - base_ll) <= 1e-7 * abs(base_ll), (name, ll, base_ll)
            print(
                f"{n:>9} {name:<26} {seconds:>8.3f} {seconds / base_time:>9.2f} "
                f"{n_iter:>5} {peak:>7.2f} {ll:>18.6f}"
            )
    print(f"load after: {os.getloadavg()}")


class _Configured:
    """SoftmaxPolicy fitted under one engine."""

    def __init__(self, engine):
        self.engine = engine
        self.policy = SoftmaxPolicy()

    def fit(self, S, a):
        with skpolicy.config_context(engine=self.engine):
            self.policy.fit(S, a)
        self.n_iter_ = self.policy.n_iter_
        return self

    def predict_proba(self, S):
        return self.policy.predict_proba(S)


if __name__ == "__main__":
    main()
