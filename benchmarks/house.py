"""Figures of the source tree's shape: the largest modules, the longest functions, the import graph.

The rules themselves (sizes, downward imports, no private names across modules) are asserted
by `tests/test_house.py`; this script prints the figures behind them, e.g. for a closing note:

    python benchmarks/house.py [--top 10]
"""

import argparse
import ast
import collections
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_nted"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _area(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _code_lines(node, lines):
    body = node.body
    if (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    if not body:
        return 0
    text = lines[body[0].lineno - 1 : node.end_lineno]
    return sum(1 for line in text if line.strip() and not line.strip().startswith("#"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="rows per list (default 10)")
    args = parser.parse_args()
    sizes, functions, graph = [], [], collections.defaultdict(set)
    for module, path in _modules():
        text = path.read_text()
        lines = text.splitlines()
        sizes.append((len(lines), str(path.relative_to(PACKAGE.parent))))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((_code_lines(node, lines), f"{module}.{node.name}"))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("keras_nted"):
                for alias in node.names:
                    target = f"keras_nted.{alias.name}" if node.module == "keras_nted" else node.module
                    if _area(target) != _area(module):
                        graph[_area(module)].add(_area(target))
    print(f"{len(sizes)} modules, {sum(n for n, _ in sizes)} lines")
    print("\nlargest modules (lines):")
    for n, name in sorted(sizes, reverse=True)[: args.top]:
        print(f"  {n:5d}  {name}")
    print("\nlongest functions (lines of code; docstrings, blank and comment lines aside):")
    for n, name in sorted(functions, reverse=True)[: args.top]:
        print(f"  {n:5d}  {name}")
    print("\nimports between areas (area -> the areas it imports):")
    for area in sorted(graph):
        print(f"  {area} -> {', '.join(sorted(graph[area]))}")


if __name__ == "__main__":
    main()
