"""The command-line main job: fit a choice model on a CSV and print its summary.

``python -m skpolicy`` (or the ``skpolicy`` console script) with no arguments fits
the bundled Heating data with alternative-specific constants (heat pump as the
reference, as in the mlogit vignette) and prints the summary. With a CSV file it
fits the mlogit-style formula given with ``--formula`` on long or wide data
(mlogit's ``<attribute>.<alternative>`` columns, or Biogeme's
``<ALTERNATIVE>_<ATTRIBUTE>`` with ``--layout alternative_first --sep _``).

Streams and exit codes:

- the summary goes to stdout; warnings, ``--verbose`` progress (including the
  solver's line per iteration) and errors go to stderr;
- exit code 0 on success; 2 on any error in the input or the arguments, reported
  as ONE line ``skpolicy: error: ...`` on stderr, without traceback; 1, silently,
  when stdout is closed early (``skpolicy ... | head``), as Python recommends.

Files written:

- ``--output table.csv``: the coefficient table, one row per coefficient (read it
  back with ``pandas.read_csv(path, index_col=0)``);
- ``--output table.json``: ``{"model": ..., "fit_statistics": ...,
  "coefficients": {name: {"coef": ..., "std err": ..., ...}}}``, NaN as null
  (``pandas.DataFrame.from_dict(obj["coefficients"], orient="index")`` gives the
  table back);
- ``--save-model model.pkl``: the fitted scikit-learn Pipeline
  (``ChoiceSpecification`` then ``SoftmaxChoiceEstimator``), pickled. Load it with
  ``pickle.load(open("model.pkl", "rb"))`` or ``joblib.load("model.pkl")``, with
  the same skpolicy and scikit-learn versions, and only from a source you trust
  (unpickling runs code). It takes long data with the same columns and index
  levels (situation, alternative) as the fitted data.
"""

import argparse
import contextlib
import json
import math
import os
import pickle
import re
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline

from . import __version__
from ._estimator import SoftmaxChoiceEstimator
from ._inference import COV_TYPES
from ._solvers import SOLVERS
from .inference import summary
from .preprocessing import ChoiceSpecification
from .reshape import LAYOUTS, wide_to_long

HEATING_FORMULA = "ic + oc"
HEATING_REFERENCE = "hp"
OUTPUT_FORMATS = (".csv", ".json")

# Every example is run by the test suite (tests/test_cli.py) on small files of
# the same names: keep them runnable.
EXAMPLES = """\
examples:
  skpolicy                                   # the bundled Heating model
  skpolicy trips.csv --formula "cost + time | income" --choice chosen
  skpolicy trips.csv --formula "cost + time | 0" --query "income > 2" \\
      --output table.json --save-model model.pkl
  skpolicy heating.csv --format wide --choice depvar --situation idcase \\
      --formula "ic + oc" --reference hp --cov-type robust
  skpolicy swissmetro.csv --format wide --layout alternative_first --sep _ \\
      --availability "{alternative}_AV" --fill-value 0 --query "CHOICE != 0" \\
      --choice CHOICE --choice-labels 1=TRAIN,2=SM,3=CAR \\
      --formula "TT + CO" --reference SM --cov-type cluster --cluster ID

formula: generic | case variables | alternative-specific, as in R's mlogit.
Alternative-specific constants are included unless the second part is 0
("cost + time | 0", "cost | income - 1"); "cost + time | income" has constants
and one income coefficient per alternative but the reference.

long data: one row per available (situation, alternative) with columns
situation, alternative and a 0/1 column chosen (rename with --situation,
--alternative, --choice). Wide data: one row per situation, columns
<attribute>.<alternative> (mlogit; --sep) or <ALTERNATIVE>_<ATTRIBUTE>
(Biogeme; --layout alternative_first --sep _), the chosen alternative in
--choice, every other column a case variable.

output: the summary on stdout; warnings, --verbose progress and errors on
stderr. An error is one line and exit code 2. A model saved with --save-model
loads with pickle.load(open(path, "rb")) or joblib.load(path) (trusted files
only) and predicts on long data.
"""


class CommandError(Exception):
    """A problem with the user's input: reported in one line, no traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line (raised, not printed)."""

    def error(self, message):
        raise CommandError(f"{message} (see skpolicy --help)")


