"""Pipeline + GridSearchCV on long choice data (the recipe of DESIGN.md section 4).

A travel-mode-like data set in long format, one row per available (situation,
alternative), with a numeric attribute to scale, one to expand in splines and a
categorical one to one-hot encode. The situation id is in the DataFrame's index;
``set_output(transform="pandas")`` keeps that index through the transformers, so the
estimator, the splitter and the scorers all find the situations in X.

Run: ``python examples/pipeline_grid_search.py``
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from skpolicy import SituationKFold, SoftmaxChoiceEstimator
from skpolicy.metrics import hit_rate_scorer, log_likelihood_scorer, mcfadden_r2_scorer


def simulate(n_situations=2000, seed=0):
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


def main():
    X, y = simulate()
    features = ColumnTransformer(
        [
            ("time", StandardScaler(), ["time"]),
            ("price", SplineTransformer(n_knots=5, include_bias=False), ["price"]),
            (
                "comfort",
                OneHotEncoder(drop=["basic"], sparse_output=False),
                ["comfort"],
            ),
        ],
        verbose_feature_names_out=False,
    )
    pipe = make_pipeline(features, SoftmaxChoiceEstimator()).set_output(
        transform="pandas"
    )
    grid = {"softmaxchoiceestimator__alpha": [0.0, 1e-3, 1e-2, 1e-1]}

    # 1. GroupKFold with the situation ids as groups.
    search = GridSearchCV(pipe, grid, cv=GroupKFold(5))
    search.fit(X, y, groups=X.index.get_level_values("situation"))
    print("GroupKFold:      best alpha", search.best_params_, end=" ")
    print(f"mean out-of-sample log-likelihood {search.best_score_:.4f}")

    # 2. The situation-aware splitter reads the ids from X: no groups= needed, and
    #    several choice metrics at once.
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
    results = pd.DataFrame(search.cv_results_)
    print(
        results[
            [
                "param_softmaxchoiceestimator__alpha",
                "mean_test_loglik",
                "mean_test_hit_rate",
                "mean_test_rho2",
            ]
        ].to_string(index=False)
    )
    best = search.best_estimator_[-1]
    coef = pd.Series(best.coef_, index=best.feature_names_in_)
    print("coefficients of the refitted model:")
    print(coef.round(3).to_string())


if __name__ == "__main__":
    main()
