"""Inference on a fitted conditional logit, computed on request.

:class:`ChoiceInferenceMixin` gives :class:`~skpolicy.SoftmaxChoiceEstimator` the
methods a statsmodels or Stata user looks for: per-situation score vectors,
covariance matrices (observed information, OPG / BHHH, robust sandwich,
cluster-robust), standard errors, a coefficient table, fit statistics, Wald tests
and a printed summary. Nothing here runs during ``fit``: the only things ``fit``
keeps are ``coef_``, the observed information ``_information`` (the Hessian of the
total weighted negative log-likelihood at ``coef_``) and a few sums in
``_fit_stats``. Everything that needs the data (OPG, sandwich, cluster, the
constants-only model) takes ``X, y, sample_weight`` again, like glum's
``covariance_matrix``.

Conventions (the notation of DESIGN.md section 1; ``d_sa = phi(s, a) - phibar_s``):

- **weights** are frequency weights, as in ``fit``: a situation of weight 2 counts
  as two identical situations, for every covariance type;
- **information** ``H = sum_s w_s n_s Cov_pi[phi(s, .)]``;
- **OPG / meat** ``B = sum_s w_s sum_a y_sa d_sa d_sa^T``: the unit is one choice,
  so choice counts mean repeated choices, and for one choice per situation this is
  ``sum_s w_s g_s g_s^T`` with ``g_s`` the situation's score vector;
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
from sklearn.utils.validation import check_is_fitted

from ._data import is_dense, key_values, label, locate_key
from ._restrictions import parse_restrictions
from ._softmax import segment_logsumexp
from ._summary import ChoiceModelSummary

COV_TYPES = ("hessian", "opg", "robust", "cluster")
# Rows per chunk when forming centred features: bounds the temporaries' memory.
_CHUNK_ROWS = 1 << 16


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
# Per-situation quantities
# --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Moments:
    """Score vectors, information and OPG of a block at ``coef_``."""

    scores: np.ndarray  # (n_situations, K): w_s g_s
    information: np.ndarray  # (K, K): sum_s w_s n_s Cov_pi
    opg: np.ndarray  # (K, K): sum_s w_s sum_a y_sa d_sa d_sa^T
    weight_sum: float  # W = sum_s w_s n_s
    log_likelihood: float  # sum_s w_s sum_a y_sa log pi(a|s)


def _situation_weights(data):
    if data.sample_weight is None:
        return np.ones(data.n_situations)
    return data.sample_weight


def moments(data, coef):
    """Weighted score vectors, information and OPG of ``data`` at ``coef``.

    One pass over the rows in chunks of whole situations, so that the centred
    features (as large as X) never exist all at once.

    Parameters
    ----------
    data : ChoiceData
        Canonical block with ``y``.
    coef : ndarray of shape (n_features,)

    Returns
    -------
    _Moments
    """
    w = _situation_weights(data)
    K = data.n_features
    scores = np.empty((data.n_situations, K))
    information = np.zeros((K, K))
    opg = np.zeros((K, K))
    loglik = 0.0
    for rows, sits, segments in data.segments.split(_CHUNK_ROWS):
        X = np.asarray(data.X[rows], dtype=np.float64)
        y = data.y[rows]
        u = X @ coef
        lse, proba = segment_logsumexp(u, segments)
        w_s = w[sits]
        n_s = segments.sum(y)
        xbar = segments.weighted_row_sum(proba, X)
        centred = X - segments.expand(xbar)
        # g_s = sum_a y_sa d_sa, weighted by w_s.
        scores[sits] = w_s[:, None] * segments.weighted_row_sum(y, centred)
        wy = segments.expand(w_s) * y
        information += centred.T @ (
            (segments.expand(w_s * n_s) * proba)[:, None] * centred
        )
        opg += centred.T @ (wy[:, None] * centred)
        loglik += float(wy @ u - (w_s * n_s) @ lse)
    information = 0.5 * (information + information.T)
    opg = 0.5 * (opg + opg.T)
    return _Moments(
        scores, information, opg, float(np.sum(w * _n_chosen(data))), loglik
    )


def _n_chosen(data):
    return data.segments.sum(data.y)


# --------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------


def coef_names(estimator):
    """Coefficient names: ``feature_names_in_``, or ``x0, x1, ...`` for arrays."""
    if hasattr(estimator, "feature_names_in_"):
        return [str(n) for n in estimator.feature_names_in_]
    return [f"x{k}" for k in range(len(estimator.coef_))]


def invert_information(matrix, names, what="observed information"):
    """Inverse of a symmetric positive definite K x K matrix, or a clear error."""
    try:
        factor = scipy.linalg.cho_factor(matrix)
        inverse = scipy.linalg.cho_solve(factor, np.eye(matrix.shape[0]))
    except (np.linalg.LinAlgError, ValueError):
        evals, evecs = np.linalg.eigh(matrix)
        v = evecs[:, 0]
        involved = [
            names[k] for k in np.flatnonzero(np.abs(v) >= 0.1 * np.abs(v).max())
        ]
        raise ValueError(
            f"the {what} matrix is singular (smallest eigenvalue {evals[0]:.3g}): "
            f"the coefficients of {involved} are not identified by these data, so "
            "they have no standard errors. Drop or combine those features, or use "
            "cov_type='hessian' when an OPG matrix is singular because of too few "
            "situations or clusters"
        ) from None
    return 0.5 * (inverse + inverse.T)


def _check_cov_type(cov_type):
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


def _ids_to_codes(values, what):
    values = values if isinstance(values, pd.Index) else pd.Index(values)
    missing = np.asarray(values.isna())
    if missing.any():
        raise ValueError(
            f"{what} contains a missing value at position {int(missing.argmax())}"
        )
    codes, uniques = pd.factorize(values)
    return codes, np.asarray(uniques)


# --------------------------------------------------------------------------------
# Constants-only (market-share) model
# --------------------------------------------------------------------------------


def constants_only_log_likelihood(alternatives, data, *, closed_form=None):
    """Maximised log-likelihood of the model with alternative-specific constants only.

    With the same choice set in every situation this is the closed form
    ``sum_j N_j log(N_j / N)`` (``N_j`` the weighted number of choices of ``j``);
    with ragged sets a conditional logit on alternative indicators is fitted, which
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
    from ._estimator import SoftmaxChoiceEstimator

    codes, _ = _ids_to_codes(alternatives, "the alternative ids")
    segments = data.segments
    situation = segments.segment_of_rows()
    wy = segments.expand(_situation_weights(data)) * data.y
    chosen = np.bincount(codes, weights=wy, minlength=codes.max() + 1) > 0
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
    # Dummies of every used alternative but the first of each connected group.
    is_reference = np.zeros(used.size, dtype=bool)
    is_reference[np.unique(group, return_index=True)[1]] = True
    position = np.full(chosen.size, -1)
    position[used] = np.arange(used.size)
    columns = np.flatnonzero(~is_reference)
    multi = sizes[situation] > 1
    if columns.size == 0 or not multi.any():
        # No free constant: equal shares over the (reduced) choice sets.
        return float(-(wy @ np.log(sizes[situation]))), n_constants
    col = position[codes[multi]]
    dummies = (col[:, None] == columns[None, :]).astype(float)
    X = pd.DataFrame(
        dummies,
        index=pd.MultiIndex.from_arrays([situation[multi], codes[multi]]),
        columns=[f"asc{j}" for j in columns],
    )
    # Situation weights are already in wy: fit counts wy with unit weights.
    model = SoftmaxChoiceEstimator(tol=1e-10).fit(X, wy[multi])
    return float(model.log_likelihood_), n_constants


