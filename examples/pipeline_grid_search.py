"""
Pipeline and GridSearchCV on long choice data
=============================================

A travel-mode-like data set in long format, one row per available (situation,
alternative), with a numeric attribute to scale, one to expand in splines and a
categorical one to one-hot encode. The situation id is in the DataFrame's index;
``set_output(transform="pandas")`` keeps that index through the transformers, so
the estimator, the splitter and the scorers all find the situations in X.

Run: ``python examples/pipeline_grid_search.py``.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from skpolicy import SituationKFold, SoftmaxChoiceEstimator
from skpolicy.metrics import hit_rate_scorer, log_likelihood_scorer, mcfadden_r2_scorer

# %%
# Simulated long data
# -------------------
# 1000 situations offer 3 to 5 alternatives each (ragged choice sets). Utility
# falls with the log of the price and linearly with travel time, and rises with
# comfort; the choice maximises utility plus Gumbel noise, which is a draw from
# the conditional logit.


def simulate(n_situations=1000, seed=0):
    """Long data: price, travel time and comfort of 3-5 alternatives per situation."""
    rng = np.random.default_rng(seed)
    n_alt = rng.integers(3, 6, size=n_situations)  # ragged choice sets
    situation = np.repeat(np.arange(n_situations), n_alt)
    alternative = np.concatenate([np.arange(k) for k in n_alt])
    rows = len(situation)
    X = pd.DataFrame(
        {
            "price": rng.uniform(1, 20, rows),
            "time": rng.uniform(5, 90, rows),
            "comfort": rng.choice(["basic", "standard", "premium"], rows),
        },
        index=pd.MultiIndex.from_arrays(
            [situation, alternative], names=["situation", "alternative"]
        ),
    )
    utility = (
        -1.2 * np.log(X["price"])
        - 0.03 * X["time"]
        + X["comfort"].map({"basic": 0.0, "standard": 0.4, "premium": 0.9})
    ).to_numpy()
    noisy = pd.Series(utility + rng.gumbel(size=rows))
    chosen = noisy.groupby(situation).transform("max").to_numpy() == noisy.to_numpy()
    return X, chosen.astype(int)


X, y = simulate()
print(X.head(7))

# %%
# The pipeline
# ------------
# A ``ColumnTransformer`` scales time, expands price in splines (the true effect
# is logarithmic) and one-hot encodes comfort; ``set_output(transform="pandas")``
# on the Pipeline keeps the (situation, alternative) index on every step's
# output.
features = ColumnTransformer(
    [
        ("time", StandardScaler(), ["time"]),
        ("price", SplineTransformer(n_knots=5, include_bias=False), ["price"]),
        ("comfort", OneHotEncoder(drop=["basic"], sparse_output=False), ["comfort"]),
    ],
    verbose_feature_names_out=False,
)
pipe = make_pipeline(features, SoftmaxChoiceEstimator()).set_output(transform="pandas")
grid = {"softmaxchoiceestimator__alpha": [0.0, 1e-2, 1e-1]}

# %%
# GroupKFold with the situation ids as groups
# -------------------------------------------
# Any splitter that keeps situations whole works. With ``scoring=None`` the
# search ranks by the estimator's ``score``, the mean out-of-sample
# log-likelihood per choice.
search = GridSearchCV(pipe, grid, cv=GroupKFold(5))
search.fit(X, y, groups=X.index.get_level_values("situation"))
print("best", search.best_params_)
print(f"mean out-of-sample log-likelihood per choice {search.best_score_:.4f}")

# %%
# SituationKFold and several choice metrics
# -----------------------------------------
# ``SituationKFold`` reads the situation ids from X, so ``fit`` needs no
# ``groups``. The choice scorers of ``skpolicy.metrics`` read them too.
search = GridSearchCV(
    pipe,
    grid,
    cv=SituationKFold(5),
    scoring={
        "loglik": log_likelihood_scorer,
        "hit_rate": hit_rate_scorer,
        "rho2": mcfadden_r2_scorer,
    },
    refit="loglik",
)
search.fit(X, y)
results = pd.DataFrame(search.cv_results_).set_index(
    "param_softmaxchoiceestimator__alpha"
)
columns = ["mean_test_loglik", "mean_test_hit_rate", "mean_test_rho2"]
print(results[columns].to_string())

# %%
# The refitted model
# ------------------
# The best pipeline is refitted on all the data; its coefficients carry the
# transformers' feature names.
best = search.best_estimator_[-1]
coef = pd.Series(best.coef_, index=best.feature_names_in_)
print(coef.round(3).to_string())

# %%
# The splines recover the logarithmic effect of price: the fitted utility of
# price, up to a constant, against the true ``-1.2 log(price)``.
grid_prices = pd.DataFrame(
    {"price": np.linspace(1, 20, 200), "time": 0.0, "comfort": "basic"}
)
spline_part = search.best_estimator_[0].named_transformers_["price"]
basis = spline_part.transform(grid_prices[["price"]])
names = [n for n in best.feature_names_in_ if n.startswith("price")]
fitted = basis @ coef[names].to_numpy()
true = -1.2 * np.log(grid_prices["price"])

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(grid_prices["price"], fitted - fitted.mean(), label="fitted (splines)")
ax.plot(grid_prices["price"], true - true.mean(), "--", label="true: -1.2 log(price)")
ax.set(xlabel="price", ylabel="utility (centred)", title="Effect of price")
ax.legend()
fig.tight_layout()
