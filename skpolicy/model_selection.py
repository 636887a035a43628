"""Cross-validation that keeps every choice situation whole."""

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ._data import is_dense, label, situation_codes

__all__ = ["SituationKFold"]


class SituationKFold(GroupKFold):
    """K-fold cross-validation by situation, reading the situation ids from X.

    In the long format one sample is one (situation, alternative) row, so a plain
    ``KFold`` cuts situations in two. ``SituationKFold`` is a
    :class:`~sklearn.model_selection.GroupKFold` whose groups default to the
    situation ids found in X itself (the index level or column
    ``situation_key``), so ``GridSearchCV(..., cv=SituationKFold(5)).fit(X, y)``
    needs no ``groups=`` argument. A coarser grouping (several situations per
    decision maker, for honest validation on panel data) is read from the index
    level or column ``group_key``, or passed as ``groups``; it must not split a
    situation. Dense input is split by situation (one sample per situation).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds.
    shuffle : bool, default=False
        Shuffle the groups before assigning them to folds.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling when ``shuffle=True``.
    situation_key : int or str, default=0
        Index level (position or name) or column of long X holding the situation
        id, as in :class:`~skpolicy.SoftmaxChoiceEstimator`.
    group_key : int, str or None, default=None
        Index level or column holding a coarser grouping (e.g. the person); None
        groups by situation.

    Examples
    --------
    >>> import pandas as pd
    >>> from skpolicy.model_selection import SituationKFold
    >>> X = pd.DataFrame(
    ...     {"price": [1.0, 2.0, 3.0, 1.5, 2.5, 0.5]},
    ...     index=pd.MultiIndex.from_product([[10, 11, 12], ["a", "b"]]),
    ... )
    >>> [test.tolist() for _, test in SituationKFold(3).split(X)]
    [[4, 5], [2, 3], [0, 1]]
    """

    def __init__(
        self,
        n_splits=5,
        *,
        shuffle=False,
        random_state=None,
        situation_key=0,
        group_key=None,
    ):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)
        self.situation_key = situation_key
        self.group_key = group_key

    def split(self, X, y=None, groups=None):
        """Generate indices to split data into training and test sets.

        Parameters
        ----------
        X : pandas DataFrame of shape (n_rows, n_features) or ndarray of shape \
                (n_situations, n_alternatives, n_features)
            Long or dense choice data.
        y : array-like, default=None
            Ignored.
        groups : array-like of shape (n_rows,), default=None
            Coarser groups (each situation within one group); by default the
            ``group_key`` level or column, else the situations.

        Yields
        ------
        train : ndarray
            Training row (long) or situation (dense) indices.
        test : ndarray
            Test row or situation indices.
        """
        return super().split(X, y, self._groups(X, groups))

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splitting iterations, ``n_splits``."""
        return self.n_splits

    def _groups(self, X, groups):
        if is_dense(X):
            if groups is None:
                return np.arange(X.shape[0])
            return groups
        if not isinstance(X, pd.DataFrame):
            raise ValueError(
                "SituationKFold reads the situation ids from a long DataFrame or "
                f"splits a dense 3-D array; got {type(X).__name__}. Pass groups=..., "
                'or keep the DataFrame index with set_output(transform="pandas")'
            )
        codes, labels = situation_codes(X, self.situation_key)
        if groups is None and self.group_key is None:
            return codes
        if groups is None:
            group_codes = situation_codes(X, self.group_key)[0]
        else:
            group_codes = pd.factorize(np.asarray(groups))[0]
        if group_codes.shape[0] != codes.shape[0]:
            raise ValueError(
                f"groups has {group_codes.shape[0]} entries but X has "
                f"{codes.shape[0]} rows"
            )
        per_situation = pd.Series(group_codes).groupby(codes).nunique()
        split = per_situation.to_numpy() > 1
        if split.any():
            s = per_situation.index[np.argmax(split)]
            raise ValueError(
                f"the groups split situation {label(labels[s])} across several groups: "
                "a group must hold whole situations (e.g. a person's choices)"
            )
        return group_codes