def _parser():
    parser = _Parser(
        prog="skpolicy",
        description=(
            "Fit a conditional logit choice model on a CSV file (long or wide\n"
            "format) and print its summary. Without a file, fit the bundled\n"
            "Heating data (Train; R mlogit) with constants."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("csv", nargs="?", help="CSV file (may be compressed)")
    parser.add_argument(
        "--version", action="version", version=f"skpolicy {__version__}"
    )

    data = parser.add_argument_group("data")
    data.add_argument(
        "--format",
        choices=("long", "wide"),
        help="long: one row per (situation, alternative); wide: one row per "
        "situation (default: long)",
    )
    data.add_argument(
        "--query",
        metavar="EXPR",
        help="keep the rows of the file for which EXPR is true, in pandas "
        'DataFrame.query syntax ("CHOICE != 0 and PURPOSE in [1, 3]"; '
        "`backticks` around column names with spaces); applied before anything "
        "else, to rows of situations (wide) or of alternatives (long)",
    )
    data.add_argument(
        "--choice",
        help="long: 0/1 (or count) column of the chosen rows (default: chosen); "
        "wide: column holding the chosen alternative (required)",
    )
    data.add_argument(
        "--situation",
        help="column with the situation id (long default: situation; wide: "
        "optional, rows are numbered otherwise)",
    )
    data.add_argument(
        "--alternative",
        help="long: column with the alternative id (default: alternative)",
    )

    wide = parser.add_argument_group("wide data")
    wide.add_argument(
        "--sep", help="separator of attribute and alternative in names (default: .)"
    )
    wide.add_argument(
        "--layout",
        choices=LAYOUTS,
        help="attribute_first: <attribute><sep><alternative> columns, as mlogit's "
        "ic.gc (default); alternative_first: <alternative><sep><attribute>, as "
        "Biogeme's TRAIN_TT",
    )
    wide.add_argument(
        "--availability",
        metavar="NAME",
        help="availability columns (0/1): an attribute name, named like the other "
        "columns (default: avail, i.e. avail.<alternative>), or a template such "
        'as "{alternative}_AV"; alternatives without one are always available',
    )
    wide.add_argument(
        "--fill-value",
        type=float,
        metavar="VALUE",
        help="value of an attribute for alternatives without its column (e.g. 0 "
        "for Biogeme's SM_SEATS); default: such a column is an error",
    )
    wide.add_argument(
        "--alternatives",
        metavar="A,B,...",
        help="the alternatives, comma-separated (default: read from the column "
        "names); needed when other column names contain the separator",
    )
    wide.add_argument(
        "--choice-labels",
        metavar="CODE=NAME,...",
        help="names of the codes in the choice column, e.g. 1=TRAIN,2=SM,3=CAR "
        "when the columns are named TRAIN_TT, SM_TT, CAR_TT",
    )

    model = parser.add_argument_group("model")
    model.add_argument(
        "--formula",
        help='mlogit formula, e.g. "cost + time | income" (see below)',
    )
    model.add_argument(
        "--reference",
        help="reference alternative of the constants and case variables "
        "(default: the first alternative, sorted)",
    )
    model.add_argument("--alpha", type=float, default=0.0, help="L2 penalty")
    model.add_argument(
        "--solver", choices=("auto", *SOLVERS), default="auto", help="solver"
    )
    model.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="progress on stderr: the steps, and one line per solver iteration "
        "(objective and largest gradient component)",
    )

    inference = parser.add_argument_group("inference")
    inference.add_argument(
        "--cov-type",
        choices=COV_TYPES,
        default="hessian",
        help="covariance of the estimates (default: hessian; cluster needs --cluster)",
    )
    inference.add_argument(
        "--cluster", metavar="COLUMN", help="column with the cluster id (person)"
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--output",
        metavar="PATH",
        help="also write the coefficient table: PATH.csv (the table) or "
        "PATH.json (the table, fit statistics and model settings)",
    )
    output.add_argument(
        "--save-model",
        metavar="PATH",
        help="pickle the fitted scikit-learn Pipeline to PATH (load with "
        "pickle or joblib)",
    )
    return parser


# --------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------

_WIDE_ONLY = (
    "sep",
    "layout",
    "availability",
    "fill_value",
    "alternatives",
    "choice_labels",
)
_DATA_OPTIONS = ("format", "choice", "situation", "alternative", *_WIDE_ONLY)


def _flag(dest):
    return "--" + dest.replace("_", "-")


def _check_directory(path, option):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"{option} {path}: the directory {directory} does not exist")


def _check_arguments(args):
    """Errors found without reading the data, the file's existence first."""
    if args.csv is not None:
        if not os.path.exists(args.csv):
            raise CommandError(f"file not found: {args.csv}")
        if not args.formula:
            raise CommandError('give the model with --formula, e.g. "cost + time"')
        wide = args.format == "wide"
        if wide and args.choice is None:
            raise CommandError(
                "wide data need --choice: the column of the chosen alternatives"
            )
        if wide and args.alternative is not None:
            raise CommandError(
                "--alternative is for long data: wide data name the "
                "alternatives in their column names"
            )
        if not wide:
            given = [_flag(d) for d in _WIDE_ONLY if getattr(args, d) is not None]
            if given:
                raise CommandError(f"{given[0]} is for wide data: add --format wide")
    else:
        given = [_flag(d) for d in _DATA_OPTIONS if getattr(args, d) is not None]
        if given:
            raise CommandError(
                f"{given[0]} describes a CSV file, but none is given (without a "
                "file, skpolicy fits the bundled Heating data)"
            )
    if args.cov_type == "cluster" and not args.cluster:
        raise CommandError("--cov-type cluster needs --cluster COLUMN")
    if args.output is not None:
        if not args.output.lower().endswith(OUTPUT_FORMATS):
            raise CommandError(
                f"--output {args.output}: the name must end in .csv or .json, "
                "which sets the format"
            )
        _check_directory(args.output, "--output")
    if args.save_model is not None:
        _check_directory(args.save_model, "--save-model")


