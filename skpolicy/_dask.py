"""Distributed fits and predictions on Dask collections (DESIGN.md section 5b).

``SoftmaxChoiceEstimator.fit`` and ``SoftmaxPolicy.fit`` route Dask collections
here. dask is an optional dependency (``pip install skpolicy[dask]``): this module
imports it only inside the functions that receive a Dask collection, so ``import
skpolicy`` never needs it.

What runs where
---------------
- **Workers.** Each partition (a DataFrame partition, or a block of a Dask array
  chunked along the situations) is validated and converted into the canonical
  block by the estimator's own code (``_choice_data`` / ``_block``, exactly as in
  memory) and wrapped in a :class:`~._linear_loss.LinearChoiceLoss`. These
  per-partition losses are persisted on the workers once (``dask.persist``): the
  source (Parquet, CSV, a pandas graph) is read and validated once per fit.
- **Every pass** (one per solver iterate: loss, gradient and Hessian together)
  sends the coefficients to the persisted losses, each returns the **sums** of its
  situations (:meth:`LinearChoiceLoss.sums`: a float, ``n_params`` and
  ``n_params**2`` floats), and Dask adds them up in a tree (``split_every``
  partials per task). Only those sums reach the client.
- **Client.** The same solver as in memory (:func:`._solvers.solve`, which drives
  ``scipy.optimize.minimize``) sees :class:`DaskChoiceLoss`, which has the
  interface of the in-memory loss; fitted attributes are set as in memory (the
  inference mixin's ``_record_fit`` gets the Dask loss).

Sums merge in any order, so the fit equals the in-memory fit on the same data to
rounding, for any partitioning, provided **every situation lies whole inside one
partition** (the softmax normalises over a situation's alternatives). Long data
are checked: each partition reports the range of its situation ids; ranges that
overlap (as after a hash shuffle) are settled by an exact count of the ids over
partitions, and a situation found in two partitions is refused with an error that
says how to repartition (``X.set_index("situation")`` or
``X.shuffle(on="situation")``). Dense arrays and policy states are split between
situations by construction (one situation per row of axis 0); their chunks along
the other axes are merged.

Options (``dask.config``)
-------------------------
``skpolicy.persist`` : ``"auto"`` (default), True or False.
    True keeps the validated blocks in (cluster) memory for all passes. False
    **streams**: every pass reads and validates the source again (one read of the
    data per pass instead of one per fit), for data larger than the memory of the
    cluster; the peak memory is then that of the partitions in flight (about one
    per worker thread). ``"auto"`` persists unless the input is a Dask array
    larger than half the memory available (the cluster's workers, or this
    machine's free memory for the local schedulers); set it explicitly for
    DataFrames that do not fit.

    What streaming costs (``benchmarks/bench_dask.py``, 2 cores, threaded
    scheduler): 10^8 situations x 10 alternatives x 10 float32 features in long
    Parquet (48 GB) were fitted in 26 min, 7 solver passes of 144-281 s each
    (median 184 s, 262 MB/s: reading, validating and summing) plus one
    validation pass, with a peak resident memory of 2.0 GB. Persisted, a pass
    over 10^7 situations (4 GB of features) takes about 1.1 s on the same
    cores (about 11 s at 10^8 if it fitted in memory), so streaming pays for
    reading and validating the source, about 17 times the kernel's time, on
    every pass.
``skpolicy.split_every`` : int, default 8.
    Partials added per task of the tree reduction.

Each partition's sums run on one thread (``skpolicy.config_context(n_threads=1)``
inside the task): Dask provides the parallelism across partitions, so give at
least as many partitions as worker threads. Warnings that the in-memory
validation raises inside a partition (e.g. the DataWarning about several chosen
rows per situation) are raised on the worker: with the local schedulers they
reach the user as usual, on a distributed cluster they go to the worker's log.

y, sample_weight and groups of a Dask DataFrame must be Dask Series partitioned
like X, best taken from the same frame. They are assigned to X as columns before
the partitions are split up again on the workers, so that each partition is
computed once for all of them: two separate computations of a sorted or shuffled
frame may order the rows *within* a situation differently (measured with
``set_index`` and ``shuffle``), which would pair features with the wrong choices.
For the same reason, join lazy predictions to their frame with
``X.assign(p=est.predict_proba(X))`` rather than computing X and the predictions
separately.

Predictions (``decision_function``, ``predict_proba``, ``predict_log_proba``,
``score_samples``, ``predict``) on Dask input are lazy: the fitted estimator is
applied partition by partition (a Dask Series aligned with long X, a Dask array
chunked like dense X). They assume whole situations in every partition, as ``fit``
checks; they do not check it (that would need a pass over the ids). ``score`` and
:func:`dask_covariance_matrix` compute at once, in one pass.
"""

import copy
import os
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted, validate_data

from ._config import config_context, get_config
from ._data import (
    FORMATS_HINT,
    ChoiceData,
    factorize,
    label,
    split_situations,
    user_stacklevel,
    varying_features,
)
from ._inference import (
    check_cov_type,
    constants_only_log_likelihood,
    covariance_from_moments,
    ids_to_codes,
    is_key,
)
from ._linear_loss import LinearChoiceLoss, Moments
from ._segments import make_segments
from .exceptions import SingleAlternativeWarning

