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
``"| income"``). As in mlogit, ``0`` / ``-1`` in the first part removes the
constants only when the formula has a single part. A left-hand side (``"choice ~
..."``) is accepted and ignored: the choices are the ``y`` given to ``fit``.

A term is a column name or an expression such as ``log(cost)``, ``I(cost /
income)``, ``cost:income``, ``center(age)`` or ``C(region)``. Expressions are
evaluated with the optional dependency `formulaic
<https://matthewwardrop.github.io/formulaic/>`_ (``pip install
'skpolicy[formula]'``) when the specification is fitted, so stateful transforms
(``center``, ``scale``, ``bs``, the levels of ``C``) learn their state on the
training data of each cross-validation fold. Plain column names need no formulaic.
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


def parse_formula(formula):
    """Parameters of a ChoiceSpecification from an mlogit-style formula.

    Parameters
    ----------
    formula : str
        ``"[choice ~] generic [| case [| alternative_specific]]"``, terms joined
        by ``+``; see the module docstring.

    Returns
    -------
    params : dict
        ``generic``, ``case`` and ``alternative_specific`` (lists of terms, or
        None when empty) and ``constants`` (bool).

    Raises
    ------
    ValueError
        More than three parts, more than one ``~``, unbalanced parentheses, a
        term removed with ``-``, or ``0`` / ``1`` in a part that does not hold
        the constants.

    Examples
    --------
    >>> from skpolicy.formula import parse_formula
    >>> parse_formula("depvar ~ ic + oc | 0")
    {'generic': ['ic', 'oc'], 'case': None, 'alternative_specific': None, \
'constants': False}
    >>> parse_formula("cost + log(freq) | income | time")
    {'generic': ['cost', 'log(freq)'], 'case': ['income'], \
'alternative_specific': ['time'], 'constants': True}
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
    if c3 is not None:
        raise ValueError(
            f"formula {formula!r} has 0 or 1 in its third part: the constants are "
            "set in the second part ('... | 0 | ...')"
        )
    if len(parts) == 1:
        constants = c1
    elif c1 is False:
        raise ValueError(
            f"formula {formula!r} removes the constant in its first part, but with "
            "several parts (as in mlogit) the second part decides: write "
            "'... | 0' (or '... | -1')"
        )
    else:
        constants = c2
    return {
        "generic": generic or None,
        "case": case or None,
        "alternative_specific": specific or None,
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
