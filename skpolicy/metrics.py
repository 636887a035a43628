"""Choice scorers for model selection.

sklearn's built-in scorers see predictions row by row and know nothing of the
situations a row belongs to. These scorers are callables
``scorer(estimator, X, y, sample_weight=None)`` which read the situation ids from X
itself, so they work as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_val_score`, with a bare estimator or a
Pipeline ending in one.

- :func:`log_likelihood_scorer`: mean out-of-sample log-likelihood per choice (the
  estimator's ``score``; also what ``scoring=None`` uses);
- :func:`make_top_k_scorer` / :data:`hit_rate_scorer`: share of choices whose
  alternative is among the k most probable of its situation;
- :func:`mcfadden_r2_scorer`: McFadden's rho-squared against equal shares,
  ``1 - LL(model) / LL(equal shares over each situation's alternatives)``.
"""

import numpy as np
import pandas as pd

from ._data import _dense_counts, is_dense, situation_codes
from ._pipeline import split_model

__all__ = [
    "hit_rate_scorer",
    "log_likelihood_scorer",
    "make_top_k_scorer",
    "mcfadden_r2_scorer",
]


def _rows(estimator, X, y, sample_weight, situation_key, method):
    """Per-row predictions, counts, weights and situation codes for either format.

    Returns
    -------
    values : ndarray of shape (n_rows,)
        ``estimator.<method>(X)`` on every (available) row.
    counts, weights : ndarray of shape (n_rows,)
    codes : ndarray of shape (n_rows,)
        Situation of every row.
    """
    values = getattr(estimator, method)(X)
    if is_dense(X):
        n, J = values.shape
        counts = _dense_counts(y, n, J)
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
        weights = np.repeat(w, J)
        codes = np.repeat(np.arange(n), J)
        # Unavailable alternatives have log-probability -inf / probability 0 and
        # utility -inf; drop them so that they are not counted as alternatives.
        log_proba = (
            estimator.predict_log_proba(X) if method != "predict_log_proba" else values
        )
        keep = np.isfinite(log_proba).ravel()
        return values.ravel()[keep], counts.ravel()[keep], weights[keep], codes[keep]
    if situation_key is None:
        situation_key = split_model(estimator, "estimator")[1].situation_key
    codes, _ = situation_codes(X, situation_key)
    counts = np.asarray(y, dtype=float).ravel()
    weights = (
        np.ones_like(counts)
        if sample_weight is None
        else np.asarray(sample_weight, float)
    )
    return values, counts, weights, codes


def log_likelihood_scorer(estimator, X, y, sample_weight=None):
    """Weighted mean log-likelihood per choice, ``estimator.score(X, y)``.

    Parameters
    ----------
    estimator : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
            n_features)
    y : array-like
    sample_weight : array-like, default=None

    Returns
    -------
    float
        Higher is better.
    """
    if sample_weight is None:
        return float(estimator.score(X, y))
    return float(estimator.score(X, y, sample_weight=sample_weight))


def make_top_k_scorer(k=1, *, situation_key=None):
    """Scorer: share of choices ranked among the ``k`` most probable alternatives.

    With ``k=1`` this is the hit rate: the share of choices that the model's
    :meth:`predict` gets right (ties go to the first alternative, as in
    ``predict``). Choices are weighted by their counts and situation weights.

    Parameters
    ----------
    k : int, default=1
        Number of top-ranked alternatives that count as a hit.
    situation_key : int, str or None, default=None
        Where long X holds the situation id; None takes the final estimator's
        ``situation_key``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float`` in [0, 1].
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = int(k)

    def top_k_scorer(estimator, X, y, sample_weight=None):
        proba, counts, weights, codes = _rows(
            estimator, X, y, sample_weight, situation_key, "predict_proba"
        )
        rank = pd.Series(-proba).groupby(codes).rank(method="first").to_numpy()
        chosen = counts * weights
        return float(chosen[rank <= k].sum() / chosen.sum())

    top_k_scorer.__name__ = f"top_{k}_scorer"
    top_k_scorer.__qualname__ = top_k_scorer.__name__
    return top_k_scorer


hit_rate_scorer = make_top_k_scorer(1)
hit_rate_scorer.__doc__ = "Hit rate: share of choices on the most probable alternative."


def mcfadden_r2_scorer(estimator, X, y, sample_weight=None):
    """McFadden's rho-squared against equal shares.

    ``1 - LL(model) / LL0`` with ``LL0`` the log-likelihood of equal
    probabilities over each situation's available alternatives.

    Parameters
    ----------
    estimator : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
            n_features)
    y : array-like
    sample_weight : array-like, default=None

    Returns
    -------
    float
        At most 1; higher is better; 0 for a model no better than equal shares.
    """
    log_proba, counts, weights, codes = _rows(
        estimator, X, y, sample_weight, None, "predict_log_proba"
    )
    sizes = np.bincount(codes)[codes]
    chosen = counts * weights > 0
    wy = (counts * weights)[chosen]
    loglik = np.sum(wy * log_proba[chosen])
    loglik0 = -np.sum(wy * np.log(sizes[chosen]))
    return float(1.0 - loglik / loglik0)
