"""Sphinx configuration: ``sphinx-build docs docs/_build`` (needs the docs extra)."""

project = "skpolicy"
extensions = ["sphinx.ext.mathjax", "sphinx.ext.autodoc", "numpydoc"]
root_doc = "index"
exclude_patterns = ["_build"]
