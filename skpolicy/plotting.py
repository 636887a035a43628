"""Plots of fitted choice models and policies, in scikit-learn's Display style.

Each display is made by a class method, ``from_estimator`` (a fitted model and
data), ``from_predictions`` (arrays) or ``from_table`` / ``from_weights``, which
computes what is drawn, stores it on the display and calls :meth:`plot`.
``plot(ax=None, ...)`` draws on the given matplotlib axes (a new figure when None),
sets ``ax_``, ``figure_`` and the artists, and returns the display; call it again
to draw the same numbers elsewhere.

- :class:`CoefficientDisplay`: coefficients with confidence intervals, for any
  covariance type of :func:`skpolicy.inference.coef_table`;
- :class:`ShareCalibrationDisplay`: observed against predicted shares of each
  alternative (or action), with binomial intervals on the observed shares: the
  calibration of a choice model, informative on data it was not fitted on;
- :class:`ImportanceWeightDisplay`: the distribution of the importance weights
  ``pi_target(a|s) / pi_behaviour(a|s)`` of logged actions and their effective
  sample size, which tell whether two policies overlap enough for off-policy
  evaluation.

matplotlib is imported only when something is drawn; it comes with the ``plot``
extra: ``pip install "skpolicy[plot]"``.
"""

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.pipeline import Pipeline

from ._data import is_dense, key_values, label

__all__ = [
    "CoefficientDisplay",
    "ImportanceWeightDisplay",
    "ShareCalibrationDisplay",
]


def _pyplot(caller):
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed: "
            'pip install "skpolicy[plot]"'
        ) from exc
    return plt


def _axes(ax, caller):
    plt = _pyplot(caller)
    if ax is None:
        _, ax = plt.subplots()
    return ax, ax.figure


def _final_step(model):
    """The last step of a Pipeline (or a fitted search's refitted model)."""
    if isinstance(model, Pipeline):
        model = model.steps[-1][1]
    best = getattr(model, "best_estimator_", None)
    return model if best is None else _final_step(best)


def _interval_columns(table):
    """The lower and upper interval columns of a coefficient table, if any."""
    lower = [c for c in table.columns if isinstance(c, str) and c.startswith("[")]
    upper = [c for c in table.columns if isinstance(c, str) and c.endswith("]")]
    if len(lower) == 1 and len(upper) == 1:
        return lower[0], upper[0]
    return None


# --------------------------------------------------------------------------------
# Coefficients
# --------------------------------------------------------------------------------


