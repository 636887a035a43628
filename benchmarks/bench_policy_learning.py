"""Time off-policy learning: analytic gradients vs numerical ones vs obp's IPWLearner.

Simulates a logged bandit with a known optimum (action 0 pays 0.5 in every state,
the others ``sigmoid(2 (x @ W_a + b_a))``; a softmax behaviour policy that ignores
the rewards, mixed with 10% uniform) and learns a policy from the logs with

- ``OffPolicyLearner`` (SNIPS, analytic gradient, L-BFGS-B);
- the same objective (the learner's own, same standardised coefficients, same
  start and tolerance) through ``scipy.optimize.minimize(method="L-BFGS-B",
  jac=None)``: two-point numerical gradients, ``n_params + 1`` objective
  evaluations per gradient;
- the reward-weighted classification of obp's ``IPWLearner`` (scikit-learn's
  ``LogisticRegression`` fitted to the logged actions with ``sample_weight = r /
  p``, greedy policy), here re-stated in a few lines;
- obp's ``IPWLearner`` itself when ``obp`` can be imported (timed last: obp
  imports torch, whose thread pools slow what runs after it). obp 0.5.7 declares
  Python < 3.11; the table in the closing note of issue 10 was measured in a
  Python 3.11 virtual environment with the CPU build of torch, ``pip install
  --no-deps --ignore-requires-python obp==0.5.7`` and the same numpy, scipy,
  pandas and scikit-learn as skpolicy's, with ``PYTHONPATH`` set to this
  repository.

Each row reports the best time of ``--repeat`` fits, iterations, objective
evaluations and the true value of the learned policy (known: the simulation has
the expected rewards) next to the behaviour policy's and the optimum. Run by hand,
never in the test suite:

    python benchmarks/bench_policy_learning.py                 # n = 10^4, 10^5
    python benchmarks/bench_policy_learning.py --sizes 1000,10000 --actions 5
    python benchmarks/bench_policy_learning.py --skip-numerical  # large n
"""

import argparse
import time
import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from skpolicy._engines import blas_controller
from skpolicy.policy_learning import OffPolicyLearner, _reward_scale
from skpolicy.sampling import sample_actions, softmax_probabilities


def make_problem(d, J, seed):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(d, J)),
        0.5 * rng.normal(size=J),
        0.5 * rng.normal(size=(d, J)),
    )


def simulate(problem, n, seed):
    W, b, B = problem
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, W.shape[0]))
    q = 1 / (1 + np.exp(-2 * (X @ W + b)))
    q[:, 0] = 0.5
    behaviour = softmax_probabilities(X @ B, epsilon=0.1)
    action, pscore = sample_actions(X @ B, epsilon=0.1, random_state=seed)
    reward = rng.binomial(1, q[np.arange(n), action]).astype(float)
    return X, action, reward, pscore, q, behaviour


def true_value(proba, q):
    return float(np.mean(np.sum(proba * q, axis=1)))


