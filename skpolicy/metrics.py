"""Choice scorers for model selection.

sklearn's built-in scorers see predictions row by row and know nothing of the
situations a row belongs to. These scorers are callables
``scorer(estimator, X, y, sample_weight=None)`` which read the situation ids from X
itself, so they work as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_val_score`. Like sklearn's scorers they
accept any fitted estimator and use only its public ``predict_log_proba``: a bare
estimator, a Pipeline ending in one, or a fitted search. ``y`` and
``sample_weight`` are checked as ``fit`` checks them (lengths, NaN, negative
values, a pandas index that contradicts X's), and choices that leave nothing to
score are refused rather than turned into NaN.

- :func:`log_likelihood_scorer`: mean out-of-sample log-likelihood per choice (the
  estimator's ``score``; also what ``scoring=None`` uses);
- :func:`make_top_k_scorer` / :data:`hit_rate_scorer`: share of choices whose
  alternative is among the k most probable of its situation;
- :func:`mcfadden_r2_scorer`: McFadden's rho-squared against equal shares,
  ``1 - LL(model) / LL(equal shares over each situation's alternatives)``.
"""

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ._data import (
    align_to_rows,
    as_1d_float,
    check_choice_format,
    dense_counts,
    is_dense,
    label,
    situation_codes,
    situation_weights,
)

__all__ = [
    "hit_rate_scorer",
    "log_likelihood_scorer",
    "make_top_k_scorer",
    "mcfadden_r2_scorer",
]


def _situation_key(estimator):
    """Where the choice model inside ``estimator`` reads long X's situation id.

    Only the ``situation_key`` parameter is read here, through whatever wraps the
    model: a fitted search (``best_estimator_``), a Pipeline (its last step), or a
    meta-estimator's ``estimator_`` / ``estimator``. Predictions always come from
    the public methods of ``estimator`` itself. 0 (the default level) when no
    model with that parameter is found.
    """
    seen = set()
    while estimator is not None and id(estimator) not in seen:
        seen.add(id(estimator))
        key = getattr(estimator, "situation_key", None)
        if key is not None:
            return key
        if isinstance(estimator, Pipeline):
            estimator = estimator.steps[-1][1]
            continue
        inner = None
        for attribute in ("best_estimator_", "estimator_", "estimator"):
            inner = getattr(estimator, attribute, None)
            if inner is not None:
                break
        estimator = inner
    return 0


def _rows(estimator, X, y, sample_weight, situation_key):
    """Per-row log-probabilities, counts, weights and situation codes.

    The one place where the scorers validate what they are given: ``y`` and
    ``sample_weight`` with the data layer's own checks (lengths, NaN, negative
    values, pandas indexes that contradict X's), then choices that leave nothing
    to score.

    Returns
    -------
    log_proba : ndarray of shape (n_rows,)
        ``estimator.predict_log_proba(X)`` on every available row.
    counts, weights : ndarray of shape (n_rows,)
    codes : ndarray of shape (n_rows,)
        Situation of every row.
    """
    if y is None:
        raise ValueError("a choice scorer needs y, the observed choices")
    if is_dense(X):
        log_proba = np.asarray(estimator.predict_log_proba(X), dtype=np.float64)
        n, J = log_proba.shape
        counts = dense_counts(y, n, J)
        w = (
            np.ones(n)
            if sample_weight is None
            else as_1d_float(sample_weight, "sample_weight", n, unit="situations")
        )
        # Unavailable alternatives have log-probability -inf: drop them, so that
        # they are not counted as alternatives.
        available = np.isfinite(log_proba)
        unavailable_choice = (counts > 0) & ~available
        if unavailable_choice.any():
            s, j = (int(v) for v in np.argwhere(unavailable_choice)[0])
            raise ValueError(
                f"y chooses alternative {j} in situation {s}, but that alternative "
                "is unavailable (its features are all NaN)"
            )
        keep = available.ravel()
        weights = np.repeat(w, J)[keep]
        codes = np.repeat(np.arange(n), J)[keep]
        return log_proba.ravel()[keep], counts.ravel()[keep], weights, codes
    check_choice_format(X)
    if situation_key is None:
        situation_key = _situation_key(estimator)
    codes, labels = situation_codes(X, situation_key)
    n_rows = codes.shape[0]
    counts = as_1d_float(align_to_rows(y, X.index, "y"), "y", n_rows)
    if sample_weight is None:
        weights = np.ones(n_rows)
    else:
        weights = as_1d_float(
            align_to_rows(sample_weight, X.index, "sample_weight"),
            "sample_weight",
            n_rows,
        )
        situation_weights(weights, codes, labels)  # constant within situations
    log_proba = np.asarray(estimator.predict_log_proba(X), dtype=np.float64)
    return log_proba.reshape(-1), counts, weights, codes