class CoefficientDisplay:
    """Coefficients with confidence intervals.

    One row per coefficient, the first at the top: the estimate as a point, its
    interval as a horizontal bar, and a vertical line at zero. Create it with
    :meth:`from_estimator` or :meth:`from_table`; the constructor only stores
    numbers.

    Parameters
    ----------
    coef : pandas Series
        Estimates, indexed by the coefficient names.
    lower, upper : pandas Series
        Interval bounds, with the index of ``coef``.
    confidence : float, default=None
        Level of the intervals, for the axis label.
    cov_type : str, default=None
        Covariance the intervals come from, for the axis label.
    estimator_name : str, default=None
        Legend label; no legend when None.

    Attributes
    ----------
    errorbar_ : matplotlib ErrorbarContainer
        Estimates (``errorbar_.lines[0]``) and interval bars.
    zero_line_ : matplotlib Line2D
        The vertical line at 0.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    skpolicy.inference.coef_table : The table drawn.

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.plotting import CoefficientDisplay
    >>> X, y = make_choice_data(500, 4, 3, format="long", random_state=0)
    >>> est = SoftmaxChoiceEstimator().fit(X, y)
    >>> disp = CoefficientDisplay.from_estimator(est, X, y, cov_type="robust")
    >>> disp.coef.index.tolist()
    ['x0', 'x1', 'x2']
    >>> bool((disp.lower < disp.coef).all() and (disp.coef < disp.upper).all())
    True
    """

    def __init__(
        self, *, coef, lower, upper, confidence=None, cov_type=None, estimator_name=None
    ):
        self.coef = pd.Series(coef, dtype=float)
        self.lower = pd.Series(lower, index=self.coef.index, dtype=float)
        self.upper = pd.Series(upper, index=self.coef.index, dtype=float)
        self.confidence = confidence
        self.cov_type = cov_type
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the coefficients and their intervals.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Legend label; ``estimator_name`` when None (no legend if both are).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        display : CoefficientDisplay
        """
        ax, fig = _axes(ax, f"{type(self).__name__}.plot")
        name = self.estimator_name if name is None else name
        position = np.arange(len(self.coef))[::-1]
        coef = self.coef.to_numpy()
        xerr = np.vstack([coef - self.lower.to_numpy(), self.upper.to_numpy() - coef])
        style = {"fmt": "o", "capsize": 3}
        if name is not None:
            style["label"] = name
        self.errorbar_ = ax.errorbar(coef, position, xerr=xerr, **{**style, **kwargs})
        self.zero_line_ = ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(position)
        ax.set_yticklabels([str(n) for n in self.coef.index])
        label = "coefficient"
        details = []
        if self.confidence is not None:
            details.append(f"{self.confidence:.0%} interval")
        if self.cov_type is not None:
            details.append(f"{self.cov_type} covariance")
        if details:
            label += f" ({', '.join(details)})"
        ax.set_xlabel(label)
        if name is not None:
            ax.legend()
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_table(
        cls,
        table,
        *,
        features=None,
        confidence=None,
        cov_type=None,
        ax=None,
        name=None,
        **kwargs,
    ):
        """Draw a coefficient table such as :func:`skpolicy.inference.coef_table`.

        Parameters
        ----------
        table : pandas DataFrame
            Indexed by the coefficient names, with a column ``coef`` and either
            the interval bounds (statsmodels names: ``[0.025`` and ``0.975]``)
            or a column ``std err``, from which normal intervals at
            ``confidence`` are made.
        features : list of str, default=None
            Coefficients to draw, in this order; all when None.
        confidence : float, default=None
            Level of the intervals when the table has only standard errors
            (0.95 when None); otherwise read from the interval column names.
        cov_type : str, default=None
            Covariance of the standard errors, for the axis label.
        ax : matplotlib Axes, default=None
        name : str, default=None
            Legend label.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        display : CoefficientDisplay

        Examples
        --------
        >>> import pandas as pd
        >>> from skpolicy.plotting import CoefficientDisplay
        >>> table = pd.DataFrame({"coef": [1.0, -0.5], "std err": [0.1, 0.2]},
        ...                      index=["price", "time"])
        >>> disp = CoefficientDisplay.from_table(table, confidence=0.9)
        >>> disp.upper.round(3).tolist()
        [1.164, -0.171]
        """
        _pyplot(f"{cls.__name__}.from_table")
        if not isinstance(table, pd.DataFrame) or "coef" not in table.columns:
            raise ValueError(
                "table must be a DataFrame with a 'coef' column, such as "
                "skpolicy.inference.coef_table(...) returns"
            )
        if features is not None:
            missing = [f for f in features if f not in table.index]
            if missing:
                raise ValueError(
                    f"features {missing} are not in the table (coefficients: "
                    f"{list(table.index)})"
                )
            table = table.loc[list(features)]
        bounds = _interval_columns(table)
        if bounds is not None:
            lower, upper = table[bounds[0]], table[bounds[1]]
            level = 1 - 2 * float(bounds[0][1:])
            if confidence is None:
                confidence = level
            elif not np.isclose(confidence, level):
                raise ValueError(
                    f"confidence={confidence} but the table's intervals are at "
                    f"{level:.4g}; drop the interval columns to recompute them"
                )
        elif "std err" in table.columns:
            confidence = 0.95 if confidence is None else confidence
            if not 0 < confidence < 1:
                raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
            crit = stats.norm.ppf(0.5 + confidence / 2)
            lower = table["coef"] - crit * table["std err"]
            upper = table["coef"] + crit * table["std err"]
        else:
            raise ValueError(
                "table needs interval columns ('[0.025', '0.975]') or a 'std err' "
                "column"
            )
        display = cls(
            coef=table["coef"],
            lower=lower,
            upper=upper,
            confidence=confidence,
            cov_type=cov_type,
        )
        return display.plot(ax=ax, name=name, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X=None,
        y=None,
        *,
        sample_weight=None,
        cov_type="hessian",
        groups=None,
        confidence=0.95,
        features=None,
        ax=None,
        name=None,
        **kwargs,
    ):
        """Draw the coefficients of a fitted model with their intervals.

        The table is :func:`skpolicy.inference.coef_table` (normal, Wald
        intervals).

        Parameters
        ----------
        estimator : fitted SoftmaxChoiceEstimator or Pipeline ending in one
        X, y, sample_weight : default=None
            The data the model was fitted on (raw columns for a Pipeline);
            ``cov_type="hessian"`` needs none of them, the other covariances
            need X and y.
        cov_type : {"hessian", "opg", "HC0", "robust", "cluster"}, \
                default="hessian"
        groups : str or array-like, default=None
            Cluster ids for ``cov_type="cluster"`` (an index level or column
            name of X, or one id per row).
        confidence : float, default=0.95
        features : list of str, default=None
            Coefficients to draw, in this order; all when None.
        ax : matplotlib Axes, default=None
        name : str, default=None
            Legend label.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        display : CoefficientDisplay
        """
        _pyplot(f"{cls.__name__}.from_estimator")
        from .inference import coef_table

        table = coef_table(
            estimator,
            X,
            y,
            sample_weight,
            cov_type=cov_type,
            groups=groups,
            confidence=confidence,
        )
        return cls.from_table(
            table, features=features, cov_type=cov_type, ax=ax, name=name, **kwargs
        )


# --------------------------------------------------------------------------------
# Observed against predicted shares
# --------------------------------------------------------------------------------


def _wilson_interval(share, n, confidence):
    """Wilson score interval of a binomial proportion (n may be fractional)."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    share = np.asarray(share, dtype=float)
    denominator = 1 + z**2 / n
    centre = (share + z**2 / (2 * n)) / denominator
    half = z / denominator * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _as_1d(values, what, n=None):
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{what} has {arr.shape[0]} entries, expected {n}")
    return arr


