"""Sphinx configuration of the skpolicy site.

Build from the repository root, after ``pip install -e ".[docs]"`` (the commands of
docs/index.rst, "Building this site", which .ci/run runs):

- ``python -m sphinx -W --keep-going -b doctest -D plot_gallery=0 docs
  docs/_build/doctest`` runs the ``.. doctest::`` blocks of the user guide (without
  running the gallery);
- ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` builds the
  site and runs every example of the gallery (again only when an example changed
  since the last build).

Nothing is fetched from the network: MathJax is served from the site itself
(sphinx-mathjax-offline) and there is no intersphinx.
"""

import doctest
import importlib
import os
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")  # the gallery draws without a display

import skpolicy

project = "skpolicy"
author = "skpolicy developers"
copyright = "skpolicy developers"
release = skpolicy.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static: no CDN at read time
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "auto_examples/*.ipynb", "**/*.py.md5"]
default_role = "literal"  # `x` renders as code, as in the docstrings' prose

# -- API reference ------------------------------------------------------------
# docs/api.rst lists the public modules; autosummary documents each name of a
# module's __all__ (names added later appear without editing the docs).
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = True
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
numpydoc_show_class_members = False  # the class template lists the members
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True


def _top_level_alias(module, name):
    """Whether ``module.name`` is also exported by ``skpolicy`` itself.

    Such names are documented once, as ``skpolicy.<name>``: autodoc records the
    defining module's name as a canonical alias, so references to either name
    resolve to the same page.
    """
    if module == "skpolicy":
        return False
    obj = getattr(importlib.import_module(module), name, None)
    return name in skpolicy.__all__ and getattr(skpolicy, name, None) is obj


def _from_sklearn(class_name, member):
    """Whether a member of a class is scikit-learn's, inherited unchanged."""
    module, _, name = class_name.rpartition(".")
    obj = getattr(getattr(importlib.import_module(module), name), member, None)
    return (getattr(obj, "__module__", None) or "").startswith("sklearn.")


autosummary_context = {
    "top_level_alias": _top_level_alias,
    "from_sklearn": _from_sklearn,
}
# A function in the configuration cannot be pickled into the environment cache;
# Sphinx says so once per build, which is harmless (the context is rebuilt).
suppress_warnings = ["config.cache"]


def _skip_member(app, what, name, obj, skip, options):
    """Leave out what scikit-learn documents: its inherited base-class methods.

    ``get_params``, ``set_params``, ``set_output``, ``fit_transform``, the
    metadata-routing ``set_*_request`` methods and so on keep their sklearn
    docstrings, whose cross-references (glossary terms, sklearn's own pages) do
    not resolve on this site.
    """
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("sklearn."):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)


# -- User guide doctests --------------------------------------------------------
# Only explicit ``.. doctest::`` blocks are tested here; the docstrings' examples
# rendered in the API reference are tested by pytest (--doctest-modules).
doctest_test_doctest_blocks = ""
doctest_global_setup = """
import numpy as np
import pandas as pd
import skpolicy
pd.set_option("display.width", 88)
"""
trim_doctest_flags = True
doctest_default_flags = (
    doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.DONT_ACCEPT_TRUE_FOR_1
)

# -- Gallery ------------------------------------------------------------------


def _example_argv(gallery_conf, script_vars):
    """Command line of each example: a figure path in a temporary directory.

    Examples that save a figure take its path as their first argument (and write
    next to themselves without one); the gallery shows the figures anyway.
    """
    name = os.path.splitext(os.path.basename(script_vars["src_file"]))[0]
    return [os.path.join(tempfile.gettempdir(), f"skpolicy-gallery-{name}.png")]


sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    # Every script of examples/ runs during the build (not only plot_*.py).
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py$",
    "reset_argv": _example_argv,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skpolicy",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "show_signature": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skpolicy {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