def best_time(func, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return best, out


def numerical_gradient_fit(learner, X, action, reward, pscore, max_iter):
    """The learner's objective through L-BFGS-B with ``jac=None``."""
    loss, codes, r, p, q, rho = learner._logged_block(
        X, action, reward, pscore, None, None, None, None
    )
    evaluate = learner._objective(loss, codes, r, p, q, rho, _reward_scale(r, rho))
    s = learner._feature_scale(loss, rho)
    n_calls = [0]

    def fun(b):
        n_calls[0] += 1
        return evaluate(b / s, gradient=False)[0]

    with blas_controller().limit(limits=1, user_api="blas"):
        result = minimize(
            fun,
            np.zeros(loss.n_params),
            method="L-BFGS-B",
            options={
                "maxiter": max_iter,
                "maxfun": 100 * max_iter * loss.n_params,
                "gtol": learner.tol,
                "ftol": 64 * np.finfo(float).eps,
                "maxls": 50,
            },
        )
    theta = result.x / s
    learner._set_coef(theta)
    return result, n_calls[0], evaluate(theta)[0]


def run_size(n, problem, args, X_test, q_test):
    """The table rows of one data size."""
    J = args.actions
    greedy = np.eye(J)
    X, action, reward, pscore, _, _ = simulate(problem, n, args.seed + 2)
    rows = []
    learner = OffPolicyLearner(alpha=args.alpha, max_iter=args.max_iter)
    seconds, fitted = best_time(
        lambda: learner.fit(X, action, reward, pscore), args.repeat
    )
    rows.append(
        (
            "OffPolicyLearner (analytic)",
            seconds,
            fitted.n_iter_,
            "",
            f"{fitted.objective_:.6f}",
            true_value(fitted.predict_proba(X_test), q_test),
        )
    )
    rows.append(
        (
            "  same, greedy (predict)",
            np.nan,
            "",
            "",
            "",
            true_value(greedy[fitted.predict(X_test)], q_test),
        )
    )
    if not args.skip_numerical:
        numeric = OffPolicyLearner(alpha=args.alpha, max_iter=args.max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds, (result, n_calls, f) = best_time(
                lambda: numerical_gradient_fit(
                    numeric, X, action, reward, pscore, args.max_iter
                ),
                1,
            )
        rows.append(
            (
                "L-BFGS-B, numerical gradient",
                seconds,
                result.nit,
                n_calls,
                f"{f:.6f}",
                true_value(numeric.predict_proba(X_test), q_test),
            )
        )
    clf = LogisticRegression(max_iter=1000)
    seconds, clf = best_time(
        lambda: clf.fit(X, action, sample_weight=reward / pscore), args.repeat
    )
    rows.append(
        (
            "reward-weighted LogisticRegression",
            seconds,
            int(np.max(clf.n_iter_)),
            "",
            "",
            true_value(greedy[clf.predict(X_test)], q_test),
        )
    )
    return rows


def run_obp(IPWLearner, n, problem, args, X_test, q_test):
    """The row of obp's IPWLearner (a LogisticRegression base classifier)."""
    X, action, reward, pscore, _, _ = simulate(problem, n, args.seed + 2)
    ipw = IPWLearner(
        n_actions=args.actions, base_classifier=LogisticRegression(max_iter=1000)
    )
    # obp's fit returns None, not self
    seconds, _ = best_time(lambda: ipw.fit(X, action, reward, pscore), args.repeat)
    value = true_value(ipw.predict(X_test)[:, :, 0], q_test)
    return ("obp IPWLearner", seconds, "", "", "", value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="logged rounds")
    parser.add_argument("--features", type=int, default=10, help="state features")
    parser.add_argument("--actions", type=int, default=10, help="number of actions")
    parser.add_argument("--alpha", type=float, default=1e-3)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many fits")
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--skip-numerical", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    d, J = args.features, args.actions
    problem = make_problem(d, J, args.seed)
    X_test, _, _, _, q_test, behaviour_test = simulate(problem, 100_000, args.seed + 1)
    print(
        f"d = {d} state features (+ intercept), J = {J} actions: "
        f"{(J - 1) * (d + 1)} parameters; alpha = {args.alpha}"
    )
    print(
        f"true values: behaviour {true_value(behaviour_test, q_test):.4f}, "
        f"optimum {np.mean(q_test.max(axis=1)):.4f} (on 10^5 fresh states)\n"
    )
    header = (
        f"{'n':>8}  {'method':<35}{'seconds':>9}{'iter':>6}{'evals':>8}"
        f"{'objective':>12}{'true value':>12}"
    )
    print(header)
    print("-" * len(header))
    sizes = [int(v) for v in args.sizes.split(",")]
    results = {n: run_size(n, problem, args, X_test, q_test) for n in sizes}
    # obp imports torch, whose thread pools slow everything timed after the import
    # (skpolicy's fits 3 times at n = 10^5): obp runs last.
    try:
        from obp.policy import IPWLearner
    except Exception as exc:  # obp needs torch and Python < 3.11
        IPWLearner = None
        obp_reason = f"{type(exc).__name__}: {exc}"
    else:
        for n in sizes:
            results[n].append(run_obp(IPWLearner, n, problem, args, X_test, q_test))
    for n in sizes:
        for name, seconds, it, ev, obj, value in results[n]:
            t = "" if np.isnan(seconds) else f"{seconds:.3f}"
            print(f"{n:>8}  {name:<35}{t:>9}{it!s:>6}{ev!s:>8}{obj:>12}{value:>12.4f}")
    if IPWLearner is None:
        print(f"\nobp's IPWLearner not run ({obp_reason})")


if __name__ == "__main__":
    main()
