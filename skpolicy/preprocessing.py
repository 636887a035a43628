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
mlogit and Stata users expect (or as the user renames them with ``names=``), so
the names reach ``feature_names_in_`` of the estimator and its coefficient table.

:func:`subset_alternatives` is mlogit's ``alt.subset``: it keeps some alternatives
and the situations that chose one of them, for X, y and sample_weight together
(a transformer cannot drop rows of y).
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

from ._data import (
    check_numeric_columns,
    key_values,
    label,
    locate_key,
    situation_codes,
)
from .formula import fit_expression, parse_formula, transform_expression
from .reshape import check_long_frame

__all__ = ["ChoiceSpecification", "subset_alternatives"]

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


def _subset_terms(value, X, role):
    """case / alternative_specific as {term: list of alternatives, or None}."""
    if isinstance(value, dict):
        out = {}
        for term, alts in value.items():
            if alts is not None and (isinstance(alts, str) or np.ndim(alts) == 0):
                alts = [alts]
            out[term] = None if alts is None else list(alts)
        return out
    return dict.fromkeys(_terms(value, X, role))


def _resolve_subset(subset, found, term, role):
    """The listed alternatives as the labels of X.

    A str that is not a label but equals the ``str()`` of exactly one label
    stands for it (a formula's ``time[1, 2]`` for integer alternative ids).
    """
    by_text = {}
    for a in found:
        by_text.setdefault(str(a), []).append(a)
    out, absent = [], []
    for a in subset:
        if a in found:
            out.append(a)
        elif isinstance(a, str) and len(by_text.get(a, ())) == 1:
            out.append(by_text[a][0])
        else:
            absent.append(a)
    if absent:
        raise ValueError(
            f"{role}={{{term!r}: {subset!r}}} names alternative(s) {absent} that "
            f"never appear in X at fit (alternatives found: {list(found)}): their "
            "coefficients cannot be estimated"
        )
    if len(set(out)) < len(out):
        raise ValueError(f"{role}={{{term!r}: {subset!r}}} lists an alternative twice")
    return out


def _rename(names, mapping):
    """Generated output names after the user's ``names=`` mapping or callable."""
    if mapping is None:
        return names
    if callable(mapping):
        renamed = [mapping(n) for n in names]
    else:
        produced = set(names)
        unknown = [k for k in mapping if k not in produced]
        if unknown:
            raise ValueError(
                f"names= renames {unknown}, which the specification does not "
                f"produce; its columns are {names}"
            )
        renamed = [mapping.get(n, n) for n in names]
    bad = [r for r in renamed if not isinstance(r, str) or not r]
    if bad:
        raise ValueError(f"names= must give non-empty str names, got {bad[0]!r}")
    index = pd.Index(renamed)
    if index.has_duplicates:
        twice = index[index.duplicated()][0]
        sources = [n for n, r in zip(names, renamed, strict=True) if r == twice]
        raise ValueError(
            f"names= gives the name {twice!r} to several columns "
            f"({sources}); coefficient names must be unique"
        )
    return renamed


def _alternative_variable(X, alternative_key):
    """Name under which expressions see the alternative id, or None.

    None when the id is a column (expressions see it already) or when a column
    of X already has the level's name (the column wins).
    """
    kind, where = locate_key(X, alternative_key, "alternative_key")
    if kind == "column":
        return None
    name = X.index.names[where]
    name = "alternative" if name is None else name
    return None if name in X.columns else name


class _ExpressionFrame:
    """X with the alternative id as a column, built once and only if needed."""

    def __init__(self, X, ids, name):
        self._X, self._ids, self._name = X, ids, name
        self._frame = None

    def get(self):
        if self._frame is None:
            if self._name is None:
                self._frame = self._X
            else:
                frame = self._X.copy(deep=False)
                frame[self._name] = np.asarray(self._ids)
                self._frame = frame
        return self._frame


