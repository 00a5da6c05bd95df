"""The house rules of keras-nted's source tree (STYLE.md): sizes, one-way imports, no private reach-ins.

These read the source with `ast`, so they run the same on every backend.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_nted"

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80  # lines of code: docstring, blank and comment-only lines aside

# Floors, lowest first. A module may import from its own area or a lower floor, never a higher one.
FLOORS = {
    "version": 0,
    "_backend_flag": 0,
    "backend": 0,
    "utils": 0,
    "files": 1,
    "distribute": 1,
    "layers": 2,
    "data": 3,
    "losses": 4,
    "metrics": 4,
    "models": 5,
    "convert": 6,
    "visualize": 6,
    "evaluation": 6,
    "callbacks": 6,
    "export": 6,
    "generation": 6,
    "training": 7,
    "appearance": 7,
    "pose": 7,
    "demo": 7,
    "commands": 8,
    "cli": 8,
    "__main__": 8,
    "__init__": 9,  # the package's public names: everything, imported by nothing inside it
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _area(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(tree):
    """(imported module, imported name or None, line) for every absolute keras_nted import."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("keras_nted"):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import at line {node.lineno}"
            if node.module and node.module.startswith("keras_nted"):
                for alias in node.names:
                    if node.module == "keras_nted":
                        yield f"keras_nted.{alias.name}", None, node.lineno
                    else:
                        yield node.module, alias.name, node.lineno


def _code_lines(node, lines):
    body = node.body
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        body = body[1:]
    if not body:
        return 0
    text = lines[body[0].lineno - 1 : node.end_lineno]
    return sum(1 for line in text if line.strip() and not line.strip().startswith("#"))


def test_every_area_has_a_floor():
    areas = {_area(module) for module, _ in _modules()}
    assert areas <= set(FLOORS), f"areas without a floor in FLOORS: {sorted(areas - set(FLOORS))}"


def test_modules_are_short():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for _, p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_functions_are_short():
    long = {}
    for module, path in _modules():
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and (n := _code_lines(node, lines)) > MAX_FUNCTION_LINES
            ):
                long[f"{module}.{node.name}"] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code: {long}"


def test_imports_point_down():
    upward = []
    for module, path in _modules():
        source = _area(module)
        for target, _, line in _imports(ast.parse(path.read_text())):
            area = _area(target)
            if area != source and FLOORS[area] > FLOORS[source]:
                upward.append(f"{module}:{line} imports {target} (floor {FLOORS[source]} -> {FLOORS[area]})")
    assert not upward, "imports that point up:\n" + "\n".join(upward)


def test_no_private_names_across_modules():
    reached = []
    for module, path in _modules():
        for target, name, line in _imports(ast.parse(path.read_text())):
            private_module = any(p.startswith("_") and not p.startswith("__") for p in target.split(".")[1:])
            private_name = name is not None and name.startswith("_") and not name.startswith("__")
            if target != module and (private_name or (private_module and _area(target) != "_backend_flag")):
                reached.append(f"{module}:{line} imports {target}.{name or ''}")
    assert not reached, "private names imported from another module:\n" + "\n".join(reached)


def test_commands_import_no_other_command():
    """A command (`NAME`, `HELP`, `add_arguments`, `run`) shares code through the library, not another command."""
    reached = []
    for module, path in _modules():
        if module.startswith("keras_nted.commands."):
            for target, _, line in _imports(ast.parse(path.read_text())):
                if target.startswith("keras_nted.commands.") and target != module:
                    reached.append(f"{module}:{line} imports {target}")
    assert not reached, "commands importing other commands:\n" + "\n".join(reached)


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_clean(command):
    """The tree is as `ruff` (pyproject's configuration, installed by the dev extra) leaves it."""
    root = PACKAGE.parent
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "keras_nted", "tests", "benchmarks"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"


@pytest.mark.parametrize(
    "rule",
    [test_modules_are_short, test_functions_are_short, test_imports_point_down, test_no_private_names_across_modules],
)
def test_rules_can_fail(rule, tmp_path, monkeypatch):
    """Each rule catches a planted violation (so a green run means something)."""
    package = tmp_path / "keras_nted"
    (package / "layers").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "layers" / "__init__.py").write_text("")
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    source = (
        "from keras_nted.commands import run\nfrom keras_nted.data.skeleton import _LIMBS\n\ndef f():\n"
        + body
        + "\n"
        + "\n" * MAX_MODULE_LINES
    )
    (package / "layers" / "bad.py").write_text(source)
    monkeypatch.setitem(globals(), "PACKAGE", package)
    with pytest.raises(AssertionError):
        rule()
