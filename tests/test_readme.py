"""README.md is a user's page: its commands and code blocks work as written.

Every ```python block runs as pasted, each on its own (a block may not rely on
names from an earlier one). A block that needs an optional extra which is not
installed is skipped, naming the extra; add a pattern to ``NEEDS`` when a new block
uses another optional dependency.
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

import skpolicy

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "README.md").read_text(encoding="utf-8")

# (pattern in a block, module it then imports, extra that installs the module)
NEEDS = [
    (r"engine=\"numba\"|import numba", "numba", "fast"),
    (r"matplotlib|skpolicy\.plotting", "matplotlib", "plot"),
    (
        r"formulaic|from_formula\(\"[^\"]*\b(log|exp|sqrt|poly)\(",
        "formulaic",
        "formula",
    ),
]


def _python_blocks():
    """(id, code) of every ```python block; the id names its section."""
    blocks, section, counts = [], "top", {}
    for match in re.finditer(
        r"^## (?P<heading>[^\n]+)$|^```python\n(?P<code>.*?)^```$", TEXT, re.M | re.S
    ):
        if match["heading"]:
            section = match["heading"].split(":")[0].strip()
            continue
        counts[section] = counts.get(section, 0) + 1
        blocks.append((f"{section} {counts[section]}", match["code"]))
    return blocks


BLOCKS = _python_blocks()


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", [c for _, c in BLOCKS], ids=[i for i, _ in BLOCKS])
def test_python_block_runs_as_pasted(code, monkeypatch, tmp_path):
    for pattern, module, extra in NEEDS:
        if re.search(pattern, code) and importlib.util.find_spec(module) is None:
            pytest.skip(f'needs {module}: pip install "skpolicy[{extra}]"')
    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

        matplotlib.use("Agg")  # plt.show() returns at once
    monkeypatch.chdir(tmp_path)  # whatever a block writes stays out of the tree
    config = skpolicy.get_config()
    try:
        exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
    finally:
        skpolicy.set_config(**config)
        if "matplotlib.pyplot" in sys.modules:
            import matplotlib.pyplot as plt

            plt.close("all")


def test_readme_opens_with_the_install_and_test_commands():
    first = re.search(r"```bash\n(.*?)```", TEXT, re.S)
    assert first is not None and first.start() < TEXT.index("\n## ")
    lines = first[1].strip().splitlines()
    venv = "python3 -m venv .venv && . .venv/bin/activate && "
    assert lines == [
        venv + "pip install . && python -m skpolicy",
        venv + 'pip install ".[test]" && python -m pytest',
    ]


def test_ci_runs_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    if not ci.exists():  # an unpacked sdist has no CI script
        pytest.skip("no .ci/run here")
    assert 'pip install ".[test]" && python -m pytest' in ci.read_text()


def test_readme_names_only_files_that_exist():
    paths = set(re.findall(r"`((?:\.?[\w-]+/)+[\w.-]*)`", TEXT))
    assert "skpolicy/datasets/data/README.md" in paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, missing
