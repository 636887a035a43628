"""SoftmaxPolicy: a linear softmax policy over state features (a sklearn classifier).

The model of :mod:`._linear_loss` with situation (state) features ``z_s`` and one
coefficient vector per action, ``u_sa = z_s @ gamma[a] (+ phi(s, a) @ beta)``:
multinomial logistic regression with a reference action, optional availability
masks and optional action features. The kernel computes the state part from
``z_s`` directly: ``e_a (x) z_s`` is never formed.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    validate_data,
)

from ._dask import (
    dask_covariance_matrix,
    dask_fit,
    dask_predict,
    dask_score,
    is_dask_collection,
)
from ._data import ChoiceData, SituationFeatures, label
from ._inference import ChoiceInferenceMixin, estimate_table
from ._linear_loss import LinearChoiceLoss, utilities
from ._segments import RegularSegments, make_segments
from ._softmax import segment_logsumexp
from ._solvers import SOLVERS
from .sampling import sample_actions, sample_rankings


class SoftmaxPolicy(ChoiceInferenceMixin, ClassifierMixin, BaseEstimator):
    """Linear softmax policy ``pi(a|s)`` fitted to logged (state, action) data.

    Multinomial logistic regression with one coefficient vector per action::

        pi(a | s) = exp(u_sa) / sum_b exp(u_sb),
        u_sa = s @ coef_[a] + intercept_[a]  (+ phi(s, a) @ action_coef_)

    fitted by (optionally L2-penalised) maximum likelihood with
    ``scipy.optimize.minimize``, the analytic score
    ``grad log pi(a|s) = phi(s, a) - E_pi[phi(s, .)]`` and the exact Hessian.
    The reference action's coefficients are 0 (Stata's ``mlogit`` base outcome):
    a vector added to every action's coefficients cancels from the softmax.

    Each sample is a state: X is a plain 2-D array or DataFrame of state
    features, y the logged actions (any labels). Optionally, per fit and per
    prediction call:

    - ``available_actions``: boolean mask (n_samples, n_actions) of the actions
      available in each state (columns in the order of ``classes_``); the logged
      action must be available; unavailable actions get probability 0;
    - ``action_features``: array (n_samples, n_actions, n_action_features) of
      features ``phi(s, a)`` with coefficients ``action_coef_`` shared by all
      actions (the conditional-logit part of the mixed model).

    Both are sample-aligned: ``GridSearchCV`` and ``cross_validate`` slice them
    with the samples when passed as fit parameters, and with
    ``sklearn.set_config(enable_metadata_routing=True)`` and
    ``policy.set_score_request(available_actions=True)`` (likewise
    ``set_fit_request``) they reach ``score`` on the held-out fold too.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Give every action an intercept (``intercept_``).
    alpha : float, default=0.0
        L2 penalty ``alpha/2 ||theta||^2`` on the mean negative log-likelihood per
        sample (theta: every free coefficient, intercepts included); 0 gives plain
        maximum likelihood.
    solver : {"auto", "newton-cholesky", "lbfgs", "trust-exact", "trust-ncg", \
            "trust-krylov"}, default="auto"
        As for :class:`~skpolicy.SoftmaxChoiceEstimator`.
    max_iter : int, default=100
        Maximum number of solver iterations.
    tol : float, default=1e-8
        Stopping tolerance on the gradient (see
        :class:`~skpolicy.SoftmaxChoiceEstimator`).
    warm_start : bool, default=False
        Start from the previous fit's coefficients.
    reference : label or None, default=None
        The action whose coefficients are 0; None takes the first of ``classes_``.
    verbose : int, default=0
        Print the objective and gradient at every iteration when > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_actions,)
        The actions.
    coef_ : ndarray of shape (n_actions, `n_features_in_`)
        State-feature coefficients; the reference action's row is 0.
    intercept_ : ndarray of shape (n_actions,)
        Intercepts (zeros when ``fit_intercept=False``); the reference's is 0.
    action_coef_ : ndarray of shape (n_action_features,)
        Coefficients of ``action_features`` (empty without them).
    reference_ : label
        The reference action.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        When X was a DataFrame with string column names.
    n_iter_, converged_, solver_ : int, bool, str
    n_situations_ : int
        Number of training states (samples).
    n_choices_ : float
        Weighted number of training samples.
    log_likelihood_, null_log_likelihood_ : float
        Maximised log-likelihood and that of uniform probabilities over the
        available actions.

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy import SoftmaxPolicy
    >>> rng = np.random.default_rng(0)
    >>> S = rng.normal(size=(2000, 3))
    >>> logits = S @ rng.normal(size=(3, 4))
    >>> a = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    >>> policy = SoftmaxPolicy().fit(S, a)
    >>> policy.predict_proba(S[:2]).shape
    (2, 4)
    >>> policy.score_vectors(S[:5], a[:5]).shape  # grad log pi(a|s) per sample
    (5, 12)
    """

    _parameter_constraints = {
        "fit_intercept": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", *SOLVERS})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "reference": "no_validation",
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        fit_intercept=True,
        alpha=0.0,
        solver="auto",
        max_iter=100,
        tol=1e-8,
        warm_start=False,
        reference=None,
        verbose=0,
    ):
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.reference = reference
        self.verbose = verbose

    # ------------------------------------------------------------------ data
    def _states(self, X, y, reset):
        """Validate the states (and, when given, check y against them)."""
        params = dict(
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_features=1,
        )
        if y is None:
            return validate_data(self, X, **params), None
        return validate_data(self, X, y, y_numeric=False, **params)

    def _encode(self, y, n_columns):
        """Set ``classes_`` from the logged actions (and the mask's width)."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        check_classification_targets(y)
        classes = np.unique(y)
        if n_columns is not None and n_columns != classes.size:
            integer = np.issubdtype(y.dtype, np.integer) or (
                np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))
            )
            if integer and y.min() >= 0 and y.max() < n_columns:
                # Integer actions 0..J-1: the columns are the actions, some never
                # logged.
                classes = np.arange(n_columns, dtype=y.dtype)
            else:
                raise ValueError(
                    f"y holds {classes.size} distinct actions but available_actions "
                    f"/ action_features have {n_columns} columns: give one column per "
                    "action in sorted label order, or code the actions 0.."
                    f"{n_columns - 1}"
                )
        if classes.size < 2:
            raise ValueError(
                "y has one class only "
                f"({label(classes[0]) if classes.size else 'no sample'}): a policy "
                "needs at least 2 actions to choose between"
            )
        self.classes_ = classes
        if self.reference is None:
            self.reference_ = classes[0]
        else:
            # Compared one by one: an array of numbers == a string label warns.
            match = np.flatnonzero([c == self.reference for c in classes])
            if match.size == 0:
                raise ValueError(
                    f"reference={self.reference!r} is not one of the actions "
                    f"{[label(c) for c in classes]}"
                )
            self.reference_ = classes[match[0]]

    def _codes(self, y):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, self.classes_.size - 1)
        unknown = np.flatnonzero(self.classes_[codes] != y)
        if unknown.size:
            i = int(unknown[0])
            raise ValueError(
                f"y[{i}] = {label(y[i])} is not an action the policy knows; its "
                f"actions are {[label(c) for c in self.classes_]}"
            )
        return codes

    def _block(
        self,
        X,
        y=None,
        sample_weight=None,
        available_actions=None,
        action_features=None,
        *,
        reset,
    ):
        """Validate states, actions, mask and action features into the loss's block.

        Returns
        -------
        data : ChoiceData
        situation_features : SituationFeatures
        """
        if reset and y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None: give the logged action of every state"
            )
        S, y = self._states(X, y, reset)
        n = S.shape[0]
        n_columns = None
        mask = None
        if available_actions is not None:
            mask = check_array(
                available_actions, dtype=None, input_name="available_actions"
            )
            if mask.dtype != bool:
                if not np.all(np.isin(mask, (0, 1))):
                    raise ValueError(
                        "available_actions must be a boolean mask (True = available) "
                        "of shape (n_samples, n_actions)"
                    )
                mask = mask.astype(bool)
            n_columns = mask.shape[1]
        phi = None
        if action_features is not None:
            phi = check_array(
                action_features,
                allow_nd=True,
                ensure_all_finite=False,
                dtype=[np.float64, np.float32],
                input_name="action_features",
            )
            if phi.ndim != 3:
                raise ValueError(
                    "action_features must have shape (n_samples, n_actions, "
                    f"n_action_features), got {phi.shape}"
                )
            if n_columns is not None and phi.shape[1] != n_columns:
                raise ValueError(
                    f"action_features has {phi.shape[1]} actions (axis 1) but "
                    f"available_actions has {n_columns} columns"
                )
            n_columns = phi.shape[1]
        for name, arr in (("available_actions", mask), ("action_features", phi)):
            if arr is not None and arr.shape[0] != n:
                raise ValueError(
                    f"{name} has {arr.shape[0]} rows but X has {n} samples: give one "
                    "row per sample"
                )
        if reset:
            self._encode(y, n_columns)
            self.n_action_features_ = 0 if phi is None else phi.shape[2]
        else:
            check_is_fitted(self)
            if n_columns is not None and n_columns != self.classes_.size:
                raise ValueError(
                    f"available_actions / action_features have {n_columns} columns "
                    f"but the policy has {self.classes_.size} actions"
                )
            n_phi = 0 if phi is None else phi.shape[2]
            if n_phi != self.n_action_features_:
                raise ValueError(
                    f"the policy was fitted with {self.n_action_features_} action "
                    f"feature(s), got {n_phi}: pass action_features= as in fit"
                )
        J = self.classes_.size
        if mask is None:
            rows, sizes = None, None
            segments = RegularSegments(n, J)
        else:
            sizes = mask.sum(axis=1)
            empty = np.flatnonzero(sizes == 0)
            if empty.size:
                raise ValueError(
                    f"available_actions has no available action in sample "
                    f"{int(empty[0])} ({empty.size} sample(s) in all): every state "
                    "needs at least one"
                )
            rows = np.flatnonzero(mask.ravel())
            segments = make_segments(sizes)
            if rows.size == n * J:
                rows = None
        if phi is None:
            features = np.zeros((n * J if rows is None else rows.size, 0))
        else:
            flat = phi.reshape(n * J, phi.shape[2])
            features = np.ascontiguousarray(flat if rows is None else flat[rows])
            if not np.all(np.isfinite(features)):
                bad = int(np.flatnonzero(~np.isfinite(features).all(axis=1))[0])
                flat_row = bad if rows is None else int(rows[bad])
                raise ValueError(
                    f"action_features is NaN or inf for available action "
                    f"{label(self.classes_[flat_row % J])} of sample {flat_row // J}"
                )
        y_rows = w = None
        if y is not None:
            codes = self._codes(y)
            if codes.shape[0] != n:
                raise ValueError(
                    f"y has {codes.shape[0]} entries but X has {n} samples: they "
                    "must have the same length"
                )
            if mask is not None and not np.all(mask[np.arange(n), codes]):
                i = int(np.flatnonzero(~mask[np.arange(n), codes])[0])
                raise ValueError(
                    f"the logged action {label(self.classes_[codes[i]])} of sample {i} "
                    "is unavailable in available_actions: the logged action must be "
                    "available"
                )
            onehot = np.zeros((n, J))
            onehot[np.arange(n), codes] = 1.0
            y_rows = onehot.ravel() if rows is None else onehot.ravel()[rows]
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, S, dtype=np.float64)
            if np.any(w < 0):
                i = int(np.flatnonzero(w < 0)[0])
                raise ValueError(
                    f"sample_weight[{i}] is negative: weights must be >= 0"
                )
        Z = S.astype(np.float64, copy=False)
        if self.fit_intercept:
            Z = np.hstack([Z, np.ones((n, 1))])
        data = ChoiceData(
            X=features,
            segments=segments,
            y=y_rows,
            sample_weight=w,
            rows=rows,
            output_shape=(n, J),
            situation_labels=np.arange(n),
            dense=True,
        )
        reference = int(np.flatnonzero(self.classes_ == self.reference_)[0])
        alternatives = None if rows is None else rows % J
        zf = SituationFeatures(Z, J, alternatives, reference)
        return data, zf

    # ------------------------------------------------------------------ layout
    def _coef_vector(self):
        J = self.classes_.size
        free = np.delete(np.arange(J), self._reference_index())
        gamma = self.coef_
        if self.fit_intercept:
            gamma = np.hstack([gamma, self.intercept_[:, None]])
        return np.concatenate([self.action_coef_, gamma[free].ravel()])

    def _reference_index(self):
        return int(np.flatnonzero(self.classes_ == self.reference_)[0])

    def _set_coef(self, theta):
        K = self.n_action_features_
        J = self.classes_.size
        P = self.n_features_in_
        self.action_coef_ = np.asarray(theta[:K], dtype=float)
        gamma = np.zeros((J, P + int(self.fit_intercept)))
        free = np.delete(np.arange(J), self._reference_index())
        gamma[free] = np.reshape(theta[K:], (J - 1, -1))
        self.coef_ = gamma[:, :P].copy()
        self.intercept_ = gamma[:, P].copy() if self.fit_intercept else np.zeros(J)

    def _state_names(self):
        if hasattr(self, "feature_names_in_"):
            return [str(n) for n in self.feature_names_in_]
        return [f"x{k}" for k in range(self.n_features_in_)]

    def coef_names(self):
        """Names of the free parameters, in the order of ``coef=`` vectors.

        Returns
        -------
        list of str
            ``phi<k>`` for the action features, then ``<feature>[<action>]``
            for each non-reference action (``intercept[<action>]`` last).
        """
        check_is_fitted(self)
        return self._coef_names()

    def _coef_names(self):
        names = [f"phi{k}" for k in range(self.n_action_features_)]
        per_action = self._state_names() + (["intercept"] if self.fit_intercept else [])
        reference = self._reference_index()
        for j, action in enumerate(self.classes_):
            if j != reference:
                names += [f"{f}[{action}]" for f in per_action]
        return names

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X, y, sample_weight=None, *, available_actions=None, action_features=None
    ):
        """Fit the policy by maximum likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            State features.
        y : array-like of shape (n_samples,)
            Logged actions (labels).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.
        available_actions : array-like of shape (n_samples, n_actions), bool, \
                default=None
            Actions available in each state (columns in ``classes_`` order).
        action_features : array-like of shape (n_samples, n_actions, \
                n_action_features), default=None
            Features ``phi(s, a)`` with coefficients shared by the actions.

        Returns
        -------
        self : object
        """
        if is_dask_collection(X):
            return dask_fit(
                self,
                X,
                y,
                sample_weight,
                available_actions=available_actions,
                action_features=action_features,
            )
        data, zf = self._block(
            X, y, sample_weight, available_actions, action_features, reset=True
        )
        loss = LinearChoiceLoss(data, alpha=self.alpha, situation_features=zf)
        previous = self._coef_vector() if hasattr(self, "coef_") else None
        result = self._fit_loss(
            loss,
            previous,
            f"they are {np.size(previous)} parameters",
            self._coef_names(),
            reference=self._training_reference(loss, X),
        )
        self._set_coef(result.coef)
        return self

    # ------------------------------------------------------- inference hooks
    def _dask_covariance_matrix(self, X, y, sample_weight, **params):
        return dask_covariance_matrix(self, X, y, sample_weight, **params)

    def _inference_loss(
        self, X, y, sample_weight, available_actions=None, action_features=None
    ):
        data, zf = self._block(
            X, y, sample_weight, available_actions, action_features, reset=False
        )
        return LinearChoiceLoss(data, situation_features=zf, engine="numpy")

    def _row_alternatives(self, X, data, key):
        # Codes of the actions, not their labels: only their identity matters.
        J = self.classes_.size
        if data.rows is None:
            return np.tile(np.arange(J), data.n_situations)
        return data.rows % J

    def _contains_constants(self, data, alternatives):
        return bool(self.fit_intercept)

    # --------------------------------------------------------------- predict
    def _utilities(self, X, available_actions, action_features, theta=None):
        check_is_fitted(self)
        data, zf = self._block(
            X, None, None, available_actions, action_features, reset=False
        )
        theta = self._coef_vector() if theta is None else self._check_theta(theta)
        return data, utilities(data, zf, theta)

    def _check_theta(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        n_params = self._coef_vector().size
        if theta.shape != (n_params,):
            raise ValueError(
                f"coef must be a vector of the policy's {n_params} free parameters "
                "(in the order of coef_names()), got shape "
                f"{theta.shape}"
            )
        return theta

    def decision_function(self, X, *, available_actions=None, action_features=None):
        """Utilities (logits) of the actions in each state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        available_actions, action_features : array-like, default=None
            As in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_actions), or (n_samples,) for two actions
            -inf for unavailable actions. With two actions, as sklearn's binary
            classifiers: the log-odds ``u_1 - u_0`` of ``classes_[1]``.
        """
        if is_dask_collection(X):
            return dask_predict(
                self,
                "decision_function",
                X,
                available_actions=available_actions,
                action_features=action_features,
            )
        data, u = self._utilities(X, available_actions, action_features)
        out = data.to_user_layout(u, -np.inf)
        if self.classes_.size == 2:
            with np.errstate(invalid="ignore"):
                return out[:, 1] - out[:, 0]
        return out

    def predict_log_proba(
        self, X, *, available_actions=None, action_features=None, coef=None
    ):
        """Log-probabilities ``log pi(a|s)``, -inf where an action is unavailable.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        available_actions, action_features : array-like, default=None
            As in :meth:`fit`.
        coef : array-like of shape (n_params,), default=None
            Evaluate at these parameters (the order of
            ``coef_names()``) instead of the fitted ones; the
            estimator is not changed.

        Returns
        -------
        ndarray of shape (n_samples, n_actions)
        """
        if is_dask_collection(X):
            return dask_predict(
                self,
                "predict_log_proba",
                X,
                available_actions=available_actions,
                action_features=action_features,
                coef=coef,
            )
        data, u = self._utilities(X, available_actions, action_features, coef)
        lse, _ = segment_logsumexp(u, data.segments)
        logp = np.minimum(u - data.segments.expand(lse), 0.0)
        return data.to_user_layout(logp, -np.inf)

    def predict_proba(
        self, X, *, available_actions=None, action_features=None, coef=None
    ):
        """Action probabilities ``pi(a|s)`` (n_samples, n_actions); 0 if unavailable.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        available_actions, action_features : array-like, default=None
            As in :meth:`fit`.
        coef : array-like of shape (n_params,), default=None
            As in :meth:`predict_log_proba`.

        Returns
        -------
        ndarray of shape (n_samples, n_actions)
            Rows sum to 1.
        """
        if is_dask_collection(X):
            return dask_predict(
                self,
                "predict_proba",
                X,
                available_actions=available_actions,
                action_features=action_features,
                coef=coef,
            )
        data, u = self._utilities(X, available_actions, action_features, coef)
        _, proba = segment_logsumexp(u, data.segments)
        return data.to_user_layout(proba, 0.0)

    def predict(self, X, *, available_actions=None, action_features=None):
        """Most probable action of each state (the first on ties).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        available_actions, action_features : array-like, default=None
            As in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        if is_dask_collection(X):
            return dask_predict(
                self,
                "predict",
                X,
                available_actions=available_actions,
                action_features=action_features,
            )
        data, u = self._utilities(X, available_actions, action_features)
        best = data.segments.argmax(u)
        return self.classes_[data.user_alternative(best)]

    def score(
        self,
        X,
        y,
        sample_weight=None,
        *,
        available_actions=None,
        action_features=None,
    ):
        """Weighted mean log-likelihood per sample; higher is better.

        Not the accuracy of sklearn's classifiers: ``GridSearchCV(scoring=None)``
        then selects by out-of-sample log-likelihood (the negative log loss).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        available_actions, action_features : array-like, default=None
            As in :meth:`fit`.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            return dask_score(
                self,
                X,
                y,
                sample_weight,
                available_actions=available_actions,
                action_features=action_features,
            )
        loss = self._inference_loss(
            X, y, sample_weight, available_actions, action_features
        )
        return loss.log_likelihood(self._coef_vector()) / loss.weight_sum

    def score_vectors(
        self, X, y, *, available_actions=None, action_features=None, coef=None
    ):
        """Per-sample score vectors ``grad_theta log pi(a|s)`` (eligibility vectors).

        ``phi(s, a) - E_pi[phi(s, .)]`` for the logged action of each sample, with
        ``phi`` the full feature vector of the parameters: the action features,
        and the state features (and intercept) in the block of each non-reference
        action. A policy-gradient (REINFORCE) estimate with per-sample weights
        ``w`` (returns minus a baseline, advantages) is
        ``w @ score_vectors(X, a) / len(w)``: see :meth:`policy_gradient`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The actions whose log-probability is differentiated.
        available_actions, action_features : array-like, default=None
            As in :meth:`fit`.
        coef : array-like of shape (n_params,), default=None
            Evaluate at these parameters instead of the fitted ones.

        Returns
        -------
        ndarray of shape (n_samples, n_params)
            Columns in the order of :meth:`coef_names`.
        """
        check_is_fitted(self)
        loss = self._inference_loss(X, y, None, available_actions, action_features)
        theta = self._coef_vector() if coef is None else self._check_theta(coef)
        return loss.moments(theta).scores

    def policy_gradient(
        self, X, y, weights, *, available_actions=None, action_features=None, coef=None
    ):
        """REINFORCE estimate ``mean_i w_i grad log pi(a_i|s_i)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Actions taken.
        weights : array-like of shape (n_samples,)
            Signed weights: returns, returns minus a baseline, advantages, or
            importance-weighted rewards.
        available_actions, action_features, coef
            As in :meth:`score_vectors`.

        Returns
        -------
        ndarray of shape (n_params,)
        """
        weights = np.asarray(weights, dtype=np.float64)
        scores = self.score_vectors(
            X,
            y,
            available_actions=available_actions,
            action_features=action_features,
            coef=coef,
        )
        if weights.shape != (scores.shape[0],):
            raise ValueError(
                f"weights has shape {weights.shape}; give one weight per sample "
                f"({scores.shape[0]})"
            )
        return weights @ scores / scores.shape[0]

    def _logits(self, X, available_actions, action_features, coef=None):
        """(n_samples, n_actions) utilities, -inf where unavailable (any J)."""
        data, u = self._utilities(X, available_actions, action_features, coef)
        return data.to_user_layout(u, -np.inf)

    def sample(
        self,
        X,
        n_draws=None,
        *,
        available_actions=None,
        action_features=None,
        temperature=1.0,
        epsilon=0.0,
        random_state=None,
    ):
        """Draw actions from the policy, with the propensity of each draw.

        What a logging system records: the action played and the probability
        with which it was played. ``temperature`` rescales the logits and
        ``epsilon`` mixes with the uniform policy over the available actions;
        the propensities are exact for the policy actually sampled (see
        :func:`skpolicy.sampling.softmax_probabilities`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_draws : int, default=None
            Independent draws per state; None draws one and returns 1-D arrays.
        available_actions, action_features : array-like, default=None
            As in :meth:`fit`.
        temperature : float, default=1.0
        epsilon : float in [0, 1], default=0.0
        random_state : int, RandomState or Generator, default=None

        Returns
        -------
        actions : ndarray of shape (n_samples,) or (n_samples, n_draws)
            Labels from ``classes_``.
        propensities : ndarray of the same shape
        """
        logits = self._logits(X, available_actions, action_features)
        codes, propensities = sample_actions(
            logits,
            n_draws,
            temperature=temperature,
            epsilon=epsilon,
            random_state=random_state,
        )
        return self.classes_[codes], propensities

    def sample_rankings(
        self,
        X,
        k,
        *,
        available_actions=None,
        action_features=None,
        temperature=1.0,
        epsilon=0.0,
        random_state=None,
    ):
        """Top-``k`` rankings without replacement (Plackett-Luce), with probabilities.

        The ranking form of the same softmax model: the first action is drawn
        from ``pi(.|s)``, the next from the softmax over the remaining actions,
        and so on (see :func:`skpolicy.sampling.sample_rankings`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        k : int
            Length of the rankings (at most the number of available actions).
        available_actions, action_features, temperature, epsilon, random_state
            As in :meth:`sample`.

        Returns
        -------
        rankings : ndarray of shape (n_samples, k)
            Labels from ``classes_``, best first.
        log_proba : ndarray of shape (n_samples,)
            Log-probability of each ranking.
        """
        logits = self._logits(X, available_actions, action_features)
        codes, log_proba = sample_rankings(
            logits,
            k,
            temperature=temperature,
            epsilon=epsilon,
            random_state=random_state,
        )
        return self.classes_[codes], log_proba

    # ------------------------------------------------------ marginal effects
    def average_marginal_effects(
        self,
        X,
        *,
        available_actions=None,
        action_features=None,
        cov_type="hessian",
        y=None,
        groups=None,
        confidence=0.95,
    ):
        """Average marginal effects of the state features on each action's probability.

        ``mean_s d pi(a|s) / d x_k = mean_s pi_sa (gamma_ak - sum_b pi_sb gamma_bk)``
        (Stata's ``margins, dydx(*)``, statsmodels' ``get_margeff()``), with
        delta-method standard errors from the coefficients' covariance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States over which the effects are averaged (usually the training data).
        available_actions, action_features : array-like, default=None
            As in :meth:`fit`.
        cov_type : str, default="hessian"
            Covariance of the coefficients (see :meth:`covariance_matrix`); types
            other than ``"hessian"`` need ``y`` (and X the training data).
        y : array-like of shape (n_samples,), default=None
            The logged actions, for ``cov_type`` other than ``"hessian"``.
        groups : array-like, default=None
            Cluster ids for ``cov_type="cluster"``.
        confidence : float, default=0.95

        Returns
        -------
        pandas DataFrame
            Indexed by (action, feature), with columns ``dy/dx``, ``std err``,
            ``z``, ``P>|z|`` and the interval bounds.
        """
        check_is_fitted(self)
        data, zf = self._block(
            X, None, None, available_actions, action_features, reset=False
        )
        P = self.n_features_in_

        def effects(theta):
            u = utilities(data, zf, theta)
            _, proba = segment_logsumexp(u, data.segments)
            pi = data.to_user_layout(proba, 0.0)  # (n, J)
            gamma = zf.gamma_matrix(theta[self.n_action_features_ :])[:, :P]  # (J, P)
            mean_gamma = pi @ gamma  # (n, P)
            # d pi_a / d x_k = pi_a (gamma_ak - sum_b pi_b gamma_bk), averaged.
            dydx = np.einsum("sa,ak->ak", pi, gamma) - np.einsum(
                "sa,sk->ak", pi, mean_gamma
            )
            return (dydx / pi.shape[0]).ravel()

        theta = self._coef_vector()
        if cov_type == "hessian" and y is None:
            cov = self.covariance_matrix(cov_type="hessian").to_numpy()
        else:
            cov = self.covariance_matrix(
                X,
                y,
                cov_type=cov_type,
                groups=groups,
                available_actions=available_actions,
                action_features=action_features,
            ).to_numpy()
        value = effects(theta)
        # Jacobian by central differences (as statsmodels' margins use numerical
        # derivatives); the effects are smooth in theta.
        jac = np.empty((value.size, theta.size))
        for k in range(theta.size):
            h = 1e-6 * max(1.0, abs(theta[k]))
            step = np.zeros_like(theta)
            step[k] = h
            jac[:, k] = (effects(theta + step) - effects(theta - step)) / (2 * h)
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", jac, cov, jac), 0.0))
        index = pd.MultiIndex.from_product(
            [list(self.classes_), self._state_names()], names=["action", "feature"]
        )
        return estimate_table(
            pd.Series(value, index=index),
            pd.Series(se, index=index),
            confidence,
            name="dy/dx",
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags
