r"""Off-policy evaluation (OPE): the value of a target policy from logged bandit data.

Logged data are rounds :math:`i = 1..n` of a behaviour (logging) policy
:math:`\pi_b`: a state :math:`x_i`, the action :math:`a_i \sim \pi_b(\cdot|x_i)`
it played, its propensity :math:`p_i = \pi_b(a_i|x_i)` and the reward
:math:`r_i`. The value of a target policy :math:`\pi_e`,
:math:`V(\pi_e) = E_x E_{a \sim \pi_e(\cdot|x)}[r]`, is estimated from them with
the importance weights :math:`w_i = \pi_e(a_i|x_i) / p_i` and, for the direct
and doubly robust estimators, a reward model :math:`\hat q(x, a)`:

=========================================  =========================================
:func:`inverse_propensity_score`           :math:`\frac1n\sum_i w_i r_i`
:func:`self_normalized_ips`                :math:`\sum_i w_i r_i / \sum_i w_i`
:func:`direct_method`                      :math:`\frac1n\sum_i \hat q(x_i, \pi_e)`
:func:`doubly_robust`                      DM + :math:`\frac1n\sum_i w_i (r_i -
                                           \hat q(x_i, a_i))`
:func:`self_normalized_doubly_robust`      DM + :math:`\sum_i w_i (r_i - \hat q(x_i,
                                           a_i)) / \sum_i w_i`
:func:`switch_doubly_robust`               DR on the rounds with :math:`w_i \le
                                           \tau`, DM on the others
=========================================  =========================================

where :math:`\hat q(x, \pi_e) = \sum_a \pi_e(a|x) \hat q(x, a)`. Weight clipping
(:math:`w_i \to \min(w_i, \lambda)`) is the ``max_weight`` parameter. Every
estimator returns an :class:`OPEResult`: the estimate, its standard error and a
confidence interval (normal approximation, or a bootstrap over rounds). The
formulas are those of Open Bandit Pipeline 0.5.7 (``obp.ope.estimators``); the
test suite checks them to 1e-10.

Inputs are plain arrays or fitted policies: wherever an estimator takes the
target's action probabilities ``action_dist`` (or the behaviour propensities
``pscore``), any fitted object with ``predict_proba`` (an skpolicy
``SoftmaxPolicy``, a scikit-learn classifier over states) may be given instead,
together with the states ``X``; logged actions are then read as labels of its
``classes_``.

:func:`evaluate_policy` runs several estimators at once and returns a
DataFrame; :func:`cross_fit_reward_model` fits :math:`\hat q` out of fold with
any scikit-learn regressor or classifier; :func:`importance_weight_diagnostics`
reports the effective sample size, the largest and the quantiles of the weights
and the target's mass on actions the logs never show.

References
----------
- Dudík, M., Langford, J. and Li, L. (2011). Doubly robust policy evaluation
  and learning. ICML. (IPS, DM, DR.)
- Swaminathan, A. and Joachims, T. (2015). The self-normalized estimator for
  counterfactual learning. NeurIPS. (SNIPS.)
- Wang, Y.-X., Agarwal, A. and Dudík, M. (2017). Optimal and adaptive
  off-policy evaluation in contextual bandits. ICML. (Switch.)
- Chernozhukov, V. et al. (2018). Double/debiased machine learning for
  treatment and structural parameters. The Econometrics Journal. (Cross-fitting.)
- Saito, Y., Aihara, S., Matsutani, M. and Narita, Y. (2021). Open Bandit
  Dataset and Pipeline. NeurIPS Datasets and Benchmarks. (obp.)
"""

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats
from sklearn.base import clone, is_classifier
from sklearn.model_selection import KFold, check_cv
from sklearn.utils import _safe_indexing, check_random_state

__all__ = [
    "OPEResult",
    "WeightDiagnostics",
    "cross_fit_reward_model",
    "direct_method",
    "doubly_robust",
    "evaluate_policy",
    "importance_weight_diagnostics",
    "inverse_propensity_score",
    "self_normalized_doubly_robust",
    "self_normalized_ips",
    "switch_doubly_robust",
]

# Rows of an action distribution must sum to 1 within this tolerance: obp's check
# (np.allclose(sum, 1): |sum - 1| <= 1e-8 + 1e-5) and float32 predict_proba pass it.
_ROW_SUM_TOL = 1e-5
# Propensities computed in floating point may exceed 1 by a rounding error.
_PSCORE_TOL = 1e-8
# Largest number of bootstrap indices drawn at once (memory ~ 8 bytes each).
_BOOTSTRAP_CHUNK = 2**22

_ESTIMATORS = ("ips", "snips", "dm", "dr", "sndr", "switch-dr")
_NEEDS_Q = {"dm", "dr", "sndr", "switch-dr"}


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False, repr=False)
class OPEResult:
    """An off-policy estimate of a policy value with its uncertainty.

    Attributes
    ----------
    method : str
        Estimator name, with its tuning parameter if any (e.g. ``"ips"``,
        ``"dr(max_weight=10)"``, ``"switch-dr(threshold=5)"``).
    estimate : float
        The estimated policy value.
    std_error : float
        Its standard error: the sample standard deviation (``ddof=1``) of
        ``contributions`` over :math:`\\sqrt n` with ``ci="normal"``; the standard
        deviation of the bootstrap replicates with ``ci="bootstrap"``.
    ci_low, ci_high : float
        Confidence interval at level ``confidence_level``.
    n : int
        Number of logged rounds.
    confidence_level : float
        ``1 - alpha``.
    ci_method : {"normal", "bootstrap"}
        How the interval was obtained.
    contributions : ndarray of shape (n,)
        Per-round values whose mean is ``estimate``: the round rewards of a linear
        estimator (IPS, DM, DR, switch-DR), the linearised influence-function
        values of a self-normalised one (see :func:`self_normalized_ips`).
        Hidden from the repr.
    """

    method: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n: int
    confidence_level: float = 0.95
    ci_method: str = "normal"
    contributions: np.ndarray | None = field(default=None, repr=False)

    @property
    def confidence_interval(self):
        """``(ci_low, ci_high)``."""
        return (self.ci_low, self.ci_high)

    def to_dict(self):
        """The scalar fields as a dict (``contributions`` left out)."""
        return {
            "estimate": self.estimate,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "confidence_level": self.confidence_level,
            "ci_method": self.ci_method,
        }

    def __float__(self):
        return float(self.estimate)

    def __repr__(self):
        return (
            f"OPEResult(method={self.method!r}, estimate={self.estimate:.6g}, "
            f"std_error={self.std_error:.4g}, "
            f"ci=[{self.ci_low:.6g}, {self.ci_high:.6g}] "
            f"({self.confidence_level:.0%} {self.ci_method}), n={self.n})"
        )


