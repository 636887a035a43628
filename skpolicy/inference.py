"""Statistical inference for fitted choice models.

Covariances, coefficient tables, fit statistics, Wald tests and summaries are
methods of :class:`~skpolicy.SoftmaxChoiceEstimator` and
:class:`~skpolicy.SoftmaxPolicy` (see their ``covariance_matrix`` for the
conventions). This module holds what compares several models, :func:`lr_test` (the
likelihood-ratio test of nested models), and the same inference as functions that
also take a Pipeline ending in an estimator and raw data (the transformers run
first): :func:`covariance_matrix`, :func:`std_errors`, :func:`coef_table`,
:func:`wald_test`, :func:`fit_statistics`, :func:`situation_scores` and
:func:`summary`.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ._inference import TestResult, chi2_test
from ._pipeline import split_model
from ._summary import ChoiceModelSummary
from .exceptions import PenalizedInferenceWarning

__all__ = [
    "ChoiceModelSummary",
    "TestResult",
    "coef_table",
    "covariance_matrix",
    "fit_statistics",
    "lr_test",
    "situation_scores",
    "std_errors",
    "summary",
    "wald_test",
]


def lr_test(restricted, unrestricted, *, df=None):
    """Likelihood-ratio test of a restricted model against an unrestricted one.

    ``2 (LL_unrestricted - LL_restricted)`` is chi-squared with ``df`` degrees of
    freedom when the restricted model is nested in the unrestricted one (a special
    case of it, e.g. some coefficients fixed at 0) and true. Both must be fitted by
    unpenalised maximum likelihood on the same data.

    Parameters
    ----------
    restricted, unrestricted : fitted SoftmaxChoiceEstimator or SoftmaxPolicy, \
            or Pipeline ending in one
    df : int, default=None
        Number of restrictions; the difference in the numbers of coefficients
        when None.

    Returns
    -------
    TestResult
        ``statistic``, ``df`` and ``pvalue``.

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.inference import lr_test
    >>> X, y = make_choice_data(500, 4, 3, coef=[1, -1, 0], format="long",
    ...                         random_state=0)
    >>> small = SoftmaxChoiceEstimator().fit(X[["x0", "x1"]], y)
    >>> big = SoftmaxChoiceEstimator().fit(X, y)
    >>> result = lr_test(small, big)
    >>> result.df, bool(result.pvalue > 0.01)
    (1, True)
    """
    r = split_model(restricted, "restricted")[1]
    u = split_model(unrestricted, "unrestricted")[1]
    for model in (r, u):
        if getattr(model, "alpha", 0.0) > 0:
            warnings.warn(
                "a model was fitted with alpha > 0: the likelihood-ratio statistic "
                "of penalised fits is not chi-squared",
                PenalizedInferenceWarning,
                stacklevel=2,
            )
    if r.n_situations_ != u.n_situations_ or not np.isclose(
        r.n_choices_, u.n_choices_, rtol=1e-9
    ):
        raise ValueError(
            f"the models were not fitted on the same data ({r.n_situations_} and "
            f"{u.n_situations_} situations, {r.n_choices_:g} and "
            f"{u.n_choices_:g} weighted choices): a likelihood-ratio "
            "test compares models of the same data"
        )
    k_r = int(r.fit_statistics()["n_parameters"])
    k_u = int(u.fit_statistics()["n_parameters"])
    if df is None:
        df = k_u - k_r
    if df <= 0:
        raise ValueError(
            f"df = {df}: the unrestricted model must have more coefficients than the "
            f"restricted one ({k_u} vs {k_r}); swap the arguments, or give df"
        )
    statistic = 2.0 * (u.log_likelihood_ - r.log_likelihood_)
    if statistic < -1e-6 * max(1.0, abs(u.log_likelihood_)):
        raise ValueError(
            f"the restricted model fits better (log-likelihood {r.log_likelihood_:.6g} "
            f"> {u.log_likelihood_:.6g}), so it is not nested in the unrestricted "
            "one: swap the arguments, or check the models"
        )
    return chi2_test(max(statistic, 0.0), df, "LR")


def through_pipeline(model, X=None, groups=None, what="model"):
    """The final estimator, X transformed by the steps before it, and groups.

    Cluster ids named as a column of the raw X (which the transformers may drop)
    are read before transforming; index levels survive the transformers (with
    ``set_output(transform="pandas")``) and stay names.
    """
    final = split_model(model, what)[1]
    if X is not None and isinstance(model, Pipeline):
        if (
            isinstance(groups, str)
            and isinstance(X, pd.DataFrame)
            and groups not in X.index.names
            and groups in X.columns
        ):
            groups = X[groups].to_numpy()
        X = model[:-1].transform(X)
    return final, X, groups


def coef_table(
    model,
    X=None,
    y=None,
    sample_weight=None,
    *,
    cov_type="hessian",
    groups=None,
    confidence=0.95,
):
    """Coefficient table of an estimator or of a Pipeline ending in one.

    ``model[-1].coef_table(model[:-1].transform(X), y, ...)`` for a Pipeline; see
    :meth:`~skpolicy.SoftmaxChoiceEstimator.coef_table` for the parameters. X is
    the raw data the pipeline was fitted on.

    Returns
    -------
    pandas DataFrame

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.inference import coef_table
    >>> X, y = make_choice_data(300, 3, 2, format="long", random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), SoftmaxChoiceEstimator())
    >>> pipe = pipe.set_output(transform="pandas").fit(X, y)
    >>> coef_table(pipe, X, y, cov_type="robust").shape
    (2, 6)
    """
    final, X, groups = through_pipeline(model, X, groups)
    return final.coef_table(
        X, y, sample_weight, cov_type=cov_type, groups=groups, confidence=confidence
    )


def summary(
    model,
    X=None,
    y=None,
    sample_weight=None,
    *,
    cov_type="hessian",
    groups=None,
    confidence=0.95,
    alternative_key=1,
    reference="auto",
):
    """Printable summary of an estimator or of a Pipeline ending in one.

    ``model[-1].summary(model[:-1].transform(X), y, ...)`` for a Pipeline; see
    :meth:`~skpolicy.SoftmaxChoiceEstimator.summary` for the parameters. The
    alternative ids for the constants-only model are read from the transformed
    X's index, which the transformers keep.

    Returns
    -------
    ChoiceModelSummary
    """
    final, X, groups = through_pipeline(model, X, groups)
    return final.summary(
        X,
        y,
        sample_weight,
        cov_type=cov_type,
        groups=groups,
        confidence=confidence,
        alternative_key=alternative_key,
        reference=reference,
    )


def _pipeline_method(name, returns):
    """Build the module-level version of the estimators' inference method ``name``."""

    def function(model, X=None, y=None, sample_weight=None, **kwargs):
        groups = kwargs.pop("groups", None)
        final, X, groups = through_pipeline(model, X, groups)
        if groups is not None:
            kwargs["groups"] = groups
        return getattr(final, name)(X, y, sample_weight, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"""``{name}`` of an estimator or of a Pipeline ending in one.

    ``model[-1].{name}(model[:-1].transform(X), y, sample_weight, **kwargs)`` for a
    Pipeline (cluster ids named as a column of the raw X are read before the
    transformers run); the estimator's own method otherwise. See
    :meth:`skpolicy.SoftmaxChoiceEstimator.{name}` (or
    :meth:`skpolicy.SoftmaxPolicy.{name}`) for the parameters.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or SoftmaxPolicy, a Pipeline ending in
        one, or a fitted search over them
    X : DataFrame or ndarray, default=None
        The raw data the model was fitted on (before the Pipeline's transformers).
    y, sample_weight : array-like, default=None
        The training choices and weights.
    **kwargs
        Keyword arguments of the method (``cov_type``, ``groups``, ...).

    Returns
    -------
    {returns}
    """
    return function


covariance_matrix = _pipeline_method(
    "covariance_matrix",
    "pandas DataFrame of shape (n_params, n_params)\n"
    "        Indexed by the coefficient names on both axes.",
)
std_errors = _pipeline_method(
    "std_errors",
    "pandas Series of shape (n_params,)\n        Indexed by the coefficient names.",
)
fit_statistics = _pipeline_method(
    "fit_statistics",
    "pandas Series\n        Log-likelihoods, rho-squared, LR test, AIC, BIC, counts.",
)
situation_scores = _pipeline_method(
    "situation_scores",
    "ndarray of shape (n_situations, n_params)\n"
    "        Weighted score vector of each situation.",
)


def wald_test(model, R, r=None, X=None, y=None, sample_weight=None, **kwargs):
    """Wald test of ``R @ coef = r`` for an estimator or a Pipeline ending in one.

    See :meth:`skpolicy.SoftmaxChoiceEstimator.wald_test`.

    Parameters
    ----------
    model : fitted estimator, or Pipeline ending in one
    R, r
        The restrictions, as in the method.
    X, y, sample_weight : default=None
        The raw training data (needed for every ``cov_type`` but ``"hessian"``).
    **kwargs
        ``cov_type`` and ``groups``.

    Returns
    -------
    TestResult
    """
    groups = kwargs.pop("groups", None)
    final, X, groups = through_pipeline(model, X, groups)
    if groups is not None:
        kwargs["groups"] = groups
    return final.wald_test(R, r, X, y, sample_weight, **kwargs)