def _nonnegative(values, what):
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{what} must be finite and >= 0")
    return values


def _dense_shares(y, proba, alternatives, sample_weight):
    """Weighted choice totals and expected totals per column of 2-D proba."""
    n, n_alt = proba.shape
    labels = pd.Index(range(n_alt) if alternatives is None else alternatives)
    if len(labels) != n_alt:
        raise ValueError(
            f"alternatives has {len(labels)} entries but y_proba has {n_alt} columns"
        )
    y = np.asarray(y)
    if y.ndim == 2:
        if y.shape != proba.shape:
            raise ValueError(
                f"y_true of shape {y.shape} must match y_proba's {proba.shape}"
            )
        counts = _nonnegative(y, "choice counts in y_true")
    else:
        y = _as_1d(y, "y_true", n)
        codes = labels.get_indexer(y)
        if np.any(codes < 0):
            bad = label(y[np.argmax(codes < 0)])
            raise ValueError(
                f"y_true holds {bad}, which is not one of the alternatives "
                f"{labels.tolist()}"
            )
        counts = np.zeros(proba.shape)
        counts[np.arange(n), codes] = 1.0
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    w = _nonnegative(_as_1d(w, "sample_weight", n), "sample_weight")
    n_s = counts.sum(axis=1)
    observed = (w[:, None] * counts).sum(axis=0)
    expected = ((w * n_s)[:, None] * proba).sum(axis=0)
    squared = np.sum(w**2 * n_s)
    return labels, observed, expected, squared


