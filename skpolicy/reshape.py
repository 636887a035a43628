"""Reshape choice data: wide to long, long to dense and dense to long.

- **wide**: one row per situation; an attribute of each alternative in a column
  ``<attribute><sep><alternative>`` (``ic.gc``, mlogit's ``dfidx(shape="wide")``)
  or ``<alternative><sep><attribute>`` (``CAR_TT``, Biogeme's files), the chosen
  alternative's label in one column, everything else a case (situation-level)
  variable. This is how most survey and stated-preference data arrive.
- **long**: the estimator's DataFrame format, one row per available (situation,
  alternative), the two ids in a MultiIndex.
- **dense**: the estimator's array format, ``(n_situations, n_alternatives,
  n_features)`` with all-NaN rows for unavailable alternatives.

Case variables are ordinary columns of the long and dense formats (the same value on
every alternative of a situation), so they survive every conversion. Nothing here
loops over situations or rows, and the user's objects are never written to.
"""

import re
import string

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._data import (
    check_numeric_columns,
    dense_counts,
    feature_dtype,
    key_values,
    label,
)

__all__ = ["dense_to_long", "long_to_dense", "wide_to_long"]


# --------------------------------------------------------------------------------
# Helpers shared with skpolicy.preprocessing
# --------------------------------------------------------------------------------