class ChoiceSpecification(TransformerMixin, BaseEstimator):
    """Constants, generic, case-variable and alternative-specific terms.

    Turns long choice data (one row per available (situation, alternative), the
    alternative id in an index level) into the design columns of a conditional
    logit, in mlogit's order and with mlogit/Stata-style names:

    ============================  ========================  =======================
    term                          columns                   value on a row of alt b
    ============================  ========================  =======================
    constants (``constants``)     ``asc[a]``, a != ref      1 if b == a else 0
    ``generic=["cost"]``          ``cost``                  cost
    ``case=["income"]``           ``income:a``, a != ref    income if b == a else 0
    ``alternative_specific``      ``time:a``                time if b == a else 0
    ============================  ========================  =======================

    Columns of X that no term uses are dropped. A term enters only the rows of
    its alternatives, so its values on the other rows are never read (they may
    be NaN, e.g. an attribute that only some alternatives have).

    Parameters
    ----------
    generic : list of str, str or callable, default=None
        Attributes with one coefficient for all alternatives, passed through. A
        callable (such as :func:`~sklearn.compose.make_column_selector`) is
        called on X at fit and returns the column names.
    case : list of str, str, callable or dict, default=None
        Case (situation-level) variables, interacted with every alternative but
        the reference; a dict ``{term: [alternatives]}`` interacts a term with
        the listed alternatives only (``{"income": ["air"]}``: an income
        coefficient for air, the other alternatives' fixed at 0; the formula
        ``"... | income[air]"``), ``{term: None}`` with all but the reference.
        A subset may name any alternatives but not all of them (a case variable
        interacted with every alternative cancels from the softmax).
    alternative_specific : list of str, str or dict, default=None
        Attributes with one coefficient per alternative: a list (all
        alternatives) or a dict ``{term: [alternatives]}`` restricting a term to
        a subset (``{term: None}`` means all; the formula ``"... | | time[car,
        bus]"``).
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
    names : dict or callable, default=None
        User-chosen names for the output columns, and so for the estimator's
        ``feature_names_in_`` and coefficient tables: a dict from generated
        name to new name (``{"asc[car]": "const_car", "income:air":
        "income_air"}``; unlisted columns keep their generated name, a key that
        the specification does not produce is an error) or a callable applied
        to every generated name (``lambda n: n.replace(":", "_")``). The new
        names must be unique non-empty strings.

    Terms are column names of X or, when they are not, expressions such as
    ``log(cost)``, ``I(cost / income)``, ``cost:income`` or ``C(region)``,
    evaluated with the optional dependency formulaic (see :mod:`skpolicy.formula`);
    a term that yields several columns (``C(region)``) gives several generic
    columns, or interactions named ``<column>:<alternative>``. Expressions see
    the alternative id as a variable named after its index level
    (``alternative`` when the level has no name; a column of X with that name
    takes precedence), so mlogit's way of restricting a term to some
    alternatives works as written: with the level named ``mode``, the generic
    term ``I(income * (mode == "air"))`` is income on the air rows and 0
    elsewhere, and ``I(cost * mode.isin(["car", "bus"]))`` gives car and bus
    one shared cost coefficient.

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
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X at fit, when they are all strings.

    See Also
    --------
    skpolicy.formula.parse_formula : the formula grammar of :meth:`from_formula`.
    skpolicy.reshape.wide_to_long : wide tables to long choice data.
    subset_alternatives : drop alternatives and the situations that chose them
        (mlogit's ``alt.subset``).

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

    A case variable for one alternative only, written three ways (the last is
    mlogit's), and coefficient names of one's own:

    >>> a = ChoiceSpecification(["cost"], case={"income": ["car"]}, constants=False)
    >>> b = ChoiceSpecification.from_formula("cost | income[car] + 0")
    >>> c = ChoiceSpecification.from_formula(
    ...     "cost + I(income * (mode == 'car')) | 0",
    ...     names={"I(income * (mode == 'car'))": "income:car"})
    >>> [list(s.fit(X).get_feature_names_out()) for s in (a, b, c)]
    [['cost', 'income:car'], ['cost', 'income:car'], ['cost', 'income:car']]
    >>> a.set_params(names={"income:car": "income_car"}).fit(X).transform(X)
             cost  income_car
    id mode
    0  car   10.0         3.0
       bus    4.0         0.0
       walk   2.0         0.0
    1  car   12.0         5.0
       bus    5.0         0.0
    """

    _parameter_constraints = {
        "generic": [list, tuple, str, callable, None],
        "case": [list, tuple, str, callable, dict, None],
        "alternative_specific": [list, tuple, str, dict, None],
        "constants": ["boolean"],
        "reference": "no_validation",
        "alternatives": ["array-like", None],
        "alternative_key": [Integral, str],
        "names": [dict, callable, None],
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
        names=None,
    ):
        self.generic = generic
        self.case = case
        self.alternative_specific = alternative_specific
        self.constants = constants
        self.reference = reference
        self.alternatives = alternatives
        self.alternative_key = alternative_key
        self.names = names

    @classmethod
    def from_formula(
        cls,
        formula,
        *,
        reference=None,
        alternatives=None,
        alternative_key=1,
        names=None,
    ):
        """The specification of an mlogit-style formula.

        ``"cost + freq | income | time"`` is generic | case variables |
        alternative-specific; constants are included unless the second part
        holds ``0`` or ``-1`` (``"ic + oc | 0"``); a lone ``0`` in the first or
        third part means "no term" (``"0 | income"``, ``"cost | income | 0"``);
        ``term[a, b]`` in the second or third part restricts a term to
        alternatives a and b (``"cost | income[air]"``). See
        :func:`skpolicy.formula.parse_formula`.

        Parameters
        ----------
        formula : str
            The formula.
        reference, alternatives, alternative_key, names
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
            names=names,
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
        case = _subset_terms(self.case, X, "case")
        specific = _subset_terms(self.alternative_specific, X, "alternative_specific")
        for role, terms in (("case", case), ("alternative_specific", specific)):
            for term, subset in terms.items():
                if subset is not None:
                    terms[term] = _resolve_subset(subset, found, term, role)
        for term, subset in case.items():
            if subset is not None and set(subset) == set(alternatives):
                raise ValueError(
                    f"case={{{term!r}: {subset!r}}} interacts the case variable "
                    "with every alternative, so it cancels from the softmax and "
                    "its coefficients are not identified: leave one alternative "
                    f"out, or write case=[{term!r}] (all but the reference)"
                )
        uses_reference = self.constants or any(s is None for s in case.values())
        reference = None
        if uses_reference:
            reference = alternatives[0] if self.reference is None else self.reference
        if self.reference is not None and self.reference not in found:
            raise ValueError(
                f"reference={self.reference!r} never appears in X at fit "
                f"(alternatives found: {list(alternatives)}); the other "
                "alternatives' constants and case interactions are relative to it"
            )

        self._alternative_variable = _alternative_variable(X, self.alternative_key)
        # Fit every distinct term once (expressions may be stateful).
        frame = _ExpressionFrame(X, ids, self._alternative_variable)
        term_state = {
            term: self._fit_term(term, X, frame)
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
            + [([t], others if s is None else s) for t, s in case.items()]
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
        names = _rename(names, self.names)
        self.alternatives_ = np.asarray(alternatives, dtype=object)
        self.reference_ = reference
        self._term_state = term_state
        self._plan = plan
        self._names_out = np.asarray(names, dtype=object)
        # The terms that need a coefficient for every alternative: they make an
        # alternative unseen at fit an error at transform.
        self._per_alternative = [
            *(["constants"] if self.constants else []),
            *[f"case interactions of {t!r}" for t, s in case.items() if s is None],
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

    def _fit_term(self, term, X, frame):
        """State of a term: ("column", [name]) or (formulaic spec, [names])."""
        if term in X.columns:
            check_numeric_columns(X[[term]], ENCODE_HINT)
            return ("column", [term])
        if isinstance(term, str) and not term.isidentifier():
            spec, names = fit_expression(term, frame.get())
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
        # getattr: specifications pickled before the alternative id was offered
        # to expressions.
        frame = _ExpressionFrame(X, ids, getattr(self, "_alternative_variable", None))
        for term, (state, names) in self._term_state.items():
            if state == "column":
                check_numeric_columns(X[[term]], ENCODE_HINT)
                values[term] = X[[term]].to_numpy(dtype=float)
            else:
                values[term] = transform_expression(state, names, frame.get())
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
            ``<attribute>:<a>``; renamed by ``names`` when given.
        """
        check_is_fitted(self, "_plan")
        _check_feature_names_in(self, input_features)
        return self._names_out.copy()


