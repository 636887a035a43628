"""Linear restrictions ``R theta = r`` for Wald tests, from a matrix or from text.

Text such as ``"ic = oc"`` or ``"2*ic - oc = 1, asc[gc] = 0"`` names coefficients
(as in ``coef_table``) and is parsed without ``eval``.
"""

import re

import numpy as np

_NUMBER = re.compile(r"\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?")


def _parse_side(text, names, constraint):
    """Coefficient vector and constant of a sum of terms like ``2*ic - oc + 1``."""
    vector = np.zeros(len(names))
    constant = 0.0
    ordered = sorted(range(len(names)), key=lambda k: -len(names[k]))
    pos, n = 0, len(text)

    def skip(p):
        while p < n and text[p].isspace():
            p += 1
        return p

    def read_name(p):
        for k in ordered:
            if names[k] and text.startswith(names[k], p):
                return k, p + len(names[k])
        return None, p

    def fail(p, what):
        raise ValueError(
            f"cannot parse the restriction {constraint!r} at {text[p:]!r}: {what}. "
            "Write linear terms such as 'ic = oc', '2*ic - oc = 0' or 'asc_gc' "
            f"(meaning = 0) with coefficient names among {names}"
        )

    pos = skip(pos)
    if pos == n:
        fail(pos, "an empty side")
    first = True
    while pos < n:
        sign = 1.0
        seen_sign = False
        while pos < n and text[pos] in "+-":
            sign = -sign if text[pos] == "-" else sign
            seen_sign = True
            pos = skip(pos + 1)
        if not (first or seen_sign):
            fail(pos, "expected '+' or '-' between terms")
        first = False
        k, end = read_name(pos)
        if k is not None:
            factor, pos = 1.0, skip(end)
            if pos < n and text[pos] == "*":
                match = _NUMBER.match(text, skip(pos + 1))
                if match is None:
                    fail(pos, "expected a number after '*'")
                factor, pos = float(match.group()), skip(match.end())
            vector[k] += sign * factor
            continue
        match = _NUMBER.match(text, pos)
        if match is None:
            fail(pos, "unknown coefficient name")
        value, pos = float(match.group()), skip(match.end())
        if pos < n and text[pos] == "*":
            k, end = read_name(skip(pos + 1))
            if k is None:
                fail(pos, "expected a coefficient name after '*'")
            vector[k] += sign * value
            pos = skip(end)
        else:
            constant += sign * value
    return vector, constant


def parse_restrictions(R, r, names):
    """Turn the forms ``wald_test`` accepts into a matrix ``R`` and vector ``r``.

    Parameters
    ----------
    R : str, sequence of str, array-like of shape (n_features,) or \
            (n_restrictions, n_features)
        Strings are linear equations in the coefficient names (an expression
        without ``=`` means ``= 0``; a bare name tests that coefficient).
    r : array-like of shape (n_restrictions,) or None
        Right-hand side for a numeric ``R``; zeros when None.
    names : list of str
        Coefficient names.

    Returns
    -------
    R : ndarray of shape (n_restrictions, n_features)
    r : ndarray of shape (n_restrictions,)
    """
    if isinstance(R, str):
        R = [R]
    if isinstance(R, (list, tuple)) and R and all(isinstance(c, str) for c in R):
        if r is not None:
            raise ValueError(
                "r must be None when the restrictions are strings: write the "
                "right-hand side in the string, e.g. 'ic - oc = 1'"
            )
        rows, rhs = [], []
        for constraint in R:
            sides = constraint.split("=")
            if len(sides) > 2:
                raise ValueError(
                    f"the restriction {constraint!r} has more than one '='"
                )
            left, lconst = _parse_side(sides[0], names, constraint)
            right, rconst = (
                _parse_side(sides[1], names, constraint)
                if len(sides) == 2
                else (np.zeros(len(names)), 0.0)
            )
            rows.append(left - right)
            rhs.append(rconst - lconst)
        R_mat, r_vec = np.array(rows), np.array(rhs)
    else:
        R_mat = np.atleast_2d(np.asarray(R, dtype=float))
        if R_mat.ndim != 2 or R_mat.shape[1] != len(names):
            raise ValueError(
                f"R has shape {np.shape(R)}, but the model has {len(names)} "
                f"coefficients {names}: give R of shape (n_restrictions, "
                f"{len(names)}), or restrictions as strings"
            )
        r_vec = (
            np.zeros(R_mat.shape[0])
            if r is None
            else np.atleast_1d(np.asarray(r, dtype=float))
        )
        if r_vec.shape != (R_mat.shape[0],):
            raise ValueError(
                f"r has shape {r_vec.shape}, but R has {R_mat.shape[0]} row(s): give "
                "one right-hand side per restriction"
            )
    if not np.all(np.isfinite(R_mat)) or not np.all(np.isfinite(r_vec)):
        raise ValueError("R and r must be finite")
    empty = np.flatnonzero(~R_mat.any(axis=1))
    if empty.size:
        raise ValueError(
            f"restriction {int(empty[0])} involves no coefficient (its row of R is "
            "zero)"
        )
    if np.linalg.matrix_rank(R_mat) < R_mat.shape[0]:
        raise ValueError(
            f"the {R_mat.shape[0]} restrictions are linearly dependent (R has rank "
            f"{np.linalg.matrix_rank(R_mat)}): drop the redundant ones"
        )
    return R_mat, r_vec
