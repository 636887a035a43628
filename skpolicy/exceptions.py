"""Warning categories of skpolicy, so that users can filter them one by one.

Every category derives from :class:`UserWarning` (as scikit-learn's
``ConvergenceWarning`` does), so ``warnings.simplefilter("ignore", UserWarning)``
still silences all of them, and each can be filtered on its own::

    import warnings
    from skpolicy.exceptions import SingleAlternativeWarning

    warnings.simplefilter("ignore", SingleAlternativeWarning)

Solver non-convergence keeps scikit-learn's
:class:`sklearn.exceptions.ConvergenceWarning`, which sklearn users already filter.
"""

__all__ = [
    "CollinearityWarning",
    "DataWarning",
    "PenalizedInferenceWarning",
    "SeparationWarning",
    "SingleAlternativeWarning",
    "SkpolicyWarning",
]


class SkpolicyWarning(UserWarning):
    """Base class of skpolicy's own warnings."""


class SeparationWarning(SkpolicyWarning):
    """Choices are (quasi-)perfectly predicted: no finite maximum-likelihood estimate.

    The coefficients named in the message grow without bound as the solver goes
    on; ``alpha > 0`` gives a finite, penalised estimate.
    """


class CollinearityWarning(SkpolicyWarning):
    """A linear combination of the features is constant within every situation.

    The coefficients involved are not identified by the data.
    """


class SingleAlternativeWarning(SkpolicyWarning):
    """Some situations offer a single alternative and carry no information."""


class PenalizedInferenceWarning(SkpolicyWarning):
    """Standard errors or tests of a model fitted with ``alpha > 0``.

    They treat the penalised estimate as an unpenalised maximum-likelihood
    estimate and ignore the shrinkage.
    """


class DataWarning(SkpolicyWarning):
    """The data look inconsistent with how they are read (e.g. the situation key)."""
