"""The command-line main job: fit a choice model on a CSV and print its summary.

``python -m skpolicy`` (or the ``skpolicy`` console script) with no arguments fits
the bundled Heating data with alternative-specific constants (heat pump as the
reference, as in the mlogit vignette) and prints the summary. With a CSV file it
fits the mlogit-style formula given with ``--formula`` on long or wide data.
"""

import argparse
import sys

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from . import __version__
from ._estimator import SoftmaxChoiceEstimator
from ._solvers import SOLVERS
from .inference import summary
from .preprocessing import ChoiceSpecification
from .reshape import wide_to_long

HEATING_FORMULA = "ic + oc"
HEATING_REFERENCE = "hp"

EXAMPLES = """\
examples:
  skpolicy                                   # the bundled Heating model
  skpolicy trips.csv --formula "cost + time | income | 0" --choice chosen
  skpolicy heating.csv --format wide --choice depvar --situation idcase \\
      --formula "ic + oc" --reference hp --cov-type robust
formula: generic | case variables | alternative-specific; constants are included
unless the second part holds 0 (as in R's mlogit).
"""


class CommandError(Exception):
    """A problem with the user's input: reported in one line, no traceback."""


def _parser():
    parser = argparse.ArgumentParser(
        prog="skpolicy",
        description=(
            "Fit a conditional logit choice model on a CSV file (long or wide "
            "format) and print its summary. Without a file, fit the bundled "
            "Heating data (Train; R mlogit) with constants."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("csv", nargs="?", help="CSV file (may be gzipped)")
    parser.add_argument(
        "--format",
        choices=("long", "wide"),
        default="long",
        help="long: one row per (situation, alternative); wide: one row per "
        "situation with <attribute><sep><alternative> columns (default: long)",
    )
    parser.add_argument("--formula", help='e.g. "cost + time | income | 0"')
    parser.add_argument(
        "--choice",
        default=None,
        help="long: 0/1 column of the chosen row (default: chosen); wide: column "
        "holding the chosen alternative's label (required)",
    )
    parser.add_argument(
        "--situation",
        default=None,
        help="column with the situation id (long default: situation; wide: "
        "optional, rows are numbered otherwise)",
    )
    parser.add_argument(
        "--alternative",
        default="alternative",
        help="long: column with the alternative id (default: alternative)",
    )
    parser.add_argument("--sep", default=".", help="wide: separator in column names")
    parser.add_argument("--reference", help="reference alternative for constants")
    parser.add_argument("--alpha", type=float, default=0.0, help="L2 penalty")
    parser.add_argument(
        "--solver", choices=("auto", *SOLVERS), default="auto", help="solver"
    )
    parser.add_argument(
        "--cov-type",
        choices=("hessian", "opg", "robust", "cluster"),
        default="hessian",
        help="covariance of the estimates (cluster needs --cluster)",
    )
    parser.add_argument("--cluster", help="column with the cluster id (e.g. person)")
    parser.add_argument(
        "--version", action="version", version=f"skpolicy {__version__}"
    )
    return parser


def _read_csv(path):
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise CommandError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CommandError(f"cannot read {path} as CSV: {exc}") from None
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} is empty") from None


def _require_columns(frame, columns, path):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CommandError(
            f"column(s) {missing} not in {path} (columns: {list(frame.columns)})"
        )


def _long_data(args):
    """Long X (situation, alternative index) and y from the arguments."""
    if args.csv is None:
        from .datasets import load_heating

        return load_heating(return_X_y=True)
    frame = _read_csv(args.csv)
    if args.format == "wide":
        if args.choice is None:
            raise CommandError("wide data need --choice: the column of chosen labels")
        needed = [args.choice] + ([args.situation] if args.situation else [])
        _require_columns(frame, needed, args.csv)
        long = wide_to_long(
            frame, choice=args.choice, sep=args.sep, situation=args.situation
        )
        chosen = long.columns[-1]
        return long.drop(columns=chosen), long[chosen]
    situation = args.situation or "situation"
    choice = args.choice or "chosen"
    _require_columns(frame, [situation, args.alternative, choice], args.csv)
    X = frame.set_index([situation, args.alternative])
    return X.drop(columns=choice), X[choice]


def run(args):
    """Fit and return the summary text for parsed arguments."""
    if args.csv is None:
        formula = args.formula or HEATING_FORMULA
        reference = args.reference or (HEATING_REFERENCE if not args.formula else None)
    else:
        if not args.formula:
            raise CommandError('give the model with --formula, e.g. "cost + time"')
        formula, reference = args.formula, args.reference
    if args.cov_type == "cluster" and not args.cluster:
        raise CommandError("--cov-type cluster needs --cluster COLUMN")
    X, y = _long_data(args)
    groups = None
    if args.cluster:
        if args.cluster not in X.columns and args.cluster not in X.index.names:
            raise CommandError(f"cluster column {args.cluster!r} not in the data")
        groups = args.cluster
    model = make_pipeline(
        ChoiceSpecification.from_formula(formula, reference=reference),
        SoftmaxChoiceEstimator(alpha=args.alpha, solver=args.solver),
    ).set_output(transform="pandas")
    model.fit(X, y)
    cov_type = args.cov_type
    report = summary(model, X, y, cov_type=cov_type, groups=groups)
    return str(report)


def main(argv=None):
    """Entry point of ``python -m skpolicy`` and the ``skpolicy`` script."""
    parser = _parser()
    args = parser.parse_args(argv)
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            text = run(args)
    except (CommandError, ValueError, KeyError, ImportError, TypeError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        parser.exit(2, f"skpolicy: error: {message}\n")
    print(text)
    for w in caught:
        if issubclass(w.category, (UserWarning, ConvergenceWarning)):
            print(f"warning: {w.message}", file=sys.stderr)
    return 0
