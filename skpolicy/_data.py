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

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._segments import Segments, make_segments

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


def label(value):
    """A situation id or index value as users wrote it (no numpy scalar repr)."""
    value = value.item() if isinstance(value, np.generic) else value
    return repr(value)


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
    if isinstance(key, str) and key not in names:
        if key in X.columns:
            return "column", key
        raise ValueError(
            f"{param}={key!r} is neither an index level (levels: {names}) nor a "
            f"column of X. {hint}".rstrip()
        )
    if key in names:
        return "level", names.index(key)
    if isinstance(key, (int, np.integer)) and -index.nlevels <= key < index.nlevels:
        return "level", int(key) % index.nlevels
    raise ValueError(
        f"{param}={key!r} but the index of X has only {index.nlevels} level(s). "
        f"{hint}".rstrip()
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
    """
    kind, where = locate_key(X, situation_key, "situation_key", FORMATS_HINT)
    if kind == "column":
        return X.drop(columns=where), X[where].to_numpy()
    index = X.index
    if isinstance(index, pd.MultiIndex):
        # The integer codes are already there: avoid materialising the labels.
        return X, _LevelIds(index.codes[where], index.levels[where])
    return X, index


class _LevelIds:
    """Situation ids given as MultiIndex codes plus the level's labels."""

    def __init__(self, codes, labels):
        self.codes = np.asarray(codes)
        self.labels = labels

    def __len__(self):
        return self.codes.shape[0]


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


def _feature_dtype(frame):
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
        if not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            raise ValueError(f"column {name!r} has dtype {dtype}, not numeric. {hint}")


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

    dtype = _feature_dtype(features)
    values = features.to_numpy(dtype=dtype)
    values = np.ascontiguousarray(values if order is None else values[order])
    segments = make_segments(sizes)
    _check_finite_rows(values, segments, labels, features, order)

    def per_row(v):
        return v if order is None else v[order]

    y_rows = w_sit = None
    if y is not None:
        y_rows = per_row(_check_counts(y, n_rows))
    if sample_weight is not None:
        w_rows = per_row(_check_row_weights(sample_weight, n_rows))
        w_sit = w_rows[segments.offsets[:-1]]
        varies = np.flatnonzero(w_rows != segments.expand(w_sit))
        if varies.size:
            s = _segment_of_row(segments, varies[0])
            raise ValueError(
                f"sample_weight varies within situation {label(labels[s])}: in the "
                "long format a weight belongs to the whole situation, so give every "
                "row of a situation the same weight"
            )
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


def _check_finite_rows(values, segments, labels, features, order):
    # Row sums are non-finite whenever a row holds NaN or inf (and, rarely, when
    # huge finite values overflow): a cheap O(n_rows) screen before the exact test,
    # itself skipped when the total is finite (see _finite_rows).
    with np.errstate(invalid="ignore", over="ignore"):
        if np.isfinite(values.sum()):
            return
        suspect = np.flatnonzero(~np.isfinite(values.sum(axis=1)))
    if suspect.size == 0:
        return
    bad = ~np.isfinite(values[suspect])
    hit = np.flatnonzero(bad.any(axis=1))
    if hit.size == 0:
        return
    row = suspect[hit[0]]
    col = features.columns[np.flatnonzero(bad[hit[0]])[0]]
    user_row = row if order is None else order[row]
    where = f"row {features.index[user_row]}"
    s = _segment_of_row(segments, row)
    raise ValueError(
        f"X contains NaN or inf in column {col!r} at {where} (situation "
        f"{label(labels[s])}). In the long format every row is an available "
        "alternative: drop the rows of unavailable alternatives, impute missing "
        "values, or fix the data"
    )


def _as_1d_float(v, what, n, unit="rows"):
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
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
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


def _first_bad(arr):
    return int(np.flatnonzero(~np.isfinite(arr))[0])


def _check_counts(y, n_rows):
    return _as_1d_float(y, "y", n_rows)


def _check_row_weights(sample_weight, n_rows):
    return _as_1d_float(sample_weight, "sample_weight", n_rows)


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
    # NaN or inf anywhere in a row makes its sum non-finite: screen on the sums.
    available = _finite_rows(X)
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
    segments = make_segments(sizes)

    y_rows = w_sit = None
    if y is not None:
        counts = _dense_counts(y, n, J)
        chosen_unavailable = False if complete else (counts > 0) & ~available
        if np.any(chosen_unavailable):
            s, j = np.argwhere(chosen_unavailable)[0]
            raise ValueError(
                f"y chooses alternative {j} in situation {s}, but that alternative is "
                "unavailable (its features are all NaN)"
            )
        y_rows = counts.ravel() if rows is None else counts.ravel()[rows]
    if sample_weight is not None:
        w_sit = _as_1d_float(sample_weight, "sample_weight", n, unit="situations")
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

    Returns None when all of them do, else a boolean array of shape (n, J).

    NaN or inf anywhere in a row makes its sum non-finite (as do, rarely, huge
    finite values whose sum overflows). One sum over the whole array runs at
    memory speed and settles the usual case of complete data; numpy's
    ``X.sum(axis=2)`` over the short last axis is about 5 times slower (0.25 s
    against 0.05 s for 10^6 x 10 x 10), so it runs only when the total is not
    finite.
    """
    n, J, K = X.shape
    with np.errstate(invalid="ignore", over="ignore"):
        if np.isfinite(X.sum()):
            return None
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


def _dense_counts(y, n, J):
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
        if not np.issubdtype(arr.dtype, np.number):
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
        flat = _as_1d_float(arr.ravel(), "y", n * J)
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
