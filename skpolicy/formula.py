"""mlogit-style model formulas: ``"generic | case variables | alternative-specific"``.

:func:`parse_formula` turns a formula into the parameters of
:class:`~skpolicy.preprocessing.ChoiceSpecification`, which
``ChoiceSpecification.from_formula`` passes on, so a formula and the equivalent
hand-written specification are the same transformer.

The grammar is the right-hand side of R mlogit's three-part formula:

- part 1: attributes with one generic coefficient (``cost + freq``);
- part 2: case (situation-level) variables, interacted with every alternative but
  the reference (``income``); alternative-specific constants are included unless
  the part holds ``0`` or ``-1``;
- part 3: attributes with one coefficient per alternative (``time``).

Parts may be empty or left out (``"cost | income"``, ``"cost | | time"``,
``"| income"``). A left-hand side (``"choice ~ ..."``) is accepted and ignored: the
choices are the ``y`` given to ``fit``.

**Constants.** As in mlogit, the second part decides: ``"cost | 0"``, ``"cost |
income - 1"`` and ``"cost | income + 0"`` have no constants, ``"cost | 1"`` and
``"cost | income"`` have them. A formula with a single part decides in that part
(``"cost + time - 1"`` and ``"0 + cost + time"`` have no constants). In a formula
with several parts, a first or third part that is only ``0`` (or ``1``) is
mlogit's placeholder for "no term" and changes nothing: ``"0 | income"``, ``"cost +
time | income | 0"`` and ``"cost | 1 | 0"`` are valid mlogit formulas and mean
what they mean there. mlogit silently ignores a ``0`` / ``-1`` written *next to
terms* of the first or third part; that is refused here, because it almost
always means the constants were meant to go: write ``"... | 0"`` (or ``"... |
-1"``) in the second part.

**Terms restricted to some alternatives.** ``term[a, b]`` in the second or third
part enters only the rows of alternatives ``a`` and ``b``, with one coefficient
for each (columns ``term:a`` and ``term:b``); the other alternatives' coefficients
are fixed at 0. ``"cost | income[air]"`` is mlogit's ``cost + I(income * (alt ==
"air"))`` (a case variable for air only); ``"cost | | time[car, bus]"`` gives
time coefficients for car and bus only. Labels may be quoted (``time['car']``);
a label that matches no alternative as written is compared with the
alternatives' ``str()``, so ``time[1, 2]`` works for integer alternative ids. The
same restriction is ``case={"income": ["air"]}`` or
``alternative_specific={"time": ["car", "bus"]}`` in
:class:`~skpolicy.preprocessing.ChoiceSpecification`. A term's values on the rows
of other alternatives are never read (they may be NaN).

**The alternative id inside expressions.** Expressions also see the alternative id
as a variable named after its index level (``alternative`` when the level has no
name), so an mlogit user's ``I(income * (mode == "air"))`` works unchanged when
the level is named ``mode``; ``I(cost * mode.isin(["car", "bus"]))`` in the
first part gives ONE cost coefficient shared by car and bus.

A term is a column name or an expression such as ``log(cost)``, ``I(cost /
income)``, ``cost:income``, ``center(age)`` or ``C(region)``. Expressions are
evaluated with the optional dependency `formulaic
<https://matthewwardrop.github.io/formulaic/>`_ (``pip install
'skpolicy[formula]'``) when the specification is fitted, so stateful transforms
(``center``, ``scale``, ``bs``, the levels of ``C``) learn their state on the
training data of each cross-validation fold. Plain column names need no formulaic.

Examples
--------
>>> from skpolicy.formula import parse_formula
>>> parse_formula("cost + time | income | 0")
{'generic': ['cost', 'time'], 'case': ['income'], 'alternative_specific': None, \
'constants': True}
>>> parse_formula("cost | income[air] - 1 | time[car, bus]")
{'generic': ['cost'], 'case': {'income': ['air']}, 'alternative_specific': \
{'time': ['car', 'bus']}, 'constants': False}
"""

__all__ = ["parse_formula"]