# --------------------------------------------------------------------------------
# Choices given as labels, and mlogit's alt.subset
# --------------------------------------------------------------------------------

_CHOSEN_WORDS = ("yes", "y", "true", "t", "chosen", "choice", "1")


def _choice_values(y, n_rows=None):
    """The long format's y as float choice counts, under the label rule.

    Long-format y is 1 on the chosen row and 0 elsewhere, or counts >= 0. Booleans
    (``True``/``False``, numpy or pandas ``bool``/``boolean``) are accepted as
    1/0. Labels (``"yes"``/``"no"``, a categorical) are refused: which label
    means "chosen" is the user's to say, in one line such as
    ``y = (df["choice"] == "yes").astype(int)``. (R's mlogit takes the second
    level of a two-level factor as chosen; with string labels that silently
    depends on their sort order, so it is not copied.)

    Parameters
    ----------
    y : array-like of shape (n_rows,)
    n_rows : int, default=None
        Expected length (the rows of X).

    Returns
    -------
    y : ndarray of shape (n_rows,), dtype float64
    """
    if isinstance(y, (pd.Series, pd.Index)) and isinstance(y.dtype, pd.BooleanDtype):
        if y.isna().any():
            raise ValueError(
                "y is a nullable boolean with missing values (at position "
                f"{int(np.argmax(y.isna().to_numpy()))}): every row needs 1/True "
                "(chosen) or 0/False"
            )
        y = y.to_numpy(dtype=bool)
    arr = np.asarray(y)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D in the long format, got shape {arr.shape}")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(
            f"y has {arr.shape[0]} entries but X has {n_rows} rows: they must "
            "have the same length"
        )
    if arr.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in arr):
        arr = arr.astype(bool)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"y must be real, got dtype {arr.dtype}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        labels = pd.unique(pd.Series(arr, dtype=object).dropna())
        texts = [str(v) for v in labels]
        chosen = next(
            (
                v
                for v, t in zip(labels, texts, strict=True)
                if t.strip().lower() in _CHOSEN_WORDS
            ),
            labels[0] if len(labels) else "yes",
        )
        shown = ", ".join(repr(v) for v in labels[:4])
        raise ValueError(
            f"y holds labels ({shown}{', ...' if len(labels) > 4 else ''}), but "
            "long-format y is 1 on the chosen row and 0 elsewhere (or counts; "
            "True/False are accepted). Say which label means chosen, e.g. "
            f"y = (y == {chosen!r}).astype(int)"
        )
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"y contains NaN or inf at position {int(np.argmax(~np.isfinite(arr)))}"
        )
    if np.any(arr < 0):
        raise ValueError(
            f"y contains a negative value ({label(arr[np.argmax(arr < 0)])} at "
            f"position {int(np.argmax(arr < 0))}); it must be >= 0"
        )
    return arr


