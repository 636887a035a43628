"""Data layer: validate either choice format and convert it into one canonical block.

The two formats of DESIGN.md section 2:

- **long**: a pandas DataFrame with one row per available (situation, alternative);
  the situation id is an index level (default level 0) or a column;
- **dense**: an ndarray of shape (n_situations, n_alternatives, n_features) in which
  an all-NaN feature row marks an unavailable alternative.

Both become a :class:`ChoiceData`: a C-contiguous ``(n_rows, n_features)`` feature
matrix whose rows are grouped by situation, the situations as :mod:`._segments`,
choice counts per row and one weight per situation. The kernel and the estimator see
only this block. Nothing here loops over situations in Python, and the user's
objects are never written to.
"""

import sys
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._segments import Segments, make_segments
from .exceptions import DataWarning

FORMATS_HINT = (
    "skpolicy accepts two formats: a long pandas DataFrame whose index (or a "
    "column) holds the situation id, e.g. a MultiIndex (situation, alternative) "
    "with one row per available alternative; or a dense ndarray of shape "
    "(n_situations, n_alternatives, n_features) with all-NaN rows for unavailable "
    "alternatives."
)
PIPELINE_HINT = (
    "Inside a Pipeline or ColumnTransformer, call "
    '.set_output(transform="pandas") so that the DataFrame index, which carries '
    "the situation ids, survives the transformers."
)
SPLIT_HINT = (
    "A cross-validation splitter that cuts situations in two (such as KFold on "
    "long data) causes this: use skpolicy.model_selection.SituationKFold, or "
    "GroupKFold with groups set to the situation ids."
)


@dataclass(frozen=True, eq=False)
class ChoiceData:
    """A canonical block of whole situations.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_features), C-contiguous float64 or float32
        Features of every available (situation, alternative) pair, rows grouped by
        situation. For complete dense input this is a view of the user's array.
    segments : Segments
        The situations (``n_situations`` segments of the rows).
    y : ndarray of shape (n_rows,) or None
        Choice counts (0/1 for single choices); None when predicting.
    sample_weight : ndarray of shape (n_situations,) or None
        Weight of each situation; None when predicting.
    rows : ndarray of shape (n_rows,) or None
        Position of each canonical row in the user's layout, flattened (the row of
        the DataFrame, or ``s * n_alternatives + j`` for dense input); None when the
        canonical rows are the user's rows in order.
    output_shape : tuple of int
        Shape of per-(situation, alternative) outputs in the user's layout:
        ``(n_user_rows,)`` for long input, ``(n_situations, n_alternatives)``
        for dense input.
    situation_labels : ndarray of shape (n_situations,)
        The user's situation ids (positions for dense input), for messages.
    dense : bool
        Whether the input was dense.
    """

    X: np.ndarray
    segments: Segments
    y: np.ndarray | None
    sample_weight: np.ndarray | None
    rows: np.ndarray | None
    output_shape: tuple
    situation_labels: np.ndarray
    dense: bool

    @property
    def n_situations(self):
        return self.segments.n_segments

    @property
    def n_features(self):
        return self.X.shape[1]

    def to_user_layout(self, values, fill):
        """Place per-row values at the user's positions, ``fill`` elsewhere.

        Parameters
        ----------
        values : ndarray of shape (n_rows,)
        fill : scalar
            Value for unavailable alternatives (dense input only).

        Returns
        -------
        ndarray of shape ``output_shape``
        """
        if self.rows is None:
            return values.reshape(self.output_shape)
        out = np.full(int(np.prod(self.output_shape)), fill, dtype=values.dtype)
        out[self.rows] = values
        return out.reshape(self.output_shape)

    def user_alternative(self, canonical_rows):
        """Dense alternative index (column of the user's array) of canonical rows."""
        flat = canonical_rows if self.rows is None else self.rows[canonical_rows]
        return flat % self.output_shape[1]

    def describe_situation(self, s):
        """Name situation ``s`` as the user knows it, for error messages."""
        return f"situation {label(self.situation_labels[s])}"


