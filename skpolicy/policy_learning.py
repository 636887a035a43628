r"""Off-policy learning: a linear softmax policy that maximises an estimated value.

Logged bandit feedback -- states :math:`x_i`, the actions :math:`a_i` a behaviour
policy played, their propensities :math:`p_i = \pi_b(a_i|x_i)` and the rewards
:math:`r_i` -- estimate the value of any other policy (:mod:`skpolicy.ope`).
:class:`OffPolicyLearner` turns the estimate around: it is the
:class:`~skpolicy.SoftmaxPolicy` whose parameters :math:`\theta` maximise

.. math::

    \hat V(\pi_\theta) - \lambda\, \widehat{\mathrm{SE}}(\pi_\theta)
        - \frac{\alpha}{2} \|\theta\|^2

(rewards in units of their standard deviation, see :class:`OffPolicyLearner`),
with :math:`\hat V` one of

=========  ==========================================================================
``ips``    :math:`\frac1n \sum_i w_i r_i`
``snips``  :math:`\sum_i w_i r_i / \sum_i w_i`
``dr``     :math:`\frac1n \sum_i [\sum_a \pi_\theta(a|x_i) \hat q(x_i, a)
           + w_i (r_i - \hat q(x_i, a_i))]`
=========  ==========================================================================

and :math:`w_i = \min(\pi_\theta(a_i|x_i) / p_i, M)` (``max_weight`` :math:`M`).
:math:`\widehat{\mathrm{SE}}` is the standard error that :mod:`skpolicy.ope`
reports for the same estimate, so :math:`\lambda > 0` is the sample-variance
penalty of counterfactual risk minimisation (POEM [1]_; with SNIPS, Norm-POEM [2]_;
DR as in [3]_).

The gradient is analytic. With :math:`u` the utilities and :math:`\pi` the
softmax, :math:`\partial w_i / \partial u_{ib} = w_i (1[b = a_i] - \pi_{ib})` --
the score function :math:`\nabla \log \pi(a_i|x_i)` of the policy-gradient
theorem, per utility -- and the direct-method term has
:math:`\partial \sum_a \pi_{ia} \hat q_{ia} / \partial u_{ib} = \pi_{ib} (\hat
q_{ib} - \bar q_i)`. The per-utility derivatives are mapped to the parameters by
``LinearChoiceLoss.contract``, the kernel of :class:`~skpolicy.SoftmaxPolicy`,
and the objective is handed to ``scipy.optimize.minimize`` (L-BFGS by default:
the objective is not concave).

References
----------
.. [1] Swaminathan, A. and Joachims, T. (2015). Counterfactual risk minimization:
   learning from logged bandit feedback. ICML / JMLR 16. (POEM, the variance
   penalty.)
.. [2] Swaminathan, A. and Joachims, T. (2015). The self-normalized estimator for
   counterfactual learning. NeurIPS. (SNIPS, Norm-POEM.)
.. [3] Dudík, M., Langford, J. and Li, L. (2011). Doubly robust policy evaluation
   and learning. ICML.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._data import label, user_stacklevel
from ._engines import blas_controller
from ._linear_loss import LinearChoiceLoss, utilities
from ._policy import SoftmaxPolicy
from ._softmax import segment_logsumexp

__all__ = ["OffPolicyLearner", "feedback_target", "make_off_policy_scorer"]

ESTIMATORS = ("ips", "snips", "dr")
# Propensities computed in floating point may exceed 1 by a rounding error.
_PSCORE_TOL = 1e-8
_FEEDBACK_COLUMNS = ("action", "reward", "pscore")

_SOLVER_METHODS = {"lbfgs": "L-BFGS-B", "bfgs": "BFGS", "cg": "CG"}


# ----------------------------------------------------------------- the feedback
def feedback_target(action, reward, pscore, q_hat=None):
    """Pack logged bandit feedback into the ``y`` of :class:`OffPolicyLearner`.

    ``GridSearchCV`` and ``cross_validate`` hand the held-out ``y`` to the scorer
    but not the fit parameters: with rewards and propensities inside ``y``, an
    off-policy value can be computed on every held-out fold without metadata
    routing.

    Parameters
    ----------
    action : array-like of shape (n_rounds,)
        Logged actions (any labels).
    reward : array-like of shape (n_rounds,)
        Logged rewards.
    pscore : array-like of shape (n_rounds,)
        Behaviour propensities of the logged actions, in (0, 1].
    q_hat : array-like of shape (n_rounds, n_actions), default=None
        Reward predictions for every action (columns in sorted label order), for
        ``estimator="dr"``.

    Returns
    -------
    y : pandas.DataFrame
        Columns ``action``, ``reward``, ``pscore`` and, with ``q_hat``,
        ``q_hat[0]``, ``q_hat[1]``, ... (one per action).

    Notes
    -----
    With an integer ``cv``, scikit-learn inspects the type of ``y`` with
    ``type_of_target``, which cannot sort a table mixing strings and numbers:
    with string actions, pass a splitter (``cv=KFold(5, shuffle=True)``) or
    code the actions as integers. (A 2-D numeric ``y`` is split by a plain
    ``KFold``, never stratified.)

    Examples
    --------
    >>> from skpolicy.policy_learning import feedback_target
    >>> feedback_target(["a", "b"], [1.0, 0.0], [0.5, 0.25])
      action  reward  pscore
    0      a     1.0    0.50
    1      b     0.0    0.25
    """
    action = np.asarray(action)
    if action.ndim != 1:
        raise ValueError(f"`action` must be 1-D, got shape {action.shape}.")
    columns = {
        "action": action,
        "reward": np.asarray(reward, dtype=float),
        "pscore": np.asarray(pscore, dtype=float),
    }
    for name in ("reward", "pscore"):
        if columns[name].shape != action.shape:
            raise ValueError(
                f"`{name}` has shape {columns[name].shape} but `action` has "
                f"{action.shape}: give one entry per logged round."
            )
    if q_hat is not None:
        q_hat = np.asarray(q_hat, dtype=float)
        if q_hat.ndim != 2 or q_hat.shape[0] != action.shape[0]:
            raise ValueError(
                "`q_hat` must have shape (n_rounds, n_actions), got "
                f"{q_hat.shape} for {action.shape[0]} rounds."
            )
        for j in range(q_hat.shape[1]):
            columns[f"q_hat[{j}]"] = q_hat[:, j]
    return pd.DataFrame(columns)


def _as_actions(values):
    values = np.asarray(values)
    if values.dtype.kind == "f" and np.all(np.isfinite(values)):
        as_int = values.astype(np.int64)
        if np.array_equal(as_int, values):
            return as_int  # integer codes packed in a float array
    if values.dtype.kind == "O":
        try:
            numbers = values.astype(float)
        except (TypeError, ValueError):
            return values
        return _as_actions(numbers)
    return values


def _unpack_feedback(y, reward, pscore, q_hat):
    """``(action, reward, pscore, q_hat)`` from a packed ``y`` or from arguments."""
    packed = isinstance(y, pd.DataFrame) or np.ndim(y) == 2 and np.shape(y)[1] >= 3
    if not packed and np.ndim(y) == 2 and np.shape(y)[1] != 1:
        raise ValueError(
            f"y has shape {np.shape(y)}: give the logged actions (n_rounds,) or the "
            "feedback (n_rounds, 3 [+ n_actions]) with columns action, reward, "
            "pscore [, q_hat...] (see feedback_target())."
        )
    if not packed:
        if reward is None or pscore is None:
            raise ValueError(
                "Give the logged feedback either as y of shape (n_rounds, 3) -- "
                "columns action, reward, pscore, e.g. from feedback_target() -- or "
                "as y = the logged actions with reward= and pscore=."
            )
        action = _as_actions(y)
        if action.ndim == 2 and action.shape[1] == 1:
            action = action[:, 0]
        return action, reward, pscore, q_hat
    if reward is not None or pscore is not None:
        raise ValueError(
            "y already holds the rewards and propensities (a 2-D feedback target): "
            "do not pass reward= or pscore= too."
        )
    if isinstance(y, pd.DataFrame):
        if set(_FEEDBACK_COLUMNS) <= set(y.columns):
            action = y["action"].to_numpy()
            r, p = y["reward"].to_numpy(), y["pscore"].to_numpy()
            rest = [c for c in y.columns if c not in _FEEDBACK_COLUMNS]
        else:
            if y.shape[1] < 3:
                raise ValueError(
                    "A DataFrame y needs columns action, reward and pscore (see "
                    f"feedback_target()); got {list(y.columns)}."
                )
            action, r, p = (y.iloc[:, k].to_numpy() for k in range(3))
            rest = list(y.columns[3:])
        extra = y[rest].to_numpy(dtype=float) if rest else None
    else:
        arr = np.asarray(y)
        action, r, p = arr[:, 0], arr[:, 1], arr[:, 2]
        extra = arr[:, 3:].astype(float) if arr.shape[1] > 3 else None
    if extra is not None:
        if q_hat is not None:
            raise ValueError(
                "y already holds reward predictions (columns after the third): do "
                "not pass q_hat= too."
            )
        q_hat = extra
    return _as_actions(action), r, p, q_hat


def _check_rounds(values, name, n):
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be numeric.") from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != (n,):
        raise ValueError(
            f"`{name}` has shape {arr.shape} but X has {n} samples: give one entry "
            "per logged round."
        )
    if not np.all(np.isfinite(arr)):
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"`{name}` is NaN or infinite in round {i}.")
    return arr


def _check_pscore(pscore, n):
    p = _check_rounds(pscore, "pscore", n)
    bad = ~((p > 0) & (p <= 1 + _PSCORE_TOL))
    if np.any(bad):
        idx = np.flatnonzero(bad)
        raise ValueError(
            "Propensities `pscore` must lie in (0, 1] (the behaviour policy's "
            "probability of the logged action, never 0 for a logged action); "
            f"rounds {idx[:5].tolist()} have {p[idx[:5]].tolist()}."
        )
    return p


def _check_q_hat(q_hat, n, n_actions, available):
    q = np.asarray(q_hat, dtype=np.float64)
    if q.shape != (n, n_actions):
        raise ValueError(
            f"`q_hat` must have shape (n_rounds, n_actions) = ({n}, {n_actions}) "
            f"(columns in the order of classes_), got {q.shape}."
        )
    q = np.where(available, q, 0.0)  # unavailable actions: any value, unused
    if not np.all(np.isfinite(q)):
        i = int(np.flatnonzero(~np.isfinite(q).all(axis=1))[0])
        raise ValueError(
            f"`q_hat` is NaN or infinite for an available action of round {i}."
        )
    return q


# ------------------------------------------------------------- the estimates
class _Estimate:
    r"""An off-policy value estimate on logged rounds and its derivatives.

    Everything is a function of the target's action probabilities ``pi``
    (n, J). The estimate is ``value = sum_i rho_i c_i / sum_i rho_i`` with
    per-round contributions ``c_i`` (for SNIPS the delta-method linearisation,
    as in :mod:`skpolicy.ope`), and ``std_error = sqrt(var / S)`` with
    ``var = sum_i rho_i (c_i - value)^2 / (S - 1)``, ``S = sum_i rho_i`` (for
    unit weights exactly ``ope``'s standard error).

    Derivatives with respect to the utilities come as two per-round
    coefficients: ``beta_i`` on ``dw_i`` (the clipped importance weight) and
    ``gamma_i`` on ``d(sum_a pi_ia q_ia)``; :meth:`utility_gradient` turns them
    into the (n, J) grid ``beta_i 1[unclipped] w_i (1[b = a_i] - pi_ib) +
    gamma_i pi_ib (q_ib - qbar_i)``.
    """

    def __init__(self, kind, pi, codes, reward, pscore, q_hat, rho, max_weight):
        n = pi.shape[0]
        self.kind, self.pi, self.codes, self.q = kind, pi, codes, q_hat
        self.reward, self.rho = reward, rho
        idx = np.arange(n)
        w = pi[idx, codes] / pscore
        self.w = w
        if max_weight is None:
            self.active = None
            wt = w
        else:
            self.active = w <= max_weight
            wt = np.where(self.active, w, max_weight)
        self.wt = wt
        S = float(rho.sum())
        if not S > 0:
            raise ValueError("The sample weights sum to 0: no logged round counts.")
        self.S = S
        rh = rho / S
        self.rh = rh
        if kind == "ips":
            c = wt * reward
            value = float(rh @ c)
        elif kind == "dr":
            self.q_logged = q_hat[idx, codes]
            dm = np.einsum("ij,ij->i", pi, q_hat)
            c = dm + wt * (reward - self.q_logged)
            value = float(rh @ c)
        elif kind == "snips":
            wbar = float(rh @ wt)
            if not wbar > 0:
                raise ValueError(
                    "Every importance weight is 0: the self-normalised estimate is "
                    "undefined."
                )
            self.wbar = wbar
            value = float(rh @ (wt * reward)) / wbar
            c = value + wt * (reward - value) / wbar
        else:  # pragma: no cover - validated by the callers
            raise ValueError(f"Unknown estimator {kind!r}; choose from {ESTIMATORS}.")
        self.value, self.contributions = value, c
        if S > 1:
            var = float(rho @ (c - value) ** 2) / (S - 1)
            self.std_error = float(np.sqrt(max(var, 0.0) / S))
        else:
            self.std_error = np.nan

    def value_coefficients(self):
        """``(beta, gamma)`` of the value's derivative."""
        rh, r = self.rh, self.reward
        if self.kind == "ips":
            return rh * r, None
        if self.kind == "dr":
            return rh * (r - self.q_logged), rh
        return rh * (r - self.value) / self.wbar, None

    def std_error_coefficients(self):
        """``(beta, gamma)`` of the standard error's derivative (0 where SE = 0)."""
        se, S = self.std_error, self.S
        if not se > 0:
            return np.zeros_like(self.rh), None
        # dSE/dc_j = rho_j (c_j - m) / (S (S - 1) SE); the mean's own derivative
        # drops out (sum_j rho_j (c_j - m) = 0).
        g = self.rho * (self.contributions - self.value) / (S * (S - 1) * se)
        r = self.reward
        if self.kind == "ips":
            return g * r, None
        if self.kind == "dr":
            return g * (r - self.q_logged), g
        # SNIPS: c_j = V + w_j (r_j - V) / wbar with V and wbar functions of all
        # the weights; sum_j g_j dV = 0, and the rest differentiates to
        # sum_k dw_k [g_k (r_k - V) / wbar - (A (r_k - V) + B) rho_k / (S wbar^2)].
        V, wbar, wt = self.value, self.wbar, self.wt
        A = float(g @ wt)
        B = float(g @ (wt * (r - V)))
        beta = g * (r - V) / wbar - (A * (r - V) + B) * self.rho / (S * wbar**2)
        return beta, None

    def utility_gradient(self, beta, gamma):
        """The (n, J) derivative with respect to the utilities (see the class)."""
        pi = self.pi
        n = pi.shape[0]
        factor = beta * self.w
        if self.active is not None:
            factor = np.where(self.active, factor, 0.0)
        G = -factor[:, None] * pi
        G[np.arange(n), self.codes] += factor
        if gamma is not None:
            qbar = np.einsum("ij,ij->i", pi, self.q)
            G += gamma[:, None] * pi * (self.q - qbar[:, None])
        return G


def _reward_scale(reward, rho):
    """Standard deviation of the rewards (root mean square if constant, else 1)."""
    rh = rho / rho.sum()
    mean = float(rh @ reward)
    sd = float(np.sqrt(max(float(rh @ (reward - mean) ** 2), 0.0)))
    if sd > 0:
        return sd
    rms = float(np.sqrt(rh @ reward**2))
    return rms if rms > 0 else 1.0


def _codes_for(classes, action):
    """Column indices of the logged actions in ``classes`` (sorted labels)."""
    classes = np.asarray(classes)
    action = np.asarray(action)
    sorter = np.argsort(classes, kind="stable")
    try:
        pos = np.searchsorted(classes, action, sorter=sorter)
    except TypeError as exc:
        raise ValueError(
            f"Logged actions of dtype {action.dtype} cannot be compared with the "
            f"policy's classes_ {classes.tolist()}."
        ) from exc
    idx = sorter[np.minimum(pos, classes.size - 1)]
    unknown = np.flatnonzero(classes[idx] != action)
    if unknown.size:
        i = int(unknown[0])
        raise ValueError(
            f"Logged action {label(action[i])} (round {i}) is not one of the "
            f"policy's actions {[label(c) for c in classes]}."
        )
    return idx


def _held_out_value(
    kind, proba, codes, reward, pscore, q_hat, sample_weight, max_weight
):
    n = proba.shape[0]
    reward = _check_rounds(reward, "reward", n)
    pscore = _check_pscore(pscore, n)
    if sample_weight is None:
        rho = np.ones(n)
    else:
        rho = _check_rounds(sample_weight, "sample_weight", n)
        if np.any(rho < 0):
            raise ValueError("sample_weight must be >= 0.")
    if kind == "dr":
        if q_hat is None:
            raise ValueError(
                "The doubly robust value needs reward predictions q_hat: put them "
                "in y (feedback_target(..., q_hat=...)) or pass q_hat=."
            )
        q_hat = _check_q_hat(q_hat, n, proba.shape[1], proba > 0)
    return _Estimate(kind, proba, codes, reward, pscore, q_hat, rho, max_weight)


# ----------------------------------------------------------------- the scorer
class _OffPolicyScorer:
    """``scorer(policy, X, y)``: the estimated value of ``policy`` on logs (X, y)."""

    def __init__(self, estimator, max_weight):
        self.estimator = estimator
        self.max_weight = max_weight

    def __call__(self, policy, X, y, sample_weight=None):
        action, reward, pscore, q_hat = _unpack_feedback(y, None, None, None)
        proba = np.asarray(policy.predict_proba(X), dtype=np.float64)
        codes = _codes_for(policy.classes_, action)
        return _held_out_value(
            self.estimator,
            proba,
            codes,
            reward,
            pscore,
            q_hat,
            sample_weight,
            self.max_weight,
        ).value

    def __repr__(self):
        clip = "" if self.max_weight is None else f", max_weight={self.max_weight!r}"
        return f"make_off_policy_scorer(estimator={self.estimator!r}{clip})"


def make_off_policy_scorer(estimator="snips", *, max_weight=None):
    """A scorer: the off-policy estimate of a policy's value on held-out logs.

    For ``GridSearchCV(scoring=...)`` and ``cross_validate``: the held-out ``y``
    must be a feedback target (:func:`feedback_target`; ``q_hat`` columns for
    ``"dr"``). Any fitted classifier over states with ``predict_proba`` and
    ``classes_`` can be scored -- an :class:`OffPolicyLearner`, a
    :class:`~skpolicy.SoftmaxPolicy`, a scikit-learn classifier or pipeline --
    so that candidates of different kinds, or learned with different
    estimators, are compared by one criterion. Higher is better.

    The scorer calls ``predict_proba(X)`` only: a policy that needs
    ``available_actions`` or ``action_features`` at prediction is scored by
    its own :meth:`OffPolicyLearner.score` instead (``scoring=None``, with
    metadata routing for those arrays).

    Parameters
    ----------
    estimator : {"ips", "snips", "dr"}, default="snips"
        The off-policy estimator (formulas of :mod:`skpolicy.ope`).
    max_weight : float, default=None
        Clip the importance weights (None: no clipping, unbiased IPS / DR).

    Returns
    -------
    scorer : callable
        ``scorer(policy, X, y, sample_weight=None) -> float``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skpolicy.policy_learning import feedback_target, make_off_policy_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> action = rng.integers(0, 2, 200)
    >>> reward = (action == (X[:, 0] > 0)).astype(float)
    >>> y = feedback_target(action, reward, np.full(200, 0.5))
    >>> clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    >>> scorer = make_off_policy_scorer("snips")
    >>> scorer
    make_off_policy_scorer(estimator='snips')
    >>> bool(scorer(clf, X, y) > 0.8)
    True
    """
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"Unknown estimator {estimator!r}; choose from {list(ESTIMATORS)}."
        )
    if max_weight is not None and not (
        isinstance(max_weight, Real)
        and not isinstance(max_weight, bool)
        and max_weight > 0
    ):
        raise ValueError(f"`max_weight` must be a number > 0, got {max_weight!r}.")
    return _OffPolicyScorer(estimator, max_weight)


