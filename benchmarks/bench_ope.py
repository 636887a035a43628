"""Time every off-policy estimator of skpolicy.ope (and the samplers) on big logs.

Simulates n logged rounds with J actions (softmax behaviour and target policies over
random logits, Bernoulli rewards, random reward predictions), then times each
estimator with its normal-approximation standard error, evaluate_policy (all of them
on inputs validated once), the weight diagnostics, one bootstrap, the samplers of
skpolicy.sampling and a cross-fitted linear reward model. Best of ``--repeat`` runs.
Run by hand, never in the test suite:

    python benchmarks/bench_ope.py                      # 10^6 rounds x 10 actions
    python benchmarks/bench_ope.py --n 100000 --actions 50 --repeat 5
    python benchmarks/bench_ope.py --n-bootstrap 200    # bootstrap row (0 skips it)
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LinearRegression

from skpolicy import ope
from skpolicy.sampling import sample_actions, sample_rankings, softmax_probabilities


def best_time(func, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="logged rounds")
    parser.add_argument("--actions", type=int, default=10, help="number of actions")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument(
        "--n-bootstrap", type=int, default=100, help="bootstrap resamples (0: skip)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n, J, rep = args.n, args.actions, args.repeat

    rng = np.random.default_rng(args.seed)
    d = 5
    X = rng.normal(size=(n, d))
    logits_b = X @ rng.normal(size=(d, J)) * 0.5
    logits_e = X @ rng.normal(size=(d, J))
    t_sample, (action, pscore) = best_time(
        lambda: sample_actions(logits_b, random_state=1), rep
    )
    target = softmax_probabilities(logits_e, temperature=0.8, epsilon=0.05)
    q_true = 1 / (1 + np.exp(-(X @ rng.normal(size=(d, J)) * 0.3)))
    reward = (rng.random(n) < q_true[np.arange(n), action]).astype(float)
    q_hat = np.clip(q_true + rng.normal(scale=0.05, size=(n, J)), 0, 1)
    v_true = float(np.mean((target * q_true).sum(axis=1)))

    rows = []

    def add(name, func):
        seconds, res = best_time(func, rep)
        if isinstance(res, ope.OPEResult):
            rows.append((name, seconds, f"{res.estimate:.5f}", f"{res.std_error:.5f}"))
        else:
            rows.append((name, seconds, "", ""))

    common = (reward, action, pscore, target)
    add("ips", lambda: ope.inverse_propensity_score(*common))
    add(
        "ips(max_weight=10)",
        lambda: ope.inverse_propensity_score(*common, max_weight=10),
    )
    add("snips", lambda: ope.self_normalized_ips(*common))
    add("dm", lambda: ope.direct_method(target, q_hat))
    add("dr", lambda: ope.doubly_robust(*common, q_hat))
    add("dr(max_weight=10)", lambda: ope.doubly_robust(*common, q_hat, max_weight=10))
    add("sndr", lambda: ope.self_normalized_doubly_robust(*common, q_hat))
    add("switch-dr(threshold=5)", lambda: ope.switch_doubly_robust(*common, q_hat, 5))
    add(
        "evaluate_policy (all 6)",
        lambda: ope.evaluate_policy(*common, q_hat=q_hat, threshold=5),
    )
    add(
        "importance_weight_diagnostics",
        lambda: ope.importance_weight_diagnostics(action, pscore, target),
    )
    if args.n_bootstrap:
        add(
            f"snips, bootstrap B={args.n_bootstrap}",
            lambda: ope.self_normalized_ips(
                *common, ci="bootstrap", n_bootstrap=args.n_bootstrap, random_state=0
            ),
        )
    rows.append(("sample_actions (1 draw/state)", t_sample, "", ""))
    add(
        "softmax_probabilities (T, eps)",
        lambda: softmax_probabilities(logits_e, 0.8, 0.05),
    )
    add("sample_rankings (k=3)", lambda: sample_rankings(logits_e, 3, random_state=0))
    add(
        "cross_fit_reward_model (OLS, cv=5)",
        lambda: ope.cross_fit_reward_model(
            LinearRegression(), X, action, reward, J, cv=5, random_state=0
        ),
    )

    print(
        f"n = {n:,} logged rounds, {J} actions, best of {rep}; true value {v_true:.5f}"
    )
    print()
    print(f"| {'what':<36} | {'time (s)':>9} | {'estimate':>9} | {'std_error':>9} |")
    print(f"|{'-' * 38}|{'-' * 10}:|{'-' * 10}:|{'-' * 10}:|")
    for name, seconds, estimate, se in rows:
        print(f"| {name:<36} | {seconds:>9.3f} | {estimate:>9} | {se:>9} |")


if __name__ == "__main__":
    main()
