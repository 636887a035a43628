"""The gallery's nested examples run, and its published numbers are the real ones.

tests/test_examples.py runs the scripts at the top of examples/; the gallery's
subsections (examples/<topic>/) are run here. The site's build (.ci/run) runs them
all again and checks the user guide's doctests.
"""

import ast
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"
NESTED = sorted(EXAMPLES.glob("*/*.py"))


def test_there_are_nested_examples():
    assert NESTED


@pytest.mark.parametrize("script", NESTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nested_example_runs(script, monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script)])
    runpy.run_path(str(script), run_name="__main__")


def _assigned_literal(path, name):
    """The literal assigned to ``name`` at the top level of a script."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} assigns no {name}")


def test_reproduction_example_prints_the_published_numbers(published):
    """The numbers the example sets beside ours are those of the mlogit vignette."""
    shown = _assigned_literal(EXAMPLES / "reproduce_mlogit_heating.py", "PUBLISHED")
    models = published["models"]
    pairs = {"ic + oc | 0": "heating_noasc", "ic + oc": "heating_asc"}
    for formula, key in pairs.items():
        source = models[key]["published"]
        # The json names the constants asc_gc, the example (and skpolicy) asc[gc].
        rename = {
            name: f"asc[{name[4:]}]" if name.startswith("asc_") else name
            for name in source["coefficients"]
        }
        for kind, column in [("coefficients", "coef"), ("std_errors", "std err")]:
            expected = {rename[k]: v for k, v in source[kind].items()}
            assert shown[formula][column] == expected, (formula, column)
        assert shown[formula]["log_likelihood"] == source["loglik"]
    other = models["heating_asc"]["published"]["other"]
    assert shown["ic + oc"]["mcfadden_r2"] == other["mcfadden_r2_vs_constants_only"]
    assert shown["ic + oc"]["lr_statistic"] == other["lr_test_vs_constants_only_chisq"]
