"""The documentation site keeps up with the package, without building it.

docs/api.rst lists the public modules (autosummary documents the names of each
module's ``__all__``); the user guide's index lists every page of the guide; the
changelog names every public module and top-level class. The site's build (.ci/run)
runs the guide's doctests and fails on any Sphinx warning; these checks catch a
module or page left out, which the build would not notice.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import skpolicy

DOCS = Path(__file__).resolve().parents[1] / "docs"
if not DOCS.exists():  # an installed package without its repository
    pytest.skip("no docs/ here", allow_module_level=True)

PUBLIC_MODULES = sorted(
    f"skpolicy.{info.name}"
    for info in pkgutil.iter_modules(skpolicy.__path__)
    if not info.name.startswith("_")
)


def _api_modules():
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    block = re.search(r"\.\. autosummary::\n(?:   :.*\n)*\n((?:   \S.*\n)+)", text)
    assert block is not None, "docs/api.rst has no autosummary of the modules"
    return {line.strip() for line in block[1].splitlines()}


def test_every_public_module_is_in_the_api_reference():
    listed = _api_modules()
    assert "skpolicy" in listed
    missing = [m for m in PUBLIC_MODULES if m not in listed]
    assert not missing, f"add to docs/api.rst: {missing}"
    unknown = sorted(m for m in listed - {"skpolicy"} if m not in PUBLIC_MODULES)
    assert not unknown, f"docs/api.rst lists modules that do not exist: {unknown}"


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_public_modules_declare_their_names(module):
    """autosummary documents ``__all__``: a module without one documents nothing."""
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    assert names, f"{module} has no __all__"
    for name in names:
        assert hasattr(mod, name), f"{module}.__all__ names {name!r}, which is absent"


def test_every_user_guide_page_is_in_the_guide_index():
    index = (DOCS / "user_guide" / "index.rst").read_text(encoding="utf-8")
    toctree = index.split(".. toctree::", 1)[1]
    listed = {line.strip() for line in toctree.splitlines()[1:] if line.strip()}
    listed = {entry for entry in listed if not entry.startswith(":")}
    pages = {p.stem for p in (DOCS / "user_guide").glob("*.rst") if p.stem != "index"}
    assert pages <= listed, (
        f"add to docs/user_guide/index.rst: {sorted(pages - listed)}"
    )
    assert listed <= pages, f"no such page: {sorted(listed - pages)}"


def test_changelog_names_every_public_module_and_class():
    changelog = (DOCS / "changelog.rst").read_text(encoding="utf-8")
    top_level = [n for n in skpolicy.__all__ if n[0].isupper()]
    missing = [n for n in top_level + PUBLIC_MODULES if n not in changelog]
    assert not missing, f"the changelog does not mention {missing}"


def test_no_leftover_conditional_sections():
    """Every part of the package has landed: no page hides behind ``.. only::``."""
    pages = [DOCS / "index.rst", DOCS / "changelog.rst", DOCS / "api.rst"]
    pages += sorted((DOCS / "user_guide").glob("*.rst"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert ".. only::" not in text and ":skipif:" not in text, page.name