_SPLIT_EVERY = 8

REPARTITION_HINT = (
    "Repartition by the situation id, e.g. X = X.set_index('situation') (sorted, "
    "known divisions) or X = X.shuffle(on='situation'), with y (and "
    "sample_weight) taken from the same frame afterwards so that they move with "
    "their rows (y = frame['choice'], X = frame.drop(columns='choice'))."
)


# --------------------------------------------------------------------------------
# Detection (no dask import)
# --------------------------------------------------------------------------------


def is_dask_collection(x):
    """Whether ``x`` is a Dask collection, without importing dask.

    A Dask collection can only exist once dask is imported, so the check is free
    when it is not.
    """
    dask = sys.modules.get("dask")
    return dask is not None and bool(dask.is_dask_collection(x))


# --------------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------------


def _is_frame(x):
    """Whether x is a Dask DataFrame or Series (Dask arrays have no divisions)."""
    return hasattr(x, "divisions") and hasattr(x, "to_delayed")


def _is_dataframe(x):
    """Whether a Dask frame is a DataFrame (a Dask Series forwards ``.columns``)."""
    return isinstance(getattr(x, "_meta", None), pd.DataFrame)


def _frame_companion(X, name, value):
    """A Dask Series/DataFrame aligned with X, as a Series for ``X.assign``."""
    if not _is_frame(value):
        raise ValueError(
            f"X is a Dask DataFrame, so {name} must be a Dask Series partitioned like "
            f"X, got {type(value).__name__}: take it from the same frame as X (e.g. "
            f"{name} = frame['{name}'] next to X = frame.drop(columns='{name}'))"
        )
    if value.npartitions != X.npartitions or (
        X.known_divisions
        and value.known_divisions
        and tuple(X.divisions) != tuple(value.divisions)
    ):
        raise ValueError(
            f"{name} has {value.npartitions} partitions (divisions "
            f"{_short(value.divisions)}) but X has {X.npartitions} (divisions "
            f"{_short(X.divisions)}): {name} must be partitioned exactly like X. "
            f"Take it from the same frame as X, after any set_index or shuffle"
        )
    if _is_dataframe(value):
        if len(value.columns) != 1:
            raise ValueError(
                f"{name} is a Dask DataFrame with {len(value.columns)} columns; give "
                "a Dask Series"
            )
        value = value[value.columns[0]]
    return value


def _frame_pieces(X, companions, names):
    """Partitions of X and of its companions, computed together.

    The companions are assigned to X as columns first, so that every partition is
    computed once for all of them: two separate computations of a shuffled or
    sorted frame may order the rows of a situation differently, which would pair
    features with the wrong choices.
    """
    import dask

    columns = {}
    for name, value in zip(names, companions, strict=True):
        if value is not None:
            columns[f"__skpolicy_{name}__"] = _frame_companion(X, name, value)
    frame = X
    if columns:
        try:
            frame = X.assign(**columns)
        except (ValueError, NotImplementedError) as exc:
            given = ", ".join(c[len("__skpolicy_") : -2] for c in columns)
            raise ValueError(
                f"{given} cannot be aligned with X partition by partition: take them "
                "from the same frame as X"
            ) from exc
    partitions = list(frame.to_delayed())
    drop = dask.delayed(_drop_columns, pure=True)
    take = dask.delayed(_take_column, pure=True)
    pieces = [drop(p, list(columns)) if columns else p for p in partitions]
    others = []
    for name, value in zip(names, companions, strict=True):
        column = f"__skpolicy_{name}__"
        if value is None:
            others.append([None] * len(partitions))
        else:
            others.append([take(p, column) for p in partitions])
    return pieces, others


def _drop_columns(frame, columns):
    return frame.drop(columns=columns)


def _take_column(frame, column):
    return frame[column].rename(None)


def _short(divisions, limit=4):
    divisions = list(divisions)
    shown = ", ".join(label(d) for d in divisions[:limit])
    return f"({shown}{', ...' if len(divisions) > limit else ''})"


def _array_parts(X, name, value, chunks0):
    """Per-block delayed pieces of an array aligned with X's chunks along axis 0."""
    import dask.array as da

    if value is None:
        return [None] * len(chunks0)
    if _is_frame(value):
        value = value.to_dask_array()
    if not is_dask_collection(value):
        value = np.asarray(value)
        if value.shape[0] != sum(chunks0):
            raise ValueError(
                f"{name} has {value.shape[0]} entries but X has {sum(chunks0)} "
                "situations (axis 0): they must have the same length"
            )
        value = da.from_array(value, chunks=(chunks0,) + value.shape[1:])
    if any(np.isnan(c) for c in value.chunks[0]) or any(np.isnan(c) for c in chunks0):
        if value.numblocks[0] != len(chunks0):
            raise ValueError(
                f"{name} and X have unknown chunk sizes and different numbers of "
                "blocks along axis 0: call X.compute_chunk_sizes() and "
                f"{name}.compute_chunk_sizes() first"
            )
    elif value.shape[0] != sum(chunks0):
        raise ValueError(
            f"{name} has {value.shape[0]} entries but X has {sum(chunks0)} "
            "situations (axis 0): they must have the same length"
        )
    else:
        value = value.rechunk((chunks0,) + tuple(-1 for _ in value.shape[1:]))
    if value.ndim > 1:
        value = value.rechunk({k: -1 for k in range(1, value.ndim)})
    return list(value.to_delayed().ravel())