@dataclass(frozen=True, eq=False)
class SituationFeatures:
    """Situation-level features with one coefficient vector per alternative.

    Attributes
    ----------
    Z : ndarray of shape (n_situations, P), float64
        Features of each situation of the block (the same rows as its segments).
    n_alternatives : int
        ``J``: alternatives are coded ``0..J-1``.
    alternatives : ndarray of shape (n_rows,), int or None
        Alternative code of every canonical row; None when every situation offers
        all ``J`` alternatives in code order (row ``i`` of a situation is ``i``).
    reference : int
        The alternative whose ``gamma`` is 0.
    """

    Z: np.ndarray
    n_alternatives: int
    alternatives: np.ndarray | None = None
    reference: int = 0

    @property
    def n_features(self):
        return self.Z.shape[1]

    @property
    def free(self):
        """ndarray of shape (F,): the alternatives whose ``gamma`` is estimated."""
        return np.delete(np.arange(self.n_alternatives), self.reference)

    @property
    def n_params(self):
        return (self.n_alternatives - 1) * self.n_features

    def gamma_matrix(self, gamma_free):
        """Full ``(J, P)`` coefficient matrix, zeros in the reference row."""
        full = np.zeros((self.n_alternatives, self.n_features))
        full[self.free] = np.reshape(gamma_free, (-1, self.n_features))
        return full