def _split_top_level(text, separators):
    """Split at separator characters outside parentheses and brackets.

    Returns a list of ``(separator before the piece or "", piece)``.
    """
    pieces, depth, start, before = [], 0, 0, ""
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced parentheses in formula {text!r}")
        elif depth == 0 and char in separators:
            pieces.append((before, text[start:i]))
            before, start = char, i + 1
    if depth != 0:
        raise ValueError(f"unbalanced parentheses in formula {text!r}")
    pieces.append((before, text[start:]))
    return pieces


def _parse_part(text, formula):
    """Terms of one part, and the constant switch it holds (True, False or None)."""
    terms, constant = [], None
    for sign, piece in _split_top_level(text, "+-"):
        term = " ".join(piece.split())
        if not term:
            if sign == "-":
                raise ValueError(f"'-' without a term in formula {formula!r}")
            continue
        if term in ("0", "1"):
            # R: "- 1" and "+ 0" remove the constant, "+ 1" and "- 0" keep it.
            constant = (term == "1") != (sign == "-")
        elif sign == "-":
            raise ValueError(
                f"'- {term}' in formula {formula!r}: only the constant can be "
                "removed with '-' ('- 1'); leave the term out instead"
            )
        elif term not in terms:
            terms.append(term)
    return terms, constant


def _unquote(text):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _restriction(term, formula):
    """``"time[car, bus]"`` as ``("time", ["car", "bus"])``; other terms as
    ``(term, None)``."""
    if not term.endswith("]"):
        return term, None
    # The bracket that closes the term: find its opening partner.
    depth = 0
    for i in range(len(term) - 1, -1, -1):
        if term[i] in ")]}":
            depth += 1
        elif term[i] in "([{":
            depth -= 1
            if depth == 0:
                break
    base = term[:i].strip()
    if not base:
        raise ValueError(f"{term!r} in formula {formula!r}: no term before '['")
    labels = [
        _unquote(piece.strip()) for _, piece in _split_top_level(term[i + 1 : -1], ",")
    ]
    if not all(labels):
        raise ValueError(
            f"{term!r} in formula {formula!r}: list the alternatives the term is "
            "restricted to, separated by commas, e.g. 'time[car, bus]'"
        )
    if len(set(labels)) < len(labels):
        raise ValueError(f"{term!r} in formula {formula!r} lists an alternative twice")
    return base, labels


def _role(terms, formula):
    """A part's terms as a ChoiceSpecification parameter: a list, a dict
    ``{term: alternatives or None}`` when a term is restricted, or None."""
    pairs = [_restriction(term, formula) for term in terms]
    if all(alts is None for _, alts in pairs):
        return terms or None
    out = {}
    for base, alts in pairs:
        if base in out:
            raise ValueError(
                f"{base!r} appears twice in a part of formula {formula!r} (once "
                "restricted to some alternatives): list all its alternatives in "
                f"one term, '{base}[a, b]'"
            )
        out[base] = alts
    return out


