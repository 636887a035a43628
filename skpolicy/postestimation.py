"""Post-estimation on long choice data: shares, counterfactuals, elasticities, WTP.

Every function takes a fitted :class:`~skpolicy.SoftmaxChoiceEstimator` or a fitted
:class:`~sklearn.pipeline.Pipeline` ending in one, and long data: a pandas DataFrame
with one row per available (situation, alternative), the situation id in the index
level the estimator's ``situation_key`` names (level 0 by default) and the
alternative id in the level ``alternative_key`` (level 1 by default). Choice sets
may be ragged and the data new. Attributes are the **raw** columns of X: scenarios
change them before the pipeline's transformers run, and derivatives go through
the transformers.

Derivatives. With ``u_sb`` the utility of alternative ``b`` in situation ``s``,
``pi_a = pi(a|s)`` and ``x_b`` the attribute on ``b``'s row, the softmax gives::

    d pi_a / d x_b = pi_a (delta_ab - pi_b) du_b/dx_b          (alternative attribute)
    d pi_a / d z_s = pi_a (du_a/dz - sum_k pi_k du_k/dz)       (case variable z_s)

``du/dx`` is the attribute's coefficient for a bare estimator (exact). Through a
pipeline it is the central difference of the pipeline's utility when the column
changes by ``h = 6e-6 max(|x|, mean |x|)`` on every row: exact up to rounding for
transformers that are linear in the column (scalers, interactions with alternative
or case indicators), and accurate to about ``h**2`` for smooth non-linear ones
(logs, splines). Transformers must act row by row (a row's features may not
depend on the attribute in other rows), as sklearn's transformers do.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._data import is_dense, key_values, label
from ._estimator import evaluate_utilities
from ._inference import estimate_table
from ._pipeline import split_model
from ._softmax import segment_logsumexp
from .inference import through_pipeline
from .reshape import check_long_frame

__all__ = [
    "SurplusChange",
    "apply_scenario",
    "consumer_surplus_change",
    "counterfactual",
    "elasticities",
    "logsum",
    "marginal_effects",
    "predict_shares",
    "simulate_choices",
    "willingness_to_pay",
]

# Relative step of the central difference through a pipeline: the cube root of the
# float64 epsilon balances truncation (h**2) and rounding (eps / h) errors.
_STEP = 6e-6


# --------------------------------------------------------------------------------
# Evaluating a model on long data
# --------------------------------------------------------------------------------


def _ids(X, key, what):
    """Per-row ids (ndarray) from an index level or a column of long X."""
    return np.asarray(key_values(X, key, what)[0])


@dataclass(frozen=True)
class _Evaluation:
    """A model evaluated on data, everything per canonical row or situation."""

    data: object  # ChoiceData (rows grouped by situation)
    utility: np.ndarray  # (n_rows,)
    proba: np.ndarray  # (n_rows,)
    lse: np.ndarray  # (n_situations,)
    weights: np.ndarray  # (n_situations,)
    user_rows: np.ndarray  # (n_rows,) position of each canonical row in X
    alt_codes: np.ndarray | None  # (n_rows,) codes into alt_labels
    alt_labels: pd.Index | None

    @property
    def segments(self):
        return self.data.segments

    def to_user(self, values):
        out = np.empty_like(values)
        out[self.user_rows] = values
        return out


def _evaluate(model, X, sample_weight=None, alternative_key=1, alternatives=True):
    prefix, est = split_model(model)
    features = X if prefix is None else prefix.transform(X)
    data, u = evaluate_utilities(est, features, sample_weight)
    lse, proba = segment_logsumexp(u, data.segments)
    n_rows = data.X.shape[0]
    user_rows = np.arange(n_rows) if data.rows is None else data.rows
    weights = (
        np.ones(data.n_situations) if data.sample_weight is None else data.sample_weight
    )
    alt_codes = alt_labels = None
    if alternatives:
        if is_dense(X):
            alt = data.user_alternative(np.arange(n_rows))
        else:
            alt = _ids(X, alternative_key, "alternative")[user_rows]
        alt_codes, alt_labels = pd.factorize(alt, sort=True)
        alt_labels = pd.Index(alt_labels, name=_alternative_name(X, alternative_key))
        _check_unique_pairs(data, alt_codes, alt_labels)
    return _Evaluation(data, u, proba, lse, weights, user_rows, alt_codes, alt_labels)


def _alternative_name(X, key):
    if is_dense(X):
        return "alternative"
    if isinstance(key, str):
        return key
    names = X.index.names
    return (
        names[key]
        if -len(names) <= key < len(names) and names[key]
        else ("alternative")
    )


def _check_unique_pairs(data, alt_codes, alt_labels):
    situation = data.segments.segment_of_rows()
    pair = situation.astype(np.int64) * (len(alt_labels) + 1) + alt_codes
    unique, counts = np.unique(pair, return_counts=True)
    if np.any(counts > 1):
        bad = unique[np.argmax(counts > 1)]
        s, a = divmod(int(bad), len(alt_labels) + 1)
        raise ValueError(
            f"alternative {label(alt_labels[a])} occurs on several rows of situation "
            f"{label(data.situation_labels[s])}: each alternative must have one row "
            "per situation (check alternative_key)"
        )


def _situation_index(X, data, model):
    _, est = split_model(model)
    name = "situation"
    if not is_dense(X):
        key = est.situation_key
        if isinstance(key, str):
            name = key
        elif X.index.names[key] is not None:
            name = X.index.names[key]
    return pd.Index(data.situation_labels, name=name)


# --------------------------------------------------------------------------------
# Shares and scenarios
# --------------------------------------------------------------------------------


def _shares(ev):
    w_rows = ev.segments.expand(ev.weights)
    totals = np.bincount(
        ev.alt_codes, weights=w_rows * ev.proba, minlength=len(ev.alt_labels)
    )
    return pd.Series(totals / ev.weights.sum(), index=ev.alt_labels, name="share")


def predict_shares(model, X, sample_weight=None, *, alternative_key=1):
    """Predicted market shares: weighted mean probability of each alternative.

    ``share_a = sum_s w_s pi(a|s) / sum_s w_s``, with ``pi(a|s) = 0`` where ``a``
    is not offered, so the shares sum to 1.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    X : pandas DataFrame of shape (n_rows, n_columns), or ndarray of shape \
            (n_situations, n_alternatives, n_features) for a bare estimator
        Long data (raw columns for a pipeline); for dense X the alternatives are
        the positions along axis 1.
    sample_weight : array-like of shape (n_rows,) or (n_situations,), default=None
        Situation weights (long: per row, constant within a situation).
    alternative_key : int or str, default=1
        Index level (or column) of X holding the alternative id.

    Returns
    -------
    pandas Series
        Indexed by the (sorted) alternative ids.

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.postestimation import predict_shares
    >>> X, y = make_choice_data(300, 3, 2, format="long", random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> float(predict_shares(est, X).sum())
    1.0
    """
    return _shares(_evaluate(model, X, sample_weight, alternative_key))


def apply_scenario(
    X,
    *,
    changes=None,
    alternatives=None,
    remove=None,
    add=None,
    alternative_key=1,
    situation_key=0,
):
    """A copy of long data with attributes changed and alternatives removed or added.

    Parameters
    ----------
    X : pandas DataFrame
        Long data; not modified.
    changes : dict or callable, default=None
        ``{column: new}`` where ``new`` is a scalar, an array of length
        ``len(X)`` in X's row order (a Series is aligned on X's index), or a
        callable applied to the column (a Series with X's index) that returns
        the new values, e.g. ``{"ic": lambda ic: 0.9 * ic}``; or a callable
        ``frame -> frame`` applied to the copy of X.
    alternatives : sequence, default=None
        Restrict a dict of ``changes`` to the rows of these alternatives (all rows
        when None).
    remove : sequence, default=None
        Alternatives whose rows are dropped. No situation may be left empty.
    add : pandas DataFrame, default=None
        Rows to append (same columns and index levels as X), e.g. a new
        alternative in existing situations.
    alternative_key, situation_key : int or str, default=1, 0
        Index levels (or columns) of the alternative and situation ids.

    Returns
    -------
    pandas DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> from skpolicy.postestimation import apply_scenario
    >>> X = pd.DataFrame({"price": [1.0, 2.0, 3.0, 4.0]},
    ...     index=pd.MultiIndex.from_tuples([(0, "a"), (0, "b"), (1, "a"), (1, "b")]))
    >>> apply_scenario(X, changes={"price": lambda p: p / 2},
    ...                alternatives=["b"])["price"].tolist()
    [1.0, 1.0, 3.0, 2.0]
    """
    check_long_frame(X, "apply_scenario")
    out = X.copy()
    alt = _ids(X, alternative_key, "alternative")
    known = pd.unique(alt)
    if changes is not None:
        if callable(changes):
            out = changes(out)
            if not isinstance(out, pd.DataFrame) or len(out) != len(X):
                raise ValueError(
                    "a callable scenario must return a DataFrame with the rows of X; "
                    "remove or add alternatives with remove= / add="
                )
        else:
            mask = np.ones(len(X), dtype=bool)
            if alternatives is not None:
                _check_known(alternatives, known, "alternatives")
                mask = np.isin(alt, list(alternatives))
            for column, new in changes.items():
                if column not in out.columns:
                    raise ValueError(
                        f"changes names column {column!r}, which X does not have "
                        f"(columns: {list(X.columns)})"
                    )
                values = new(out[column].copy()) if callable(new) else new
                if isinstance(values, pd.Series):
                    # Align on X's index, not on positions.
                    values = values.reindex(out.index)
                values = np.broadcast_to(np.asarray(values), (len(X),))
                merged = np.where(mask, values, out[column].to_numpy())
                out[column] = merged.astype(np.result_type(merged, float), copy=False)
    elif alternatives is not None:
        raise ValueError("alternatives restricts changes: give changes as a dict too")
    if remove is not None:
        remove = [remove] if np.isscalar(remove) else list(remove)
        _check_known(remove, known, "remove")
        out_alt = _ids(out, alternative_key, "alternative")
        situations = _ids(out, situation_key, "situation")
        keep = ~np.isin(out_alt, remove)
        left = pd.unique(situations[keep])
        emptied = np.setdiff1d(pd.unique(situations), left)
        if emptied.size:
            raise ValueError(
                f"removing {remove} leaves situation {label(emptied[0])} with no "
                "alternative: drop such situations from X first"
            )
        out = out[keep]
    if add is not None:
        out = _append_rows(out, add, situation_key, alternative_key)
    return out


def _check_known(values, known, what):
    values = [values] if np.isscalar(values) else list(values)
    unknown = [v for v in values if v not in set(known)]
    if unknown:
        raise ValueError(
            f"{what} names alternative(s) {unknown} that X does not offer "
            f"(alternatives: {sorted(map(str, known))})"
        )


def _append_rows(X, add, situation_key, alternative_key):
    if not isinstance(add, pd.DataFrame):
        raise TypeError(f"add must be a DataFrame of rows, got {type(add).__name__}")
    missing = [c for c in X.columns if c not in add.columns]
    extra = [c for c in add.columns if c not in X.columns]
    if missing or extra or add.index.nlevels != X.index.nlevels:
        raise ValueError(
            "add must have the columns and index levels of X: missing columns "
            f"{missing}, extra columns {extra}, {add.index.nlevels} index level(s) "
            f"for {X.index.nlevels}"
        )
    new_sit = _ids(add, situation_key, "situation")
    unknown = np.setdiff1d(
        pd.unique(new_sit), pd.unique(_ids(X, situation_key, "situation"))
    )
    if unknown.size:
        raise ValueError(
            f"add has rows for situation {label(unknown[0])}, which X does not "
            "have: added rows must extend existing situations"
        )
    out = pd.concat([X, add[list(X.columns)]])
    pairs = pd.MultiIndex.from_arrays(
        [
            _ids(out, situation_key, "situation"),
            _ids(out, alternative_key, "alternative"),
        ]
    )
    dup = pairs.duplicated()
    if dup.any():
        s, a = pairs[np.argmax(dup)]
        raise ValueError(
            f"add has a row for alternative {label(a)} in situation {label(s)}, "
            "which X already offers: change attributes with changes= instead"
        )
    return out


def counterfactual(
    model,
    X,
    *,
    changes=None,
    alternatives=None,
    remove=None,
    add=None,
    sample_weight=None,
    alternative_key=1,
):
    """Market shares before and after a scenario.

    The scenario is :func:`apply_scenario` (change attributes, remove or add
    alternatives); the model, through its pipeline, predicts on both data sets.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    X : pandas DataFrame
        Long data (raw columns); not modified.
    changes, alternatives, remove, add
        The scenario, as in :func:`apply_scenario`.
    sample_weight : array-like of shape (n_rows,), default=None
        Situation weights on the rows of X, constant within a situation; the
        situations keep them in the scenario.
    alternative_key : int or str, default=1

    Returns
    -------
    pandas DataFrame
        Indexed by alternative, with columns ``before``, ``after`` and ``change``
        (``after - before``); an alternative absent from one scenario has share 0
        there.

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.postestimation import counterfactual
    >>> X, y = make_choice_data(300, 3, 2, format="long", random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> table = counterfactual(est, X, remove=[2])
    >>> float(table.loc[2, "after"]), round(float(table["after"].sum()), 12)
    (0.0, 1.0)
    """
    check_long_frame(X, "counterfactual")
    _, est = split_model(model)
    before = _evaluate(model, X, sample_weight, alternative_key)
    X_after = apply_scenario(
        X,
        changes=changes,
        alternatives=alternatives,
        remove=remove,
        add=add,
        alternative_key=alternative_key,
        situation_key=est.situation_key,
    )
    after = _evaluate(model, X_after, None, alternative_key)
    where = pd.Index(before.data.situation_labels).get_indexer(
        after.data.situation_labels
    )
    if np.any(where < 0):
        raise ValueError(
            "the scenario changed the situation ids (situation "
            f"{label(after.data.situation_labels[np.argmax(where < 0)])} is new): a "
            "callable scenario must keep the index of X"
        )
    after = _with_weights(after, before.weights[where])
    table = pd.concat(
        [_shares(before).rename("before"), _shares(after).rename("after")], axis=1
    ).fillna(0.0)
    table["change"] = table["after"] - table["before"]
    return table


def _with_weights(ev, weights):
    return _Evaluation(
        ev.data,
        ev.utility,
        ev.proba,
        ev.lse,
        weights,
        ev.user_rows,
        ev.alt_codes,
        ev.alt_labels,
    )


# --------------------------------------------------------------------------------
# Derivatives of utilities with respect to a raw attribute
# --------------------------------------------------------------------------------


def _attribute_values(X, attribute):
    if attribute not in X.columns:
        raise ValueError(
            f"attribute {attribute!r} is not a column of X (columns: {list(X.columns)})"
        )
    column = X[attribute]
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise ValueError(
            f"attribute {attribute!r} has dtype {column.dtype}: derivatives need a "
            "numeric column"
        )
    return column.to_numpy(dtype=np.float64)


def _utility_derivative(model, X, attribute, ev):
    """``du/dx`` on every canonical row when the column ``attribute`` changes."""
    prefix, est = split_model(model)
    x = _attribute_values(X, attribute)
    if prefix is None:
        names = _coef_names(est)
        if attribute not in names:
            raise ValueError(
                f"attribute {attribute!r} is not a feature of the model (features: "
                f"{names})"
            )
        return np.full(x.shape[0], est.coef_[names.index(attribute)])
    scale = np.maximum(np.abs(x), np.mean(np.abs(x)))
    h = _STEP * np.where(scale > 0, scale, 1.0)
    utilities = []
    for sign in (1.0, -1.0):
        shifted = X.copy()
        shifted[attribute] = x + sign * h
        ev_shift = _evaluate(model, shifted, alternatives=False)
        utilities.append(ev_shift.utility)
    return (utilities[0] - utilities[1]) / (2 * h[ev.user_rows])


def _derivatives(model, X, attribute, kind, sample_weight, alternative_key):
    check_long_frame(X, "elasticities and marginal effects")
    if kind not in ("alternative", "case"):
        raise ValueError(f"kind={kind!r}: choose 'alternative' or 'case'")
    x = _attribute_values(X, attribute)
    ev = _evaluate(model, X, sample_weight, alternative_key)
    x = x[ev.user_rows]
    d = _utility_derivative(model, X, attribute, ev)
    if kind == "case":
        first = x[ev.segments.offsets[:-1]]
        varies = np.flatnonzero(x != ev.segments.expand(first))
        if varies.size:
            s = int(ev.segments.segment_of_rows()[varies[0]])
            raise ValueError(
                f"attribute {attribute!r} varies within situation "
                f"{label(ev.data.situation_labels[s])}, so it is not a case "
                "variable: use kind='alternative'"
            )
    return ev, x, d


def _per_alternative(ev, values):
    """Per-changed-alternative columns (canonical rows), NaN where not offered."""
    seg = ev.segments.segment_of_rows()
    n_sit = ev.data.n_situations
    columns = []
    for b in range(len(ev.alt_labels)):
        is_b = ev.alt_codes == b
        offered = np.zeros(n_sit, dtype=bool)
        offered[seg[is_b]] = True
        p_b = np.zeros(n_sit)
        p_b[seg[is_b]] = ev.proba[is_b]
        v_b = np.zeros(n_sit)
        v_b[seg[is_b]] = values[is_b]
        col = (is_b - ev.segments.expand(p_b)) * ev.segments.expand(v_b)
        columns.append(np.where(ev.segments.expand(offered), col, np.nan))
    return np.column_stack(columns)


def _row_frame(ev, X, columns):
    out = np.empty_like(columns)
    out[ev.user_rows] = columns
    frame = pd.DataFrame(out, index=X.index, columns=ev.alt_labels.copy())
    frame.columns.name = "changed alternative"
    return frame


def _aggregate(ev, per_row, weights_rows, denominator):
    """``sum over rows of alternative a of weights * per_row / denominator[a]``."""
    J = len(ev.alt_labels)
    values = np.nan_to_num(per_row) * weights_rows[:, None]
    sums = np.column_stack(
        [np.bincount(ev.alt_codes, weights=col, minlength=J) for col in values.T]
    )
    index = ev.alt_labels.copy()
    frame = pd.DataFrame(sums / denominator[:, None], index=index)
    frame.columns = ev.alt_labels.copy()
    frame.columns.name = "changed alternative"
    return frame


def elasticities(
    model,
    X,
    attribute,
    *,
    kind="alternative",
    aggregate=True,
    sample_weight=None,
    alternative_key=1,
):
    """Own and cross elasticities of the choice probabilities to an attribute.

    For an alternative attribute ``x`` (``kind="alternative"``) the elasticity of
    ``pi(a|s)`` to ``x`` on alternative ``b``'s row is
    ``E_sab = (delta_ab - pi(b|s)) x_sb du_sb/dx`` (own for ``a = b``, cross
    otherwise). For a case variable ``z_s`` (``kind="case"``, the same value on
    every row of a situation, e.g. income) it is
    ``E_sa = z_s (du_sa/dz - sum_k pi(k|s) du_sk/dz)``. The aggregate
    (probability-weighted, Train 2009 section 3.6 "sample enumeration") elasticity
    of alternative ``a``'s share is ``sum_s w_s pi(a|s) E_sa. / sum_s w_s pi(a|s)``:
    the percentage change of the predicted share when the attribute rises by one
    per cent in every situation.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    X : pandas DataFrame
        Long data with the raw column ``attribute``; not modified.
    attribute : str
        Column of X.
    kind : {"alternative", "case"}, default="alternative"
    aggregate : bool, default=True
        Return the aggregate elasticities instead of the per-situation ones.
    sample_weight : array-like of shape (n_rows,), default=None
        Situation weights for the aggregate.
    alternative_key : int or str, default=1

    Returns
    -------
    pandas DataFrame or Series
        ``kind="alternative"``: aggregate, a DataFrame indexed by the responding
        alternative ``a`` with one column per alternative ``b`` whose attribute
        changes (own elasticities on the diagonal); per situation, a DataFrame
        with X's index (the responding row) and one column per ``b``, NaN where
        the situation does not offer ``b``. ``kind="case"``: a Series indexed by
        alternative (aggregate) or by X's index (per situation).

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.postestimation import elasticities
    >>> X, y = make_choice_data(300, 3, 2, format="long", random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> elasticities(est, X, "x0").shape
    (3, 3)
    """
    ev, x, d = _derivatives(model, X, attribute, kind, sample_weight, alternative_key)
    w_rows = ev.segments.expand(ev.weights)
    denominator = np.bincount(
        ev.alt_codes, weights=w_rows * ev.proba, minlength=len(ev.alt_labels)
    )
    if kind == "case":
        dbar = ev.segments.sum(ev.proba * d)
        per_row = x * (d - ev.segments.expand(dbar))
        if aggregate:
            return _case_aggregate(
                ev, per_row * ev.proba * w_rows, denominator, "elasticity"
            )
        return pd.Series(ev.to_user(per_row), index=X.index, name="elasticity")
    per_row = _per_alternative(ev, d * x)
    if aggregate:
        return _aggregate(ev, per_row, w_rows * ev.proba, denominator)
    return _row_frame(ev, X, per_row)


def _case_aggregate(ev, weighted, denominator, name):
    sums = np.bincount(ev.alt_codes, weights=weighted, minlength=len(ev.alt_labels))
    return pd.Series(sums / denominator, index=ev.alt_labels.copy(), name=name)


def marginal_effects(
    model,
    X,
    attribute,
    *,
    kind="alternative",
    aggregate=True,
    sample_weight=None,
    alternative_key=1,
):
    """Marginal effects of an attribute on the choice probabilities.

    ``d pi(a|s) / d x_sb = pi(a|s) (delta_ab - pi(b|s)) du_sb/dx`` for an
    alternative attribute, ``d pi(a|s) / d z_s = pi(a|s) (du_sa/dz -
    sum_k pi(k|s) du_sk/dz)`` for a case variable. The aggregate is the average
    marginal effect on the predicted shares, ``sum_s w_s d pi(a|s) / sum_s w_s``:
    the change of alternative ``a``'s share per unit increase of the attribute (on
    ``b`` in every situation that offers it).

    Parameters and the layout of the result are those of :func:`elasticities`.

    Returns
    -------
    pandas DataFrame or Series

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.postestimation import marginal_effects
    >>> X, y = make_choice_data(300, 3, 2, format="long", random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> effects = marginal_effects(est, X, "x0")
    >>> bool(abs(effects.sum(axis=0)).max() < 1e-12)  # shares still sum to 1
    True
    """
    ev, _, d = _derivatives(model, X, attribute, kind, sample_weight, alternative_key)
    w_rows = ev.segments.expand(ev.weights)
    total = np.full(len(ev.alt_labels), ev.weights.sum())
    if kind == "case":
        dbar = ev.segments.sum(ev.proba * d)
        per_row = ev.proba * (d - ev.segments.expand(dbar))
        if aggregate:
            return _case_aggregate(ev, per_row * w_rows, total, "marginal effect")
        return pd.Series(ev.to_user(per_row), index=X.index, name="marginal effect")
    per_row = ev.proba[:, None] * _per_alternative(ev, d)
    if aggregate:
        return _aggregate(ev, per_row, w_rows, total)
    return _row_frame(ev, X, per_row)


# --------------------------------------------------------------------------------
# Willingness to pay
# --------------------------------------------------------------------------------


def willingness_to_pay(
    model,
    attributes,
    cost,
    X=None,
    y=None,
    sample_weight=None,
    *,
    cov_type="hessian",
    groups=None,
    confidence=0.95,
):
    """Willingness to pay: coefficient ratios with delta-method standard errors.

    ``wtp_k = -coef_k / coef_cost``: the cost increase that leaves utility
    unchanged when attribute ``k`` rises by one unit (``coef_k + coef_cost *
    wtp_k = 0``). It is positive for a desirable attribute when cost has a
    negative coefficient; for an undesirable one (time), ``-wtp_k`` is the value
    of a unit saved. The standard error is the delta method's
    ``sqrt(g^T V g)`` with ``g = (-1 / coef_cost, coef_k / coef_cost**2)`` and
    ``V`` the covariance of ``(coef_k, coef_cost)`` of type ``cov_type``.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    attributes : str or sequence of str
        Coefficient names (the final estimator's ``feature_names_in_``).
    cost : str
        Name of the cost coefficient.
    X, y, sample_weight : default=None
        Training data (raw columns for a pipeline), needed for every
        ``cov_type`` but ``"hessian"``.
    cov_type : {"hessian", "opg", "HC0", "robust", "cluster"}, default="hessian"
    groups : array-like, str or int, default=None
        Cluster ids, as in ``covariance_matrix`` (index level or column names are
        read from the raw X).
    confidence : float, default=0.95

    Returns
    -------
    pandas DataFrame
        Indexed by attribute, with columns ``wtp``, ``std err``, ``z``,
        ``P>|z|`` and the confidence bounds.

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.postestimation import willingness_to_pay
    >>> X, y = make_choice_data(500, 3, 2, coef=[1.0, -0.5], format="long",
    ...                         random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> list(willingness_to_pay(est, "x0", cost="x1").columns[:2])
    ['wtp', 'std err']
    """
    _, est = split_model(model)
    names = _coef_names(est)
    attributes = [attributes] if isinstance(attributes, str) else list(attributes)
    for name in [*attributes, cost]:
        if name not in names:
            raise ValueError(
                f"{name!r} is not a coefficient of the model (coefficients: {names})"
            )
    if cost in attributes:
        raise ValueError(f"cost {cost!r} is also among the attributes")
    c = names.index(cost)
    theta_c = float(est.coef_[c])
    if theta_c == 0:
        raise ValueError(f"the cost coefficient {cost!r} is 0: no ratio exists")
    _, X, groups = through_pipeline(model, X, groups)
    cov = est.covariance_matrix(
        X, y, sample_weight, cov_type=cov_type, groups=groups
    ).to_numpy()
    estimates, errors = [], []
    for name in attributes:
        k = names.index(name)
        theta_k = float(est.coef_[k])
        grad = np.array([-1.0 / theta_c, theta_k / theta_c**2])
        sub = cov[np.ix_([k, c], [k, c])]
        estimates.append(-theta_k / theta_c)
        errors.append(float(np.sqrt(grad @ sub @ grad)))
    index = pd.Index(attributes, name=f"wtp in units of {cost}")
    return estimate_table(
        pd.Series(estimates, index=index),
        pd.Series(errors, index=index),
        confidence,
        name="wtp",
    )


# --------------------------------------------------------------------------------
# Log-sum, consumer surplus and simulated choices
# --------------------------------------------------------------------------------


def logsum(model, X):
    """Expected maximum utility of each situation, ``log sum_a exp(u_sa)``.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    X : pandas DataFrame, or ndarray of shape (n_situations, n_alternatives, \
            n_features) for a bare estimator

    Returns
    -------
    pandas Series
        Indexed by situation id, in order of first appearance in X.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.postestimation import logsum
    >>> X, y = make_choice_data(100, 3, 2, random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> bool(np.allclose(logsum(est, X), np.log(np.exp(est.decision_function(X))
    ...                                            .sum(axis=1))))
    True
    """
    ev = _evaluate(model, X, alternatives=False)
    return pd.Series(ev.lse, index=_situation_index(X, ev.data, model), name="logsum")


@dataclass(frozen=True)
class SurplusChange:
    """Consumer-surplus change between two scenarios.

    Attributes
    ----------
    per_situation : pandas DataFrame
        Indexed by situation: ``logsum_before``, ``logsum_after``,
        ``marginal_utility_of_money`` (``-du/dcost``), ``cs_change`` and
        ``weight``.
    total : float
        ``sum_s w_s cs_change_s``.
    mean : float
        ``total / sum_s w_s``.
    """

    per_situation: pd.DataFrame
    total: float
    mean: float


def consumer_surplus_change(model, X_before, X_after, *, cost, sample_weight=None):
    """Change of consumer surplus between two scenarios (log-sum formula).

    ``cs_change_s = (logsum_after_s - logsum_before_s) / lambda_s`` with
    ``lambda_s = -du/dcost`` the marginal utility of money (Small and Rosen 1981;
    Train 2009 section 3.5). It assumes utility linear in cost within a situation.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    X_before, X_after : pandas DataFrame
        Long data of the same situations (alternatives may differ), e.g.
        ``X_after = apply_scenario(X_before, ...)``.
    cost : str
        The cost attribute: a raw column of X (``lambda`` is then the derivative
        of utility through the pipeline, so scaled costs are handled), or else the
        name of the final estimator's cost coefficient (``lambda = -coef``).
    sample_weight : array-like of shape (n_rows of X_before,), default=None
        Situation weights for the total.

    Returns
    -------
    SurplusChange

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.postestimation import apply_scenario, consumer_surplus_change
    >>> X, y = make_choice_data(300, 3, 2, coef=[1.0, -0.5], format="long",
    ...                         random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> cheaper = apply_scenario(X, changes={"x1": lambda c: c - 1.0})
    >>> change = consumer_surplus_change(est, X, cheaper, cost="x1")
    >>> round(change.mean, 6)  # every alternative 1 cheaper: surplus rises by 1
    1.0
    """
    check_long_frame(X_before, "consumer_surplus_change")
    check_long_frame(X_after, "consumer_surplus_change")
    _, est = split_model(model)
    before = _evaluate(model, X_before, sample_weight, alternatives=False)
    after = _evaluate(model, X_after, alternatives=False)
    labels_b = pd.Index(before.data.situation_labels)
    labels_a = pd.Index(after.data.situation_labels)
    where = labels_a.get_indexer(labels_b)
    if np.any(where < 0) or len(labels_a) != len(labels_b):
        missing = (
            labels_b[where < 0] if np.any(where < 0) else labels_a.difference(labels_b)
        )
        raise ValueError(
            "X_before and X_after must hold the same situations; situation "
            f"{label(missing[0])} is in only one of them"
        )
    if cost in X_before.columns:
        derivative = _utility_derivative(model, X_before, cost, before)
    elif cost in _coef_names(est):
        derivative = np.full(
            before.data.X.shape[0], est.coef_[_coef_names(est).index(cost)]
        )
    else:
        raise ValueError(
            f"cost={cost!r} is neither a column of X nor a coefficient of the model "
            f"(coefficients: {_coef_names(est)})"
        )
    segments = before.segments
    lam = -derivative[segments.offsets[:-1]]
    varies = np.flatnonzero(
        ~np.isclose(-derivative, segments.expand(lam), rtol=1e-6, atol=0)
    )
    if varies.size:
        s = int(segments.segment_of_rows()[varies[0]])
        raise ValueError(
            f"the marginal utility of {cost!r} varies between the alternatives of "
            f"situation {label(before.data.situation_labels[s])}: the log-sum "
            "formula needs utility linear in cost with one coefficient per situation"
        )
    if np.any(lam <= 0):
        raise ValueError(
            f"utility does not decrease with {cost!r} (du/dcost = {-lam.min():.4g} "
            ">= 0): a cost must have a negative coefficient for the consumer "
            "surplus formula"
        )
    delta = (after.lse[where] - before.lse) / lam
    frame = pd.DataFrame(
        {
            "logsum_before": before.lse,
            "logsum_after": after.lse[where],
            "marginal_utility_of_money": lam,
            "cs_change": delta,
            "weight": before.weights,
        },
        index=_situation_index(X_before, before.data, model),
    )
    total = float(before.weights @ delta)
    return SurplusChange(frame, total, total / float(before.weights.sum()))


def simulate_choices(model, X, *, random_state=None):
    """Choices drawn from the model's probabilities, one per situation.

    Parameters
    ----------
    model : fitted SoftmaxChoiceEstimator or Pipeline ending in one
    X : pandas DataFrame, or ndarray of shape (n_situations, n_alternatives, \
            n_features) for a bare estimator
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    ndarray of shape (n_rows,) or (n_situations,)
        Long X: 1 on the chosen row of each situation, 0 elsewhere (usable as y).
        Dense X: the chosen alternative's index.

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.postestimation import simulate_choices
    >>> X, y = make_choice_data(100, 3, 2, format="long", random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> y_sim = simulate_choices(est, X, random_state=0)
    >>> int(y_sim.sum())
    100
    """
    rng = check_random_state(random_state)
    ev = _evaluate(model, X, alternatives=False)
    # Gumbel-max: the argmax of utility plus standard Gumbel noise is a draw from
    # the softmax, with no cumulative sums over ragged situations.
    noisy = ev.utility + rng.gumbel(size=ev.utility.shape[0])
    chosen = ev.segments.argmax(noisy)
    if ev.data.dense:
        return ev.data.user_alternative(chosen)
    out = np.zeros(ev.utility.shape[0], dtype=np.int64)
    out[ev.user_rows[chosen]] = 1
    return out


def _coef_names(est):
    """Coefficient names: ``feature_names_in_``, or ``x0, x1, ...`` for arrays."""
    if hasattr(est, "feature_names_in_"):
        return [str(n) for n in est.feature_names_in_]
    return [f"x{k}" for k in range(len(est.coef_))]
