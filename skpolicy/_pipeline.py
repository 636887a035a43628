"""Unwrapping a fitted model: an estimator or a Pipeline ending in one."""

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._inference import ChoiceInferenceMixin


def split_model(model, what="model"):
    """The steps before the final estimator (or None) and the fitted estimator.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or SoftmaxPolicy, or a Pipeline ending in
        one
    what : str, default="model"
        Name of the argument, for the error message.

    Returns
    -------
    prefix : Pipeline or None
        ``model[:-1]`` for a Pipeline, None for a bare estimator.
    estimator : SoftmaxChoiceEstimator or SoftmaxPolicy
    """
    prefix, final = None, model
    if isinstance(model, Pipeline):
        prefix, final = model[:-1], model.steps[-1][1]
    if hasattr(final, "best_estimator_"):  # a fitted search: its refitted model
        return split_model(final.best_estimator_, what)
    if not isinstance(final, ChoiceInferenceMixin):
        raise TypeError(
            f"{what} must be a fitted SoftmaxChoiceEstimator or SoftmaxPolicy, a "
            f"Pipeline ending in one, or a fitted search over them, got "
            f"{type(final).__name__}"
        )
    check_is_fitted(final)
    return prefix, final