def _split_list(text, option):
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise CommandError(f"{option} {text!r}: give comma-separated names, e.g. A,B")
    return items


def _choice_labels(text):
    """``"1=TRAIN,2=SM"`` as ``{"1": "TRAIN", "2": "SM"}``."""
    labels = {}
    for item in _split_list(text, "--choice-labels"):
        code, eq, name = item.partition("=")
        if not eq or not code.strip() or not name.strip():
            raise CommandError(
                f"--choice-labels {text!r}: write CODE=NAME pairs, e.g. "
                "1=TRAIN,2=SM,3=CAR"
            )
        labels[code.strip()] = name.strip()
    return labels


def _as_text(value):
    """The text a user types for a label: 1 for 1 and 1.0, 'a' for 'a'."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------


def _progress(args, message):
    if args.verbose:
        print(f"skpolicy: {message}", file=sys.stderr)


def _read_csv(path):
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise CommandError(f"file not found: {path}") from None
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} is empty") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CommandError(f"cannot read {path} as CSV: {exc}") from None


def _require_columns(frame, columns, source):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CommandError(
            f"column(s) {missing} not in {source} (columns: {list(frame.columns)})"
        )


def _query(frame, expression, args):
    try:
        kept = frame.query(expression)
    except Exception as exc:  # any error of the user's expression
        raise CommandError(
            f"--query {expression!r}: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(kept, pd.DataFrame):
        raise CommandError(f"--query {expression!r} does not select rows")
    if kept.empty:
        raise CommandError(f"--query {expression!r} keeps no row")
    _progress(args, f"--query kept {len(kept)} of {len(frame)} rows")
    return kept


def _wide_to_long(frame, args):
    _require_columns(
        frame, [args.choice] + ([args.situation] if args.situation else []), args.csv
    )
    if args.choice_labels is not None:
        labels = _choice_labels(args.choice_labels)
        codes = frame[args.choice].map(_as_text)
        named = codes.map(labels).where(codes.isin(list(labels)), frame[args.choice])
        frame = frame.assign(**{args.choice: named})
    alternatives = None
    if args.alternatives is not None:
        alternatives = _split_list(args.alternatives, "--alternatives")
    try:
        long = wide_to_long(
            frame,
            choice=args.choice,
            alternatives=alternatives,
            sep="." if args.sep is None else args.sep,
            layout=args.layout or "attribute_first",
            availability="avail" if args.availability is None else args.availability,
            fill_value=args.fill_value,
            situation=args.situation,
            chosen_name="__chosen__",
        )
    except ValueError as exc:
        message = _option_names(str(exc))
        if "is not an alternative" in message and args.choice_labels is None:
            message += "; if the choices are codes, name them with --choice-labels"
        raise CommandError(message) from None
    return long.drop(columns="__chosen__"), long["__chosen__"].rename(args.choice)


def _option_names(message):
    """wide_to_long's message with its parameters named as command-line options."""
    message = message.replace("varying= or alternatives=", "--alternatives")
    return re.sub(
        r"\b(fill_value|alternatives|sep|layout|availability|choice|situation)=\s?",
        lambda m: "--" + m.group(1).replace("_", "-") + " ",
        message,
    )


def _long_data(args):
    """Long X (situation, alternative index) and y from the arguments."""
    if args.csv is None:
        from .datasets import load_heating

        frame = load_heating(format="long").frame.reset_index()
        source, situation, alternative, choice = "Heating", "idcase", "alt", "chosen"
    else:
        frame = _read_csv(args.csv)
        _progress(
            args,
            f"read {frame.shape[0]} rows x {frame.shape[1]} columns from {args.csv}",
        )
        source = args.csv
        situation = args.situation or "situation"
        alternative = args.alternative or "alternative"
        choice = args.choice or "chosen"
    if args.query:
        frame = _query(frame, args.query, args)
    if args.format == "wide":
        return _wide_to_long(frame, args)
    _require_columns(frame, [situation, alternative, choice], source)
    X = frame.set_index([situation, alternative])
    return X.drop(columns=choice), X[choice]


