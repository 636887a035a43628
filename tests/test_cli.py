"""The command-line main job: ``python -m skpolicy`` and its errors."""

import subprocess
import sys

import pytest

from skpolicy._cli import main
from skpolicy.datasets import load_heating


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


def test_default_job_fits_heating_with_constants(published):
    """`python -m skpolicy` with no arguments prints mlogit's published model."""
    done = subprocess.run(
        [sys.executable, "-m", "skpolicy"], capture_output=True, text=True, check=True
    )
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
        coef = table_value(done.stdout, name)
        assert coef == pytest.approx(published["coefficients"][key], rel=1e-3)
        se = table_value(done.stdout, name, column=1)
        assert se == pytest.approx(published["std_errors"][key], rel=1e-3)
    assert "-1008.229" in done.stdout
    assert "0.013691" in done.stdout  # McFadden rho2 against constants only
    assert "27.990" in done.stdout  # LR statistic against constants only
    assert done.stderr == ""


def test_long_csv(tmp_path, capsys, published):
    X, y = load_heating(return_X_y=True)
    path = tmp_path / "long.csv"
    X.assign(choice=y).reset_index().to_csv(path, index=False)
    situation, alternative = X.index.names
    code, out, err = run_main(
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
    assert "asc[" not in out


def test_wide_csv_with_cluster_robust_errors(tmp_path, capsys, published):
    wide = load_heating(format="wide").frame
    path = tmp_path / "wide.csv.gz"
    wide.to_csv(path, index=False)
    code, out, _ = run_main(
        capsys,
        str(path),
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


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.csv", "--formula", "x"], "file not found: missing.csv"),
        (["{long}", "--formula", "ic + nope"], "nope"),
        (["{long}", "--formula", "ic", "--choice", "picked"], "['picked'] not in"),
        (["{long}"], "--formula"),
        (["{long}", "--format", "wide", "--formula", "ic"], "--choice"),
        (["{long}", "--format", "wide", "--choice", "chosen", "--formula", "ic"], ""),
        (["{long}", "--formula", "ic", "--cov-type", "cluster"], "--cluster"),
        (["--solver", "magic"], "invalid choice"),
    ],
)
def test_bad_arguments_give_one_line_and_nonzero_exit(tmp_path, argv, message):
    X, y = load_heating(return_X_y=True)
    long = tmp_path / "heating_long.csv"
    X.assign(chosen=y).reset_index().rename(
        columns={X.index.names[0]: "situation", X.index.names[1]: "alternative"}
    ).to_csv(long, index=False)
    argv = [a.replace("{long}", str(long)) for a in argv]
    done = subprocess.run(
        [sys.executable, "-m", "skpolicy", *argv], capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("skpolicy")]
    assert len(lines) == 1 and "error" in lines[0]
    assert message in lines[0]