@dataclass(frozen=True, eq=False, repr=False)
class WeightDiagnostics:
    """Importance-weight and support diagnostics of logged data for a target policy.

    Attributes
    ----------
    n : int
        Number of logged rounds.
    weights : ndarray of shape (n,)
        Importance weights :math:`w_i = \\pi_e(a_i|x_i) / \\pi_b(a_i|x_i)` (the data
        of a weight-distribution plot).
    ess : float
        Kish's effective sample size :math:`(\\sum_i w_i)^2 / \\sum_i w_i^2` (0 when
        every weight is 0).
    ess_ratio : float
        ``ess / n``.
    mean_weight : float
        Mean weight. Its expectation is 1 when the propensities are right and the
        behaviour policy covers the target's support; far from 1 signals wrong
        propensities or support deficiency.
    max_weight : float
        Largest weight.
    quantiles : pandas.Series
        Weight quantiles, indexed by the requested probabilities.
    never_logged_actions : ndarray
        Actions (labels) to which the target policy gives positive probability in
        some logged state but which no logged round played.
    never_logged_mass : float
        Mean over rounds of the target's probability on ``never_logged_actions``:
        the share of the target's behaviour the logs cannot speak for.
    unsupported_mass : float or None
        With the behaviour policy's full distribution: mean over rounds of
        :math:`\\sum_a \\pi_e(a|x_i) 1[\\pi_b(a|x_i) = 0]`, the target mass outside
        the behaviour support (IPS and DR are then biased). None without it.
    per_action : pandas.DataFrame
        One row per action: ``logged_count``, ``logged_share`` (share of rounds
        that played it) and ``target_share`` (mean target probability).
    """

    n: int
    weights: np.ndarray = field(repr=False)
    ess: float
    ess_ratio: float
    mean_weight: float
    max_weight: float
    quantiles: pd.Series = field(repr=False)
    never_logged_actions: np.ndarray
    never_logged_mass: float
    unsupported_mass: float | None
    per_action: pd.DataFrame = field(repr=False)

    def __repr__(self):
        q = ", ".join(f"{k:g}: {v:.4g}" for k, v in self.quantiles.items())
        unsupported = (
            "None" if self.unsupported_mass is None else f"{self.unsupported_mass:.4g}"
        )
        return (
            f"WeightDiagnostics(n={self.n}, ess={self.ess:.6g} "
            f"({self.ess_ratio:.2%} of n), mean_weight={self.mean_weight:.4g}, "
            f"max_weight={self.max_weight:.4g}, quantiles={{{q}}}, "
            f"never_logged_actions={self.never_logged_actions.tolist()}, "
            f"never_logged_mass={self.never_logged_mass:.4g}, "
            f"unsupported_mass={unsupported})"
        )


# ------------------------------------------------------------------ input checking
@dataclass
class _Logged:
    """Validated logged data: actions as column indices of ``pi`` (and ``q``)."""

    n: int
    pi: np.ndarray  # (n, n_actions) target probabilities
    reward: np.ndarray | None = None
    action: np.ndarray | None = None
    pscore: np.ndarray | None = None
    q: np.ndarray | None = None
    classes: np.ndarray | None = None
    behavior: np.ndarray | None = None  # (n, n_actions) when known


def _is_policy(obj):
    return hasattr(obj, "predict_proba") and callable(obj.predict_proba)


def _policy_proba(policy, X, name):
    if X is None:
        raise ValueError(
            f"`{name}` is a fitted policy ({type(policy).__name__}): pass the logged "
            "states as X so that its probabilities can be computed."
        )
    proba = np.asarray(policy.predict_proba(X), dtype=float)
    return proba, getattr(policy, "classes_", None)


def _check_1d(values, name, n=None, dtype=float):
    arr = np.asarray(values, dtype=dtype) if dtype is not None else np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D, got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"`{name}` has {arr.shape[0]} rounds but `action_dist` has {n}: every "
            "input must hold one entry per logged round."
        )
    return arr


def _check_matrix(values, name, n=None, n_actions=None):
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 3 and arr.shape[2] == 1:  # obp's (n, n_actions, len_list=1)
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array of shape (n_rounds, n_actions), got shape "
            f"{arr.shape}."
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"`{name}` has {arr.shape[0]} rounds but `action_dist` has {n}: every "
            "input must hold one entry per logged round."
        )
    if n_actions is not None and arr.shape[1] != n_actions:
        raise ValueError(
            f"`{name}` has {arr.shape[1]} actions (columns) but `action_dist` has "
            f"{n_actions}."
        )
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        raise ValueError(
            f"`{name}` holds NaN or infinite values (rows {bad[:5].tolist()}"
            f"{' ...' if bad.size > 5 else ''})."
        )
    return arr


def _check_distribution(arr, name):
    if (arr < 0).any():
        bad = np.flatnonzero((arr < 0).any(axis=1))
        raise ValueError(
            f"`{name}` holds negative probabilities (rows {bad[:5].tolist()})."
        )
    sums = arr.sum(axis=1)
    off = np.abs(sums - 1.0) > _ROW_SUM_TOL
    if off.any():
        bad = np.flatnonzero(off)
        raise ValueError(
            f"Rows of `{name}` must sum to 1 (probabilities over actions); rows "
            f"{bad[:5].tolist()} sum to {sums[bad[:5]].round(6).tolist()}."
        )
    return arr


