"""SoftmaxChoiceEstimator: the conditional logit / linear softmax policy estimator."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._dask import (
    dask_covariance_matrix,
    dask_fit,
    dask_predict,
    dask_score,
    is_dask_collection,
)
from ._data import (
    check_choice_format,
    check_fit_block,
    dense_block,
    is_dense,
    long_block,
    split_situations,
    user_stacklevel,
    varying_features,
)
from ._inference import ChoiceInferenceMixin
from ._linear_loss import LinearChoiceLoss
from ._softmax import segment_logsumexp
from ._solvers import SOLVERS
from .exceptions import SingleAlternativeWarning


class SoftmaxChoiceEstimator(ChoiceInferenceMixin, BaseEstimator):
    """Conditional logit (McFadden) choice model / linear softmax policy.

    Each choice situation ``s`` offers a set of alternatives ``a`` with feature
    vectors ``phi(s, a)``; the model is::

        pi(a | s) = exp(phi(s, a) @ coef_) / sum_k exp(phi(s, k) @ coef_)

    fitted by (optionally L2-penalised) maximum likelihood with
    ``scipy.optimize.minimize`` and the analytic score ``phi(s, a) - E_pi[phi(s, .)]``
    as the gradient (and the exact Hessian ``-Cov_pi[phi(s, .)]`` for Newton-type
    solvers).

    X comes in one of two formats, which carry the situation structure through
    Pipelines and cross-validation:

    - **long**: a pandas DataFrame with one row per available (situation,
      alternative) pair, the situation id in the index (level ``situation_key``,
      by default level 0 of a MultiIndex) or in a column named ``situation_key``;
      ``y`` holds 1 for a chosen row and 0 otherwise (or counts >= 0);
    - **dense**: an ndarray of shape (n_situations, n_alternatives, n_features),
      with all-NaN feature rows for unavailable alternatives; ``y`` holds the chosen
      alternative's index, shape (n_situations,), or counts of shape
      (n_situations, n_alternatives).

    Parameters
    ----------
    alpha : float, default=0.0
        L2 penalty ``alpha/2 ||coef||^2`` added to the mean negative
        log-likelihood per choice; its meaning does not depend on the sample size.
        0 gives plain maximum likelihood.
    solver : {"auto", "newton-cholesky", "lbfgs", "trust-exact", "trust-ncg", \
            "trust-krylov"}, default="auto"
        Method of ``scipy.optimize.minimize``. ``"newton-cholesky"`` takes exact
        Newton steps (Hessian and gradient come from one pass over the data) with a
        backtracking line search; ``"lbfgs"`` is L-BFGS-B with the analytic
        gradient; the ``"trust-*"`` methods are scipy's trust-region Newton methods
        with the exact Hessian (they cannot reach tolerances much below 1e-8, where
        changes of the objective drown in rounding). ``"auto"`` picks
        ``"newton-cholesky"`` up to 500 features and ``"lbfgs"`` beyond.
    max_iter : int, default=100
        Maximum number of solver iterations.
    tol : float, default=1e-8
        Stop when every component of the gradient of the objective (mean
        negative log-likelihood per choice plus penalty), taken with respect to
        the coefficients of the features standardised within situations, is at
        most ``tol`` in absolute value: ``max_k |grad_k| / s_k <= tol`` with
        ``s_k`` the square root of the k-th diagonal entry of the objective's
        Hessian at ``coef = 0``. The rule, and every solver's steps, do not
        change when a feature is rescaled.
    warm_start : bool, default=False
        Start from the previous ``coef_`` instead of zeros.
    situation_key : int or str, default=0
        Where the situation id of long data is: an index level (position or name)
        or, for a str that is not a level name, a column (which is then not a
        feature).
    verbose : int, default=0
        Print the objective and gradient at every iteration when > 0.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Estimated coefficients.
    n_features_in_ : int
        Number of features.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when X was a DataFrame with string column names.
    n_iter_ : int
        Number of solver iterations.
    n_situations_ : int
        Number of situations in the training data.
    n_choices_ : float
        Weighted number of choices ``W = sum_s w_s n_s`` in the training data.
    log_likelihood_ : float
        Maximised (weighted) log-likelihood ``sum_s w_s sum_a y_sa log pi(a|s)``
        at ``coef_``, without the penalty.
    null_log_likelihood_ : float
        Log-likelihood of equal shares over each situation's alternatives.
    solver_ : str
        The solver used (``"auto"`` resolved).
    converged_ : bool
        Whether the gradient criterion was met.

    See Also
    --------
    skpolicy.model_selection.SituationKFold : cross-validation by situation.
    skpolicy.metrics : choice scorers (hit rate, McFadden rho-squared).

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 4, 2))            # 500 situations, 4 alternatives
    >>> u = X @ np.array([1.0, -0.5])
    >>> y = (u + rng.gumbel(size=u.shape)).argmax(axis=1)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> est.predict_proba(X[:1]).round(2)
    array([[0.22, 0.31, 0.09, 0.37]])
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", *SOLVERS})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "situation_key": [Integral, str],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        alpha=0.0,
        solver="auto",
        max_iter=100,
        tol=1e-8,
        warm_start=False,
        situation_key=0,
        verbose=0,
    ):
        self.alpha = alpha
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.situation_key = situation_key
        self.verbose = verbose

    # ------------------------------------------------------------------ data
    def _choice_data(self, X, y=None, sample_weight=None, *, reset):
        """Validate X (and y, sample_weight) into a canonical ChoiceData block."""
        if is_dense(X):
            if np.iscomplexobj(X):
                raise ValueError(
                    "X holds complex numbers: features must be real. Take the real "
                    "part or the modulus yourself if that is what you mean"
                )
            X = check_array(
                X,
                allow_nd=True,
                ensure_all_finite=False,
                dtype=[np.float64, np.float32],
                input_name="X",
            )
            if reset:
                self.n_features_in_ = X.shape[2]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            else:
                if X.shape[2] != self.n_features_in_:
                    raise ValueError(
                        f"X has {X.shape[2]} features (last axis), but "
                        f"{type(self).__name__} is expecting {self.n_features_in_} "
                        "features as input."
                    )
                if hasattr(self, "feature_names_in_"):
                    # sklearn's own warning for unnamed X (validate_data cannot
                    # check a 3-D array: it would count axis 1 as the features).
                    warnings.warn(
                        "X does not have valid feature names, but "
                        f"{type(self).__name__} was fitted with feature names",
                        UserWarning,
                        stacklevel=user_stacklevel(),
                    )
            return dense_block(X, y, sample_weight)
        check_choice_format(X)
        features, situation_ids = split_situations(X, self.situation_key)
        validate_data(self, features, reset=reset, skip_check_array=True)
        return long_block(features, situation_ids, y, sample_weight)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        X : pandas DataFrame of shape (n_rows, n_features) or ndarray of shape \
                (n_situations, n_alternatives, n_features)
            Long or dense choice data (see the class docstring).
        y : array-like of shape (n_rows,), (n_situations,) or \
                (n_situations, n_alternatives)
            Long: 1/0 (or counts) per row. Dense: chosen alternative's index, or
            counts.
        sample_weight : array-like of shape (n_rows,) or (n_situations,), \
                default=None
            Weight of each situation (long: per row, constant within a situation).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if is_dask_collection(X):
            return dask_fit(self, X, y, sample_weight)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None: give the choices (1/0 per long row, or chosen indices)"
            )
        data = self._choice_data(X, y, sample_weight, reset=True)
        # Situations without a choice (a split that cut them) are an error: say so
        # before warning about anything else.
        check_fit_block(data)
        n_single = int(np.sum(data.segments.sizes == 1))
        if n_single:
            warnings.warn(
                f"{n_single} situation(s) offer a single alternative: they carry no "
                "information about the coefficients (their probability is 1) and "
                "only count in n_situations_",
                SingleAlternativeWarning,
                stacklevel=user_stacklevel(),
            )
        constant = ~varying_features(data)
        if np.any(constant):
            names = self._feature_names()[constant]
            raise ValueError(
                f"feature(s) {list(names)} are constant within every situation, so "
                "they shift all utilities of a situation equally and cannot be "
                "estimated (a conditional logit has no intercept). Drop them, or "
                "interact them with alternative indicators."
            )
        loss = LinearChoiceLoss(data, alpha=self.alpha)
        previous = getattr(self, "coef_", None)
        result = self._fit_loss(
            loss,
            previous,
            f"coef_ has shape {np.shape(previous)}",
            list(self._feature_names()),
            reference=self._training_reference(loss, None if is_dense(X) else X),
        )
        self.coef_ = result.coef
        return self

    # ------------------------------------------------------- inference hooks
    def _dask_covariance_matrix(self, X, y, sample_weight, **params):
        return dask_covariance_matrix(self, X, y, sample_weight, **params)

    def _inference_loss(self, X, y, sample_weight):
        data = self._choice_data(X, y, sample_weight, reset=False)
        return LinearChoiceLoss(data, engine="numpy")

    def _coef_vector(self):
        return np.asarray(self.coef_, dtype=np.float64)

    def _coef_names(self):
        return [str(n) for n in self._feature_names()]

    def _feature_names(self):
        if hasattr(self, "feature_names_in_"):
            return np.asarray(self.feature_names_in_, dtype=object)
        return np.array([f"x{k}" for k in range(self.n_features_in_)], dtype=object)

    # --------------------------------------------------------------- predict
    def _utilities(self, X, sample_weight=None):
        check_is_fitted(self)
        data = self._choice_data(X, None, sample_weight, reset=False)
        u = (data.X @ self.coef_.astype(data.X.dtype)).astype(np.float64, copy=False)
        return data, u

    def decision_function(self, X):
        """Utility ``phi(s, a) @ coef_`` of each alternative.

        Parameters
        ----------
        X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
                n_features)

        Returns
        -------
        ndarray of shape (n_rows,) or (n_situations, n_alternatives)
            Dense: -inf where an alternative is unavailable.
        """
        if is_dask_collection(X):
            return dask_predict(self, "decision_function", X)
        data, u = self._utilities(X)
        return data.to_user_layout(u, -np.inf)

    def predict_log_proba(self, X):
        """Log-probability ``log pi(a|s)`` of each alternative.

        Parameters
        ----------
        X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
                n_features)

        Returns
        -------
        ndarray of shape (n_rows,) or (n_situations, n_alternatives)
            Dense: -inf where an alternative is unavailable.
        """
        if is_dask_collection(X):
            return dask_predict(self, "predict_log_proba", X)
        data, u = self._utilities(X)
        lse, _ = segment_logsumexp(u, data.segments)
        return data.to_user_layout(u - data.segments.expand(lse), -np.inf)

    def predict_proba(self, X):
        """Probability ``pi(a|s)`` of each alternative; sums to 1 per situation.

        Parameters
        ----------
        X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
                n_features)

        Returns
        -------
        ndarray of shape (n_rows,) or (n_situations, n_alternatives)
            Dense: 0 where an alternative is unavailable.
        """
        if is_dask_collection(X):
            return dask_predict(self, "predict_proba", X)
        data, u = self._utilities(X)
        _, proba = segment_logsumexp(u, data.segments)
        return data.to_user_layout(proba, 0.0)

    def score_samples(self, X):
        """Conditional log-density ``log pi(a|s)`` of each (situation, alternative).

        In the long format each row is one (s, a) sample, so this is the
        log-probability of that row's alternative (e.g. the log-propensity of a
        logged action). In the dense format it is given for every pair.

        Parameters
        ----------
        X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
                n_features)

        Returns
        -------
        ndarray of shape (n_rows,) or (n_situations, n_alternatives)
        """
        return self.predict_log_proba(X)

    def predict(self, X):
        """Most probable alternative of each situation (the first one on ties).

        Parameters
        ----------
        X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
                n_features)

        Returns
        -------
        ndarray of shape (n_rows,) or (n_situations,)
            Long: 1 on each situation's most probable row, 0 elsewhere. Dense: the
            index of the most probable alternative.
        """
        if is_dask_collection(X):
            return dask_predict(self, "predict", X)
        data, u = self._utilities(X)
        best = data.segments.argmax(u)
        if data.dense:
            return data.user_alternative(best)
        indicator = np.zeros(data.X.shape[0], dtype=np.int64)
        indicator[best] = 1
        return data.to_user_layout(indicator, 0)

    def score(self, X, y, sample_weight=None):
        """Weighted mean log-likelihood per choice; higher is better.

        ``sum_s w_s sum_a y_sa log pi(a|s) / sum_s w_s n_s``: the negative of the
        unpenalised objective, so that ``GridSearchCV(scoring=None)`` selects by
        out-of-sample log-likelihood.

        Parameters
        ----------
        X : pandas DataFrame or ndarray of shape (n_situations, n_alternatives, \
                n_features)
        y : array-like
            Choices, as in :meth:`fit`.
        sample_weight : array-like, default=None
            Situation weights, as in :meth:`fit`.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            return dask_score(self, X, y, sample_weight)
        data = self._choice_data(X, y, sample_weight, reset=False)
        loss = LinearChoiceLoss(data)
        return loss.log_likelihood(self.coef_) / loss.weight_sum

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags


def evaluate_utilities(estimator, X, sample_weight=None):
    """Canonical block of X and the fitted utilities of its rows.

    The entry point of the analysis layer (post-estimation) into a fitted
    :class:`SoftmaxChoiceEstimator`: it validates X as the estimator's prediction
    methods do.

    Parameters
    ----------
    estimator : fitted SoftmaxChoiceEstimator
    X : pandas DataFrame or ndarray
        Long or dense choice data.
    sample_weight : array-like, default=None
        Situation weights (kept in the block).

    Returns
    -------
    data : ChoiceData
    utilities : ndarray of shape (n_rows,)
    """
    return estimator._utilities(X, sample_weight)
