"""
A bandit's behaviour policy and its score vectors
=================================================

A contextual bandit logged 4000 rounds: in each round it saw a state (three
features), played one of four actions with a softmax policy, and observed a 0/1
reward. This example

1. fits the behaviour policy to the log with :class:`~skpolicy.SoftmaxPolicy`
   and compares it with the policy that generated the data,
2. checks the calibration of the fitted propensities,
3. computes the per-round score vectors :math:`\\nabla_\\theta \\log\\pi_\\theta(a|s)`
   and the REINFORCE estimate of the policy gradient they give,
4. takes one gradient step and estimates the new policy's value from the log by
   inverse propensity scoring, beside its true value (known here, since the
   rewards are simulated).

Run: ``python examples/policies/plot_bandit_policy.py``.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skpolicy import SoftmaxPolicy

# %%
# A simulated log
# ---------------
# The logging policy is a softmax in the state features with one weight vector
# and intercept per action (action 0's fixed at zero). The reward probability
# depends on the state and the action, and the logging policy is far from the
# best one.
rng = np.random.default_rng(0)
n, n_features, n_actions = 4000, 3, 4
S = rng.normal(size=(n, n_features))
true_coef = np.array(
    [[0.0, 0.0, 0.0], [1.0, -0.5, 0.0], [-0.5, 1.0, 0.5], [0.0, 0.5, -1.0]]
)
true_intercept = np.array([0.0, 0.3, -0.2, 0.1])


def softmax_policy(S, coef, intercept):
    """Action probabilities pi(a|s) of a linear softmax policy, (n, n_actions)."""
    logits = S @ coef.T + intercept
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


behaviour_proba = softmax_policy(S, true_coef, true_intercept)
a = (np.log(behaviour_proba) + rng.gumbel(size=behaviour_proba.shape)).argmax(axis=1)
reward_weights = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, 0]])
reward_proba = 1 / (1 + np.exp(-S @ reward_weights.T))  # P(r = 1 | s, a), (n, 4)
reward = rng.binomial(1, reward_proba[np.arange(n), a]).astype(float)
print(f"{n} rounds; mean reward of the logging policy {reward.mean():.3f}")
print("actions played:", np.bincount(a, minlength=n_actions))

# %%
# The behaviour policy
# --------------------
# ``SoftmaxPolicy`` takes the states as a plain 2-D array and the actions as
# class labels. Unpenalised, it is the maximum-likelihood estimate of the
# logging policy.
policy = SoftmaxPolicy(alpha=0.0, fit_intercept=True).fit(S, a)
estimated = pd.DataFrame(
    np.column_stack([policy.coef_, policy.intercept_]),
    index=pd.Index(policy.classes_, name="action"),
    columns=["s0", "s1", "s2", "intercept"],
)
truth = pd.DataFrame(
    np.column_stack([true_coef, true_intercept]),
    index=estimated.index,
    columns=estimated.columns,
)
print("estimated (true):")
print((estimated.round(2).astype(str) + " (" + truth.astype(str) + ")").to_string())

# %%
# Propensities
# ------------
# The fitted probability of each logged action is its propensity, the
# denominator of importance weights. Binned, the predicted probabilities of all
# (state, action) pairs should match how often the actions were played.
proba = policy.predict_proba(S)
propensity = proba[np.arange(n), a]
played = np.zeros_like(proba)
played[np.arange(n), a] = 1.0
bins = np.linspace(0, 1, 11)
which = np.clip(np.digitize(proba.ravel(), bins) - 1, 0, len(bins) - 2)
calibration = pd.DataFrame({"predicted": proba.ravel(), "played": played.ravel()})
calibration = calibration.groupby(which).agg(["mean", "size"])
print(calibration.round(3).to_string())

# %%
# Score vectors and the policy gradient
# -------------------------------------
# ``score_vectors`` gives one :math:`\nabla_\theta\log\pi_\theta(a_i|s_i)` per
# round, :math:`\phi(s,a) - E_\pi[\phi(s,\cdot)]` for the policy's parameters
# (every non-reference action's weights and intercept). At the
# maximum-likelihood estimate they average to zero. Weighted by the rewards
# minus a baseline, their mean is the REINFORCE estimate of the gradient of the
# policy's value, :math:`E[(r - b)\nabla_\theta\log\pi_\theta(a|s)]`.
scores = policy.score_vectors(S, a)
names = policy.covariance_matrix().index
largest = abs(scores.mean(axis=0)).max()
print(f"score vectors: {scores.shape}; largest |mean| {largest:.1e}")
advantage = reward - reward.mean()
gradient = pd.Series(policy.policy_gradient(S, a, advantage), index=names)
print("REINFORCE gradient estimate:")
print(gradient.round(3).to_string())

# %%
# One gradient step
# -----------------
# Move the parameters along the estimated gradient and estimate the new
# policy's value from the same log by inverse propensity scoring,
# :math:`\frac1n\sum_i \frac{\pi_{new}(a_i|s_i)}{\hat\pi_b(a_i|s_i)} r_i`, with
# the fitted propensities (``skpolicy.ope`` has this estimator and others, with
# standard errors). The simulation knows the true values.
step = 10.0
new_coef, new_intercept = policy.coef_.copy(), policy.intercept_.copy()
for name, g in gradient.items():
    feature, action = name[:-1].split("[")
    row = list(policy.classes_).index(int(action))
    if feature == "intercept":
        new_intercept[row] += step * g
    else:
        new_coef[row, int(feature[1:])] += step * g
new_proba = softmax_policy(S, new_coef, new_intercept)
weights = new_proba[np.arange(n), a] / propensity
ips = np.mean(weights * reward)
true_old = np.sum(behaviour_proba * reward_proba, axis=1).mean()
true_new = np.sum(new_proba * reward_proba, axis=1).mean()
print(f"value of the logging policy: true {true_old:.3f}, observed {reward.mean():.3f}")
print(f"value after one step:        true {true_new:.3f}, IPS estimate {ips:.3f}")

# %%
# The figure: calibration of the propensities (left) and the score vectors of
# two parameters, one point per round, coloured by the logged action (right).
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.plot([0, 1], [0, 1], color="grey", lw=0.8)
left.plot(calibration[("predicted", "mean")], calibration[("played", "mean")], "o-")
left.set(
    xlabel="predicted probability",
    ylabel="share of rounds the action was played",
    title="Calibration of the fitted policy",
)
i, j = list(names).index("intercept[1]"), list(names).index("intercept[2]")
for action in policy.classes_:
    mask = a == action
    right.scatter(
        scores[mask, i], scores[mask, j], s=4, alpha=0.4, label=f"a = {action}"
    )
right.set(
    xlabel=f"score, {names[i]}",
    ylabel=f"score, {names[j]}",
    title="Score vectors (two components)",
)
right.legend(markerscale=3)
fig.tight_layout()