def _long_shares(y, proba, alternatives, situations, sample_weight):
    """Weighted choice totals and expected totals per alternative of long rows."""
    n = proba.shape[0]
    if alternatives is None:
        raise ValueError(
            "per-row probabilities (long format) need alternatives: the alternative "
            "id of each row"
        )
    alternatives = _as_1d(alternatives, "alternatives", n)
    y = _nonnegative(_as_1d(y, "y_true", n), "y_true")
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    w = _nonnegative(_as_1d(w, "sample_weight", n), "sample_weight")
    if situations is None:
        if np.any((y != 0) & (y != 1)):
            raise ValueError(
                "y_true holds choice counts: pass situations (the situation id of "
                "each row) so that each situation's predictions count as many "
                "times as its choices"
            )
        n_s = np.ones(n)
    else:
        codes = pd.factorize(_as_1d(situations, "situations", n))[0]
        n_s = np.bincount(codes, weights=y)[codes]
    codes, labels = pd.factorize(alternatives, sort=True)
    n_alt = len(labels)
    observed = np.bincount(codes, weights=w * y, minlength=n_alt)
    expected = np.bincount(codes, weights=w * n_s * proba, minlength=n_alt)
    squared = np.sum(w**2 * y)
    return pd.Index(labels), observed, expected, squared


