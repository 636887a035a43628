"""The layers of DESIGN.md section 5: modules import downward only, no cycles.

Read from the source with ``ast`` (no import needed), so a new upward import fails
here with the module and the name it imported.
"""

import ast
from pathlib import Path

import pytest

import skpolicy

PACKAGE = Path(skpolicy.__file__).parent

# Layer of every module (lower numbers are lower layers). A module may import
# from its own layer or below. New modules must be placed here.
LAYERS = {
    # 0: configuration, warning categories, segment reductions
    "_config": 0,
    "exceptions": 0,
    "_segments": 0,
    # 1: data layer
    "_data": 1,
    "_softmax": 1,
    # 2: the kernel (the one home of the model math) and its engines
    "_engines": 2,
    "_numba_kernel": 2,
    "_linear_loss": 2,
    # 3: solvers and statistics on the kernel
    "_solvers": 3,
    "_identification": 3,
    "_restrictions": 3,
    "_summary": 3,
    "_inference": 3,
    "sampling": 3,
    "_dask": 3,  # the distributed loss: the estimators dispatch to it
    # 4: estimators
    "_estimator": 4,
    "_policy": 4,
    "_pipeline": 4,
    # 5: analysis, integrations, front ends
    "reshape": 5,
    "formula": 5,
    "preprocessing": 5,
    "inference": 5,
    "postestimation": 5,
    "metrics": 5,
    "model_selection": 5,
    "ope": 5,
    "plotting": 5,
    "policy_learning": 5,
    "datasets": 5,
    "_cli": 6,
    "__main__": 6,
    "__init__": 6,
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        name = rel.parts[0].removesuffix(".py")
        yield name, path


def _package_imports(path):
    """Names of skpolicy's top-level modules imported by the file at ``path``."""
    tree = ast.parse(path.read_text())
    depth = len(path.relative_to(PACKAGE).parts) - 1
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.split(".")[0] == "skpolicy":
                    parts = node.module.split(".")[1:]
                    found.add(parts[0] if parts else "__init__")
                continue
            up = node.level - 1 - depth
            if up > 0 or (up == 0 and depth and node.level == 1):
                continue  # inside a subpackage: its own modules
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "skpolicy" and len(parts) > 1:
                    found.add(parts[1])
    return found


@pytest.mark.parametrize("module, path", list(_modules()), ids=lambda v: str(v))
def test_modules_import_downward_only(module, path):
    assert module in LAYERS, f"place the new module {module!r} in a layer"
    upward = {
        name
        for name in _package_imports(path)
        if name in LAYERS and name != module and LAYERS[name] > LAYERS[module]
    }
    assert not upward, f"{module} (layer {LAYERS[module]}) imports {sorted(upward)}"


@pytest.mark.parametrize("module, path", list(_modules()), ids=lambda v: str(v))
def test_no_module_imports_another_modules_private_names(module, path):
    """A name that starts with one underscore is its module's own business."""
    tree = ast.parse(path.read_text())
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level >= 1 and node.module
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not private, f"{module} imports private names {private}"


def test_no_import_cycles():
    """Module imports (top-level or inside functions) form no cycle."""
    graph = {
        module: {name for name in _package_imports(path) if name in LAYERS} - {module}
        for module, path in _modules()
    }
    state = {}

    def visit(module, stack):
        state[module] = "open"
        for name in sorted(graph.get(module, ())):
            if state.get(name) == "open":
                cycle = [*stack[stack.index(name) :], name]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if name not in state:
                visit(name, [*stack, name])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