def label(value):
    """A situation id or index value as users wrote it (no numpy scalar repr).

    Tuples (the entries of a MultiIndex) are written element by element, so that
    ``(np.int64(2), np.int64(1))`` reads ``(2, 1)``.
    """
    if isinstance(value, tuple):
        inner = ", ".join(label(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    value = value.item() if isinstance(value, np.generic) else value
    return repr(value)


def labels(values, limit=5):
    """``[a, b, ...]`` written with :func:`label`, at most ``limit`` of them."""
    values = list(values)
    shown = ", ".join(label(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


# Modules whose frames a warning skips to reach the user's line: ours, and
# scikit-learn's wrappers (``_fit_context``, Pipeline, searches) around them.
_INTERNAL_MODULES = ("skpolicy", "sklearn")


def user_stacklevel():
    """``stacklevel`` that makes a warning point at the first frame outside skpolicy.

    Call it from the function that calls :func:`warnings.warn`. The depth of our
    own and scikit-learn's frames between the user and a check varies with the
    path (fit, score, a Pipeline, a search), so it is counted rather than fixed.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] not in _INTERNAL_MODULES:
            return level
        frame = frame.f_back
        level += 1
    return 1


# --------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------


def is_dense(X):
    """Whether X is in the dense format (a 3-D array)."""
    return getattr(X, "ndim", None) == 3 and not isinstance(X, pd.DataFrame)


def check_choice_format(X):
    """Raise a ValueError naming the two formats unless X is one of them."""
    if isinstance(X, pd.DataFrame) or is_dense(X):
        return
    if sp.issparse(X):
        raise TypeError(
            "A sparse matrix was passed, but dense data is required: skpolicy "
            f"needs choice situations. {FORMATS_HINT}"
        )
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        try:
            ndim = np.ndim(X)
        except Exception:  # pragma: no cover - exotic containers
            ndim = "unknown"
    what = f"{type(X).__name__} with {ndim} dimension(s)"
    if ndim == 3:
        # A nested list does have the dense layout; only its container is wrong.
        raise ValueError(
            f"X is a {what}: the dense format needs it as a NumPy array of shape "
            "(n_situations, n_alternatives, n_features). Pass "
            "np.asarray(X, dtype=float), with NaN for the features of unavailable "
            "alternatives"
        )
    hint = PIPELINE_HINT if ndim == 2 else ""
    raise ValueError(
        f"X is a {what}, which carries no situation structure. {FORMATS_HINT} {hint}"
    )


def locate_key(X, key, param, hint=""):
    """Where the id that ``key`` names lives in long X: an index level or a column.

    Parameters
    ----------
    X : pandas DataFrame
    key : int or str
        Index level (position or name); a str that is not a level name is looked
        up among the columns.
    param : str
        The user's parameter that holds ``key`` (e.g. ``"situation_key"``), for
        messages.
    hint : str, default=""
        What to do about a bad key, appended to the message.

    Returns
    -------
    kind : {"level", "column"}
    where : int or str
        The level number, or the column name.
    """
    index = X.index
    names = list(index.names)
    if isinstance(key, (bool, np.bool_)):
        # bool is an int to Python: True would silently mean level 1.
        raise TypeError(
            f"{param}={label(key)} is a bool; give an index level as a number or a "
            f"name, or a column name. {hint}".rstrip()
        )
    if isinstance(key, str) and key in names and key in X.columns:
        raise ValueError(
            f"{param}={key!r} is both an index level and a column of X, which "
            "pandas calls ambiguous: drop one of them, e.g. "
            f"X.drop(columns={key!r}) to use the index level"
        )
    if isinstance(key, str) and key not in names:
        if key in X.columns:
            return "column", key
        raise ValueError(
            f"{param}={key!r} is neither an index level (levels: {labels(names)}) "
            f"nor a column of X. {hint}".rstrip()
        )
    if key in names:
        return "level", names.index(key)
    if isinstance(key, (int, np.integer)) and -index.nlevels <= key < index.nlevels:
        return "level", int(key) % index.nlevels
    raise ValueError(
        f"{param}={label(key)} but the index of X has only {index.nlevels} "
        f"level(s). {hint}".rstrip()
    )


def key_values(X, key, what, hint=None):
    """Per-row values of an id stored in an index level or a column of X.

    Parameters
    ----------
    X : pandas DataFrame
    key : int or str
        As in :func:`locate_key`; the parameter is called ``<what>_key``.
    what : str
        ``"situation"`` or ``"alternative"``, for messages.
    hint : str, default=None
        Appended to the message of a bad key; None says where the id can be.

    Returns
    -------
    values : pandas Index of shape (n_rows,)
    column : str or None
        The column the ids came from, None when they came from the index.
    """
    if hint is None:
        hint = (
            f"The {what} id must be an index level, e.g. "
            f"X.set_index(['situation', 'alternative']), or a column named by "
            f"{what}_key"
        )
    kind, where = locate_key(X, key, f"{what}_key", hint)
    if kind == "column":
        return pd.Index(X[where]), where
    return X.index.get_level_values(where), None


def split_situations(X, situation_key=0):
    """Separate the situation ids of a long DataFrame from its feature columns.

    Parameters
    ----------
    X : pandas DataFrame
        Long-format data.
    situation_key : int or str, default=0
        Index level (position or name) holding the situation id; a str that is not
        an index level name is taken as a column, which is then not a feature.

    Returns
    -------
    features : pandas DataFrame
        X without the situation column (X itself when the id is in the index).
    situation_ids : ndarray or pandas Index of shape (n_rows,)
        The situation id of every row.

    Raises
    ------
    ValueError
        For duplicate column names, a missing (NaN) situation id, or duplicated
        index entries of a MultiIndex (the same (situation, alternative) twice):
        every caller that reads situations goes through here, so none of them
        can pool or double rows silently.
    """
    _check_column_names(X)
    kind, where = locate_key(X, situation_key, "situation_key", FORMATS_HINT)
    if kind == "column":
        ids = X[where].to_numpy()
        _check_missing_ids(pd.isna(ids), X, f"column {label(where)}")
        return X.drop(columns=where), ids
    index = X.index
    if isinstance(index, pd.MultiIndex):
        # The integer codes are already there: avoid materialising the labels.
        codes = np.asarray(index.codes[where])
        # pandas codes a missing label as -1.
        _check_missing_ids(codes < 0, X, f"index level {_level_name(index, where)}")
        _check_duplicate_rows(X)
        return X, _LevelIds(codes, index.levels[where], where, list(index.names))
    _check_missing_ids(np.asarray(index.isna()), X, "index")
    return X, index


class _LevelIds:
    """Situation ids given as MultiIndex codes plus the level's labels.

    ``level`` and ``names`` say which level of which index they came from, for
    messages about a situation key that looks wrong.
    """

    def __init__(self, codes, labels, level=None, names=None):
        self.codes = np.asarray(codes)
        self.labels = labels
        self.level = level
        self.names = names

    def __len__(self):
        return self.codes.shape[0]


def _level_name(index, level):
    name = index.names[level]
    return f"{level}" if name is None else f"{level} ({label(name)})"


def _check_column_names(X):
    # Selecting a duplicated name returns both columns, and scikit-learn's
    # feature-name checks fail deep inside their dataframe layer: refuse first.
    if X.columns.is_unique:
        return
    dup = X.columns[X.columns.duplicated()].unique()
    raise ValueError(
        f"X has duplicate column names {labels(dup)}: every feature needs a name of "
        "its own. Rename or drop the duplicates, e.g. "
        "X.loc[:, ~X.columns.duplicated()]"
    )


def _check_missing_ids(missing, X, where):
    """Refuse rows whose situation id is missing, naming the first of them."""
    if not missing.any():
        return
    rows = np.flatnonzero(missing)
    raise ValueError(
        f"the situation id ({where}) is missing (NaN or None) on {rows.size} row(s) "
        f"of X, at positions {labels(rows)} (index {labels(X.index[rows[:3]], 3)}). "
        "A row without a situation id cannot be put in a choice set (pandas would "
        "pool them all into one situation): drop these rows or fill in their "
        "situation ids"
    )


def _check_duplicate_rows(X):
    """Refuse a MultiIndex that holds the same entry twice (e.g. a bad merge)."""
    index = X.index
    if index.is_unique:  # cached by pandas: free on later calls with the same X
        return
    duplicated = index.duplicated()
    n = int(duplicated.sum())
    first = index[int(np.argmax(duplicated))]
    positions = index.get_indexer_for([first])
    raise ValueError(
        f"X has {n} duplicated index entr{'y' if n == 1 else 'ies'}: {label(first)} "
        f"occurs on the rows at positions {labels(positions)}. Each (situation, "
        "alternative) pair must have one row, or that alternative counts twice in "
        "its choice set; a merge or concat that repeated rows usually causes this. "
        "Drop the duplicates (X[~X.index.duplicated()]) or aggregate them"
    )


def situation_codes(X, situation_key=0):
    """Situation of every row of a long DataFrame as codes 0..n_situations-1.

    Returns
    -------
    codes : ndarray of shape (n_rows,)
        Situations numbered in order of first appearance.
    labels : ndarray of shape (n_situations,)
        The situation id of each code.
    """
    return factorize(split_situations(X, situation_key)[1])


def factorize(situation_ids):
    """Codes numbered by first appearance, and the labels of those codes."""
    if isinstance(situation_ids, _LevelIds):
        codes, first = pd.factorize(situation_ids.codes)
        return codes, np.asarray(situation_ids.labels[first])
    codes, labels = pd.factorize(np.asarray(situation_ids), use_na_sentinel=False)
    return codes, np.asarray(labels)


# --------------------------------------------------------------------------------
# Long format
# --------------------------------------------------------------------------------


def feature_dtype(frame):
    """float32 when every feature column is float32, else float64."""
    if frame.shape[1] and all(dt == np.float32 for dt in frame.dtypes):
        return np.float32
    return np.float64


def check_numeric_columns(frame, hint):
    """Raise ValueError naming the first non-numeric (and non-bool) column.

    Parameters
    ----------
    frame : pandas DataFrame
    hint : str
        What to do about it, appended to the message (callers differ in the fix).
    """
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_complex_dtype(dtype):
            # numpy would cast it to float, silently dropping the imaginary part.
            raise ValueError(
                f"column {label(name)} has dtype {dtype}: complex features are not "
                "supported. Pass its real part (or real and imaginary parts as two "
                "columns)"
            )
        if not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            raise ValueError(
                f"column {label(name)} has dtype {dtype}, not numeric. {hint}"
            )


def long_block(features, situation_ids, y=None, sample_weight=None):
    """Canonical block from long-format features and per-row situation ids.

    Parameters
    ----------
    features : pandas DataFrame of shape (n_rows, n_features)
        Numeric feature columns, one row per available (situation, alternative).
    situation_ids : array-like of shape (n_rows,)
        Situation id of each row (from :func:`split_situations`).
    y : array-like of shape (n_rows,), default=None
        Choice indicator or count of each row, >= 0.
    sample_weight : array-like of shape (n_rows,), default=None
        Weight of each row's situation, constant within a situation.

    Returns
    -------
    ChoiceData
    """
    n_rows = features.shape[0]
    if n_rows == 0:
        raise ValueError("X has no rows: at least one situation is required")
    if features.shape[1] == 0:
        raise ValueError(
            "X has no feature columns (besides the situation id): the model needs "
            "at least one feature that varies within situations"
        )
    check_numeric_columns(
        features,
        "Encode it first, e.g. with OneHotEncoder(sparse_output=False) in a "
        'ColumnTransformer with .set_output(transform="pandas")',
    )
    codes, labels = factorize(situation_ids)
    sizes = np.bincount(codes)
    if sizes.shape[0] == n_rows and n_rows > 1:
        raise ValueError(
            "the index of X does not identify situations: every situation id occurs "
            "on a single row, as with a RangeIndex. Put the situation id in the index "
            "(e.g. X.set_index(['situation', 'alternative'])) or name its column "
            f"with situation_key. {PIPELINE_HINT}"
        )
    grouped = n_rows < 2 or bool(np.all(codes[1:] >= codes[:-1]))
    order = None if grouped else np.argsort(codes, kind="stable")

    dtype = feature_dtype(features)
    values = features.to_numpy(dtype=dtype)
    values = np.ascontiguousarray(values if order is None else values[order])
    segments = make_segments(sizes)
    _check_finite_rows(values, segments, labels, features, order)

    def per_row(v):
        return v if order is None else v[order]

    y_rows = w_sit = None
    if y is not None:
        y_rows = per_row(_check_counts(align_to_rows(y, features.index, "y"), n_rows))
        _check_situation_key(y_rows, segments, situation_ids)
    if sample_weight is not None:
        w_rows = _check_row_weights(
            align_to_rows(sample_weight, features.index, "sample_weight"), n_rows
        )
        w_sit = situation_weights(w_rows, codes, labels)
    data = ChoiceData(
        X=values,
        segments=segments,
        y=y_rows,
        sample_weight=w_sit,
        rows=order,
        output_shape=(n_rows,),
        situation_labels=labels,
        dense=False,
    )
    return data


def _segment_of_row(segments, row):
    return int(np.searchsorted(segments.offsets, row, side="right") - 1)


def situation_weights(w_rows, codes, labels):
    """One weight per situation from per-row weights that must agree within each.

    Parameters
    ----------
    w_rows : ndarray of shape (n_rows,)
        Validated per-row weights, in the user's row order.
    codes : ndarray of shape (n_rows,)
        Situation code of every row, 0..n_situations-1.
    labels : ndarray of shape (n_situations,)
        Situation ids, for the message.

    Returns
    -------
    ndarray of shape (n_situations,)
    """
    w_sit = np.empty(labels.shape[0])
    w_sit[codes] = w_rows  # any row of a situation: they are checked to agree
    varies = np.flatnonzero(w_rows != w_sit[codes])
    if varies.size:
        raise ValueError(
            f"sample_weight varies within situation {label(labels[codes[varies[0]]])}"
            ": in the long format a weight belongs to the whole situation, so give "
            "every row of a situation the same weight"
        )
    return w_sit


def align_to_rows(values, index, what):
    """y or sample_weight in the order of X's rows.

    sklearn uses y by position; pandas aligns a Series by its index. The two agree
    when the index of ``values`` is X's index; when it holds the same labels in
    another order, pandas' reading is the one the user meant, so ``values`` is
    reordered to X's rows. An index of the same kind as X's (same number of levels
    and names) with other labels cannot be matched and is refused rather than used
    by position. An index of another kind (e.g. the RangeIndex of a column taken
    before ``set_index``) says nothing about X's rows and is used by position, as
    sklearn does.

    Parameters
    ----------
    values : array-like, pandas Series or one-column DataFrame
    index : pandas Index
        X's index (one entry per row).
    what : str
        ``"y"`` or ``"sample_weight"``, for messages.

    Returns
    -------
    values : array-like
        An ndarray in the order of X's rows for pandas input, else ``values``.
    """
    if not isinstance(values, (pd.Series, pd.DataFrame)):
        return values
    own = values.index
    array = values.to_numpy()
    if own is index or len(own) != len(index) or own.equals(index):
        return array  # a length mismatch gets its own message later
    same_kind = own.nlevels == index.nlevels
    if same_kind and own.is_unique and index.is_unique:
        position = own.get_indexer(index)
        if np.all(position >= 0):  # the same labels in another order
            return array[position]
    default = (
        isinstance(own, pd.RangeIndex) and own.start == 0 and own.step == 1
    ) or own.nlevels != index.nlevels
    if same_kind and list(own.names) == list(index.names) and not default:
        ours, theirs = own.to_flat_index(), index.to_flat_index()
        row = int(np.argmax(np.asarray(ours != theirs, dtype=bool)))
        raise ValueError(
            f"{what} is a pandas {type(values).__name__} whose index does not match "
            f"the index of X: at position {row} it says {label(ours[row])} where X "
            f"has {label(theirs[row])}, and its labels are not a reordering of X's. "
            f"Align it to X's rows ({what}.loc[X.index]) or, if its order is right, "
            f"pass {what}.to_numpy() to use it by position"
        )
    return array


# Share of situations with several chosen rows above which 0/1 choices suggest that
# the situation key names the wrong level (e.g. the alternative or the person).
_MANY_CHOICES_SHARE = 0.5


def _check_situation_key(y, segments, situation_ids):
    """Warn when 0/1 choices show several chosen rows in most situations.

    With one choice per situation (the usual data), that pattern means the rows
    were grouped by something other than the situation: an index with levels
    (alternative, situation) or (person, situation, alternative) read with the
    default ``situation_key=0``. Genuine multiple choices are legal (counts), so
    this warns instead of refusing.
    """
    if not np.all((y == 0) | (y == 1)):
        return  # counts: several chosen rows are expected
    n_chosen_rows = segments.sum(y)
    many = int(np.count_nonzero(n_chosen_rows > 1))
    if many <= _MANY_CHOICES_SHARE * segments.n_segments:
        return
    if isinstance(situation_ids, _LevelIds) and situation_ids.names is not None:
        names = situation_ids.names
        level = situation_ids.level
        others = [
            label(n if n is not None else k) for k, n in enumerate(names) if k != level
        ]
        where = (
            f"grouped by index level {level} ({label(names[level])}) of the levels "
            f"{labels(names)}. If the situation id is another level, pass "
            f"situation_key= with its name or number ({' or '.join(others)})"
        )
    else:
        where = (
            "grouped by the situation ids of X. If the situation id is elsewhere "
            "(another index level or a column), name it with situation_key="
        )
    warnings.warn(
        f"y marks more than one chosen row in {many} of {segments.n_segments} "
        f"situations, {where}. If several choices per situation are intended, "
        "ignore this warning (skpolicy.exceptions.DataWarning)",
        DataWarning,
        stacklevel=user_stacklevel(),
    )


def _check_finite_rows(values, segments, labels, features, order):
    # One pass settles the usual case (see _screen): only when it fails do the
    # row sums (non-finite for a row with NaN or inf) and the exact tests run.
    if _screen(values):
        return
    with np.errstate(invalid="ignore", over="ignore"):
        suspect = np.flatnonzero(~np.isfinite(values.sum(axis=1)))
    bad = ~np.isfinite(values[suspect])
    hit = np.flatnonzero(bad.any(axis=1))

    def where(row, col):
        user_row = row if order is None else order[row]
        s = _segment_of_row(segments, row)
        return (
            f"column {label(features.columns[col])} at row "
            f"{label(features.index[user_row])} (situation {label(labels[s])})"
        )

    if hit.size:
        row = suspect[hit[0]]
        raise ValueError(
            f"X contains NaN or inf in {where(row, np.flatnonzero(bad[hit[0]])[0])}. "
            "In the long format every row is an available alternative: drop the "
            "rows of unavailable alternatives, impute missing values, or fix the data"
        )
    if values.dtype == np.float64:
        row, col = np.unravel_index(np.argmax(np.abs(values)), values.shape)
        _raise_too_large(values[row, col], where(row, col))


# Entries whose squares sum beyond this overflow the model's sums of squared
# features (the Hessian) in float64.
_MAX_SUM_OF_SQUARES = np.finfo(np.float64).max


def _screen(values):
    """Whether every entry is finite and the sum of squares does not overflow.

    For float64 one BLAS dot product of the data with itself runs at memory speed
    (like a plain sum) and is finite exactly when no entry is NaN or inf and no
    sum of squared features the kernel forms can overflow. float32 features are
    widened to float64 chunk by chunk in the kernel, where their squares cannot
    overflow, so for them a (float32) sum screens for NaN and inf only (it may
    overflow too; then the exact tests run and find nothing).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        if values.dtype != np.float64:
            return bool(np.isfinite(values.sum()))
        if values.flags.c_contiguous:
            flat = values.reshape(-1)
            total = flat @ flat
        else:  # a strided view: no flattened copy
            axes = "ijk"[: values.ndim]
            total = np.einsum(f"{axes},{axes}->", values, values)
    return bool(np.isfinite(total))


def _raise_too_large(value, where):
    raise ValueError(
        f"X holds the value {float(value):.3g} in {where}: features this large "
        "overflow float64 in the model's sums of squared features (they must stay "
        "below 1.8e308). Rescale the feature (other units, or StandardScaler)"
    )


def as_1d_float(v, what, n, unit="rows"):
    arr = np.asarray(v)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {np.shape(v)}")
    if arr.shape[0] != n:
        raise ValueError(
            f"{what} has {arr.shape[0]} entries but X has {n} {unit}: they must "
            "have the same length"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        # astype(float) would drop the imaginary part silently.
        raise ValueError(f"{what} must be real, got dtype {arr.dtype}")
    if arr.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in arr):
        arr = arr.astype(bool)  # True/False held as objects: 1/0
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        if what == "y":
            raise ValueError(_choice_labels_message(arr))
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or inf at position {_first_bad(arr)}")
    if np.any(arr < 0):
        raise ValueError(
            f"{what} contains a negative value ({label(arr[np.argmax(arr < 0)])} at "
            f"position {int(np.argmax(arr < 0))}); it must be >= 0"
        )
    return arr


_CHOSEN_WORDS = ("yes", "y", "true", "t", "chosen", "choice", "1")


def _choice_labels_message(arr):
    """The error for a long-format y given as labels ("yes"/"no", a categorical).

    The rule: y is 1 on the chosen row and 0 elsewhere, or counts; True/False
    are 1/0. Which label means "chosen" is the user's to say (R's mlogit takes
    the second factor level, which silently depends on the labels' sort order),
    so the message gives the one-line conversion.
    """
    labels = pd.unique(pd.Series(arr, dtype=object).dropna())
    chosen = next(
        (v for v in labels if str(v).strip().lower() in _CHOSEN_WORDS),
        labels[0] if len(labels) else "yes",
    )
    shown = ", ".join(repr(v) for v in labels[:4])
    shown += ", ..." if len(labels) > 4 else ""
    return (
        f"y holds labels ({shown}), but long-format y is 1 on the chosen row and "
        "0 elsewhere (or counts; True/False are accepted). Say which label means "
        f"chosen, e.g. y = (y == {chosen!r}).astype(int)"
    )


def _first_bad(arr):
    return int(np.flatnonzero(~np.isfinite(arr))[0])


def _check_counts(y, n_rows):
    return as_1d_float(y, "y", n_rows)


def _check_row_weights(sample_weight, n_rows):
    return as_1d_float(sample_weight, "sample_weight", n_rows)


# --------------------------------------------------------------------------------
# Dense format
# --------------------------------------------------------------------------------


def dense_block(X, y=None, sample_weight=None):
    """Canonical block from a dense (n_situations, n_alternatives, n_features) array.

    Parameters
    ----------
    X : ndarray of shape (n_situations, n_alternatives, n_features), float
        Already validated as a float array (see the estimator); an all-NaN row
        marks an unavailable alternative.
    y : array-like of shape (n_situations,) or (n_situations, n_alternatives)
        Index of the chosen alternative, or choice counts.
    sample_weight : array-like of shape (n_situations,), default=None

    Returns
    -------
    ChoiceData
    """
    n, J, K = X.shape
    if n == 0 or J == 0:
        raise ValueError(
            f"X has shape {X.shape}: at least one situation and one "
            "alternative are required"
        )
    if K == 0:
        raise ValueError(
            f"X has shape {X.shape}: no features (last axis). The model needs at "
            "least one feature that varies within situations"
        )
    # NaN or inf anywhere in a row makes its sum non-finite: screen on the sums.
    available = _finite_rows(X)
    screened = available is None
    complete = available is None or bool(available.all())
    if not complete:
        suspect = np.flatnonzero(~available.ravel())
        cells = _take_rows(X, suspect)
        all_nan = np.isnan(cells).all(axis=1)
        # The few rows not all NaN: finite ones only overflowed the sum (they are
        # available), the others are errors.
        mixed = np.flatnonzero(~all_nan)
        finite = np.isfinite(cells[mixed]).all(axis=1)
        available.ravel()[suspect[mixed[finite]]] = True
        if not finite.all():
            s, j = divmod(int(suspect[mixed[np.argmin(finite)]]), J)
            k = int(np.flatnonzero(~np.isfinite(X[s, j]))[0])
            raise ValueError(
                f"X contains NaN or inf in feature {k} of available alternative {j} "
                f"of situation {s}. In the dense format an unavailable alternative "
                "has all its features NaN; an available one must be finite"
            )
        complete = bool(available.all())
    # Complete data (the common case) skips the per-row passes below.
    sizes = np.full(n, J) if complete else available.sum(axis=1)
    if np.any(sizes == 0):
        s = int(np.flatnonzero(sizes == 0)[0])
        raise ValueError(
            f"situation {s} has no available alternative (all its feature rows are "
            "NaN): remove it"
        )
    if complete:
        values = X.reshape(n * J, K)
        rows = None
    else:
        rows = np.flatnonzero(available.ravel())
        values = _take_rows(X, rows)
    values = np.ascontiguousarray(values)
    if not screened and not _screen(values):
        # Finite everywhere (checked above) yet too large for the model's sums.
        row, k = np.unravel_index(np.argmax(np.abs(values)), values.shape)
        s, j = divmod(int(row if rows is None else rows[row]), J)
        _raise_too_large(
            values[row, k], f"feature {k} of alternative {j} of situation {s}"
        )
    segments = make_segments(sizes)

    y_rows = w_sit = None
    if y is not None:
        counts = dense_counts(y, n, J)
        chosen_unavailable = False if complete else (counts > 0) & ~available
        if np.any(chosen_unavailable):
            s, j = np.argwhere(chosen_unavailable)[0]
            raise ValueError(
                f"y chooses alternative {j} in situation {s}, but that alternative is "
                "unavailable (its features are all NaN)"
            )
        y_rows = counts.ravel() if rows is None else counts.ravel()[rows]
    if sample_weight is not None:
        w_sit = as_1d_float(sample_weight, "sample_weight", n, unit="situations")
    return ChoiceData(
        X=values,
        segments=segments,
        y=y_rows,
        sample_weight=w_sit,
        rows=rows,
        output_shape=(n, J),
        situation_labels=np.arange(n),
        dense=True,
    )


def _finite_rows(X):
    """Which rows ``X[s, j]`` of a dense (n, J, K) array have a finite sum.

    Returns None when the whole array passes :func:`_screen` (every entry finite,
    no overflow of the sums of squares), else a boolean array of shape (n, J).

    NaN or inf anywhere in a row makes its sum non-finite (as do, rarely, huge
    finite values whose sum overflows). One pass over the whole array runs at
    memory speed and settles the usual case of complete data; numpy's
    ``X.sum(axis=2)`` over the short last axis is about 5 times slower (0.25 s
    against 0.05 s for 10^6 x 10 x 10), so it runs only when the total is not
    finite.
    """
    n, J, K = X.shape
    if _screen(X):
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        if X.flags.c_contiguous and K:
            # A BLAS matrix-vector product: about twice as fast as X.sum(axis=2).
            row_sums = X.reshape(n * J, K) @ np.ones(K, dtype=X.dtype)
            return np.isfinite(row_sums).reshape(n, J)
        return np.isfinite(X.sum(axis=2))


def _take_rows(X, flat_rows):
    """Rows ``X[s, j]`` at flat positions ``s * J + j``, shape (len, K), in a copy.

    ``np.take`` on the (n * J, K) view gathers whole rows about twice as fast as
    fancy indexing; X itself is never copied.
    """
    n, J, K = X.shape
    if X.flags.c_contiguous:
        return np.take(X.reshape(n * J, K), flat_rows, axis=0)
    return X[flat_rows // J, flat_rows % J]


def dense_counts(y, n, J):
    """(n, J) float64 counts from a chosen index (n,) or a counts matrix (n, J)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 1:
        if arr.shape[0] != n:
            raise ValueError(
                f"y has {arr.shape[0]} entries but X has {n} situations: they must "
                "have the same length"
            )
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise ValueError(f"y must hold alternative indices, got dtype {arr.dtype}")
        valid = np.isfinite(arr) & (arr == np.round(arr)) & (arr >= 0) & (arr < J)
        if not valid.all():
            s = int(np.flatnonzero(~valid)[0])
            raise ValueError(
                f"y[{s}] = {label(arr[s])} is not the index of an alternative: in the "
                f"dense format y holds the chosen alternative's index in 0..{J - 1}, "
                "or a (n_situations, n_alternatives) matrix of counts"
            )
        counts = np.zeros((n, J))
        counts[np.arange(n), arr.astype(np.intp)] = 1.0
        return counts
    if arr.ndim == 2:
        if arr.shape != (n, J):
            raise ValueError(
                f"y has shape {arr.shape} but X has {n} situations and {J} "
                "alternatives: a counts matrix must have shape "
                "(n_situations, n_alternatives)"
            )
        flat = as_1d_float(arr.ravel(), "y", n * J)
        return flat.reshape(n, J)
    raise ValueError(f"y must be 1-D or 2-D in the dense format, got shape {arr.shape}")


# --------------------------------------------------------------------------------
# Checks shared by both formats
# --------------------------------------------------------------------------------


def varying_features(data, max_rows=1 << 16):
    """Which features vary within at least one situation.

    A feature constant within every situation shifts all utilities of a situation
    equally, cancels from the softmax and cannot be estimated.

    Returns
    -------
    ndarray of shape (n_features,), dtype bool
    """
    varies = np.zeros(data.n_features, dtype=bool)
    for rows, _, segments in data.segments.split(max_rows):
        X = data.X[rows]
        varies |= (X != segments.expand(X[segments.offsets[:-1]])).any(axis=0)
        if varies.all():  # usually after the first chunk
            break
    return varies


def check_fit_block(data):
    """Check what only fitting needs: every situation has a choice; total weight.

    Returns
    -------
    n_chosen : ndarray of shape (n_situations,)
        Number of choices ``n_s`` in each situation.
    """
    n_chosen = data.segments.sum(data.y)
    empty = np.flatnonzero(n_chosen <= 0)
    if empty.size:
        raise ValueError(
            f"{data.describe_situation(empty[0])} has no chosen alternative (y sums "
            f"to 0 over its rows; {empty.size} situation(s) in all). {SPLIT_HINT}"
        )
    w = data.sample_weight
    if w is not None and not np.any(w * n_chosen > 0):
        raise ValueError("sample_weight is zero for every situation: nothing to fit")
    return n_chosen
