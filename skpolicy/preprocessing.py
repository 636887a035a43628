"""Model specification as a scikit-learn transformer on long choice data.

A conditional logit's utility ``u_sa = phi(s, a) @ coef`` mixes four kinds of
terms (mlogit's formula parts, Stata's ``cmclogit`` options):

- **alternative-specific constants** ``asc[a]``: 1 on the rows of alternative
  ``a``, for every alternative but a reference;
- **generic** attributes: a column of the long data with one coefficient;
- **case variables** (situation-level: income, age) interacted with the
  alternatives, ``income:a`` for every alternative but the reference (a variable
  that is the same on every row of a situation cancels from the softmax);
- **alternative-specific** attributes: ``time:a``, one coefficient per alternative
  (or per alternative of a subset).

:class:`ChoiceSpecification` builds these columns from the alternative id in the
index, fitted per cross-validation fold like any transformer, and names them as
mlogit and Stata users expect, so the names reach ``feature_names_in_`` of the
estimator and its coefficient table.
"""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._data import check_numeric_columns, key_values, label
from .formula import fit_expression, parse_formula, transform_expression
from .reshape import check_long_frame

__all__ = ["ChoiceSpecification"]

ENCODE_HINT = (
    "ChoiceSpecification multiplies columns by alternative indicators, so every "
    "column it uses must be numeric: encode categorical columns first, e.g. with "
    "OneHotEncoder(sparse_output=False) in a ColumnTransformer with "
    '.set_output(transform="pandas"), and list the encoded columns (or write '
    "C(column) as a term, which needs formulaic)"
)