def check_long_frame(X, caller):
    """Raise a TypeError unless X is a pandas DataFrame."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{caller} needs long choice data: a pandas DataFrame whose index holds "
            "the (situation, alternative) ids, got "
            f"{type(X).__name__}. Inside a Pipeline, call "
            '.set_output(transform="pandas") so that earlier steps keep the index'
        )


def _factorize(values, sort):
    """Codes and uniques; sorted when asked and the labels can be compared."""
    if sort:
        try:
            return pd.factorize(values, sort=True)
        except TypeError:  # mixed label types: keep the order of appearance
            pass
    return pd.factorize(values)


def _unique_labels(values, what):
    labels = pd.Index(values)
    if labels.has_duplicates:
        raise ValueError(
            f"{what} must be unique, but {label(labels[labels.duplicated()][0])} "
            "occurs more than once"
        )
    return labels


# --------------------------------------------------------------------------------
# Wide -> long
# --------------------------------------------------------------------------------


LAYOUTS = ("attribute_first", "alternative_first")


def _column_name(attribute, alternative, sep, layout):
    """The wide column of one (attribute, alternative) pair."""
    if layout == "attribute_first":
        return f"{attribute}{sep}{alternative}"
    return f"{alternative}{sep}{attribute}"


def _name_form(sep, layout):
    """``'<attribute>.<alternative>'`` or ``'<alternative>_<attribute>'``."""
    return repr(_column_name("<attribute>", "<alternative>", sep, layout))


def _split_name(column, alternatives, sep, layout):
    """(attribute, alternative) of a column name, or None if it is not one."""
    if not isinstance(column, str) or sep not in column:
        return None
    attribute_first = layout == "attribute_first"
    if alternatives is None:
        if attribute_first:
            attribute, alt = column.rsplit(sep, 1)
        else:
            alt, attribute = column.split(sep, 1)
    else:
        # The longest alternative label that ends (or starts) the name, so that
        # labels may themselves contain the separator.
        matches = []
        for a in alternatives:
            part = f"{sep}{a}" if attribute_first else f"{a}{sep}"
            fits = column.endswith(part) if attribute_first else column.startswith(part)
            if fits and len(column) > len(part):
                matches.append((len(part), a))
        if not matches:
            return None
        size, alt = max(matches, key=lambda m: m[0])
        attribute = column[:-size] if attribute_first else column[size:]
    if not attribute or alt == "":
        return None
    return attribute, alt


def _varying_columns(data, alternatives, sep, layout, varying, excluded):
    """The (column, attribute, alternative label) triples of alternative columns.

    ``excluded`` columns (choice, situation, availability columns found by a
    template) are never alternative columns.
    """
    if varying is None:
        candidates = [
            c for c in data.columns if isinstance(c, str) and c not in excluded
        ]
    else:
        varying = [varying] if isinstance(varying, str) else list(varying)
        missing = [c for c in varying if c not in data.columns]
        if missing:
            raise ValueError(f"varying columns {missing} are not columns of data")
        candidates = [c for c in varying if c not in excluded]
    found = []
    for column in candidates:
        parts = _split_name(column, alternatives, sep, layout)
        if parts is None:
            if varying is None:
                continue
            if alternatives is None:
                raise ValueError(
                    f"varying column {column!r} is not named "
                    f"{_name_form(sep, layout)} (sep={sep!r}, layout={layout!r})"
                )
            raise ValueError(
                f"varying column {column!r} is not named "
                f"{_name_form(sep, layout)} for any of the alternatives "
                f"{list(alternatives)} (sep={sep!r}, layout={layout!r})"
            )
        found.append((column, *parts))
    return found


def _availability_template(availability):
    """(prefix, suffix) of an availability template, None for an attribute name."""
    if availability is None or "{" not in availability and "}" not in availability:
        return None
    try:
        fields = list(string.Formatter().parse(availability))
    except ValueError as exc:
        raise ValueError(
            f"availability={availability!r} is not a valid name template ({exc}): "
            "write e.g. '{alternative}_AV'"
        ) from None
    placeholders = [f for f in fields if f[1] is not None]
    if len(placeholders) != 1 or placeholders[0][1:] != ("alternative", "", None):
        found = [f"{{{f[1]}}}" for f in placeholders]
        raise ValueError(
            f"availability={availability!r} has the placeholder(s) {found}: a name "
            "template holds {alternative} once and nothing else in braces, e.g. "
            "'{alternative}_AV'"
        )
    where = fields.index(placeholders[0])
    prefix = "".join(f[0] for f in fields[: where + 1])
    suffix = "".join(f[0] for f in fields[where + 1 :])
    if not prefix and not suffix:
        raise ValueError(
            f"availability={availability!r} would match every column: add the "
            "fixed part of the names, e.g. '{alternative}_AV'"
        )
    return prefix, suffix


def _template_columns(data, template, alternatives, excluded):
    """{alternative: column} of the availability columns a template names."""
    prefix, suffix = template
    if alternatives is not None:
        names = {a: f"{prefix}{a}{suffix}" for a in alternatives}
        return {a: c for a, c in names.items() if c in data.columns}
    pattern = re.compile(f"{re.escape(prefix)}(.+){re.escape(suffix)}", re.DOTALL)
    columns = {}
    for column in data.columns:
        if isinstance(column, str) and column not in excluded:
            match = pattern.fullmatch(column)
            if match:
                columns[match.group(1)] = column
    return columns


def _choice_codes(values, alternatives, situation_ids):
    """Position of each situation's chosen alternative among ``alternatives``."""
    alts = pd.Index(alternatives)
    if values.isna().any():
        s = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise ValueError(
            f"the choice is missing (NaN) in situation {label(situation_ids[s])}: "
            "every situation needs its chosen alternative's label"
        )
    codes = alts.get_indexer(values)
    if np.any(codes < 0):
        # Labels parsed from column names are strings; let 1 (or 1.0) match "1".
        as_text = values
        if pd.api.types.is_float_dtype(values) and np.all(values == np.round(values)):
            as_text = values.astype(np.int64)
        text_codes = pd.Index([str(a) for a in alternatives]).get_indexer(
            as_text.astype(str)
        )
        codes = np.where(codes < 0, text_codes, codes)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        s = bad[0]
        raise ValueError(
            f"the choice {label(values.iloc[s])} of situation "
            f"{label(situation_ids[s])} is not an alternative: the alternatives are "
            f"{list(alternatives)}"
        )
    return codes


