"""Simulated conditional-logit data with known coefficients."""

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state


def make_choice_data(
    n_situations=1000,
    n_alternatives=5,
    n_features=3,
    *,
    coef=None,
    unavailable=0.0,
    format="dense",
    dtype=np.float64,
    return_coef=False,
    random_state=None,
):
    """Draw choices from a conditional logit with standard normal features.

    Each situation offers ``n_alternatives`` alternatives with i.i.d. standard
    normal features; with ``unavailable > 0`` each alternative is independently
    unavailable with that probability (every situation keeps at least two). The
    chosen alternative maximises ``x @ coef + Gumbel noise`` over the available
    ones, which is a draw from the softmax probabilities.

    Parameters
    ----------
    n_situations : int, default=1000
    n_alternatives : int, default=5
    n_features : int, default=3
    coef : array-like of shape (n_features,), default=None
        True coefficients; None draws them from a standard normal.
    unavailable : float in [0, 1), default=0.0
        Probability that an alternative is unavailable (ragged choice sets).
    format : {"dense", "long"}, default="dense"
        ``"dense"``: X of shape (n_situations, n_alternatives, n_features), NaN
        rows for unavailable alternatives, y the chosen index. ``"long"``: X a
        DataFrame with a (situation, alternative) MultiIndex and columns
        ``x0, x1, ...`` holding available alternatives only, y 0/1 per row.
    dtype : {np.float64, np.float32}, default=np.float64
        Dtype of the features.
    return_coef : bool, default=False
        Also return the true coefficients.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_situations, n_alternatives, n_features) or DataFrame
    y : ndarray of shape (n_situations,) or (n_rows,)
    coef : ndarray of shape (n_features,)
        Only when ``return_coef=True``.

    Examples
    --------
    >>> from skpolicy.datasets import make_choice_data
    >>> X, y = make_choice_data(4, 3, 2, format="long", random_state=0)
    >>> X.shape, y.tolist()
    ((12, 2), [1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1])
    """
    rng = check_random_state(random_state)
    n, J, K = int(n_situations), int(n_alternatives), int(n_features)
    if format not in ("dense", "long"):
        raise ValueError(f"format must be 'dense' or 'long', got {format!r}")
    if not 0 <= unavailable < 1:
        raise ValueError(f"unavailable must be in [0, 1), got {unavailable!r}")
    coef = rng.standard_normal(K) if coef is None else np.asarray(coef, dtype=float)
    if coef.shape != (K,):
        raise ValueError(f"coef must have shape ({K},), got {coef.shape}")
    X = rng.standard_normal((n, J, K))
    available = np.ones((n, J), dtype=bool)
    if unavailable > 0:
        available = rng.random_sample((n, J)) >= unavailable
        # Keep at least two alternatives: re-open the first ones where needed.
        short = available.sum(axis=1) < min(2, J)
        available[short, : min(2, J)] = True
    utility = X @ coef + rng.gumbel(size=(n, J))
    y = np.where(available, utility, -np.inf).argmax(axis=1)
    X = X.astype(dtype)
    if format == "dense":
        X[~available] = np.nan
        out = (X, y)
    else:
        s, a = np.nonzero(available)
        index = pd.MultiIndex.from_arrays([s, a], names=["situation", "alternative"])
        frame = pd.DataFrame(X[s, a], index=index, columns=[f"x{k}" for k in range(K)])
        out = (frame, (y[s] == a).astype(np.int64))
    return (*out, coef) if return_coef else out
