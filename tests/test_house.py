"""The house rules of keras-nted's source tree (STYLE.md): sizes, one-way imports, no private reach-ins.

These read the source with `ast`, so they run the same on every backend.
"""

import ast
import pathlib
import re
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


# ---- What the second step settled (issue 26): one home per name, an `__init__` that only imports,
# library errors that name Python arguments.

# Modules whose messages are command lines by design: the CLI, its commands, the backend flag,
# and `python -m` entry points.
_FLAG_MODULES = ("keras_nted.cli", "keras_nted._backend_flag", "keras_nted.__main__")
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*(?!\w)")
# A whole `keras-nted COMMAND ...` in backticks is advice to run a command, not a caller's flag.
_SUGGESTED_COMMAND = re.compile(r"`keras-nted [^`]*`")


def _is_package(module):
    return (PACKAGE.parent / pathlib.Path(*module.split("."), "__init__.py")).exists()


def _top_level_imports(tree):
    """Module-level import statements (also inside a top-level `if` / `try`)."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try)):
            pending.extend(ast.iter_child_nodes(node))


def _defined_names(tree):
    """Names a module defines itself at top level (functions, classes, assignments), not imports."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _unused_imports(module, tree, text):
    """Module-level imports a non-`__init__` module never uses, and its `noqa: F401` re-exports."""
    if module == "keras_nted" or _is_package(module):
        return []
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    lines = text.splitlines()
    found = []
    for node in _top_level_imports(tree):
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            if bound not in used:
                found.append(f"{module} imports {alias.name} and never uses it")
        if "noqa: F401" in lines[node.lineno - 1]:
            found.append(f"{module} re-exports {', '.join(a.name for a in node.names)} with noqa: F401")
    return found


def _reached_through(module, tree, defined):
    """`from keras_nted.x.y import n` where module x.y does not define n itself (a forwarding address)."""
    found = []
    for node in _top_level_imports(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("keras_nted."):
            continue
        if _is_package(node.module) or node.module not in defined:
            continue
        found.extend(
            f"{module} imports {alias.name} from {node.module} (not its home)"
            for alias in node.names
            if alias.name not in defined[node.module]
        )
    return found


def _flags_in_raises(module, tree):
    """`--flag`s named by the strings of a library module's `raise` statements."""
    if module.startswith("keras_nted.commands.") or module in _FLAG_MODULES or module.endswith(".__main__"):
        return []
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Raise) and node.exc is not None):
            continue
        inner = {id(v) for j in ast.walk(node.exc) if isinstance(j, ast.JoinedStr) for v in j.values}
        for part in ast.walk(node.exc):
            if isinstance(part, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in part.values)
            elif isinstance(part, ast.Constant) and isinstance(part.value, str) and id(part) not in inner:
                text = part.value
            else:
                continue
            found.update(f"{module} raises {flag}" for flag in _FLAG.findall(_SUGGESTED_COMMAND.sub("", text)))
    return sorted(found)


def _settled_offences():
    parsed = {module: (path.read_text(), ast.parse(path.read_text())) for module, path in _modules()}
    defined = {module: _defined_names(tree) for module, (_, tree) in parsed.items()}
    offences = {"forwarding": [], "flags": []}
    for module, (text, tree) in parsed.items():
        offences["forwarding"] += _unused_imports(module, tree, text) + _reached_through(module, tree, defined)
        offences["flags"] += _flags_in_raises(module, tree)
    return offences


def test_no_forwarding_addresses():
    """A name has one home: only package `__init__` faces re-export; imports come from the defining module."""
    found = [o for o in _settled_offences()["forwarding"]]
    assert not found, "forwarding imports (import the name from its home):\n" + "\n".join(found)


def test_library_errors_name_arguments_not_flags():
    """Errors raised below the commands name Python arguments; `keras_nted/commands/*` translate them to flags."""
    found = [o for o in _settled_offences()["flags"]]
    assert not found, "library errors naming command-line flags:\n" + "\n".join(found)


def test_package_init_only_imports():
    """`import keras_nted` reads no command line and sets no environment: the CLI's `main` does that."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    reads = [
        f"line {n.lineno}: {n.value.id}.{n.attr}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.attr in ("argv", "environ")
    ]
    assert not reads, f"keras_nted/__init__.py reads the process state: {reads}"


def test_settled_rules_can_fail(tmp_path, monkeypatch):
    """Each rule above catches a planted violation (so a green run means something)."""
    package = tmp_path / "keras_nted"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("import sys\n\nBACKEND = sys.argv[1:]\n")
    (package / "data" / "__init__.py").write_text("")
    (package / "data" / "home.py").write_text("def ssim():\n    return 1\n")
    (package / "data" / "old_home.py").write_text(
        "from keras_nted.data.home import ssim  # noqa: F401  (re-exported: moved)\n"
    )
    (package / "data" / "caller.py").write_text(
        "from keras_nted.data.old_home import ssim\n\n\ndef f(size):\n"
        "    if not size:\n        raise ValueError(f'Expected a positive --image-size. Received: {size}')\n"
        "    raise ValueError(f'run `keras-nted prepare --image-size {size}`')  # advice: allowed\n"
        "    return ssim()\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE", package)
    offences = _settled_offences()
    assert offences["flags"] == ["keras_nted.data.caller raises --image-size"]
    assert sorted(offences["forwarding"]) == [
        "keras_nted.data.caller imports ssim from keras_nted.data.old_home (not its home)",
        "keras_nted.data.old_home imports ssim and never uses it",
        "keras_nted.data.old_home re-exports ssim with noqa: F401",
    ]
    for rule in (
        test_no_forwarding_addresses,
        test_library_errors_name_arguments_not_flags,
        test_package_init_only_imports,
    ):
        with pytest.raises(AssertionError):
            rule()
