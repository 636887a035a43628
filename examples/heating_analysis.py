"""A complete choice analysis of Train's Heating data, the mlogit way, in pandas.

900 Californian households chose a heating system among gas central (gc), gas room
(gr), electric central (ec), electric room (er) and heat pump (hp), given each
system's installation cost (ic) and annual operating cost (oc). The script

1. specifies the model with an mlogit formula (constants, hp as reference),
2. prints the summary (Hessian and robust standard errors, rho-squared, LR test),
3. computes own and cross price elasticities of installation cost,
4. the willingness to pay: installation dollars per dollar of annual operating cost,
5. simulates a heat-pump subsidy (a 10 % rebate on its installation cost): shares
   before and after, and the change in consumer surplus,
6. and draws observed vs predicted shares and the coefficients with confidence
   intervals (needs matplotlib: ``pip install "skpolicy[plot]"``).

Run: ``python examples/heating_analysis.py`` (writes heating_analysis.png).
"""

import pandas as pd
from sklearn.pipeline import make_pipeline

from skpolicy import ChoiceSpecification, SoftmaxChoiceEstimator
from skpolicy.datasets import load_heating
from skpolicy.inference import coef_table, summary
from skpolicy.postestimation import (
    apply_scenario,
    consumer_surplus_change,
    counterfactual,
    elasticities,
    predict_shares,
    willingness_to_pay,
)


def main(figure="heating_analysis.png"):
    X, y = load_heating(return_X_y=True)  # long: (idcase, alt) index; ic, oc, ...

    # 1. Specification: generic ic and oc, constants with heat pump as reference.
    model = make_pipeline(
        ChoiceSpecification.from_formula("ic + oc", reference="hp"),
        SoftmaxChoiceEstimator(),
    ).set_output(transform="pandas")
    model.fit(X, y)

    # 2. Summary with the observed-information (Hessian) covariance, as mlogit
    #    prints it; then robust (sandwich) standard errors for comparison.
    print(summary(model, X, y))
    robust = coef_table(model, X, y, cov_type="robust")
    print("\nrobust standard errors:")
    print(robust[["coef", "std err"]].to_string(float_format="{:.6g}".format))

    # 3. Elasticities of the choice probabilities with respect to installation
    #    cost, probability-weighted over households: row = alternative whose
    #    probability responds, column = alternative whose cost changes.
    print("\nelasticities with respect to installation cost (ic):")
    print(elasticities(model, X, "ic").round(4).to_string())

    # 4. Willingness to pay: how much more installation cost a household accepts
    #    for a system that costs one dollar less to run each year.
    wtp = willingness_to_pay(model, "oc", cost="ic")
    print("\nwillingness to pay (installation $ per $ of annual operating cost):")
    print(wtp.to_string(float_format="{:.4g}".format))
    print(
        f"-> a system costing $1 less a year to run is worth "
        f"${-wtp.loc['oc', 'wtp']:.2f} more at installation"
    )

    # 5. Counterfactual: a 10 % rebate on heat-pump installation costs.
    rebate = {"changes": {"ic": lambda ic: 0.9 * ic}, "alternatives": ["hp"]}
    shares = counterfactual(model, X, **rebate)
    print("\nshares before and after a 10% heat-pump rebate:")
    print(shares.round(4).to_string())
    surplus = consumer_surplus_change(model, X, apply_scenario(X, **rebate), cost="ic")
    print(
        f"consumer surplus gain: {surplus.mean:.2f} $ per household "
        f"({surplus.total:.0f} $ in all)"
    )

    # 6. Figure: observed vs predicted shares; coefficients with 95% intervals.
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nno figure: matplotlib is missing (pip install 'skpolicy[plot]')")
        return
    alternative = X.index.get_level_values(1)
    observed = pd.Series(y.to_numpy(), index=alternative).groupby(level=0).mean()
    predicted = predict_shares(model, X)
    table = coef_table(model, X, y)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    pd.DataFrame({"observed": observed, "predicted": predicted}).plot.bar(ax=left)
    left.set(title="Market shares", xlabel="heating system", ylabel="share")
    # Standardise by the coefficients' standard errors so that constants and
    # cost coefficients share one axis.
    z = table["coef"] / table["std err"]
    right.errorbar(z, range(len(z)), xerr=1.96, fmt="o", capsize=3)
    right.axvline(0, color="grey", lw=0.8)
    right.set_yticks(range(len(z)), table.index)
    right.set(title="Coefficients / std err, with 95% intervals", xlabel="z")
    fig.tight_layout()
    fig.savefig(figure, dpi=100)
    print(f"\nfigure written to {figure}")


if __name__ == "__main__":
    main()