def parse_formula(formula):
    """Parameters of a ChoiceSpecification from an mlogit-style formula.

    Parameters
    ----------
    formula : str
        ``"[choice ~] generic [| case [| alternative_specific]]"``, terms joined
        by ``+``; a term of the second or third part may be restricted to some
        alternatives with ``term[a, b]``. See the module docstring.

    Returns
    -------
    params : dict
        ``generic``, ``case`` and ``alternative_specific`` (lists of terms, a
        dict ``{term: [alternatives] or None}`` for a part with a restricted
        term, or None when empty) and ``constants`` (bool).

    Raises
    ------
    ValueError
        More than three parts, more than one ``~``, unbalanced parentheses, a
        term removed with ``-``, a restriction ``[...]`` in the first part, or
        ``0`` / ``-1`` next to terms of the first or third part of a formula
        with several parts (the second part sets the constants).

    Examples
    --------
    >>> from skpolicy.formula import parse_formula
    >>> parse_formula("depvar ~ ic + oc | 0")
    {'generic': ['ic', 'oc'], 'case': None, 'alternative_specific': None, \
'constants': False}
    >>> parse_formula("cost + log(freq) | income | time")
    {'generic': ['cost', 'log(freq)'], 'case': ['income'], \
'alternative_specific': ['time'], 'constants': True}

    mlogit's placeholders for an empty part (here: no alternative-specific
    term, and no generic term) change nothing:

    >>> parse_formula("cost + time | income | 0") == parse_formula(
    ...     "cost + time | income")
    True
    >>> parse_formula("0 | income")["constants"]
    True
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a str, got {type(formula).__name__}")
    sides = _split_top_level(formula, "~")
    if len(sides) > 2:
        raise ValueError(f"formula {formula!r} has more than one '~'")
    parts = [text for _, text in _split_top_level(sides[-1][1], "|")]
    if len(parts) > 3:
        raise ValueError(
            f"formula {formula!r} has {len(parts)} parts; an mlogit formula has at "
            "most three: generic | case variables | alternative-specific"
        )
    parsed = [_parse_part(text, formula) for text in parts]
    parsed += [([], None)] * (3 - len(parsed))
    (generic, c1), (case, c2), (specific, c3) = parsed
    if len(parts) == 1:
        constants = c1
    else:
        # mlogit: the second part sets the constants; a lone 0 or 1 in the first
        # or third part is a placeholder for "no term". Next to terms, mlogit
        # ignores a 0 / -1 silently; refuse it, it was meant for the constants.
        for which, terms, switch in (("first", generic, c1), ("third", specific, c3)):
            if switch is False and terms:
                raise ValueError(
                    f"formula {formula!r} removes the constant in its {which} part, "
                    "but with several parts (as in mlogit) only the second part "
                    "sets the constants: write '... | 0' (or '... | -1') there. A "
                    f"{which} part that is only '0' means 'no term'"
                )
        constants = c2
    restricted = [t for t in generic if _restriction(t, formula)[1] is not None]
    if restricted:
        raise ValueError(
            f"{restricted[0]!r} in the first part of formula {formula!r}: a term "
            "restricted to some alternatives gets one coefficient per alternative, "
            "so it belongs in the second or third part ('... | | "
            f"{restricted[0]}'). For one coefficient shared by several "
            "alternatives, write an expression with the alternative id, e.g. "
            "I(cost * alt.isin(['car', 'bus'])) when its index level is named alt"
        )
    return {
        "generic": generic or None,
        "case": _role(case, formula),
        "alternative_specific": _role(specific, formula),
        "constants": True if constants is None else constants,
    }


# --------------------------------------------------------------------------------
# Expressions, evaluated with formulaic
# --------------------------------------------------------------------------------


def _require_formulaic(term):
    try:
        import formulaic
    except ImportError as exc:
        raise ImportError(
            f"the term {term!r} is not a column of X but an expression, and "
            "evaluating expressions needs the optional dependency formulaic: "
            "pip install 'skpolicy[formula]' (or pip install formulaic), or compute "
            "the column yourself and list its name"
        ) from exc
    return formulaic


def fit_expression(term, X):
    """Learn an expression term on X.

    Parameters
    ----------
    term : str
        A formulaic expression (``log(cost)``, ``C(region)``, ...).
    X : pandas DataFrame
        The training data.

    Returns
    -------
    spec : formulaic ModelSpec
        Holds the state of stateful transforms (means, levels, knots), for
        :func:`transform_expression`.
    names : list of str
        Names of the columns the term produces.
    """
    formulaic = _require_formulaic(term)
    try:
        # With an intercept, categorical terms get reduced-rank (treatment)
        # contrasts; the intercept itself is dropped afterwards.
        matrix = formulaic.model_matrix(
            f"1 + {term}", X, na_action="ignore", output="pandas"
        )
    except Exception as exc:
        raise ValueError(
            f"term {term!r} is neither a column of X nor an expression that "
            f"formulaic can evaluate on X ({type(exc).__name__}: {exc})"
        ) from exc
    names = [c for c in matrix.columns if c != "Intercept"]
    if not names:
        raise ValueError(f"term {term!r} produces no column")
    return matrix.model_spec, names


def transform_expression(spec, names, X):
    """Values of a fitted expression term on X, shape (n_rows, len(names))."""
    matrix = spec.get_model_matrix(X)
    if matrix.shape[0] != X.shape[0]:  # pragma: no cover - na_action="ignore"
        raise ValueError("formulaic dropped rows of X")
    return matrix[names].to_numpy(dtype=float)