def _chosen_weight(counts, weights):
    """``w * y`` per row, refusing choices that leave nothing to score."""
    if not np.any(counts > 0):
        raise ValueError(
            "y holds no choice (it is 0 on every row): a choice scorer needs at "
            "least one chosen alternative"
        )
    wy = counts * weights
    if not np.any(wy > 0):
        raise ValueError(
            "sample_weight is 0 for every situation with a choice: nothing to score"
        )
    return wy


def log_likelihood_scorer(estimator, X, y, sample_weight=None):
    """Weighted mean log-likelihood per choice (a choice model's ``score``).

    ``sum_s w_s sum_a y_sa log pi(a|s) / sum_s w_s n_s``, computed from
    ``estimator.predict_log_proba``, so it accepts any fitted estimator that has
    that method: a SoftmaxChoiceEstimator, a Pipeline ending in one, or a fitted
    search such as GridSearchCV (whose own ``score`` would use its ``scoring``).

    Parameters
    ----------
    estimator : fitted estimator with ``predict_log_proba``
    X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
            n_features)
    y : array-like
    sample_weight : array-like, default=None

    Returns
    -------
    float
        Higher is better.
    """
    log_proba, counts, weights, _ = _rows(estimator, X, y, sample_weight, None)
    wy = _chosen_weight(counts, weights)
    chosen = wy > 0
    return float(wy[chosen] @ log_proba[chosen] / wy.sum())


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
        Where long X holds the situation id; None takes the ``situation_key`` of
        the choice model inside the scored estimator (through Pipelines and
        fitted searches).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float`` in [0, 1].
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {label(k)}")
    k = int(k)

    def top_k_scorer(estimator, X, y, sample_weight=None):
        log_proba, counts, weights, codes = _rows(
            estimator, X, y, sample_weight, situation_key
        )
        chosen = _chosen_weight(counts, weights)
        # Ranked on log-probabilities, which keep their order where probabilities
        # underflow to 0; "first" breaks ties by row order, as predict does.
        rank = pd.Series(-log_proba).groupby(codes).rank(method="first").to_numpy()
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
    estimator : fitted estimator with ``predict_log_proba``
        A SoftmaxChoiceEstimator, a Pipeline ending in one, or a fitted search.
    X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
            n_features)
    y : array-like
    sample_weight : array-like, default=None

    Returns
    -------
    float
        At most 1; higher is better; 0 for a model no better than equal shares.
    """
    log_proba, counts, weights, codes = _rows(estimator, X, y, sample_weight, None)
    wy = _chosen_weight(counts, weights)
    sizes = np.bincount(codes)[codes]
    chosen = wy > 0
    loglik = wy[chosen] @ log_proba[chosen]
    loglik0 = -(wy[chosen] @ np.log(sizes[chosen]))
    if loglik0 == 0:
        raise ValueError(
            "McFadden's rho-squared is undefined here: every situation with a "
            "choice offers a single alternative, so equal shares already fit "
            "perfectly"
        )
    return float(1.0 - loglik / loglik0)
