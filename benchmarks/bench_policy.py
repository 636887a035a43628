"""numba against numpy: kernel passes and fits, conditional logit and policy.

Times, for each engine (see ``skpolicy.set_config``), one gradient pass and one
Hessian pass of the loss (``LinearChoiceLoss.sums``) and a whole fit with the
default solver, after a warm-up (so a cold numba cache is not counted here; see
``cold_start.py`` for that). Each time is the best of ``--repeat``; the load
average before and after each row is printed, since the other engine's numbers
on a busy machine are not comparable. Run by hand, never in the test suite:

    # the engine crossover of the conditional logit (K alternative features)
    python benchmarks/bench_policy.py logit --n 20000 --features 10,30,64,99,200
    # the policy: P state features (+ intercept) x J actions
    python benchmarks/bench_policy.py policy --n 100000 --features 10 --actions 10
    python benchmarks/bench_policy.py policy --n 20000 --features 5,20,50 \\
        --actions 3,10,30
    # CPU time of one thread (what a pass costs; robust to other processes)
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_policy.py logit --threads 1 --cpu
"""

import argparse
import os
import time

import numpy as np

import skpolicy
from skpolicy import SoftmaxChoiceEstimator, SoftmaxPolicy
from skpolicy._data import dense_block
from skpolicy._linear_loss import LinearChoiceLoss
from skpolicy.datasets import make_choice_data


def policy_data(n, J, P, seed=0):
    """States (n, P), logged actions from a linear softmax policy."""
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n, P))
    coef = rng.normal(size=(P, J)) / np.sqrt(P)
    a = (S @ coef + rng.gumbel(size=(n, J))).argmax(axis=1)
    return S, a


def best(function, repeat, clock):
    """Best time of ``repeat`` calls by ``clock``, and the last result."""
    times = []
    for _ in range(repeat):
        start = clock()
        result = function()
        times.append(clock() - start)
    return min(times), result


def loss_of(model, X, y):
    """The fitted estimator's loss on (X, y), as ``fit`` builds it."""
    if model == "policy":
        est = SoftmaxPolicy(max_iter=0)
        data, zf = est._block(X, y, reset=True)
        return LinearChoiceLoss(data, situation_features=zf)
    return LinearChoiceLoss(dense_block(X, y))


def measure(model, X, y, engine, repeat, fit_repeat, clock):
    with skpolicy.config_context(engine=engine):
        loss = loss_of(model, X, y)
        assert loss.engine == engine, loss.engine
        coef = np.random.default_rng(1).normal(size=loss.n_params) * 0.05
        loss.sums(coef, hessian=True)  # warm-up (and numba's compile or load)
        grad, _ = best(lambda: loss.sums(coef), repeat, clock)
        hess, _ = best(lambda: loss.sums(coef, hessian=True), repeat, clock)
        estimator = SoftmaxPolicy() if model == "policy" else SoftmaxChoiceEstimator()
        fit, est = best(lambda: estimator.fit(X, y), fit_repeat, clock)
    return loss.n_params, grad, hess, fit, est


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=["logit", "policy"])
    parser.add_argument("--n", default="20000", help="situations (comma list)")
    parser.add_argument(
        "--features",
        default=None,
        help="K alternative features (logit) or P state features (policy), comma "
        "list; default 10,30,64,99,200 (logit) or 10 (policy)",
    )
    parser.add_argument(
        "--actions", default="10", help="alternatives / actions J (comma list)"
    )
    parser.add_argument("--repeat", type=int, default=7, help="best of REPEAT passes")
    parser.add_argument("--fit-repeat", type=int, default=3, help="best of fits")
    parser.add_argument("--threads", type=int, default=None, help="n_threads")
    parser.add_argument("--engines", default="numpy,numba")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time the main thread's CPU time (with --threads 1 and "
        "OPENBLAS_NUM_THREADS=1 every computation runs there): what a pass costs, "
        "much less sensitive to other processes than wall time",
    )
    args = parser.parse_args()
    if args.cpu and args.threads != 1:
        parser.error("--cpu needs --threads 1")
    clock = time.thread_time if args.cpu else time.perf_counter
    features = args.features or ("10,30,64,99,200" if args.model == "logit" else "10")
    engines = args.engines.split(",")
    print(
        f"{args.model}; {os.cpu_count()} CPUs, n_threads={args.threads}; "
        f"{'CPU' if args.cpu else 'wall'} times, the best of repeated runs; x = "
        "numpy time / numba time"
    )
    head = f"{'n':>8} {'J':>3} {'K/P':>4} {'params':>6} {'engine':6} "
    head += f"{'grad s':>8} {'hess s':>8} {'fit s':>7} {'iter':>4} {'load':>9}"
    print(head)
    with skpolicy.config_context(n_threads=args.threads):
        for n in map(int, args.n.split(",")):
            for J in map(int, args.actions.split(",")):
                for K in map(int, features.split(",")):
                    if args.model == "policy":
                        X, y = policy_data(n, J, K)
                    else:
                        X, y = make_choice_data(n, J, K, random_state=0)
                    rows = {}
                    for engine in engines:
                        before = os.getloadavg()[0]
                        p, g, h, f, est = measure(
                            args.model,
                            X,
                            y,
                            engine,
                            args.repeat,
                            args.fit_repeat,
                            clock,
                        )
                        after = os.getloadavg()[0]
                        rows[engine] = (g, h, f)
                        print(
                            f"{n:8d} {J:3d} {K:4d} {p:6d} {engine:6} {g:8.4f} "
                            f"{h:8.4f} {f:7.3f} {est.n_iter_:4d} "
                            f"{before:4.1f}-{after:4.1f}",
                            flush=True,
                        )
                    if {"numpy", "numba"} <= rows.keys():
                        ratio = np.divide(rows["numpy"], rows["numba"])
                        print(
                            f"{'':30} x {ratio[0]:7.2f} {ratio[1]:8.2f} {ratio[2]:7.2f}"
                        )


if __name__ == "__main__":
    main()
