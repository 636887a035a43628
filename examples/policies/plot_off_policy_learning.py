"""
Off-policy evaluation and learning from a bandit's logs
=======================================================

A contextual bandit logged 6000 rounds: in each it saw a state (four features),
played one of four actions with a softmax policy and observed a 0/1 reward. The
propensities were not recorded. This example

1. estimates the behaviour policy, and with it the propensities, with
   :class:`~skpolicy.SoftmaxPolicy`;
2. evaluates three candidate policies off-policy -- estimates with confidence
   intervals from :func:`skpolicy.ope.evaluate_policy`, and the importance-weight
   diagnostics that say how far the logs can be trusted for each;
3. learns a better policy with :class:`~skpolicy.policy_learning.OffPolicyLearner`,
   choosing its regularisation by the estimated value on held-out logs
   (``GridSearchCV``);
4. checks the learned policy off-policy on logs it never saw, beside a
   reward-weighted classifier (the reduction of obp's ``IPWLearner``).

The rewards are simulated, so every policy's true value is known and printed
last.

Run: ``python examples/policies/plot_off_policy_learning.py``.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold

from skpolicy import SoftmaxPolicy
from skpolicy.ope import (
    cross_fit_reward_model,
    evaluate_policy,
    importance_weight_diagnostics,
)
from skpolicy.policy_learning import OffPolicyLearner, feedback_target
from skpolicy.sampling import sample_actions, softmax_probabilities

# %%
# A simulated log
# ---------------
# Action 0 is safe: it pays with probability 0.5 in every state. Actions 1-3
# pay with probability ``sigmoid(2 (s @ w_a + b_a))``: much better than the
# safe action in some states, much worse in others. The logging policy is a
# softmax in the states that knows nothing of the rewards, mixed with 10%
# uniform exploration.
rng = np.random.default_rng(0)
n_features, n_actions = 4, 4
w = rng.normal(size=(n_features, n_actions))
b = 0.5 * rng.normal(size=n_actions)
logging_coef = 0.7 * rng.normal(size=(n_features, n_actions))


def expected_reward(S):
    """P(r = 1 | s, a) for every action, shape (n, n_actions)."""
    q = 1 / (1 + np.exp(-2 * (S @ w + b)))
    q[:, 0] = 0.5
    return q


def simulate(n, seed):
    generator = np.random.default_rng(seed)
    S = generator.normal(size=(n, n_features))
    action, _ = sample_actions(S @ logging_coef, epsilon=0.1, random_state=seed)
    q = expected_reward(S)
    reward = generator.binomial(1, q[np.arange(n), action]).astype(float)
    return S, action, reward


S, action, reward = simulate(6000, seed=1)
print(f"{len(S)} rounds; mean reward {reward.mean():.3f}")
print("actions played:", np.bincount(action, minlength=n_actions))

# %%
# The behaviour policy and the propensities
# -----------------------------------------
# The logs hold no propensities: a softmax policy fitted to the logged actions
# (maximum likelihood) estimates them. Its own logits are linear in the states,
# as the logging policy's are; the 10% exploration is absorbed as well as a
# softmax can.
behaviour = SoftmaxPolicy().fit(S, action)
pscore = behaviour.predict_proba(S)[np.arange(len(S)), action]
print(f"estimated propensities: min {pscore.min():.3f}, median {np.median(pscore):.3f}")

# %%
# Three candidate policies, evaluated off-policy
# ----------------------------------------------
# - *safe*: always action 0;
# - *uniform*: each action with probability 1/4;
# - *rule*: a hand-made rule, action 1 when the first feature is positive and
#   action 2 otherwise, with 10% exploration.
#
# ``evaluate_policy`` runs IPS, SNIPS, the direct method (DM) and the doubly
# robust estimators (DR, SNDR) on the logs at once; the reward model of DM and
# DR is a logistic regression cross-fitted on 5 folds. The diagnostics report
# the effective sample size of the importance weights: the number of logged
# rounds the estimate is effectively based on.
#
# DM is biased here: the joint logistic reward model is additive in the state
# and the action and misses their interaction. The doubly robust estimates
# correct it with the importance-weighted residuals and agree with IPS and
# SNIPS, with narrower intervals.
n = len(S)
candidates = {
    "safe": np.tile(np.eye(n_actions)[0], (n, 1)),
    "uniform": np.full((n, n_actions), 1 / n_actions),
    "rule": 0.9 * np.eye(n_actions)[np.where(S[:, 0] > 0, 1, 2)] + 0.1 / n_actions,
}
q_hat = cross_fit_reward_model(
    LogisticRegression(), S, action, reward, n_actions, cv=5, random_state=0
)
tables = {}
for name, proba in candidates.items():
    tables[name] = evaluate_policy(reward, action, pscore, proba, q_hat=q_hat)
    diagnostics = importance_weight_diagnostics(action, pscore, proba)
    print(
        f"{name}: effective sample size {diagnostics.ess:.0f} of {n}, "
        f"largest weight {diagnostics.max_weight:.1f}"
    )
print(pd.concat(tables, names=["policy"]).round(3).to_string())

# %%
# Learning a better policy
# ------------------------
# Half of the logs are kept aside to check the result. On the other half,
# :class:`~skpolicy.policy_learning.OffPolicyLearner` maximises the SNIPS
# estimate of a linear softmax policy's value, with an L2 penalty ``alpha`` and
# POEM's variance penalty (a lower confidence bound on the value). Both are
# chosen by ``GridSearchCV``: the logged feedback travels in ``y``
# (:func:`~skpolicy.policy_learning.feedback_target`), so that every held-out
# fold is scored by the learner's ``score``, the SNIPS estimate of the fitted
# policy's value on that fold.
train = np.arange(n) < n // 2
test = ~train
y_train = feedback_target(action[train], reward[train], pscore[train])
search = GridSearchCV(
    OffPolicyLearner(estimator="snips"),
    {"alpha": [1e-4, 1e-3, 1e-2], "variance_penalty": [0.0, 2.0]},
    cv=KFold(5, shuffle=True, random_state=0),
).fit(S[train], y_train)
learned = search.best_estimator_
print("chosen:", search.best_params_)
print(f"held-out SNIPS value of the best candidate: {search.best_score_:.3f}")
print(f"its estimated value on its own training logs: {learned.value_:.3f}")

# The reduction of obp's IPWLearner: a classifier of the logged actions with
# sample weights r / p, played greedily.
baseline = LogisticRegression().fit(
    S[train], action[train], sample_weight=reward[train] / pscore[train]
)

# %%
# Checking the learned policy off-policy
# --------------------------------------
# On the half of the logs that neither the learner nor the model selection saw
# (the reward model of DR cross-fitted on them too), the learned policy, its
# greedy version (``predict``) and the baseline are evaluated like the
# candidates above. All three are far from the logging policy: their effective
# sample sizes are about a tenth of the held-out rounds, and their intervals
# are wide. They clearly beat every candidate; they cannot be told apart from
# each other on 3000 rounds.
S_test = S[test]
q_hat_test = cross_fit_reward_model(
    LogisticRegression(),
    S_test,
    action[test],
    reward[test],
    n_actions,
    cv=5,
    random_state=0,
)
greedy = np.eye(n_actions)
checked = {
    "learned": learned.predict_proba(S_test),
    "learned, greedy": greedy[learned.predict(S_test)],
    "reward-weighted classifier": greedy[baseline.predict(S_test)],
}
held_out = {}
for name, proba in checked.items():
    held_out[name] = evaluate_policy(
        reward[test],
        action[test],
        pscore[test],
        proba,
        q_hat=q_hat_test,
        estimators=["snips", "dr"],
    )
    diagnostics = importance_weight_diagnostics(action[test], pscore[test], proba)
    print(f"{name}: effective sample size {diagnostics.ess:.0f} of {test.sum()}")
print(pd.concat(held_out, names=["policy"]).round(3).to_string())

# %%
# The truth
# ---------
# The simulation knows ``P(r = 1 | s, a)``: the true value of each policy is its
# mean over fresh states. The best policy plays the best action of every
# state.
S_new, _, _ = simulate(100_000, seed=2)
q_new = expected_reward(S_new)


def true_value(proba):
    return float(np.mean(np.sum(proba * q_new, axis=1)))


rule_new = 0.9 * np.eye(n_actions)[np.where(S_new[:, 0] > 0, 1, 2)] + 0.1 / n_actions
truth = pd.Series(
    {
        "behaviour": true_value(
            softmax_probabilities(S_new @ logging_coef, epsilon=0.1)
        ),
        "safe": 0.5,
        "uniform": true_value(np.full_like(q_new, 1 / n_actions)),
        "rule": true_value(rule_new),
        "reward-weighted classifier": true_value(greedy[baseline.predict(S_new)]),
        "learned": true_value(learned.predict_proba(S_new)),
        "learned, greedy": true_value(greedy[learned.predict(S_new)]),
        "best possible": float(np.mean(q_new.max(axis=1))),
    },
    name="true value",
)
print(truth.round(3).to_string())

# %%
# The figure: SNIPS estimates with their 95% intervals (the candidates on all
# the logs, the learned policies on the held-out half) beside the true values.
estimates = pd.concat(
    [
        pd.DataFrame({k: v.loc["snips"] for k, v in tables.items()}).T,
        pd.DataFrame({k: v.loc["snips"] for k, v in held_out.items()}).T,
    ]
)
fig, ax = plt.subplots(figsize=(8, 4))
positions = np.arange(len(estimates))
ax.errorbar(
    estimates["estimate"],
    positions,
    xerr=[
        estimates["estimate"] - estimates["ci_low"],
        estimates["ci_high"] - estimates["estimate"],
    ],
    fmt="o",
    capsize=3,
    label="SNIPS estimate, 95% CI",
)
ax.scatter(truth[estimates.index], positions, marker="x", color="k", label="true value")
ax.axvline(truth["behaviour"], color="grey", ls=":", label="behaviour policy")
ax.axvline(truth["best possible"], color="grey", ls="--", label="best possible")
ax.set_yticks(positions, estimates.index)
ax.set_xlabel("value (mean reward)")
ax.set_title("Off-policy estimates and true values")
ax.legend(loc="lower right", fontsize="small")
fig.tight_layout()