class ShareCalibrationDisplay:
    """Observed against predicted shares of each alternative.

    One point per alternative: its predicted share (the weighted mean choice
    probability) on the x axis, its observed share of the choices on the y axis
    with a Wilson binomial interval, and the diagonal on which a calibrated model
    lies (``kind="calibration"``); or one row per alternative with the observed
    share, its interval and the predicted share (``kind="alternatives"``).

    On the data a model was fitted on, a model with a full set of
    alternative-specific constants matches the observed shares exactly (the
    first-order conditions of the constants say so), so draw it on held-out data
    (other situations, another period, a subgroup) to learn something.

    The interval's sample size is Kish's effective number of choices,
    ``(sum_s w_s n_s)**2 / sum_s w_s**2 n_s`` for situation weights ``w_s`` and
    ``n_s`` choices in situation ``s`` (the number of choices when unweighted). It
    treats choices as independent; repeated choices of one decision maker make it
    too narrow.

    Parameters
    ----------
    alternatives : pandas Index
    observed, predicted : array-like of shape (n_alternatives,)
        Shares; each sums to 1.
    lower, upper : array-like of shape (n_alternatives,)
        Interval of the observed shares.
    n_choices : float
        Effective number of choices behind the observed shares.
    confidence : float, default=0.95
    estimator_name : str, default=None
        Legend label of the points.

    Attributes
    ----------
    errorbar_ : matplotlib ErrorbarContainer
        The observed shares (``errorbar_.lines[0]``; at (predicted, observed)
        for ``kind="calibration"``, at (observed, row) for
        ``kind="alternatives"``) and their intervals.
    line_ : matplotlib Line2D
        The diagonal, observed = predicted (``kind="calibration"``), or the
        predicted shares at (predicted, row) (``kind="alternatives"``).
    annotations_ : list of matplotlib Annotation
        The alternative names beside the points (``kind="calibration"``).
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.datasets import make_choice_data
    >>> from skpolicy.plotting import ShareCalibrationDisplay
    >>> X, y = make_choice_data(2000, 4, 3, random_state=0)      # dense
    >>> est = SoftmaxChoiceEstimator().fit(X[:1000], y[:1000])
    >>> disp = ShareCalibrationDisplay.from_estimator(est, X[1000:], y[1000:])
    >>> disp.alternatives.tolist()
    [0, 1, 2, 3]
    >>> float(abs(disp.observed - disp.predicted).max()) < 0.05
    True
    """

    def __init__(
        self,
        *,
        alternatives,
        observed,
        predicted,
        lower,
        upper,
        n_choices,
        confidence=0.95,
        estimator_name=None,
    ):
        self.alternatives = pd.Index(alternatives)
        self.observed = pd.Series(observed, index=self.alternatives, dtype=float)
        self.predicted = pd.Series(predicted, index=self.alternatives, dtype=float)
        self.lower = pd.Series(lower, index=self.alternatives, dtype=float)
        self.upper = pd.Series(upper, index=self.alternatives, dtype=float)
        self.n_choices = float(n_choices)
        self.confidence = confidence
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, kind="calibration", name=None, annotate=True, **kwargs):
        """Draw observed against predicted shares.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        kind : {"calibration", "alternatives"}, default="calibration"
            ``"calibration"``: one point per alternative at (predicted, observed)
            with the interval drawn vertically, and the diagonal. ``"alternatives"``:
            one row per alternative, the observed share with its interval and the
            predicted share as a cross; easier to read when a few alternatives
            have similar shares.
        name : str, default=None
            Legend label of the observed shares; ``estimator_name`` when None.
        annotate : bool, default=True
            With ``kind="calibration"``, write each alternative's name beside its
            point.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        display : ShareCalibrationDisplay
            With ``errorbar_`` (the observed shares and their intervals),
            ``line_`` (the diagonal, or the predicted shares for
            ``kind="alternatives"``) and ``annotations_``.
        """
        if kind not in ("calibration", "alternatives"):
            raise ValueError(
                f"kind must be 'calibration' or 'alternatives', got {kind!r}"
            )
        ax, fig = _axes(ax, f"{type(self).__name__}.plot")
        name = self.estimator_name if name is None else name
        observed, predicted = self.observed.to_numpy(), self.predicted.to_numpy()
        error = np.vstack(
            [observed - self.lower.to_numpy(), self.upper.to_numpy() - observed]
        )
        style = {
            "fmt": "o",
            "capsize": 3,
            "label": "observed" if name is None else name,
        }
        details = f"{self.confidence:.0%} interval, {self.n_choices:.0f} choices"
        self.annotations_ = []
        if kind == "calibration":
            self.errorbar_ = ax.errorbar(
                predicted, observed, yerr=error, **{**style, **kwargs}
            )
            top = 1.05 * max(self.upper.max(), predicted.max())
            (self.line_,) = ax.plot(
                [0, top],
                [0, top],
                ls="--",
                color="grey",
                lw=0.8,
                label="observed = predicted",
            )
            if annotate:
                for alt, x, y in zip(
                    self.alternatives, predicted, observed, strict=True
                ):
                    self.annotations_.append(
                        ax.annotate(
                            str(alt), (x, y), xytext=(5, 3), textcoords="offset points"
                        )
                    )
            ax.set_xlim(0, top)
            ax.set_ylim(0, top)
            ax.set_xlabel("predicted share")
            ax.set_ylabel(f"observed share ({details})")
        else:
            position = np.arange(len(self.alternatives))[::-1]
            self.errorbar_ = ax.errorbar(
                observed, position, xerr=error, **{**style, **kwargs}
            )
            (self.line_,) = ax.plot(
                predicted, position, "x", color="black", ms=8, label="predicted"
            )
            ax.set_yticks(position)
            ax.set_yticklabels([str(a) for a in self.alternatives])
            ax.set_xlim(left=0)
            ax.set_xlabel(f"share (observed: {details})")
        ax.legend(loc="best")
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_proba,
        *,
        alternatives=None,
        situations=None,
        sample_weight=None,
        confidence=0.95,
        kind="calibration",
        ax=None,
        name=None,
        **kwargs,
    ):
        """Draw observed against predicted shares from choices and probabilities.

        Two layouts, as the two data formats:

        - **per situation**: ``y_proba`` of shape (n_situations, n_alternatives)
          (a dense choice model's or a policy's ``predict_proba``); ``y_true``
          the chosen alternative of each situation, as a label among
          ``alternatives`` (e.g. a classifier's ``classes_``) or as a column
          position when ``alternatives`` is None, or counts of shape
          (n_situations, n_alternatives); ``sample_weight`` per situation.
        - **per row** (long): ``y_proba``, ``y_true`` (1 chosen, 0 not, or
          counts), ``alternatives`` (the alternative id) and ``sample_weight``
          (the situation's weight) with one entry per (situation, alternative)
          row; ``situations`` (the situation id per row) is needed when
          ``y_true`` holds counts.

        Parameters
        ----------
        y_true : array-like
        y_proba : array-like of shape (n_situations, n_alternatives) or (n_rows,)
        alternatives : array-like, default=None
        situations : array-like of shape (n_rows,), default=None
        sample_weight : array-like, default=None
        confidence : float, default=0.95
            Level of the intervals on the observed shares.
        kind : {"calibration", "alternatives"}, default="calibration"
            See :meth:`plot`.
        ax : matplotlib Axes, default=None
        name : str, default=None
            Legend label of the points.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        display : ShareCalibrationDisplay

        Examples
        --------
        >>> import numpy as np
        >>> from skpolicy.plotting import ShareCalibrationDisplay
        >>> proba = np.array([[0.7, 0.3], [0.4, 0.6], [0.5, 0.5], [0.8, 0.2]])
        >>> disp = ShareCalibrationDisplay.from_predictions(
        ...     ["bus", "car", "bus", "bus"], proba, alternatives=["bus", "car"])
        >>> disp.observed.tolist(), disp.predicted.tolist()
        ([0.75, 0.25], [0.6, 0.4])
        """
        _pyplot(f"{cls.__name__}.from_predictions")
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
        proba = np.asarray(y_proba, dtype=float)
        if proba.ndim == 2:
            labels, observed, expected, squared = _dense_shares(
                y_true, proba, alternatives, sample_weight
            )
        elif proba.ndim == 1:
            labels, observed, expected, squared = _long_shares(
                y_true, proba, alternatives, situations, sample_weight
            )
        else:
            raise ValueError(
                f"y_proba must be 1-D (per row) or 2-D (per situation), got shape "
                f"{proba.shape}"
            )
        total = observed.sum()
        if total <= 0:
            raise ValueError("no choices: y_true (times sample_weight) sums to 0")
        n_eff = total**2 / squared
        observed = observed / total
        lower, upper = _wilson_interval(observed, n_eff, confidence)
        display = cls(
            alternatives=labels,
            observed=observed,
            predicted=expected / expected.sum(),
            lower=lower,
            upper=upper,
            n_choices=n_eff,
            confidence=confidence,
        )
        return display.plot(ax=ax, kind=kind, name=name, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sample_weight=None,
        alternative_key=1,
        confidence=0.95,
        kind="calibration",
        ax=None,
        name=None,
        **kwargs,
    ):
        """Draw observed against the model's predicted shares on data X, y.

        Parameters
        ----------
        estimator : fitted estimator with ``predict_proba``
            A SoftmaxChoiceEstimator or a Pipeline ending in one, or a policy or
            classifier whose ``predict_proba(X)`` has one column per entry of
            ``classes_``.
        X : pandas DataFrame (long), ndarray (dense) or state features
            Data, best not those the model was fitted on (raw columns for a
            Pipeline).
        y : array-like
            The choices in X's format: 1 / 0 (or counts) per row for long X, the
            chosen index (or counts) per situation for dense X, action labels for
            a classifier.
        sample_weight : array-like, default=None
            Per row (long, constant within a situation) or per situation.
        alternative_key : int or str, default=1
            Index level (or column) of long X holding the alternative id.
        confidence : float, default=0.95
        kind : {"calibration", "alternatives"}, default="calibration"
            See :meth:`plot`.
        ax : matplotlib Axes, default=None
        name : str, default=None
            Legend label of the points.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        display : ShareCalibrationDisplay
        """
        _pyplot(f"{cls.__name__}.from_estimator")
        proba = np.asarray(estimator.predict_proba(X), dtype=float)
        final = _final_step(estimator)
        alternatives = situations = None
        if proba.ndim == 2:
            alternatives = getattr(final, "classes_", None)
        elif isinstance(X, pd.DataFrame) and not is_dense(X):
            alternatives = key_values(X, alternative_key, "alternative")[0]
            situation_key = getattr(final, "situation_key", 0)
            situations = key_values(X, situation_key, "situation")[0]
        return cls.from_predictions(
            y,
            proba,
            alternatives=alternatives,
            situations=situations,
            sample_weight=sample_weight,
            confidence=confidence,
            kind=kind,
            ax=ax,
            name=name,
            **kwargs,
        )


