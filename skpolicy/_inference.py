"""Inference on a fitted linear softmax model, computed on request.

:class:`ChoiceInferenceMixin` gives :class:`~skpolicy.SoftmaxChoiceEstimator` and
:class:`~skpolicy.SoftmaxPolicy` the methods a statsmodels or Stata user looks for:
per-situation score vectors, covariance matrices (observed information, OPG / BHHH,
sandwich, cluster-robust), standard errors, a coefficient table, fit statistics,
Wald tests and a printed summary. This module sits below the estimators: every
number comes from the loss (:class:`~._linear_loss.LinearChoiceLoss`, the one home
of the model math) at the fitted coefficients, through hooks the estimators
implement; the constants-only model is fitted with the loss and the solver, never
by importing an estimator. ``fit`` records only the observed information and the
likelihoods (:meth:`ChoiceInferenceMixin._record_fit`). Everything that needs the
data (OPG, sandwich, cluster, the constants-only model) takes ``X, y,
sample_weight`` again, like glum's ``covariance_matrix``.

Conventions (the notation of DESIGN.md section 1; ``d_sa = phi(s, a) - phibar_s``):

- **weights** are frequency weights, as in ``fit``: a situation of weight 2 counts
  as two identical situations, for every covariance type;
- **information** ``H = sum_s w_s n_s Cov_pi[phi(s, .)]``;
- **OPG / meat** ``B = sum_s w_s sum_a y_sa d_sa d_sa^T``: the unit is one choice,
  so choice counts mean repeated choices, and for one choice per situation this is
  ``sum_s w_s g_s g_s^T`` with ``g_s`` the situation's score vector;
- **HC0** ``H^-1 B H^-1``, the plain sandwich (Biogeme's "robust", Larch, R's
  ``sandwich``);
- **robust** ``W/(W-1) H^-1 B H^-1`` with ``W = sum_s w_s n_s`` (the number of
  choices), Stata's ``vce(robust)`` correction for ml models;
- **cluster** ``G/(G-1) H^-1 (sum_c S_c S_c^T) H^-1`` with
  ``S_c = sum_{s in c} w_s g_s`` and ``G`` clusters, Stata's ``vce(cluster)``.
  For sampling (probability) weights, such as choice-based sampling weights,
  cluster by situation (or by person): that is Stata's ``pweight`` robust
  estimator, whose meat uses ``(w_s g_s)(w_s g_s)^T``.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp
from scipy import stats
from scipy.sparse.csgraph import connected_components
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ._data import (
    ChoiceData,
    SituationFeatures,
    is_dense,
    key_values,
    label,
    locate_key,
)
from ._identification import check_identification
from ._linear_loss import LinearChoiceLoss
from ._restrictions import parse_restrictions
from ._segments import make_segments
from ._solvers import resolve_solver, solve
from ._summary import ChoiceModelSummary
from .exceptions import DataWarning, PenalizedInferenceWarning

COV_TYPES = ("hessian", "opg", "HC0", "robust", "cluster")


# --------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    """Result of a chi-squared test (likelihood ratio or Wald).

    Attributes
    ----------
    statistic : float
        The chi-squared statistic.
    df : int
        Degrees of freedom (number of restrictions).
    pvalue : float
        ``P(chi2(df) > statistic)``.
    test : str
        ``"LR"`` or ``"Wald"``.
    """

    __test__ = False  # not a pytest test class

    statistic: float
    df: int
    pvalue: float
    test: str = "Wald"

    def __repr__(self):
        return (
            f"<{self.test} test: chi2({self.df}) = {self.statistic:.4f}, "
            f"p-value = {self.pvalue:.4g}>"
        )


def chi2_test(statistic, df, test):
    """A :class:`TestResult` with the upper-tail chi-squared p-value."""
    statistic = float(statistic)
    pvalue = float(stats.chi2.sf(statistic, df)) if df > 0 else np.nan
    return TestResult(statistic, int(df), pvalue, test)


# --------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------


def invert_information(matrix, names, what="observed information", rcond=1e-12):
    """Inverse of a symmetric positive definite K x K matrix, or a clear error.

    Singularity is judged on the scale-free matrix ``D^-1/2 M D^-1/2`` (``D`` its
    diagonal: a correlation-like matrix), so that a feature's units do not decide
    whether the coefficients are identified.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    diag = np.diag(matrix).copy()
    scale = np.sqrt(np.where(diag > 0, diag, 1.0))
    normalised = matrix / scale[:, None] / scale[None, :]
    evals, evecs = np.linalg.eigh(0.5 * (normalised + normalised.T))
    if np.any(diag <= 0) or evals[0] <= rcond * max(evals[-1], 1.0):
        v = evecs[:, 0] if np.all(diag > 0) else (diag <= 0).astype(float)
        involved = [
            names[k] for k in np.flatnonzero(np.abs(v) >= 0.1 * np.abs(v).max())
        ]
        raise ValueError(
            f"the {what} matrix is singular (smallest eigenvalue of its "
            f"scale-free form {evals[0]:.3g}): the coefficients of {involved} are "
            "not identified by these data, so they have no standard errors. Drop or "
            "combine those features, or use cov_type='hessian' when an OPG matrix "
            "is singular because of too few situations or clusters"
        )
    inverse = (evecs / evals) @ evecs.T / scale[:, None] / scale[None, :]
    return 0.5 * (inverse + inverse.T)


def check_cov_type(cov_type):
    """Refuse a covariance type that is not one of :data:`COV_TYPES`."""
    if cov_type not in COV_TYPES:
        raise ValueError(
            f"cov_type={cov_type!r} is not supported: choose one of {list(COV_TYPES)}"
        )