def _action_indices(action, classes, n_actions):
    """Logged actions as column indices: labels of ``classes`` or integers."""
    if classes is not None:
        classes = np.asarray(classes)
        if classes.shape[0] != n_actions:
            raise ValueError(
                f"The policy has {classes.shape[0]} classes_ but its probabilities "
                f"have {n_actions} columns."
            )
        sorter = np.argsort(classes, kind="stable")
        try:
            pos = np.searchsorted(classes, action, sorter=sorter)
        except TypeError as exc:
            raise ValueError(
                f"Logged actions of dtype {action.dtype} cannot be compared with the "
                f"policy's classes_ {classes.tolist()}."
            ) from exc
        idx = sorter[np.minimum(pos, n_actions - 1)]
        unknown = classes[idx] != action
        if np.any(unknown):
            raise ValueError(
                f"Logged actions {np.unique(action[unknown])[:5].tolist()} are not "
                f"among the policy's classes_ {classes.tolist()}."
            )
        return idx
    if action.dtype.kind not in "iub":
        try:
            as_int = action.astype(np.int64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "`action` must hold integer action indices 0..n_actions-1 when the "
                "policies are given as arrays (labels need a fitted policy with "
                f"classes_); got dtype {action.dtype}."
            ) from exc
        if action.dtype.kind != "f" or not np.array_equal(as_int, action):
            raise ValueError(
                "`action` must hold integer action indices 0..n_actions-1 when the "
                "policies are given as arrays (labels need a fitted policy with "
                f"classes_); got dtype {action.dtype}."
            )
        action = as_int
    out = (action < 0) | (action >= n_actions)
    if np.any(out):
        raise ValueError(
            f"`action` must lie in 0..{n_actions - 1} (one index per column of "
            f"`action_dist`); got {np.unique(action[out])[:5].tolist()}."
        )
    return action.astype(np.intp)


def _same_classes(a, b):
    return a is None or b is None or np.array_equal(np.asarray(a), np.asarray(b))


def _resolve(
    action_dist,
    *,
    X=None,
    reward=None,
    action=None,
    pscore=None,
    q_hat=None,
    behavior_dist=None,
    need_logs=True,
):
    """Validate the inputs once and return them as a :class:`_Logged`."""
    if _is_policy(action_dist):
        pi, classes = _policy_proba(action_dist, X, "action_dist")
    else:
        pi, classes = action_dist, None
    pi = _check_distribution(_check_matrix(pi, "action_dist"), "action_dist")
    n, n_actions = pi.shape
    if n == 0:
        raise ValueError("No logged rounds: `action_dist` has 0 rows.")
    logged = _Logged(n=n, pi=pi)

    pscore_matrix = None
    if _is_policy(pscore):
        pscore_matrix, b_classes = _policy_proba(pscore, X, "pscore")
        if not _same_classes(classes, b_classes):
            raise ValueError(
                "The target and behaviour policies have different classes_ "
                f"({np.asarray(classes).tolist()} vs {np.asarray(b_classes).tolist()})."
            )
        classes = classes if classes is not None else b_classes
        pscore_matrix = _check_distribution(
            _check_matrix(pscore_matrix, "pscore", n, n_actions), "pscore"
        )
    behavior = pscore_matrix
    if behavior_dist is not None:
        if _is_policy(behavior_dist):
            behavior, b_classes = _policy_proba(behavior_dist, X, "behavior_dist")
            if not _same_classes(classes, b_classes):
                raise ValueError(
                    "The target and behaviour policies have different classes_."
                )
            classes = classes if classes is not None else b_classes
        else:
            behavior = behavior_dist
        behavior = _check_distribution(
            _check_matrix(behavior, "behavior_dist", n, n_actions), "behavior_dist"
        )
    logged.behavior = behavior
    logged.classes = None if classes is None else np.asarray(classes)

    if need_logs:
        if reward is not None:
            logged.reward = _check_1d(reward, "reward", n)
            if not np.isfinite(logged.reward).all():
                raise ValueError("`reward` holds NaN or infinite values.")
        if action is None:
            raise ValueError("`action` (the logged actions) is required.")
        act = _check_1d(action, "action", n, dtype=None)
        logged.action = _action_indices(act, logged.classes, n_actions)
        if pscore is None:
            raise ValueError(
                "`pscore` (behaviour propensities of the logged actions, or a fitted "
                "behaviour policy) is required."
            )
        if pscore_matrix is not None:
            ps = pscore_matrix[np.arange(n), logged.action]
        else:
            ps = _check_1d(pscore, "pscore", n)
        bad = ~((ps > 0) & (ps <= 1 + _PSCORE_TOL))
        if np.any(bad):
            idx = np.flatnonzero(bad)
            raise ValueError(
                "Propensities `pscore` must lie in (0, 1] (the behaviour policy's "
                "probability of the logged action, never 0 for a logged action); "
                f"rounds {idx[:5].tolist()} have {ps[idx[:5]].tolist()}."
            )
        logged.pscore = ps
    if q_hat is not None:
        logged.q = _check_matrix(q_hat, "q_hat", n, n_actions)
    return logged


def _check_ci_args(alpha, ci, n_bootstrap):
    if not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}.")
    if ci not in ("normal", "bootstrap"):
        raise ValueError(f"`ci` must be 'normal' or 'bootstrap', got {ci!r}.")
    if (
        not isinstance(n_bootstrap, numbers.Integral)
        or isinstance(n_bootstrap, bool)
        or n_bootstrap < 2
    ):
        raise ValueError(f"`n_bootstrap` must be an integer >= 2, got {n_bootstrap!r}.")