def _split(X, *companions, names):
    """X and its companions (y, sample_weight, ...) as lists of delayed pieces."""
    if _is_frame(X):
        return _frame_pieces(X, companions, names)
    if X.ndim > 1:
        X = X.rechunk({k: -1 for k in range(1, X.ndim)})
    chunks0 = X.chunks[0]
    parts = list(X.to_delayed().ravel())
    others = [
        _array_parts(X, n, v, chunks0) for n, v in zip(names, companions, strict=True)
    ]
    return parts, others


# --------------------------------------------------------------------------------
# Per-partition work (runs on the workers)
# --------------------------------------------------------------------------------


@dataclass
class _Part:
    """A partition's validated block and loss, or the error it raised."""

    loss: object = None
    zf: object = None
    error: BaseException | None = None
    ids: np.ndarray | None = None  # unique situation ids (long format)
    clusters: np.ndarray | None = None  # per-situation cluster codes
    cluster_ids: np.ndarray | None = None
    summary: dict = field(default_factory=dict)

    def __sizeof__(self):
        # What dask.sizeof reports (its default calls sys.getsizeof): the bytes of
        # the block, so that the scheduler counts the cost of moving a part to
        # another worker (else it sees ~100 bytes, steals the sums task and ships
        # the whole block) and the memory manager counts persisted parts.
        arrays = [self.ids, self.clusters, self.cluster_ids]
        if self.loss is not None:
            data = self.loss.data
            arrays += [data.X, data.y, data.sample_weight, data.rows]
            arrays += [self.loss._wn, self.loss._wy, data.segments.offsets]
        if self.zf is not None:
            arrays += [self.zf.Z, self.zf.alternatives]
        return object.__sizeof__(self) + sum(getattr(a, "nbytes", 0) for a in arrays)


def _id_range(ids):
    """(smallest, largest) id of a partition; "unordered" if ids do not compare."""
    if ids is None or len(ids) == 0:
        return None
    try:
        if ids.dtype.kind in "iufbmM":
            return ids.min(), ids.max()
        lo, hi = min(ids), max(ids)
        bool(lo < hi)
    except TypeError:
        return "unordered"
    return lo, hi


def _build_part(est, kind, config, x, y=None, w=None, g=None, mask=None, phi=None):
    """Validate a partition into a canonical block and its loss (on a worker)."""
    part = _Part()
    if x is None or len(x) == 0:
        part.summary = {"empty": True}
        return part
    part.summary = {"empty": False}
    long = kind != "policy" and not isinstance(x, np.ndarray)
    stage = "data"
    with config_context(engine=config["engine"], n_threads=1):
        try:
            group_values = g
            if kind == "policy":
                data, zf = est._block(x, y, w, mask, phi, reset=False)
            else:
                if g is not None and long and is_key(g):
                    group_values, x = est._group_column(x, g)
                data, zf = est._choice_data(x, y, w, reset=False), None
                if long:
                    part.ids = np.asarray(data.situation_labels)
            part.zf = zf
            if g is not None:
                part.clusters = est._situation_groups(data, np.asarray(group_values))
                part.cluster_ids = ids_to_codes(group_values, "groups")[1]
            stage = "loss"
            sizes = data.segments.sizes
            part.summary.update(
                n_situations=data.n_situations,
                min_size=int(sizes.min()),
                max_size=int(sizes.max()),
                n_single=int(np.sum(sizes == 1)),
                varying=varying_features(data),
            )
            if kind == "policy" and y is not None:
                part.summary["patterns"] = _availability_patterns(data, zf)
            part.loss = LinearChoiceLoss(data, alpha=est.alpha, situation_features=zf)
            part.summary["weight_sum"] = part.loss.weight_sum
            part.summary["null_log_likelihood"] = part.loss.null_log_likelihood()
        except Exception as exc:  # reported on the client, after the split check
            part.error = exc
            part.summary["stage"] = stage
            if long and part.ids is None:
                part.ids = _partition_ids(est, x)
    part.summary["id_range"] = _id_range(part.ids)
    part.summary["cluster_range"] = _id_range(part.cluster_ids)
    return part


def _partition_ids(est, x):
    """Situation ids of a long partition whose validation failed (or None)."""
    try:
        return np.asarray(factorize(split_situations(x, est.situation_key)[1])[1])
    except Exception:
        return None