# --------------------------------------------------------------------------------
# The mixin
# --------------------------------------------------------------------------------


class ChoiceInferenceMixin:
    """Statistical inference for a fitted conditional logit (computed on request).

    Mixed into :class:`~skpolicy.SoftmaxChoiceEstimator`. The covariance types:

    - ``"hessian"``: inverse observed information ``H^-1``,
      ``H = sum_s w_s n_s Cov_pi[phi(s, .)]`` (what mlogit and Stata's ``oim``
      report); needs no data;
    - ``"opg"``: BHHH, the inverse outer product of the per-choice scores
      ``B = sum_s w_s sum_a y_sa d_sa d_sa^T``, ``d_sa = phi(s, a) - phibar_s``;
    - ``"robust"``: the sandwich ``W/(W-1) H^-1 B H^-1``, ``W = sum_s w_s n_s``;
    - ``"cluster"``: ``G/(G-1) H^-1 (sum_c S_c S_c^T) H^-1`` with
      ``S_c = sum_{s in c} w_s g_s`` over the G clusters given by ``groups``
      (a decision-maker id, constant within each situation): Stata's
      ``vce(cluster id)``.

    ``sample_weight`` are frequency weights as in ``fit`` (integer weights give the
    covariance of repeated situations). For sampling weights use ``"cluster"``
    with ``groups`` the situation (or person) ids. Covariances ignore the L2
    penalty: with ``alpha > 0`` they are those of the unpenalised likelihood at the
    penalised estimate, and a warning says so.
    """

    # ------------------------------------------------------------- data access
    def _inference_data(self, X, y, sample_weight, groups=None):
        """Canonical block of (X, y, w), and per-situation group codes if asked."""
        if y is None:
            raise ValueError(
                "y is required with X: give the choices of X (1/0 per long row, or "
                "the chosen alternative's index for dense X)"
            )
        group_values = None
        if groups is not None and not is_dense(X) and _is_key(groups):
            group_values, X = self._group_column(X, groups)
        elif groups is not None:
            group_values = groups
        data = self._choice_data(X, y, sample_weight, reset=False)
        codes = None
        if groups is not None:
            codes = self._situation_groups(data, group_values)
        return data, codes

    def _group_column(self, X, key):
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
        return values, X if where in set(coef_names(self)) else X.drop(columns=where)

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
        codes, _ = _ids_to_codes(values, "groups")
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
        if self._fit_stats.get("alpha", 0.0) > 0:
            warnings.warn(
                f"the model was fitted with alpha={self._fit_stats['alpha']:g} > 0: "
                "standard errors and tests treat coef_ as an unpenalised maximum "
                "likelihood estimate and ignore the shrinkage, so they are only "
                "approximate",
                UserWarning,
                stacklevel=3,
            )

    def _warn_other_data(self, data, weight_sum):
        same = data.n_situations == self.n_situations_ and np.isclose(
            weight_sum, self._fit_stats["weight_sum"], rtol=1e-9
        )
        if not same:
            warnings.warn(
                f"X has {data.n_situations} situations and {weight_sum:g} weighted "
                f"choices, but the model was fitted on {self.n_situations_} and "
                f"{self._fit_stats['weight_sum']:g}: covariances describe the "
                "sampling variation of coef_ only on its training data (pass the "
                "same sample_weight as to fit)",
                UserWarning,
                stacklevel=3,
            )

    # --------------------------------------------------------------- public API
    def situation_scores(self, X, y, sample_weight=None):
        """Per-situation score vectors of the (weighted) log-likelihood at ``coef_``.

        Row ``s`` is ``w_s g_s`` with
        ``g_s = sum_a y_sa (phi(s, a) - phibar_s)``, the gradient of the situation's
        log-likelihood ``sum_a y_sa log pi(a|s)`` with respect to ``coef_``, and
        ``phibar_s = sum_k pi(k|s) phi(s, k)``. The weights are applied: the rows
        sum to the gradient of the weighted log-likelihood that ``fit`` maximises
        (zero at an unpenalised optimum). With ``sample_weight=None`` they are the
        unweighted scores; for a policy gradient pass (non-negative) returns or
        importance weights as ``sample_weight``, or multiply the unweighted rows by
        them yourself.

        Parameters
        ----------
        X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
                n_features)
            Long or dense choice data.
        y : array-like
            Choices, as in :meth:`fit`.
        sample_weight : array-like, default=None
            Situation weights, as in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_situations, n_features)
            Situations in order of first appearance in long X (dense: in order).

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
        data, _ = self._inference_data(X, y, sample_weight)
        return moments(data, self.coef_).scores

    def covariance_matrix(
        self, X=None, y=None, sample_weight=None, *, cov_type="hessian", groups=None
    ):
        """Estimated covariance matrix of ``coef_``.

        Parameters
        ----------
        X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
                n_features), default=None
            The training data; required for every ``cov_type`` but ``"hessian"``
            (which then uses the information stored at fit).
        y : array-like, default=None
            The training choices (required with X).
        sample_weight : array-like, default=None
            The training weights (frequency weights, as in :meth:`fit`).
        cov_type : {"hessian", "opg", "robust", "cluster"}, default="hessian"
            See the class docstring for the formulas and finite-sample
            corrections: none for ``"hessian"`` and ``"opg"``, ``W/(W-1)`` for
            ``"robust"``, ``G/(G-1)`` for ``"cluster"``.
        groups : array-like, str or int, default=None
            Cluster ids for ``cov_type="cluster"``: one per row of long X (constant
            within each situation) or per situation of dense X, or the name
            (or position) of an index level, or a column name, of long X.

        Returns
        -------
        pandas DataFrame of shape (n_features, n_features)
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
        _check_cov_type(cov_type)
        names = coef_names(self)
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
        if X is None:
            if cov_type != "hessian":
                raise ValueError(
                    f"cov_type={cov_type!r} needs the training data: pass X and y "
                    "(and sample_weight if fit had one)"
                )
            cov = invert_information(self._information, names)
        else:
            data, codes = self._inference_data(X, y, sample_weight, groups)
            m = moments(data, self.coef_)
            self._warn_other_data(data, m.weight_sum)
            cov = self._covariance_from(m, cov_type, codes, names)
        return pd.DataFrame(cov, index=names, columns=names)

    @staticmethod
    def _covariance_from(m, cov_type, codes, names):
        if cov_type == "opg":
            return invert_information(m.opg, names, "outer product of the scores")
        bread = invert_information(m.information, names)
        if cov_type == "hessian":
            return bread
        if cov_type == "robust":
            if m.weight_sum <= 1:
                raise ValueError(
                    f"the weighted number of choices is {m.weight_sum:g}: the robust "
                    "correction W/(W-1) needs more than one choice (frequency "
                    "weights count situations)"
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

    def std_errors(
        self, X=None, y=None, sample_weight=None, *, cov_type="hessian", groups=None
    ):
        """Standard errors of ``coef_``: square roots of the covariance's diagonal.

        Parameters are those of :meth:`covariance_matrix`.

        Returns
        -------
        pandas Series of shape (n_features,)
            Indexed by the coefficient names.
        """
        cov = self.covariance_matrix(
            X, y, sample_weight, cov_type=cov_type, groups=groups
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
        se = self.std_errors(X, y, sample_weight, cov_type=cov_type, groups=groups)
        coef = pd.Series(np.asarray(self.coef_, dtype=float), index=se.index)
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
    ):
        """Wald test of the linear restrictions ``R @ coef = r``.

        The statistic ``(R c - r)^T (R V R^T)^-1 (R c - r)``, with ``V`` the
        covariance of the chosen type, is chi-squared with as many degrees of
        freedom as restrictions under the null.

        Parameters
        ----------
        R : str, sequence of str, or array-like of shape (n_features,) or \
                (n_restrictions, n_features)
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
        R_mat, r_vec = parse_restrictions(R, r, coef_names(self))
        cov = self.covariance_matrix(
            X, y, sample_weight, cov_type=cov_type, groups=groups
        ).to_numpy()
        diff = R_mat @ self.coef_ - r_vec
        middle = R_mat @ cov @ R_mat.T
        statistic = float(diff @ np.linalg.solve(middle, diff))
        return chi2_test(statistic, R_mat.shape[0], "Wald")

    def fit_statistics(
        self, X=None, y=None, sample_weight=None, *, alternative_key=1, reference="auto"
    ):
        """Goodness-of-fit statistics of the model.

        Parameters
        ----------
        X : pandas DataFrame or ndarray, default=None
            The training data. Without X the statistics stored at fit are used and
            no constants-only model can be computed.
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
            index has the level ``alternative_key``), as mlogit's summary does,
            and equal shares otherwise.

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
        'constants only'
        >>> bool(stats["mcfadden_r2"] > 0)
        True
        """
        check_is_fitted(self)
        if reference not in ("auto", "constants", "null"):
            raise ValueError(
                f"reference={reference!r}: choose 'auto', 'constants' or 'null'"
            )
        K = len(self.coef_)
        ll_const, k_const = np.nan, 0
        if X is None:
            if reference == "constants":
                raise ValueError(
                    "reference='constants' needs X and y with the alternative ids "
                    f"(index level {alternative_key!r}) to fit the constants-only model"
                )
            loglik = self.log_likelihood_
            ll_null = self._fit_stats["null_log_likelihood"]
            n_sit, n_choices = self.n_situations_, self._fit_stats["weight_sum"]
        else:
            data, _ = self._inference_data(X, y, sample_weight)
            m = moments(data, self.coef_)
            loglik, n_sit, n_choices = m.log_likelihood, data.n_situations, m.weight_sum
            w = _situation_weights(data)
            ll_null = -float(np.sum(w * _n_chosen(data) * np.log(data.segments.sizes)))
            alternatives = self._alternative_ids(X, data, alternative_key, reference)
            if alternatives is not None:
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

    def _alternative_ids(self, X, data, key, reference):
        """Alternative id of each canonical row, or None when X has none."""
        found = None
        if not is_dense(X):
            try:
                ids, column = key_values(X, key, "alternative")
            except ValueError:
                ids = None
            # A one-level index holds only the situation id.
            if ids is not None and (column is not None or X.index.nlevels > 1):
                found = np.asarray(ids)
        if found is None:
            if reference == "constants":
                raise ValueError(
                    f"reference='constants' needs the alternative id of every row: "
                    f"alternative_key={key!r} is not an index level or column of X "
                    f"(index levels: {list(getattr(X.index, 'names', []))})"
                    if not is_dense(X)
                    else "reference='constants' needs long X with alternative ids"
                )
            return None
        return found if data.rows is None else found[data.rows]

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
        table = self.coef_table(
            X,
            y,
            sample_weight,
            cov_type=cov_type,
            groups=groups,
            confidence=confidence,
        )
        fit_stats = self.fit_statistics(
            X, y, sample_weight, alternative_key=alternative_key, reference=reference
        )
        if X is None:
            low = self._fit_stats["min_alternatives"]
            high = self._fit_stats["max_alternatives"]
        else:
            sizes = self._choice_data(X, reset=False).segments.sizes
            low, high = int(sizes.min()), int(sizes.max())
        cov_label = cov_type
        if cov_type == "cluster":
            codes = self._inference_data(X, y, sample_weight, groups)[1]
            cov_label += f" ({int(codes.max()) + 1} clusters)"
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
        if self._fit_stats.get("alpha", 0.0) > 0:
            info.append(("L2 penalty alpha:", f"{self._fit_stats['alpha']:g}"))
        return ChoiceModelSummary(info, fit_stats, table)


def _is_key(groups):
    return isinstance(groups, (str, int, np.integer))