# --------------------------------------------------------------- the learner
def _not_a_likelihood_fit(self):
    raise AttributeError(
        f"{type(self).__name__} maximises an off-policy value estimate, not the "
        "likelihood of the logged actions: the likelihood-based covariance, tests "
        "and summaries of SoftmaxPolicy do not apply to its coefficients. Judge "
        "the learned policy by its estimated value on held-out logs "
        "(skpolicy.ope.evaluate_policy, with confidence intervals)."
    )


class OffPolicyLearner(SoftmaxPolicy):
    r"""Linear softmax policy learned from logged bandit feedback (off-policy).

    Maximises an off-policy estimate of the policy's value -- IPS, SNIPS or
    doubly robust, the estimators of :mod:`skpolicy.ope` -- over the
    parameters of the linear softmax policy of :class:`~skpolicy.SoftmaxPolicy`
    (one coefficient vector per action over the state features, optional
    action features, availability masks):

    .. math::

        \max_\theta\;
        \frac{\hat V(\pi_\theta) - \lambda\, \widehat{\mathrm{SE}}(\pi_\theta)}
        {\sigma_r} - \frac{\alpha}{2}\|\theta\|^2,

    with :math:`\widehat{\mathrm{SE}}` the estimate's standard error (the
    sample-variance penalty of POEM) and :math:`\sigma_r` the standard
    deviation of the logged rewards, which makes ``alpha``, ``tol`` and the
    penalty free of the rewards' units. The gradient is analytic (the score
    function :math:`\nabla_\theta \log \pi_\theta(a_i|x_i)` weighted by the
    estimator's derivative, see :mod:`skpolicy.policy_learning`); the
    objective is not concave and the solver (L-BFGS by default) finds a local
    optimum from ``theta = 0`` (the uniform policy) or, with ``warm_start``,
    from the previous fit.

    This is obp's ``IPWLearner`` problem solved directly: instead of reducing it
    to a reward-weighted classification of the logged actions, the estimated
    value itself is maximised. Predictions (``predict_proba``, ``predict``,
    ``sample``, ``sample_rankings``, ``policy_gradient``) are those of
    :class:`~skpolicy.SoftmaxPolicy`; the likelihood-based inference methods
    (``summary``, ``covariance_matrix``, ...) are not available.

    The logged feedback is passed in one of two ways:

    - ``fit(X, action, reward, pscore)`` -- obp's argument order; ``reward``,
      ``pscore`` and ``q_hat`` are sample-aligned fit parameters, which
      ``GridSearchCV`` slices with the training folds;
    - ``fit(X, y)`` with ``y = feedback_target(action, reward, pscore[,
      q_hat])``, a table of shape (n_rounds, 3 [+ n_actions]). This is the form
      for model selection: ``GridSearchCV`` and ``cross_validate`` pass the
      held-out ``y`` to the scorer (and to :meth:`score`) but not the fit
      parameters, so rewards and propensities inside ``y`` give every
      held-out fold its off-policy value without metadata routing. A 2-D
      array with the columns action, reward, pscore[, q_hat...] works too.

    Parameters
    ----------
    estimator : {"ips", "snips", "dr"}, default="snips"
        The value estimate maximised. ``"snips"`` (self-normalised IPS,
        Norm-POEM) is invariant to a constant added to the rewards and does
        not reward a policy for merely avoiding the logged actions (the
        propensity overfitting of IPS); ``"dr"`` needs reward predictions
        ``q_hat`` (:func:`skpolicy.ope.cross_fit_reward_model`).
    alpha : float, default=1e-3
        L2 penalty :math:`\frac{\alpha}{2}\|\theta\|^2` (every free coefficient,
        intercepts included). Without it an unclipped IPS or SNIPS objective
        often keeps improving as the policy becomes deterministic.
    variance_penalty : float, default=0.0
        :math:`\lambda \ge 0`, POEM's weight on the standard error of the
        estimate: the objective is a lower confidence bound on the value
        (:math:`\lambda \approx 1.64` for a one-sided 95% bound).
    max_weight : float or None, default=None
        Clip the importance weights at :math:`M` (POEM's clipping constant,
        obp's ``lambda_``); clipped rounds do not contribute to the gradient.
        None does not clip.
    fit_intercept : bool, default=True
        Give every action an intercept.
    solver : {"lbfgs", "bfgs", "cg"}, default="lbfgs"
        ``scipy.optimize.minimize`` method (L-BFGS-B, BFGS, CG), all with the
        analytic gradient, in coefficients of the features standardised as in
        :class:`~skpolicy.SoftmaxPolicy`.
    max_iter : int, default=500
        Maximum number of solver iterations.
    tol : float, default=1e-6
        Stop when the largest gradient component of the objective, with respect
        to the coefficients of the standardised features, is at most ``tol``.
    warm_start : bool, default=False
        Start from the previous fit's coefficients (a regularisation path).
    reference : label or None, default=None
        The action whose coefficients are 0; None takes the first of
        ``classes_``.
    verbose : int, default=0
        Print the objective and gradient at every iteration when > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_actions,)
    coef_ : ndarray of shape (n_actions, `n_features_in_`)
    intercept_ : ndarray of shape (n_actions,)
    action_coef_ : ndarray of shape (n_action_features,)
    reference_ : label
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        When X was a DataFrame with string column names.
    value_ : float
        The estimated value of the learned policy on the training logs (by
        ``estimator``, with the clipping but without the penalties). Optimistic:
        judge the policy on held-out logs.
    std_error_ : float
        Standard error of ``value_``.
    objective_ : float
        The penalised objective at the optimum (negated, as minimised).
    reward_scale_ : float
        :math:`\sigma_r`.
    n_iter_ : int
    converged_ : bool
        Whether the gradient criterion of ``tol`` was met; with
        ``max_weight``, also when the solver stopped before ``max_iter``
        because no step improved the objective (clipping makes it piecewise
        smooth, and at a kink the gradient need not vanish).
    solver_ : str
    n_situations_ : int
        Number of training rounds.

    See Also
    --------
    make_off_policy_scorer : The scorer for model selection on held-out logs.
    skpolicy.ope.evaluate_policy : Off-policy estimates with confidence intervals.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.policy_learning import OffPolicyLearner
    >>> rng = np.random.default_rng(0)
    >>> n = 2000
    >>> X = rng.normal(size=(n, 2))
    >>> action = rng.integers(0, 3, n)          # uniform logging policy
    >>> pscore = np.full(n, 1 / 3)
    >>> best = np.argmax(X @ [[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], axis=1)
    >>> reward = rng.binomial(1, np.where(action == best, 0.8, 0.2)).astype(float)
    >>> learner = OffPolicyLearner().fit(X, action, reward, pscore)
    >>> proba = learner.predict_proba(X)
    >>> true_value = np.mean(0.2 + 0.6 * proba[np.arange(n), best])
    >>> bool(true_value > 0.6)   # the logging policy's value is 0.4
    True
    """

    _parameter_constraints = {
        "estimator": [StrOptions(set(ESTIMATORS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "variance_penalty": [Interval(Real, 0, None, closed="left")],
        "max_weight": [Interval(Real, 0, None, closed="neither"), None],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions(set(_SOLVER_METHODS))],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "reference": "no_validation",
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        estimator="snips",
        alpha=1e-3,
        variance_penalty=0.0,
        max_weight=None,
        fit_intercept=True,
        solver="lbfgs",
        max_iter=500,
        tol=1e-6,
        warm_start=False,
        reference=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.alpha = alpha
        self.variance_penalty = variance_penalty
        self.max_weight = max_weight
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.reference = reference
        self.verbose = verbose

    # ----------------------------------------------------------------- setup
    def _logged_block(
        self,
        X,
        action,
        reward,
        pscore,
        q_hat,
        sample_weight,
        available_actions,
        action_features,
    ):
        """Validate the logs; return the loss, the logged codes and the rounds."""
        mask = available_actions
        if (
            q_hat is not None
            and self.estimator == "dr"
            and mask is None
            and action_features is None
            and np.ndim(q_hat) == 2
            and np.asarray(action).dtype.kind in "iu"
        ):
            # q_hat names every action, logged or not: its width sets classes_
            # (integer actions 0..J-1), as an all-True mask would.
            n_q = np.shape(q_hat)[1]
            logged = np.unique(np.asarray(action))
            if n_q > logged.size and logged.min() >= 0 and logged.max() < n_q:
                mask = np.ones((np.shape(q_hat)[0], n_q), dtype=bool)
        data, zf = self._block(
            X, action, sample_weight, mask, action_features, reset=True
        )
        n, J = data.output_shape
        codes = self._codes(action)
        reward = _check_rounds(reward, "reward", n)
        pscore = _check_pscore(pscore, n)
        if data.rows is None:
            available = np.ones((n, J), dtype=bool)
        else:
            available = data.to_user_layout(np.ones(data.rows.size, dtype=bool), False)
        if self.estimator == "dr":
            if q_hat is None:
                raise ValueError(
                    "estimator='dr' needs reward predictions q_hat of shape "
                    "(n_rounds, n_actions), e.g. from "
                    "skpolicy.ope.cross_fit_reward_model."
                )
            q_hat = _check_q_hat(q_hat, n, J, available)
        else:
            q_hat = None
        rho = data.sample_weight
        rho = np.ones(n) if rho is None else np.asarray(rho, dtype=np.float64)
        if self.variance_penalty > 0 and not rho.sum() > 1:
            raise ValueError(
                "variance_penalty > 0 needs more than one logged round (a standard "
                "error)."
            )
        loss = LinearChoiceLoss(data, situation_features=zf, engine="numpy")
        return loss, codes, reward, pscore, q_hat, rho

    @staticmethod
    def _feature_scale(loss, rho):
        """``sqrt`` of the diagonal of the log-likelihood's curvature at 0.

        The standardisation of :mod:`skpolicy._solvers`: the (weighted)
        variance of each parameter's feature under the uniform policy over the
        available actions, so that the steps and ``tol`` do not depend on the
        features' units.
        """
        data = loss.data
        zf = loss.situation_features
        seg = data.segments
        rh = rho / rho.sum()
        proba = 1.0 / seg.expand(seg.sizes).astype(np.float64)
        parts = []
        K = data.n_features
        if K:
            X = np.asarray(data.X, dtype=np.float64)
            centred = X - seg.expand(seg.weighted_row_sum(proba, X))
            parts.append((seg.expand(rh) * proba) @ centred**2)
        if zf is not None:
            pi0 = data.to_user_layout(proba, 0.0)
            v = (rh[:, None] * pi0 * (1.0 - pi0))[:, zf.free]
            parts.append((v.T @ zf.Z**2).ravel())
        d = np.concatenate(parts) if parts else np.zeros(0)
        return np.where(d > 0, np.sqrt(np.where(d > 0, d, 1.0)), 1.0)

    # ------------------------------------------------------------- objective
    def _objective(self, loss, codes, reward, pscore, q_hat, rho, scale):
        """``f(theta) -> (objective, gradient, estimate)`` of the minimised problem."""
        data = loss.data
        lam = float(self.variance_penalty)
        alpha = float(self.alpha)
        kind = self.estimator
        max_weight = self.max_weight

        def evaluate(theta, gradient=True):
            # One BLAS product (loss.row_utilities would also take the softmax).
            u = utilities(data, loss.situation_features, theta)
            _, proba = segment_logsumexp(u, data.segments)
            pi = data.to_user_layout(proba, 0.0)
            est = _Estimate(kind, pi, codes, reward, pscore, q_hat, rho, max_weight)
            penalised = est.value - (lam * est.std_error if lam else 0.0)
            f = -penalised / scale + 0.5 * alpha * float(theta @ theta)
            if not gradient:
                return f, None, est
            beta, gamma = est.value_coefficients()
            if lam:
                b_se, g_se = est.std_error_coefficients()
                beta = beta - lam * b_se
                if g_se is not None:
                    gamma = gamma - lam * g_se
            G = est.utility_gradient(beta, gamma)
            rows = G.ravel() if data.rows is None else G.ravel()[data.rows]
            g = -loss.contract(rows) / scale + alpha * theta
            return f, g, est

        return evaluate

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        reward=None,
        pscore=None,
        *,
        q_hat=None,
        sample_weight=None,
        available_actions=None,
        action_features=None,
    ):
        """Learn the policy from logged bandit feedback.

        Parameters
        ----------
        X : array-like of shape (n_rounds, n_features)
            Logged states.
        y : array-like of shape (n_rounds,) or (n_rounds, 3 [+ n_actions])
            The logged actions (labels), with ``reward`` and ``pscore``; or the
            whole feedback, :func:`feedback_target` (columns action, reward,
            pscore, then optionally ``q_hat``'s n_actions columns).
        reward : array-like of shape (n_rounds,), default=None
            Logged rewards (when ``y`` holds the actions only).
        pscore : array-like of shape (n_rounds,), default=None
            Behaviour propensities of the logged actions, in (0, 1] (e.g. from
            a :class:`~skpolicy.SoftmaxPolicy` fitted to the logs, or recorded
            by :meth:`~skpolicy.SoftmaxPolicy.sample`).
        q_hat : array-like of shape (n_rounds, n_actions), default=None
            Reward predictions for every action (columns in ``classes_``
            order), for ``estimator="dr"``; ideally cross-fitted
            (:func:`skpolicy.ope.cross_fit_reward_model`). Ignored by the
            other estimators.
        sample_weight : array-like of shape (n_rounds,), default=None
            Frequency weights of the rounds.
        available_actions : array-like of shape (n_rounds, n_actions), bool, \
                default=None
            Actions available in each round; the learned policy gives 0 to the
            others.
        action_features : array-like of shape (n_rounds, n_actions, \
                n_action_features), default=None
            Features ``phi(s, a)`` with coefficients shared by the actions.

        Returns
        -------
        self : object
        """
        action, reward, pscore, q_hat = _unpack_feedback(y, reward, pscore, q_hat)
        loss, codes, reward, pscore, q_hat, rho = self._logged_block(
            X,
            action,
            reward,
            pscore,
            q_hat,
            sample_weight,
            available_actions,
            action_features,
        )
        scale_r = _reward_scale(reward, rho)
        evaluate = self._objective(loss, codes, reward, pscore, q_hat, rho, scale_r)
        s = self._feature_scale(loss, rho)
        theta0 = np.zeros(loss.n_params)
        if self.warm_start and hasattr(self, "coef_"):
            previous = self._coef_vector()
            if previous.shape != theta0.shape:
                raise ValueError(
                    f"warm_start=True but the previous coefficients have "
                    f"{previous.size} parameters and this fit needs {theta0.size} "
                    "(other features or actions): fit with warm_start=False"
                )
            theta0 = previous

        def fun(b):
            f, g, _ = evaluate(b / s)
            return f, g / s

        n_iter = [0]

        def callback(intermediate_result):
            n_iter[0] += 1
            if self.verbose:
                f, g = fun(intermediate_result.x)
                print(
                    f"[{self.solver}] iter {n_iter[0]:3d}  objective {f:.12g}  "
                    f"max|grad/scale| {np.max(np.abs(g), initial=0.0):.3e}"
                )

        method = _SOLVER_METHODS[self.solver]
        if method == "L-BFGS-B":
            options = {
                "maxiter": self.max_iter,
                "maxfun": 10 * self.max_iter + 20,
                "gtol": self.tol,
                "ftol": 64 * np.finfo(float).eps,
                "maxls": 50,
            }
        else:
            options = {"maxiter": self.max_iter, "gtol": self.tol}
        b0 = theta0 * s
        _, g0 = fun(b0)
        stalled = False
        if self.max_iter == 0 or np.max(np.abs(g0), initial=0.0) <= self.tol:
            b, message = b0, "initial point satisfies the tolerance or max_iter=0"
        else:
            # Single-threaded BLAS: the passes' products are small, and spinning
            # BLAS threads slow them (and scipy's own linear algebra) several
            # times on a busy machine (see LinearChoiceLoss._map).
            with (
                blas_controller().limit(limits=1, user_api="blas"),
                warnings.catch_warnings(),
            ):
                # scipy's own warnings (precision loss in BFGS / CG) are
                # summarised by the convergence check below.
                warnings.simplefilter("ignore", RuntimeWarning)
                result = minimize(
                    fun,
                    b0,
                    jac=True,
                    method=method,
                    callback=callback,
                    options=options,
                )
            b, message = result.x, str(result.message)
            # Clipping makes the objective piecewise smooth: at a kink (a weight
            # at max_weight) the gradient need not vanish, and a line search
            # that finds no ascent in either direction is the stopping rule.
            stalled = self.max_weight is not None and result.nit < self.max_iter
        theta = b / s
        f, g, est = evaluate(theta)
        criterion = float(np.max(np.abs(g / s), initial=0.0))
        self.converged_ = bool(criterion <= self.tol or stalled)
        if not self.converged_:
            warnings.warn(
                f"solver {self.solver!r} did not reach max|gradient / scale| <= "
                f"tol={self.tol:g} in {n_iter[0]} iteration(s) (it is "
                f"{criterion:.3g}; scipy says: {message}). Increase max_iter or "
                "alpha, or set max_weight / variance_penalty.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )
        self._set_coef(theta)
        self.n_iter_ = n_iter[0]
        self.solver_ = self.solver
        self.n_situations_ = loss.data.n_situations
        self.reward_scale_ = scale_r
        self.objective_ = float(f)
        self.value_ = est.value
        self.std_error_ = est.std_error
        return self

    # ----------------------------------------------------------------- score
    def score(
        self,
        X,
        y,
        reward=None,
        pscore=None,
        *,
        q_hat=None,
        sample_weight=None,
        available_actions=None,
        action_features=None,
    ):
        """Off-policy estimate of the policy's value on (held-out) logs.

        The estimate of ``estimator`` (IPS, SNIPS or DR, as in
        :mod:`skpolicy.ope`), without clipping or penalty, so that candidates
        fitted with different ``alpha``, ``max_weight`` or ``variance_penalty``
        are compared on the same criterion: what ``GridSearchCV(scoring=None)``
        maximises. To compare candidates fitted with different estimators use
        :func:`make_off_policy_scorer`. Higher is better.

        Parameters
        ----------
        X : array-like of shape (n_rounds, n_features)
        y, reward, pscore, q_hat, sample_weight, available_actions, \
                action_features
            As in :meth:`fit`.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        action, reward, pscore, q_hat = _unpack_feedback(y, reward, pscore, q_hat)
        proba = self.predict_proba(
            X, available_actions=available_actions, action_features=action_features
        )
        codes = _codes_for(self.classes_, action)
        return _held_out_value(
            self.estimator, proba, codes, reward, pscore, q_hat, sample_weight, None
        ).value

    # ---------------------------------------------- likelihood inference: none
    summary = available_if(_not_a_likelihood_fit)(SoftmaxPolicy.summary)
    covariance_matrix = available_if(_not_a_likelihood_fit)(
        SoftmaxPolicy.covariance_matrix
    )
    std_errors = available_if(_not_a_likelihood_fit)(SoftmaxPolicy.std_errors)
    coef_table = available_if(_not_a_likelihood_fit)(SoftmaxPolicy.coef_table)
    wald_test = available_if(_not_a_likelihood_fit)(SoftmaxPolicy.wald_test)
    fit_statistics = available_if(_not_a_likelihood_fit)(SoftmaxPolicy.fit_statistics)
    average_marginal_effects = available_if(_not_a_likelihood_fit)(
        SoftmaxPolicy.average_marginal_effects
    )