def _ci_labels(confidence):
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    tail = (1 - confidence) / 2
    return f"[{tail:.4g}", f"{1 - tail:.4g}]"


def estimate_table(estimates, std_errors, confidence, name="coef"):
    """statsmodels-like table: estimate, std err, z, P>|z| and the CI bounds.

    Parameters
    ----------
    estimates, std_errors : pandas Series with the same index
    confidence : float in (0, 1)
    name : str, default="coef"
        Column name of the estimates.

    Returns
    -------
    pandas DataFrame
    """
    lower, upper = _ci_labels(confidence)
    z = estimates / std_errors
    crit = stats.norm.ppf(0.5 + confidence / 2)
    return pd.DataFrame(
        {
            name: estimates,
            "std err": std_errors,
            "z": z,
            "P>|z|": 2 * stats.norm.sf(np.abs(z)),
            lower: estimates - crit * std_errors,
            upper: estimates + crit * std_errors,
        }
    )


def ids_to_codes(values, what):
    """Integer codes of ids (refusing missing ones) and the unique ids."""
    values = values if isinstance(values, pd.Index) else pd.Index(values)
    missing = np.asarray(values.isna())
    if missing.any():
        raise ValueError(
            f"{what} contains a missing value at position {int(missing.argmax())}"
        )
    codes, uniques = pd.factorize(values)
    return codes, np.asarray(uniques)


# --------------------------------------------------------------------------------
# Constants-only (market-share) model and the equal-shares model
# --------------------------------------------------------------------------------


def constants_only_log_likelihood(alternatives, data, *, closed_form=None):
    """Maximised log-likelihood of the model with alternative-specific constants only.

    With the same choice set in every situation this is the closed form
    ``sum_j N_j log(N_j / N)`` (``N_j`` the weighted number of choices of ``j``);
    with ragged sets the constants are fitted by the kernel (as situation features
    ``z_s = 1`` with one coefficient per alternative, never as dummy columns), which
    is exact. Alternatives never chosen get probability 0 at the supremum, so their
    rows are dropped first; one constant per connected group of alternatives (that
    appear together in some situation) is the reference.

    Parameters
    ----------
    alternatives : array-like of shape (n_rows,)
        Alternative label of each canonical row of ``data``.
    data : ChoiceData
        Canonical block with ``y``.
    closed_form : bool or None, default=None
        Force (True) or forbid (False) the closed form; None uses it exactly when
        every situation offers every alternative.

    Returns
    -------
    log_likelihood : float
    n_constants : int
        Number of free constants of the model.
    """
    alternatives = np.asarray(alternatives)
    if np.issubdtype(alternatives.dtype, np.integer) and alternatives.min() >= 0:
        codes = alternatives  # already codes: no hashing of every row
    else:
        codes, _ = ids_to_codes(alternatives, "the alternative ids")
    segments = data.segments
    w = np.ones(data.n_situations) if data.sample_weight is None else data.sample_weight
    wy = segments.expand(w) * data.y
    totals = np.bincount(codes, weights=wy, minlength=codes.max() + 1)
    chosen = totals > 0
    if closed_form is not False and _offers_every_alternative(segments, codes):
        # Every situation offers every alternative (rows are distinct pairs): the
        # closed form needs no incidence structure.
        used_totals = totals[chosen]
        return (
            float(used_totals @ np.log(used_totals / used_totals.sum())),
            int(chosen.sum()) - 1,
        )
    situation = segments.segment_of_rows()
    has_choice = segments.sum(wy) > 0
    keep = chosen[codes] & has_choice[situation]
    codes, situation, wy = codes[keep], situation[keep], wy[keep]
    used = np.flatnonzero(chosen)
    n_sit = int(situation.max()) + 1 if situation.size else 0
    incidence = sp.csr_array(
        (np.ones(codes.size), (situation, codes)), shape=(n_sit, chosen.size)
    )[:, used]
    sizes = np.diff(incidence.indptr)
    totals = np.bincount(codes, weights=wy, minlength=chosen.size)[used]
    if closed_form is None:
        closed_form = bool(np.all(sizes[sizes > 0] == used.size))
    n_groups, group = connected_components(incidence.T @ incidence, directed=False)
    n_constants = used.size - n_groups
    if closed_form:
        return float(totals @ np.log(totals / totals.sum())), n_constants
    multi = sizes[situation] > 1
    if n_constants == 0 or not multi.any():
        # No free constant: equal shares over the (reduced) choice sets.
        return float(-(wy @ np.log(sizes[situation]))), n_constants
    # The kept rows of situations with a choice between several alternatives, as a
    # block of their own: counts w_s y_i with unit weights.
    rows_kept = situation[multi]
    new_sizes = np.bincount(rows_kept)[np.unique(rows_kept)]
    block = ChoiceData(
        X=np.zeros((int(multi.sum()), 0)),
        segments=make_segments(new_sizes),
        y=wy[multi],
        sample_weight=None,
        rows=None,
        output_shape=(int(multi.sum()),),
        situation_labels=np.unique(rows_kept),
        dense=False,
    )
    position = np.full(chosen.size, -1)
    position[used] = np.arange(used.size)
    alt = position[codes[multi]]
    if n_groups == 1:
        features = SituationFeatures(
            np.ones((block.n_situations, 1)), used.size, alt, reference=0
        )
        loss = LinearChoiceLoss(block, situation_features=features, engine="numpy")
    else:
        # Several connected groups: one reference per group, as dummy columns (the
        # situation-feature path has a single reference alternative).
        is_reference = np.zeros(used.size, dtype=bool)
        is_reference[np.unique(group, return_index=True)[1]] = True
        columns = np.flatnonzero(~is_reference)
        dummies = np.ascontiguousarray(alt[:, None] == columns[None, :], dtype=float)
        block = ChoiceData(**{**block.__dict__, "X": dummies})
        loss = LinearChoiceLoss(block, engine="numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = solve(
            loss,
            np.zeros(loss.n_params),
            solver="newton-cholesky",
            max_iter=200,
            tol=1e-10,
        )
    return float(loss.log_likelihood(result.coef, result.objective)), n_constants