def _availability_matrix(data, avail_columns, alternatives, n):
    """(n, n_alternatives) bool; alternatives without a column are available."""
    available = np.ones((n, len(alternatives)), dtype=bool)
    for j, alt in enumerate(alternatives):
        column = avail_columns.get(alt)
        if column is None:
            continue
        values = data[column]
        ok = pd.api.types.is_bool_dtype(values) or (
            pd.api.types.is_numeric_dtype(values) and bool(values.isin([0, 1]).all())
        )
        if not ok:
            raise ValueError(
                f"availability column {column!r} must hold 0/1 or True/False, got "
                f"values such as {label(values[~values.isin([0, 1])].iloc[0])}"
            )
        available[:, j] = values.to_numpy().astype(bool)
    return available


def wide_to_long(
    data,
    *,
    choice,
    alternatives=None,
    sep=".",
    layout="attribute_first",
    varying=None,
    availability="avail",
    fill_value=None,
    situation=None,
    names=("situation", "alternative"),
    chosen_name="chosen",
):
    """Turn a wide table (one row per situation) into long choice data.

    Like mlogit's ``dfidx(data, shape="wide", varying=..., sep=".")``: every
    column named ``<attribute><sep><alternative>`` (``ic.gc``, ``ic.gr``, ...)
    holds an attribute of one alternative; the column ``choice`` holds the chosen
    alternative's label; every other column is a case (situation-level) variable,
    repeated on each row of its situation. Biogeme's files name the alternative
    first (``TRAIN_TT``, ``CAR_CO``, availability ``TRAIN_AV``): read them with
    ``sep="_", layout="alternative_first"``.

    Parameters
    ----------
    data : pandas DataFrame of shape (n_situations, n_columns)
        The wide table. It is not modified.
    choice : str or None
        Column holding the label of the chosen alternative. None converts data
        without choices (e.g. for prediction): no ``chosen_name`` column then.
    alternatives : list, default=None
        The alternatives, in the order of the rows of each situation. None reads
        them from the column names (the text after the last ``sep``, or before
        the first one with ``layout="alternative_first"``), in order of first
        appearance. Give them when a case variable's name contains ``sep`` or an
        alternative label does.
    sep : str, default="."
        Separator between attribute and alternative in column names.
    layout : {"attribute_first", "alternative_first"}, default="attribute_first"
        Order of the two parts of an alternative column's name:
        ``"attribute_first"`` reads ``<attribute><sep><alternative>`` (mlogit,
        ``time.car``), ``"alternative_first"`` reads
        ``<alternative><sep><attribute>`` (Biogeme, ``CAR_TT``).
    varying : list of str, default=None
        The alternative columns (attributes and availability); None takes every
        column whose name contains ``sep`` (and, when ``alternatives`` is given,
        ends, or starts, with one of them).
    availability : str or None, default="avail"
        Availability indicators, columns of 0/1 or False/True. A plain name is
        an attribute, so its columns are named like the others (``avail.car``;
        ``CAR_AV`` for ``availability="AV", layout="alternative_first"``). A
        name template holding ``{alternative}`` names the columns whatever the
        layout, e.g. ``"{alternative}_AV"`` or ``"available_{alternative}"``.
        An alternative without such a column is always available. Unavailable
        alternatives get no row. None: every alternative is available.
    fill_value : scalar, default=None
        Value of an attribute for the alternatives that have no column of it
        (Biogeme's ``SM_SEATS`` exists for one alternative only; 0 then means
        "no effect" on the others). None: a missing column is an error.
    situation : str, default=None
        Column holding a unique situation id, which becomes index level 0; None
        numbers the situations 0, 1, ... in row order.
    names : tuple of two str, default=("situation", "alternative")
        Names of the two index levels.
    chosen_name : str, default="chosen"
        Name of the output column holding 1 on the chosen row and 0 elsewhere.

    Returns
    -------
    long : pandas DataFrame of shape (n_rows, n_columns_out)
        One row per available (situation, alternative), situations in the order
        of ``data`` and alternatives in the order of ``alternatives``; the index a
        MultiIndex ``names``; the columns are the attributes (in order of first
        appearance), then the case variables, then ``chosen_name`` (int 0/1).

    Raises
    ------
    ValueError
        No attribute column is found; an attribute lacks the column of some
        alternative; a choice is missing or not an alternative's label; a chosen
        alternative is unavailable; situation ids repeat; names collide.

    See Also
    --------
    long_to_dense : long data to a dense array.
    skpolicy.datasets.load_heating : a wide table shipped with skpolicy.

    Examples
    --------
    >>> import pandas as pd
    >>> from skpolicy.reshape import wide_to_long
    >>> wide = pd.DataFrame({
    ...     "mode": ["bus", "car"],
    ...     "time.car": [20, 30], "time.bus": [35, 40],
    ...     "avail.bus": [1, 0],
    ...     "income": [3.5, 2.0],
    ... })
    >>> wide_to_long(wide, choice="mode")
                          time  income  chosen
    situation alternative
    0         car           20     3.5       0
              bus           35     3.5       1
    1         car           30     2.0       1

    The second situation had no bus, so its chosen bus would be an error:

    >>> wide_to_long(wide.assign(mode=["bus", "bus"]), choice="mode")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: situation 1 chose 'bus', which is unavailable there (column ...)

    Biogeme's layout, with an attribute that only one alternative has:

    >>> biogeme = pd.DataFrame({
    ...     "CHOICE": ["SM", "CAR"],
    ...     "TRAIN_TT": [110, 90], "SM_TT": [60, 70], "CAR_TT": [120, 80],
    ...     "SM_SEATS": [0, 1],
    ...     "TRAIN_AV": [1, 1], "SM_AV": [1, 1], "CAR_AV": [0, 1],
    ... })
    >>> wide_to_long(biogeme, choice="CHOICE", sep="_", layout="alternative_first",
    ...              availability="{alternative}_AV", fill_value=0)
                            TT  SEATS  chosen
    situation alternative
    0         TRAIN        110      0       0
              SM            60      0       1
    1         TRAIN         90      0       0
              SM            70      1       0
              CAR           80      0       1
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"wide_to_long needs a pandas DataFrame, got {type(data).__name__}"
        )
    if not (isinstance(names, (tuple, list)) and len(names) == 2):
        raise ValueError(f"names must be a pair of level names, got {names!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")
    if not isinstance(sep, str) or not sep:
        raise ValueError(f"sep must be a non-empty str, got {sep!r}")
    reserved = {c for c in (choice, situation) if c is not None}
    for what, column in (("choice", choice), ("situation", situation)):
        if column is not None and column not in data.columns:
            raise ValueError(f"{what}={column!r} is not a column of data")
    if alternatives is not None:
        alternatives = list(_unique_labels(alternatives, "alternatives"))

    template = _availability_template(availability)
    if template is None:
        template_columns = {}
    else:
        template_columns = _template_columns(data, template, alternatives, reserved)
    excluded = reserved | set(template_columns.values())
    found = _varying_columns(data, alternatives, sep, layout, varying, excluded)
    if template is None:
        avail_columns = {
            alt: column for column, attr, alt in found if attr == availability
        }
        found = [f for f in found if f[1] != availability]
    else:
        avail_columns = template_columns
    if not found:
        raise ValueError(
            "no attribute columns found: wide_to_long looks for columns named "
            f"{_name_form(sep, layout)} (sep={sep!r}, layout={layout!r}), e.g. "
            f"{_column_name('price', 'car', sep, layout)!r}; the columns are "
            f"{list(data.columns)}"
        )
    if alternatives is None:
        alternatives = list(
            dict.fromkeys([alt for _, _, alt in found] + list(avail_columns))
        )
    attributes = list(dict.fromkeys(attr for _, attr, _ in found))
    columns = {(attr, alt): column for column, attr, alt in found}
    for attr in attributes:
        missing = [a for a in alternatives if (attr, a) not in columns]
        if missing and fill_value is None:
            expected = [_column_name(attr, a, sep, layout) for a in missing]
            raise ValueError(
                f"attribute {attr!r} has no column for alternative(s) {missing} "
                f"(expected {expected}). Give fill_value= (e.g. 0) to use one "
                "value there, or add the columns (NaN where the alternative is "
                "unavailable, with an availability column); if some columns named "
                f"{_name_form(sep, layout)} are case variables, say which columns "
                "vary with varying= or alternatives="
            )

    used = {column for column, _, _ in found} | set(avail_columns.values())
    case_columns = [c for c in data.columns if c not in used and c not in reserved]
    out_names = attributes + case_columns + ([chosen_name] if choice else [])
    clash = pd.Index(out_names + list(names))
    if clash.has_duplicates:
        raise ValueError(
            f"the name {label(clash[clash.duplicated()][0])} would be used twice in "
            "the long data (attribute, case variable, chosen_name or index level): "
            "rename a column or pass other names= / chosen_name="
        )

    n, J = data.shape[0], len(alternatives)
    if situation is None:
        situation_ids = pd.RangeIndex(n)
    else:
        if data[situation].isna().any():
            raise ValueError(f"the situation column {situation!r} has missing values")
        situation_ids = _unique_labels(data[situation], f"the ids in {situation!r}")
    available = _availability_matrix(data, avail_columns, alternatives, n)
    if choice is not None:
        chosen = _choice_codes(data[choice], alternatives, situation_ids)
        bad = np.flatnonzero(~available[np.arange(n), chosen])
        if bad.size:
            s, alt = bad[0], alternatives[chosen[bad[0]]]
            raise ValueError(
                f"situation {label(situation_ids[s])} chose {label(alt)}, which is "
                f"unavailable there (column {avail_columns[alt]!r} is 0)"
            )

    # Rows in situation-major order; keep the available ones. The attribute
    # values are gathered from the alternative-major stack of their columns.
    keep = np.flatnonzero(available.ravel())
    rows_s, rows_j = np.divmod(keep, J)
    # Both levels are unique labels and the codes are known: no need to
    # factorize the per-row labels again.
    index = pd.MultiIndex(
        levels=[situation_ids, pd.Index(alternatives)],
        codes=[rows_s, rows_j],
        names=list(names),
        verify_integrity=False,
    )
    pieces = {}
    for attr in attributes:
        stacked = pd.concat(
            [
                data[columns[attr, a]]
                if (attr, a) in columns
                else pd.Series(fill_value, index=data.index)
                for a in alternatives
            ],
            ignore_index=True,
        )
        pieces[attr] = stacked.take(rows_j * n + rows_s).set_axis(index)
    frame = pd.DataFrame(pieces, index=index)
    if case_columns:
        case = data[case_columns].take(rows_s).set_axis(index)
        frame = pd.concat([frame, case], axis=1)
    if choice is not None:
        frame[chosen_name] = (rows_j == chosen[rows_s]).astype(np.int64)
    return frame


# --------------------------------------------------------------------------------
# Long <-> dense
# --------------------------------------------------------------------------------


def long_to_dense(X, y=None, *, situation_key=0, alternative_key=1, alternatives=None):
    """Turn long choice data into a dense (situation, alternative, feature) array.

    Parameters
    ----------
    X : pandas DataFrame of shape (n_rows, n_columns)
        Long data: one row per available (situation, alternative); the ids in the
        index (or in columns, see the keys). Every other column must be numeric:
        case variables simply become features that are equal across the
        alternatives of a situation.
    y : array-like of shape (n_rows,), default=None
        Per row: 1 chosen / 0 not, or counts >= 0.
    situation_key : int or str, default=0
        Index level (position or name), or column, of the situation id.
    alternative_key : int or str, default=1
        Index level (position or name), or column, of the alternative id.
    alternatives : list, default=None
        The alternatives in the order of the dense axis 1; may include
        alternatives absent from X. None: the labels found, sorted (in order of
        appearance if they cannot be sorted).

    Returns
    -------
    dense : Bunch
        With the keyword arguments of :func:`dense_to_long`, so that
        ``dense_to_long(**long_to_dense(X, y))`` goes back:

        X : ndarray of shape (n_situations, n_alternatives, n_features)
            NaN on every feature of an unavailable alternative.
        y : ndarray of shape (n_situations,) or (n_situations, n_alternatives) \
                or None
            The chosen alternative's index when every situation has exactly one
            choice (y in {0, 1}); otherwise the counts.
        situations : pandas Index of shape (n_situations,)
            Situation ids, in order of first appearance.
        alternatives : pandas Index of shape (n_alternatives,)
            Alternative labels.
        feature_names : ndarray of shape (n_features,)
            Column names.
        names : list of two str
            Names of the situation and alternative ids.

    Examples
    --------
    >>> import pandas as pd
    >>> from skpolicy.reshape import long_to_dense
    >>> X = pd.DataFrame(
    ...     {"time": [20.0, 35.0, 30.0], "income": [3.5, 3.5, 2.0]},
    ...     index=pd.MultiIndex.from_tuples(
    ...         [(0, "car"), (0, "bus"), (1, "car")], names=["id", "mode"]
    ...     ),
    ... )
    >>> dense = long_to_dense(X, [0, 1, 1])
    >>> dense.X.shape, list(dense.alternatives), dense.y
    ((2, 2, 2), ['bus', 'car'], array([0, 1]))
    >>> dense.X[1]
    array([[nan, nan],
           [30.,  2.]])
    """
    check_long_frame(X, "long_to_dense")
    situation_ids, s_column = key_values(X, situation_key, "situation")
    alternative_ids, a_column = key_values(X, alternative_key, "alternative")
    features = X.drop(columns=[c for c in (s_column, a_column) if c is not None])
    check_numeric_columns(
        features,
        "A dense float array cannot hold it: encode it first (e.g. pd.get_dummies "
        "or OneHotEncoder) or drop it",
    )
    s_codes, situations = pd.factorize(situation_ids)
    if alternatives is None:
        j_codes, alternatives = _factorize(alternative_ids, sort=True)
    else:
        alternatives = _unique_labels(alternatives, "alternatives")
        j_codes = alternatives.get_indexer(alternative_ids)
        if np.any(j_codes < 0):
            unknown = alternative_ids[j_codes < 0].unique()
            raise ValueError(
                f"X has alternative(s) {list(unknown)} that are not in "
                f"alternatives={list(alternatives)}"
            )
    n, J, K = len(situations), len(alternatives), features.shape[1]
    flat = s_codes * J + j_codes
    dup = pd.Index(flat).duplicated()
    if dup.any():
        r = int(np.argmax(dup))
        raise ValueError(
            f"X has several rows for situation {label(situation_ids[r])} and "
            f"alternative {label(alternative_ids[r])}: each (situation, "
            "alternative) pair must occur once"
        )
    values = features.to_numpy(dtype=feature_dtype(features), na_value=np.nan)
    if K and n:
        empty = np.isnan(values).all(axis=1)
        if empty.any():
            r = int(np.argmax(empty))
            raise ValueError(
                f"the row of situation {label(situation_ids[r])} and alternative "
                f"{label(alternative_ids[r])} is NaN in every feature; in the dense "
                "format it would read as unavailable: drop it or fix the data"
            )
    dense = np.full((n * J, K), np.nan, dtype=values.dtype)
    dense[flat] = values
    y_dense = None
    if y is not None:
        y_rows = np.asarray(y)
        if y_rows.ndim != 1 or y_rows.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must have one entry per row of X ({X.shape[0]}), got shape "
                f"{y_rows.shape}"
            )
        counts = np.zeros(n * J)
        counts[flat] = _check_row_counts(y_rows)
        counts = counts.reshape(n, J)
        single = np.isin(y_rows, (0, 1)).all() and np.all(counts.sum(axis=1) == 1)
        y_dense = counts.argmax(axis=1) if single else counts
    return Bunch(
        X=dense.reshape(n, J, K),
        y=y_dense,
        situations=pd.Index(situations),
        alternatives=pd.Index(alternatives),
        feature_names=np.asarray(features.columns, dtype=object),
        names=[situation_ids.name, alternative_ids.name],
    )


def _check_row_counts(y):
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ValueError(f"y must be numeric, got dtype {y.dtype}")
    y = y.astype(np.float64)
    bad = ~np.isfinite(y) | (y < 0)
    if bad.any():
        r = int(np.argmax(bad))
        raise ValueError(f"y[{r}] = {label(y[r])}: choices must be finite and >= 0")
    return y


def dense_to_long(
    X,
    y=None,
    *,
    alternatives=None,
    situations=None,
    feature_names=None,
    names=("situation", "alternative"),
):
    """Turn a dense (situation, alternative, feature) array into long choice data.

    Parameters
    ----------
    X : array-like of shape (n_situations, n_alternatives, n_features)
        An alternative whose features are all NaN is unavailable and gets no row.
    y : array-like of shape (n_situations,) or (n_situations, n_alternatives), \
            default=None
        The chosen alternative's index, or choice counts.
    alternatives : array-like of shape (n_alternatives,), default=None
        Alternative labels; None numbers them 0, 1, ...
    situations : array-like of shape (n_situations,), default=None
        Situation ids; None numbers them 0, 1, ...
    feature_names : array-like of shape (n_features,), default=None
        Column names; None gives ``x0, x1, ...``.
    names : tuple of two str, default=("situation", "alternative")
        Names of the two index levels.

    Returns
    -------
    X_long : pandas DataFrame of shape (n_rows, n_features)
        One row per available (situation, alternative), situation-major.
    y_long : pandas Series of shape (n_rows,), named "chosen"
        Only when ``y`` is given: 1/0 per row for chosen indices, the counts
        otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.reshape import dense_to_long
    >>> X = np.array([[[1.0], [2.0]], [[3.0], [np.nan]]])
    >>> X_long, y_long = dense_to_long(X, [1, 0], alternatives=["car", "bus"])
    >>> X_long
                           x0
    situation alternative
    0         car         1.0
              bus         2.0
    1         car         3.0
    >>> y_long.tolist()
    [0, 1, 1]
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(
            "X must have shape (n_situations, n_alternatives, n_features), got "
            f"{X.ndim} dimension(s)"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    n, J, K = X.shape
    if K == 0:
        raise ValueError("X has no features: nothing marks the available alternatives")

    def labels(given, size, what):
        if given is None:
            return pd.RangeIndex(size)
        given = _unique_labels(given, what)
        if len(given) != size:
            raise ValueError(f"{what} has {len(given)} entries, X has {size}")
        return given

    alternatives = labels(alternatives, J, "alternatives")
    situations = labels(situations, n, "situations")
    if feature_names is None:
        feature_names = [f"x{k}" for k in range(K)]
    feature_names = labels(feature_names, K, "feature_names")
    available = ~np.isnan(X).all(axis=2)
    s, j = np.nonzero(available)
    index = pd.MultiIndex(
        levels=[situations, alternatives],
        codes=[s, j],
        names=list(names),
        verify_integrity=False,
    )
    frame = pd.DataFrame(X[s, j], index=index, columns=feature_names)
    if y is None:
        return frame
    y_arr = np.asarray(y)
    counts = dense_counts(y_arr, n, J)  # validates indices or counts
    unavailable = (counts > 0) & ~available
    if unavailable.any():
        bad_s, bad_j = np.argwhere(unavailable)[0]
        raise ValueError(
            f"y chooses alternative {label(alternatives[bad_j])} in situation "
            f"{label(situations[bad_s])}, but it is unavailable there (all its "
            "features are NaN)"
        )
    if y_arr.ndim == 1 or (y_arr.ndim == 2 and y_arr.shape[1] == 1):
        y_long = counts[s, j].astype(np.int64)
    else:
        y_long = y_arr[s, j]
    return frame, pd.Series(y_long, index=index, name="chosen")
