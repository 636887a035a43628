"""The command-line main job: ``python -m skpolicy``, its options and its errors.

Everything runs in-process through ``main(argv)`` (its return value is the exit
code); one smoke test starts ``python -m skpolicy`` as a subprocess.
"""

import io
import json
import os
import pickle
import re
import shlex
import stat
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

from skpolicy import SoftmaxChoiceEstimator
from skpolicy._cli import _parser, main
from skpolicy._inference import COV_TYPES
from skpolicy.datasets import load_heating
from skpolicy.preprocessing import ChoiceSpecification

SWISSMETRO_CODES = {1: "TRAIN", 2: "SM", 3: "CAR"}


def run_main(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_value(text, name, column=0):
    """A number of the coefficient table of a printed summary."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == name:
            return float(parts[1 + column])
    raise AssertionError(f"{name} not in the summary:\n{text}")


# --------------------------------------------------------------------------------
# Small files
# --------------------------------------------------------------------------------


def simulate_trips(n=300, seed=0):
    """Long data: alternatives coded 1, 2, 3 (integers), a case variable."""
    rng = np.random.default_rng(seed)
    J = 3
    situation = np.repeat(np.arange(n), J)
    alternative = np.tile(np.arange(1, J + 1), n)
    cost = rng.uniform(1, 10, n * J).round(2)
    time = rng.uniform(5, 60, n * J).round(1)
    income = np.repeat(rng.integers(1, 6, n), J)
    utility = (
        -0.3 * cost
        - 0.05 * time
        + np.tile([0.0, 0.5, -0.5], n)
        + 0.2 * income * (alternative == 2)
    )
    shocks = rng.gumbel(size=n * J)
    chosen_alt = (utility + shocks).reshape(n, J).argmax(axis=1)
    chosen = (np.tile(np.arange(J), n) == np.repeat(chosen_alt, J)).astype(int)
    return pd.DataFrame(
        {
            "situation": situation,
            "alternative": alternative,
            "cost": cost,
            "time": time,
            "income": income,
            "chosen": chosen,
        }
    )


def simulate_swissmetro(n=300, seed=1):
    """Wide data in Biogeme's layout, like Biogeme's swissmetro.dat.

    CHOICE is a code (1 train, 2 Swissmetro, 3 car; 0 unknown, to be dropped),
    availability in TRAIN_AV, SM_AV, CAR_AV, attributes TT and CO of every
    alternative, HE of train and Swissmetro only, SM_SEATS of Swissmetro only.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"ID": np.arange(n) // 3, "GA": rng.integers(0, 2, n)})
    utility = {}
    for alt, asc in (("TRAIN", -0.5), ("SM", 0.0), ("CAR", 0.3)):
        frame[f"{alt}_TT"] = rng.uniform(30, 300, n).round()
        frame[f"{alt}_CO"] = rng.uniform(10, 150, n).round()
        utility[alt] = asc - 0.01 * frame[f"{alt}_TT"] - 0.01 * frame[f"{alt}_CO"]
    frame["TRAIN_HE"] = rng.choice([30, 60, 120], n)
    frame["SM_HE"] = rng.choice([10, 20, 30], n)
    frame["SM_SEATS"] = rng.integers(0, 2, n)
    frame["TRAIN_AV"] = 1
    frame["SM_AV"] = 1
    frame["CAR_AV"] = (rng.random(n) > 0.2).astype(int)
    u = np.column_stack([utility[a] for a in ("TRAIN", "SM", "CAR")])
    u = u + rng.gumbel(size=u.shape)
    u[frame["CAR_AV"].to_numpy() == 0, 2] = -np.inf
    frame["CHOICE"] = u.argmax(axis=1) + 1
    frame.loc[rng.random(n) < 0.05, "CHOICE"] = 0  # unknown choices
    return frame


def swissmetro_by_hand(wide):
    """Long data from the Biogeme-layout table, one alternative at a time."""
    wide = wide[wide["CHOICE"] != 0]
    frames = []
    for code, alt in SWISSMETRO_CODES.items():
        part = pd.DataFrame(
            {
                "situation": wide.index,
                "alternative": alt,
                "TT": wide[f"{alt}_TT"],
                "CO": wide[f"{alt}_CO"],
                "chosen": (wide["CHOICE"] == code).astype(int),
            }
        )
        frames.append(part[wide[f"{alt}_AV"] == 1])
    long = pd.concat(frames).set_index(["situation", "alternative"])
    return long.drop(columns="chosen"), long["chosen"]


def heating_long_frame():
    X, y = load_heating(return_X_y=True)
    return (
        X.assign(chosen=y)
        .reset_index()
        .rename(
            columns={X.index.names[0]: "situation", X.index.names[1]: "alternative"}
        )
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The example files of --help (under their names) and a few bad ones.

    Written once for the module; tests never write into this directory.
    """
    folder = tmp_path_factory.mktemp("files")
    simulate_trips().to_csv(folder / "trips.csv", index=False)
    load_heating(format="wide").frame.to_csv(folder / "heating.csv", index=False)
    simulate_swissmetro().to_csv(folder / "swissmetro.csv", index=False)
    heating_long = heating_long_frame()
    heating_long.to_csv(folder / "heating_long.csv", index=False)
    heating_long.loc[7, "ic"] = np.nan
    heating_long.to_csv(folder / "nan.csv", index=False)
    (folder / "empty.csv").write_text("")
    return {path.name: path for path in folder.iterdir()}


def help_examples():
    """The command lines of the examples in ``skpolicy --help``."""
    text = _parser().format_help()
    block = text.split("examples:\n", 1)[1].split("\n\n", 1)[0]
    lines = block.replace("\\\n", " ").splitlines()
    commands = [shlex.split(line, comments=True) for line in lines]
    assert all(command[0] == "skpolicy" for command in commands)
    return [command[1:] for command in commands]


# --------------------------------------------------------------------------------
# The default job, and the one subprocess
# --------------------------------------------------------------------------------


def test_default_job_fits_heating_with_constants(capsys, published):
    """`skpolicy` with no arguments prints mlogit's published model."""
    code, out, err = run_main(capsys)
    assert code == 0 and err == ""
    published = published["models"]["heating_asc"]["published"]
    names = {
        "asc_ec": "asc[ec]",
        "asc_er": "asc[er]",
        "asc_gc": "asc[gc]",
        "asc_gr": "asc[gr]",
        "ic": "ic",
        "oc": "oc",
    }
    for key, name in names.items():
        coef = table_value(out, name)
        assert coef == pytest.approx(published["coefficients"][key], rel=1e-3)
        se = table_value(out, name, column=1)
        assert se == pytest.approx(published["std_errors"][key], rel=1e-3)
    assert "-1008.2287" in out  # to the digits Stata prints
    assert "0.013691" in out  # McFadden rho2 against constants only
    assert "27.9899" in out  # LR statistic against constants only


def test_python_m_skpolicy_exits_quietly_when_stdout_is_closed():
    """The one subprocess: ``python -m skpolicy | head`` with the reader gone.

    The read end of the pipe is closed before the child writes, so its write
    fails with EPIPE every time: no traceback, exit code 1 (Python's recipe).
    The job itself must have run without any error or warning.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "skpolicy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    child.stdout.close()
    err = child.stderr.read()
    child.stderr.close()
    assert child.wait(timeout=120) == 1
    assert err == ""


def test_broken_pipe_in_process_points_stdout_at_devnull(tmp_path, capsys, monkeypatch):
    target = tmp_path / "stdout"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT)

    class ClosedPipe(io.TextIOBase):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return fd

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    try:
        assert main([]) == 1
        # Later writes (Python's final flush) go to devnull, not to the pipe.
        assert stat.S_ISCHR(os.fstat(fd).st_mode)
        os.write(fd, b"lost")
    finally:
        os.close(fd)
    assert target.read_bytes() == b""
    assert capsys.readouterr().err == ""


def test_help_and_version_return_zero(capsys):
    code, out, err = run_main(capsys, "--help")
    assert code == 0 and "examples:" in out and err == ""
    code, out, _ = run_main(capsys, "--version")
    assert code == 0 and out.startswith("skpolicy ")


# --------------------------------------------------------------------------------
# The help text is true
# --------------------------------------------------------------------------------


def test_every_example_of_the_help_runs(files, tmp_path, capsys, monkeypatch):
    """Each example command line of --help runs on a small file of its name."""
    examples = help_examples()
    assert len(examples) >= 4
    for name, path in files.items():
        (tmp_path / name).symlink_to(path)
    monkeypatch.chdir(tmp_path)
    for argv in examples:
        if argv and argv[0].endswith(".csv"):
            assert argv[0] in files, f"no test file for the example {argv}"
        code, out, err = run_main(capsys, *argv)
        assert code == 0, f"{shlex.join(argv)}\n{err}"
        assert "Conditional logit" in out and "error" not in err
    # The files the examples write.
    table = json.loads((tmp_path / "table.json").read_text())
    assert table["model"]["formula"] == "cost + time | 0"
    with open(tmp_path / "model.pkl", "rb") as file:
        assert pickle.load(file)[-1].coef_.shape == (2,)


def test_every_formula_of_the_help_fits(files, capsys):
    """The formulas quoted in the help (option help and notes) are valid."""
    text = _parser().format_help()
    formulas = set(re.findall(r'"([^"]*\|[^"]*)"', text))
    formulas |= set(re.findall(r'--formula "([^"]+)"', text))
    formulas = {f for f in formulas if "ic" not in f and "TT" not in f}
    assert "cost + time | income" in formulas and "cost + time | 0" in formulas
    for formula in formulas:
        code, out, err = run_main(capsys, str(files["trips.csv"]), "--formula", formula)
        assert code == 0, f"{formula!r}: {err}"
        assert ("asc[" in out) == ("0" not in formula and "- 1" not in formula)


# --------------------------------------------------------------------------------
# Long and wide files
# --------------------------------------------------------------------------------


def test_long_csv(files, capsys, published):
    code, out, err = run_main(
        capsys, str(files["heating_long.csv"]), "--formula", "ic + oc | 0"
    )
    assert code == 0 and err == ""
    coef = published["models"]["heating_noasc"]["published"]["coefficients"]["ic"]
    assert table_value(out, "ic") == pytest.approx(coef, rel=1e-4)
    assert "asc[" not in out


def test_long_csv_with_other_column_names(tmp_path, capsys, published):
    X, y = load_heating(return_X_y=True)
    path = tmp_path / "long.csv"
    X.assign(choice=y).reset_index().to_csv(path, index=False)
    situation, alternative = X.index.names
    code, out, _ = run_main(
        capsys,
        str(path),
        "--formula",
        "ic + oc | 0",
        "--choice",
        "choice",
        "--situation",
        situation,
        "--alternative",
        alternative,
    )
    assert code == 0
    coef = published["models"]["heating_noasc"]["published"]["coefficients"]["ic"]
    assert table_value(out, "ic") == pytest.approx(coef, rel=1e-4)


def test_wide_csv_with_cluster_robust_errors(files, capsys, published):
    code, out, _ = run_main(
        capsys,
        str(files["heating.csv"]),
        "--format",
        "wide",
        "--choice",
        "depvar",
        "--situation",
        "idcase",
        "--formula",
        "ic + oc",
        "--reference",
        "hp",
        "--cov-type",
        "cluster",
        "--cluster",
        "region",
    )
    assert code == 0
    assert "cluster" in out
    coef = published["models"]["heating_asc"]["published"]["coefficients"]["asc_gc"]
    assert table_value(out, "asc[gc]") == pytest.approx(coef, rel=1e-4)


def test_reference_names_integer_alternative_codes(files, capsys):
    """``--reference 1`` names the alternative 1 of an integer column."""
    code, out, err = run_main(
        capsys,
        str(files["trips.csv"]),
        "--formula",
        "cost | income",
        "--reference",
        "1",
    )
    assert code == 0, err
    assert "asc[2]" in out and "asc[3]" in out and "asc[1]" not in out
    assert "income:2" in out and "income:1" not in out
    code, out, _ = run_main(
        capsys, str(files["trips.csv"]), "--formula", "cost", "--reference", "3"
    )
    assert code == 0 and "asc[1]" in out and "asc[3]" not in out


def test_query_keeps_rows(files, capsys):
    trips = str(files["trips.csv"])
    code, out, _ = run_main(
        capsys, trips, "--formula", "cost + time", "--query", "situation < 100"
    )
    assert code == 0
    assert re.search(r"Situations:\s+100\b", out)
    # The default job's data take a query too.
    code, out, _ = run_main(capsys, "--query", "region == 'valley'")
    n_valley = load_heating(format="wide").frame["region"].eq("valley").sum()
    assert code == 0 and re.search(rf"Situations:\s+{n_valley}\b", out)


def test_biogeme_layout_matches_the_data_built_by_hand(files, tmp_path, capsys):
    """Biogeme's <ALT>_<ATTR> columns, availability template, coded choices."""
    output = tmp_path / "swissmetro.json"
    code, _, err = run_main(
        capsys,
        str(files["swissmetro.csv"]),
        "--format",
        "wide",
        "--layout",
        "alternative_first",
        "--sep",
        "_",
        "--availability",
        "{alternative}_AV",
        "--fill-value",
        "0",
        "--query",
        "CHOICE != 0",
        "--choice",
        "CHOICE",
        "--choice-labels",
        "1=TRAIN,2=SM,3=CAR",
        "--formula",
        "TT + CO",
        "--reference",
        "SM",
        "--output",
        str(output),
    )
    assert code == 0, err
    coefficients = pd.DataFrame.from_dict(
        json.loads(output.read_text())["coefficients"], orient="index"
    )
    X, y = swissmetro_by_hand(pd.read_csv(files["swissmetro.csv"]))
    model = make_pipeline(
        ChoiceSpecification.from_formula("TT + CO", reference="SM"),
        SoftmaxChoiceEstimator(),
    ).set_output(transform="pandas")
    model.fit(X, y)
    expected = pd.Series(model[-1].coef_, index=model[-1].feature_names_in_)
    assert sorted(coefficients.index) == sorted(expected.index)
    np.testing.assert_allclose(
        coefficients["coef"][expected.index], expected, rtol=1e-8
    )
    # The plain attribute name finds the same availability columns.
    code, out, _ = run_main(
        capsys,
        str(files["swissmetro.csv"]),
        "--format",
        "wide",
        "--layout",
        "alternative_first",
        "--sep",
        "_",
        "--availability",
        "AV",
        "--fill-value",
        "0",
        "--query",
        "CHOICE != 0",
        "--choice",
        "CHOICE",
        "--choice-labels",
        "1=TRAIN,2=SM,3=CAR",
        "--alternatives",
        "TRAIN,SM,CAR",
        "--formula",
        "TT + CO",
        "--reference",
        "SM",
    )
    assert code == 0
    assert table_value(out, "TT") == pytest.approx(expected["TT"], rel=1e-4)


# --------------------------------------------------------------------------------
# Output, saved model, covariance, progress
# --------------------------------------------------------------------------------


def test_output_csv_and_json(files, tmp_path, capsys):
    csv_path, json_path = tmp_path / "table.csv", tmp_path / "table.json"
    common = [str(files["heating_long.csv"]), "--formula", "ic + oc", "--reference"]
    code, out, _ = run_main(capsys, *common, "hp", "--output", str(csv_path))
    assert code == 0
    table = pd.read_csv(csv_path, index_col=0)
    assert table.index.name == "term"
    assert list(table.columns[:4]) == ["coef", "std err", "z", "P>|z|"]
    assert table.loc["ic", "coef"] == pytest.approx(table_value(out, "ic"), rel=1e-4)
    code, _, _ = run_main(
        capsys, *common, "hp", "--cov-type", "robust", "--output", str(json_path)
    )
    assert code == 0
    content = json.loads(json_path.read_text())
    assert content["model"]["cov_type"] == "robust"
    assert content["model"]["reference"] == "hp"
    assert content["model"]["converged"] is True
    assert content["fit_statistics"]["log_likelihood"] == pytest.approx(-1008.229)
    assert content["fit_statistics"]["n_situations"] == 900
    back = pd.DataFrame.from_dict(content["coefficients"], orient="index")
    assert list(back.index) == list(table.index)
    np.testing.assert_allclose(back["coef"], table["coef"], rtol=1e-12)
    assert not np.allclose(back["std err"], table["std err"])  # robust != hessian


def test_json_output_writes_nan_as_null(files, tmp_path, capsys):
    path = tmp_path / "table.json"
    # No constants: the constants-only log-likelihood is NaN.
    code, _, _ = run_main(
        capsys,
        str(files["heating_long.csv"]),
        "--formula",
        "ic + oc | 0",
        "--output",
        str(path),
    )
    assert code == 0
    text = path.read_text()
    assert "NaN" not in text
    statistics = json.loads(text)["fit_statistics"]
    assert all(v is None or np.isfinite(v) for v in statistics.values())


def test_saved_model_loads_with_pickle_and_joblib(files, tmp_path, capsys):
    path = tmp_path / "model.pkl"
    code, _, _ = run_main(
        capsys,
        str(files["trips.csv"]),
        "--formula",
        "cost + time",
        "--save-model",
        str(path),
    )
    assert code == 0
    with open(path, "rb") as file:
        model = pickle.load(file)
    loaded = joblib.load(path)
    X = simulate_trips().set_index(["situation", "alternative"]).drop(columns="chosen")
    proba = model.predict_proba(X)
    np.testing.assert_allclose(loaded.predict_proba(X), proba)
    sums = pd.Series(proba, index=X.index).groupby(level=0).sum()
    np.testing.assert_allclose(sums, 1.0)
    assert list(model[-1].feature_names_in_) == ["asc[2]", "asc[3]", "cost", "time"]


def test_cov_type_choices_are_those_of_the_inference_module():
    action = next(a for a in _parser()._actions if a.dest == "cov_type")
    assert tuple(action.choices) == tuple(COV_TYPES)


@pytest.mark.xfail(
    "HC0" not in COV_TYPES, reason="HC0 is not yet in skpolicy._inference.COV_TYPES"
)
def test_cov_type_hc0_is_robust_without_the_small_sample_factor(files, capsys):
    argv = [str(files["heating_long.csv"]), "--formula", "ic + oc", "--cov-type"]
    code, hc0, _ = run_main(capsys, *argv, "HC0")
    assert code == 0 and "HC0" in hc0
    _, robust, _ = run_main(capsys, *argv, "robust")
    n = 900  # choices: robust = W / (W - 1) HC0
    assert table_value(hc0, "ic", 1) == pytest.approx(
        table_value(robust, "ic", 1) * np.sqrt((n - 1) / n), rel=1e-3
    )


def test_verbose_progress_goes_to_stderr(files, capsys):
    argv = [str(files["trips.csv"]), "--formula", "cost + time"]
    _, quiet, quiet_err = run_main(capsys, *argv)
    code, out, err = run_main(capsys, *argv, "--verbose")
    assert code == 0 and quiet_err == ""
    assert out == quiet  # stdout holds the summary only
    assert "read 900 rows" in err and "fitting 'cost + time'" in err
    solver_lines = [line for line in err.splitlines() if "skpolicy:" not in line]
    assert solver_lines  # the estimator's line per iteration
    assert "fitted in" in err


def test_warnings_go_to_stderr_once(files, capsys):
    code, out, err = run_main(
        capsys,
        str(files["trips.csv"]),
        "--formula",
        "cost + time",
        "--alpha",
        "0.01",
    )
    assert code == 0 and "Conditional logit" in out
    lines = err.splitlines()
    assert lines and all(line.startswith("skpolicy: warning: ") for line in lines)
    assert len(lines) == len(set(lines))


# --------------------------------------------------------------------------------
# Errors: one line on stderr, exit code 2, nothing on stdout
# --------------------------------------------------------------------------------

# Command lines (split like a shell would) and a part of their error message.
WIDE = "{wide} --format wide --choice depvar --formula ic"
BIOGEME = "{swissmetro} --format wide --choice CHOICE --formula TT --sep _"
ERRORS = [
    ("missing.csv", "file not found: missing.csv"),
    ("missing.csv --formula x", "file not found: missing.csv"),
    ("{long}", "--formula"),
    ("{long} --formula 'ic + nope'", "nope"),
    ("{long} --formula ic --choice picked", "['picked'] not in"),
    ("{long} --formula 'ic | | |'", "parts"),
    ("{long} --format wide --formula ic", "--choice"),
    ("{long} --format wide --choice chosen --formula ic", ""),
    ("{long} --formula ic --cov-type cluster", "--cluster"),
    ("{long} --formula ic --cluster house", "'house' not in"),
    ("{long} --formula ic --reference solar", "--reference solar"),
    ("{long} --formula ic --layout alternative_first", "--layout is for wide"),
    ("{long} --formula ic --fill-value 0", "--fill-value is for wide"),
    (f"{WIDE} --alternative alt", "--alternative is for long"),
    ("--choice chosen", "describes a CSV file"),
    ("--solver magic", "invalid choice"),
    ("--alpha much", "invalid float value"),
    ("--frobnicate", "unrecognized arguments"),
    ("{long} --formula ic --query 'ic >'", "--query"),
    ("{long} --formula ic --query 'nope > 1'", "nope"),
    ("{long} --formula ic --query 'ic < 0'", "keeps no row"),
    ("{long} --formula ic --output t.xlsx", ".csv or .json"),
    ("{long} --formula ic --output {tmp}/no/t.csv", "does not exist"),
    ("{long} --formula ic --save-model {tmp}/no/m.pkl", "does not exist"),
    (f"{WIDE} --choice-labels 1:gc", "CODE=NAME"),
    (f"{WIDE} --availability '{{alt}}_AV'", "{alternative}"),
    (f"{WIDE} --situation house", "['house'] not in"),
    (f"{WIDE} --alternatives gc,gr", "not an alternative"),
    (f"{BIOGEME}", "'<attribute>_<alternative>'"),
    (f"{BIOGEME} --layout alternative_first", "--fill-value (e.g. 0)"),
    (f"{BIOGEME} --layout alternative_first --fill-value 0", "--choice-labels"),
    ("{nan} --formula ic", "NaN"),
    ("{empty} --formula ic", "is empty"),
    ("{tmp} --formula ic", "cannot read"),
]


@pytest.mark.parametrize("argv, message", ERRORS)
def test_errors_are_one_line_on_stderr_with_exit_code_2(
    files, tmp_path, capsys, argv, message
):
    paths = {
        "{long}": files["heating_long.csv"],
        "{wide}": files["heating.csv"],
        "{swissmetro}": files["swissmetro.csv"],
        "{nan}": files["nan.csv"],
        "{empty}": files["empty.csv"],
        "{tmp}": tmp_path,
    }
    argv = shlex.split(argv)
    for key, path in paths.items():
        argv = [a.replace(key, str(path)) for a in argv]
    code, out, err = run_main(capsys, *argv)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("skpolicy: error: ")
    assert message in lines[0]