def _reference(reference, X):
    """The alternative label the user's --reference names (``"1"`` names 1)."""
    if reference is None:
        return None
    alternatives = X.index.get_level_values(1).unique()
    if reference in alternatives:
        return reference
    matches = [a for a in alternatives if _as_text(a) == reference]
    if len(matches) == 1:
        return matches[0]
    shown = [_as_text(a) for a in alternatives[:20]]
    more = ", ..." if len(alternatives) > 20 else ""
    raise CommandError(
        f"--reference {reference} is not an alternative of the data (alternatives: "
        f"{', '.join(shown)}{more})"
    )


# --------------------------------------------------------------------------------
# Fit and report
# --------------------------------------------------------------------------------


def _fit(args, formula, reference, X, y):
    model = make_pipeline(
        ChoiceSpecification.from_formula(formula, reference=reference),
        SoftmaxChoiceEstimator(
            alpha=args.alpha, solver=args.solver, verbose=args.verbose
        ),
    ).set_output(transform="pandas")
    n_situations = X.index.get_level_values(0).nunique()
    _progress(args, f"fitting {formula!r} on {n_situations} situations ({len(X)} rows)")
    start = time.perf_counter()
    # The solver prints its iterations on stdout; keep stdout for the summary.
    with contextlib.redirect_stdout(sys.stderr):
        model.fit(X, y)
    estimator = model[-1]
    _progress(
        args,
        f"fitted in {time.perf_counter() - start:.2f} s ({estimator.n_iter_} "
        f"iterations of {estimator.solver_}, converged: {estimator.converged_})",
    )
    return model


def _number(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _write_output(path, report, model, formula, cov_type):
    table = report.coef_table
    try:
        if path.lower().endswith(".csv"):
            table.rename_axis("term").to_csv(path)
            return
        estimator = model[-1]
        reference = model[0].reference_
        content = {
            "model": {
                "formula": formula,
                "reference": None if reference is None else _as_text(reference),
                "cov_type": cov_type,
                "alpha": float(estimator.alpha),
                "solver": estimator.solver_,
                "n_iter": int(estimator.n_iter_),
                "converged": bool(estimator.converged_),
                "skpolicy_version": __version__,
            },
            "fit_statistics": {
                str(k): _number(v) for k, v in report.fit_statistics.items()
            },
            "coefficients": {
                str(name): {str(c): _number(v) for c, v in row.items()}
                for name, row in table.iterrows()
            },
        }
        with open(path, "w", encoding="utf-8") as file:
            json.dump(content, file, indent=2, allow_nan=False)
            file.write("\n")
    except OSError as exc:
        raise CommandError(f"cannot write --output {path}: {exc}") from None


def _save_model(path, model):
    try:
        with open(path, "wb") as file:
            pickle.dump(model, file)
    except (OSError, pickle.PicklingError) as exc:
        raise CommandError(f"cannot save the model to {path}: {exc}") from None


def run(args):
    """Fit and return the summary text for parsed arguments."""
    _check_arguments(args)
    if args.csv is None:
        formula = args.formula or HEATING_FORMULA
        reference = args.reference or (HEATING_REFERENCE if not args.formula else None)
    else:
        formula, reference = args.formula, args.reference
    X, y = _long_data(args)
    reference = _reference(reference, X)
    if args.cluster and not (
        args.cluster in X.columns or args.cluster in X.index.names
    ):
        raise CommandError(f"cluster column {args.cluster!r} not in the data")
    model = _fit(args, formula, reference, X, y)
    report = summary(model, X, y, cov_type=args.cov_type, groups=args.cluster)
    if args.output is not None:
        _write_output(args.output, report, model, formula, args.cov_type)
        _progress(args, f"wrote {args.output}")
    if args.save_model is not None:
        _save_model(args.save_model, model)
        _progress(args, f"saved the fitted Pipeline to {args.save_model}")
    return str(report)


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _silence_stdout():
    """Point stdout at devnull so that Python's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor
        pass


def _main(argv):
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help or --version, already printed
        return exc.code
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = run(args)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    shown = set()
    for w in caught:
        message = _one_line(w.message)
        if issubclass(w.category, UserWarning) and message not in shown:
            shown.add(message)
            print(f"skpolicy: warning: {message}", file=sys.stderr)
    return 0


def main(argv=None):
    """Entry point of ``python -m skpolicy`` and the ``skpolicy`` script.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    code : int
        The exit code: 0 on success (and for ``--help``, ``--version``), 2 on
        an error (one line on stderr), 1 when stdout was closed early.
    """
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader (e.g. head) has gone: stop quietly (Python's recipe).
        _silence_stdout()
        return 1
    except (CommandError, ValueError, KeyError, TypeError, ImportError, OSError) as exc:
        print(f"skpolicy: error: {_one_line(exc)}", file=sys.stderr)
        return 2