def _take(values, keep):
    """Rows ``keep`` (a boolean mask) of y or sample_weight, in their own type."""
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return values.iloc[keep]
    return np.asarray(values)[keep]


def subset_alternatives(
    X, y, alternatives, *, alternative_key=1, situation_key=0, sample_weight=None
):
    """Keep some alternatives and the situations that chose one of them.

    R mlogit's ``alt.subset``: the rows of the other alternatives are dropped,
    and so are the situations whose choice was one of them. Under the logit
    model's independence from irrelevant alternatives, the choices among the
    kept alternatives follow the same model with the same coefficients (the
    basis of the Hausman-McFadden test). A transformer cannot drop rows of y,
    so this is a function applied to X, y (and sample_weight) before ``fit``.

    Parameters
    ----------
    X : pandas DataFrame of shape (n_rows, n_columns)
        Long choice data.
    y : array-like of shape (n_rows,)
        1 on the chosen row, 0 elsewhere, or counts; True/False are taken as
        1/0, labels such as "yes"/"no" are refused with the one-line fix
        ``y = (y == "yes").astype(int)``. With counts, a situation keeps the counts of
        the kept alternatives (the likelihood conditional on choosing among
        them) and is dropped when none of them was chosen.
    alternatives : array-like
        The alternatives to keep; each must appear in X.
    alternative_key : int or str, default=1
        Index level (position or name), or column, holding the alternative id.
    situation_key : int or str, default=0
        Index level (position or name), or column, holding the situation id.
    sample_weight : array-like of shape (n_rows,), default=None
        Per-row weights, filtered the same way.

    Returns
    -------
    X_subset : pandas DataFrame
        The kept rows of X, in their order (unused MultiIndex levels removed).
    y_subset : pandas Series or ndarray
        The kept entries of y (a Series stays a Series).
    sample_weight_subset : pandas Series or ndarray
        Only when ``sample_weight`` is given.

    Notes
    -----
    Situations left with a single alternative are kept; they carry no
    information and the estimator says so. Refit the specification on the
    subset: its alternatives (and default reference) are those of the subset.

    Examples
    --------
    >>> import pandas as pd
    >>> from skpolicy.preprocessing import subset_alternatives
    >>> X = pd.DataFrame(
    ...     {"cost": [1.0, 2.0, 3.0, 1.5, 2.5, 3.5]},
    ...     index=pd.MultiIndex.from_product([[1, 2], ["air", "bus", "car"]],
    ...                                      names=["id", "mode"]),
    ... )
    >>> y = [0, 1, 0, 1, 0, 0]             # situation 2 chose air
    >>> X_sub, y_sub = subset_alternatives(X, y, ["bus", "car"])
    >>> X_sub
             cost
    id mode
    1  bus    2.0
       car    3.0
    >>> y_sub
    array([1, 0])
    """
    caller = "subset_alternatives"
    check_long_frame(X, caller)
    n_rows = X.shape[0]
    chosen = _choice_values(y, n_rows)
    if sample_weight is not None and np.shape(sample_weight)[0] != n_rows:
        raise ValueError(
            f"sample_weight has {np.shape(sample_weight)[0]} entries but X has "
            f"{n_rows} rows: they must have the same length"
        )
    ids, _ = key_values(X, alternative_key, "alternative")
    found = pd.Index(ids.unique())
    if isinstance(alternatives, str) or np.ndim(alternatives) == 0:
        alternatives = [alternatives]
    alternatives = list(alternatives)
    absent = [a for a in alternatives if a not in found]
    if absent:
        raise ValueError(
            f"alternative(s) {absent} never appear in X (alternatives found: "
            f"{list(found)})"
        )
    kept_row = np.asarray(ids.isin(alternatives))
    codes, _ = situation_codes(X, situation_key)
    n_situations = int(codes.max()) + 1 if n_rows else 0
    chose_kept = np.bincount(codes, weights=chosen * kept_row, minlength=n_situations)
    keep = kept_row & (chose_kept[codes] > 0)
    if not keep.any():
        raise ValueError(
            f"no situation chose one of the alternatives {alternatives}: the "
            "subset would have no data"
        )
    X_subset = X.iloc[keep]
    if isinstance(X_subset.index, pd.MultiIndex):
        X_subset = X_subset.set_axis(X_subset.index.remove_unused_levels())
    out = (X_subset, _take(y, keep))
    if sample_weight is not None:
        out += (_take(sample_weight, keep),)
    return out