def _offers_every_alternative(segments, codes):
    """Whether every situation has one row of each alternative code (cheap test).

    Rows of a situation are distinct (situation, alternative) pairs (the data
    layer refuses duplicates), so equal sizes that match the number of codes
    mean complete choice sets.
    """
    sizes = segments.sizes
    n_codes = int(codes.max()) + 1 if codes.size else 0
    return bool(
        sizes.size
        and sizes.min() == sizes.max() == n_codes
        and np.bincount(codes, minlength=n_codes).min() == segments.n_segments
    )


def nests_constants(data, alternatives, tol=1e-7):
    """Whether a model's alternative features span the alternative constants.

    The constants-only model is nested in a model exactly when every alternative
    indicator, centred within each situation, is a linear combination of the
    (centred) features: then the model can reproduce any set of constants. Judged
    on the normal equations, accumulated over chunks of situations in one pass:
    ``G = Xc^T Xc`` (K x K), ``B_j = Xc^T d_j`` (the sum of the centred feature
    rows of alternative j, since centred rows sum to zero in each situation) and
    ``|dc_j|^2 = sum over the rows of j of (1 - 1/n_s)``; the indicators are
    never formed.

    Parameters
    ----------
    data : ChoiceData
    alternatives : array-like of shape (n_rows,)
        Alternative label (or non-negative integer code) of each canonical row.

    Returns
    -------
    bool
    """
    alternatives = np.asarray(alternatives)
    if np.issubdtype(alternatives.dtype, np.integer) and alternatives.min() >= 0:
        codes = alternatives
    else:
        codes, _ = ids_to_codes(alternatives, "the alternative ids")
    n_codes = int(codes.max()) + 1
    if n_codes < 2:
        return True
    K = data.n_features
    if K == 0:
        return False
    G = np.zeros((K, K))
    B = np.zeros((n_codes, K))
    total = np.zeros(n_codes)
    for rows, _, seg in data.segments.split(1 << 16):
        X = np.asarray(data.X[rows], dtype=np.float64)
        share = 1.0 / seg.expand(seg.sizes.astype(float))
        Xc = X - seg.expand(seg.weighted_row_sum(share, X))
        c = codes[rows]
        G += Xc.T @ Xc
        indicator = sp.csr_array(
            (np.ones(c.size), (c, np.arange(c.size))), shape=(n_codes, c.size)
        )
        B += indicator @ Xc
        total += np.bincount(c, weights=1.0 - share, minlength=n_codes)
    # Indicators of all alternatives but one span the same space (they sum to 1).
    B, total = B[1:], total[1:]
    scale = np.sqrt(np.maximum(np.diag(G), np.finfo(float).tiny))
    Gs = G / scale[:, None] / scale[None, :]
    Bs = B / scale[None, :]
    coef, *_ = scipy.linalg.lstsq(Gs, Bs.T)
    explained = np.einsum("jk,kj->j", Bs, coef)
    residual = total - explained
    present = total > 0
    return bool(np.all(residual[present] <= tol * total[present]))


# --------------------------------------------------------------------------------
# The mixin
# --------------------------------------------------------------------------------