# --------------------------------------------------------------------------------
# Importance weights
# --------------------------------------------------------------------------------


def _effective_sample_size(weights):
    """Kish's effective sample size ``(sum w)**2 / sum w**2`` (0 if all are 0)."""
    weights = np.asarray(weights, dtype=float)
    squares = np.sum(weights**2)
    return float(np.sum(weights) ** 2 / squares) if squares > 0 else 0.0


def _proba_of_actions(policy, X, actions, what):
    proba = np.asarray(policy.predict_proba(X), dtype=float)
    if proba.ndim != 2 or proba.shape[0] != len(actions):
        raise ValueError(
            f"{what}.predict_proba(X) must have shape (n_samples, n_actions) with "
            f"one row per logged action ({len(actions)}), got {proba.shape}"
        )
    classes = getattr(policy, "classes_", None)
    if classes is None:
        columns = np.asarray(actions)
        if not np.issubdtype(columns.dtype, np.integer) or np.any(
            (columns < 0) | (columns >= proba.shape[1])
        ):
            raise ValueError(
                f"{what} has no classes_: actions must be column positions of its "
                f"predict_proba, 0..{proba.shape[1] - 1}"
            )
    else:
        columns = pd.Index(classes).get_indexer(actions)
        if np.any(columns < 0):
            bad = label(actions[np.argmax(columns < 0)])
            raise ValueError(
                f"logged action {bad} is not in {what}.classes_ "
                f"{np.asarray(classes).tolist()}"
            )
    return proba[np.arange(len(actions)), columns]


