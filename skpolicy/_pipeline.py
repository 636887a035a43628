"""Unwrapping a fitted model: a SoftmaxChoiceEstimator or a Pipeline ending in one."""

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._estimator import SoftmaxChoiceEstimator


def split_model(model, what="model"):
    """The steps before the final estimator (or None) and the fitted estimator.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    what : str, default="model"
        Name of the argument, for the error message.

    Returns
    -------
    prefix : Pipeline or None
        ``model[:-1]`` for a Pipeline, None for a bare estimator.
    estimator : SoftmaxChoiceEstimator
    """
    prefix, final = None, model
    if isinstance(model, Pipeline):
        prefix, final = model[:-1], model.steps[-1][1]
    if not isinstance(final, SoftmaxChoiceEstimator):
        raise TypeError(
            f"{what} must be a fitted SoftmaxChoiceEstimator or a Pipeline ending in "
            f"one, got {type(final).__name__}"
        )
    check_is_fitted(final)
    return prefix, final