class ChoiceInferenceMixin:
    """Statistical inference for a fitted linear softmax model (computed on request).

    Mixed into :class:`~skpolicy.SoftmaxChoiceEstimator` and
    :class:`~skpolicy.SoftmaxPolicy`. All numbers come from the estimator's loss
    (:class:`~._linear_loss.LinearChoiceLoss`: its moments) at the fitted
    coefficients. The covariance types:

    - ``"hessian"``: inverse observed information ``H^-1``,
      ``H = sum_s w_s n_s Cov_pi[phi(s, .)]`` (what mlogit and Stata's ``oim``
      report); needs no data;
    - ``"opg"``: BHHH, the inverse outer product of the per-choice scores
      ``B = sum_s w_s sum_a y_sa d_sa d_sa^T``, ``d_sa = phi(s, a) - phibar_s``;
    - ``"HC0"``: the plain sandwich ``H^-1 B H^-1`` without a small-sample factor
      (Biogeme's "robust", Larch, R's ``sandwich::sandwich``);
    - ``"robust"``: ``W/(W-1) H^-1 B H^-1``, ``W = sum_s w_s n_s`` (Stata's
      ``vce(robust)``);
    - ``"cluster"``: ``G/(G-1) H^-1 (sum_c S_c S_c^T) H^-1`` with
      ``S_c = sum_{s in c} w_s g_s`` over the G clusters given by ``groups``
      (a decision-maker id, constant within each situation): Stata's
      ``vce(cluster id)``.

    ``sample_weight`` are frequency weights as in ``fit`` (integer weights give the
    covariance of repeated situations). For sampling weights use ``"cluster"``
    with ``groups`` the situation (or person) ids. Covariances ignore the L2
    penalty: with ``alpha > 0`` they are those of the unpenalised likelihood at the
    penalised estimate, and a :class:`~skpolicy.exceptions.PenalizedInferenceWarning`
    says so.

    Every method that takes data also takes the estimator's extra per-sample
    inputs as keywords (``**data_params``: a policy's ``available_actions`` and
    ``action_features``), exactly as its ``fit`` does.

    An estimator using the mixin implements the hooks below; the mixin keeps its
    own fit record (:meth:`_record_fit`).
    """

    # ------------------------------------------------------------------ hooks
    def _inference_loss(self, X, y, sample_weight):
        """The loss of (X, y, sample_weight) in this model's layout (for inference).

        Returns
        -------
        LinearChoiceLoss
        """
        raise NotImplementedError

    def _coef_vector(self):
        """The fitted parameter vector in the loss's layout, shape (n_params,)."""
        raise NotImplementedError

    def _coef_names(self):
        """Names of the parameters, in the order of :meth:`_coef_vector`."""
        raise NotImplementedError

    def _row_alternatives(self, X, data, key):
        """Alternative label of each canonical row of ``data`` (or None)."""
        if is_dense(X):
            return None
        try:
            ids, column = key_values(X, key, "alternative")
        except ValueError:
            return None
        # A one-level index holds only the situation id.
        if column is None and X.index.nlevels < 2:
            return None
        ids = np.asarray(ids)
        return ids if data.rows is None else ids[data.rows]

    def _contains_constants(self, data, alternatives):
        """Whether the model nests the constants-only model on these data."""
        return nests_constants(data, alternatives)

    def _dask_covariance_matrix(self, X, y, sample_weight, **params):
        """Covariance from Dask training data (the estimators dispatch to Dask)."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot compute covariances from Dask data"
        )

    # ------------------------------------------------------------- fit record
    def _record_fit(self, loss, coef, objective, hessian, *, reference=None):
        """Keep what inference needs from a fit, and set the likelihood attributes.

        Parameters
        ----------
        loss : LinearChoiceLoss
            The training loss.
        coef : ndarray of shape (n_params,)
        objective : float
            Normalised objective at ``coef``.
        hessian : ndarray of shape (n_params, n_params)
            Hessian of the normalised objective at ``coef``.
        reference : tuple (log_likelihood, n_parameters, name) or None
            The reference model of rho-squared and of the LR test on the training
            data; None: equal shares.
        """
        self.log_likelihood_ = loss.log_likelihood(coef, objective)
        self.null_log_likelihood_ = loss.null_log_likelihood()
        self.n_choices_ = loss.weight_sum
        sizes = loss.data.segments.sizes
        self._fit_record = {
            "information": loss.information(hessian),
            "alpha": loss.alpha,
            "min_alternatives": int(sizes.min()),
            "max_alternatives": int(sizes.max()),
            "reference": reference,
        }

    def _fit_loss(self, loss, previous, previous_text, names, *, reference=None):
        """The fit every estimator shares: warm start, solve, checks, record.

        Parameters
        ----------
        loss : LinearChoiceLoss or another object with its fitting interface
            (the Dask loss).
        previous : ndarray or None
            The previous coefficients in the loss's layout (used with
            ``warm_start``), or None when there are none.
        previous_text : str
            How to name ``previous`` in the error when its shape is wrong.
        names : list of str
            Coefficient names, for the identification warnings.
        reference : tuple or None
            As in :meth:`_record_fit`.

        Returns
        -------
        SolverResult
        """
        coef0 = np.zeros(loss.n_params)
        if self.warm_start and previous is not None:
            previous = np.asarray(previous, dtype=np.float64)
            if previous.shape != coef0.shape:
                raise ValueError(
                    f"warm_start=True but the previous coefficients do not fit: "
                    f"{previous_text} while this fit needs {coef0.size} parameters "
                    "(other features or actions), so they cannot be the starting "
                    "point: set warm_start=False to start from zeros"
                )
            coef0 = previous.copy()
        solver = resolve_solver(self.solver, loss.n_params)
        result = solve(
            loss,
            coef0,
            solver=solver,
            max_iter=self.max_iter,
            tol=self.tol,
            verbose=self.verbose,
        )
        if loss.alpha == 0:
            # Identification is judged on the Hessians of the unpenalised objective
            # at the start (usually computed by the solver already) and at the end.
            start = result.first_hessian
            if start is not None and not np.any(start[0]):
                hessian_zero = start[1]
            else:
                hessian_zero = loss.gradient_hessian(np.zeros(loss.n_params))[2]
            check_identification(hessian_zero, result.hessian, names)
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.solver_ = solver
        self.n_situations_ = loss.data.n_situations
        self._record_fit(
            loss, result.coef, result.objective, result.hessian, reference=reference
        )
        return result

    def _training_reference(self, loss, X):
        """The rho-squared reference of the training data, for :meth:`_record_fit`."""
        alternatives = (
            self._row_alternatives(X, loss.data, 1) if X is not None else None
        )
        if alternatives is None or not self._contains_constants(
            loss.data, alternatives
        ):
            return None
        ll, k = constants_only_log_likelihood(alternatives, loss.data)
        return ll, k, "constants only"

    # ------------------------------------------------------------- data access
    def _inference_data(self, X, y, sample_weight, groups=None, **data_params):
        """The loss of (X, y, w), and per-situation group codes if asked.

        ``data_params`` are the estimator's extra per-sample inputs (a policy's
        ``available_actions`` and ``action_features``).
        """
        if y is None:
            raise ValueError(
                "y is required with X: give the choices of X (1/0 per long row, or "
                "the chosen alternative's index for dense X)"
            )
        if _is_dask(X):
            raise NotImplementedError(
                "this statistic needs per-situation quantities that stay on the "
                "Dask workers: covariance_matrix, std_errors, coef_table and "
                "wald_test accept Dask data; for fit_statistics, situation_scores "
                "and summary pass X=None (the statistics recorded at fit) or "
                "in-memory data"
            )
        # Within one summary() the same data are validated and their loss built
        # once, whatever the statistics asked (see summary).
        key = (id(X), id(y), id(sample_weight))
        key += tuple(sorted((name, id(v)) for name, v in data_params.items()))
        group_values = None
        if groups is not None and not is_dense(X) and is_key(groups):
            group_values, X = self._group_column(X, groups)
        elif groups is not None:
            group_values = groups
        cache = getattr(self, "_loss_cache", None)
        if cache is not None and key in cache:
            loss = cache[key]
        else:
            loss = self._inference_loss(X, y, sample_weight, **data_params)
            if cache is not None:
                cache[key] = loss
        codes = None
        if groups is not None:
            codes = self._situation_groups(loss.data, group_values)
        return loss, codes

    def _group_column(self, X, key):
        if not isinstance(X, pd.DataFrame):
            raise ValueError(
                f"groups={key!r} names an index level or column, but X is not a "
                "DataFrame: give an array of cluster ids"
            )
        kind, where = locate_key(
            X,
            key,
            "groups",
            hint="Give the name of the decision-maker id, or an array of ids",
        )
        if kind == "level":
            return X.index.get_level_values(where), X
        values = X[where].to_numpy()
        # An id column that is not a feature would fail the feature-name check.
        features = set(getattr(self, "feature_names_in_", []))
        return values, X if where in features else X.drop(columns=where)

    def _situation_groups(self, data, values):
        n_user = data.output_shape[0]
        if np.ndim(values) != 1:
            raise ValueError(
                "groups must be a 1-D array of cluster ids (or, for long X, the name "
                f"of an index level or column), got {type(values).__name__} of "
                f"shape {np.shape(values)}"
            )
        if len(values) != n_user:
            unit = "situations" if data.dense else "rows"
            raise ValueError(
                f"groups has {len(values)} entries but X has {n_user} {unit}: give "
                f"one cluster id per {unit[:-1]}"
                + ("" if data.dense else " (constant within each situation)")
            )
        codes, _ = ids_to_codes(values, "groups")
        if data.dense:
            return codes
        if data.rows is not None:
            codes = codes[data.rows]
        first = codes[data.segments.offsets[:-1]]
        varies = np.flatnonzero(codes != data.segments.expand(first))
        if varies.size:
            s = int(np.searchsorted(data.segments.offsets, varies[0], side="right") - 1)
            raise ValueError(
                f"groups varies within situation {label(data.situation_labels[s])}: "
                "a cluster (decision maker) must contain whole situations, so give "
                "every row of a situation the same cluster id"
            )
        return first

    def _warn_penalised(self):
        alpha = self._fit_record["alpha"]
        if alpha > 0:
            warnings.warn(
                f"the model was fitted with alpha={alpha:g} > 0: standard errors and "
                "tests treat the coefficients as an unpenalised maximum likelihood "
                "estimate and ignore the shrinkage, so they are only approximate",
                PenalizedInferenceWarning,
                stacklevel=3,
            )

    def _warn_other_data(self, loss):
        same = loss.data.n_situations == self.n_situations_ and np.isclose(
            loss.weight_sum, self.n_choices_, rtol=1e-9
        )
        if not same:
            warnings.warn(
                f"X has {loss.data.n_situations} situations and {loss.weight_sum:g} "
                f"weighted choices, but the model was fitted on {self.n_situations_} "
                f"and {self.n_choices_:g}: covariances describe the sampling "
                "variation of the coefficients only on the training data (pass the "
                "same sample_weight as to fit)",
                DataWarning,
                stacklevel=3,
            )

    # --------------------------------------------------------------- public API
    def situation_scores(self, X, y, sample_weight=None, **data_params):
        """Per-situation score vectors of the (weighted) log-likelihood.

        Row ``s`` is ``w_s g_s`` with
        ``g_s = sum_a y_sa (phi(s, a) - phibar_s)``, the gradient of the situation's
        log-likelihood ``sum_a y_sa log pi(a|s)`` with respect to the coefficients,
        and ``phibar_s = sum_k pi(k|s) phi(s, k)``. The weights are applied: the
        rows sum to the gradient of the weighted log-likelihood that ``fit``
        maximises (zero at an unpenalised optimum). With ``sample_weight=None``
        they are the unweighted scores.

        Parameters
        ----------
        X : pandas DataFrame or ndarray
            The model's input (long or dense choice data, or states).
        y : array-like
            Choices, as in :meth:`fit`.
        sample_weight : array-like, default=None
            Situation weights, as in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_situations, n_params)
            Columns in the order of :meth:`covariance_matrix`'s index; situations
            in order of first appearance in long X (otherwise in order).

        Examples
        --------
        >>> from skpolicy import SoftmaxChoiceEstimator
        >>> from skpolicy.datasets import make_choice_data
        >>> X, y = make_choice_data(200, 3, 2, random_state=0)
        >>> est = SoftmaxChoiceEstimator().fit(X, y)
        >>> scores = est.situation_scores(X, y)
        >>> scores.shape, bool(abs(scores.sum(axis=0)).max() < 1e-6)
        ((200, 2), True)
        """
        check_is_fitted(self)
        loss, _ = self._inference_data(X, y, sample_weight, **data_params)
        return loss.moments(self._coef_vector()).scores

    def covariance_matrix(
        self,
        X=None,
        y=None,
        sample_weight=None,
        *,
        cov_type="hessian",
        groups=None,
        **data_params,
    ):
        """Estimated covariance matrix of the coefficients.

        Parameters
        ----------
        X : pandas DataFrame or ndarray, default=None
            The training data; required for every ``cov_type`` but ``"hessian"``
            (which then uses the information stored at fit).
        y : array-like, default=None
            The training choices (required with X).
        sample_weight : array-like, default=None
            The training weights (frequency weights, as in :meth:`fit`).
        cov_type : {"hessian", "opg", "HC0", "robust", "cluster"}, \
                default="hessian"
            See the class docstring for the formulas and finite-sample
            corrections: none for ``"hessian"``, ``"opg"`` and ``"HC0"``,
            ``W/(W-1)`` for ``"robust"``, ``G/(G-1)`` for ``"cluster"``.
        groups : array-like, str or int, default=None
            Cluster ids for ``cov_type="cluster"``: one per row of long X (constant
            within each situation) or per situation of dense X (per state), or the
            name (or position) of an index level, or a column name, of long X.

        Returns
        -------
        pandas DataFrame of shape (n_params, n_params)
            Indexed by the coefficient names on both axes.

        Examples
        --------
        >>> from skpolicy import SoftmaxChoiceEstimator
        >>> from skpolicy.datasets import make_choice_data
        >>> X, y = make_choice_data(500, 4, 2, format="long", random_state=0)
        >>> est = SoftmaxChoiceEstimator().fit(X, y)
        >>> est.covariance_matrix().shape
        (2, 2)
        >>> est.covariance_matrix(X, y, cov_type="cluster", groups="situation").shape
        (2, 2)
        """
        check_is_fitted(self)
        check_cov_type(cov_type)
        names = list(self._coef_names())
        self._warn_penalised()
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
        if X is not None and _is_dask(X):
            return self._dask_covariance_matrix(
                X, y, sample_weight, cov_type=cov_type, groups=groups, **data_params
            )
        if X is None:
            if cov_type != "hessian":
                raise ValueError(
                    f"cov_type={cov_type!r} needs the training data: pass X and y "
                    "(and sample_weight if fit had one)"
                )
            cov = invert_information(self._fit_record["information"], names)
        else:
            loss, codes = self._inference_data(
                X, y, sample_weight, groups, **data_params
            )
            m = loss.moments(self._coef_vector())
            self._warn_other_data(loss)
            cov = covariance_from_moments(m, cov_type, codes, names)
        return pd.DataFrame(cov, index=names, columns=names)

    def std_errors(
        self,
        X=None,
        y=None,
        sample_weight=None,
        *,
        cov_type="hessian",
        groups=None,
        **data_params,
    ):
        """Standard errors: square roots of the covariance's diagonal.

        Parameters
        ----------
        X, y, sample_weight, cov_type, groups
            As in :meth:`covariance_matrix`.

        Returns
        -------
        pandas Series of shape (n_params,)
            Indexed by the coefficient names.
        """
        cov = self.covariance_matrix(
            X, y, sample_weight, cov_type=cov_type, groups=groups, **data_params
        )
        return pd.Series(np.sqrt(np.diag(cov)), index=cov.index, name="std err")

    def coef_table(
        self,
        X=None,
        y=None,
        sample_weight=None,
        *,
        cov_type="hessian",
        groups=None,
        confidence=0.95,
        **data_params,
    ):
        """Coefficient table: estimates, standard errors, z, p-values, intervals.

        Parameters
        ----------
        X, y, sample_weight, cov_type, groups
            As in :meth:`covariance_matrix`.
        confidence : float, default=0.95
            Level of the (normal, Wald) confidence intervals.

        Returns
        -------
        pandas DataFrame
            Indexed by the coefficient names, with columns ``coef``, ``std err``,
            ``z``, ``P>|z|`` (two-sided, standard normal) and the interval bounds
            named as in statsmodels (``[0.025``, ``0.975]`` at 95%).

        Examples
        --------
        >>> from skpolicy import SoftmaxChoiceEstimator
        >>> from skpolicy.datasets import make_choice_data
        >>> X, y = make_choice_data(500, 4, 2, format="long", random_state=0)
        >>> table = SoftmaxChoiceEstimator().fit(X, y).coef_table()
        >>> list(table.columns)
        ['coef', 'std err', 'z', 'P>|z|', '[0.025', '0.975]']
        """
        se = self.std_errors(
            X, y, sample_weight, cov_type=cov_type, groups=groups, **data_params
        )
        coef = pd.Series(self._coef_vector(), index=se.index)
        return estimate_table(coef, se, confidence)

    def wald_test(
        self,
        R,
        r=None,
        X=None,
        y=None,
        sample_weight=None,
        *,
        cov_type="hessian",
        groups=None,
        **data_params,
    ):
        """Wald test of the linear restrictions ``R @ coef = r``.

        The statistic ``(R c - r)^T (R V R^T)^-1 (R c - r)``, with ``V`` the
        covariance of the chosen type, is chi-squared with as many degrees of
        freedom as restrictions under the null.

        Parameters
        ----------
        R : str, sequence of str, or array-like of shape (n_params,) or \
                (n_restrictions, n_params)
            The restrictions: a matrix (one row per restriction), or linear
            equations in the coefficient names such as ``"ic = oc"``,
            ``"2*ic - oc = 0"`` or ``["asc_gc", "asc_gr"]`` (each equal to 0).
        r : array-like of shape (n_restrictions,), default=None
            Right-hand side for a matrix ``R``; zeros when None.
        X, y, sample_weight, cov_type, groups
            As in :meth:`covariance_matrix`.

        Returns
        -------
        TestResult
            ``statistic``, ``df`` and ``pvalue``.

        Examples
        --------
        >>> from skpolicy import SoftmaxChoiceEstimator
        >>> from skpolicy.datasets import make_choice_data
        >>> X, y = make_choice_data(500, 4, 2, coef=[1, 1], format="long",
        ...                         random_state=0)
        >>> result = SoftmaxChoiceEstimator().fit(X, y).wald_test("x0 = x1")
        >>> result.df, bool(result.pvalue > 0.01)
        (1, True)
        """
        check_is_fitted(self)
        R_mat, r_vec = parse_restrictions(R, r, list(self._coef_names()))
        cov = self.covariance_matrix(
            X, y, sample_weight, cov_type=cov_type, groups=groups, **data_params
        ).to_numpy()
        diff = R_mat @ self._coef_vector() - r_vec
        middle = R_mat @ cov @ R_mat.T
        statistic = float(diff @ np.linalg.solve(middle, diff))
        return chi2_test(statistic, R_mat.shape[0], "Wald")

    def fit_statistics(
        self,
        X=None,
        y=None,
        sample_weight=None,
        *,
        alternative_key=1,
        reference="auto",
        **data_params,
    ):
        """Goodness-of-fit statistics of the model.

        Parameters
        ----------
        X : pandas DataFrame or ndarray, default=None
            The training data. Without X the statistics recorded at fit are used.
        y : array-like, default=None
            The training choices (required with X).
        sample_weight : array-like, default=None
            The training weights.
        alternative_key : int or str, default=1
            Index level (or column) of long X holding the alternative id, for the
            constants-only model.
        reference : {"auto", "constants", "null"}, default="auto"
            The reference model of McFadden's rho-squared and of the LR test:
            ``"constants"`` the constants-only (market-share) model, ``"null"``
            equal shares over each situation's alternatives. ``"auto"`` takes the
            constants-only model when the alternatives are labelled (long X whose
            index has the level ``alternative_key``; a policy's actions) and the
            model contains alternative constants (so that the constants-only model
            is nested in it, as mlogit's summary assumes), and equal shares
            otherwise (a model without constants, such as mlogit's ``ic + oc | 0``).
            ``summary()`` and ``summary(X, y)`` on the training data agree.

        Returns
        -------
        pandas Series
            ``log_likelihood``; ``null_log_likelihood`` (equal shares over each
            situation's available alternatives); ``constants_log_likelihood``
            (NaN when not computed); ``mcfadden_r2`` = ``1 - LL / LL_ref`` and
            ``adjusted_mcfadden_r2`` = ``1 - (LL - K) / (LL_ref - K_ref)`` against
            the reference (``K_ref`` = 0 for equal shares, the number of free
            constants for the constants-only model); ``lr_statistic`` =
            ``2 (LL - LL_ref)``, ``lr_df`` = ``K - K_ref`` and ``lr_pvalue``;
            ``aic`` = ``-2 LL + 2 K``; ``bic`` = ``-2 LL + K log(n)`` with ``n``
            the weighted number of choices ``sum_s w_s n_s`` (the number of
            situations for unweighted data with one choice each);
            ``n_situations``, ``n_choices`` and ``n_parameters`` (``K``). The
            reference is named in ``Series.attrs["reference"]``.

        Examples
        --------
        >>> from skpolicy import SoftmaxChoiceEstimator
        >>> from skpolicy.datasets import make_choice_data
        >>> X, y = make_choice_data(500, 4, 2, format="long", random_state=0)
        >>> est = SoftmaxChoiceEstimator().fit(X, y)
        >>> stats = est.fit_statistics(X, y)
        >>> stats.attrs["reference"]
        'equal shares'
        >>> bool(stats["mcfadden_r2"] > 0)
        True
        """
        check_is_fitted(self)
        if reference not in ("auto", "constants", "null"):
            raise ValueError(
                f"reference={reference!r}: choose 'auto', 'constants' or 'null'"
            )
        K = len(self._coef_vector())
        ll_const, k_const = np.nan, 0
        if X is None:
            recorded = self._fit_record["reference"]
            if reference == "constants" and recorded is None:
                raise ValueError(
                    "reference='constants' needs X and y with the alternative ids "
                    f"(index level {alternative_key!r}) to fit the constants-only model"
                )
            loglik = self.log_likelihood_
            ll_null = self.null_log_likelihood_
            n_sit, n_choices = self.n_situations_, self.n_choices_
            if recorded is not None and reference != "null":
                ll_const, k_const = recorded[0], recorded[1]
        else:
            loss, _ = self._inference_data(X, y, sample_weight, **data_params)
            data = loss.data
            loglik = loss.log_likelihood(self._coef_vector())
            n_sit, n_choices = data.n_situations, loss.weight_sum
            ll_null = loss.null_log_likelihood()
            alternatives = self._row_alternatives(X, data, alternative_key)
            if alternatives is None and reference == "constants":
                raise ValueError(
                    "reference='constants' needs the alternative id of every row: "
                    f"alternative_key={alternative_key!r} is not an index level or "
                    "column of X"
                    if not is_dense(X)
                    else "reference='constants' needs long X with alternative ids"
                )
            if alternatives is not None and (
                reference == "constants"
                or (
                    reference == "auto" and self._contains_constants(data, alternatives)
                )
            ):
                ll_const, k_const = constants_only_log_likelihood(alternatives, data)
        use_constants = reference != "null" and not np.isnan(ll_const)
        ll_ref = ll_const if use_constants else ll_null
        k_ref = k_const if use_constants else 0
        lr = 2 * (loglik - ll_ref)
        df = K - k_ref
        values = {
            "log_likelihood": loglik,
            "null_log_likelihood": ll_null,
            "constants_log_likelihood": ll_const,
            "mcfadden_r2": 1 - loglik / ll_ref if ll_ref else np.nan,
            "adjusted_mcfadden_r2": (
                1 - (loglik - K) / (ll_ref - k_ref) if ll_ref else np.nan
            ),
            "lr_statistic": lr,
            "lr_df": df,
            "lr_pvalue": float(stats.chi2.sf(lr, df)) if df > 0 else np.nan,
            "aic": -2 * loglik + 2 * K,
            "bic": -2 * loglik + K * np.log(n_choices),
            "n_situations": n_sit,
            "n_choices": n_choices,
            "n_parameters": K,
        }
        out = pd.Series(values, name="fit statistics", dtype=float)
        out.attrs["reference"] = "constants only" if use_constants else "equal shares"
        return out

    def summary(
        self,
        X=None,
        y=None,
        sample_weight=None,
        *,
        cov_type="hessian",
        groups=None,
        confidence=0.95,
        alternative_key=1,
        reference="auto",
        **data_params,
    ):
        """A printable summary: model information, fit statistics, coefficients.

        Parameters
        ----------
        X, y, sample_weight, cov_type, groups, confidence
            As in :meth:`coef_table`; without X the stored fit statistics and the
            Hessian covariance are used.
        alternative_key, reference
            As in :meth:`fit_statistics`.

        Returns
        -------
        ChoiceModelSummary
            ``print(summary)`` shows the text table; in a notebook it renders as
            HTML. Its ``coef_table`` and ``fit_statistics`` attributes hold the
            numbers.

        Examples
        --------
        >>> from skpolicy import SoftmaxChoiceEstimator
        >>> from skpolicy.datasets import make_choice_data
        >>> X, y = make_choice_data(500, 4, 2, format="long", random_state=0)
        >>> summary = SoftmaxChoiceEstimator().fit(X, y).summary(X, y)
        >>> "McFadden" in str(summary)
        True
        """
        # One validation of (X, y, sample_weight) for the whole summary, instead
        # of one per statistic (three before).
        self._loss_cache = {}
        try:
            table = self.coef_table(
                X,
                y,
                sample_weight,
                cov_type=cov_type,
                groups=groups,
                confidence=confidence,
                **data_params,
            )
            fit_stats = self.fit_statistics(
                X,
                y,
                sample_weight,
                alternative_key=alternative_key,
                reference=reference,
                **data_params,
            )
            record = self._fit_record
            low, high = record["min_alternatives"], record["max_alternatives"]
            cov_label = cov_type
            if X is not None:
                loss, codes = self._inference_data(
                    X, y, sample_weight, groups, **data_params
                )
                sizes = loss.data.segments.sizes
                low, high = int(sizes.min()), int(sizes.max())
                if cov_type == "cluster":
                    cov_label += f" ({int(codes.max()) + 1} clusters)"
        finally:
            del self._loss_cache
        info = [
            ("Model:", type(self).__name__),
            ("Situations:", f"{int(fit_stats['n_situations'])}"),
            ("Alternatives (min/max):", f"{low}/{high}"),
            ("Parameters:", f"{int(fit_stats['n_parameters'])}"),
            ("Covariance type:", cov_label),
            ("Solver:", str(self.solver_)),
            ("Iterations:", str(self.n_iter_)),
            ("Converged:", str(bool(self.converged_))),
        ]
        if record["alpha"] > 0:
            info.append(("L2 penalty alpha:", f"{record['alpha']:g}"))
        return ChoiceModelSummary(info, fit_stats, table)


def covariance_from_moments(m, cov_type, codes, names):
    """Covariance of the coefficients of the given type from the loss's moments.

    Parameters
    ----------
    m : Moments
    cov_type : str
        One of :data:`COV_TYPES`.
    codes : ndarray of shape (n_situations,) or None
        Cluster code of every situation (``"cluster"`` only).
    names : list of str
        Coefficient names, for messages.

    Returns
    -------
    ndarray of shape (n_params, n_params)
    """
    if cov_type == "opg":
        return invert_information(m.opg, names, "outer product of the scores")
    bread = invert_information(m.information, names)
    if cov_type == "hessian":
        return bread
    if cov_type == "HC0":
        meat = m.opg
    elif cov_type == "robust":
        if m.weight_sum <= 1:
            raise ValueError(
                f"the weighted number of choices is {m.weight_sum:g}: the robust "
                "correction W/(W-1) needs more than one choice (frequency "
                "weights count situations); cov_type='HC0' has no correction"
            )
        meat = m.opg * m.weight_sum / (m.weight_sum - 1)
    else:
        n_clusters = int(codes.max()) + 1
        if n_clusters < 2:
            raise ValueError(
                "groups holds a single cluster: cluster-robust covariances need "
                "at least two clusters (and many more than coefficients)"
            )
        totals = np.zeros((n_clusters, m.scores.shape[1]))
        np.add.at(totals, codes, m.scores)
        meat = totals.T @ totals * n_clusters / (n_clusters - 1)
    cov = bread @ meat @ bread
    return 0.5 * (cov + cov.T)


def _is_dask(X):
    # Without importing dask (an optional extra): its collections carry a graph.
    return hasattr(X, "__dask_graph__")


def is_key(groups):
    """Whether ``groups`` names an index level or column rather than holding ids."""
    return isinstance(groups, (str, int, np.integer)) and not isinstance(groups, bool)