def _terms(value, X, role):
    """A role parameter (None, str, list or column selector) as a list of terms."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if callable(value):
        value = value(X)
    terms = list(value)
    seen = pd.Index(terms)
    if seen.has_duplicates:
        raise ValueError(
            f"{label(seen[seen.duplicated()][0])} is listed twice in {role}="
        )
    return terms


def _specific_terms(value, X):
    """alternative_specific as {term: list of alternatives, or None for all}."""
    if isinstance(value, dict):
        out = {}
        for term, alts in value.items():
            if alts is not None and (isinstance(alts, str) or np.ndim(alts) == 0):
                alts = [alts]
            out[term] = None if alts is None else list(alts)
        return out
    return dict.fromkeys(_terms(value, X, "alternative_specific"))


class ChoiceSpecification(TransformerMixin, BaseEstimator):
    """Constants, generic, case-variable and alternative-specific terms.

    Turns long choice data (one row per available (situation, alternative), the
    alternative id in an index level) into the design columns of a conditional
    logit, in mlogit's order and with mlogit/Stata-style names:

    ============================  ====================  =======================
    term                          columns               value on a row of alt b
    ============================  ====================  =======================
    constants (``constants``)     ``asc[a]``, a != ref  1 if b == a else 0
    ``generic=["cost"]``          ``cost``              cost
    ``case=["income"]``           ``income:a``, a != ref income if b == a else 0
    ``alternative_specific``      ``time:a``            time if b == a else 0
    ============================  ====================  =======================

    Columns of X that no term uses are dropped. A term enters only the rows of
    its alternatives, so its values on the other rows are never read (they may
    be NaN, e.g. an attribute that only some alternatives have).

    Parameters
    ----------
    generic : list of str, str or callable, default=None
        Attributes with one coefficient for all alternatives, passed through. A
        callable (such as :func:`~sklearn.compose.make_column_selector`) is
        called on X at fit and returns the column names.
    case : list of str, str or callable, default=None
        Case (situation-level) variables, interacted with every alternative but
        the reference.
    alternative_specific : list of str, str or dict, default=None
        Attributes with one coefficient per alternative: a list (all
        alternatives) or a dict ``{term: [alternatives]}`` restricting a term to
        a subset (``{term: None}`` means all).
    constants : bool, default=True
        Add alternative-specific constants for every alternative but the
        reference.
    reference : object, default=None
        The reference alternative, whose constant and case interactions are
        fixed at 0. None: the first of ``alternatives`` (by default the first
        label in sorted order, like mlogit's default ``reflevel``).
    alternatives : array-like, default=None
        The alternatives expected in the training data, in the order of the
        output columns; each must appear there. None: the labels found at fit,
        sorted.
    alternative_key : int or str, default=1
        Index level (position or name) holding the alternative id; a str that is
        not a level name is taken as a column.

    Terms are column names of X or, when they are not, expressions such as
    ``log(cost)``, ``I(cost / income)``, ``cost:income`` or ``C(region)``,
    evaluated with the optional dependency formulaic (see :mod:`skpolicy.formula`);
    a term that yields several columns (``C(region)``) gives several generic
    columns, or interactions named ``<column>:<alternative>``.

    Attributes
    ----------
    alternatives_ : ndarray of shape (n_alternatives,)
        The alternatives of the training data (or ``alternatives``), in output
        order.
    reference_ : object or None
        The reference alternative; None when no constants and no case terms are
        specified.
    n_features_in_ : int
        Number of columns of X at fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X at fit, when they are all strings.

    See Also
    --------
    skpolicy.formula.parse_formula : the formula grammar of :meth:`from_formula`.
    skpolicy.reshape.wide_to_long : wide tables to long choice data.

    Notes
    -----
    Predicting on data with an alternative that was not seen at fit works when
    the specification needs no per-alternative coefficient for it: generic terms
    and alternative-specific terms restricted to a subset. Constants, case
    interactions and alternative-specific terms for all alternatives raise a
    ValueError naming the alternative.

    ``transform`` returns a DataFrame with the index of X even without
    ``set_output`` (the estimator reads the situation ids from the index);
    ``set_output(transform="pandas")`` on the enclosing Pipeline keeps the index
    through the other steps too.

    Examples
    --------
    >>> import pandas as pd
    >>> from skpolicy.preprocessing import ChoiceSpecification
    >>> X = pd.DataFrame(
    ...     {"cost": [10.0, 4.0, 2.0, 12.0, 5.0], "income": [3, 3, 3, 5, 5]},
    ...     index=pd.MultiIndex.from_tuples(
    ...         [(0, "car"), (0, "bus"), (0, "walk"), (1, "car"), (1, "bus")],
    ...         names=["id", "mode"],
    ...     ),
    ... )
    >>> spec = ChoiceSpecification(generic=["cost"], case=["income"])
    >>> spec.fit_transform(X)
             asc[car]  asc[walk]  cost  income:car  income:walk
    id mode
    0  car        1.0        0.0  10.0         3.0          0.0
       bus        0.0        0.0   4.0         0.0          0.0
       walk       0.0        1.0   2.0         0.0          3.0
    1  car        1.0        0.0  12.0         5.0          0.0
       bus        0.0        0.0   5.0         0.0          0.0
    >>> ChoiceSpecification.from_formula("cost | income").get_params() == (
    ...     spec.get_params())
    True

    In a pipeline the names become the estimator's ``feature_names_in_``:

    >>> from sklearn.pipeline import make_pipeline
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> pipe = make_pipeline(
    ...     ChoiceSpecification(alternative_specific={"cost": ["car"]}),
    ...     SoftmaxChoiceEstimator(alpha=0.1),
    ... ).set_output(transform="pandas")
    >>> pipe.fit(X, [0, 1, 0, 1, 0])[-1].feature_names_in_.tolist()
    ['asc[car]', 'asc[walk]', 'cost:car']
    """

    _parameter_constraints = {
        "generic": [list, tuple, str, callable, None],
        "case": [list, tuple, str, callable, None],
        "alternative_specific": [list, tuple, str, dict, None],
        "constants": ["boolean"],
        "reference": "no_validation",
        "alternatives": ["array-like", None],
        "alternative_key": [Integral, str],
    }

    def __init__(
        self,
        generic=None,
        case=None,
        alternative_specific=None,
        *,
        constants=True,
        reference=None,
        alternatives=None,
        alternative_key=1,
    ):
        self.generic = generic
        self.case = case
        self.alternative_specific = alternative_specific
        self.constants = constants
        self.reference = reference
        self.alternatives = alternatives
        self.alternative_key = alternative_key

    @classmethod
    def from_formula(
        cls, formula, *, reference=None, alternatives=None, alternative_key=1
    ):
        """The specification of an mlogit-style formula.

        ``"cost + freq | income | time"`` is generic | case variables |
        alternative-specific; constants are included unless the second part
        holds ``0`` or ``-1`` (``"ic + oc | 0"``). See
        :func:`skpolicy.formula.parse_formula`.

        Parameters
        ----------
        formula : str
            The formula.
        reference, alternatives, alternative_key
            As in the constructor.

        Returns
        -------
        spec : ChoiceSpecification
            Unfitted; equal (same ``get_params()``) to the specification written
            out by hand.

        Examples
        --------
        >>> from skpolicy.preprocessing import ChoiceSpecification
        >>> ChoiceSpecification.from_formula("ic + oc", reference="hp")
        ChoiceSpecification(generic=['ic', 'oc'], reference='hp')
        """
        return cls(
            **parse_formula(formula),
            reference=reference,
            alternatives=alternatives,
            alternative_key=alternative_key,
        )

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the alternatives, the reference and any expression terms.

        Parameters
        ----------
        X : pandas DataFrame of shape (n_rows, n_columns)
            Long choice data; the alternative id in index level
            ``alternative_key``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        check_long_frame(X, type(self).__name__)
        validate_data(self, X, reset=True, skip_check_array=True)
        ids, _ = key_values(X, self.alternative_key, "alternative")
        found = pd.Index(ids.unique())
        alternatives = self._check_alternatives(found, ids.name)

        generic = _terms(self.generic, X, "generic")
        case = _terms(self.case, X, "case")
        specific = _specific_terms(self.alternative_specific, X)
        for term, subset in specific.items():
            absent = [a for a in subset or [] if a not in found]
            if absent:
                raise ValueError(
                    f"alternative_specific={{{term!r}: {subset!r}}} names "
                    f"alternative(s) {absent} that never appear in X at fit "
                    f"(alternatives found: {list(alternatives)}): their "
                    "coefficients cannot be estimated"
                )
        uses_reference = self.constants or bool(case)
        reference = None
        if uses_reference:
            reference = alternatives[0] if self.reference is None else self.reference
        if self.reference is not None and self.reference not in found:
            raise ValueError(
                f"reference={self.reference!r} never appears in X at fit "
                f"(alternatives found: {list(alternatives)}); the other "
                "alternatives' constants and case interactions are relative to it"
            )

        # Fit every distinct term once (expressions may be stateful).
        term_state = {
            term: self._fit_term(term, X)
            for term in dict.fromkeys([*generic, *case, *specific])
        }

        position = {a: j for j, a in enumerate(alternatives)}
        others = [a for a in alternatives if a != reference]
        # One (term or None, sub-column, alternative index or None) per output.
        plan = []
        names = []
        if self.constants:
            plan += [(None, 0, position[a]) for a in others]
            names += [f"asc[{a}]" for a in others]
        for terms, alts in (
            [(generic, None)]
            + [([t], others) for t in case]
            + [([t], alternatives if s is None else s) for t, s in specific.items()]
        ):
            for term in terms:
                for k, sub in enumerate(term_state[term][1]):
                    if alts is None:
                        plan.append((term, k, None))
                        names.append(str(sub))
                    else:
                        plan += [(term, k, position[a]) for a in alts]
                        names += [f"{sub}:{a}" for a in alts]
        if not plan:
            raise ValueError(
                "the specification has no term: give generic, case or "
                "alternative_specific terms, or constants=True"
            )
        duplicated = pd.Index(names).duplicated()
        if duplicated.any():
            raise ValueError(
                f"the output column {names[int(np.argmax(duplicated))]!r} would be "
                "produced twice: a term is listed twice, or a generic column "
                "already has the name of an interaction"
            )
        self.alternatives_ = np.asarray(alternatives, dtype=object)
        self.reference_ = reference
        self._term_state = term_state
        self._plan = plan
        self._names_out = np.asarray(names, dtype=object)
        # The terms that need a coefficient for every alternative: they make an
        # alternative unseen at fit an error at transform.
        self._per_alternative = [
            *(["constants"] if self.constants else []),
            *[f"case interactions of {t!r}" for t in case],
            *[
                f"alternative-specific terms of {t!r}"
                for t, s in specific.items()
                if s is None
            ],
        ]
        return self

    def _check_alternatives(self, found, level_name):
        if self.alternatives is None:
            try:
                return list(found.sort_values())
            except TypeError:  # labels of mixed types: order of appearance
                return list(found)
        alternatives = list(self.alternatives)
        listed = pd.Index(alternatives)
        if listed.has_duplicates:
            raise ValueError(
                f"alternatives= lists {label(listed[listed.duplicated()][0])} twice"
            )
        absent = [a for a in alternatives if a not in found]
        if absent:
            raise ValueError(
                f"alternative(s) {absent} of alternatives= never appear in X at fit "
                f"(index level {level_name!r} holds {list(found)}): their "
                "coefficients cannot be estimated"
            )
        extra = [a for a in found if a not in listed]
        if extra:
            raise ValueError(
                f"X has alternative(s) {extra} that are not in "
                f"alternatives={alternatives}"
            )
        return alternatives

    def _fit_term(self, term, X):
        """State of a term: ("column", [name]) or (formulaic spec, [names])."""
        if term in X.columns:
            check_numeric_columns(X[[term]], ENCODE_HINT)
            return ("column", [term])
        if isinstance(term, str) and not term.isidentifier():
            spec, names = fit_expression(term, X)
            return (spec, names)
        raise ValueError(
            f"column {term!r} is not in X (columns: {list(X.columns)}). "
            "Inside a Pipeline, the columns are the previous step's "
            "get_feature_names_out()"
        )

    # ------------------------------------------------------------ transform
    def transform(self, X):
        """Design columns of the specification.

        Parameters
        ----------
        X : pandas DataFrame of shape (n_rows, n_columns)
            Long choice data with the columns seen at fit.

        Returns
        -------
        X_out : pandas DataFrame of shape (n_rows, n_features_out)
            Float columns named by :meth:`get_feature_names_out`, with the index
            of X.
        """
        check_is_fitted(self, "_plan")
        check_long_frame(X, type(self).__name__)
        validate_data(self, X, reset=False, skip_check_array=True)
        ids, _ = key_values(X, self.alternative_key, "alternative")
        codes = pd.Index(self.alternatives_).get_indexer(ids)
        unseen = codes < 0
        if unseen.any() and self._per_alternative:
            new = list(pd.unique(np.asarray(ids[unseen], dtype=object)))
            raise ValueError(
                f"X contains alternative(s) {new} not seen at fit (alternatives: "
                f"{list(self.alternatives_)}); the specification has "
                f"{', '.join(self._per_alternative)}, which need a coefficient for "
                "each alternative. Only generic terms (and alternative-specific "
                "terms restricted to a subset) can score unseen alternatives: "
                "refit on data that contains them"
            )
        values = {}
        for term, (state, names) in self._term_state.items():
            if state == "column":
                check_numeric_columns(X[[term]], ENCODE_HINT)
                values[term] = X[[term]].to_numpy(dtype=float)
            else:
                values[term] = transform_expression(state, names, X)
        out = np.empty((X.shape[0], len(self._plan)))
        for k, (term, sub, j) in enumerate(self._plan):
            if term is None:
                out[:, k] = codes == j
            elif j is None:
                out[:, k] = values[term][:, sub]
            else:
                # where, not a product: values on other alternatives' rows
                # (possibly NaN) are never read.
                out[:, k] = np.where(codes == j, values[term][:, sub], 0.0)
        return pd.DataFrame(out, index=X.index, columns=self._names_out)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Must equal ``feature_names_in_`` when given.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``asc[a]``, then generic names, then ``<case>:<a>``, then
            ``<attribute>:<a>``.
        """
        check_is_fitted(self, "_plan")
        _check_feature_names_in(self, input_features)
        return self._names_out.copy()