class ImportanceWeightDisplay:
    """Distribution of importance weights, with the effective sample size.

    For logged actions ``a_i`` taken in states ``s_i`` by a behaviour policy, the
    importance weight ``w_i = pi_target(a_i|s_i) / pi_behaviour(a_i|s_i)``
    reweights the logged data into data of the target policy (inverse propensity
    scoring). A histogram of the weights on a log scale shows the overlap of the
    two policies: weights near 1 mean close policies; a long right tail means
    that a few samples carry the estimate. The title gives Kish's effective
    sample size ``ESS = (sum w)**2 / sum w**2`` out of n, the largest weight, and
    how many weights are 0 (actions the target never takes; they are not on the
    log axis).

    Parameters
    ----------
    weights : array-like of shape (n_samples,)
        Non-negative importance weights.
    estimator_name : str, default=None
        Legend label of the histogram.

    Attributes
    ----------
    ess : float
        Effective sample size.
    bars_ : matplotlib BarContainer
        The histogram's bars (positive weights, log-spaced bins).
    bin_edges_ : ndarray
    line_ : matplotlib Line2D
        The vertical line at weight 1.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from skpolicy.plotting import ImportanceWeightDisplay
    >>> target = np.array([0.5, 0.2, 0.9, 0.1])     # pi_target(logged action)
    >>> behaviour = np.array([0.25, 0.4, 0.3, 0.1])  # logged propensities
    >>> disp = ImportanceWeightDisplay.from_predictions(target, behaviour)
    >>> disp.weights.tolist()
    [2.0, 0.5, 3.0, 1.0]
    >>> round(disp.ess, 3)
    2.965
    """

    def __init__(self, *, weights, estimator_name=None):
        weights = _as_1d(weights, "weights").astype(float)
        self.weights = _nonnegative(weights, "importance weights")
        self.ess = _effective_sample_size(self.weights)
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, bins=30, **kwargs):
        """Draw the histogram of the weights on a log scale.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Legend label; ``estimator_name`` when None (no legend if both are).
        bins : int, default=30
            Number of log-spaced bins between the smallest and the largest
            positive weight.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.hist`.

        Returns
        -------
        display : ImportanceWeightDisplay
        """
        ax, fig = _axes(ax, f"{type(self).__name__}.plot")
        from matplotlib import ticker

        name = self.estimator_name if name is None else name
        positive = self.weights[self.weights > 0]
        if positive.size:
            low, high = np.log10(positive.min()), np.log10(positive.max())
        else:
            low = high = 0.0
        if high - low < 1e-3:
            low, high = low - 0.5, high + 0.5
        self.bin_edges_ = np.logspace(low, high, bins + 1)
        style = {"alpha": 0.8}
        if name is not None:
            style["label"] = name
        _, _, self.bars_ = ax.hist(
            positive, bins=self.bin_edges_, **{**style, **kwargs}
        )
        ax.set_xscale("log")
        plain = ticker.FuncFormatter(lambda value, _: f"{value:g}")
        ax.xaxis.set_major_formatter(plain)
        if high - low < 1:  # less than a decade: label the minor ticks too
            ax.xaxis.set_minor_formatter(plain)
        self.line_ = ax.axvline(1.0, color="grey", lw=0.8, ls="--")
        n = self.weights.size
        zeros = n - positive.size
        title = f"ESS {self.ess:.1f} of {n}"
        if n:
            title += f", max weight {self.weights.max():.3g}"
        if zeros:
            title += f", {zeros} zero"
        ax.set_title(title)
        ax.set_xlabel(
            r"importance weight $\pi_\mathrm{target} / \pi_\mathrm{behaviour}$"
            " (log scale)"
        )
        ax.set_ylabel("number of samples")
        if name is not None:
            ax.legend()
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_weights(cls, weights, *, ax=None, name=None, bins=30, **kwargs):
        """Draw importance weights computed elsewhere.

        Parameters
        ----------
        weights : array-like of shape (n_samples,)
        ax : matplotlib Axes, default=None
        name : str, default=None
        bins : int, default=30
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.hist`.

        Returns
        -------
        display : ImportanceWeightDisplay
        """
        _pyplot(f"{cls.__name__}.from_weights")
        return cls(weights=weights).plot(ax=ax, name=name, bins=bins, **kwargs)

    @classmethod
    def from_predictions(
        cls, target_proba, behaviour_proba, *, ax=None, name=None, bins=30, **kwargs
    ):
        """Draw the weights of the logged actions from both policies' probabilities.

        Parameters
        ----------
        target_proba : array-like of shape (n_samples,)
            Probability of each logged action under the target policy.
        behaviour_proba : array-like of shape (n_samples,)
            Its probability under the behaviour (logging) policy: the logged
            propensities; must be > 0.
        ax : matplotlib Axes, default=None
        name : str, default=None
        bins : int, default=30
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.hist`.

        Returns
        -------
        display : ImportanceWeightDisplay
        """
        _pyplot(f"{cls.__name__}.from_predictions")
        target = _nonnegative(_as_1d(target_proba, "target_proba"), "target_proba")
        behaviour = _nonnegative(
            _as_1d(behaviour_proba, "behaviour_proba", target.size), "behaviour_proba"
        )
        if np.any(behaviour == 0):
            raise ValueError(
                f"{np.sum(behaviour == 0)} logged action(s) have behaviour "
                "probability 0: an action the logging policy never takes cannot "
                "be reweighted (check the propensities)"
            )
        return cls.from_weights(
            target / behaviour, ax=ax, name=name, bins=bins, **kwargs
        )

    @classmethod
    def from_estimator(
        cls,
        target_policy,
        behaviour_policy,
        X,
        actions,
        *,
        ax=None,
        name=None,
        bins=30,
        **kwargs,
    ):
        """Draw the weights of logged actions under two fitted policies.

        Parameters
        ----------
        target_policy, behaviour_policy : fitted estimators with ``predict_proba``
            ``predict_proba(X)`` of shape (n_samples, n_actions); the logged
            actions are looked up in ``classes_`` (or are column positions when
            a policy has no ``classes_``).
        X : array-like of shape (n_samples, n_features)
            The states in which the actions were logged.
        actions : array-like of shape (n_samples,)
            The logged actions.
        ax : matplotlib Axes, default=None
        name : str, default=None
        bins : int, default=30
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.hist`.

        Returns
        -------
        display : ImportanceWeightDisplay
        """
        _pyplot(f"{cls.__name__}.from_estimator")
        actions = _as_1d(actions, "actions")
        target = _proba_of_actions(target_policy, X, actions, "target_policy")
        behaviour = _proba_of_actions(behaviour_policy, X, actions, "behaviour_policy")
        return cls.from_predictions(
            target, behaviour, ax=ax, name=name, bins=bins, **kwargs
        )