def _availability_patterns(data, zf):
    """Distinct availability rows of a policy block and their weighted choices.

    The constants-only model's likelihood depends on the data only through these
    (choice counts per action for each set of available actions), so partitions
    reduce them and the client fits that model on the aggregate.
    """
    J = zf.n_alternatives
    seg = data.segments
    n = data.n_situations
    situation = seg.segment_of_rows()
    alt = np.tile(np.arange(J), n) if zf.alternatives is None else zf.alternatives
    available = np.zeros((n, J), dtype=bool)
    available[situation, alt] = True
    w = np.ones(n) if data.sample_weight is None else data.sample_weight
    wy = seg.expand(w) * data.y
    patterns, inverse = np.unique(available, axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    counts = np.zeros(patterns.shape)
    np.add.at(counts, (inverse[situation], alt), wy)
    return patterns, counts


def _part_summary(part):
    return part.summary


def _part_ids(part):
    return pd.Series(part.ids if part.ids is not None else [])


def _part_cluster_ids(part):
    return pd.Series(part.cluster_ids if part.cluster_ids is not None else [])


def _part_has(part, attr, value):
    ids = getattr(part, attr)
    return ids is not None and bool(np.any(ids == value))


def _part_error(part):
    return part.error


def _part_sums(part, coef, hessian, config):
    if part.loss is None:
        return None
    with config_context(engine=config["engine"], n_threads=1):
        return part.loss.sums(coef, hessian)


def _add_sums(*items):
    items = [s for s in items if s is not None]
    if not items:
        return None
    loss = sum(s[0] for s in items)
    grad = np.sum([s[1] for s in items], axis=0)
    hess = None
    if items[0][2] is not None:
        hess = np.sum([s[2] for s in items], axis=0)
    return loss, grad, hess


def _part_moments(part, coef, config):
    """Information, OPG, log-likelihood and cluster meat of a partition."""
    if part.loss is None:
        return None
    with config_context(engine=config["engine"], n_threads=1):
        m = part.loss.moments(coef)
    meat = None
    if part.clusters is not None:
        totals = np.zeros((part.cluster_ids.shape[0], m.scores.shape[1]))
        np.add.at(totals, part.clusters, m.scores)
        meat = totals.T @ totals
    return {
        "information": m.information,
        "opg": m.opg,
        "log_likelihood": m.log_likelihood,
        "weight_sum": m.weight_sum,
        "meat": meat,
        "n_clusters": 0 if part.cluster_ids is None else part.cluster_ids.shape[0],
        "n_situations": part.loss.data.n_situations,
    }


def _add_moments(*items):
    items = [m for m in items if m is not None]
    if not items:
        return None
    out = {}
    for key in ("information", "opg", "log_likelihood", "weight_sum", "n_clusters"):
        out[key] = sum(m[key] for m in items)
    out["n_situations"] = sum(m["n_situations"] for m in items)
    meats = [m["meat"] for m in items if m["meat"] is not None]
    out["meat"] = sum(meats) if meats else None
    return out


def _part_log_likelihood(part, coef, config):
    if part.loss is None:
        return None
    with config_context(engine=config["engine"], n_threads=1):
        return part.loss.log_likelihood(coef), part.loss.weight_sum


def _add_pairs(*items):
    items = [p for p in items if p is not None]
    if not items:
        return None
    return sum(p[0] for p in items), sum(p[1] for p in items)


# --------------------------------------------------------------------------------
# Client side: building, checking, reducing
# --------------------------------------------------------------------------------


def _tree(items, combine, split_every):
    """Tree reduction of delayed values, ``split_every`` per task."""
    import dask

    items = list(items)
    if not items:
        raise ValueError("X has no partitions: nothing to fit")
    if len(items) == 1:
        return dask.delayed(combine, pure=True)(items[0])
    while len(items) > 1:
        items = [
            dask.delayed(combine, pure=True)(*items[i : i + split_every])
            for i in range(0, len(items), split_every)
        ]
    return items[0]


def _split_every():
    import dask

    return max(2, int(dask.config.get("skpolicy.split_every", _SPLIT_EVERY)))


def _task_config():
    return {"engine": get_config()["engine"]}


def _available_memory():
    """Bytes the persisted blocks may use: the cluster's workers, or this host's."""
    try:
        from distributed import get_client

        info = get_client().scheduler_info()
        limits = [w.get("memory_limit", 0) for w in info["workers"].values()]
        if limits and all(limits):
            return float(sum(limits))
    except (ImportError, ValueError):
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return np.inf


def _should_persist(X):
    import dask

    option = dask.config.get("skpolicy.persist", "auto")
    if option != "auto":
        return bool(option)
    nbytes = getattr(X, "nbytes", None) if not _is_frame(X) else None
    if nbytes is None or not np.isfinite(nbytes):
        return True
    return nbytes <= 0.5 * _available_memory()


class _Built:
    """The per-partition parts of a Dask input, checked, with their summaries."""

    def __init__(self, parts, summaries):
        self.parts = parts
        self.summaries = summaries

    @property
    def nonempty(self):
        return [
            (p, s)
            for p, s in zip(self.parts, self.summaries, strict=True)
            if not s.get("empty")
        ]


def _build(est, kind, X, y=None, w=None, g=None, mask=None, phi=None, persist=True):
    """Validate every partition (on the workers) and check whole situations.

    Returns
    -------
    _Built
        The parts (persisted when ``persist``) and their summaries.
    """
    import dask

    names = ["y", "sample_weight", "groups", "available_actions", "action_features"]
    key_groups = g is not None and is_key(g)
    values = [y, w, None if key_groups else g, mask, phi]
    pieces, others = _split(X, *values, names=names)
    if key_groups:
        others[2] = [g] * len(pieces)
    config = _task_config()
    build = dask.delayed(_build_part, pure=False)
    parts = [
        build(est, kind, config, *args) for args in zip(pieces, *others, strict=True)
    ]
    if persist:
        parts = list(dask.persist(*parts))
    summaries = list(
        dask.compute(*[dask.delayed(_part_summary, pure=True)(p) for p in parts])
    )
    built = _Built(parts, summaries)
    if not built.nonempty:
        raise ValueError("X has no rows: at least one situation is required")
    _check_whole(built, "id_range", _part_ids, "ids", "situation")
    errors = _first_errors(built, parts)
    data_errors = [e for stage, e in errors if stage == "data"]
    if data_errors:
        raise data_errors[0]
    built.loss_errors = [e for stage, e in errors if stage == "loss"]
    if g is not None:
        _check_whole(
            built, "cluster_range", _part_cluster_ids, "cluster_ids", "cluster"
        )
    return built


def _first_errors(built, parts):
    """(stage, exception) of the partitions that failed, fetched from the workers."""
    import dask

    failed = [(i, s["stage"]) for i, s in enumerate(built.summaries) if "stage" in s]
    if not failed:
        return []
    # Validation errors first, as in memory (where they stop fit before the loss).
    i, stage = min(failed, key=lambda item: (item[1] != "data", item[0]))
    error = dask.compute(dask.delayed(_part_error, pure=True)(parts[i]))[0]
    return [(stage, error)]


def _check_whole(built, range_key, ids_of, attr, what):
    """Refuse ids (situations or clusters) found in more than one partition."""
    ranges = [
        (i, s[range_key])
        for i, s in enumerate(built.summaries)
        if s.get(range_key) is not None
    ]
    if len(ranges) < 2:
        return
    try:
        if any(r == "unordered" for _, r in ranges):
            raise TypeError
        ordered = sorted(ranges, key=lambda item: (item[1][0], item[1][1]))
        if all(
            a[1][1] < b[1][0] for a, b in zip(ordered[:-1], ordered[1:], strict=False)
        ):
            return  # disjoint ranges: nothing can be split
    except TypeError:
        pass
    _exact_check(built, ids_of, attr, what)


def _exact_check(built, ids_of, attr, what):
    """Count every id over the partitions (a distributed value count)."""
    import dask
    import dask.dataframe as dd

    parts = [
        p
        for p, s in zip(built.parts, built.summaries, strict=True)
        if s.get("empty") is False
    ]
    series = [dask.delayed(ids_of, pure=True)(p) for p in parts]
    ids = dd.from_delayed(series, meta=pd.Series(dtype=object), verify_meta=False)
    counts = ids.value_counts(split_out=max(1, len(parts) // 16))
    repeated = counts[counts > 1].head(1, npartitions=-1)
    if len(repeated) == 0:
        return
    value = repeated.index[0]
    where = dask.compute(
        *[dask.delayed(_part_has, pure=True)(p, attr, value) for p in parts]
    )
    numbers = [i for i, hit in enumerate(where) if hit]
    shown = " and ".join(str(i) for i in numbers[:3])
    if what == "situation":
        raise ValueError(
            f"situation {label(value)} has rows in partitions {shown} of X (among "
            f"the non-empty ones): a Dask fit needs every situation whole inside one "
            "partition, because the softmax normalises over a situation's "
            f"alternatives and a split situation would be fitted wrong. "
            f"{REPARTITION_HINT}"
        )
    raise ValueError(
        f"cluster {label(value)} has situations in partitions {shown} of X: "
        "cluster-robust covariances of Dask data need every cluster whole inside "
        "one partition (the meat sums the scores of a cluster before squaring "
        "them). Repartition by the cluster id, e.g. X = X.set_index('person') or "
        "X = X.shuffle(on='person') (situations nested in clusters then stay whole "
        "too)"
    )


class _Sizes:
    """The extreme choice-set sizes: what ``_record_fit`` reads of ``data``."""

    def __init__(self, low, high, n_situations):
        self.sizes = np.array([low, high])
        self.n_segments = n_situations


class _DataSummary:
    def __init__(self, low, high, n_situations):
        self.segments = _Sizes(low, high, n_situations)
        self.n_situations = n_situations


class DaskChoiceLoss:
    """The loss of a Dask data set: per-partition losses reduced by Dask.

    Has the interface of :class:`~._linear_loss.LinearChoiceLoss` that the solver
    (``loss_gradient``, ``gradient_hessian``) and the inference mixin
    (``weight_sum``, ``alpha``, ``log_likelihood``, ``null_log_likelihood``,
    ``information``, ``data.segments.sizes`` extremes) use; the normalisation and
    the likelihood bookkeeping are the in-memory loss's own methods.

    Parameters
    ----------
    parts : list of dask Delayed
        Per-partition :class:`_Part` objects (persisted, or recomputed per pass).
    summaries : list of dict
        Their summaries.
    alpha : float
    n_params : int

    Attributes
    ----------
    n_passes : int
        Passes over the data so far (one per :meth:`sums`).
    """

    def __init__(self, parts, summaries, alpha, n_params):
        kept = [
            (p, s) for p, s in zip(parts, summaries, strict=True) if not s.get("empty")
        ]
        self.parts = [p for p, _ in kept]
        summaries = [s for _, s in kept]
        self.alpha = float(alpha)
        self.n_params = int(n_params)
        self.weight_sum = float(sum(s["weight_sum"] for s in summaries))
        self._null = float(sum(s["null_log_likelihood"] for s in summaries))
        n_situations = int(sum(s["n_situations"] for s in summaries))
        self.data = _DataSummary(
            min(s["min_size"] for s in summaries),
            max(s["max_size"] for s in summaries),
            n_situations,
        )
        self.n_passes = 0
        self._config = _task_config()
        self._split_every = _split_every()

    def sums(self, coef, hessian=False):
        """Sums over all partitions (see :meth:`LinearChoiceLoss.sums`): one pass."""
        import dask

        coef = np.asarray(coef, dtype=np.float64)
        task = dask.delayed(_part_sums, pure=True)
        total = _tree(
            [task(p, coef, hessian, self._config) for p in self.parts],
            _add_sums,
            self._split_every,
        )
        loss, grad, hess = dask.compute(total)[0]
        self.n_passes += 1
        if hess is not None:
            hess = 0.5 * (hess + hess.T)
        return float(loss), grad, hess

    loss_gradient = LinearChoiceLoss.loss_gradient
    gradient_hessian = LinearChoiceLoss.gradient_hessian
    _normalise = LinearChoiceLoss._normalise
    log_likelihood = LinearChoiceLoss.log_likelihood
    information = LinearChoiceLoss.information

    def null_log_likelihood(self):
        """Log-likelihood of equal shares over each situation's alternatives."""
        return self._null


# --------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------


def _check_dask_choice_input(X):
    if _is_frame(X):
        if not _is_dataframe(X):
            raise ValueError(
                "X is a Dask Series; long choice data must be a Dask DataFrame "
                f"whose index (or a column) holds the situation id. {FORMATS_HINT}"
            )
        return "long"
    ndim = getattr(X, "ndim", None)
    if ndim != 3:
        raise ValueError(
            f"X is a Dask array with {ndim} dimension(s), which carries no situation "
            "structure: the dense format is a Dask array of shape (n_situations, "
            "n_alternatives, n_features) chunked along the situations (axis 0). "
            f"{FORMATS_HINT}"
        )
    return "dense"


def _set_choice_features(est, X, layout):
    """``n_features_in_`` and ``feature_names_in_`` from the collection's metadata."""
    if layout == "long":
        features, _ = split_situations(X._meta, est.situation_key)
        validate_data(est, features, reset=True, skip_check_array=True)
    else:
        est.n_features_in_ = int(X.shape[2])
        if hasattr(est, "feature_names_in_"):
            del est.feature_names_in_


def _worker_copy(est):
    """A light copy of the estimator for the tasks (no fitted data arrays)."""
    return copy.copy(est)


def dask_fit(est, X, y, sample_weight=None, **params):
    """Fit ``est`` (SoftmaxChoiceEstimator or SoftmaxPolicy) on Dask input.

    Called by the estimators' ``fit`` when X is a Dask collection; sets the same
    fitted attributes as the in-memory fit.
    """
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None"
        )
    if _kind(est) == "policy":
        return _fit_policy(est, X, y, sample_weight, **params)
    return _fit_choice(est, X, y, sample_weight)


def _fit_choice(est, X, y, sample_weight):
    layout = _check_dask_choice_input(X)
    _set_choice_features(est, X, layout)
    persist = _should_persist(X)
    built = _build(_worker_copy(est), "choice", X, y, sample_weight, persist=persist)
    nonempty = [s for _, s in built.nonempty]
    n_single = sum(s.get("n_single", 0) for s in nonempty)
    if n_single:
        warnings.warn(
            f"{n_single} situation(s) offer a single alternative: they carry no "
            "information about the coefficients (their probability is 1) and "
            "only count in n_situations_",
            SingleAlternativeWarning,
            stacklevel=user_stacklevel(),
        )
    varying = np.zeros(est.n_features_in_, dtype=bool)
    for s in nonempty:
        if "varying" in s:
            varying |= s["varying"]
    if not np.all(varying):
        names = est._feature_names()[~varying]
        raise ValueError(
            f"feature(s) {list(names)} are constant within every situation, so "
            "they shift all utilities of a situation equally and cannot be "
            "estimated (a conditional logit has no intercept). Drop them, or "
            "interact them with alternative indicators."
        )
    if built.loss_errors:
        raise built.loss_errors[0]
    n_features = est.n_features_in_
    loss = DaskChoiceLoss(built.parts, built.summaries, est.alpha, n_features)
    previous = getattr(est, "coef_", None)
    result = est._fit_loss(
        loss,
        previous,
        f"coef_ has shape {np.shape(previous)}",
        list(est._feature_names()),
    )
    est.coef_ = result.coef
    _note_passes(loss, result)
    return est


# Passes and iterations of the last Dask fit in this process (for benchmarks).
last_fit = {}


def _note_passes(loss, result):
    last_fit.clear()
    last_fit.update(
        n_passes=loss.n_passes, n_iter=result.n_iter, solver_passes=result.n_passes
    )


def _unique_labels(y):
    import dask

    if _is_frame(y):
        values = y.iloc[:, 0].unique() if _is_dataframe(y) else y.unique()
        return np.asarray(dask.compute(values)[0])
    if is_dask_collection(y):
        import dask.array as da

        return np.asarray(da.unique(y.ravel()).compute())
    return np.unique(np.asarray(y))


def _fit_policy(est, X, y, sample_weight, available_actions=None, action_features=None):
    if _is_frame(X) and (available_actions is not None or action_features is not None):
        raise ValueError(
            "available_actions and action_features with Dask input need X as a "
            "Dask array chunked along the samples (X.to_dask_array(lengths=True)), "
            "with the masks and features chunked the same way"
        )
    if not _is_frame(X) and getattr(X, "ndim", None) != 2:
        raise ValueError(
            f"X must hold 2-D state features, got a Dask array of shape {X.shape}"
        )
    n_columns = None
    for extra in (available_actions, action_features):
        if extra is not None:
            n_columns = int(extra.shape[1])
    est._encode(_unique_labels(y), n_columns)
    est.n_action_features_ = (
        0 if action_features is None else int(action_features.shape[2])
    )
    meta = X._meta if _is_frame(X) else np.empty((0, X.shape[1]))
    validate_data(est, meta, reset=True, skip_check_array=True)
    persist = _should_persist(X)
    built = _build(
        _worker_copy(est),
        "policy",
        X,
        y,
        sample_weight,
        None,
        available_actions,
        action_features,
        persist=persist,
    )
    if built.loss_errors:
        raise built.loss_errors[0]
    J = est.classes_.size
    n_params = est.n_action_features_ + (J - 1) * (
        est.n_features_in_ + int(est.fit_intercept)
    )
    loss = DaskChoiceLoss(built.parts, built.summaries, est.alpha, n_params)
    reference = None
    if est.fit_intercept:
        reference = _policy_reference(est, built.summaries)
    previous = est._coef_vector() if hasattr(est, "coef_") else None
    result = est._fit_loss(
        loss,
        previous,
        f"they are {np.size(previous)} parameters",
        est._coef_names(),
        reference=reference,
    )
    est._set_coef(result.coef)
    _note_passes(loss, result)
    return est


def _policy_reference(est, summaries):
    """Constants-only log-likelihood from the partitions' availability patterns."""
    pieces = [s["patterns"] for s in summaries if "patterns" in s]
    J = est.classes_.size
    patterns = np.concatenate([p[0] for p in pieces]).reshape(-1, J)
    counts = np.concatenate([p[1] for p in pieces]).reshape(-1, J)
    unique, inverse = np.unique(patterns, axis=0, return_inverse=True)
    totals = np.zeros(unique.shape)
    np.add.at(totals, np.ravel(inverse), counts)
    situation, alt = np.nonzero(unique)
    sizes = unique.sum(axis=1)
    block = ChoiceData(
        X=np.zeros((alt.size, 0)),
        segments=make_segments(sizes),
        y=totals[situation, alt],
        sample_weight=None,
        rows=None,
        output_shape=(alt.size,),
        situation_labels=np.arange(unique.shape[0]),
        dense=False,
    )
    ll, k = constants_only_log_likelihood(est.classes_[alt], block)
    return ll, k, "constants only"


# --------------------------------------------------------------------------------
# score and covariance (one pass, computed at once)
# --------------------------------------------------------------------------------


def _kind(est):
    return "policy" if hasattr(est, "_encode") else "choice"


def dask_score(est, X, y, sample_weight=None, **params):
    """Weighted mean log-likelihood per choice of Dask data (one pass)."""
    import dask

    check_is_fitted(est)
    built = _build(
        _worker_copy(est),
        _kind(est),
        X,
        y,
        sample_weight,
        None,
        params.get("available_actions"),
        params.get("action_features"),
        persist=_should_persist(X),
    )
    if built.loss_errors:
        raise built.loss_errors[0]
    coef = est._coef_vector()
    task = dask.delayed(_part_log_likelihood, pure=True)
    config = _task_config()
    total = _tree(
        [task(p, coef, config) for p, _ in built.nonempty], _add_pairs, _split_every()
    )
    loglik, weight_sum = dask.compute(total)[0]
    return loglik / weight_sum


class _MomentsLoss:
    """What the mixin's checks read of a loss: situations and weight sum."""

    def __init__(self, n_situations, weight_sum):
        self.data = _DataSummary(0, 0, n_situations)
        self.weight_sum = weight_sum


def dask_covariance_matrix(
    est, X, y, sample_weight=None, *, cov_type="hessian", groups=None, **params
):
    """Covariance of the coefficients from Dask training data (one pass).

    Each partition reduces its observed information, OPG and (for
    ``cov_type="cluster"``) the sum over its clusters of ``S_c S_c^T``; only these
    ``n_params x n_params`` matrices reach the client, never a per-situation score.
    Clusters must lie whole inside partitions (checked, like situations).

    Parameters are those of ``covariance_matrix``; ``groups`` is a column or index
    name of long X, or a Dask Series / array aligned with X.

    Returns
    -------
    pandas DataFrame of shape (n_params, n_params)
    """
    import dask

    check_is_fitted(est)
    check_cov_type(cov_type)
    names = list(est._coef_names())
    est._warn_penalised()
    if cov_type == "cluster" and groups is None:
        raise ValueError(
            "cov_type='cluster' needs groups: the decision-maker (cluster) id of "
            "each row of long X (or situation of dense X), or the name of an "
            "index level or column of X holding it"
        )
    if groups is not None and cov_type != "cluster":
        raise ValueError(
            f"groups is only used with cov_type='cluster', not {cov_type!r}"
        )
    built = _build(
        _worker_copy(est),
        _kind(est),
        X,
        y,
        sample_weight,
        groups,
        params.get("available_actions"),
        params.get("action_features"),
        persist=_should_persist(X),
    )
    if built.loss_errors:
        raise built.loss_errors[0]
    coef = est._coef_vector()
    task = dask.delayed(_part_moments, pure=True)
    config = _task_config()
    total = _tree(
        [task(p, coef, config) for p, _ in built.nonempty],
        _add_moments,
        _split_every(),
    )
    r = dask.compute(total)[0]
    est._warn_other_data(_MomentsLoss(r["n_situations"], r["weight_sum"]))
    m = Moments(None, r["information"], r["opg"], r["weight_sum"], r["log_likelihood"])
    if cov_type != "cluster":
        cov = covariance_from_moments(m, cov_type, None, names)
    else:
        G = r["n_clusters"]
        if G < 2:
            raise ValueError(
                "groups holds a single cluster: cluster-robust covariances need "
                "at least two clusters (and many more than coefficients)"
            )
        # The cluster meat in place of the OPG: the sandwich of "HC0" with it.
        clustered = Moments(None, r["information"], r["meat"] * G / (G - 1), 0.0, 0.0)
        cov = covariance_from_moments(clustered, "HC0", None, names)
    return pd.DataFrame(cov, index=names, columns=names)


# --------------------------------------------------------------------------------
# predictions (lazy)
# --------------------------------------------------------------------------------


def _predict_part(est, method, x, kwargs):
    return getattr(est, method)(x, **kwargs)


def _predict_frame(part, est, method, kwargs, columns):
    values = _predict_part(est, method, part, kwargs)
    if values.ndim == 1:
        return pd.Series(values, index=part.index, name=method)
    return pd.DataFrame(values, index=part.index, columns=columns)


def dask_predict(est, method, X, **kwargs):
    """``est.<method>(X)`` applied lazily partition by partition.

    Long (and policy-state) DataFrames give a Dask Series (or, for per-action
    outputs of a policy, a DataFrame with one column per action) aligned with X;
    Dask arrays give a Dask array chunked like X along axis 0.
    """
    import dask
    import dask.array as da

    check_is_fitted(est)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    policy = _kind(est) == "policy"
    est = _worker_copy(est)
    if _is_frame(X):
        if any(is_dask_collection(v) for v in kwargs.values()):
            raise ValueError(
                "available_actions and action_features with Dask input need X as a "
                "Dask array chunked along the samples"
            )
        meta_x = X._meta
        sample = _meta_prediction(est, method, meta_x, kwargs, policy)
        columns = list(est.classes_) if policy else None
        if sample.ndim == 1:
            meta = pd.Series(sample, index=meta_x.index[:0], name=method)
        else:
            meta = pd.DataFrame(sample, index=meta_x.index[:0], columns=columns)
        return X.map_partitions(
            _predict_frame,
            est,
            method,
            kwargs,
            columns,
            meta=meta,
            align_dataframes=False,
        )
    if not policy:
        _check_dask_choice_input(X)
    names = list(kwargs)
    pieces, others = _split(X, *kwargs.values(), names=names)
    sizes = X.chunks[0]
    sample = _meta_prediction(est, method, None, kwargs, policy, X)
    task = dask.delayed(_predict_part, pure=False)
    blocks = []
    for i, piece in enumerate(pieces):
        kw = {n: o[i] for n, o in zip(names, others, strict=True)}
        out = task(est, method, piece, kw)
        shape = (sizes[i],) + sample.shape[1:]
        blocks.append(da.from_delayed(out, shape=shape, dtype=sample.dtype))
    return da.concatenate(blocks, axis=0)


def _meta_prediction(est, method, meta_x, kwargs, policy, X=None):
    """An empty output of the right dtype and trailing shape."""
    if policy:
        J = est.classes_.size
        if method == "predict":
            return np.empty(0, dtype=est.classes_.dtype)
        if method == "decision_function" and J == 2:
            return np.empty(0)
        return np.empty((0, J))
    if meta_x is not None or X is None or X.ndim == 2:
        return np.empty(0, dtype=np.int64 if method == "predict" else np.float64)
    if method == "predict":
        return np.empty(0, dtype=np.int64)
    return np.empty((0, int(X.shape[1])))