def _check_positive(value, name, allow_zero=False):
    if value is None:
        return None
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or np.isnan(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be a number {bound}, got {value!r}.")
    return float(value)


# ----------------------------------------------------------------------- the core
def _weights(logged, max_weight=None):
    w = logged.pi[np.arange(logged.n), logged.action] / logged.pscore
    if max_weight is not None:
        w = np.minimum(w, max_weight)
    return w


def _direct(logged):
    """q̂(x_i, π_e) = Σ_a π_e(a|x_i) q̂(x_i, a) / Σ_a π_e(a|x_i) (obp's np.average)."""
    return np.einsum("ij,ij->i", logged.pi, logged.q) / logged.pi.sum(axis=1)


def _q_logged(logged):
    return logged.q[np.arange(logged.n), logged.action]


def _finish(
    method, direct, weighted, normalizer, *, alpha, ci, n_bootstrap, random_state
):
    r"""Estimate :math:`\bar d + \bar g / \bar h`, its standard error and interval.

    ``direct`` (d) or ``normalizer`` (h) may be None, meaning 0 and 1. The linear
    estimators have h = 1 and per-round contributions d + g. A self-normalised
    one is linearised (delta method): with :math:`R = \bar g / \bar h`, round i
    contributes :math:`\hat V + (d_i - \bar d) + (g_i - R h_i) / \bar h`.
    """
    parts = [p for p in (direct, weighted) if p is not None]
    n = parts[0].shape[0]
    if normalizer is None:
        contributions = parts[0] + parts[1] if len(parts) == 2 else parts[0]
        estimate = float(contributions.mean())
    else:
        h_bar = normalizer.mean()
        if h_bar <= 0:
            raise ValueError(
                "Every importance weight is 0 (the target policy never plays a logged "
                "action): the self-normalised estimate is undefined."
            )
        ratio = weighted.mean() / h_bar
        d_bar = 0.0 if direct is None else direct.mean()
        estimate = float(d_bar + ratio)
        contributions = estimate + (weighted - ratio * normalizer) / h_bar
        if direct is not None:
            contributions = contributions + (direct - d_bar)
    level = 1.0 - alpha
    if ci == "normal":
        se = float(contributions.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        z = stats.norm.ppf(1.0 - alpha / 2.0)
        low, high = estimate - z * se, estimate + z * se
    else:
        reps = _bootstrap(
            direct, weighted, normalizer, contributions, n_bootstrap, random_state
        )
        with np.errstate(invalid="ignore"):
            se = float(np.nanstd(reps, ddof=1))
        low, high = np.nanpercentile(reps, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return OPEResult(
        method=method,
        estimate=estimate,
        std_error=se,
        ci_low=float(low),
        ci_high=float(high),
        n=n,
        confidence_level=level,
        ci_method=ci,
        contributions=contributions,
    )


def _bootstrap(direct, weighted, normalizer, contributions, n_bootstrap, random_state):
    """Estimates on ``n_bootstrap`` resamples of the rounds (with replacement).

    Indices are drawn with ``RandomState.randint(0, n, size=(B, n))`` in chunks: the
    same stream as obp's ``random_.choice(samples, size=n)`` per replicate
    (``obp.utils.estimate_confidence_interval_by_bootstrap``), so linear estimators
    reproduce obp's bootstrap intervals for the same integer seed.
    """
    rng = check_random_state(random_state)
    n = contributions.shape[0]
    reps = np.empty(n_bootstrap)
    chunk = max(1, min(n_bootstrap, _BOOTSTRAP_CHUNK // n))
    for start in range(0, n_bootstrap, chunk):
        m = min(chunk, n_bootstrap - start)
        idx = rng.randint(0, n, size=(m, n))
        if normalizer is None:
            reps[start : start + m] = contributions[idx].mean(axis=1)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                value = weighted[idx].mean(axis=1) / normalizer[idx].mean(axis=1)
            if direct is not None:
                value += direct[idx].mean(axis=1)
            reps[start : start + m] = value
    return reps


def _label(name, **params):
    params = {k: v for k, v in params.items() if v is not None}
    if not params:
        return name
    inner = ", ".join(f"{k}={v:g}" for k, v in params.items())
    return f"{name}({inner})"


def _estimate(kind, logged, *, max_weight, threshold, alpha, ci, n_bootstrap, rs):
    opts = dict(alpha=alpha, ci=ci, n_bootstrap=n_bootstrap, random_state=rs)
    if kind == "dm":
        return _finish("dm", _direct(logged), None, None, **opts)
    if logged.reward is None:
        raise ValueError(f"`reward` is required by {kind!r}.")
    if kind == "switch-dr":
        w = _weights(logged)
        # obp: switch_indicator = iw <= lambda_; DR where it holds, DM elsewhere.
        weighted = np.where(w <= threshold, w * (logged.reward - _q_logged(logged)), 0)
        name = _label("switch-dr", threshold=threshold)
        return _finish(name, _direct(logged), weighted, None, **opts)
    w = _weights(logged, max_weight)
    name = _label(kind, max_weight=max_weight)
    if kind == "ips":
        return _finish(name, None, w * logged.reward, None, **opts)
    if kind == "snips":
        return _finish(name, None, w * logged.reward, w, **opts)
    residual = w * (logged.reward - _q_logged(logged))
    if kind == "dr":
        return _finish(name, _direct(logged), residual, None, **opts)
    if kind == "sndr":
        return _finish(name, _direct(logged), residual, w, **opts)
    raise ValueError(f"Unknown estimator {kind!r}; choose from {list(_ESTIMATORS)}.")


def _run(
    kind,
    reward,
    action,
    pscore,
    action_dist,
    q_hat=None,
    *,
    X,
    max_weight=None,
    threshold=None,
    alpha,
    ci,
    n_bootstrap,
    random_state,
):
    _check_ci_args(alpha, ci, n_bootstrap)
    max_weight = _check_positive(max_weight, "max_weight")
    threshold = _check_positive(threshold, "threshold", allow_zero=True)
    if kind in _NEEDS_Q and q_hat is None:
        raise ValueError(f"{kind!r} needs reward predictions `q_hat`.")
    logged = _resolve(
        action_dist,
        X=X,
        reward=reward,
        action=action,
        pscore=pscore,
        q_hat=q_hat,
        need_logs=kind != "dm",
    )
    return _estimate(
        kind,
        logged,
        max_weight=max_weight,
        threshold=threshold,
        alpha=alpha,
        ci=ci,
        n_bootstrap=n_bootstrap,
        rs=random_state,
    )


# ------------------------------------------------------------------- the estimators
_X_PARAM = """\
    X : array-like of shape (n_rounds, n_features), default=None
        Logged states; required when ``action_dist`` or ``pscore`` is a fitted
        policy."""

_COMMON_PARAMS = """\
    alpha : float, default=0.05
        The confidence interval has level ``1 - alpha``.
    ci : {"normal", "bootstrap"}, default="normal"
        ``"normal"``: estimate ± z·SE with the analytic standard error.
        ``"bootstrap"``: percentile interval of the estimator recomputed on
        ``n_bootstrap`` resamples of the rounds; ``std_error`` is then the standard
        deviation of the replicates.
    n_bootstrap : int, default=2000
        Number of bootstrap resamples (``ci="bootstrap"`` only).
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap (``ci="bootstrap"`` only).

    Returns
    -------
    result : OPEResult
        Estimate, standard error, confidence interval and per-round contributions."""

_LOG_PARAMS = """\
    reward : array-like of shape (n_rounds,)
        Logged rewards :math:`r_i`.
    action : array-like of shape (n_rounds,)
        Logged actions :math:`a_i`: column indices of ``action_dist``, or labels of
        the ``classes_`` of a fitted policy given as ``action_dist`` or ``pscore``.
    pscore : array-like of shape (n_rounds,) or fitted policy
        Behaviour propensities of the logged actions :math:`\\pi_b(a_i|x_i)`, in
        (0, 1]; or a fitted behaviour policy with ``predict_proba`` (then ``X``).
    action_dist : array-like of shape (n_rounds, n_actions) or fitted policy
        Target policy's action probabilities :math:`\\pi_e(a|x_i)` in every logged
        state (rows sum to 1); or a fitted target policy with ``predict_proba``
        (then ``X``)."""

_Q_PARAM = """\
    q_hat : array-like of shape (n_rounds, n_actions)
        Reward predictions :math:`\\hat q(x_i, a)` for every action, ideally out
        of fold (:func:`cross_fit_reward_model`)."""

_MAX_WEIGHT_PARAM = """\
    max_weight : float or None, default=None
        Clip the importance weights at this value, :math:`w_i \\to \\min(w_i,
        \\lambda)` (obp's ``lambda_``); None does not clip. Clipping trades
        variance for bias (downward when rewards are non-negative)."""


def _doc(func):
    func.__doc__ = (
        func.__doc__.replace("    %(log)s", _LOG_PARAMS)
        .replace("    %(q)s", _Q_PARAM)
        .replace("    %(X)s", _X_PARAM)
        .replace("    %(max_weight)s", _MAX_WEIGHT_PARAM)
        .replace("    %(common)s", _COMMON_PARAMS)
    )
    return func


@_doc
def inverse_propensity_score(
    reward,
    action,
    pscore,
    action_dist,
    *,
    X=None,
    max_weight=None,
    alpha=0.05,
    ci="normal",
    n_bootstrap=2000,
    random_state=None,
):
    r"""Inverse propensity scoring (IPS) estimate of a target policy's value.

    .. math::

        \hat V_{\mathrm{IPS}} = \frac1n \sum_{i=1}^n w_i r_i, \qquad
        w_i = \min\!\Big(\frac{\pi_e(a_i|x_i)}{\pi_b(a_i|x_i)}, \lambda\Big),

    unbiased when :math:`\lambda = \infty` and :math:`\pi_b > 0` wherever
    :math:`\pi_e > 0`. The standard error is the sample standard deviation of
    :math:`w_i r_i` over :math:`\sqrt n`. Same estimate as
    ``obp.ope.InverseProbabilityWeighting(lambda_=max_weight)``.

    Parameters
    ----------
    %(log)s
    %(X)s
    %(max_weight)s
    %(common)s

    References
    ----------
    Horvitz, D. G. and Thompson, D. J. (1952). A generalization of sampling without
    replacement from a finite universe. JASA. Dudík, M., Langford, J. and Li, L.
    (2011). Doubly robust policy evaluation and learning. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.ope import inverse_propensity_score
    >>> reward = np.array([1.0, 0.0, 1.0, 1.0])
    >>> action = np.array([0, 1, 1, 0])
    >>> pscore = np.array([0.5, 0.5, 0.5, 0.5])
    >>> target = np.array([[0.9, 0.1]] * 4)
    >>> res = inverse_propensity_score(reward, action, pscore, target)
    >>> res.estimate, round(res.std_error, 4)
    (0.95, 0.4924)
    >>> res.method, res.n, res.ci_method
    ('ips', 4, 'normal')
    """
    return _run(
        "ips",
        reward,
        action,
        pscore,
        action_dist,
        X=X,
        max_weight=max_weight,
        alpha=alpha,
        ci=ci,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
    )


@_doc
def self_normalized_ips(
    reward,
    action,
    pscore,
    action_dist,
    *,
    X=None,
    max_weight=None,
    alpha=0.05,
    ci="normal",
    n_bootstrap=2000,
    random_state=None,
):
    r"""Self-normalised IPS (SNIPS) estimate of a target policy's value.

    .. math::

        \hat V_{\mathrm{SNIPS}} = \frac{\sum_i w_i r_i}{\sum_i w_i},

    a ratio estimator: slightly biased, consistent, invariant to adding a constant
    to the rewards and usually of much lower variance than IPS. Same estimate as
    ``obp.ope.SelfNormalizedInverseProbabilityWeighting`` (which ignores
    clipping; here ``max_weight`` clips the weights before normalising).

    The standard error is that of the delta method: the ratio is linearised
    around :math:`\hat V` and round i contributes the influence-function value
    :math:`\hat V + w_i (r_i - \hat V) / \bar w`, :math:`\bar w = \frac1n\sum_i
    w_i`; SE = sample standard deviation of these / :math:`\sqrt n`. (obp's
    bootstrap instead resamples :math:`w_i r_i / \bar w` with the full-sample
    :math:`\bar w`; the bootstrap here recomputes the ratio on every resample.)

    Parameters
    ----------
    %(log)s
    %(X)s
    %(max_weight)s
    %(common)s

    References
    ----------
    Swaminathan, A. and Joachims, T. (2015). The self-normalized estimator for
    counterfactual learning. NeurIPS.
    """
    return _run(
        "snips",
        reward,
        action,
        pscore,
        action_dist,
        X=X,
        max_weight=max_weight,
        alpha=alpha,
        ci=ci,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
    )


@_doc
def direct_method(
    action_dist,
    q_hat,
    *,
    X=None,
    alpha=0.05,
    ci="normal",
    n_bootstrap=2000,
    random_state=None,
):
    r"""Direct method (DM) estimate: the reward model averaged over the target.

    .. math::

        \hat V_{\mathrm{DM}} = \frac1n \sum_i \hat q(x_i, \pi_e), \qquad
        \hat q(x, \pi_e) = \sum_a \pi_e(a|x)\, \hat q(x, a).

    No propensities are needed; the estimate is as good as :math:`\hat q`. The
    standard error is that of the mean over rounds of :math:`\hat q(x_i,
    \pi_e)`: it treats :math:`\hat q` as fixed and so ignores the reward model's
    own estimation error (and its bias). Same estimate as
    ``obp.ope.DirectMethod``.

    Parameters
    ----------
    action_dist : array-like of shape (n_rounds, n_actions) or fitted policy
        Target policy's action probabilities in every logged state; or a fitted
        policy with ``predict_proba`` (then ``X``).
    %(q)s
    %(X)s
    %(common)s

    References
    ----------
    Dudík, M., Langford, J. and Li, L. (2011). Doubly robust policy evaluation
    and learning. ICML.
    """
    _check_ci_args(alpha, ci, n_bootstrap)
    if q_hat is None:
        raise ValueError("'dm' needs reward predictions `q_hat`.")
    logged = _resolve(action_dist, X=X, q_hat=q_hat, need_logs=False)
    return _estimate(
        "dm",
        logged,
        max_weight=None,
        threshold=None,
        alpha=alpha,
        ci=ci,
        n_bootstrap=n_bootstrap,
        rs=random_state,
    )


@_doc
def doubly_robust(
    reward,
    action,
    pscore,
    action_dist,
    q_hat,
    *,
    X=None,
    max_weight=None,
    alpha=0.05,
    ci="normal",
    n_bootstrap=2000,
    random_state=None,
):
    r"""Doubly robust (DR) estimate of a target policy's value.

    .. math::

        \hat V_{\mathrm{DR}} = \frac1n \sum_i \Big[\hat q(x_i, \pi_e)
            + w_i \big(r_i - \hat q(x_i, a_i)\big)\Big],

    the direct method corrected by importance-weighted residuals: unbiased when
    either the propensities or :math:`\hat q` are right (with :math:`\hat q` fitted
    out of fold). The standard error is the sample standard deviation of the
    bracket over :math:`\sqrt n`. Same estimate as
    ``obp.ope.DoublyRobust(lambda_=max_weight)``.

    Parameters
    ----------
    %(log)s
    %(q)s
    %(X)s
    %(max_weight)s
    %(common)s

    References
    ----------
    Dudík, M., Langford, J. and Li, L. (2011). Doubly robust policy evaluation
    and learning. ICML.
    """
    return _run(
        "dr",
        reward,
        action,
        pscore,
        action_dist,
        q_hat,
        X=X,
        max_weight=max_weight,
        alpha=alpha,
        ci=ci,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
    )


@_doc
def self_normalized_doubly_robust(
    reward,
    action,
    pscore,
    action_dist,
    q_hat,
    *,
    X=None,
    max_weight=None,
    alpha=0.05,
    ci="normal",
    n_bootstrap=2000,
    random_state=None,
):
    r"""Self-normalised doubly robust (SNDR) estimate of a target policy's value.

    .. math::

        \hat V_{\mathrm{SNDR}} = \frac1n \sum_i \hat q(x_i, \pi_e)
            + \frac{\sum_i w_i (r_i - \hat q(x_i, a_i))}{\sum_i w_i}.

    Same estimate as ``obp.ope.SelfNormalizedDoublyRobust`` (which ignores
    clipping). Standard error by the delta method, as for
    :func:`self_normalized_ips`: round i contributes :math:`\hat V + (\hat q(x_i,
    \pi_e) - \overline{\hat q}) + w_i (r_i - \hat q(x_i, a_i) - R) / \bar w`, with
    :math:`R` the second term above.

    Parameters
    ----------
    %(log)s
    %(q)s
    %(X)s
    %(max_weight)s
    %(common)s

    References
    ----------
    Swaminathan, A. and Joachims, T. (2015). The self-normalized estimator for
    counterfactual learning. NeurIPS. Dudík, M., Langford, J. and Li, L. (2011).
    Doubly robust policy evaluation and learning. ICML.
    """
    return _run(
        "sndr",
        reward,
        action,
        pscore,
        action_dist,
        q_hat,
        X=X,
        max_weight=max_weight,
        alpha=alpha,
        ci=ci,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
    )


@_doc
def switch_doubly_robust(
    reward,
    action,
    pscore,
    action_dist,
    q_hat,
    threshold,
    *,
    X=None,
    alpha=0.05,
    ci="normal",
    n_bootstrap=2000,
    random_state=None,
):
    r"""Switch doubly robust estimate: DR where the weight is small, DM elsewhere.

    .. math::

        \hat V_{\mathrm{switch}} = \frac1n \sum_i \Big[\hat q(x_i, \pi_e)
            + w_i \big(r_i - \hat q(x_i, a_i)\big)\, 1[w_i \le \tau]\Big].

    ``threshold`` :math:`\tau = \infty` gives DR, :math:`\tau = 0` gives DM (for
    rounds with positive weight). This is obp's form
    (``obp.ope.SwitchDoublyRobust(lambda_=threshold)``), which needs only the
    logged propensities; Wang et al.'s original switch compares the weights of
    all actions and needs the full behaviour distribution. Standard error: sample
    standard deviation of the bracket over :math:`\sqrt n`.

    Parameters
    ----------
    %(log)s
    %(q)s
    threshold : float
        Switching threshold :math:`\tau \ge 0` on the importance weight.
    %(X)s
    %(common)s

    References
    ----------
    Wang, Y.-X., Agarwal, A. and Dudík, M. (2017). Optimal and adaptive
    off-policy evaluation in contextual bandits. ICML.
    """
    if threshold is None:
        raise ValueError("`threshold` must be a number >= 0, got None.")
    return _run(
        "switch-dr",
        reward,
        action,
        pscore,
        action_dist,
        q_hat,
        X=X,
        threshold=threshold,
        alpha=alpha,
        ci=ci,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
    )


def evaluate_policy(
    reward,
    action,
    pscore,
    action_dist,
    *,
    q_hat=None,
    X=None,
    reward_model=None,
    cv=5,
    estimators=None,
    max_weight=None,
    threshold=None,
    alpha=0.05,
    ci="normal",
    n_bootstrap=2000,
    random_state=None,
):
    """Run several off-policy estimators on the same logged data.

    The inputs are validated (and fitted policies evaluated) once.

    Parameters
    ----------
    reward, action, pscore, action_dist
        As in :func:`inverse_propensity_score`.
    q_hat : array-like of shape (n_rounds, n_actions), default=None
        Reward predictions for DM / DR / SNDR / switch-DR.
    X : array-like of shape (n_rounds, n_features), default=None
        Logged states: for fitted policies and for ``reward_model``.
    reward_model : scikit-learn regressor or classifier, default=None
        When given (and ``q_hat`` is None), ``q_hat`` is obtained by
        :func:`cross_fit_reward_model` on ``X`` with ``cv`` folds.
    cv : int or cross-validation splitter, default=5
        Folds of the cross-fitting (``reward_model`` only).
    estimators : sequence of str, default=None
        Among ``"ips", "snips", "dm", "dr", "sndr", "switch-dr"``. None runs IPS
        and SNIPS, plus DM, DR and SNDR when reward predictions are available,
        plus switch-DR when ``threshold`` is given.
    max_weight : float, default=None
        Weight clipping for IPS, SNIPS, DR and SNDR.
    threshold : float, default=None
        Switching threshold of switch-DR (required by it).
    alpha, ci, n_bootstrap, random_state
        As in :func:`inverse_propensity_score`; ``random_state`` also seeds the
        folds of ``reward_model``.

    Returns
    -------
    table : pandas.DataFrame
        One row per estimator (index ``estimator``, with its tuning parameter)
        and columns ``estimate``, ``std_error``, ``ci_low``, ``ci_high``, ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.ope import evaluate_policy
    >>> rng = np.random.default_rng(0)
    >>> n = 1000
    >>> action = rng.integers(0, 2, n)
    >>> reward = (rng.random(n) < np.where(action == 1, 0.7, 0.3)).astype(float)
    >>> pscore = np.full(n, 0.5)
    >>> target = np.tile([0.2, 0.8], (n, 1))
    >>> q_hat = np.tile([0.3, 0.7], (n, 1))
    >>> table = evaluate_policy(reward, action, pscore, target, q_hat=q_hat)
    >>> list(table.index)
    ['ips', 'snips', 'dm', 'dr', 'sndr']
    >>> list(table.columns)
    ['estimate', 'std_error', 'ci_low', 'ci_high', 'n']
    """
    _check_ci_args(alpha, ci, n_bootstrap)
    max_weight = _check_positive(max_weight, "max_weight")
    threshold = _check_positive(threshold, "threshold", allow_zero=True)
    logged = _resolve(
        action_dist,
        X=X,
        reward=reward,
        action=action,
        pscore=pscore,
        q_hat=q_hat,
    )
    if logged.reward is None:
        raise ValueError("`reward` (the logged rewards) is required.")
    if logged.q is None and reward_model is not None:
        if X is None:
            raise ValueError("`reward_model` needs the logged states X.")
        logged.q = cross_fit_reward_model(
            reward_model,
            X,
            logged.action,
            logged.reward,
            n_actions=logged.pi.shape[1],
            cv=cv,
            random_state=random_state,
        )
    if estimators is None:
        estimators = ["ips", "snips"]
        if logged.q is not None:
            estimators += ["dm", "dr", "sndr"]
            if threshold is not None:
                estimators.append("switch-dr")
    elif isinstance(estimators, str):
        estimators = [estimators]
    for kind in estimators:
        if kind not in _ESTIMATORS:
            raise ValueError(
                f"Unknown estimator {kind!r}; choose from {list(_ESTIMATORS)}."
            )
        if kind in _NEEDS_Q and logged.q is None:
            raise ValueError(
                f"{kind!r} needs reward predictions: pass `q_hat` or `reward_model`."
            )
        if kind == "switch-dr" and threshold is None:
            raise ValueError("'switch-dr' needs a `threshold`.")
    rows = {}
    for kind in estimators:
        res = _estimate(
            kind,
            logged,
            max_weight=max_weight,
            threshold=threshold,
            alpha=alpha,
            ci=ci,
            n_bootstrap=n_bootstrap,
            rs=random_state,
        )
        rows[res.method] = [res.estimate, res.std_error, res.ci_low, res.ci_high, res.n]
    table = pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["estimate", "std_error", "ci_low", "ci_high", "n"],
    )
    table.index.name = "estimator"
    return table


# ------------------------------------------------------------------- diagnostics
def importance_weight_diagnostics(
    action,
    pscore,
    action_dist,
    *,
    X=None,
    behavior_dist=None,
    quantiles=(0.5, 0.9, 0.95, 0.99),
):
    r"""Importance weights and support of logged data for a target policy.

    Parameters
    ----------
    action, pscore, action_dist, X
        As in :func:`inverse_propensity_score`.
    behavior_dist : array-like or fitted policy, default=None
        Of shape (n_rounds, n_actions): the behaviour policy's full action
        probabilities in every logged state,
        for ``unsupported_mass``. Taken from ``pscore`` when that is a fitted
        policy.
    quantiles : sequence of float, default=(0.5, 0.9, 0.95, 0.99)
        Weight quantiles to report.

    Returns
    -------
    diagnostics : WeightDiagnostics
        Effective sample size :math:`(\sum w)^2 / \sum w^2`, mean, max and
        quantiles of the weights, the weights themselves, actions with target
        mass that were never logged, and the target mass outside the behaviour
        support.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.ope import importance_weight_diagnostics
    >>> action = np.array([0, 0, 1, 1])
    >>> pscore = np.full(4, 0.5)
    >>> target = np.array([[0.5, 0.25, 0.25]] * 4)
    >>> d = importance_weight_diagnostics(action, pscore, target)
    >>> d.weights.tolist(), d.ess
    ([1.0, 1.0, 0.5, 0.5], 3.6)
    >>> d.never_logged_actions.tolist(), d.never_logged_mass
    ([2], 0.25)
    """
    q = np.asarray(quantiles, dtype=float).ravel()
    if q.size and ((q < 0) | (q > 1)).any():
        raise ValueError(f"`quantiles` must lie in [0, 1], got {q.tolist()}.")
    logged = _resolve(
        action_dist,
        X=X,
        action=action,
        pscore=pscore,
        behavior_dist=behavior_dist,
    )
    n, n_actions = logged.pi.shape
    w = _weights(logged)
    sum_w, sum_w2 = w.sum(), np.dot(w, w)
    ess = float(sum_w**2 / sum_w2) if sum_w2 > 0 else 0.0
    counts = np.bincount(logged.action, minlength=n_actions)
    target_share = logged.pi.mean(axis=0)
    played = (logged.pi > 0).any(axis=0)
    never = played & (counts == 0)
    labels = logged.classes if logged.classes is not None else np.arange(n_actions)
    unsupported = None
    if logged.behavior is not None:
        unsupported = float(
            np.where(logged.behavior <= 0, logged.pi, 0.0).sum(axis=1).mean()
        )
    per_action = pd.DataFrame(
        {
            "logged_count": counts,
            "logged_share": counts / n,
            "target_share": target_share,
        },
        index=pd.Index(labels, name="action"),
    )
    return WeightDiagnostics(
        n=n,
        weights=w,
        ess=ess,
        ess_ratio=ess / n,
        mean_weight=float(w.mean()),
        max_weight=float(w.max()),
        quantiles=pd.Series(np.quantile(w, q) if q.size else [], index=q, dtype=float),
        never_logged_actions=labels[never],
        never_logged_mass=float(logged.pi[:, never].sum(axis=1).mean()),
        unsupported_mass=unsupported,
        per_action=per_action,
    )


# ----------------------------------------------------------------- reward models
def _with_action(X, action, n_actions):
    """Design matrix [X, one-hot(action)] of the joint reward model (obp's form)."""
    m = X.shape[0]
    onehot = np.zeros((m, n_actions))
    onehot[np.arange(m), action] = 1.0
    if isinstance(X, pd.DataFrame):
        names = [f"action_{j}" for j in range(n_actions)]
        while any(name in X.columns for name in names):
            names = ["_" + name for name in names]
        return pd.concat(
            [X, pd.DataFrame(onehot, index=X.index, columns=names)], axis=1
        )
    if sp.issparse(X):
        return sp.hstack([X, sp.csr_matrix(onehot)], format="csr")
    return np.hstack([np.asarray(X), onehot])


def _predict_reward(model, X):
    if is_classifier(model):
        proba = model.predict_proba(X)
        pos = np.flatnonzero(np.asarray(model.classes_) == 1)
        return proba[:, pos[0]] if pos.size else np.zeros(proba.shape[0])
    return np.asarray(model.predict(X), dtype=float).ravel()


def cross_fit_reward_model(
    estimator,
    X,
    action,
    reward,
    n_actions=None,
    *,
    cv=5,
    random_state=None,
    method="joint",
):
    r"""Out-of-fold reward predictions :math:`\hat q(x_i, a)` for every action.

    The rounds are split into folds; for each fold a clone of ``estimator`` is
    fitted on the other folds and predicts the rewards of all actions in this
    one, so that no round's own reward enters its prediction (cross-fitting, as
    obp's ``RegressionModel.fit_predict(n_folds=...)`` and double machine
    learning do). The result is the ``q_hat`` of :func:`direct_method` and the
    doubly robust estimators.

    Parameters
    ----------
    estimator : scikit-learn regressor or classifier
        Unfitted model of the reward. A classifier needs rewards in {0, 1}; its
        prediction is ``predict_proba`` of class 1.
    X : array-like, sparse matrix or DataFrame of shape (n_rounds, n_features)
        Logged states.
    action : array-like of shape (n_rounds,)
        Logged actions as integer indices ``0..n_actions-1``.
    reward : array-like of shape (n_rounds,)
        Logged rewards.
    n_actions : int, default=None
        Number of actions; None takes ``max(action) + 1``.
    cv : int or cross-validation splitter, default=5
        An int k uses ``KFold(k, shuffle=True, random_state=random_state)``
        (obp's folds); k = 1 fits once on all rounds and predicts them in sample
        (no cross-fitting). Any scikit-learn splitter (or iterable of
        ``(train, test)`` pairs) whose test folds cover every round once may be
        given instead.
    random_state : int, RandomState instance or None, default=None
        Shuffling of the folds when ``cv`` is an int.
    method : {"joint", "per_action"}, default="joint"
        ``"joint"``: one model on the states plus a one-hot encoding of the action
        (obp's design ``[x, e_a]``; the one-hot columns are named ``action_j``
        for DataFrame X). ``"per_action"``: one model per action, fitted on the
        rounds that played it (every training fold must contain every action).

    Returns
    -------
    q_hat : ndarray of shape (n_rounds, n_actions)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skpolicy.ope import cross_fit_reward_model
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> action = rng.integers(0, 3, 200)
    >>> reward = X[:, 0] + action + rng.normal(scale=0.1, size=200)
    >>> q_hat = cross_fit_reward_model(LinearRegression(), X, action, reward, 3,
    ...                                cv=5, random_state=0)
    >>> q_hat.shape
    (200, 3)
    """
    if method not in ("joint", "per_action"):
        raise ValueError(f"`method` must be 'joint' or 'per_action', got {method!r}.")
    if not hasattr(estimator, "fit"):
        raise ValueError(
            f"`estimator` must be a scikit-learn estimator, got {type(estimator)}."
        )
    if not (sp.issparse(X) or isinstance(X, pd.DataFrame)):
        X = np.asarray(X)
        if X.ndim == 1:
            raise ValueError(
                "X must be 2-D (n_rounds, n_features); reshape a single feature "
                "with X.reshape(-1, 1)."
            )
    n = X.shape[0]
    reward = _check_1d(reward, "reward")
    action = _check_1d(action, "action", dtype=None)
    if reward.shape[0] != n or action.shape[0] != n:
        raise ValueError(
            f"X has {n} rows, action {action.shape[0]} and reward {reward.shape[0]}: "
            "every input must hold one entry per logged round."
        )
    if not np.isfinite(reward).all():
        raise ValueError("`reward` holds NaN or infinite values.")
    if n_actions is None:
        n_actions = int(np.max(action)) + 1 if n else 0
    action = _action_indices(action, None, n_actions)
    if is_classifier(estimator) and not np.isin(reward, (0.0, 1.0)).all():
        raise ValueError(
            "A classifier reward model needs binary rewards in {0, 1}; use a "
            "regressor for other rewards."
        )
    target = reward.astype(int) if is_classifier(estimator) else reward

    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 1:
            raise ValueError(f"`cv` must be >= 1, got {cv}.")
        if cv == 1:
            splits = [(np.arange(n), np.arange(n))]
        else:
            splits = KFold(cv, shuffle=True, random_state=random_state).split(
                np.empty((n, 1))
            )
    else:
        splits = check_cv(cv).split(X, reward)

    q_hat = np.full((n, n_actions), np.nan)
    for train, test in splits:
        X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
        a_train, m = action[train], len(test)
        if method == "joint":
            model = clone(estimator).fit(
                _with_action(X_train, a_train, n_actions), target[train]
            )
            for j in range(n_actions):
                design = _with_action(X_test, np.full(m, j), n_actions)
                q_hat[test, j] = _predict_reward(model, design)
        else:
            for j in range(n_actions):
                rows = np.flatnonzero(a_train == j)
                if rows.size == 0:
                    raise ValueError(
                        f"Action {j} is absent from a training fold: "
                        "method='per_action' cannot model it. Use fewer folds or "
                        "method='joint'."
                    )
                model = clone(estimator).fit(
                    _safe_indexing(X_train, rows), target[train][rows]
                )
                q_hat[test, j] = _predict_reward(model, X_test)
    if np.isnan(q_hat).any():
        raise ValueError(
            "The cross-validation splits leave some rounds out of every test fold; "
            "cross-fitting needs each round predicted once."
        )
    return q_hat
